# The example functions of this repository on AWS Lambda, traced by faas-otel:
#
#   api      (aws-http-api)     function URL: GET /hello, POST /orders -> SQS "orders", invokes billing
#   billing  (aws-chain)        invoked by api (Lambda -> Lambda); the last link unless
#                               var.chain_target_function names a next one
#   consumer (aws-sqs-consumer) event source mapping on "orders", partial batch failures,
#                               messages that keep failing go to "orders-dlq"
#
# Every function carries the faas-otel-extension layer: the function exports OTLP to the
# extension on localhost:4318 and returns at once; the extension forwards to var.otlp_endpoint.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  emulated      = var.endpoint_url != null
  artifacts_dir = coalesce(var.artifacts_dir, "${path.module}/../../target/lambda/${var.architecture}")

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # key => the binary (and zip) it runs, and its own environment.
  functions = {
    api = {
      binary      = "aws-http-api"
      description = "faas-otel example: HTTP API (GET /hello, POST /orders to SQS)"
      environment = {
        ORDERS_QUEUE_URL = aws_sqs_queue.orders.url
        BILLING_FUNCTION = "${var.name_prefix}-billing"
      }
    }
    consumer = {
      binary      = "aws-sqs-consumer"
      description = "faas-otel example: SQS consumer with partial batch failures"
      environment = {}
    }
    billing = {
      binary      = "aws-chain"
      description = "faas-otel example: a link of a Lambda-to-Lambda chain"
      environment = var.chain_target_function == "" ? {} : {
        TARGET_FUNCTION = var.chain_target_function
      }
    }
  }

  # What every function reads. The functions export to the extension on localhost (its
  # default); the extension's upstream settings are only set when given.
  common_environment = merge(
    {
      OTEL_EXPORTER_OTLP_ENDPOINT = "http://localhost:4318"
      OTEL_PROPAGATORS            = var.otel_propagators
    },
    var.otlp_endpoint == "" ? {} : { FAAS_OTEL_EXTENSION_ENDPOINT = var.otlp_endpoint },
    var.otlp_headers == "" ? {} : { FAAS_OTEL_EXTENSION_HEADERS = var.otlp_headers },
    # Straight to X-Ray's OTLP endpoint, SigV4-signed with the role's credentials; it takes
    # traces only, so the functions' metrics and the function logs are not forwarded.
    var.xray_otlp ? {
      FAAS_OTEL_EXTENSION_ENDPOINT = "https://xray.${local.region}.${data.aws_partition.current.dns_suffix}"
      FAAS_OTEL_EXTENSION_AUTH     = "sigv4"
      FAAS_OTEL_EXTENSION_LOGS     = "off"
      OTEL_METRICS_EXPORTER        = "none"
    } : {},
  )

  # The ARN of chain_target_function, which may be given as a name or as an ARN.
  chain_target_arn = (
    startswith(var.chain_target_function, "arn:")
    ? var.chain_target_function
    : "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.chain_target_function}"
  )
}
