# Addresses of the original symopsio/sso-connector/aws module, so that
# switching `source` to this module moves state instead of deleting the
# SymSSO<Env>-Account policy and creating it again (docs/migrating.md). The
# role (aws_iam_role.this) and the SymSSO<Env> policy and its attachment
# (aws_iam_policy.sso, aws_iam_role_policy_attachment.sso) have the same
# addresses in both.
moved {
  from = aws_iam_policy.account
  to   = aws_iam_policy.sso_account
}

moved {
  from = aws_iam_role_policy_attachment.account
  to   = aws_iam_role_policy_attachment.sso_account
}
