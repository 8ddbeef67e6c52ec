variable "subscription_id" {
  description = "Azure subscription to deploy into (or set ARM_SUBSCRIPTION_ID and leave null)."
  type        = string
  default     = null
}

variable "location" {
  description = "Azure region."
  type        = string
  default     = "westeurope"
}

variable "name_prefix" {
  description = "Prefix of every resource name (letters, digits, hyphens)."
  type        = string
  default     = "faas-otel"
}

variable "package_zip" {
  description = "The function app package: examples/azure with the azure-http binary beside host.json, zipped."
  type        = string
  default     = "../../target/azure-http.zip"
}

variable "otlp_endpoint" {
  description = "OTEL_EXPORTER_OTLP_ENDPOINT of the app: the collector the functions export to."
  type        = string
}

variable "otlp_headers" {
  description = "OTEL_EXPORTER_OTLP_HEADERS of the app, k=v,k2=v2 percent-encoded (usually an API key)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "extra_app_settings" {
  description = "More app settings (e.g. OTEL_TRACES_SAMPLER)."
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
