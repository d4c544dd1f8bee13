# No backend: managed state. Only stackrun.hcl makes this directory a stack.
resource "null_resource" "zone" {}
