# path.module is relative to the root module's directory, so this resolves to eks/terraform.tfstate
data "terraform_remote_state" "eks" {
  backend = "local"
  config = {
    path = "${path.module}/../../eks/terraform.tfstate"
  }
}

output "name" {
  value = data.terraform_remote_state.eks.outputs.cluster_name
}
