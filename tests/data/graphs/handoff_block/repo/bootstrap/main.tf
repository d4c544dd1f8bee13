variable "vpc_id" {}
