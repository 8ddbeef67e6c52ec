variable "project" {
  description = "Google Cloud project id."
  type        = string
}

variable "region" {
  description = "Cloud Run region."
  type        = string
  default     = "europe-west1"
}

variable "name_prefix" {
  description = "Prefix of the service and service account names (lowercase letters, digits, hyphens)."
  type        = string
  default     = "faas-otel"
}

variable "image" {
  description = "Container image with the gcp-http binary as its entrypoint, e.g. europe-west1-docker.pkg.dev/PROJECT/REPO/gcp-http:TAG."
  type        = string
}

variable "memory_mib" {
  description = "Memory limit, MiB (also FAAS_OTEL_MEMORY_MB for the cost attributes)."
  type        = number
  default     = 256
}

variable "max_instances" {
  description = "Most instances Cloud Run may start."
  type        = number
  default     = 10
}

variable "ingress" {
  description = "INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  type        = string
  default     = "INGRESS_TRAFFIC_ALL"
}

variable "public_invoker" {
  description = "Let anyone call the service (allUsers gets roles/run.invoker)."
  type        = bool
  default     = false
}

variable "otlp_endpoint" {
  description = "OTEL_EXPORTER_OTLP_ENDPOINT: the collector the service exports to (ignored with cloud_trace)."
  type        = string
  default     = ""
}

variable "cloud_trace" {
  description = "Export the spans straight to Cloud Trace (https://telemetry.googleapis.com) with the service account's token (FAAS_OTEL_AUTH=google; the account has roles/cloudtrace.agent)."
  type        = bool
  default     = false
}

variable "otlp_headers" {
  description = "OTEL_EXPORTER_OTLP_HEADERS, k=v,k2=v2 percent-encoded (usually an API key)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "extra_env" {
  description = "More environment variables (e.g. OTEL_TRACES_SAMPLER)."
  type        = map(string)
  default     = {}
}
