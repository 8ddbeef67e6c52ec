//! [`HttpPrivacy`]: what HTTP instrumentation never records, on every provider.
//!
//! Built-in: the credential headers of [`DENIED_HEADERS`] are never read into an attribute and
//! the values of [`REDACTED_QUERY_PARAMS`] are replaced by [`REDACTED`] in `url.query`.
//! Configured (part of [`TelemetryConfig`](crate::config::TelemetryConfig)):
//! `FAAS_OTEL_DENY_HEADERS` adds header names (denying `user-agent`, `host`, `x-forwarded-for`
//! or `x-forwarded-proto` drops the attribute derived from it) and
//! `FAAS_OTEL_DENY_QUERY_PARAMS` adds query parameters whose values are redacted. Both are
//! comma-separated and compared ASCII case-insensitively.

use crate::env::Env;

/// Comma-separated request header names never read into an attribute.
pub const DENY_HEADERS_VAR: &str = "FAAS_OTEL_DENY_HEADERS";
/// Comma-separated query parameter names whose values are redacted in `url.query`.
pub const DENY_QUERY_PARAMS_VAR: &str = "FAAS_OTEL_DENY_QUERY_PARAMS";

/// Request headers never read into an attribute, whatever the configuration.
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

/// The configured privacy lists, on top of the built-in ones; see the [module docs](self).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpPrivacy {
    /// Header names (lowercase) never to read, on top of [`DENIED_HEADERS`].
    pub denied_headers: Vec<String>,
    /// Query parameter names (lowercase) whose values are redacted, on top of
    /// [`REDACTED_QUERY_PARAMS`].
    pub denied_query_params: Vec<String>,
}

impl HttpPrivacy {
    /// Reads `FAAS_OTEL_DENY_HEADERS` and `FAAS_OTEL_DENY_QUERY_PARAMS`.
    pub fn from_env(env: &Env) -> Self {
        let list = |var: &str| -> Vec<String> {
            env.get(var)
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_ascii_lowercase())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        Self {
            denied_headers: list(DENY_HEADERS_VAR),
            denied_query_params: list(DENY_QUERY_PARAMS_VAR),
        }
    }

    /// Whether the header `name` may be read into an attribute.
    pub fn header_allowed(&self, name: &str) -> bool {
        let denied = |d: &str| d.eq_ignore_ascii_case(name);
        !DENIED_HEADERS.iter().copied().any(denied)
            && !self.denied_headers.iter().map(String::as_str).any(denied)
    }

    /// Whether the value of the query parameter `name` (already percent-decoded) is redacted.
    pub fn query_param_denied(&self, name: &str) -> bool {
        let denied = |d: &str| d.eq_ignore_ascii_case(name);
        REDACTED_QUERY_PARAMS.iter().copied().any(denied)
            || self
                .denied_query_params
                .iter()
                .map(String::as_str)
                .any(denied)
    }

    /// `query` as it came, with the value of every denied parameter replaced by [`REDACTED`]
    /// (names are compared after [`decode_query_component`]).
    pub fn redact_query(&self, query: &str) -> String {
        query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if self.query_param_denied(&decode_query_component(name)) => {
                    format!("{name}={REDACTED}")
                }
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, `%XX` a byte;
/// malformed escapes are kept as they are and invalid UTF-8 is replaced (lossy).
pub fn decode_query_component(component: &str) -> String {
    let spaced = component.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn privacy(headers: &str, params: &str) -> HttpPrivacy {
        HttpPrivacy::from_env(&Env::from_pairs([
            (DENY_HEADERS_VAR, headers),
            (DENY_QUERY_PARAMS_VAR, params),
        ]))
    }

    #[test]
    fn configured_lists_add_to_the_built_in_ones() {
        let p = privacy(" X-Tenant , ,user-agent", "Session_Id");
        assert_eq!(p.denied_headers, ["x-tenant", "user-agent"]);
        assert_eq!(p.denied_query_params, ["session_id"]);
        assert!(!p.header_allowed("Authorization"));
        assert!(!p.header_allowed("x-tenant"));
        assert!(p.header_allowed("host"));
        assert_eq!(
            p.redact_query("a=1&TOKEN=t&tok%65n=t&session_id=s&token&b="),
            "a=1&TOKEN=REDACTED&tok%65n=REDACTED&session_id=REDACTED&token&b="
        );
        assert_eq!(
            HttpPrivacy::default().redact_query("session_id=s"),
            "session_id=s"
        );
    }

    #[test]
    fn query_components_decode_like_forms() {
        assert_eq!(decode_query_component("a%5Fb+c%zz%"), "a_b c%zz%");
        assert_eq!(decode_query_component("%5F"), "_");
        assert_eq!(decode_query_component("%2B"), "+");
        assert_eq!(decode_query_component("%ff"), "\u{fffd}");
    }

    proptest! {
        #[test]
        fn redaction_never_panics_and_never_leaks_a_denied_value(
            query in "[a-zA-Z0-9%+=&_.~-]{0,64}",
            secret in "[a-z0-9]{12}",
        ) {
            let p = privacy("", "session_id");
            let redacted = p.redact_query(&query);
            prop_assert_eq!(redacted.split('&').count(), query.split('&').count());
            let with_secret = format!("{query}&session_id={secret}&Token={secret}");
            prop_assert!(p
                .redact_query(&with_secret)
                .ends_with("&session_id=REDACTED&Token=REDACTED"));
            let _ = decode_query_component(&query);
        }
    }
}
