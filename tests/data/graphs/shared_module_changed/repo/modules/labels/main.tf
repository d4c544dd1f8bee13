variable "name" {
  type = string
}

variable "env" {
  type    = string
  default = "prod"
}

locals {
  tags = {
    Name        = var.name
    Environment = var.env
    ManagedBy   = "stackrun"
  }
}

output "tags" {
  value = local.tags
}
