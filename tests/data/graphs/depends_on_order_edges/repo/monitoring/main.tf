terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "monitoring/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "null_resource" "monitoring" {
  triggers = {
    stack = "monitoring"
  }
}
