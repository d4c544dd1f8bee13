stack {
  name = "eks-prod"

  input "vpc_id" {
    stack  = "../network"
    output = "vpc_id"
  }
}
