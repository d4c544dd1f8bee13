env          = "staging"
state_bucket = "acme-tfstate"
