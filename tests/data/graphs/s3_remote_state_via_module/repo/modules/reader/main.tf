variable "bucket" {}
data "terraform_remote_state" "net" {
  backend = "s3"
  config = {
    bucket = var.bucket
    key    = "network/terraform.tfstate"
  }
}
