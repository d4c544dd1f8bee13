terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "broken/terraform.tfstate"
    region = "eu-west-1"
  }
}
