variable "region" {
  description = "AWS region. null: the provider's default (AWS_REGION, AWS_DEFAULT_REGION, the profile)."
  type        = string
  default     = null
}

variable "endpoint_url" {
  description = "Send every AWS call to this endpoint (an emulator such as moto) and skip the checks only real AWS answers. null: real AWS."
  type        = string
  default     = null
}

variable "name_prefix" {
  description = "Prefix of every resource name (functions, queues, roles, layer, key alias)."
  type        = string
  default     = "faas-otel"

  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,32}$", var.name_prefix))
    error_message = "name_prefix must be 1 to 32 letters, digits or hyphens."
  }
}

variable "architecture" {
  description = "Instruction set of the functions and the layer: arm64 (cheaper per GB-s) or x86_64. Must match the zips (cargo xtask package --arch)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "artifacts_dir" {
  description = "Directory with aws-http-api.zip, aws-sqs-consumer.zip, aws-chain.zip and faas-otel-extension.zip. null: ../../target/lambda/<architecture> (where cargo xtask package writes them)."
  type        = string
  default     = null
}

variable "memory_size" {
  description = "Memory of each function, MB."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout of each function, seconds. The SQS queue's visibility timeout is six times this."
  type        = number
  default     = 10
}

variable "otlp_endpoint" {
  description = "Where the faas-otel-extension forwards telemetry (FAAS_OTEL_EXTENSION_ENDPOINT), e.g. https://otlp.example.com. Empty: the extension's default."
  type        = string
  default     = ""
}

variable "otlp_headers" {
  description = "Headers the extension sends upstream (FAAS_OTEL_EXTENSION_HEADERS), k=v,k2=v2 percent-encoded: usually an API key."
  type        = string
  default     = ""
  sensitive   = true
}

variable "xray_otlp" {
  description = "Forward the spans straight to X-Ray's OTLP endpoint (https://xray.<region>.amazonaws.com/v1/traces), SigV4-signed by the extension (FAAS_OTEL_EXTENSION_AUTH=sigv4) with the role's xray:PutTraceSegments. Replaces otlp_endpoint/otlp_headers. Needs CloudWatch Transaction Search enabled in the account."
  type        = bool
  default     = false
}

variable "otel_propagators" {
  description = "OTEL_PROPAGATORS of the functions."
  type        = string
  default     = "tracecontext,baggage,xray"
}

variable "chain_target_function" {
  description = "TARGET_FUNCTION of the aws-chain function (name or ARN of a function it invokes). Empty: it is the last link and answers itself."
  type        = string
  default     = ""
}

variable "function_url_auth_type" {
  description = "Authorization of aws-http-api's function URL: AWS_IAM (SigV4-signed callers only) or NONE (public)."
  type        = string
  default     = "AWS_IAM"

  validation {
    condition     = contains(["AWS_IAM", "NONE"], var.function_url_auth_type)
    error_message = "function_url_auth_type must be AWS_IAM or NONE."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' CloudWatch log groups, days."
  type        = number
  default     = 365
}

variable "extra_environment" {
  description = "More environment variables for every function (e.g. OTEL_TRACES_SAMPLER)."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default = {
    project = "faas-otel"
  }
}
