terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "dns/terraform.tfstate"
    region = "eu-west-1"
  }
}

variable "zone_name" {
  type = string
}

resource "aws_route53_zone" "main" {
  name = var.zone_name
}
