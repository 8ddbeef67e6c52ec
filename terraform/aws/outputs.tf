output "function_names" {
  description = "Function names by role: api, consumer, billing."
  value       = { for key, function in aws_lambda_function.this : key => function.function_name }
}

output "function_arns" {
  description = "Function ARNs by role."
  value       = { for key, function in aws_lambda_function.this : key => function.arn }
}

output "api_url" {
  description = "aws-http-api's function URL (GET hello, POST orders)."
  value       = aws_lambda_function_url.api.function_url
}

output "extension_layer_arn" {
  description = "The faas-otel-extension layer version every function carries."
  value       = aws_lambda_layer_version.extension.arn
}

output "orders_queue_url" {
  description = "The orders queue."
  value       = aws_sqs_queue.orders.url
}

output "orders_dlq_url" {
  description = "The orders dead-letter queue."
  value       = aws_sqs_queue.orders_dlq.url
}

output "event_source_mapping_uuid" {
  description = "The orders queue -> consumer mapping."
  value       = aws_lambda_event_source_mapping.orders.uuid
}

output "architecture" {
  description = "Instruction set of the functions and the layer."
  value       = var.architecture
}
