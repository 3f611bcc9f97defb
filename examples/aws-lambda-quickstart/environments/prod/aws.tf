locals {
  # An emulator (moto) when aws_endpoint is set, AWS itself otherwise.
  emulated = var.aws_endpoint != ""
}

# Apply this in the account of the functions (or list that account in the
# runtime connector's account_id_safelist).
provider "aws" {
  region = var.aws_region

  # Against AWS these stay null and the provider uses its usual credential
  # chain. Against an emulator it gets test credentials and skips every
  # check that would reach AWS.
  access_key                  = local.emulated ? "test" : null
  secret_key                  = local.emulated ? "test" : null
  skip_credentials_validation = local.emulated
  skip_requesting_account_id  = local.emulated
  skip_metadata_api_check     = local.emulated
  skip_region_validation      = local.emulated

  dynamic "endpoints" {
    for_each = local.emulated ? [var.aws_endpoint] : []

    content {
      iam    = endpoints.value
      sts    = endpoints.value
      lambda = endpoints.value
    }
  }
}
