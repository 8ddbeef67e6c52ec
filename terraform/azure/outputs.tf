output "function_app_name" {
  description = "The function app."
  value       = azurerm_linux_function_app.this.name
}

output "default_hostname" {
  description = "https://<this>/api/<function> (or the forwarded path) reaches the handler."
  value       = azurerm_linux_function_app.this.default_hostname
}
