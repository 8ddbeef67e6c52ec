//! The default describer: an HTTP request as an `http` invocation, by the HTTP server
//! conventions.

use opentelemetry::KeyValue;

use crate::attributes::semconv::attribute as attr;
use crate::http_privacy::HttpPrivacy;
use crate::invocation::{Invocation, Trigger};

/// The methods the HTTP conventions call "known"; any other becomes `_OTHER`.
const KNOWN_METHODS: &[&str] = &[
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "QUERY",
];

/// The default describer: [`describe_request_with_route`] without a route (a tower layer
/// does not know the router's routes; provider crates that do pass them) and with the
/// built-in privacy lists only ([`HttpServerLayer`](super::HttpServerLayer) uses the
/// configured ones).
pub fn describe_request(parts: &http::request::Parts) -> Invocation {
    describe_request_with_route(parts, None, &HttpPrivacy::default())
}

/// An `http` invocation, SERVER, named by [`span_name`] and attributed by
/// [`http_attributes`].
pub fn describe_request_with_route(
    parts: &http::request::Parts,
    route: Option<&str>,
    privacy: &HttpPrivacy,
) -> Invocation {
    Invocation::new(span_name(parts.method.as_str(), route), Trigger::Http)
        .with_attributes(http_attributes(parts, route, privacy))
}

/// The HTTP server span name: `{method} {route}` when the route is known, `{method}`
/// otherwise; an unknown method is `HTTP` (`HTTP {route}`).
pub fn span_name(method: &str, route: Option<&str>) -> String {
    let method = normalize_method(method);
    let method = if method == "_OTHER" {
        "HTTP"
    } else {
        method.as_str()
    };
    match route {
        Some(route) => format!("{method} {route}"),
        None => method.to_owned(),
    }
}

/// The HTTP server attributes of a request head: `http.request.method` (and
/// `http.request.method_original` for an unknown method), `http.route` when given,
/// `url.path`, `url.query` (sensitive values redacted), `url.scheme` (`x-forwarded-proto`
/// when it says `http` or `https`, then the URI's scheme, then `http`),
/// `network.protocol.version`, `user_agent.original`, `client.address` (first
/// `x-forwarded-for` entry), `server.address` and `server.port` (the `host` header, then the
/// URI's authority). Headers `privacy` denies are not read (the attribute derived from one is
/// left out, or falls back as described) and the values of its denied query parameters are
/// redacted.
pub fn http_attributes(
    parts: &http::request::Parts,
    route: Option<&str>,
    privacy: &HttpPrivacy,
) -> Vec<KeyValue> {
    let header = |name: &str| {
        privacy
            .header_allowed(name)
            .then(|| parts.headers.get(name).and_then(|v| v.to_str().ok()))
            .flatten()
    };
    let mut attributes = Vec::with_capacity(10);
    let raw_method = parts.method.as_str();
    let method = normalize_method(raw_method);
    if method != raw_method {
        attributes.push(KeyValue::new(
            attr::HTTP_REQUEST_METHOD_ORIGINAL,
            raw_method.to_owned(),
        ));
    }
    attributes.push(KeyValue::new(attr::HTTP_REQUEST_METHOD, method));
    if let Some(route) = route {
        attributes.push(KeyValue::new(attr::HTTP_ROUTE, route.to_owned()));
    }
    attributes.push(KeyValue::new(attr::URL_PATH, parts.uri.path().to_owned()));
    if let Some(query) = parts.uri.query().filter(|q| !q.is_empty()) {
        attributes.push(KeyValue::new(attr::URL_QUERY, privacy.redact_query(query)));
    }
    let scheme = header("x-forwarded-proto")
        .and_then(|p| p.split(',').next())
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| p == "http" || p == "https")
        .or_else(|| parts.uri.scheme_str().map(str::to_owned))
        .unwrap_or_else(|| "http".to_owned());
    attributes.push(KeyValue::new(attr::URL_SCHEME, scheme));
    let version = match parts.version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "1.1",
    };
    attributes.push(KeyValue::new(attr::NETWORK_PROTOCOL_VERSION, version));
    if let Some(user_agent) = header("user-agent").filter(|ua| !ua.is_empty()) {
        attributes.push(KeyValue::new(
            attr::USER_AGENT_ORIGINAL,
            user_agent.to_owned(),
        ));
    }
    if let Some(client) = header("x-forwarded-for")
        .and_then(|f| f.split(',').next())
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        attributes.push(KeyValue::new(attr::CLIENT_ADDRESS, client.to_owned()));
    }
    let server = header("host").and_then(split_host).or_else(|| {
        parts.uri.host().map(|h| {
            (
                h.trim_matches(|c| c == '[' || c == ']'),
                parts.uri.port_u16(),
            )
        })
    });
    if let Some((host, port)) = server {
        attributes.push(KeyValue::new(attr::SERVER_ADDRESS, host.to_owned()));
        if let Some(port) = port {
            attributes.push(KeyValue::new(attr::SERVER_PORT, i64::from(port)));
        }
    }
    attributes
}

/// `GET`, … as is; a known method in another case in canonical upper case; anything else
/// `_OTHER` (the caller then records the original in `http.request.method_original`).
pub fn normalize_method(method: &str) -> String {
    if KNOWN_METHODS.contains(&method) {
        return method.to_owned();
    }
    KNOWN_METHODS
        .iter()
        .find(|known| known.eq_ignore_ascii_case(method))
        .map_or_else(|| "_OTHER".to_owned(), |known| (*known).to_owned())
}

/// `host[:port]` (a `Host` header, `[IPv6]:port` too) → host and port; `None` for an empty
/// host. A port that is not a number is left out.
pub fn split_host(value: &str) -> Option<(&str, Option<u16>)> {
    let value = value.trim();
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (host, rest) = rest.split_once(']')?;
        (host, rest.strip_prefix(':'))
    } else {
        match value.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port)),
            _ => (value, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some((host, port.and_then(|p| p.parse().ok())))
}
