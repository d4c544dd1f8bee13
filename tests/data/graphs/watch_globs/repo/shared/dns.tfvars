zone_name = "acme.test"
