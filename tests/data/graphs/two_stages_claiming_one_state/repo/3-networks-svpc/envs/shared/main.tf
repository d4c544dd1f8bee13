# Two alternative network stages: a deployment uses one of them, and both write the
# same state on purpose.
terraform {
  backend "gcs" {
    bucket = "acme-foundation-tfstate"
    prefix = "terraform/networks/shared"
  }
}

output "network_self_link" {
  value = "svpc"
}
