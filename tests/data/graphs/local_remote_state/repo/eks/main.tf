terraform {
  backend "local" {}
}

data "terraform_remote_state" "network" {
  backend = "local"
  config = {
    path = "${path.module}/../network/terraform.tfstate"
  }
}

data "terraform_remote_state" "dns" {
  backend = "local"
  config = {
    path = "../dns/terraform.tfstate"
  }
}

resource "null_resource" "cluster" {
  triggers = {
    vpc  = data.terraform_remote_state.network.outputs.vpc_id
    zone = data.terraform_remote_state.dns.outputs.zone_id
  }
}

output "cluster_name" {
  value = "prod-${null_resource.cluster.id}"
}
