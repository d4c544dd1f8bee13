# The stack name is given only when Terraform runs: the key is `*/infra-vpc.tfstate`, which
# one stack's backend matches; `*/infra-dns.tfstate` matches none.
terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "govuk/app-unknown.tfstate"
    region = "eu-west-1"
  }
}

variable "remote_state_infra_vpc_key_stack" {
  default = ""
}

variable "stackname" {}

data "terraform_remote_state" "infra_vpc" {
  backend = "s3"

  config {
    bucket = "acme-tfstate"
    key    = "${coalesce(var.remote_state_infra_vpc_key_stack, var.stackname)}/infra-vpc.tfstate"
    region = "eu-west-1"
  }
}

data "terraform_remote_state" "infra_dns" {
  backend = "s3"

  config {
    bucket = "acme-tfstate"
    key    = "${coalesce(var.remote_state_infra_vpc_key_stack, var.stackname)}/infra-dns.tfstate"
    region = "eu-west-1"
  }
}
