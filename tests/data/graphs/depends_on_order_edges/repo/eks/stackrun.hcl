stack {
  labels = ["prod"]

  # a relative path, a stack name, and a stack that was removed long ago
  depends_on = ["../network", "dns", "../legacy-vpn"]
}
