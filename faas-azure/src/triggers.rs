//! The Azure describer: what kind of invocation a request from the Functions host is.
//!
//! | request | trigger, kind | span name | attributes |
//! |---|---|---|---|
//! | forwarded HTTP (`GET /api/hello`) | `http`, SERVER | `{method} {route}` with axum's matched route | HTTP server conventions ([`faas_core::http_server::http_attributes`]) |
//! | invoke protocol, `httpTrigger` (not forwarded) | `http`, SERVER | `{method} /{prefix}/{route}` | HTTP server conventions of `Data.<req>`; parent from `Data.<req>.Headers` (the caller's `traceparent`) |
//! | invoke protocol, queue / Service Bus / Event Hubs / Event Grid / Kafka / RabbitMQ | `pubsub`, CONSUMER | `process {destination}` | `messaging.system` (`azure.queue_storage`, `servicebus`, `eventhubs`, `eventgrid`, `kafka`, `rabbitmq`), `messaging.operation.name/type=process`, `messaging.destination.name` (function.json `queueName`/`topicName`/`eventHubName`, `%AppSetting%` resolved), `messaging.message.id`; Service Bus: `messaging.destination.subscription.name`, `messaging.servicebus.message.delivery_count`, a link to the producer from the message's `Diagnostic-Id`/`traceparent` application property; Event Hubs: `messaging.consumer.group.name`, `messaging.batch.message_count` |
//! | invoke protocol, blob / Cosmos DB / SQL | `datasource`, SERVER | the function name | `faas.document.collection` (blob container, Cosmos DB container, SQL table), `faas.document.operation` (blob: `insert`, as the trigger fires for new or overwritten blobs; change feeds: `edit`), `faas.document.name` (blob name) |
//! | invoke protocol, timer | `timer`, SERVER | the function name | `faas.cron` (function.json `schedule`), `faas.time` (`Metadata.sys.UtcNow`) |
//! | invoke protocol, any other trigger | `other`, SERVER | the function name | |
//!
//! Every invocation carries `faas.invocation_id` (the `X-Azure-Functions-InvocationId`
//! header) and, when the function is known, `faas.name` = `<app>/<function>` and
//! `cloud.resource_id` = the function's Azure resource id (subscription and resource group
//! from `WEBSITE_OWNER_NAME` and `WEBSITE_RESOURCE_GROUP`). The parent comes from the request's
//! `traceparent` header (the host's) unless the describer found a better one (the HTTP
//! caller's).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::MatchedPath;
use faas_core::env::Env;
use faas_core::http_privacy::HttpPrivacy;
use faas_core::http_server::describe_request_with_route;
use faas_core::invocation::{Invocation, Trigger};
use faas_core::propagation::{MapExtractor, Propagation, has_remote_parent};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Link, SpanKind, TraceContextExt as _};
use opentelemetry_semantic_conventions::attribute as attr;
use serde_json::Value;

use crate::environment::AzureFunctionsEnvironment;
use crate::functions::{Function, Functions};
use crate::invoke_call::InvokeCall;
use crate::protocol::InvokeRequest;

/// The header carrying the host's invocation id (`faas.invocation_id`).
pub const INVOCATION_ID_HEADER: &str = "x-azure-functions-invocationid";
/// `messaging.system` for Azure Queue Storage; the conventions register no value for it.
pub const QUEUE_STORAGE_SYSTEM: &str = "azure.queue_storage";

/// Builds [`Invocation`]s for requests from the Functions host; see the module docs.
#[derive(Debug, Clone)]
pub struct AzureDescriber {
    app: String,
    azure: Option<AzureFunctionsEnvironment>,
    functions: Arc<Functions>,
    env: Env,
    propagation: Propagation,
    privacy: HttpPrivacy,
}

impl AzureDescriber {
    /// A describer for the app `app` (`faas.name` prefix) with its `functions`; `azure` gives
    /// the resource ids, `env` resolves `%AppSetting%` names, `propagation` reads message and
    /// HTTP-trigger headers.
    pub fn new(
        app: impl Into<String>,
        azure: Option<AzureFunctionsEnvironment>,
        functions: Arc<Functions>,
        env: Env,
        propagation: Propagation,
    ) -> Self {
        Self {
            app: app.into(),
            azure,
            functions,
            env,
            propagation,
            privacy: HttpPrivacy::default(),
        }
    }

    /// Applies `privacy` (the telemetry's `FAAS_OTEL_DENY_*` lists) to HTTP requests, forwarded
    /// or invoke-protocol, instead of the built-in lists alone.
    pub fn with_privacy(mut self, privacy: HttpPrivacy) -> Self {
        self.privacy = privacy;
        self
    }

    /// The invocation a request head is (its extensions may hold an [`InvokeCall`]).
    pub fn describe(&self, parts: &http::request::Parts) -> Invocation {
        let (invocation, function) = match parts.extensions.get::<InvokeCall>() {
            Some(call) => (
                self.describe_invoke(&call.function, call.request.as_deref()),
                Some(call.function.name.as_str()),
            ),
            None => {
                let route = parts
                    .extensions
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str);
                let function = self
                    .functions
                    .http_function_for_path(parts.uri.path())
                    .map(|f| f.name.as_str());
                (
                    describe_request_with_route(parts, route, &self.privacy),
                    function,
                )
            }
        };
        let mut invocation = match function {
            Some(function) => self.with_function(invocation, function),
            None => invocation,
        };
        if let Some(id) = parts
            .headers
            .get(INVOCATION_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|id| !id.is_empty())
        {
            invocation = invocation.with_invocation_id(id);
        }
        invocation
    }

    fn with_function(&self, invocation: Invocation, function: &str) -> Invocation {
        let invocation = invocation.with_attribute(KeyValue::new(
            attr::FAAS_NAME,
            format!("{}/{function}", self.app),
        ));
        match self.azure.as_ref().and_then(|a| a.resource_id(function)) {
            Some(id) => invocation.with_attribute(KeyValue::new(attr::CLOUD_RESOURCE_ID, id)),
            None => invocation,
        }
    }

    /// The invocation an invoke-protocol call of `function` is.
    pub fn describe_invoke(
        &self,
        function: &Function,
        request: Option<&InvokeRequest>,
    ) -> Invocation {
        let empty = InvokeRequest::default();
        let request = request.unwrap_or(&empty);
        match function.trigger.trigger() {
            Trigger::Http => self.http(function, request),
            Trigger::PubSub => self.messaging(function, request),
            Trigger::Datasource => self.datasource(function, request),
            Trigger::Timer => {
                let mut invocation = Invocation::new(function.name.clone(), Trigger::Timer);
                if let Some(cron) = function.trigger.setting("schedule", &self.env) {
                    invocation = invocation.with_attribute(KeyValue::new(attr::FAAS_CRON, cron));
                }
                if let Some(now) = request.sys().and_then(|s| s.utc_now) {
                    invocation = invocation.with_attribute(KeyValue::new(attr::FAAS_TIME, now));
                }
                invocation
            }
            other => Invocation::new(function.name.clone(), other),
        }
    }

    fn http(&self, function: &Function, request: &InvokeRequest) -> Invocation {
        let route = self.functions.http_route(function);
        let Some(http) = request.http_request(&function.trigger.name) else {
            return Invocation::new(function.name.clone(), Trigger::Http);
        };
        let headers = http.header_map();
        let mut builder = http::Request::builder()
            .method(http::Method::from_str(&http.method).unwrap_or(http::Method::POST))
            .uri(http::Uri::from_str(&http.url).unwrap_or_default());
        for (name, value) in &headers {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_str(name),
                http::HeaderValue::from_str(value),
            ) {
                builder = builder.header(name, value);
            }
        }
        let invocation = match builder.body(()) {
            Ok(original) => {
                describe_request_with_route(&original.into_parts().0, Some(&route), &self.privacy)
            }
            Err(_) => Invocation::new(function.name.clone(), Trigger::Http),
        };
        let parent = self.propagation.extract(&MapExtractor(&headers));
        if has_remote_parent(&parent) {
            invocation.with_parent(parent)
        } else {
            invocation
        }
    }

    fn messaging(&self, function: &Function, request: &InvokeRequest) -> Invocation {
        let binding = &function.trigger;
        let setting = |key: &str| binding.setting(key, &self.env);
        let kind = binding.binding_type.to_ascii_lowercase();
        let (system, destination, message_id) = match kind.as_str() {
            "queuetrigger" => (
                QUEUE_STORAGE_SYSTEM,
                setting("queueName"),
                request.metadata_str("Id"),
            ),
            "servicebustrigger" => (
                "servicebus",
                setting("queueName").or_else(|| setting("topicName")),
                request.metadata_str("MessageId"),
            ),
            "eventhubtrigger" => ("eventhubs", setting("eventHubName"), None),
            "eventgridtrigger" => (
                "eventgrid",
                None,
                request
                    .data_json::<Value>(&binding.name)
                    .and_then(|e| e.get("id").and_then(Value::as_str).map(str::to_owned)),
            ),
            "kafkatrigger" => ("kafka", setting("topic"), None),
            _ => ("rabbitmq", setting("queueName"), None),
        };
        let mut attributes = vec![
            KeyValue::new(attr::MESSAGING_SYSTEM, system),
            KeyValue::new(attr::MESSAGING_OPERATION_NAME, "process"),
            KeyValue::new(attr::MESSAGING_OPERATION_TYPE, "process"),
        ];
        if let Some(destination) = &destination {
            attributes.push(KeyValue::new(
                attr::MESSAGING_DESTINATION_NAME,
                destination.clone(),
            ));
        }
        if let Some(id) = message_id {
            attributes.push(KeyValue::new(attr::MESSAGING_MESSAGE_ID, id));
        }
        let mut links = Vec::new();
        match kind.as_str() {
            "servicebustrigger" => {
                if let Some(subscription) = setting("subscriptionName") {
                    attributes.push(KeyValue::new(
                        attr::MESSAGING_DESTINATION_SUBSCRIPTION_NAME,
                        subscription,
                    ));
                }
                if let Some(count) = request
                    .metadata_str("DeliveryCount")
                    .and_then(|c| c.parse::<i64>().ok())
                {
                    attributes.push(KeyValue::new(
                        attr::MESSAGING_SERVICEBUS_MESSAGE_DELIVERY_COUNT,
                        count,
                    ));
                }
                links.extend(self.producer_link(request));
            }
            "eventhubtrigger" => {
                if let Some(group) = setting("consumerGroup") {
                    attributes.push(KeyValue::new(attr::MESSAGING_CONSUMER_GROUP_NAME, group));
                }
                if let Some(Value::Array(batch)) = request.data(&binding.name) {
                    attributes.push(KeyValue::new(
                        attr::MESSAGING_BATCH_MESSAGE_COUNT,
                        i64::try_from(batch.len()).unwrap_or(i64::MAX),
                    ));
                }
            }
            _ => {}
        }
        let name = match &destination {
            Some(destination) => format!("process {destination}"),
            None => "process".to_owned(),
        };
        Invocation::new(name, Trigger::PubSub)
            .with_kind(SpanKind::Consumer)
            .with_attributes(attributes)
            .with_links(links)
    }

    /// The producer of a Service Bus message: its `traceparent` or `Diagnostic-Id` (what the
    /// Azure SDKs write) application property.
    fn producer_link(&self, request: &InvokeRequest) -> Option<Link> {
        let properties = request
            .metadata_object("ApplicationProperties")
            .or_else(|| request.metadata_object("UserProperties"))?;
        let mut carrier: HashMap<String, String> = properties
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect();
        if !carrier
            .keys()
            .any(|k| k.eq_ignore_ascii_case("traceparent"))
            && let Some(id) = carrier
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("Diagnostic-Id"))
                .map(|(_, v)| v.clone())
        {
            carrier.insert("traceparent".to_owned(), id);
        }
        let cx = self.propagation.extract(&MapExtractor(&carrier));
        let cx = if has_remote_parent(&cx) {
            cx
        } else {
            Propagation::default().extract(&MapExtractor(&carrier))
        };
        has_remote_parent(&cx).then(|| Link::with_context(cx.span().span_context().clone()))
    }

    fn datasource(&self, function: &Function, request: &InvokeRequest) -> Invocation {
        let binding = &function.trigger;
        let setting = |key: &str| binding.setting(key, &self.env);
        let mut attributes = Vec::new();
        let (collection, operation, document) =
            match binding.binding_type.to_ascii_lowercase().as_str() {
                "blobtrigger" => {
                    let path = setting("path");
                    let container = path
                        .as_deref()
                        .and_then(|p| p.split('/').next())
                        .filter(|c| !c.is_empty() && !c.contains('{'))
                        .map(str::to_owned);
                    let name = request.metadata_str("Name").or_else(|| {
                        let full = request.metadata_str("BlobTrigger")?;
                        Some(
                            full.split_once('/')
                                .map_or(full.clone(), |(_, n)| n.to_owned()),
                        )
                    });
                    (container, "insert", name)
                }
                "cosmosdbtrigger" => (
                    setting("containerName").or_else(|| setting("collectionName")),
                    "edit",
                    None,
                ),
                _ => (setting("tableName"), "edit", None),
            };
        if let Some(collection) = collection {
            attributes.push(KeyValue::new(attr::FAAS_DOCUMENT_COLLECTION, collection));
        }
        attributes.push(KeyValue::new(attr::FAAS_DOCUMENT_OPERATION, operation));
        if let Some(document) = document {
            attributes.push(KeyValue::new(attr::FAAS_DOCUMENT_NAME, document));
        }
        Invocation::new(function.name.clone(), Trigger::Datasource).with_attributes(attributes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::functions::Binding;

    fn describer() -> AzureDescriber {
        let azure = AzureFunctionsEnvironment::from_env(&Env::from_pairs([
            ("FUNCTIONS_WORKER_RUNTIME", "Custom"),
            ("WEBSITE_SITE_NAME", "shop"),
            ("WEBSITE_OWNER_NAME", "sub-1+shop-rg-WestEuropewebspace"),
            ("WEBSITE_RESOURCE_GROUP", "shop-rg"),
        ]));
        let mut functions = Functions::new().with_forwarding(true);
        functions.insert("hello", Binding::http("req", None));
        functions.insert("orders", Binding::queue("order", "orders"));
        AzureDescriber::new(
            "shop",
            azure,
            Arc::new(functions),
            Env::from_pairs([("TOPIC", "events")]),
            Propagation::default(),
        )
    }

    fn function(binding: Binding) -> Function {
        Function {
            name: "fn".into(),
            trigger: binding,
            forwarded: false,
        }
    }

    fn request(body: Value) -> InvokeRequest {
        serde_json::from_value(body).unwrap()
    }

    fn value(invocation: &Invocation, key: &str) -> Option<String> {
        invocation
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    }

    #[test]
    fn forwarded_http_names_the_function() {
        // (axum adds the matched route in a router; tests/serve.rs checks `GET /api/hello`.)
        let (parts, ()) = http::Request::get("/api/hello")
            .header("x-azure-functions-invocationid", "inv-1")
            .body(())
            .unwrap()
            .into_parts();
        let invocation = describer().describe(&parts);
        assert_eq!(invocation.name, "GET");
        assert_eq!(invocation.trigger, Trigger::Http);
        assert_eq!(invocation.invocation_id.as_deref(), Some("inv-1"));
        assert_eq!(value(&invocation, "faas.name").unwrap(), "shop/hello");
        assert_eq!(
            value(&invocation, "cloud.resource_id").unwrap(),
            "/subscriptions/sub-1/resourceGroups/shop-rg/providers/Microsoft.Web/sites/shop/functions/hello"
        );
        // A path no function serves: HTTP, no faas.name.
        let (parts, ()) = http::Request::get("/other").body(()).unwrap().into_parts();
        let invocation = describer().describe(&parts);
        assert_eq!(invocation.name, "GET");
        assert_eq!(value(&invocation, "faas.name"), None);
        assert_eq!(invocation.invocation_id, None);
    }

    #[test]
    fn queue_message() {
        let d = describer();
        let r = request(serde_json::json!({
            "Data": {"order": "{\"id\": 1}"},
            "Metadata": {"Id": "\"m-1\"", "DequeueCount": 1, "sys": {"MethodName": "orders"}}
        }));
        let invocation = d.describe_invoke(d.functions.get("orders").unwrap(), Some(&r));
        assert_eq!(invocation.name, "process orders");
        assert_eq!(invocation.kind, Some(SpanKind::Consumer));
        assert_eq!(invocation.trigger, Trigger::PubSub);
        for (key, expected) in [
            ("messaging.system", "azure.queue_storage"),
            ("messaging.operation.name", "process"),
            ("messaging.operation.type", "process"),
            ("messaging.destination.name", "orders"),
            ("messaging.message.id", "m-1"),
        ] {
            assert_eq!(value(&invocation, key).as_deref(), Some(expected), "{key}");
        }
        // An unparsable body: still the function's shape, without the message's values.
        let bare = d.describe_invoke(d.functions.get("orders").unwrap(), None);
        assert_eq!(bare.name, "process orders");
        assert_eq!(value(&bare, "messaging.message.id"), None);
    }

    #[test]
    fn service_bus_links_to_the_diagnostic_id() {
        let d = describer();
        let f = function(
            Binding::new("serviceBusTrigger", "msg")
                .with_setting("topicName", "%TOPIC%")
                .with_setting("subscriptionName", "billing"),
        );
        let r = request(serde_json::json!({
            "Data": {"msg": "hi"},
            "Metadata": {
                "MessageId": "sb-1",
                "DeliveryCount": "2",
                "ApplicationProperties": {"Diagnostic-Id": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
            }
        }));
        let invocation = d.describe_invoke(&f, Some(&r));
        assert_eq!(invocation.name, "process events");
        assert_eq!(
            value(&invocation, "messaging.system").unwrap(),
            "servicebus"
        );
        assert_eq!(value(&invocation, "messaging.message.id").unwrap(), "sb-1");
        assert_eq!(
            value(&invocation, "messaging.destination.subscription.name").unwrap(),
            "billing"
        );
        assert_eq!(
            value(&invocation, "messaging.servicebus.message.delivery_count").unwrap(),
            "2"
        );
        assert_eq!(invocation.links.len(), 1);
        assert_eq!(
            invocation.links[0].span_context.span_id().to_string(),
            "00f067aa0ba902b7"
        );
        // A malformed id: no link.
        let r = request(
            serde_json::json!({"Metadata": {"UserProperties": {"Diagnostic-Id": "|abc.1."}}}),
        );
        assert!(d.describe_invoke(&f, Some(&r)).links.is_empty());
    }

    #[test]
    fn event_hubs_batches_blobs_cosmos_and_timers() {
        let d = describer();
        let hub = function(
            Binding::new("eventHubTrigger", "events")
                .with_setting("eventHubName", "telemetry")
                .with_setting("consumerGroup", "$Default"),
        );
        let r = request(serde_json::json!({"Data": {"events": ["a", "b", "c"]}}));
        let invocation = d.describe_invoke(&hub, Some(&r));
        assert_eq!(invocation.name, "process telemetry");
        assert_eq!(
            value(&invocation, "messaging.batch.message_count").unwrap(),
            "3"
        );
        assert_eq!(
            value(&invocation, "messaging.consumer.group.name").unwrap(),
            "$Default"
        );

        let blob =
            function(Binding::new("blobTrigger", "blob").with_setting("path", "photos/{name}"));
        let r =
            request(serde_json::json!({"Metadata": {"BlobTrigger": "\"photos/2026/cat.jpg\""}}));
        let invocation = d.describe_invoke(&blob, Some(&r));
        assert_eq!(invocation.name, "fn");
        assert_eq!(invocation.trigger, Trigger::Datasource);
        assert_eq!(invocation.kind, None);
        assert_eq!(
            value(&invocation, "faas.document.collection").unwrap(),
            "photos"
        );
        assert_eq!(
            value(&invocation, "faas.document.operation").unwrap(),
            "insert"
        );
        assert_eq!(
            value(&invocation, "faas.document.name").unwrap(),
            "2026/cat.jpg"
        );

        let cosmos = function(
            Binding::new("cosmosDBTrigger", "docs").with_setting("containerName", "items"),
        );
        let invocation = d.describe_invoke(&cosmos, None);
        assert_eq!(
            value(&invocation, "faas.document.collection").unwrap(),
            "items"
        );
        assert_eq!(
            value(&invocation, "faas.document.operation").unwrap(),
            "edit"
        );

        let timer = function(Binding::timer("timer", "0 */5 * * * *"));
        let r =
            request(serde_json::json!({"Metadata": {"sys": {"UtcNow": "2026-11-26T10:00:00Z"}}}));
        let invocation = d.describe_invoke(&timer, Some(&r));
        assert_eq!(invocation.trigger, Trigger::Timer);
        assert_eq!(value(&invocation, "faas.cron").unwrap(), "0 */5 * * * *");
        assert_eq!(
            value(&invocation, "faas.time").unwrap(),
            "2026-11-26T10:00:00Z"
        );

        let other = function(Binding::new("activityTrigger", "x"));
        assert_eq!(d.describe_invoke(&other, None).trigger, Trigger::Other);
    }

    #[test]
    fn http_trigger_on_the_invoke_protocol_takes_the_callers_parent() {
        let d = describer();
        let f = function(Binding::http("req", Some("orders/{id}")));
        let r = request(serde_json::json!({"Data": {"req": {
            "Url": "https://shop.azurewebsites.net/api/orders/7?token=abc",
            "Method": "POST",
            "Headers": {
                "traceparent": ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"],
                "Authorization": ["Bearer secret"]
            }
        }}}));
        let invocation = d.describe_invoke(&f, Some(&r));
        assert_eq!(invocation.name, "POST /api/orders/{id}");
        assert_eq!(
            value(&invocation, "http.route").unwrap(),
            "/api/orders/{id}"
        );
        assert_eq!(value(&invocation, "url.path").unwrap(), "/api/orders/7");
        assert_eq!(value(&invocation, "url.query").unwrap(), "token=REDACTED");
        assert_eq!(value(&invocation, "url.scheme").unwrap(), "https");
        assert!(
            invocation
                .attributes
                .iter()
                .all(|kv| !kv.value.to_string().contains("secret"))
        );
        let parent = invocation.parent.unwrap();
        assert_eq!(
            parent.span().span_context().span_id().to_string(),
            "b7ad6b7169203331"
        );
    }

    #[test]
    fn configured_privacy_applies_to_forwarded_and_invoke_http() {
        let privacy = HttpPrivacy::from_env(&Env::from_pairs([
            ("FAAS_OTEL_DENY_HEADERS", "user-agent"),
            ("FAAS_OTEL_DENY_QUERY_PARAMS", "session_id"),
        ]));
        let d = describer().with_privacy(privacy);
        let (parts, ()) = http::Request::get("/api/hello?session_id=denied-session&a=1")
            .header("user-agent", "denied-agent")
            .body(())
            .unwrap()
            .into_parts();
        let forwarded = d.describe(&parts);
        assert_eq!(
            value(&forwarded, "url.query").unwrap(),
            "session_id=REDACTED&a=1"
        );
        let f = function(Binding::http("req", Some("orders/{id}")));
        let r = request(serde_json::json!({"Data": {"req": {
            "Url": "https://shop.azurewebsites.net/api/orders/7?session_id=denied-session",
            "Method": "GET",
            "Headers": {"User-Agent": ["denied-agent"]}
        }}}));
        let invoked = d.describe_invoke(&f, Some(&r));
        assert_eq!(value(&invoked, "url.query").unwrap(), "session_id=REDACTED");
        for invocation in [&forwarded, &invoked] {
            assert_eq!(value(invocation, "user_agent.original"), None);
            assert!(
                invocation
                    .attributes
                    .iter()
                    .all(|kv| !kv.value.to_string().contains("denied"))
            );
        }
    }
}
