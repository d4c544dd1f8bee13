stack {
  drift_detection {
    schedule = ["0 * * * *", "every hour"]
  }
}
