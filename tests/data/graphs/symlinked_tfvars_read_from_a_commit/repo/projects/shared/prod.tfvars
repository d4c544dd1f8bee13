network_prefix = "network/prod"
