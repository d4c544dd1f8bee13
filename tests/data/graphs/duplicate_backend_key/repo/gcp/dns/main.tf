terraform {
  backend "gcs" {
    bucket = "acme-gcp-tfstate"
    prefix = "shared/dns"
  }
}

resource "google_dns_managed_zone" "main" {
  name     = "acme"
  dns_name = "acme.test."
}
