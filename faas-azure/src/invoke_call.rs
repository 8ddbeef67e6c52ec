//! [`InvokeCall`]: an invoke-protocol request the serve layer recognised, left in the
//! request's extensions for the describer ([`crate::triggers`]) and for the [`InvokeRequest`]
//! extractor implemented here.

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;

use crate::functions::Function;
use crate::protocol::{InvokeRequest, MAX_BODY_BYTES};

/// An invoke-protocol request, recognised by the serve layer and left in the request's
/// extensions for the describer and the [`InvokeRequest`] extractor.
#[derive(Debug, Clone)]
pub struct InvokeCall {
    /// The function called.
    pub function: Arc<Function>,
    /// The parsed body; `None` when it was not an invoke request.
    pub request: Option<Arc<InvokeRequest>>,
}

impl<S: Send + Sync> FromRequest<S> for InvokeRequest {
    type Rejection = (StatusCode, String);

    /// The request the serve layer already parsed, else the body parsed here; a body that is
    /// not an invoke-protocol request is rejected with 400.
    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(call) = request.extensions().get::<InvokeCall>()
            && let Some(parsed) = &call.request
        {
            return Ok((**parsed).clone());
        }
        let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|e| (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()))?;
        Self::from_slice(&body).map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                format!("not an Azure Functions invoke request ({{\"Data\", \"Metadata\"}}): {e}"),
            )
        })
    }
}
