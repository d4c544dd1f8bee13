# Written for local state: stackrun keeps it as managed state and hands it to readers.
terraform {
  backend "local" {
    path = "terraform.tfstate"
  }
}

resource "null_resource" "vpc" {
  triggers = {
    cidr = "10.20.0.0/16"
  }
}

output "vpc_id" {
  value = null_resource.vpc.id
}
