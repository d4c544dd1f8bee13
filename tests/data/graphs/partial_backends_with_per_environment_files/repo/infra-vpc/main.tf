# A partial backend: `terraform init -backend-config=<env>.govuk.backend` completes it. The
# folder has backend files for two environments, so it is two stacks: infra-vpc@integration
# and infra-vpc@production, each with its own bucket.
terraform {
  backend "s3" {}
}
