terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "prod/app/terraform.tfstate"
    region = "eu-west-1"
  }
}

module "platform" {
  source = "../modules/platform"
  env    = "prod"
}
