variable "state_bucket" {
  type        = string
  description = "Bucket holding the Terraform state of every prod stack"
  default     = "acme-tfstate"
}

variable "cluster_version" {
  type    = string
  default = "1.29"
}
