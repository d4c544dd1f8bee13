resource "null_resource" "cluster" {}
