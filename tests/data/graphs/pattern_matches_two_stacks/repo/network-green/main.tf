terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "green/network.tfstate"
    region = "eu-west-1"
  }
}
