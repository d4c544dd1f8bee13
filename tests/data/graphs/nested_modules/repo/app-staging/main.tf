terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "staging/app/terraform.tfstate"
    region = "eu-west-1"
  }
}

locals {
  env = "staging"
}

module "platform" {
  source = "../modules/platform"
  env    = local.env
}
