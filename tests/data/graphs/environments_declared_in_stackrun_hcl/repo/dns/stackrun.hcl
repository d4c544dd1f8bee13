stack {
  # a stack without environments names one instance; "../network" alone would name two
  depends_on = ["../network@prod", "network"]
}
