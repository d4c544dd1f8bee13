# Downstream of the cycle: waits for both the hub and the spoke.
terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "apps/terraform.tfstate"
    region = "eu-west-1"
  }
}

data "terraform_remote_state" "spoke" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "spoke/terraform.tfstate"
    region = "eu-west-1"
  }
}
