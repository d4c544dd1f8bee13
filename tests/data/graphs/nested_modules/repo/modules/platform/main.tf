variable "env" {
  type = string
}

variable "state_bucket" {
  type    = string
  default = "acme-tfstate"
}

module "network" {
  source = "../network-state"
  bucket = var.state_bucket
  key    = "${var.env}/network/terraform.tfstate"
}

resource "aws_security_group" "platform" {
  name   = "platform-${var.env}"
  vpc_id = module.network.vpc_id
}
