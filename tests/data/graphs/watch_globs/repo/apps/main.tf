terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "apps/terraform.tfstate"
    region = "eu-west-1"
  }
}

variable "cluster" {
  type = string
}

resource "helm_release" "app" {
  name  = "app"
  chart = "oci://registry.acme.test/charts/app"
}
