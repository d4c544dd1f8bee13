stack {
  name           = "apps"
  labels         = ["prod", "k8s"]
  autodeploy     = false
  worker_pool    = "default"
  trigger_always = false

  # by stack name
  input "cluster_name" {
    stack  = "eks-prod"
    output = "cluster_name"
  }

  # by relative path
  input "subnet_ids" {
    stack  = "../network"
    output = "private_subnet_ids"
  }

  # no such stack in this repository
  input "zone_id" {
    stack  = "../dns"
    output = "zone_id"
  }

  drift_detection {
    schedule  = "*/30 * * * *"
    reconcile = false
  }
}
