stack {
  name       = "dns"
  depends_on = ["../network"
}
