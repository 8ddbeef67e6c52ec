//! `hello`: one axum Router, `GET /hello`, served on the provider chosen by a cargo feature of
//! the `examples` package and nothing else:
//!
//! ```sh
//! cargo build -p examples --bin hello --features aws     # faas_aws::serve: a Lambda behind API Gateway / a function URL
//! cargo build -p examples --bin hello --features azure   # faas_azure::serve: an Azure Functions custom handler (at /api/hello)
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

#[cfg(feature = "aws")]
use faas_aws as provider;
#[cfg(feature = "azure")]
use faas_azure as provider;
#[cfg(feature = "gcp")]
use faas_gcp as provider;

/// The application: the same on every provider (Azure's `/api` route prefix is faas-azure's
/// job).
#[cfg_attr(
    not(any(feature = "aws", feature = "azure", feature = "gcp")),
    allow(dead_code)
)]
fn router() -> axum::Router {
    axum::Router::new().route("/hello", axum::routing::get(|| async { "hello" }))
}

#[cfg(any(feature = "aws", feature = "azure", feature = "gcp"))]
#[tokio::main]
async fn main() -> Result<(), provider::Error> {
    provider::serve(router()).await
}

#[cfg(not(any(feature = "aws", feature = "azure", feature = "gcp")))]
fn main() {
    eprintln!(
        "hello: no provider chosen; build it with one of `--features aws`, `--features azure` \
         or `--features gcp` (cargo build -p examples --bin hello --features azure)"
    );
    std::process::exit(2);
}
