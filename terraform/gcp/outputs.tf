output "service_url" {
  description = "The service's URL."
  value       = google_cloud_run_v2_service.this.uri
}

output "service_account" {
  description = "The service's identity."
  value       = google_service_account.function.email
}
