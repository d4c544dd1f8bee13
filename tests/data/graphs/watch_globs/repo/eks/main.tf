terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "eks/terraform.tfstate"
    region = "eu-west-1"
  }
}

variable "environment" {
  type = string
}

resource "aws_eks_cluster" "main" {
  name     = var.environment
  role_arn = "arn:aws:iam::123456789012:role/eks"

  vpc_config {
    subnet_ids = []
  }
}

output "cluster_name" {
  value = aws_eks_cluster.main.name
}
