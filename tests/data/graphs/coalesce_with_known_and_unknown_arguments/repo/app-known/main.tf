# Both arguments are known here: the override is empty, so the stack name decides.
terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "govuk/app-known.tfstate"
    region = "eu-west-1"
  }
}

variable "remote_state_infra_vpc_key_stack" {
  default = ""
}

variable "stackname" {
  default = "govuk"
}

data "terraform_remote_state" "infra_vpc" {
  backend = "s3"

  config {
    bucket = "acme-tfstate"
    key    = "${coalesce(var.remote_state_infra_vpc_key_stack, var.stackname)}/infra-vpc.tfstate"
    region = "eu-west-1"
  }
}
