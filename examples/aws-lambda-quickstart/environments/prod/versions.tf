terraform {
  # terraform_data (the runtime connector's External ID) needs 1.4, check
  # blocks 1.5.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
    sym = {
      source  = "opensym/sym"
      version = ">= 0.1.0"
    }
  }
}
