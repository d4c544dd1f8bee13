terraform {
  backend "gcs" {
    bucket = "acme-tf-state"
    prefix = "gcp/gke"
  }
}

# A trailing slash on the prefix names the same state (the gcs backend adds one anyway).
data "terraform_remote_state" "network" {
  backend = "gcs"
  config = {
    bucket = "acme-tf-state"
    prefix = "gcp/network/"
  }
}

resource "google_container_cluster" "prod" {
  name               = "prod"
  location           = "europe-west1"
  network            = data.terraform_remote_state.network.outputs.network_self_link
  initial_node_count = 1
}
