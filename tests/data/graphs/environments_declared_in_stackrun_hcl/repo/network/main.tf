terraform {
  backend "s3" {}
}

variable "cidr" {}
