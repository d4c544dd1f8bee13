# Terraform 0.11: interpolation-only strings everywhere.
terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "prod/network.tfstate"
    region = "eu-west-1"
  }
}

variable "cidrs" {
  type    = "list"
  default = ["10.0.0.0/16", "10.1.0.0/16"]
}
