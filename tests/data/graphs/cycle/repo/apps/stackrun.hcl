stack {
  # ...and the apps stack needs the cluster, which needs the network: a cycle.
  input "cluster_name" {
    stack  = "../eks"
    output = "cluster_name"
  }
}
