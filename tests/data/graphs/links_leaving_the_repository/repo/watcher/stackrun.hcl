stack {
  watch = ["../docs/*.md"]
}
