terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "platform/dns/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "aws_route53_zone" "internal" {
  name = "internal.acme.test"
}

output "zone_id" {
  value = aws_route53_zone.internal.zone_id
}
