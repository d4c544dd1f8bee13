terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "eks/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "null_resource" "eks" {
  triggers = {
    stack = "eks"
  }
}
