# No backend: stackrun-managed state.
variable "cluster_name" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "zone_id" {
  type    = string
  default = ""
}

resource "kubernetes_namespace" "apps" {
  metadata {
    name = "apps"
    labels = {
      cluster = var.cluster_name
    }
  }
}
