terraform {
  backend "s3" {
    bucket = "acme-tfstate"
    key    = "billing/terraform.tfstate"
    region = "eu-west-1"
  }
}

resource "aws_budgets_budget" "monthly" {
  name         = "monthly"
  budget_type  = "COST"
  limit_amount = "1000"
  limit_unit   = "USD"
  time_unit    = "MONTHLY"
}
