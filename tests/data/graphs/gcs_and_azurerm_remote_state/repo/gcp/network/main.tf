terraform {
  backend "gcs" {
    bucket = "acme-tf-state"
    prefix = "gcp/network"
  }
}

provider "google" {
  project = "acme-prod"
  region  = "europe-west1"
}

resource "google_compute_network" "main" {
  name                    = "prod"
  auto_create_subnetworks = false
}

output "network_self_link" {
  value = google_compute_network.main.self_link
}
