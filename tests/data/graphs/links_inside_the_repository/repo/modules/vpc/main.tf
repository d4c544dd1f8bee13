data "terraform_remote_state" "dns" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key    = "dns/terraform.tfstate"
    region = "eu-west-1"
  }
}
