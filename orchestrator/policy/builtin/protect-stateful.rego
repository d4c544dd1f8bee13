# type: plan
# Refuses to delete or replace stateful resources (databases, buckets, file systems); parameter `types` lists them.
package stackrun.protect_stateful

import rego.v1

# The policy's parameters override the list: {"types": ["aws_db_instance", ...]}.
default stateful_types := [
	"aws_db_instance",
	"aws_rds_cluster",
	"aws_s3_bucket",
	"aws_dynamodb_table",
	"aws_efs_file_system",
	"aws_elasticache_replication_group",
	"google_sql_database_instance",
	"azurerm_postgresql_server",
]

stateful_types := data.parameters.types

# ["delete", "create"] and ["create", "delete"] replace the resource; ["delete"] destroys it.
verb(actions) := "replace" if {
	"create" in actions
} else := "delete"

# Messages are built with concat, not sprintf: regopy 1.5.2's sprintf quotes computed strings.
deny contains msg if {
	some rc in input.terraform.resource_changes
	rc.type in stateful_types
	"delete" in rc.change.actions
	msg := concat("", [
		rc.address, ": the plan would ", verb(rc.change.actions), " a stateful ", rc.type,
		" and lose its data. Change the configuration so it is kept (a replacement is often ",
		"forced by an attribute that cannot change in place), or remove it from the state first.",
	])
}
