output "tags" {
  value = {
    Team = "platform"
  }
}
