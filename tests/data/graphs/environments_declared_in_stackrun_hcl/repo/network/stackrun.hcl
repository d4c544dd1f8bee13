stack {
  name = "network"

  # one instance per environment: network@dev, network@prod
  environment "dev" {
    backend_config = ["../config/dev.s3.tfbackend"]
    var_files      = ["../config/dev.tfvars"]
  }
  environment "prod" {
    backend_config = ["../config/prod.s3.tfbackend"]
    var_files      = ["../config/prod.tfvars"]
  }
}
