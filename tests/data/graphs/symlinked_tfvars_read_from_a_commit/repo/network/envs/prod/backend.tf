terraform {
  backend "gcs" {
    bucket = "acme-tfstate"
    prefix = "network/prod"
  }
}
