stack {
  input "cluster" {
    stack  = "../eks"
    output = "cluster_name"
  }
}
