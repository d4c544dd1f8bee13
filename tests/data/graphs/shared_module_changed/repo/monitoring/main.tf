terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "monitoring/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "helm_release" "prometheus" {
  name       = "kube-prometheus-stack"
  repository = "https://prometheus-community.github.io/helm-charts"
  chart      = "kube-prometheus-stack"
}
