# A partial backend: `terraform init -backend-config=<env>.govuk.backend` completes it. Every
# file gives the same key, so the key is known; the bucket differs per environment.
terraform {
  backend "s3" {}
}
