terraform {
  backend "local" {
    path = "terraform.tfstate"
  }
}

module "cluster" {
  source = "../modules/cluster-info"
}

resource "null_resource" "deploy" {
  triggers = {
    cluster = module.cluster.name
  }
}
