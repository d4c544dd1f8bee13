stack {
  environment "dev" {
    backend_config = ["dev.tfbackend"]
    var_files      = ["../config/dev.tfvars"]
  }
  environment "prod" {
    backend_config = ["prod.tfbackend"]
    var_files      = ["../config/prod.tfvars"]
  }
  # names a var file the commit does not hold: an error, and app@staging cannot run
  environment "staging" {
    backend_config = ["prod.tfbackend"]
    var_files      = ["../config/staging.tfvars"]
  }
}
