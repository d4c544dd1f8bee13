# Same prefix once leading and trailing slashes are normalised away.
terraform {
  backend "gcs" {
    bucket = "acme-gcp-tfstate"
    prefix = "/shared/dns/"
  }
}

resource "google_dns_managed_zone" "main" {
  name     = "acme-v2"
  dns_name = "v2.acme.test."
}
