# type: plan
# Refuse to change a resource that an Argo CD application also manages (the boundary's open findings).
package stackrun.argocd_also_manages

import rego.v1

# Plans that leave a resource as it is: no-op, and reads of data sources.
unchanged := {["no-op"], ["read"]}

# input.stackrun.boundary.findings: the stack's open findings (docs/DESIGN.md §8, "The ownership
# boundary"). Messages are built with concat, not sprintf: regopy 1.5.2's sprintf quotes strings.
deny contains msg if {
	some finding in input.stackrun.boundary.findings
	some rc in input.terraform.resource_changes
	rc.address == finding.address
	not rc.change.actions in unchanged
	msg := concat("", [
		rc.address, ": planned ", concat("+", rc.change.actions), ", but Argo CD application ",
		finding.app, " also manages it (", finding.object.kind, " ", finding.object.namespace, "/",
		finding.object.name, "). Make one side stop managing it first: remove the object from the ",
		"application, or the resource from this stack's state.",
	])
}
