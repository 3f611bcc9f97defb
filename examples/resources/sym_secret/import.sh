# By path or by id.
terraform import sym_secret.okta_token sym/prod/okta-token
