terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "govuk/infra-vpc.tfstate"
    region = "eu-west-1"
  }
}
