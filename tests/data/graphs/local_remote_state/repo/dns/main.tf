# No backend at all: stackrun-managed state.
resource "null_resource" "zone" {
  triggers = {
    name = "internal.acme.test"
  }
}

output "zone_id" {
  value = null_resource.zone.id
}
