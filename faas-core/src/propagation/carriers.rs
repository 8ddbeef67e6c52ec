//! Carriers: adapters that let propagators read and write headers of concrete types.
//!
//! A propagator never sees a request; it sees an [`Extractor`] (read side) or an [`Injector`]
//! (write side). This module adapts the two shapes serverless functions meet most:
//!
//! * [`http::HeaderMap`], for HTTP triggers and outgoing HTTP calls:
//!   [`HeaderExtractor`] and [`HeaderInjector`];
//! * `HashMap<String, String>`, for event payloads that carry headers as a JSON object
//!   (API Gateway, Pub/Sub and Service Bus attributes, …): [`MapExtractor`] and [`MapInjector`].
//!
//! Both read sides look keys up case-insensitively, because header names are case-insensitive
//! and event sources disagree on how they spell them (`traceparent`, `Traceparent`,
//! `X-Amzn-Trace-Id`, …). Both write sides never panic: a key or value that cannot be a header
//! is dropped silently, since losing one propagation header must never fail an invocation.

use std::collections::HashMap;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};

/// Reads propagation headers from an [`http::HeaderMap`].
///
/// Lookups are case-insensitive (a `HeaderMap` stores names in lowercase). Values that are not
/// visible ASCII are treated as absent. When a header is repeated, [`Extractor::get`] returns the
/// first value and [`Extractor::get_all`] returns every value.
///
/// ```
/// use faas_core::propagation::{HeaderExtractor, Propagation, has_remote_parent};
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert(
///     "traceparent",
///     http::HeaderValue::from_static("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
/// );
/// let cx = Propagation::default().extract(&HeaderExtractor(&headers));
/// assert!(has_remote_parent(&cx));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        // `HeaderMap::get(&str)` normalises the name and returns `None` for an invalid one.
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        if values.is_empty() {
            None
        } else {
            Some(values)
        }
    }
}

/// Writes propagation headers into an [`http::HeaderMap`].
///
/// Each header replaces any previous value of the same name. A name or value that is not a
/// valid HTTP header is skipped silently; this never panics.
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let Ok(name) = HeaderName::from_bytes(key.as_bytes()) else {
            return;
        };
        let Ok(value) = HeaderValue::from_str(&value) else {
            return;
        };
        self.0.insert(name, value);
    }

    fn reserve(&mut self, additional: usize) {
        self.0.reserve(additional);
    }
}

/// Reads propagation headers from a string map, such as the `headers` object of an event.
///
/// Lookups try the exact key first, then fall back to an ASCII case-insensitive match, so
/// `X-Amzn-Trace-Id` and `Traceparent` are found by propagators asking for `x-amzn-trace-id`
/// and `traceparent`. When several keys differ only by case, the exact match wins; otherwise
/// which one is returned is unspecified.
#[derive(Debug, Clone, Copy)]
pub struct MapExtractor<'a>(pub &'a HashMap<String, String>);

impl Extractor for MapExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if let Some(value) = self.0.get(key) {
            return Some(value.as_str());
        }
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// Writes propagation headers into a string map, such as the attributes of an outgoing message.
///
/// Keys are written as the propagator spells them (lowercase for every built-in propagator).
/// Any existing key that differs only by case is removed first, so the map never holds two
/// spellings of one header for a case-insensitive reader to choose between.
#[derive(Debug)]
pub struct MapInjector<'a>(pub &'a mut HashMap<String, String>);

impl Injector for MapInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0
            .retain(|existing, _| existing == key || !existing.eq_ignore_ascii_case(key));
        self.0.insert(key.to_owned(), value);
    }

    fn reserve(&mut self, additional: usize) {
        self.0.reserve(additional);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn header_map_round_trip_is_case_insensitive_and_skips_invalid_input() {
        let mut headers = HeaderMap::new();
        let mut injector = HeaderInjector(&mut headers);
        injector.set("traceparent", "a".into());
        injector.set("TraceParent", "b".into()); // same header: replaces
        injector.set("bad header", "x".into()); // invalid name: skipped
        injector.set("", "x".into()); // invalid name: skipped
        injector.set("x-bad-value", "line\nbreak".into()); // invalid value: skipped
        injector.set("x-non-ascii", "é".into()); // stored as opaque bytes (obs-text)
        assert_eq!(headers.len(), 2);
        // Values that are not visible ASCII are read back as absent.
        headers.insert("x-opaque", HeaderValue::from_bytes(b"\xff").unwrap());

        let extractor = HeaderExtractor(&headers);
        for (key, expected) in [
            ("traceparent", Some("b")),
            ("TRACEPARENT", Some("b")),
            ("x-bad-value", None),
            ("bad header", None),
            ("", None),
            ("x-non-ascii", None),
            ("x-opaque", None),
            ("missing", None),
        ] {
            assert_eq!(extractor.get(key), expected, "key {key:?}");
        }
        let mut keys = extractor.keys();
        keys.sort_unstable();
        assert_eq!(keys, ["traceparent", "x-non-ascii", "x-opaque"]);
    }

    #[test]
    fn header_extractor_returns_every_value_of_a_repeated_header() {
        let mut headers = HeaderMap::new();
        headers.append("baggage", HeaderValue::from_static("a=1"));
        headers.append("baggage", HeaderValue::from_static("b=2"));
        let extractor = HeaderExtractor(&headers);
        assert_eq!(extractor.get("Baggage"), Some("a=1"));
        assert_eq!(extractor.get_all("baggage").unwrap(), ["a=1", "b=2"]);
        assert_eq!(extractor.get_all("missing"), None);
    }

    #[test]
    fn string_map_round_trip_is_case_insensitive() {
        let mut map = HashMap::from([
            ("X-Amzn-Trace-Id".to_owned(), "old".to_owned()),
            ("Content-Type".to_owned(), "application/json".to_owned()),
        ]);
        let extractor = MapExtractor(&map);
        for (key, expected) in [
            ("x-amzn-trace-id", Some("old")),
            ("X-Amzn-Trace-Id", Some("old")),
            ("content-type", Some("application/json")),
            ("traceparent", None),
        ] {
            assert_eq!(extractor.get(key), expected, "key {key:?}");
        }

        MapInjector(&mut map).set("x-amzn-trace-id", "new".into());
        assert_eq!(map.len(), 2, "the old spelling is replaced: {map:?}");
        assert_eq!(map.get("x-amzn-trace-id").map(String::as_str), Some("new"));
        assert_eq!(MapExtractor(&map).get("X-AMZN-TRACE-ID"), Some("new"));
    }

    #[test]
    fn string_map_prefers_the_exact_key() {
        let map = HashMap::from([
            ("TraceParent".to_owned(), "upper".to_owned()),
            ("traceparent".to_owned(), "exact".to_owned()),
        ]);
        assert_eq!(MapExtractor(&map).get("traceparent"), Some("exact"));
    }
}
