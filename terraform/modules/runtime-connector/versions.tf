terraform {
  # terraform_data needs 1.4; check blocks and the test framework need 1.5+.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
    # Ours, not symopsio/sym: a root configuring symopsio/sym (the original's)
    # still works, through an instance configured from SYM_API_URL, SYM_JWT and
    # the server's org; make install-provider installs the same build as
    # opensym/sym 0.1.0 and symopsio/sym 3.1.0
    # (docs/decisions/013-provider-versions-and-module-provider.md).
    sym = {
      source  = "opensym/sym"
      version = ">= 0.1.0"
    }
  }
}
