//! The GCP describer: what kind of invocation a request is.
//!
//! | request | trigger, kind | span name | attributes |
//! |---|---|---|---|
//! | plain HTTP | `http`, SERVER | `{method} {route}` (`{method}` without a route) | HTTP server conventions ([`faas_core::http_server::http_attributes`]), `http.route` from axum's `MatchedPath` |
//! | Pub/Sub CloudEvent (`google.cloud.pubsub.topic.v1.messagePublished`) | `pubsub`, CONSUMER | `process {topic}` | `messaging.system=gcp_pubsub`, `messaging.operation.name/type=process`, `messaging.destination.name` (topic from `source`), `messaging.message.id`, `messaging.destination.subscription.name`, `messaging.gcp_pubsub.message.ordering_key`; a link to the producer from the message's `traceparent` (or `googclient_traceparent`) attribute |
//! | Cloud Storage CloudEvent (`google.cloud.storage.object.v1.*`) | `datasource`, SERVER | the function name | `faas.document.collection` (bucket), `faas.document.operation` (`finalized` → `insert`, `deleted` → `delete`, `archived`/`metadataUpdated` → `edit`), `faas.document.name` (object, from `subject`), `faas.document.time` (`time`) |
//! | any other CloudEvent | `other`, SERVER | the function name | |
//!
//! Every CloudEvent invocation also carries `cloudevents.event_id`, `.event_source`,
//! `.event_type`, `.event_spec_version`, `.event_subject` and `faas.invocation_id` = the
//! event id. A plain HTTP request's `faas.invocation_id` is its `Function-Execution-Id`
//! header when the platform sends one.

use axum::extract::MatchedPath;
use faas_core::http_privacy::HttpPrivacy;
use faas_core::http_server::describe_request_with_route;
use faas_core::invocation::{Invocation, Trigger};
use faas_core::propagation::{MapExtractor, Propagation, has_remote_parent};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Link, SpanKind, TraceContextExt as _};
use opentelemetry_semantic_conventions::attribute as attr;

use crate::cloudevent::{CloudEvent, PUBSUB_MESSAGE_PUBLISHED, STORAGE_OBJECT_PREFIX};

/// Builds [`Invocation`]s for requests to a Cloud Run function; see the module docs.
#[derive(Debug, Clone)]
pub struct GcpDescriber {
    function_name: String,
    propagation: Propagation,
    privacy: HttpPrivacy,
}

impl GcpDescriber {
    /// A describer for the function `function_name`, reading message attributes with
    /// `propagation` (the configured one; `traceparent` when it finds nothing).
    pub fn new(function_name: impl Into<String>, propagation: Propagation) -> Self {
        Self {
            function_name: function_name.into(),
            propagation,
            privacy: HttpPrivacy::default(),
        }
    }

    /// Applies `privacy` (the telemetry's `FAAS_OTEL_DENY_*` lists) to plain HTTP requests
    /// instead of the built-in lists alone.
    pub fn with_privacy(mut self, privacy: HttpPrivacy) -> Self {
        self.privacy = privacy;
        self
    }

    /// The invocation a request head is (its extensions may hold a parsed [`CloudEvent`]).
    pub fn describe(&self, parts: &http::request::Parts) -> Invocation {
        if let Some(event) = parts.extensions.get::<CloudEvent>() {
            return self.describe_cloudevent(event);
        }
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let invocation = describe_request_with_route(parts, route, &self.privacy);
        match parts
            .headers
            .get("function-execution-id")
            .and_then(|v| v.to_str().ok())
        {
            Some(id) if !id.is_empty() => invocation.with_invocation_id(id),
            _ => invocation,
        }
    }

    /// The invocation a CloudEvent is.
    pub fn describe_cloudevent(&self, event: &CloudEvent) -> Invocation {
        let mut attributes = vec![
            KeyValue::new(attr::CLOUDEVENTS_EVENT_ID, event.id.clone()),
            KeyValue::new(attr::CLOUDEVENTS_EVENT_SOURCE, event.source.clone()),
            KeyValue::new(attr::CLOUDEVENTS_EVENT_TYPE, event.ty.clone()),
            KeyValue::new(
                attr::CLOUDEVENTS_EVENT_SPEC_VERSION,
                event.specversion.clone(),
            ),
        ];
        if let Some(subject) = &event.subject {
            attributes.push(KeyValue::new(
                attr::CLOUDEVENTS_EVENT_SUBJECT,
                subject.clone(),
            ));
        }
        let invocation = if event.ty == PUBSUB_MESSAGE_PUBLISHED {
            self.pubsub(event, &mut attributes)
        } else if let Some(action) = event.ty.strip_prefix(STORAGE_OBJECT_PREFIX) {
            storage(event, action, &mut attributes);
            Invocation::new(self.function_name.clone(), Trigger::Datasource)
        } else {
            Invocation::new(self.function_name.clone(), Trigger::Other)
        };
        invocation
            .with_invocation_id(event.id.clone())
            .with_attributes(attributes)
    }

    fn pubsub(&self, event: &CloudEvent, attributes: &mut Vec<KeyValue>) -> Invocation {
        let topic = event.pubsub_topic().unwrap_or_default().to_owned();
        let message = event.pubsub_message().unwrap_or_default();
        attributes.extend([
            KeyValue::new(attr::MESSAGING_SYSTEM, "gcp_pubsub"),
            KeyValue::new(attr::MESSAGING_OPERATION_NAME, "process"),
            KeyValue::new(attr::MESSAGING_OPERATION_TYPE, "process"),
        ]);
        if !topic.is_empty() {
            attributes.push(KeyValue::new(
                attr::MESSAGING_DESTINATION_NAME,
                topic.clone(),
            ));
        }
        let id = message
            .message_id
            .clone()
            .unwrap_or_else(|| event.id.clone());
        attributes.push(KeyValue::new(attr::MESSAGING_MESSAGE_ID, id));
        if let Some(subscription) = &message.subscription {
            let name = subscription.rsplit('/').next().unwrap_or(subscription);
            attributes.push(KeyValue::new(
                attr::MESSAGING_DESTINATION_SUBSCRIPTION_NAME,
                name.to_owned(),
            ));
        }
        if let Some(key) = message.ordering_key.filter(|k| !k.is_empty()) {
            attributes.push(KeyValue::new(
                attr::MESSAGING_GCP_PUBSUB_MESSAGE_ORDERING_KEY,
                key,
            ));
        }
        let name = if topic.is_empty() {
            "process".to_owned()
        } else {
            format!("process {topic}")
        };
        let mut invocation = Invocation::new(name, Trigger::PubSub).with_kind(SpanKind::Consumer);
        if let Some(link) = self.producer_link(&message.attributes) {
            invocation = invocation.with_links([link]);
        }
        invocation
    }

    /// The producer's context from the message attributes: the configured propagation, then
    /// W3C `traceparent`, then the Google client libraries' `googclient_traceparent`.
    fn producer_link(
        &self,
        attributes: &std::collections::HashMap<String, String>,
    ) -> Option<Link> {
        let cx = self.propagation.extract(&MapExtractor(attributes));
        let cx = if has_remote_parent(&cx) {
            cx
        } else {
            let prefixed: std::collections::HashMap<String, String> = attributes
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("googclient_")?.to_owned(), v.clone())))
                .chain(attributes.iter().map(|(k, v)| (k.clone(), v.clone())))
                .collect();
            Propagation::default().extract(&MapExtractor(&prefixed))
        };
        has_remote_parent(&cx).then(|| Link::with_context(cx.span().span_context().clone()))
    }
}

fn storage(event: &CloudEvent, action: &str, attributes: &mut Vec<KeyValue>) {
    let operation = match action {
        "finalized" => "insert",
        "deleted" => "delete",
        _ => "edit",
    };
    if let Some(bucket) = event.storage_bucket() {
        attributes.push(KeyValue::new(
            attr::FAAS_DOCUMENT_COLLECTION,
            bucket.to_owned(),
        ));
    }
    attributes.push(KeyValue::new(attr::FAAS_DOCUMENT_OPERATION, operation));
    let object = event
        .subject
        .as_deref()
        .and_then(|s| s.strip_prefix("objects/"))
        .map(str::to_owned)
        .or_else(|| {
            event
                .data_json::<serde_json::Value>()
                .ok()?
                .get("name")?
                .as_str()
                .map(str::to_owned)
        });
    if let Some(object) = object {
        attributes.push(KeyValue::new(attr::FAAS_DOCUMENT_NAME, object));
    }
    if let Some(time) = &event.time {
        attributes.push(KeyValue::new(attr::FAAS_DOCUMENT_TIME, time.clone()));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn event(ty: &str, source: &str, subject: Option<&str>, data: serde_json::Value) -> CloudEvent {
        CloudEvent {
            id: "e1".into(),
            source: source.into(),
            ty: ty.into(),
            specversion: "1.0".into(),
            time: Some("2026-11-26T10:00:00Z".into()),
            subject: subject.map(str::to_owned),
            datacontenttype: Some("application/json".into()),
            dataschema: None,
            extensions: Default::default(),
            data: Bytes::from(data.to_string()),
        }
    }

    fn value(invocation: &Invocation, key: &str) -> Option<String> {
        invocation
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.as_str().into_owned())
    }

    #[test]
    fn storage_operations_table() {
        let describer = GcpDescriber::new("fn", Propagation::default());
        for (action, operation) in [
            ("finalized", "insert"),
            ("deleted", "delete"),
            ("archived", "edit"),
            ("metadataUpdated", "edit"),
        ] {
            let ty = format!("{STORAGE_OBJECT_PREFIX}{action}");
            let e = event(
                &ty,
                "//storage.googleapis.com/projects/_/buckets/b1",
                None,
                serde_json::json!({"name": "dir/o.txt"}),
            );
            let invocation = describer.describe_cloudevent(&e);
            assert_eq!(invocation.trigger, Trigger::Datasource);
            assert_eq!(invocation.name, "fn");
            assert_eq!(
                value(&invocation, "faas.document.operation").unwrap(),
                operation
            );
            assert_eq!(
                value(&invocation, "faas.document.collection").unwrap(),
                "b1"
            );
            // No subject: the object name comes from the data.
            assert_eq!(
                value(&invocation, "faas.document.name").unwrap(),
                "dir/o.txt"
            );
        }
    }

    #[test]
    fn pubsub_links_to_the_google_client_library_attribute() {
        let describer = GcpDescriber::new("fn", Propagation::default());
        let e = event(
            PUBSUB_MESSAGE_PUBLISHED,
            "//pubsub.googleapis.com/projects/p/topics/t1",
            None,
            serde_json::json!({"message": {"attributes": {
                "googclient_traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            }}}),
        );
        let invocation = describer.describe_cloudevent(&e);
        assert_eq!(invocation.name, "process t1");
        assert_eq!(invocation.kind, Some(SpanKind::Consumer));
        // No messageId in the data: the event id.
        assert_eq!(value(&invocation, "messaging.message.id").unwrap(), "e1");
        assert_eq!(invocation.links.len(), 1);
        assert_eq!(
            invocation.links[0].span_context.span_id().to_string(),
            "00f067aa0ba902b7"
        );
        // No producer context: no link.
        let bare = event(
            PUBSUB_MESSAGE_PUBLISHED,
            "//pubsub.googleapis.com/projects/p/topics/t1",
            None,
            serde_json::json!({"message": {"attributes": {"traceparent": "00-zz"}}}),
        );
        assert!(describer.describe_cloudevent(&bare).links.is_empty());
    }

    #[test]
    fn other_cloudevents_and_plain_http() {
        let describer = GcpDescriber::new("fn", Propagation::default());
        let e = event(
            "google.cloud.audit.log.v1.written",
            "//x",
            Some("s"),
            serde_json::json!({}),
        );
        let invocation = describer.describe_cloudevent(&e);
        assert_eq!(invocation.trigger, Trigger::Other);
        assert_eq!(
            value(&invocation, "cloudevents.event_subject").unwrap(),
            "s"
        );
        let (parts, ()) = http::Request::builder()
            .uri("/x")
            .header("function-execution-id", "abc123")
            .body(())
            .unwrap()
            .into_parts();
        let invocation = describer.describe(&parts);
        assert_eq!(invocation.name, "GET");
        assert_eq!(invocation.invocation_id.as_deref(), Some("abc123"));
    }

    #[test]
    fn configured_privacy_keeps_headers_and_query_values_out() {
        let privacy = HttpPrivacy::from_env(&faas_core::env::Env::from_pairs([
            ("FAAS_OTEL_DENY_HEADERS", "user-agent,x-forwarded-for"),
            ("FAAS_OTEL_DENY_QUERY_PARAMS", "session_id"),
        ]));
        let describer = GcpDescriber::new("fn", Propagation::default()).with_privacy(privacy);
        let (parts, ()) = http::Request::get("/hello?session_id=denied-session&a=1")
            .header("user-agent", "denied-agent")
            .header("x-forwarded-for", "198.51.100.1")
            .body(())
            .unwrap()
            .into_parts();
        let invocation = describer.describe(&parts);
        assert_eq!(
            value(&invocation, "url.query").unwrap(),
            "session_id=REDACTED&a=1"
        );
        assert_eq!(value(&invocation, "user_agent.original"), None);
        assert_eq!(value(&invocation, "client.address"), None);
        assert!(invocation.attributes.iter().all(|kv| {
            let text = kv.value.as_str();
            !text.contains("denied") && !text.contains("198.51.100.1")
        }));
    }
}
