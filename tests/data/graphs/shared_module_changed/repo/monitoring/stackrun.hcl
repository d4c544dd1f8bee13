stack {
  depends_on = ["../eks"]
}
