state_bucket = "acme-prod-state"
cidr         = "10.2.0.0/16"
