terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "eks/terraform.tfstate"
    region = "eu-west-1"
  }
}

module "labels" {
  source = "../modules/labels"
  name   = "eks"
}

data "terraform_remote_state" "network" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "network/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "aws_eks_cluster" "prod" {
  name     = "prod"
  role_arn = "arn:aws:iam::123456789012:role/eks"
  tags     = module.labels.tags

  vpc_config {
    subnet_ids = [data.terraform_remote_state.network.outputs.vpc_id]
  }
}

output "endpoint" {
  value = aws_eks_cluster.prod.endpoint
}
