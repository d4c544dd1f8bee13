stack {
  name   = "platform"
  labels = ["core"]
}
