resource "null_resource" "tag" {}
