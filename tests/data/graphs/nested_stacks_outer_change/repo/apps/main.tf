terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "apps/terraform.tfstate"
    region = "eu-west-1"
  }
}

data "terraform_remote_state" "dns" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "platform/dns/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "aws_route53_record" "app" {
  zone_id = data.terraform_remote_state.dns.outputs.zone_id
  name    = "app.internal.acme.test"
  type    = "CNAME"
  ttl     = 300
  records = ["lb.acme.test"]
}
