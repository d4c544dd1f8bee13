terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "dns/terraform.tfstate"
    region = "eu-west-1"
  }
}

data "terraform_remote_state" "root" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "root/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "aws_route53_zone" "internal" {
  name = "internal.acme.test"
  vpc {
    vpc_id = data.terraform_remote_state.root.outputs.vpc_id
  }
}
