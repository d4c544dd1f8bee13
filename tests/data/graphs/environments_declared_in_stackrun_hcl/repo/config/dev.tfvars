state_bucket = "acme-dev-state"
cidr         = "10.1.0.0/16"
