terraform {
  backend "gcs" {
    bucket = "acme-foundation-tfstate"
    prefix = "terraform/projects/shared"
  }
}

data "terraform_remote_state" "network" {
  backend = "gcs"
  config = {
    bucket = "acme-foundation-tfstate"
    prefix = "terraform/networks/shared"
  }
}
