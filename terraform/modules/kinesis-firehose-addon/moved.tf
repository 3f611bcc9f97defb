# The original symopsio/kinesis-firehose-addon/aws module (v1.1, used beside
# runtime-connector v2) attached its policy as attach_firehose_access;
# its policy is aws_iam_policy.this as here (docs/migrating.md).
moved {
  from = aws_iam_role_policy_attachment.attach_firehose_access
  to   = aws_iam_role_policy_attachment.this
}
