stack {
  labels = ["managed"]
}
