//! The default describer: an HTTP request as an `http` invocation, by the HTTP server
//! conventions.

use opentelemetry::KeyValue;

use crate::attributes::semconv::attribute as attr;
use crate::invocation::{Invocation, Trigger};

/// Request headers never read into an attribute. The default describer reads only `host`,
/// `user-agent`, `x-forwarded-proto` and `x-forwarded-for`; this list documents (and tests
/// check) that credentials are never among them.
pub const DENIED_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "proxy-authorization",
];

/// The value that replaces a redacted query parameter's value in `url.query`.
pub const REDACTED: &str = "REDACTED";

/// Query parameters whose values are always redacted in `url.query` (ASCII case-insensitive,
/// after percent-decoding the name): common credentials and signed-URL parameters.
pub const REDACTED_QUERY_PARAMS: &[&str] = &[
    "token",
    "access_token",
    "api_key",
    "apikey",
    "password",
    "secret",
    "signature",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "sig",
    "X-Goog-Signature",
];

/// The methods the HTTP conventions call "known"; any other becomes `_OTHER`.
const KNOWN_METHODS: &[&str] = &[
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "QUERY",
];

/// The default describer: [`describe_request_with_route`] without a route (a tower layer
/// does not know the router's routes; provider crates that do pass them).
pub fn describe_request(parts: &http::request::Parts) -> Invocation {
    describe_request_with_route(parts, None)
}

/// An `http` invocation, SERVER, named by [`span_name`] and attributed by
/// [`http_attributes`].
pub fn describe_request_with_route(
    parts: &http::request::Parts,
    route: Option<&str>,
) -> Invocation {
    Invocation::new(span_name(parts.method.as_str(), route), Trigger::Http)
        .with_attributes(http_attributes(parts, route))
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
/// URI's authority).
pub fn http_attributes(parts: &http::request::Parts, route: Option<&str>) -> Vec<KeyValue> {
    let header = |name: &str| {
        debug_assert!(!DENIED_HEADERS.contains(&name));
        parts.headers.get(name).and_then(|v| v.to_str().ok())
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
        attributes.push(KeyValue::new(attr::URL_QUERY, redact_query(query)));
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

fn normalize_method(method: &str) -> String {
    if KNOWN_METHODS.contains(&method) {
        return method.to_owned();
    }
    KNOWN_METHODS
        .iter()
        .find(|known| known.eq_ignore_ascii_case(method))
        .map_or_else(|| "_OTHER".to_owned(), |known| (*known).to_owned())
}

fn split_host(value: &str) -> Option<(&str, Option<u16>)> {
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

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _))
                if REDACTED_QUERY_PARAMS
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(&percent_decode(name))) =>
            {
                format!("{name}={REDACTED}")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
