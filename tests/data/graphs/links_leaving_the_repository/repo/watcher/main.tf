terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "watcher/terraform.tfstate"
    region = "eu-west-1"
  }
}
