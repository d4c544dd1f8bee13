terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "app/terraform.tfstate"
    region = "eu-west-1"
  }
}

variable "upstream" {}

data "terraform_remote_state" "network" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "${var.upstream}/terraform.tfstate"
    region = "eu-west-1"
  }
}

module "vpc" {
  source = "./vpc"
}
