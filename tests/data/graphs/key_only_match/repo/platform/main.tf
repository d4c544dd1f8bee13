# Partial backend configuration: the bucket comes from -backend-config at init time.
terraform {
  backend "s3" {
    key = "platform/terraform.tfstate"
  }
}

resource "null_resource" "platform" {}
