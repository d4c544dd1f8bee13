stack {
  watch = ["../shared/*.tfvars"]
}
