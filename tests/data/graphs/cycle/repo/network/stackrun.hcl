stack {
  depends_on = ["../dns"]
}
