//! `azure-http`: an Azure Functions custom handler traced with faas-azure.
//!
//! Deploy it with `examples/azure` (host.json with `enableForwardingHttpRequest: true`,
//! `hello/function.json`, `orders/function.json`) and this binary beside host.json:
//!
//! * `GET /api/hello` (function `hello`, HTTP in/out, forwarded on its original path) answers
//!   `hello` (200); the router registers `/hello` and faas-azure adds the host's route prefix
//!   (`api`, host.json `extensions.http.routePrefix`);
//! * `GET /api/fail` answers 500 (the invocation span is an error; no function.json routes to
//!   it, it is there for local runs);
//! * function `orders` (queue trigger on `orders`, binding `order`) arrives on the invoke
//!   protocol as `POST /orders`; it answers with a log line and `ReturnValue`
//!   `{"accepted": <order id>}`, or 500 (the host retries the message) when the message is
//!   not an order (`{"id": ...}`).
//!
//! Configured only by the platform (`FUNCTIONS_CUSTOMHANDLER_PORT`, `WEBSITE_*`,
//! `REGION_NAME`, `AzureWebJobsScriptRoot`, …) and the `OTEL_*` / `FAAS_OTEL_*` variables.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use faas_azure::{InvokeRequest, InvokeResponse};
use serde_json::{Value, json};

async fn hello() -> &'static str {
    tracing::info!("said hello");
    "hello"
}

async fn fail() -> (StatusCode, &'static str) {
    tracing::error!(
        cause = "the order service is unavailable",
        "order lookup failed"
    );
    (StatusCode::INTERNAL_SERVER_ERROR, "failed")
}

async fn orders(request: InvokeRequest) -> Result<InvokeResponse, (StatusCode, InvokeResponse)> {
    match request
        .data_json::<Value>("order")
        .and_then(|order| order.get("id").cloned())
    {
        Some(id) => {
            tracing::info!(order_id = %id, "order accepted");
            Ok(InvokeResponse::new()
                .with_log(format!("order {id} accepted"))
                .with_return_value(json!({ "accepted": id })))
        }
        None => {
            tracing::warn!(cause = "no `id` in the message", "order rejected");
            Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                InvokeResponse::new().with_log("not an order"),
            ))
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), faas_azure::Error> {
    let router = Router::new()
        .route("/hello", get(hello))
        .route("/fail", get(fail))
        .route("/orders", post(orders));
    faas_azure::serve(router).await
}
