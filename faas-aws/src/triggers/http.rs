//! HTTP triggers: API Gateway REST (v1) and HTTP API (v2), function URLs, Application Load
//! Balancer.

use std::collections::HashMap;

use faas_core::http_privacy::{REDACTED, decode_query_component};
use faas_core::http_server::{normalize_method, span_name, split_host};
use faas_core::invocation::Trigger;
use faas_core::propagation::{MapExtractor, XrayHeader, has_remote_parent};
use opentelemetry::KeyValue;
use opentelemetry::trace::SpanKind;
use opentelemetry_semantic_conventions::attribute as attr;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::description::{DescribeOptions, TriggerDescription};
use super::json_path::str_at;

/// What [`percent_encode`] escapes: everything but the unreserved characters of RFC 3986.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    RestV1,
    HttpV2,
    FunctionUrl,
    Alb,
}

fn shape(event: &Value) -> Option<Shape> {
    let context = event.get("requestContext").filter(|c| c.is_object())?;
    let method = event.get("httpMethod").is_some_and(Value::is_string);
    if method && context.get("elb").is_some_and(Value::is_object) {
        return Some(Shape::Alb);
    }
    if method && event.get("resource").is_some_and(Value::is_string) {
        return Some(Shape::RestV1);
    }
    if str_at(event, &["version"]) == Some("2.0") && str_at(context, &["http", "method"]).is_some()
    {
        let function_url = str_at(context, &["domainName"])
            .is_some_and(|d| d.contains(".lambda-url.") && d.ends_with(".on.aws"));
        return Some(if function_url {
            Shape::FunctionUrl
        } else {
            Shape::HttpV2
        });
    }
    None
}

/// The request headers, lowercase names: `headers` first, then `multiValueHeaders` (values
/// joined with `,`) for names `headers` does not have.
fn headers(event: &Value) -> HashMap<String, String> {
    let mut map = HashMap::new();
    if let Some(headers) = event.get("headers").and_then(Value::as_object) {
        for (name, value) in headers {
            if let Some(value) = value.as_str() {
                map.insert(name.to_ascii_lowercase(), value.to_owned());
            }
        }
    }
    if let Some(headers) = event.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in headers {
            let name = name.to_ascii_lowercase();
            if map.contains_key(&name) {
                continue;
            }
            let values: Vec<&str> = values
                .as_array()
                .map(|values| values.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !values.is_empty() {
                map.insert(name, values.join(","));
            }
        }
    }
    map
}

pub(super) fn describe(event: &Value, options: &DescribeOptions) -> Option<TriggerDescription> {
    let shape = shape(event)?;
    let context = event.get("requestContext")?;
    let headers = headers(event);
    let privacy = &options.privacy;
    let header = |name: &str| {
        privacy
            .header_allowed(name)
            .then(|| headers.get(name).map(String::as_str))
            .flatten()
    };

    let mut description = TriggerDescription::new(Trigger::Http, Some(SpanKind::Server));
    let attributes = &mut description.attributes;

    let raw_method = match shape {
        Shape::RestV1 | Shape::Alb => str_at(event, &["httpMethod"]),
        Shape::HttpV2 | Shape::FunctionUrl => str_at(context, &["http", "method"]),
    }
    .unwrap_or_default();
    let method = normalize_method(raw_method);
    attributes.push(KeyValue::new(attr::HTTP_REQUEST_METHOD, method.clone()));
    if method != raw_method {
        attributes.push(KeyValue::new(
            attr::HTTP_REQUEST_METHOD_ORIGINAL,
            raw_method.to_owned(),
        ));
    }

    let route = match shape {
        // HTTP APIs sending the 1.0 payload format may say `$default`: not a route.
        Shape::RestV1 => str_at(event, &["resource"]).filter(|r| r.starts_with('/')),
        Shape::HttpV2 => str_at(event, &["routeKey"]).and_then(route_of_route_key),
        Shape::FunctionUrl | Shape::Alb => None,
    };
    if let Some(route) = route {
        attributes.push(KeyValue::new(attr::HTTP_ROUTE, route.to_owned()));
    }

    let path = match shape {
        Shape::RestV1 | Shape::Alb => str_at(event, &["path"]),
        Shape::HttpV2 | Shape::FunctionUrl => str_at(event, &["rawPath"]),
    };
    if let Some(path) = path {
        attributes.push(KeyValue::new(attr::URL_PATH, path.to_owned()));
    }

    let scheme = header("x-forwarded-proto")
        .and_then(|p| p.split(',').next())
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| p == "http" || p == "https")
        .unwrap_or_else(|| "https".to_owned());
    attributes.push(KeyValue::new(attr::URL_SCHEME, scheme));

    let denied_param = |name: &str| privacy.query_param_denied(name);
    let query = match shape {
        Shape::HttpV2 | Shape::FunctionUrl => {
            str_at(event, &["rawQueryString"]).map(|q| redact_raw_query(q, &denied_param))
        }
        // REST: the parameters arrive decoded, so they are encoded again.
        Shape::RestV1 => build_query(event, true, &denied_param),
        // ALB: the parameters arrive as the client sent them (still encoded).
        Shape::Alb => build_query(event, false, &denied_param),
    };
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        attributes.push(KeyValue::new(attr::URL_QUERY, query));
    }

    let context_user_agent = match shape {
        Shape::RestV1 => str_at(context, &["identity", "userAgent"]),
        Shape::HttpV2 | Shape::FunctionUrl => str_at(context, &["http", "userAgent"]),
        Shape::Alb => None,
    };
    // Denying `user-agent` also drops the copy API Gateway keeps in the request context.
    let user_agent = if privacy.header_allowed("user-agent") {
        context_user_agent.or_else(|| header("user-agent"))
    } else {
        None
    };
    if let Some(user_agent) = user_agent.filter(|ua| !ua.is_empty()) {
        attributes.push(KeyValue::new(
            attr::USER_AGENT_ORIGINAL,
            user_agent.to_owned(),
        ));
    }

    let client = match shape {
        Shape::RestV1 => str_at(context, &["identity", "sourceIp"]),
        Shape::HttpV2 | Shape::FunctionUrl => str_at(context, &["http", "sourceIp"]),
        Shape::Alb => header("x-forwarded-for")
            .and_then(|f| f.split(',').next())
            .map(str::trim),
    };
    if let Some(client) = client.filter(|c| !c.is_empty()) {
        attributes.push(KeyValue::new(attr::CLIENT_ADDRESS, client.to_owned()));
    }

    let server = header("host")
        .or_else(|| str_at(context, &["domainName"]))
        .and_then(split_host);
    if let Some((host, port)) = server {
        attributes.push(KeyValue::new(attr::SERVER_ADDRESS, host.to_owned()));
        if let Some(port) = port {
            attributes.push(KeyValue::new(attr::SERVER_PORT, i64::from(port)));
        }
    }

    description.span_name = Some(span_name(&method, route));

    let cx = options.propagation.extract(&MapExtractor(&headers));
    if has_remote_parent(&cx) {
        // An X-Ray parent that is not sampled (PassThrough) would silence the trace: a
        // fresh root linked to it instead. A W3C `traceparent`'s decision is kept.
        let xray = headers
            .get("x-amzn-trace-id")
            .and_then(|h| XrayHeader::parse(h));
        match xray {
            Some(xray) if xray.is_context_of(&cx) && xray.parent().is_none() => {
                description.links.extend(xray.link());
            }
            _ => description.parent = Some(cx),
        }
    }
    Some(description)
}

/// The route of an HTTP API route key: `GET /items/{id}` → `/items/{id}`, `ANY /{proxy+}` →
/// `/{proxy+}`; `$default` (and anything without a path) has none.
fn route_of_route_key(route_key: &str) -> Option<&str> {
    let path = match route_key.split_once(' ') {
        Some((_, path)) => path.trim(),
        None => route_key.trim(),
    };
    path.starts_with('/').then_some(path)
}

/// Replaces the values of denied parameters in a raw query string, keeping everything else as
/// it came.
fn redact_raw_query(query: &str, denied: &dyn Fn(&str) -> bool) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if denied(&decode_query_component(name)) => {
                format!("{name}={REDACTED}")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Rebuilds a query string from `multiValueQueryStringParameters` (or else
/// `queryStringParameters`), in parameter name order, redacting denied values; `encode`
/// percent-encodes names and values.
fn build_query(event: &Value, encode: bool, denied: &dyn Fn(&str) -> bool) -> Option<String> {
    let mut pairs: Vec<(&str, &str)> = if let Some(multi) = event
        .get("multiValueQueryStringParameters")
        .and_then(Value::as_object)
    {
        multi
            .iter()
            .flat_map(|(name, values)| {
                values
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(move |value| (name.as_str(), value))
            })
            .collect()
    } else {
        event
            .get("queryStringParameters")
            .and_then(Value::as_object)?
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.as_str()?)))
            .collect()
    };
    // The event does not keep the parameters' order: name order makes the value stable.
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let query = pairs
        .into_iter()
        .map(|(name, value)| {
            let decoded_name = if encode {
                name.to_owned()
            } else {
                decode_query_component(name)
            };
            let value = if denied(&decoded_name) {
                REDACTED.to_owned()
            } else if encode {
                percent_encode(value)
            } else {
                value.to_owned()
            };
            let name = if encode {
                percent_encode(name)
            } else {
                name.to_owned()
            };
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join("&");
    Some(query)
}

/// Percent-encodes everything but the unreserved characters.
fn percent_encode(input: &str) -> String {
    utf8_percent_encode(input, NOT_UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_keys() {
        assert_eq!(route_of_route_key("GET /a/{id}"), Some("/a/{id}"));
        assert_eq!(route_of_route_key("$default"), None);
        assert_eq!(route_of_route_key("/x"), Some("/x"));
        assert_eq!(route_of_route_key("GET"), None);
    }

    #[test]
    fn hosts() {
        assert_eq!(split_host("a.com"), Some(("a.com", None)));
        assert_eq!(split_host("a.com:8443"), Some(("a.com", Some(8443))));
        assert_eq!(split_host("[::1]:80"), Some(("::1", Some(80))));
        assert_eq!(split_host("::1"), Some(("::1", None)));
        assert_eq!(split_host("a.com:x"), Some(("a.com", None)));
        assert_eq!(split_host(""), None);
        assert_eq!(split_host("[::1"), None);
    }

    #[test]
    fn methods() {
        assert_eq!(normalize_method("GET"), "GET");
        assert_eq!(normalize_method("get"), "GET");
        assert_eq!(normalize_method("PROPFIND"), "_OTHER");
        assert_eq!(normalize_method(""), "_OTHER");
    }

    #[test]
    fn percent_coding() {
        assert_eq!(decode_query_component("a%5Fb+c%zz%"), "a_b c%zz%");
        assert_eq!(percent_encode("a b&c=é"), "a%20b%26c%3D%C3%A9");
    }

    #[test]
    fn raw_query_redaction() {
        let denied = |n: &str| n.eq_ignore_ascii_case("token");
        assert_eq!(
            redact_raw_query("a=1&TOKEN=x&tok%65n=y&token&b=", &denied),
            "a=1&TOKEN=REDACTED&tok%65n=REDACTED&token&b="
        );
    }

    proptest::proptest! {
        #[test]
        fn encoded_query_values_decode_back_and_redaction_keeps_pairs(
            value in "\\PC{0,24}",
            query in "[a-z0-9%+=&]{0,48}",
        ) {
            proptest::prop_assert_eq!(decode_query_component(&percent_encode(&value)), value);
            let denied = |n: &str| n == "token";
            let redacted = redact_raw_query(&query, &denied);
            proptest::prop_assert_eq!(redacted.split('&').count(), query.split('&').count());
        }
    }
}
