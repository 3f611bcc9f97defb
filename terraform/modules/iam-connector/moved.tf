# Addresses of the original symopsio/iam-connector/aws v2 module, so that
# switching `source` to this module moves state instead of replacing the
# role's policy and attachment (docs/migrating.md). The role's address,
# aws_iam_role.this, is the same in both.
moved {
  from = aws_iam_policy.iam
  to   = aws_iam_policy.this
}

moved {
  from = aws_iam_role_policy_attachment.iam
  to   = aws_iam_role_policy_attachment.this
}
