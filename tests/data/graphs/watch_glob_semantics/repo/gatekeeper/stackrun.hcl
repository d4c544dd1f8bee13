stack {
  # any depth under policies/, including policies/ itself
  watch = ["../policies/**/*.rego"]
}
