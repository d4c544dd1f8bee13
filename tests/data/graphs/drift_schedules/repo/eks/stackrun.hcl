stack {
  drift_detection {
    schedule = ["0 * * * *", "30 2 * * 1"]
  }
}
