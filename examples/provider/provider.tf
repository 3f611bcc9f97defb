terraform {
  required_providers {
    sym = {
      source  = "opensym/sym" # or "symopsio/sym": both are installed by make install-provider
      version = ">= 0.1.0"
    }
  }
}

# api_url defaults to $SYM_API_URL; the token is read from $SYM_JWT.
provider "sym" {
  org     = "default"
  api_url = "http://127.0.0.1:8420"
}
