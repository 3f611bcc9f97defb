# Every address of the original symopsio/runtime-connector/aws module, v1
# and v2, moved to where this module keeps the same object, so that
# switching `source` to this module plans no destroy or replace of a role,
# policy or attachment (docs/migrating.md). Chains follow the original's own
# renames (v2.0.0 -> v2.0.x) before the move into ./modules/role.
#
# Not moved: random_uuid.external_id (a resource of the random provider;
# this module keeps its External ID in terraform_data, or takes
# custom_external_id). sym_integration.runtime_context and sym_runtime.this
# have the original's addresses already.

# The role: v1 and v2.0.0 aws_iam_role.this, v2.0.x sym_runtime_connector_role.
moved {
  from = aws_iam_role.this
  to   = aws_iam_role.sym_runtime_connector_role
}

moved {
  from = aws_iam_role.sym_runtime_connector_role
  to   = module.role.aws_iam_role.this
}

moved {
  from = aws_iam_policy.assume_roles
  to   = module.role.aws_iam_policy.assume_roles
}

# The assume-roles attachment: v1 and v2.0.0 assume_roles_attach, v2.0.x
# attach_assume_roles.
moved {
  from = aws_iam_role_policy_attachment.assume_roles_attach
  to   = aws_iam_role_policy_attachment.attach_assume_roles
}

moved {
  from = aws_iam_role_policy_attachment.attach_assume_roles
  to   = module.role.aws_iam_role_policy_attachment.assume_roles
}

# v1: policy_arns attachments, one per key.
moved {
  from = aws_iam_role_policy_attachment.extra_policy_attachments
  to   = module.role.aws_iam_role_policy_attachment.extra
}

# v1 addons: a child module per addon holding the policy, and its
# attachment beside it in this module.
moved {
  from = module.aws_secretsmgr
  to   = module.role.module.secretsmgr
}

moved {
  from = aws_iam_role_policy_attachment.aws_secretsmgr_attach[0]
  to   = module.role.module.secretsmgr[0].aws_iam_role_policy_attachment.this[0]
}

moved {
  from = module.aws_kinesis_firehose
  to   = module.role.module.kinesis_firehose
}

moved {
  from = aws_iam_role_policy_attachment.aws_kinesis_firehose_attach[0]
  to   = module.role.module.kinesis_firehose[0].aws_iam_role_policy_attachment.this[0]
}

moved {
  from = module.aws_kinesis_data_stream
  to   = module.role.module.kinesis_data_stream
}

moved {
  from = aws_iam_role_policy_attachment.aws_kinesis_data_stream_attach[0]
  to   = module.role.module.kinesis_data_stream[0].aws_iam_role_policy_attachment.this[0]
}
