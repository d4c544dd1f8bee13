terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "dns/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "aws_route53_zone" "main" {
  name = "acme.test"
}
