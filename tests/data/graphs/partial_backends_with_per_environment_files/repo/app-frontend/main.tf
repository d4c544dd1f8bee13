terraform {
  backend "s3" {}
}

variable "remote_state_bucket" {}

variable "stackname" {}

data "terraform_remote_state" "infra_vpc" {
  backend = "s3"

  config {
    bucket = "${var.remote_state_bucket}"
    key    = "${var.stackname}/infra-vpc.tfstate"
    region = "eu-west-1"
  }
}
