# `*/network.tfstate` could be either network stack: never guessed.
terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "blue/app.tfstate"
    region = "eu-west-1"
  }
}

variable "network_stack" {}

data "terraform_remote_state" "network" {
  backend = "s3"

  config = {
    bucket = "acme-tfstate"
    key    = "${var.network_stack}/network.tfstate"
    region = "eu-west-1"
  }
}
