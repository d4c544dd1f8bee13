terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "apps/terraform.tfstate"
    region = "eu-west-1"
  }
}

variable "cluster_name" {
  type = string
}

resource "helm_release" "ingress" {
  name  = "ingress"
  chart = "ingress-nginx"
}

output "ingress_cidr" {
  value = "203.0.113.10/32"
}
