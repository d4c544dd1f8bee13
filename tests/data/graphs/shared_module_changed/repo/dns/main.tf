terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "dns/terraform.tfstate"
    region = "eu-west-1"
  }
}

module "labels" {
  source = "../modules/labels"
  name   = "dns"
  env    = "prod"
}

resource "aws_route53_zone" "internal" {
  name = "internal.acme.test"
  tags = module.labels.tags
}
