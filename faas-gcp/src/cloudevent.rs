//! CloudEvents over HTTP, as Eventarc, Pub/Sub push (through Eventarc) and Cloud Storage
//! triggers deliver them to Cloud Run functions.
//!
//! * **Binary mode**: the attributes are `ce-*` headers (`ce-id`, `ce-source`, `ce-type`,
//!   `ce-specversion`, optional `ce-time`, `ce-subject`, `ce-dataschema` and extensions); the
//!   body is the data, its type the `content-type` header.
//! * **Structured mode**: `content-type: application/cloudevents+json`; the body is a JSON
//!   object holding the attributes, and the data in `data` (JSON) or `data_base64`.
//!
//! [`CloudEvent`] is an axum extractor. [`crate::serve()`] parses CloudEvent requests before the
//! handler runs (so the invocation span can be named and attributed by the event) and the
//! extractor then takes that copy; a router served otherwise parses the body itself.

use std::collections::BTreeMap;

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use base64::Engine as _;
use bytes::Bytes;
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The structured-mode media type.
pub const STRUCTURED_CONTENT_TYPE: &str = "application/cloudevents+json";
/// The largest CloudEvent body read (Pub/Sub's push limit is 10 MB).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// `type` of a Pub/Sub message delivered through Eventarc.
pub const PUBSUB_MESSAGE_PUBLISHED: &str = "google.cloud.pubsub.topic.v1.messagePublished";
/// Prefix of the `type` of Cloud Storage object events (`finalized`, `deleted`, `archived`,
/// `metadataUpdated`).
pub const STORAGE_OBJECT_PREFIX: &str = "google.cloud.storage.object.v1.";

/// One CloudEvent (spec 1.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudEvent {
    /// `id`.
    pub id: String,
    /// `source`, a URI reference (`//pubsub.googleapis.com/projects/P/topics/T`).
    pub source: String,
    /// `type` (`google.cloud.pubsub.topic.v1.messagePublished`).
    pub ty: String,
    /// `specversion` (`1.0`).
    pub specversion: String,
    /// `time`, RFC 3339, as sent.
    pub time: Option<String>,
    /// `subject` (`objects/photo.jpg` for Cloud Storage).
    pub subject: Option<String>,
    /// `datacontenttype`.
    pub datacontenttype: Option<String>,
    /// `dataschema`.
    pub dataschema: Option<String>,
    /// Extension attributes, as strings.
    pub extensions: BTreeMap<String, String>,
    /// The data: the body in binary mode; `data` serialized as JSON or `data_base64` decoded
    /// in structured mode; empty when absent.
    pub data: Bytes,
}

/// Why a request is not a valid CloudEvent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloudEventError {
    /// Neither binary (`ce-*` headers) nor structured mode.
    #[error("not a CloudEvent: no ce-* headers and not {STRUCTURED_CONTENT_TYPE}")]
    NotACloudEvent,
    /// A required attribute is missing.
    #[error("CloudEvent attribute `{0}` is missing")]
    Missing(&'static str),
    /// The structured body is not a JSON object, or `data_base64` is not base64.
    #[error("malformed structured CloudEvent: {0}")]
    Malformed(String),
    /// The body could not be read (too large or broken).
    #[error("cannot read the CloudEvent body: {0}")]
    Body(String),
}

/// Whether the request head announces a CloudEvent (binary or structured).
pub fn is_cloudevent(headers: &HeaderMap) -> bool {
    headers.contains_key("ce-specversion")
        || headers.contains_key("ce-type")
        || is_structured(headers)
}

fn is_structured(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(STRUCTURED_CONTENT_TYPE))
}

impl CloudEvent {
    /// Parses a request's head and body in either mode.
    pub fn from_http(headers: &HeaderMap, body: Bytes) -> Result<Self, CloudEventError> {
        if is_structured(headers) {
            Self::from_structured(&body)
        } else if is_cloudevent(headers) {
            Self::from_binary(headers, body)
        } else {
            Err(CloudEventError::NotACloudEvent)
        }
    }

    /// Binary mode: attributes from the `ce-*` headers, `body` is the data.
    pub fn from_binary(headers: &HeaderMap, body: Bytes) -> Result<Self, CloudEventError> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let required = |name: &'static str, attribute: &'static str| {
            header(name).ok_or(CloudEventError::Missing(attribute))
        };
        let mut extensions = BTreeMap::new();
        for (name, value) in headers {
            if let Some(key) = name.as_str().strip_prefix("ce-")
                && !matches!(
                    key,
                    "id" | "source" | "type" | "specversion" | "time" | "subject" | "dataschema"
                )
                && let Ok(value) = value.to_str()
            {
                extensions.insert(key.to_owned(), value.to_owned());
            }
        }
        Ok(Self {
            id: required("ce-id", "id")?,
            source: required("ce-source", "source")?,
            ty: required("ce-type", "type")?,
            specversion: required("ce-specversion", "specversion")?,
            time: header("ce-time"),
            subject: header("ce-subject"),
            datacontenttype: header("content-type"),
            dataschema: header("ce-dataschema"),
            extensions,
            data: body,
        })
    }

    /// Structured mode: `body` is the JSON event.
    pub fn from_structured(body: &[u8]) -> Result<Self, CloudEventError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| CloudEventError::Malformed(e.to_string()))?;
        let Value::Object(mut object) = value else {
            return Err(CloudEventError::Malformed("not a JSON object".to_owned()));
        };
        let mut take = |key: &str| match object.remove(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let id = take("id").ok_or(CloudEventError::Missing("id"))?;
        let source = take("source").ok_or(CloudEventError::Missing("source"))?;
        let ty = take("type").ok_or(CloudEventError::Missing("type"))?;
        let specversion = take("specversion").ok_or(CloudEventError::Missing("specversion"))?;
        let time = take("time");
        let subject = take("subject");
        let datacontenttype = take("datacontenttype");
        let dataschema = take("dataschema");
        let data = match (object.remove("data_base64"), object.remove("data")) {
            (Some(Value::String(b64)), _) => base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map(Bytes::from)
                .map_err(|e| CloudEventError::Malformed(format!("data_base64: {e}")))?,
            (_, Some(Value::String(text)))
                if !datacontenttype_is_json(datacontenttype.as_deref()) =>
            {
                Bytes::from(text)
            }
            (_, Some(data)) => Bytes::from(data.to_string()),
            (_, None) => Bytes::new(),
        };
        let extensions = object
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect();
        Ok(Self {
            id,
            source,
            ty,
            specversion,
            time,
            subject,
            datacontenttype,
            dataschema,
            extensions,
            data,
        })
    }

    /// The data deserialized from JSON.
    pub fn data_json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.data)
    }

    /// The topic of a Pub/Sub event: the last segment of
    /// `//pubsub.googleapis.com/projects/P/topics/T`.
    pub fn pubsub_topic(&self) -> Option<&str> {
        segment_after(&self.source, "/topics/")
    }

    /// The bucket of a Cloud Storage event:
    /// `//storage.googleapis.com/projects/_/buckets/B`.
    pub fn storage_bucket(&self) -> Option<&str> {
        segment_after(&self.source, "/buckets/")
    }

    /// The Pub/Sub message of a `messagePublished` event's data, when it parses.
    pub fn pubsub_message(&self) -> Option<PubSubMessage> {
        let envelope: PubSubEnvelope = self.data_json().ok()?;
        let mut message = envelope.message;
        message.subscription = envelope.subscription;
        Some(message)
    }
}

fn datacontenttype_is_json(content_type: Option<&str>) -> bool {
    content_type.is_none_or(|t| {
        let t = t.split(';').next().unwrap_or_default().trim();
        t.eq_ignore_ascii_case("application/json") || t.ends_with("+json")
    })
}

fn segment_after<'a>(source: &'a str, marker: &str) -> Option<&'a str> {
    let rest = source.split_once(marker)?.1;
    let segment = rest.split('/').next()?;
    (!segment.is_empty()).then_some(segment)
}

#[derive(serde::Deserialize)]
struct PubSubEnvelope {
    message: PubSubMessage,
    #[serde(default)]
    subscription: Option<String>,
}

/// The message of a Pub/Sub `messagePublished` CloudEvent (the push format).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PubSubMessage {
    /// `messageId`.
    #[serde(default)]
    pub message_id: Option<String>,
    /// `publishTime`.
    #[serde(default)]
    pub publish_time: Option<String>,
    /// `attributes`: where producers put `traceparent` (or `googclient_traceparent`).
    #[serde(default)]
    pub attributes: std::collections::HashMap<String, String>,
    /// `data`, base64 as sent.
    #[serde(default)]
    pub data: Option<String>,
    /// `orderingKey`.
    #[serde(default)]
    pub ordering_key: Option<String>,
    /// The subscription that pushed the message (`projects/P/subscriptions/S`).
    #[serde(skip)]
    pub subscription: Option<String>,
}

impl PubSubMessage {
    /// `data` decoded from base64.
    pub fn decoded_data(&self) -> Option<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(self.data.as_deref()?)
            .ok()
    }
}

impl<S: Send + Sync> FromRequest<S> for CloudEvent {
    type Rejection = (StatusCode, String);

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(event) = request.extensions().get::<CloudEvent>() {
            return Ok(event.clone());
        }
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|e| {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    CloudEventError::Body(e.to_string()).to_string(),
                )
            })?;
        CloudEvent::from_http(&parts.headers, body)
            .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))
    }
}

/// The axum middleware [`crate::serve()`] installs: reads the body of a CloudEvent request,
/// leaves the parsed [`CloudEvent`] in the request's extensions (for the invocation describer
/// and the extractor) and hands the same bytes on. Other requests pass untouched; a body
/// larger than [`MAX_BODY_BYTES`] is answered with 413.
pub async fn buffer_cloudevent(
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if !is_cloudevent(request.headers()) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return axum::response::IntoResponse::into_response(StatusCode::PAYLOAD_TOO_LARGE);
    };
    if let Ok(event) = CloudEvent::from_http(&parts.headers, bytes.clone()) {
        parts.extensions.insert(event);
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn binary_mode() {
        let h = headers(&[
            ("ce-id", "1"),
            (
                "ce-source",
                "//storage.googleapis.com/projects/_/buckets/photos",
            ),
            ("ce-type", "google.cloud.storage.object.v1.finalized"),
            ("ce-specversion", "1.0"),
            ("ce-time", "2026-11-26T10:00:00Z"),
            ("ce-subject", "objects/a/b.jpg"),
            ("ce-bucket", "photos"),
            ("content-type", "application/json"),
        ]);
        assert!(is_cloudevent(&h));
        let event =
            CloudEvent::from_http(&h, Bytes::from_static(b"{\"name\":\"a/b.jpg\"}")).unwrap();
        assert_eq!(event.id, "1");
        assert_eq!(event.storage_bucket(), Some("photos"));
        assert_eq!(event.subject.as_deref(), Some("objects/a/b.jpg"));
        assert_eq!(
            event.extensions.get("bucket").map(String::as_str),
            Some("photos")
        );
        assert_eq!(event.data_json::<Value>().unwrap()["name"], "a/b.jpg");
        let missing = headers(&[("ce-id", "1"), ("ce-specversion", "1.0")]);
        assert_eq!(
            CloudEvent::from_http(&missing, Bytes::new()),
            Err(CloudEventError::Missing("source"))
        );
        assert_eq!(
            CloudEvent::from_http(&HeaderMap::new(), Bytes::new()),
            Err(CloudEventError::NotACloudEvent)
        );
    }

    #[test]
    fn structured_mode_with_a_pubsub_message() {
        let body = serde_json::json!({
            "specversion": "1.0",
            "id": "42",
            "source": "//pubsub.googleapis.com/projects/demo/topics/orders",
            "type": PUBSUB_MESSAGE_PUBLISHED,
            "time": "2026-11-26T10:00:00Z",
            "datacontenttype": "application/json",
            "data": {
                "message": {
                    "messageId": "42",
                    "data": "aGVsbG8=",
                    "attributes": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
                },
                "subscription": "projects/demo/subscriptions/orders-push"
            }
        });
        let h = headers(&[(
            "content-type",
            "application/cloudevents+json; charset=utf-8",
        )]);
        let event = CloudEvent::from_http(&h, Bytes::from(body.to_string())).unwrap();
        assert_eq!(event.pubsub_topic(), Some("orders"));
        let message = event.pubsub_message().unwrap();
        assert_eq!(message.message_id.as_deref(), Some("42"));
        assert_eq!(message.decoded_data().unwrap(), b"hello");
        assert_eq!(
            message.subscription.as_deref(),
            Some("projects/demo/subscriptions/orders-push")
        );
        let b64 = serde_json::json!({"specversion": "1.0", "id": "1", "source": "s", "type": "t",
            "data_base64": "aGk=", "ext": 3});
        let event = CloudEvent::from_structured(b64.to_string().as_bytes()).unwrap();
        assert_eq!(&event.data[..], b"hi");
        assert_eq!(event.extensions.get("ext").map(String::as_str), Some("3"));
        assert!(matches!(
            CloudEvent::from_structured(b"[1]"),
            Err(CloudEventError::Malformed(_))
        ));
    }
}
