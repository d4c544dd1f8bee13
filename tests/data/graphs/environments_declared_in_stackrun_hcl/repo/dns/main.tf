terraform {
  backend "s3" {
    bucket = "acme-shared-state"
    key    = "dns.tfstate"
  }
}
