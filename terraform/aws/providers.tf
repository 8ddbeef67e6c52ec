# Credentials and region come from the usual AWS sources: AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, instance roles; AWS_REGION / AWS_DEFAULT_REGION or
# var.region.
#
# With var.endpoint_url set (cargo xtask deploy-aws passes AWS_ENDPOINT_URL), every service this
# module uses is sent to that endpoint and the checks that only real AWS can answer are skipped:
# this is how the module is tested against moto.
provider "aws" {
  region = var.region

  skip_credentials_validation = local.emulated
  skip_metadata_api_check     = local.emulated
  skip_requesting_account_id  = local.emulated
  skip_region_validation      = local.emulated

  dynamic "endpoints" {
    for_each = local.emulated ? [var.endpoint_url] : []
    content {
      cloudwatchlogs = endpoints.value
      iam            = endpoints.value
      kms            = endpoints.value
      lambda         = endpoints.value
      sqs            = endpoints.value
      sts            = endpoints.value
    }
  }

  default_tags {
    tags = var.tags
  }
}
