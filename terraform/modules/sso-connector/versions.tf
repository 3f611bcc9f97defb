terraform {
  # terraform_data needs 1.4; check blocks and the test framework need 1.5+.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}
