terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # Local state. `cargo xtask deploy-aws` keeps it in this directory for real AWS and under
  # target/terraform/ for an emulator (AWS_ENDPOINT_URL), through `init -backend-config=path=...`.
  backend "local" {}
}
