# The hub and the spoke peer with each other: each reads the other's state (Terraform
# allows it; the first apply of each uses what the other has, if anything).
terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "hub/terraform.tfstate"
    region = "eu-west-1"
  }
}

data "terraform_remote_state" "spoke" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "spoke/terraform.tfstate"
    region = "eu-west-1"
  }
}

output "hub_vpc_id" {
  value = "vpc-hub"
}
