stack {
  name = "dns"
}
