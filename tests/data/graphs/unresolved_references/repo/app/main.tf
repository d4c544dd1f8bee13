terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "app/terraform.tfstate"
    region = "eu-west-1"
  }
}

variable "env" {
  type        = string
  description = "Set by the pipeline with TF_VAR_env"
}

data "terraform_remote_state" "network" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "network/terraform.tfstate"
    region = "eu-west-1"
  }
}

data "terraform_remote_state" "network_by_env" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "${var.env}/network/terraform.tfstate"
    region = "eu-west-1"
  }
}

data "terraform_remote_state" "per_workspace" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "network/${terraform.workspace}.tfstate"
    region = "eu-west-1"
  }
}

# The VPN stack was moved to another repository.
data "terraform_remote_state" "legacy_vpn" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "legacy/vpn/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "aws_instance" "app" {
  ami           = "ami-0123456789abcdef0"
  instance_type = "t3.micro"
  subnet_id     = data.terraform_remote_state.network.outputs.vpc_id
}
