package k8s.admission

deny[msg] {
  input.request.object.spec.containers[_].securityContext.privileged
  msg := "privileged containers are not allowed"
}
