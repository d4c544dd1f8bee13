state_bucket = "acme-tfstate"
