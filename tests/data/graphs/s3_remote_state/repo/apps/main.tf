terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "prod/apps/terraform.tfstate"
    region = "eu-west-1"
  }
}

locals {
  env          = "prod"
  state_bucket = "acme-tfstate"
}

data "terraform_remote_state" "eks" {
  backend = "s3"
  config = {
    bucket = local.state_bucket
    key    = "${local.env}/eks/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "helm_release" "ingress" {
  name       = "ingress-nginx"
  repository = "https://kubernetes.github.io/ingress-nginx"
  chart      = "ingress-nginx"
  namespace  = "ingress"

  set {
    name  = "controller.replicaCount"
    value = 2
  }
}
