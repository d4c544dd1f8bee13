network_prefix = "network/dev"
