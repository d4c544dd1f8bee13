stack {
  # one directory level: shared/prod.tfvars, not shared/legacy/old.tfvars
  watch = ["../shared/*.tfvars"]
}
