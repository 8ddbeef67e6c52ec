//! Trigger detection on realistic events (`tests/fixtures/*.json`): exact trigger, span name,
//! kind, attributes, parent, links and messages; privacy; robustness against malformed input.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use faas_aws::triggers::{
    DENIED_HEADERS, DescribeOptions, EVENTBRIDGE_DETAIL_FIELD, EVENTBRIDGE_RULE_ARN, HttpPrivacy,
    TriggerDescription, describe,
};
use faas_core::invocation::Trigger;
use faas_core::propagation::Propagation;
use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanContext, SpanKind, TraceContextExt};
use opentelemetry_semantic_conventions::attribute as attr;
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `describe` with the default options.
fn describe_default(event: &Value) -> TriggerDescription {
    describe(event, &DescribeOptions::default())
}

/// Whether the description has an attribute `key`.
fn has_key(d: &TriggerDescription, key: &str) -> bool {
    d.attributes.iter().any(|kv| kv.key.as_str() == key)
}

fn options(propagators: &str) -> DescribeOptions {
    DescribeOptions {
        propagation: Propagation::from_names(propagators).unwrap(),
        ..DescribeOptions::default()
    }
}

/// Privacy denying the values of the query parameters `names`.
fn denied_params(names: Vec<String>) -> HttpPrivacy {
    HttpPrivacy {
        denied_query_params: names,
        ..HttpPrivacy::default()
    }
}

const W3C: (&str, &str, bool) = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", true);
const XRAY: (&str, &str, bool) = ("5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", true);
const XRAY_UNSAMPLED: (&str, &str, bool) = (
    "5759e988bd862e3fe1be46a994272793",
    "53995c3f42cd8ad8",
    false,
);
const W3C_2: (&str, &str, bool) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", true);
const W3C_2_UNSAMPLED: (&str, &str, bool) = (
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "00f067aa0ba902b7",
    false,
);

type Ids = (&'static str, &'static str, bool);

fn ids(sc: &SpanContext) -> (String, String, bool) {
    (
        sc.trace_id().to_string(),
        sc.span_id().to_string(),
        sc.is_sampled(),
    )
}

fn owned(ids: Ids) -> (String, String, bool) {
    (ids.0.to_owned(), ids.1.to_owned(), ids.2)
}

fn sorted(mut attributes: Vec<KeyValue>) -> Vec<KeyValue> {
    attributes.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    attributes
}

fn kv(key: &'static str, value: &str) -> KeyValue {
    KeyValue::new(key, value.to_owned())
}

fn count(n: i64) -> KeyValue {
    KeyValue::new(attr::MESSAGING_BATCH_MESSAGE_COUNT, n)
}

fn messaging(system: &str, destination: Option<&str>) -> Vec<KeyValue> {
    let mut attributes = vec![
        kv(attr::MESSAGING_SYSTEM, system),
        kv(attr::MESSAGING_OPERATION_TYPE, "process"),
        kv(attr::MESSAGING_OPERATION_NAME, "process"),
    ];
    if let Some(destination) = destination {
        attributes.push(kv(attr::MESSAGING_DESTINATION_NAME, destination));
    }
    attributes
}

/// The attributes of a data source event: collection and operation, the document's name
/// when it has one, the time, and the batch count when there are several records.
fn document(
    (collection, operation): (&str, &str),
    name: Option<&str>,
    time: &str,
    records: Option<i64>,
) -> Vec<KeyValue> {
    let mut attributes = vec![
        kv(attr::FAAS_DOCUMENT_COLLECTION, collection),
        kv(attr::FAAS_DOCUMENT_OPERATION, operation),
    ];
    attributes.extend(name.map(|name| kv(attr::FAAS_DOCUMENT_NAME, name)));
    attributes.push(kv(attr::FAAS_DOCUMENT_TIME, time));
    attributes.extend(records.map(count));
    attributes
}

#[derive(Clone)]
struct Case {
    fixture: &'static str,
    options: DescribeOptions,
    trigger: Trigger,
    span_name: Option<&'static str>,
    kind: Option<SpanKind>,
    attributes: Vec<KeyValue>,
    parent: Option<Ids>,
    links: Vec<Ids>,
    /// (id, link) per message.
    messages: Vec<(&'static str, Option<Ids>)>,
}

impl Case {
    fn new(fixture: &'static str, trigger: Trigger) -> Self {
        Self {
            fixture,
            options: DescribeOptions::default(),
            trigger,
            span_name: None,
            kind: None,
            attributes: Vec::new(),
            parent: None,
            links: Vec::new(),
            messages: Vec::new(),
        }
    }
    /// An HTTP request: a SERVER span named `name`.
    fn http(fixture: &'static str, name: &'static str, attributes: Vec<KeyValue>) -> Self {
        Self::new(fixture, Trigger::Http)
            .name(name)
            .kind(SpanKind::Server)
            .attributes(attributes)
    }
    /// Messages: a CONSUMER span named `name`, a link per message that has a context.
    fn consumer(
        fixture: &'static str,
        name: &'static str,
        attributes: Vec<KeyValue>,
        messages: Vec<(&'static str, Option<Ids>)>,
    ) -> Self {
        Self::new(fixture, Trigger::PubSub)
            .name(name)
            .kind(SpanKind::Consumer)
            .attributes(attributes)
            .messages(messages)
    }
    /// A timer or a data source: an unnamed SERVER span.
    fn server(fixture: &'static str, trigger: Trigger, attributes: Vec<KeyValue>) -> Self {
        Self::new(fixture, trigger)
            .kind(SpanKind::Server)
            .attributes(attributes)
    }
    fn options(mut self, options: DescribeOptions) -> Self {
        self.options = options;
        self
    }
    fn name(mut self, name: &'static str) -> Self {
        self.span_name = Some(name);
        self
    }
    fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = Some(kind);
        self
    }
    fn attributes(mut self, attributes: Vec<KeyValue>) -> Self {
        self.attributes = attributes;
        self
    }
    fn parent(mut self, parent: Ids) -> Self {
        self.parent = Some(parent);
        self
    }
    fn messages(mut self, messages: Vec<(&'static str, Option<Ids>)>) -> Self {
        self.links = messages.iter().filter_map(|(_, link)| *link).collect();
        self.messages = messages;
        self
    }

    fn check(&self) {
        let label = self.fixture;
        let d = describe(&fixture(self.fixture), &self.options);
        assert_eq!(d.trigger, self.trigger, "{label}: trigger");
        assert_eq!(d.span_name.as_deref(), self.span_name, "{label}: span name");
        assert_eq!(d.kind, self.kind, "{label}: kind");
        assert_eq!(
            sorted(d.attributes.clone()),
            sorted(self.attributes.clone()),
            "{label}: attributes"
        );
        let parent = d.parent.as_ref().map(|cx| ids(cx.span().span_context()));
        assert_eq!(parent, self.parent.map(owned), "{label}: parent");
        if let Some(cx) = &d.parent {
            assert!(cx.span().span_context().is_remote(), "{label}: remote");
        }
        let links: Vec<_> = d.links.iter().map(|l| ids(&l.span_context)).collect();
        let expected: Vec<_> = self.links.iter().copied().map(owned).collect();
        assert_eq!(links, expected, "{label}: links");
        assert_eq!(d.messages.len(), self.messages.len(), "{label}: messages");
        for (message, (id, link)) in d.messages.iter().zip(&self.messages) {
            assert_eq!(message.id.as_deref(), Some(*id), "{label}: message id");
            assert_eq!(
                message.attributes,
                vec![kv(attr::MESSAGING_MESSAGE_ID, id)],
                "{label}: message attributes"
            );
            let got = message.link.as_ref().map(|l| ids(&l.span_context));
            assert_eq!(got, link.map(owned), "{label}: message {id} link");
        }
    }
}

/// The attributes of an HTTP request.
struct Http {
    method: &'static str,
    route: Option<&'static str>,
    path: &'static str,
    scheme: &'static str,
    query: Option<&'static str>,
    user_agent: &'static str,
    client: &'static str,
    server: &'static str,
}

impl Http {
    fn attributes(&self) -> Vec<KeyValue> {
        let mut attributes = vec![
            kv(attr::HTTP_REQUEST_METHOD, self.method),
            kv(attr::URL_PATH, self.path),
            kv(attr::URL_SCHEME, self.scheme),
            kv(attr::USER_AGENT_ORIGINAL, self.user_agent),
            kv(attr::CLIENT_ADDRESS, self.client),
            kv(attr::SERVER_ADDRESS, self.server),
        ];
        if let Some(route) = self.route {
            attributes.push(kv(attr::HTTP_ROUTE, route));
        }
        if let Some(query) = self.query {
            attributes.push(kv(attr::URL_QUERY, query));
        }
        attributes
    }
}

fn cases() -> Vec<Case> {
    let v1 = Http {
        method: "GET",
        route: Some("/items/{id}"),
        path: "/items/42",
        scheme: "https",
        query: Some("q=rust%20%26%20otel&session_id=REDACTED&token=REDACTED"),
        user_agent: "curl/8.5.0",
        client: "203.0.113.7",
        server: "api.example.com",
    }
    .attributes();
    let v1_options = |propagators: &str| DescribeOptions {
        privacy: denied_params(vec!["session_id".into()]),
        ..options(propagators)
    };
    let v2 = Http {
        method: "POST",
        route: Some("/orders/{orderId}"),
        path: "/orders/17",
        scheme: "https",
        query: Some("expand=lines&access_token=REDACTED&X-Amz-Signature=REDACTED&page=3"),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64)",
        client: "198.51.100.23",
        server: "orders.example.com",
    }
    .attributes();
    let alb = Http {
        method: "GET",
        route: None,
        path: "/lambda",
        scheme: "http",
        query: Some("api_key=REDACTED&name=caf%C3%A9&query=1234ABCD"),
        user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                     (KHTML, like Gecko) Chrome/71.0.3578.98 Safari/537.36",
        client: "72.12.164.125",
        server: "lambda-alb-123578498.us-east-1.elb.amazonaws.com",
    }
    .attributes();
    let sqs_ids = [
        "059f36b4-87a3-44ab-83d2-661975830a7d",
        "2e1424d4-f796-459a-8184-9c92662be6da",
        "c80e8021-a70a-42c7-a470-796e1186f753",
    ];
    let mut sqs = messaging("aws_sqs", Some("orders"));
    sqs.extend([count(3), kv(attr::CLOUD_REGION, "us-east-2")]);
    let mut sqs_multi = messaging("aws_sqs", None);
    sqs_multi.extend([count(2), kv(attr::CLOUD_REGION, "us-east-1")]);
    let mut sns = messaging("aws.sns", Some("sns-lambda"));
    // One notification per invocation: not a batch, no message count.
    sns.extend([kv(
        attr::AWS_SNS_TOPIC_ARN,
        "arn:aws:sns:us-east-1:123456789012:sns-lambda",
    )]);
    let mut eventbridge = messaging("aws.eventbridge", Some("com.example.orders"));
    eventbridge.push(kv(
        attr::MESSAGING_MESSAGE_ID,
        "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    ));
    let mut kinesis = messaging("aws_kinesis", Some("lambda-stream"));
    kinesis.push(count(2));

    let apigw_v1 = Case::http("apigw-v1.json", "GET /items/{id}", v1);
    let apigw_v2 = Case::http("apigw-v2.json", "POST /orders/{orderId}", v2);
    let alb = Case::http("alb.json", "GET", alb);
    let sqs_batch = Case::consumer(
        "sqs-batch.json",
        "orders process",
        sqs,
        vec![
            (sqs_ids[0], Some(W3C)),
            (sqs_ids[1], Some(XRAY_UNSAMPLED)),
            (sqs_ids[2], None),
        ],
    );

    vec![
        apigw_v1
            .clone()
            .options(v1_options("tracecontext,baggage"))
            .parent(W3C),
        // The last propagator that finds a parent wins.
        apigw_v1
            .options(v1_options("tracecontext,xray"))
            .parent(XRAY),
        // Only an X-Ray header: no parent with the default propagators ...
        apigw_v2.clone(),
        // ... the X-Ray parent when configured.
        apigw_v2.options(options("xray")).parent(XRAY),
        Case::http(
            "function-url.json",
            "PUT",
            Http {
                method: "PUT",
                route: None,
                path: "/my/path",
                scheme: "https",
                query: Some("parameter1=value1&parameter1=value2&signature=REDACTED"),
                user_agent: "python-requests/2.31.0",
                client: "192.0.2.44",
                server: "abcdefghijklmnopqrstuvwxyz0123456.lambda-url.us-east-1.on.aws",
            }
            .attributes(),
        )
        .parent(W3C_2_UNSAMPLED),
        alb.clone().parent(W3C),
        // ALB's own X-Amzn-Trace-Id has no `Parent=`: not a parent.
        alb.options(options("xray")),
        sqs_batch.clone(),
        // Message links do not depend on the configured propagators ...
        sqs_batch.clone().options(options("xray")),
        // ... but `none` disables them.
        sqs_batch
            .options(options("none"))
            .messages(sqs_ids.iter().map(|id| (*id, None)).collect()),
        Case::consumer(
            "sqs-multiple-sources.json",
            "multiple_sources process",
            sqs_multi,
            vec![
                ("19dd0b57-b21e-4ac1-bd88-01bbb068cb78", None),
                ("a8c1bd55-8a7b-4d1c-9b53-3f0e51f4a3c2", None),
            ],
        ),
        Case::consumer(
            "sns.json",
            "sns-lambda process",
            sns,
            vec![("95df01b4-ee98-5cb9-9903-4c221d41eb5e", Some(W3C_2))],
        ),
        Case::consumer(
            "eventbridge.json",
            "com.example.orders process",
            eventbridge,
            vec![("6a7e8feb-b491-4cf7-a9f1-bf3703467718", Some(W3C))],
        ),
        Case::server(
            "scheduled.json",
            Trigger::Timer,
            vec![
                kv(attr::FAAS_TIME, "2015-10-08T16:53:06Z"),
                kv(
                    EVENTBRIDGE_RULE_ARN,
                    "arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule",
                ),
            ],
        ),
        Case::consumer(
            "kinesis.json",
            "lambda-stream process",
            kinesis,
            vec![
                (
                    "49590338271490256608559692538361571095921575989136588898",
                    None,
                ),
                (
                    "49590338271490256608559692540925702759324208523137515618",
                    None,
                ),
            ],
        ),
        Case::server(
            "s3-put.json",
            Trigger::Datasource,
            document(
                ("photos-bucket", "insert"),
                Some("2026/my summer photo!.jpg"),
                "2026-08-01T12:00:00.000Z",
                None,
            ),
        ),
        Case::server(
            "s3-delete.json",
            Trigger::Datasource,
            document(
                ("archive-bucket", "delete"),
                Some("logs/2026-08-01.gz"),
                "2026-08-02T08:30:15.123Z",
                Some(2),
            ),
        ),
        Case::server(
            "dynamodb.json",
            Trigger::Datasource,
            document(
                ("ExampleTableWithStream", "insert"),
                None,
                "2016-11-18T20:09:00Z",
                Some(3),
            ),
        ),
        Case::new("direct-invoke.json", Trigger::Other),
        Case::new("cloudwatch-logs.json", Trigger::Other),
    ]
}

#[test]
fn fixtures_are_described_exactly() {
    let cases = cases();
    for case in &cases {
        case.check();
    }
    // Every event fixture but the malformed list is covered (sub-directories hold other
    // fixtures, e.g. `telemetry/` for the extension's platform events).
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if entry.file_type().unwrap().is_file() && name != "malformed.json" {
            assert!(cases.iter().any(|c| c.fixture == name), "{name} untested");
        }
    }
}

fn assert_other(d: &TriggerDescription, label: &str) {
    assert_eq!(d.trigger, Trigger::Other, "{label}");
    assert_eq!(d.span_name, None, "{label}");
    assert_eq!(d.kind, None, "{label}");
    assert!(d.attributes.is_empty(), "{label}");
    assert!(d.parent.is_none(), "{label}");
    assert!(d.links.is_empty(), "{label}");
    assert!(d.messages.is_empty(), "{label}");
}

#[test]
fn malformed_shapes_are_other() {
    let Value::Array(events) = fixture("malformed.json") else {
        panic!("malformed.json is a list");
    };
    assert!(events.len() > 20);
    for event in &events {
        for propagators in ["tracecontext,baggage", "xray", "none"] {
            let d = describe(event, &options(propagators));
            assert_other(&d, &event.to_string());
        }
    }
}

#[test]
fn sqs_link_keeps_the_trace_state() {
    let d = describe_default(&fixture("sqs-batch.json"));
    let state = d.links[0].span_context.trace_state();
    assert_eq!(state.header(), "congo=t61rcWkgMzE");
    assert!(d.links[0].span_context.is_remote());
}

#[test]
fn sqs_prefers_w3c_and_falls_back_to_xray_when_w3c_is_invalid() {
    let mut event = fixture("sqs-batch.json");
    // Record 0: valid W3C and X-Ray: W3C wins.
    event["Records"][0]["attributes"]["AWSTraceHeader"] =
        json!("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
    // Record 2: malformed W3C, valid X-Ray: X-Ray.
    event["Records"][2]["attributes"]["AWSTraceHeader"] =
        json!("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
    let d = describe_default(&event);
    let links: Vec<_> = d
        .messages
        .iter()
        .map(|m| m.link.as_ref().map(|l| ids(&l.span_context)))
        .collect();
    assert_eq!(
        links,
        vec![
            Some(owned(W3C)),
            Some(owned(XRAY_UNSAMPLED)),
            Some(owned(XRAY))
        ]
    );
    assert_eq!(d.links.len(), 3);
}

#[test]
fn sqs_records_without_a_source_arn() {
    let event = json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m"}]});
    let d = describe_default(&event);
    assert_eq!(d.trigger, Trigger::PubSub);
    assert_eq!(d.span_name.as_deref(), Some("process"));
    let mut event = fixture("sqs-multiple-sources.json");
    event["Records"][1]
        .as_object_mut()
        .unwrap()
        .remove("eventSourceARN");
    let d = describe_default(&event);
    assert_eq!(d.span_name.as_deref(), Some("multiple_sources process"));
    assert!(!has_key(&d, attr::MESSAGING_DESTINATION_NAME));
}

#[test]
fn sns_ignores_non_string_trace_attributes() {
    let mut event = fixture("sns.json");
    event["Records"][0]["Sns"]["MessageAttributes"]["traceparent"]["Type"] = json!("Binary");
    let d = describe_default(&event);
    assert!(d.links.is_empty());
    assert!(d.messages[0].link.is_none());
}

#[test]
fn eventbridge_falls_back_to_the_xray_trace_header() {
    let mut event = fixture("eventbridge.json");
    event["detail"]
        .as_object_mut()
        .unwrap()
        .remove(EVENTBRIDGE_DETAIL_FIELD);
    assert!(describe_default(&event).links.is_empty());
    event["trace-header"] =
        json!("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
    let d = describe_default(&event);
    let links: Vec<_> = d.links.iter().map(|l| ids(&l.span_context)).collect();
    assert_eq!(links, vec![owned(XRAY)]);
    assert!(d.parent.is_none(), "messages are linked, never parented");
}

#[test]
fn eventbridge_rule_attribute_uses_the_project_prefix() {
    assert!(EVENTBRIDGE_RULE_ARN.starts_with(faas_core::attributes::PREFIX));
    assert_eq!(EVENTBRIDGE_DETAIL_FIELD, "_faas_otel");
}

#[test]
fn headers_are_case_insensitive_and_multi_value_headers_count() {
    let mut event = fixture("apigw-v1.json");
    event["headers"] = json!(null);
    event["multiValueHeaders"] = json!({
        "TraceParent": ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
        "HOST": ["api.example.com:8443"],
    });
    let d = describe_default(&event);
    let parent = d.parent.as_ref().map(|cx| ids(cx.span().span_context()));
    assert_eq!(parent, Some(owned(W3C_2)));
    let attributes = sorted(d.attributes);
    assert!(attributes.contains(&kv(attr::SERVER_ADDRESS, "api.example.com")));
    assert!(attributes.contains(&KeyValue::new(attr::SERVER_PORT, 8443_i64)));
}

#[test]
fn invalid_traceparent_gives_no_parent() {
    let mut event = fixture("alb.json");
    event["headers"]["traceparent"] =
        json!("00-00000000000000000000000000000000-b7ad6b7169203331-01");
    assert!(describe_default(&event).parent.is_none());
    assert!(describe(&event, &options("none")).parent.is_none());
}

#[test]
fn methods_are_normalised() {
    let mut event = fixture("alb.json");
    event["httpMethod"] = json!("PROPFIND");
    let d = describe_default(&event);
    assert_eq!(d.span_name.as_deref(), Some("HTTP"));
    assert!(
        d.attributes
            .contains(&kv(attr::HTTP_REQUEST_METHOD, "_OTHER"))
    );
    assert!(
        d.attributes
            .contains(&kv(attr::HTTP_REQUEST_METHOD_ORIGINAL, "PROPFIND"))
    );

    let mut event = fixture("apigw-v1.json");
    event["httpMethod"] = json!("get");
    let d = describe_default(&event);
    assert_eq!(d.span_name.as_deref(), Some("GET /items/{id}"));
    assert!(d.attributes.contains(&kv(attr::HTTP_REQUEST_METHOD, "GET")));
    assert!(
        d.attributes
            .contains(&kv(attr::HTTP_REQUEST_METHOD_ORIGINAL, "get"))
    );
}

#[test]
fn http_api_payload_1_0_default_route_is_not_a_route() {
    let mut event = fixture("apigw-v1.json");
    event["resource"] = json!("$default");
    event["version"] = json!("1.0");
    let d = describe_default(&event);
    assert_eq!(d.trigger, Trigger::Http);
    assert_eq!(d.span_name.as_deref(), Some("GET"));
    assert!(!has_key(&d, attr::HTTP_ROUTE));
}

#[test]
fn sns_batch_count_only_for_several_records() {
    let mut event = fixture("sns.json");
    let record = event["Records"][0].clone();
    event["Records"].as_array_mut().unwrap().push(record);
    let d = describe_default(&event);
    assert!(d.attributes.contains(&count(2)));
    assert_eq!(d.links.len(), 2);
}

#[test]
fn http_api_default_route_has_no_route() {
    let mut event = fixture("apigw-v2.json");
    event["routeKey"] = json!("$default");
    event["rawQueryString"] = json!("");
    let d = describe_default(&event);
    assert_eq!(d.span_name.as_deref(), Some("POST"));
    assert!(
        !d.attributes
            .iter()
            .any(|kv| kv.key.as_str() == attr::HTTP_ROUTE || kv.key.as_str() == attr::URL_QUERY)
    );
}

/// Everything a description exposes, as text.
fn dump(d: &TriggerDescription) -> String {
    format!(
        "{:?} {:?} {:?} {:?}",
        d.span_name, d.attributes, d.messages, d.links
    )
}

#[test]
fn secrets_never_reach_an_attribute() {
    let strict = DescribeOptions {
        privacy: denied_params(vec!["session_id".into()]),
        ..DescribeOptions::default()
    };
    for name in [
        "apigw-v1.json",
        "apigw-v2.json",
        "function-url.json",
        "alb.json",
    ] {
        let event = fixture(name);
        assert!(event.to_string().contains("SECRET"), "{name} has secrets");
        let d = describe(&event, &strict);
        let text = dump(&d);
        assert!(!text.contains("SECRET"), "{name}: {text}");
        for header in DENIED_HEADERS {
            assert!(
                !text.to_ascii_lowercase().contains(header),
                "{name}: {text}"
            );
        }
        assert!(text.contains("REDACTED"), "{name}: {text}");
    }
}

#[test]
fn configured_denied_headers_drop_their_attributes() {
    let deny = |headers: &[&str]| DescribeOptions {
        privacy: HttpPrivacy {
            denied_headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            ..HttpPrivacy::default()
        },
        ..DescribeOptions::default()
    };
    let keys = |d: &TriggerDescription| -> Vec<String> {
        d.attributes.iter().map(|kv| kv.key.to_string()).collect()
    };

    // `user-agent` denied: not even the request context's copy.
    for name in [
        "apigw-v1.json",
        "apigw-v2.json",
        "function-url.json",
        "alb.json",
    ] {
        let d = describe(&fixture(name), &deny(&["user-agent"]));
        assert!(
            !keys(&d).contains(&attr::USER_AGENT_ORIGINAL.to_owned()),
            "{name}"
        );
    }
    // `x-forwarded-for` denied: ALB has no client address left.
    let d = describe(&fixture("alb.json"), &deny(&["x-forwarded-for"]));
    assert!(!keys(&d).contains(&attr::CLIENT_ADDRESS.to_owned()));
    // `host` denied: the API Gateway domain name instead.
    let d = describe(&fixture("apigw-v1.json"), &deny(&["host"]));
    assert!(d.attributes.contains(&kv(
        attr::SERVER_ADDRESS,
        "1234567890.execute-api.us-east-1.amazonaws.com"
    )));
    // `x-forwarded-proto` denied: the default scheme.
    let d = describe(&fixture("alb.json"), &deny(&["X-Forwarded-Proto"]));
    assert!(d.attributes.contains(&kv(attr::URL_SCHEME, "https")));
}

#[test]
fn denied_query_parameters_are_redacted_case_insensitively_and_encoded_names_too() {
    let mut event = fixture("apigw-v2.json");
    event["rawQueryString"] = json!("Api_Key=a&x%2Damz%2Dcredential=b&Session=c&keep=d&flag");
    let options = DescribeOptions {
        privacy: denied_params(vec!["session".into()]),
        ..DescribeOptions::default()
    };
    let d = describe(&event, &options);
    assert!(d.attributes.contains(&kv(
        attr::URL_QUERY,
        "Api_Key=REDACTED&x%2Damz%2Dcredential=REDACTED&Session=REDACTED&keep=d&flag"
    )));
}

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap()).unwrap()
    }
}

fn random_value(rng: &mut Rng) -> Value {
    const STRINGS: &[&str] = &[
        "",
        "aws:sqs",
        "aws:sns",
        "aws:s3",
        "aws:dynamodb",
        "aws:kinesis",
        "2.0",
        "$default",
        "GET",
        "GET /x",
        "arn:aws:sqs:us-east-1:1:",
        "arn:aws:kinesis:r:1:stream/",
        "arn:aws:dynamodb:r:1:table/",
        ":::::",
        "%",
        "%zz%4",
        "a=b&=&&=c&%",
        "[::1",
        "[]:x",
        ":",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-zz",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
        "Root=;Parent=;Sampled=",
        "é\u{0}\u{10FFFF}",
        "Scheduled Event",
        "aws.events",
    ];
    match rng.below(10) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(rng.next() as i64),
        3 => json!(f64::from(u32::try_from(rng.below(1 << 20)).unwrap()) * 1e5 - 1e6),
        4 => json!([]),
        5 => json!({}),
        6 => json!([random_value(rng)]),
        _ => json!(STRINGS[rng.below(STRINGS.len())]),
    }
}

/// Replaces, removes or truncates one node somewhere in `value` (`value` itself only when
/// `replaceable`).
fn mutate(value: &mut Value, rng: &mut Rng, replaceable: bool) {
    let descend = !replaceable || rng.below(4) != 0;
    match value {
        Value::Object(map) if !map.is_empty() && descend => {
            let key = map.keys().nth(rng.below(map.len())).cloned().unwrap();
            match rng.below(6) {
                0 => {
                    map.remove(&key);
                }
                1 => {
                    map.insert(key, random_value(rng));
                }
                _ => mutate(map.get_mut(&key).unwrap(), rng, true),
            }
        }
        Value::Array(items) if !items.is_empty() && descend => {
            let i = rng.below(items.len());
            match rng.below(6) {
                0 => {
                    items.remove(i);
                }
                1 => {
                    let copy = items[i].clone();
                    items.push(copy);
                }
                _ => mutate(&mut items[i], rng, true),
            }
        }
        Value::String(s) if rng.below(2) == 0 => {
            let cut = rng.below(s.len() + 1);
            let cut = (0..=cut)
                .rev()
                .find(|&c| s.is_char_boundary(c))
                .unwrap_or(0);
            s.truncate(cut);
        }
        _ => *value = random_value(rng),
    }
}

#[test]
fn random_mutations_of_the_fixtures_never_panic_and_never_leak() {
    let names = [
        "apigw-v1.json",
        "apigw-v2.json",
        "function-url.json",
        "alb.json",
        "sqs-batch.json",
        "sqs-multiple-sources.json",
        "sns.json",
        "eventbridge.json",
        "scheduled.json",
        "kinesis.json",
        "s3-put.json",
        "s3-delete.json",
        "dynamodb.json",
        "direct-invoke.json",
        "cloudwatch-logs.json",
    ];
    let fixtures: Vec<Value> = names.iter().map(|n| fixture(n)).collect();
    let strict = DescribeOptions {
        propagation: Propagation::from_names("tracecontext,xray").unwrap(),
        privacy: denied_params(vec!["session_id".into()]),
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut recognised = 0;
    for round in 0..600 {
        let i = rng.below(fixtures.len());
        let mut event = fixtures[i].clone();
        for _ in 0..=rng.below(4) {
            // The event itself is replaced in one round in 20.
            let replace_root = rng.below(20) == 0;
            mutate(&mut event, &mut rng, replace_root);
        }
        let d = describe(&event, &strict);
        let label = format!("round {round} on {}: {event}", names[i]);
        if d.trigger == Trigger::Other {
            assert_other(&d, &label);
        } else {
            recognised += 1;
            assert!(d.kind.is_some(), "{label}");
        }
        assert!(!dump(&d).contains("SECRET"), "{label}: {}", dump(&d));
        assert!(d.links.len() <= d.messages.len(), "{label}");
        if let Some(cx) = &d.parent {
            assert!(cx.span().span_context().is_valid(), "{label}");
        }
    }
    // Enough mutated events are still recognised for the detail paths to be exercised.
    assert!(recognised > 150, "only {recognised} recognised");
}
