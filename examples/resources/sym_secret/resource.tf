resource "sym_secret" "okta_token" {
  path      = "sym/prod/okta-token"
  source_id = sym_secrets.main.id
  label     = "Okta API token"

  settings = {
    json_key = "token"
  }
}
