stack {
  # The zone waits for the apps, which wait (through eks and network) for the zone: a cycle
  # with a depends_on in it. Those four stacks cannot run; billing, outside it, can.
  depends_on = ["../apps"]
}
