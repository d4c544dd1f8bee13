terraform {
  backend "s3" {
    bucket = "acme-state"
    key    = "eks/${var.env}/terraform.tfstate"
  }
}
variable "env" {
  default = "prod"
}
module "reader" {
  source = "../modules/reader"
  bucket = "acme-state"
}
