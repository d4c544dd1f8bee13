terraform {
  backend "gcs" {
    bucket = "acme-tfstate"
    prefix = "projects/dev"
  }
}
