//! `hello`: one axum Router, `GET /hello` (and `GET /api/hello`, the path Azure Functions
//! forwards), served on the provider chosen by a cargo feature of the `examples` package and
//! nothing else:
//!
//! ```sh
//! cargo build -p examples --bin hello --features aws     # faas_aws::serve: a Lambda behind API Gateway / a function URL
//! cargo build -p examples --bin hello --features azure   # faas_azure::serve: an Azure Functions custom handler
//! cargo build -p examples --bin hello --features gcp     # faas_gcp::serve: Cloud Run functions / Cloud Run
//! ```
//!
//! Exactly one of `aws`, `azure`, `gcp` must be chosen: two are a compile error. With none
//! (as in `cargo build --workspace`) the binary still builds, and running it prints which
//! features to choose and exits with status 2.

#[cfg(any(
    all(feature = "aws", feature = "azure"),
    all(feature = "aws", feature = "gcp"),
    all(feature = "azure", feature = "gcp"),
))]
compile_error!("choose exactly one provider feature of `examples` for `hello`: aws, azure or gcp");

use axum::Router;
use axum::routing::get;

#[cfg_attr(
    not(any(feature = "aws", feature = "azure", feature = "gcp")),
    allow(dead_code)
)]
async fn hello() -> &'static str {
    "hello"
}

/// The application: the same on every provider.
#[cfg_attr(
    not(any(feature = "aws", feature = "azure", feature = "gcp")),
    allow(dead_code)
)]
fn router() -> Router {
    Router::new()
        .route("/hello", get(hello))
        .route("/api/hello", get(hello))
}

#[cfg(feature = "aws")]
#[tokio::main]
async fn main() -> Result<(), faas_aws::Error> {
    faas_aws::serve(router()).await
}

#[cfg(feature = "azure")]
#[tokio::main]
async fn main() -> Result<(), faas_azure::Error> {
    faas_azure::serve(router()).await
}

#[cfg(feature = "gcp")]
#[tokio::main]
async fn main() -> Result<(), faas_gcp::Error> {
    faas_gcp::serve(router()).await
}

#[cfg(not(any(feature = "aws", feature = "azure", feature = "gcp")))]
fn main() {
    eprintln!(
        "hello: no provider chosen; build it with one of `--features aws`, `--features azure` \
         or `--features gcp` (cargo build -p examples --bin hello --features azure)"
    );
    std::process::exit(2);
}
