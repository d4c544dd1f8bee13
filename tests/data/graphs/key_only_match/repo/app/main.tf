terraform {
  backend "s3" {
    bucket = "acme-prod-tfstate"
    key    = "app/terraform.tfstate"
    region = "eu-west-1"
  }
}

variable "state_bucket" {
  type        = string
  description = "Set only at deploy time (TF_VAR_state_bucket)"
}

data "terraform_remote_state" "dns" {
  backend = "s3"
  config = {
    bucket = var.state_bucket
    key    = "dns/terraform.tfstate"
  }
}

# Two stacks write this key (one per bucket): ambiguous.
data "terraform_remote_state" "network" {
  backend = "s3"
  config = {
    bucket = var.state_bucket
    key    = "network/terraform.tfstate"
  }
}

data "terraform_remote_state" "platform" {
  backend = "s3"
  config = {
    bucket = "acme-prod-tfstate"
    key    = "platform/terraform.tfstate"
  }
}
