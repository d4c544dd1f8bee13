environment = "legacy"
