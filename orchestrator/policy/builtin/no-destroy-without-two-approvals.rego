# type: approval
# Any rejection rejects; a plan that destroys resources needs two distinct approvers, any other plan one.
package stackrun.no_destroy_without_two_approvals

import rego.v1

default approve := false

default reject := false

approvers := {review.user | some review in input.reviews.approvals}

reject if count(input.reviews.rejections) > 0

approve if {
	not reject
	input.plan.destroy == 0
	count(approvers) >= 1
}

approve if {
	not reject
	input.plan.destroy > 0
	count(approvers) >= 2
}
