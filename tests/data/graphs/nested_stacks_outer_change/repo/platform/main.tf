terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "platform/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "aws_launch_template" "bastion" {
  name      = "bastion"
  user_data = base64encode(templatefile("${path.module}/templates/user-data.sh.tpl", { env = "prod" }))
}
