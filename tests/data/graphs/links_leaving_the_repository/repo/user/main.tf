terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "user/terraform.tfstate"
    region = "eu-west-1"
  }
}
module "ext" {
  source = "../modules/ext"
}
