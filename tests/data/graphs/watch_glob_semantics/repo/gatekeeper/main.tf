terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "gatekeeper/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "helm_release" "gatekeeper" {
  name       = "gatekeeper"
  repository = "https://open-policy-agent.github.io/gatekeeper/charts"
  chart      = "gatekeeper"
}
