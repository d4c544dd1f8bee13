# Terraform 0.12+: the config attribute.
terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "prod/dns.tfstate"
    region = "eu-west-1"
  }
}

data "terraform_remote_state" "network" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "prod/network.tfstate"
    region = "eu-west-1"
  }
}
