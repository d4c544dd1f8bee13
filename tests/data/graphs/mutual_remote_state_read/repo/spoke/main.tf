terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "spoke/terraform.tfstate"
    region = "eu-west-1"
  }
}

data "terraform_remote_state" "hub" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "hub/terraform.tfstate"
    region = "eu-west-1"
  }
}

output "spoke_vpc_id" {
  value = "vpc-spoke"
}
