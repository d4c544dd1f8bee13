# only used with -var-file=qa.tfvars; never read by the graph
env = "qa"
