variable "env" {
  type    = string
  default = "dev"
}

variable "state_bucket" {
  type    = string
  default = "acme-dev-tfstate"
}
