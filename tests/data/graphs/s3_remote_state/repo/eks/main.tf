terraform {
  backend "s3" {
    bucket         = "acme-tfstate"
    key            = "prod/eks/terraform.tfstate"
    region         = "eu-west-1"
    dynamodb_table = "acme-tf-locks"
  }
}

data "terraform_remote_state" "network" {
  backend = "s3"
  config = {
    bucket = var.state_bucket
    key    = "prod/network/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "aws_iam_role" "cluster" {
  name               = "eks-prod"
  assume_role_policy = file("${path.module}/cluster-role.json")
}

resource "aws_eks_cluster" "prod" {
  name     = "prod"
  version  = var.cluster_version
  role_arn = aws_iam_role.cluster.arn

  vpc_config {
    subnet_ids = data.terraform_remote_state.network.outputs.private_subnet_ids
  }
}

output "cluster_name" {
  value = aws_eks_cluster.prod.name
}
