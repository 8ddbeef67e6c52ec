# One role per function, each allowed only what that function does:
#   every function: write its own log group, send X-Ray segments (and OTLP spans to X-Ray's
#                   endpoint with var.xray_otlp), decrypt its environment
#   api:      sqs:SendMessage on the orders queue, lambda:InvokeFunction on billing
#   consumer: receive/delete (and the queue attributes the event source mapping reads) on orders
#   billing:  lambda:InvokeFunction on var.chain_target_function, only when it is set

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name               = "${var.name_prefix}-${each.key}"
  description        = "Execution role of ${var.name_prefix}-${each.key} (${each.value.binary})"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

locals {
  # Statements only some functions need, by function key.
  function_statements = {
    api = [
      {
        sid       = "SendOrders"
        actions   = ["sqs:SendMessage"]
        resources = [aws_sqs_queue.orders.arn]
      },
      {
        sid       = "InvokeBilling"
        actions   = ["lambda:InvokeFunction"]
        resources = [aws_lambda_function.this["billing"].arn, "${aws_lambda_function.this["billing"].arn}:*"]
      },
    ]
    consumer = [
      {
        sid = "ReceiveOrders"
        # ReceiveMessage and DeleteMessage for the batches; GetQueueAttributes is what the
        # event source mapping needs to poll the queue.
        actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
        resources = [aws_sqs_queue.orders.arn]
      },
    ]
    billing = var.chain_target_function == "" ? [] : [
      {
        sid       = "InvokeNextLink"
        actions   = ["lambda:InvokeFunction"]
        resources = [local.chain_target_arn, "${local.chain_target_arn}:*"]
      },
    ]
  }
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }

  statement {
    # X-Ray's write actions support no resource-level permissions: "*" is the only resource.
    # PutTraceSegments is also what X-Ray's OTLP endpoint authorizes the extension's signed
    # span exports as (var.xray_otlp): nothing wider is needed for it.
    sid       = "XRayActiveTracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "DecryptEnvironment"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }

  dynamic "statement" {
    for_each = local.function_statements[each.key]

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name   = "${var.name_prefix}-${each.key}"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.function[each.key].json
}
