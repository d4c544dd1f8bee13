# type: plan
# Terraform owns the cloud, Argo CD the cluster: only a stack labelled `bootstrap` may change in-cluster resources.
package stackrun.boundary

import rego.v1

# Resource types that live inside a Kubernetes cluster (providers kubernetes, helm, kubectl, argocd).
cluster_prefixes := ["kubernetes_", "helm_", "kubectl_", "argocd_"]

# Plans that leave a resource as it is: no-op, and reads of data sources.
unchanged := {["no-op"], ["read"]}

bootstrap_stack if "bootstrap" in input.stackrun.stack.labels

in_cluster(resource_type) if {
	some prefix in cluster_prefixes
	startswith(resource_type, prefix)
}

# Messages are built with concat, not sprintf: regopy 1.5.2's sprintf quotes computed strings.
deny contains msg if {
	not bootstrap_stack
	some rc in input.terraform.resource_changes
	in_cluster(rc.type)
	not rc.change.actions in unchanged
	msg := concat("", [
		rc.address, ": planned ", concat("+", rc.change.actions), " of an in-cluster resource. ",
		"After the hand-off Argo CD owns the cluster's contents: change it in the GitOps repository. ",
		"Only the stack that bootstraps the cluster may change it: add the `bootstrap` label to that stack.",
	])
}
