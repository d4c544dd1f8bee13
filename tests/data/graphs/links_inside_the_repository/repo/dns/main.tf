terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "dns/terraform.tfstate"
    region = "eu-west-1"
  }
}
