terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "platform/dns/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "null_resource" "platform-dns" {
  triggers = {
    stack = "platform/dns"
  }
}
