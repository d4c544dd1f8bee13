stack {
  name = "argocd-bootstrap"
  input "vpc_id" {
    stack  = "../network"
    output = "vpc_id"
  }
  handoff "argocd" {
    repository = "https://git.example.com/platform/gitops.git"
    path       = "clusters/"
    root {
      repo_url = "https://git.example.com/platform/addons.git"
      path     = "bootstrap"
    }
    server       = "https://argocd.example.com/"
    wait_healthy = "10m"
  }
}
