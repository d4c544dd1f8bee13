# *.auto.tfvars load after terraform.tfvars and win
env = "prod"
