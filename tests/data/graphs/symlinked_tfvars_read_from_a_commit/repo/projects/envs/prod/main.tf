# Both values come from tfvars that are links: terraform.tfvars -> ../../terraform.tfvars
# (one stage-level file, as terraform-example-foundation does) and <env>.auto.tfvars ->
# ../../<env>.auto.tfvars, itself a link to shared/<env>.tfvars (a chain of links).
variable "state_bucket" {}
variable "network_prefix" {}

data "terraform_remote_state" "network" {
  backend = "gcs"
  config = {
    bucket = var.state_bucket
    prefix = var.network_prefix
  }
}
