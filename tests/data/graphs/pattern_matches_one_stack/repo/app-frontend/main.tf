# The stack name is known only at deploy time: the key's known part, `*/infra-vpc.tfstate`,
# matches one stack's backend, so the edge is made and marked "pattern".
terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "govuk/app-frontend.tfstate"
    region = "eu-west-1"
  }
}

variable "stackname" {}

data "terraform_remote_state" "infra_vpc" {
  backend = "s3"

  config {
    bucket = "acme-tfstate"
    key    = "${var.stackname}/infra-vpc.tfstate"
    region = "eu-west-1"
  }
}
