stack {
  name = "broken"
  handoff "flux" {
    repository = "https://git.example.com/platform/gitops.git"
  }
}
