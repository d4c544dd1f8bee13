stack {
  watch = ["../shared/dns.tfvars"]
}
