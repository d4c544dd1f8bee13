terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "blue/network.tfstate"
    region = "eu-west-1"
  }
}
