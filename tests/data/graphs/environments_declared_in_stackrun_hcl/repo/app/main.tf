terraform {
  backend "s3" {}
}

variable "state_bucket" {}

# The bucket comes from each environment's var file: app@dev reads network@dev's state,
# app@prod network@prod's, exactly.
data "terraform_remote_state" "network" {
  backend = "s3"
  config = {
    bucket = var.state_bucket
    key    = "network.tfstate"
  }
}
