terraform {
  backend "gcs" {
    bucket = "acme-foundation-tfstate"
    prefix = "terraform/networks/shared"
  }
}

output "network_self_link" {
  value = "hub-and-spoke"
}
