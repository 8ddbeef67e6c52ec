resource "aws_lambda_layer_version" "extension" {
  layer_name  = "${var.name_prefix}-extension-${replace(var.architecture, "_", "-")}"
  description = "faas-otel-extension: the local OTLP collector (extensions/faas-otel-extension)"

  filename                 = "${local.artifacts_dir}/faas-otel-extension.zip"
  source_code_hash         = filebase64sha256("${local.artifacts_dir}/faas-otel-extension.zip")
  compatible_runtimes      = ["provided.al2023"]
  compatible_architectures = [var.architecture]
}

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  # Lambda's default log group name: the function and its extension log here.
  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

resource "aws_lambda_function" "this" {
  for_each = local.functions
  #checkov:skip=CKV_AWS_116:no function is invoked asynchronously (function URL and Lambda-to-Lambda calls are synchronous); the SQS consumer's failed messages go to the queue's own redrive DLQ, which is where Lambda's async DLQ would not apply
  #checkov:skip=CKV_AWS_117:the functions reach only public AWS APIs and the OTLP endpoint; a VPC would add NAT gateways (cost) and nothing to protect
  #checkov:skip=CKV_AWS_115:reserved concurrency is an account-wide budget decision; reserving it here fails on new accounts whose limit is 10
  #checkov:skip=CKV_AWS_272:code signing needs an AWS Signer profile the examples do not have; the zips are reproducible (cargo xtask package) so their hash can be checked instead

  function_name = "${var.name_prefix}-${each.key}"
  description   = each.value.description
  role          = aws_iam_role.function[each.key].arn

  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = [var.architecture]
  memory_size   = var.memory_size
  timeout       = var.timeout

  filename         = "${local.artifacts_dir}/${each.value.binary}.zip"
  source_code_hash = filebase64sha256("${local.artifacts_dir}/${each.value.binary}.zip")
  layers           = [aws_lambda_layer_version.extension.arn]

  kms_key_arn = aws_kms_key.this.arn

  environment {
    variables = merge(local.common_environment, each.value.environment, var.extra_environment)
  }

  tracing_config {
    mode = "Active"
  }

  # The role policies come later: api's names billing's ARN. Nothing runs before they exist
  # except on a first invocation racing the apply.
  depends_on = [aws_cloudwatch_log_group.function]
}

resource "aws_lambda_function_url" "api" {
  function_name      = aws_lambda_function.this["api"].function_name
  authorization_type = var.function_url_auth_type
}

# A public function URL (function_url_auth_type = "NONE") also needs a resource policy that lets
# anyone call it; with AWS_IAM the callers' own IAM policies grant it.
resource "aws_lambda_permission" "api_public_url" {
  count = var.function_url_auth_type == "NONE" ? 1 : 0
  #checkov:skip=CKV_AWS_301:created only when function_url_auth_type = "NONE", the explicit choice of a public HTTP API

  statement_id           = "PublicFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.this["api"].function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}
