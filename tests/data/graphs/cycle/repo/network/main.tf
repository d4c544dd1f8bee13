terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "network/terraform.tfstate"
    region = "eu-west-1"
  }
}

# The firewall needs the ingress address of the apps stack...
data "terraform_remote_state" "apps" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "apps/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_security_group_rule" "ingress" {
  type              = "ingress"
  from_port         = 443
  to_port           = 443
  protocol          = "tcp"
  cidr_blocks       = [data.terraform_remote_state.apps.outputs.ingress_cidr]
  security_group_id = aws_vpc.main.default_security_group_id
}

output "vpc_id" {
  value = aws_vpc.main.id
}
