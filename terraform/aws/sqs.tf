# The orders queue: aws-http-api sends to it, aws-sqs-consumer receives from it. A message whose
# processing keeps failing (the consumer reports it in batchItemFailures) goes to the DLQ after
# max_receive_count receives.

resource "aws_sqs_queue" "orders_dlq" {
  name                      = "${var.name_prefix}-orders-dlq"
  message_retention_seconds = 1209600 # 14 days, the maximum: time to look at failed orders
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "orders" {
  name = "${var.name_prefix}-orders"
  # AWS's advice for a Lambda event source: at least six times the function's timeout.
  visibility_timeout_seconds = var.timeout * 6
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.orders_dlq.arn
    maxReceiveCount     = 5
  })
}

resource "aws_lambda_event_source_mapping" "orders" {
  event_source_arn                   = aws_sqs_queue.orders.arn
  function_name                      = aws_lambda_function.this["consumer"].arn
  batch_size                         = 10
  maximum_batching_window_in_seconds = 1
  # The consumer answers with the messages that failed; only those are retried.
  function_response_types = ["ReportBatchItemFailures"]

  depends_on = [aws_iam_role_policy.function]
}
