terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "app/terraform.tfstate"
    region = "eu-west-1"
  }
}

variable "env" {
  type    = string
  default = "dev"
}

data "terraform_remote_state" "network" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "${var.env}/network/terraform.tfstate"
    region = "eu-west-1"
  }
}
