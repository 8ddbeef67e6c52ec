# The gcp-http example on Cloud Run, traced by faas-otel (faas-gcp) and exporting OTLP.
# Cloud Run runs a container image: build one holding the release gcp-http binary, push it to
# Artifact Registry and pass it as var.image.

terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.0, < 7.0"
    }
  }
}

provider "google" {
  project = var.project
  region  = var.region
}

resource "google_service_account" "function" {
  account_id   = "${var.name_prefix}-run"
  display_name = "${var.name_prefix}: identity of the gcp-http service (Cloud Trace agent only)"
}

# Writing spans to Cloud Trace (telemetry.googleapis.com, FAAS_OTEL_AUTH=google with
# var.cloud_trace): the agent role, write-only, and nothing else.
resource "google_project_iam_member" "cloud_trace_agent" {
  project = var.project
  role    = "roles/cloudtrace.agent"
  member  = "serviceAccount:${google_service_account.function.email}"
}

resource "google_cloud_run_v2_service" "this" {
  name     = "${var.name_prefix}-http"
  location = var.region
  ingress  = var.ingress

  template {
    service_account = google_service_account.function.email

    scaling {
      max_instance_count = var.max_instances
    }

    containers {
      image = var.image

      resources {
        limits = {
          cpu    = "1"
          memory = "${var.memory_mib}Mi"
        }
        # Request-based billing: CPU only while a request is handled.
        cpu_idle = true
      }

      env {
        name  = "OTEL_EXPORTER_OTLP_ENDPOINT"
        value = var.cloud_trace ? "https://telemetry.googleapis.com" : var.otlp_endpoint
      }

      # Cloud Trace: the service account's token from the metadata server on every export.
      dynamic "env" {
        for_each = var.cloud_trace ? { FAAS_OTEL_AUTH = "google", OTEL_METRICS_EXPORTER = "none" } : {}
        content {
          name  = env.key
          value = env.value
        }
      }

      env {
        name  = "OTEL_PROPAGATORS"
        value = "tracecontext,baggage,cloudtrace"
      }

      # Cloud Run does not expose the memory limit: faas-gcp reads it for cost attributes.
      env {
        name  = "FAAS_OTEL_MEMORY_MB"
        value = tostring(var.memory_mib)
      }

      dynamic "env" {
        for_each = var.otlp_headers == "" ? [] : [var.otlp_headers]
        content {
          name  = "OTEL_EXPORTER_OTLP_HEADERS"
          value = env.value
        }
      }

      dynamic "env" {
        for_each = var.extra_env
        content {
          name  = env.key
          value = env.value
        }
      }
    }
  }
}

# Who may call it: nobody by default (authenticated callers need roles/run.invoker);
# var.public_invoker = true makes it a public HTTP API.
resource "google_cloud_run_v2_service_iam_member" "public" {
  count = var.public_invoker ? 1 : 0

  name     = google_cloud_run_v2_service.this.name
  location = google_cloud_run_v2_service.this.location
  role     = "roles/run.invoker"
  member   = "allUsers"
}
