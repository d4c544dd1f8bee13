terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "network/terraform.tfstate"
    region = "eu-west-1"
  }
}

module "vpc" {
  source = "../modules/vpc"
  cidr   = "10.0.0.0/16"
}

output "vpc_id" {
  value = module.vpc.vpc_id
}
