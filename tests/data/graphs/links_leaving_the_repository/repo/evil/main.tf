terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "evil/terraform.tfstate"
    region = "eu-west-1"
  }
}
