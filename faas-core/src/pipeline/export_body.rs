//! The bound on the export client's request body type.

use bytes::Bytes;
use opentelemetry_http::HttpError;

/// What the export client's request body type must be: a hyper body built from the encoded
/// request's bytes (implemented for every such type). [`super::ExportClient::with_body`]
/// names it; the default is `http_body_util::Full<Bytes>`.
pub trait ExportBody:
    hyper::body::Body<Data = Bytes, Error: Into<HttpError>> + From<Bytes> + Send + Unpin + 'static
{
}

impl<B> ExportBody for B where
    B: hyper::body::Body<Data = Bytes, Error: Into<HttpError>>
        + From<Bytes>
        + Send
        + Unpin
        + 'static
{
}
