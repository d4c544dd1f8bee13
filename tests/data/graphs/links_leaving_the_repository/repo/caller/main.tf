terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "caller/terraform.tfstate"
    region = "eu-west-1"
  }
}
module "tags" {
  source = "../modules/tagger"
}
