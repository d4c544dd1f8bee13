terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "eks/terraform.tfstate"
    region = "eu-west-1"
  }
}

module "addons" {
  source       = "../modules/eks-addons"
  cluster_name = "prod"
}
