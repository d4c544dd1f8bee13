resource "aws_route53_record" "bastion" {
  zone_id = aws_route53_zone.internal.zone_id
  name    = "bastion.internal.acme.test"
  type    = "A"
  ttl     = 300
  records = ["10.0.0.10"]
}
