variable "cluster_name" {
  type = string
}

module "external_dns_role" {
  source            = "../irsa"
  role_name         = "${var.cluster_name}-external-dns"
  oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
}

data "terraform_remote_state" "dns" {
  backend = "s3"
  config = {
    bucket = "acme-tfstate"
    key      "dns/terraform.tfstate"
  }
}

resource "helm_release" "external_dns" {
  name  = "external-dns"
  chart = "external-dns"
}
