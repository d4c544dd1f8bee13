stack {
  input "cluster_endpoint" {
    stack  = "../eks"
    output = "endpoint"
  }
}
