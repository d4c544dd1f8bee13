# the closing quote is missing: the value meant here is "prod", not the default
env = "prod
