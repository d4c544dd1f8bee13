terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "prod/app/terraform.tfstate"
    region = "eu-west-1"
  }
}

data "terraform_remote_state" "network" {
  backend = "s3"
  config = {
    bucket = var.state_bucket
    key    = "${var.env}/network/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "aws_instance" "app" {
  ami           = "ami-0123456789abcdef0"
  instance_type = "t3.micro"
  tags = {
    Environment = var.env
    Vpc         = data.terraform_remote_state.network.outputs.vpc_id
  }
}
