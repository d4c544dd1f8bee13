# Terraform 0.11: `config { }` as a block, "${…}" strings, map() and element() of that era.
terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "prod/app.tfstate"
    region = "eu-west-1"
  }
}

variable "state_bucket" {
  type    = "string"
  default = "acme-tfstate"
}

variable "environment" {
  type    = "string"
  default = "prod"
}

variable "stacks" {
  type    = "list"
  default = ["network", "dns"]
}

variable "keys" {
  type = "map"

  default = {
    network = "network.tfstate"
  }
}

data "terraform_remote_state" "network" {
  backend = "s3"

  config {
    bucket = "${var.state_bucket}"
    key    = "${var.environment}/${lookup(var.keys, "network")}"
    region = "eu-west-1"
  }
}

data "terraform_remote_state" "dns" {
  backend = "s3"

  config {
    bucket = "${var.state_bucket}"
    key    = "${format("%s/%s.tfstate", var.environment, element(var.stacks, 1))}"
    region = "${lookup(map("prod", "eu-west-1"), var.environment)}"
  }
}
