stack {
  drift_detection {
    schedule  = "*/30 * * * *"
    reconcile = true
  }
}
