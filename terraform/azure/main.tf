# The azure-http example (examples/azure: host.json, function.json files and the azure-http
# binary as the custom handler) on Azure Functions, traced by faas-otel and exporting OTLP.
#
# The package zip is the example directory with the Linux x86_64 binary beside host.json:
#   cargo build --release -p examples --bin azure-http
#   cp target/release/azure-http examples/azure/ && (cd examples/azure && zip -r ../../target/azure-http.zip .)

terraform {
  required_version = ">= 1.5"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.0, < 5.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.0"
    }
  }
}

provider "azurerm" {
  features {}
  subscription_id = var.subscription_id
}

resource "azurerm_resource_group" "this" {
  name     = "${var.name_prefix}-rg"
  location = var.location
  tags     = var.tags
}

resource "azurerm_storage_account" "functions" {
  #checkov:skip=CKV_AZURE_33:queue service logging: the Functions host uses this account only for its own leases and keys, no application queues
  #checkov:skip=CKV_AZURE_206:replication: the account holds only the host's leases and the deployment package, both recreated by a deploy
  #checkov:skip=CKV_AZURE_59:public network access: the Consumption plan reaches its storage over the public endpoint; private endpoints need a Premium or Flex plan with VNet integration
  #checkov:skip=CKV2_AZURE_1:customer-managed keys: the account holds no application data, Microsoft-managed encryption applies
  #checkov:skip=CKV2_AZURE_33:private endpoint: not available to the Consumption plan (see CKV_AZURE_59)
  #checkov:skip=CKV2_AZURE_38:soft delete: nothing in the account needs restoring, a deploy recreates it
  #checkov:skip=CKV2_AZURE_40:shared key access: the Consumption plan's host authenticates to its storage with the account key (AzureWebJobsStorage)
  #checkov:skip=CKV2_AZURE_41:SAS expiration policy: no SAS tokens are issued for this account
  name                            = substr(replace(lower("${var.name_prefix}fn${random_string.storage.result}"), "-", ""), 0, 24)
  resource_group_name             = azurerm_resource_group.this.name
  location                        = azurerm_resource_group.this.location
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  allow_nested_items_to_be_public = false
  tags                            = var.tags
}

resource "random_string" "storage" {
  length  = 8
  special = false
  upper   = false
}

resource "azurerm_service_plan" "this" {
  #checkov:skip=CKV_AZURE_212:a Consumption (Y1) plan has no fixed instance count to keep for failover; it scales from zero per request
  #checkov:skip=CKV_AZURE_225:zone redundancy needs a Premium plan; the Consumption plan example accepts a zone outage
  name                = "${var.name_prefix}-plan"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  os_type             = "Linux"
  sku_name            = "Y1"
  tags                = var.tags
}

resource "azurerm_linux_function_app" "this" {
  #checkov:skip=CKV_AZURE_221:public network access: the example is a public HTTP API; put it behind a private endpoint with a Premium plan in production
  name                       = "${var.name_prefix}-app"
  resource_group_name        = azurerm_resource_group.this.name
  location                   = azurerm_resource_group.this.location
  service_plan_id            = azurerm_service_plan.this.id
  storage_account_name       = azurerm_storage_account.functions.name
  storage_account_access_key = azurerm_storage_account.functions.primary_access_key
  https_only                 = true
  zip_deploy_file            = var.package_zip
  tags                       = var.tags

  identity {
    type = "SystemAssigned"
  }

  site_config {
    http2_enabled       = true
    minimum_tls_version = "1.2"
    ftps_state          = "Disabled"

    application_stack {
      use_custom_runtime = true
    }
  }

  app_settings = merge(
    {
      FUNCTIONS_WORKER_RUNTIME    = "custom"
      OTEL_SERVICE_NAME           = "${var.name_prefix}-app"
      OTEL_EXPORTER_OTLP_ENDPOINT = var.otlp_endpoint
      OTEL_EXPORTER_OTLP_PROTOCOL = "http/protobuf"
    },
    var.otlp_headers == "" ? {} : { OTEL_EXPORTER_OTLP_HEADERS = var.otlp_headers },
    var.extra_app_settings,
  )
}
