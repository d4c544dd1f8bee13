terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "eks/terraform.tfstate"
    region = "eu-west-1"
  }
}

data "terraform_remote_state" "network" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "network/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "aws_eks_cluster" "main" {
  name     = "prod"
  role_arn = "arn:aws:iam::123456789012:role/eks"

  vpc_config {
    subnet_ids = [data.terraform_remote_state.network.outputs.vpc_id]
  }
}

output "cluster_name" {
  value = aws_eks_cluster.main.name
}
