# An example, run by hand against a sandbox: no backend, not a stack.
provider "aws" {
  region = "eu-west-1"
}

data "terraform_remote_state" "shared" {
  backend = "s3"
  config = {
    bucket = "acme-sandbox-tfstate"
    key    = "shared/terraform.tfstate"
  }
}

module "vpc" {
  source = "../../modules/vpc"
  cidr   = "10.99.0.0/16"
  name   = "example"
}
