# How Terraform reaches your sym server (`sym init` writes this file).
#
# The server's address comes from the environment variable SYM_API_URL and
# its API token from SYM_JWT (see sym.env); neither belongs in a file under
# version control.

variable "sym_org" {
  description = "The organisation your sym server runs (the --org it was started with). Empty: whatever org the server at SYM_API_URL runs."
  type        = string
  default     = ""
}

provider "sym" {
  org = var.sym_org
}
