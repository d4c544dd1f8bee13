terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "root/terraform.tfstate"
    region = "eu-west-1"
  }
}

module "tags" {
  source = "./modules/tags"
}

resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
  tags       = module.tags.tags
}

output "vpc_id" {
  value = aws_vpc.main.id
}
