//! Trace-context propagation: continuing the caller's trace, and handing it on.
//!
//! A function is rarely the start of a trace. The caller (a browser, another service, a queue
//! producer, the cloud's own front end) usually sends a *parent*: the trace id and the id of the
//! calling span, in a header. **Extracting** that header makes the invocation span a child of the
//! caller's span, so both appear in one trace. **Injecting** does the reverse: before the function
//! calls something else, the current span is written into the outgoing request's headers.
//!
//! The wire format is chosen by a *propagator*. Several formats exist, and a function may need to
//! understand more than one, so [`Propagation`] is a list of propagators read from the standard
//! `OTEL_PROPAGATORS` variable:
//!
//! | name          | header                     | notes                                           |
//! |---------------|----------------------------|-------------------------------------------------|
//! | `tracecontext`| `traceparent`, `tracestate`| W3C Trace Context, the OpenTelemetry default    |
//! | `baggage`     | `baggage`                  | W3C Baggage: user key/values, not a parent      |
//! | `xray`        | `x-amzn-trace-id`          | AWS X-Ray                                       |
//! | `xray-lambda` | `x-amzn-trace-id`          | alias of `xray` (see below)                     |
//! | `cloudtrace`  | `x-cloud-trace-context`    | Google Cloud, see [`CloudTraceContextPropagator`]|
//! | `none`        | —                          | no propagation at all; only valid alone         |
//!
//! # Reading `OTEL_PROPAGATORS`
//!
//! * Unset or blank: `tracecontext,baggage`, the specification's default.
//! * Names are separated by commas, trimmed and case-insensitive (`TraceContext, Baggage` is fine).
//! * Empty entries are ignored, so a stray comma (`tracecontext,,baggage`, `xray,`) is harmless.
//!   A value with no name at all (`,`) is an error: say `none` to disable propagation.
//! * A name listed twice is used once, at its first position.
//! * `none` combined with any other name is an error: the intent is ambiguous.
//! * Unknown names are errors, never silently dropped: a typo would otherwise break every trace
//!   without a sound. `b3`, `jaeger` and `ottrace` are valid in the specification but not
//!   supported here, and are rejected with a message saying so.
//!
//! # Order matters: the last parent wins
//!
//! On extract, every propagator runs in list order over the *same* context, and each one that
//! finds a valid header replaces the parent found so far; one that finds nothing, or a malformed
//! header, leaves it alone. (This is how OpenTelemetry's `TextMapCompositePropagator` behaves,
//! and `Propagation` does the same.) So with `OTEL_PROPAGATORS=tracecontext,xray` and a request
//! carrying both `traceparent` and `x-amzn-trace-id`, the X-Ray parent is used; with
//! `xray,tracecontext` the W3C one is. List the format you trust most **last**.
//!
//! On inject, every propagator writes its own header, so downstream services that speak any of
//! the configured formats can continue the trace.
//!
//! # AWS X-Ray
//!
//! `xray` uses `opentelemetry_aws::trace::XrayPropagator`. For the header
//! `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1` the parent is
//! trace `5759e988bd862e3fe1be46a994272793`, span `53995c3f42cd8ad8`, sampled. Worth knowing:
//!
//! * without `Sampled=` (or with `Sampled=?`) the decision is *deferred*: the context carries
//!   trace flag `0x02` and is **not** sampled; inject writes it back as `Sampled=?`;
//! * extra fields such as `Lineage=a87bd80c:1|68fd508a:5` are kept in the trace state (with
//!   lowercase keys) and written back title-cased (`Lineage=…`) on inject, so Lambda's recursion
//!   detection keeps working across the function;
//! * a header without `Parent=` yields no parent;
//! * besides the `x-amzn-trace-id` header, the propagator also reads a carrier key named
//!   `_X_AMZN_TRACE_ID` (a key of the carrier, not the process environment).
//!
//! `xray-lambda` is accepted as an alias with the same header format. In other SDKs it also
//! falls back to the `_X_AMZN_TRACE_ID` variable that the Lambda runtime sets per invocation;
//! here that fallback is not part of this module: the AWS provider crate applies it, and only
//! when no propagator found a parent in the event's own headers.
//!
//! The propagator keeps a `Sampled=0` or deferred header as a (not sampled) parent, which makes
//! a parent-based sampler drop the trace. The provider crates therefore read the X-Ray header of
//! an invocation (and SQS's `AWSTraceHeader`) with [`XrayHeader`]: a parent only with
//! `Sampled=1`; otherwise a fresh root that keeps the X-Ray trace id in [`XRAY_TRACE_ID`] and
//! links to the X-Ray segment when the header names one.
//!
//! # Carriers
//!
//! Propagators read and write through carriers; [`HeaderExtractor`]/[`HeaderInjector`] adapt an
//! [`http::HeaderMap`] and [`MapExtractor`]/[`MapInjector`] a `HashMap<String, String>` of event
//! headers or message attributes. Lookups are case-insensitive.
//!
//! # Example
//!
//! ```
//! use faas_core::env::Env;
//! use faas_core::propagation::{HeaderExtractor, HeaderInjector, Propagation, has_remote_parent};
//!
//! let env = Env::from_pairs([("OTEL_PROPAGATORS", "tracecontext,xray")]);
//! let propagation = Propagation::from_env(&env)?;
//!
//! let mut incoming = http::HeaderMap::new();
//! incoming.insert(
//!     "x-amzn-trace-id",
//!     "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".parse()?,
//! );
//! let cx = propagation.extract(&HeaderExtractor(&incoming));
//! assert!(has_remote_parent(&cx));
//!
//! let mut outgoing = http::HeaderMap::new();
//! propagation.inject(&cx, &mut HeaderInjector(&mut outgoing));
//! assert!(outgoing.contains_key("traceparent"));
//! assert!(outgoing.contains_key("x-amzn-trace-id"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod carriers;
mod cloud_trace_context;
mod xray;

use std::fmt;
use std::sync::Arc;

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
    trace::TraceContextExt,
};
use opentelemetry_aws::trace::XrayPropagator;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

pub use carriers::{HeaderExtractor, HeaderInjector, MapExtractor, MapInjector};
pub use cloud_trace_context::{CLOUD_TRACE_CONTEXT_HEADER, CloudTraceContextPropagator};
pub use xray::{XRAY_TRACE_ID, XrayHeader};

use crate::env::Env;
use crate::error::ConfigError;

/// The environment variable that selects the propagators.
pub const OTEL_PROPAGATORS: &str = "OTEL_PROPAGATORS";

/// The propagators used when `OTEL_PROPAGATORS` is unset, as the specification requires.
pub const DEFAULT_PROPAGATORS: &str = "tracecontext,baggage";

/// Every name accepted in `OTEL_PROPAGATORS`.
pub const ACCEPTED_NAMES: &[&str] = &[
    "tracecontext",
    "baggage",
    "xray",
    "xray-lambda",
    "cloudtrace",
    "none",
];

/// Names the specification defines that this crate deliberately does not implement.
const UNSUPPORTED_NAMES: &[&str] = &["b3", "b3multi", "jaeger", "ottrace"];

type BoxedPropagator = Box<dyn TextMapPropagator + Send + Sync>;

/// The propagators selected by `OTEL_PROPAGATORS`, applied as one.
///
/// Cheap to clone (the propagators are shared). See the [module documentation](self) for the
/// accepted names, the parsing rules and which parent wins when several headers are present.
///
/// `Propagation` also implements [`TextMapPropagator`], so it can be installed with
/// `opentelemetry::global::set_text_map_propagator` for libraries that use the global one.
#[derive(Clone)]
pub struct Propagation {
    inner: Arc<Inner>,
}

struct Inner {
    /// Normalised (trimmed, lowercase, deduplicated) names, in configuration order.
    names: Vec<String>,
    propagators: Vec<BoxedPropagator>,
    /// Header names of all propagators, deduplicated, in configuration order.
    fields: Vec<String>,
}

impl Propagation {
    /// Reads `OTEL_PROPAGATORS`; unset or blank means `tracecontext,baggage`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `OTEL_PROPAGATORS` when the value holds an unknown or unsupported
    /// name, combines `none` with other names, or names nothing at all.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        match env.get(OTEL_PROPAGATORS) {
            Some(value) => Self::from_names(&value),
            None => Ok(Self::default()),
        }
    }

    /// Builds the propagation from a comma-separated list of names, as in `OTEL_PROPAGATORS`.
    ///
    /// ```
    /// use faas_core::propagation::Propagation;
    ///
    /// let p = Propagation::from_names(" TraceContext, xray,,")?;
    /// assert_eq!(p.names(), ["tracecontext", "xray"]);
    /// assert!(Propagation::from_names("b3").is_err());
    /// # Ok::<(), faas_core::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `OTEL_PROPAGATORS`, the value and the accepted names when the
    /// value holds an unknown or unsupported name, combines `none` with other names, or names
    /// nothing at all.
    pub fn from_names(value: &str) -> Result<Self, ConfigError> {
        let error = |reason: String| {
            ConfigError::new(
                OTEL_PROPAGATORS,
                value,
                format!("{reason}; accepted names: {}", ACCEPTED_NAMES.join(", ")),
            )
        };

        let mut kinds: Vec<Kind> = Vec::new();
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let lower = name.to_ascii_lowercase();
            let kind = Kind::from_name(&lower).ok_or_else(|| {
                if UNSUPPORTED_NAMES.contains(&lower.as_str()) {
                    error(format!("propagator `{name}` is not supported by faas-core"))
                } else {
                    error(format!("unknown propagator `{name}`"))
                }
            })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }

        if kinds.is_empty() {
            return Err(error(
                "no propagator named (use `none` to disable propagation)".to_owned(),
            ));
        }
        if kinds.len() > 1 && kinds.contains(&Kind::None) {
            return Err(error(
                "`none` disables propagation and cannot be combined with other propagators"
                    .to_owned(),
            ));
        }
        Ok(Self::build(&kinds))
    }

    fn build(kinds: &[Kind]) -> Self {
        let names = kinds.iter().map(|k| k.name().to_owned()).collect();
        let propagators: Vec<BoxedPropagator> =
            kinds.iter().filter_map(|k| k.propagator()).collect();
        let mut fields: Vec<String> = Vec::new();
        for field in propagators.iter().flat_map(|p| p.fields()) {
            if !fields.iter().any(|f| f == field) {
                fields.push(field.to_owned());
            }
        }
        Self {
            inner: Arc::new(Inner {
                names,
                propagators,
                fields,
            }),
        }
    }

    /// Extracts the caller's context from `extractor`, starting from an empty context.
    ///
    /// Returns an empty context when no propagator finds a valid header; check with
    /// [`has_remote_parent`].
    pub fn extract(&self, extractor: &dyn Extractor) -> Context {
        self.extract_with_context(&Context::new(), extractor)
    }

    /// Extracts the caller's context from `extractor` on top of `cx`.
    ///
    /// Propagators run in configuration order; each one that finds a valid header replaces the
    /// parent found so far (the last one wins).
    pub fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        self.inner
            .propagators
            .iter()
            .fold(cx.clone(), |cx, propagator| {
                propagator.extract_with_context(&cx, extractor)
            })
    }

    /// Writes the span context and baggage of `cx` into `injector`, one header per propagator.
    pub fn inject(&self, cx: &Context, injector: &mut dyn Injector) {
        for propagator in &self.inner.propagators {
            propagator.inject_context(cx, injector);
        }
    }

    /// The header names the propagators read and write, deduplicated, in configuration order.
    ///
    /// Useful to forward exactly these headers, or to list them in a CORS
    /// `Access-Control-Allow-Headers`.
    pub fn fields(&self) -> Vec<String> {
        self.inner.fields.clone()
    }

    /// The configured propagator names: trimmed, lowercase, deduplicated, in configuration order
    /// (`["none"]` when propagation is disabled).
    pub fn names(&self) -> &[String] {
        &self.inner.names
    }

    /// Whether propagation is disabled (`OTEL_PROPAGATORS=none`).
    pub fn is_disabled(&self) -> bool {
        self.inner.propagators.is_empty()
    }
}

impl Default for Propagation {
    /// `tracecontext,baggage`, the specification's default.
    fn default() -> Self {
        Self::build(&[Kind::TraceContext, Kind::Baggage])
    }
}

impl fmt::Debug for Propagation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Propagation")
            .field("names", &self.inner.names)
            .field("fields", &self.inner.fields)
            .finish()
    }
}

impl TextMapPropagator for Propagation {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.inject(cx, injector);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        Propagation::extract_with_context(self, cx, extractor)
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.inner.fields)
    }
}

/// Whether `cx` holds a valid span context that came from a caller (was extracted).
///
/// `false` for an empty context, for an invalid span context (for example an X-Ray header
/// without `Parent=`) and for a local span started in this process.
pub fn has_remote_parent(cx: &Context) -> bool {
    let span = cx.span();
    let span_context = span.span_context();
    span_context.is_valid() && span_context.is_remote()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    TraceContext,
    Baggage,
    Xray,
    XrayLambda,
    CloudTrace,
    None,
}

impl Kind {
    fn from_name(lowercase: &str) -> Option<Self> {
        Some(match lowercase {
            "tracecontext" => Self::TraceContext,
            "baggage" => Self::Baggage,
            "xray" => Self::Xray,
            "xray-lambda" => Self::XrayLambda,
            "cloudtrace" => Self::CloudTrace,
            "none" => Self::None,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::TraceContext => "tracecontext",
            Self::Baggage => "baggage",
            Self::Xray => "xray",
            Self::XrayLambda => "xray-lambda",
            Self::CloudTrace => "cloudtrace",
            Self::None => "none",
        }
    }

    fn propagator(self) -> Option<BoxedPropagator> {
        match self {
            Self::TraceContext => Some(Box::new(TraceContextPropagator::new())),
            Self::Baggage => Some(Box::new(BaggagePropagator::new())),
            // Same header format; the Lambda environment fallback lives in the AWS crate.
            Self::Xray | Self::XrayLambda => Some(Box::new(XrayPropagator::new())),
            Self::CloudTrace => Some(Box::new(CloudTraceContextPropagator::new())),
            Self::None => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId};

    use super::*;

    const XRAY_EXAMPLE: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    fn carrier(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn parent(cx: &Context) -> SpanContext {
        cx.span().span_context().clone()
    }

    #[test]
    fn parses_names() {
        let cases: &[(&str, &[&str])] = &[
            ("tracecontext", &["tracecontext"]),
            ("tracecontext,baggage", &["tracecontext", "baggage"]),
            (" TraceContext , BAGGAGE ", &["tracecontext", "baggage"]),
            ("xray", &["xray"]),
            ("xray-lambda,tracecontext", &["xray-lambda", "tracecontext"]),
            ("cloudtrace,tracecontext", &["cloudtrace", "tracecontext"]),
            ("none", &["none"]),
            ("None, none", &["none"]),
            // Empty entries are ignored.
            ("tracecontext,,baggage", &["tracecontext", "baggage"]),
            ("xray,", &["xray"]),
            (",xray", &["xray"]),
            // Duplicates are used once, at their first position.
            ("xray,tracecontext,xray", &["xray", "tracecontext"]),
        ];
        for &(value, expected) in cases {
            let p = Propagation::from_names(value).unwrap_or_else(|e| panic!("{value:?}: {e}"));
            assert_eq!(p.names(), expected, "{value:?}");
        }
    }

    #[test]
    fn rejects_bad_names_with_a_useful_error() {
        let cases: &[(&str, &str)] = &[
            ("b3", "`b3` is not supported"),
            ("b3multi", "`b3multi` is not supported"),
            ("jaeger", "`jaeger` is not supported"),
            ("tracecontext,ottrace", "`ottrace` is not supported"),
            ("w3c", "unknown propagator `w3c`"),
            ("trace context", "unknown propagator `trace context`"),
            (
                "tracecontext;baggage",
                "unknown propagator `tracecontext;baggage`",
            ),
            ("none,tracecontext", "cannot be combined"),
            ("tracecontext, NONE", "cannot be combined"),
            (",", "no propagator named"),
            (" , ,", "no propagator named"),
        ];
        for &(value, reason) in cases {
            let err = Propagation::from_names(value).unwrap_err();
            assert_eq!(err.variable, "OTEL_PROPAGATORS", "{value:?}");
            assert_eq!(err.value, value);
            assert!(err.reason.contains(reason), "{value:?}: {}", err.reason);
            assert!(
                err.reason
                    .contains("tracecontext, baggage, xray, xray-lambda, cloudtrace, none"),
                "{value:?}: {}",
                err.reason
            );
        }
    }

    #[test]
    fn from_env_defaults_to_tracecontext_and_baggage() {
        for env in [
            Env::from_pairs::<&str, &str>([]),
            Env::from_pairs([("OTEL_PROPAGATORS", "")]),
            Env::from_pairs([("OTEL_PROPAGATORS", "  ")]),
        ] {
            let p = Propagation::from_env(&env).unwrap();
            assert_eq!(p.names(), ["tracecontext", "baggage"]);
            assert_eq!(p.fields(), ["traceparent", "tracestate", "baggage"]);
        }
        assert_eq!(Propagation::default().names(), ["tracecontext", "baggage"]);

        let p = Propagation::from_env(&Env::from_pairs([("OTEL_PROPAGATORS", "xray")])).unwrap();
        assert_eq!(p.names(), ["xray"]);
        let err = Propagation::from_env(&Env::from_pairs([("OTEL_PROPAGATORS", "b3")]));
        assert_eq!(err.unwrap_err().value, "b3");
    }

    #[test]
    fn fields_follow_configuration_order_without_duplicates() {
        let cases: &[(&str, &[&str])] = &[
            ("xray", &["x-amzn-trace-id"]),
            ("xray,xray-lambda", &["x-amzn-trace-id"]),
            ("cloudtrace", &["x-cloud-trace-context"]),
            (
                "cloudtrace,tracecontext",
                &["x-cloud-trace-context", "traceparent", "tracestate"],
            ),
            ("none", &[]),
        ];
        for &(value, expected) in cases {
            let p = Propagation::from_names(value).unwrap();
            assert_eq!(p.fields(), expected, "{value:?}");
            assert_eq!(
                TextMapPropagator::fields(&p).collect::<Vec<_>>(),
                expected,
                "{value:?}"
            );
        }
    }

    #[test]
    fn none_neither_extracts_nor_injects() {
        let p = Propagation::from_names("none").unwrap();
        assert!(p.is_disabled());
        let cx = p.extract(&carrier(&[("traceparent", TRACEPARENT)]));
        assert!(!has_remote_parent(&cx));

        let cx = Propagation::default().extract(&carrier(&[("traceparent", TRACEPARENT)]));
        let mut out = HashMap::new();
        p.inject(&cx, &mut MapInjector(&mut out));
        assert!(out.is_empty());
    }

    #[test]
    fn default_round_trips_traceparent_and_baggage() {
        let p = Propagation::default();
        let incoming = carrier(&[("Traceparent", TRACEPARENT), ("BAGGAGE", "user=alice")]);
        let cx = p.extract(&MapExtractor(&incoming));
        assert!(has_remote_parent(&cx));
        let sc = parent(&cx);
        assert_eq!(
            sc.trace_id(),
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap()
        );
        assert_eq!(sc.span_id(), SpanId::from_hex("b7ad6b7169203331").unwrap());
        assert!(sc.is_sampled());
        assert_eq!(
            cx.baggage().get("user").map(|v| v.to_string()),
            Some("alice".to_owned())
        );

        let mut headers = http::HeaderMap::new();
        p.inject(&cx, &mut HeaderInjector(&mut headers));
        assert_eq!(headers.get("traceparent").unwrap(), TRACEPARENT);
        assert_eq!(headers.get("baggage").unwrap(), "user=alice");
    }

    #[test]
    fn xray_extracts_the_documented_example() {
        let p = Propagation::from_names("xray").unwrap();
        let cx = p.extract(&carrier(&[("x-amzn-trace-id", XRAY_EXAMPLE)]));
        assert!(has_remote_parent(&cx));
        let sc = parent(&cx);
        assert_eq!(
            sc.trace_id(),
            TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap()
        );
        assert_eq!(sc.span_id(), SpanId::from_hex("53995c3f42cd8ad8").unwrap());
        assert!(sc.is_sampled());

        let mut out = HashMap::new();
        p.inject(&cx, &mut MapInjector(&mut out));
        assert_eq!(out, carrier(&[("x-amzn-trace-id", XRAY_EXAMPLE)]));
    }

    #[test]
    fn xray_sampled_field_table() {
        // (header, trace flags after extract, `Sampled=` written back by inject)
        let root = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8";
        let deferred = TraceFlags::new(0x02);
        let cases: &[(&str, TraceFlags, &str)] = &[
            (";Sampled=1", TraceFlags::SAMPLED, "Sampled=1"),
            (";Sampled=0", TraceFlags::default(), "Sampled=0"),
            // Missing or `?`: deferred, which is not sampled.
            ("", deferred, "Sampled=?"),
            (";Sampled=?", deferred, "Sampled=?"),
        ];
        let p = Propagation::from_names("xray-lambda").unwrap();
        for &(suffix, flags, written) in cases {
            let header = format!("{root}{suffix}");
            let cx = p.extract(&MapExtractor(&carrier(&[("X-Amzn-Trace-Id", &header)])));
            let sc = parent(&cx);
            assert!(has_remote_parent(&cx), "{header}");
            assert_eq!(sc.trace_flags(), flags, "{header}");
            assert_eq!(sc.is_sampled(), flags == TraceFlags::SAMPLED, "{header}");

            let mut out = HashMap::new();
            p.inject(&cx, &mut MapInjector(&mut out));
            assert_eq!(out["x-amzn-trace-id"], format!("{root};{written}"));
        }
    }

    #[test]
    fn xray_preserves_lineage_through_extract_and_inject() {
        let p = Propagation::from_names("xray").unwrap();
        let header = format!("{XRAY_EXAMPLE};Lineage=a87bd80c:1|68fd508a:5");
        let cx = p.extract(&carrier(&[("x-amzn-trace-id", &header)]));
        let sc = parent(&cx);
        // Kept in the trace state with a lowercase key ...
        assert_eq!(
            sc.trace_state().get("lineage"),
            Some("a87bd80c:1|68fd508a:5")
        );
        // ... and title-cased back on inject.
        let mut out = HashMap::new();
        p.inject(&cx, &mut MapInjector(&mut out));
        assert_eq!(out["x-amzn-trace-id"], header);
    }

    #[test]
    fn xray_without_a_usable_parent_is_ignored() {
        let p = Propagation::from_names("xray").unwrap();
        for header in [
            "",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", // no Parent
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=zz;Sampled=1",
            "Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8;Sampled=1",
            "Root=garbage;Parent=53995c3f42cd8ad8;Sampled=1",
            TRACEPARENT,
        ] {
            let cx = p.extract(&carrier(&[("x-amzn-trace-id", header)]));
            assert!(!has_remote_parent(&cx), "{header:?}");
        }
    }

    #[test]
    fn later_propagators_override_earlier_ones_on_extract() {
        let xray_trace = TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap();
        let w3c_trace = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap();
        let gcp_trace = TraceId::from_hex("105445aa7843bc8bf206b12000100000").unwrap();
        let all = carrier(&[
            ("traceparent", TRACEPARENT),
            ("x-amzn-trace-id", XRAY_EXAMPLE),
            (
                "x-cloud-trace-context",
                "105445aa7843bc8bf206b12000100000/1;o=1",
            ),
        ]);
        let broken_xray = carrier(&[
            ("traceparent", TRACEPARENT),
            ("x-amzn-trace-id", "Root=garbage"),
        ]);
        let cases: &[(&str, &HashMap<String, String>, TraceId)] = &[
            ("tracecontext,xray", &all, xray_trace),
            ("xray,tracecontext", &all, w3c_trace),
            ("xray,tracecontext,cloudtrace", &all, gcp_trace),
            ("cloudtrace,xray", &all, xray_trace),
            // A later propagator that finds nothing usable keeps the earlier parent.
            ("tracecontext,xray", &broken_xray, w3c_trace),
        ];
        for &(names, headers, expected) in cases {
            let p = Propagation::from_names(names).unwrap();
            let cx = p.extract(&MapExtractor(headers));
            assert_eq!(parent(&cx).trace_id(), expected, "{names}");
        }
    }

    #[test]
    fn inject_writes_every_configured_format() {
        let incoming = carrier(&[("traceparent", TRACEPARENT)]);
        let cx = Propagation::default().extract(&incoming);
        let p = Propagation::from_names("tracecontext,xray,cloudtrace").unwrap();
        let mut headers = http::HeaderMap::new();
        p.inject(&cx, &mut HeaderInjector(&mut headers));
        assert_eq!(headers.get("traceparent").unwrap(), TRACEPARENT);
        assert_eq!(
            headers.get("x-amzn-trace-id").unwrap(),
            "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1"
        );
        assert_eq!(
            headers.get("x-cloud-trace-context").unwrap(),
            "0af7651916cd43dd8448eb211c80319c/13235353014750950193;o=1"
        );
    }

    #[test]
    fn extract_with_context_keeps_the_base_context_when_nothing_is_found() {
        let base = Context::new().with_baggage([opentelemetry::KeyValue::new("k", "v")]);
        let p = Propagation::from_names("tracecontext").unwrap();
        let cx = p.extract_with_context(&base, &carrier(&[]));
        assert!(!has_remote_parent(&cx));
        assert_eq!(
            cx.baggage().get("k").map(|v| v.to_string()),
            Some("v".into())
        );
    }

    #[test]
    fn has_remote_parent_requires_a_valid_remote_span_context() {
        let valid = |remote| {
            SpanContext::new(
                TraceId::from(1),
                SpanId::from(1),
                TraceFlags::SAMPLED,
                remote,
                Default::default(),
            )
        };
        assert!(!has_remote_parent(&Context::new()));
        assert!(has_remote_parent(
            &Context::new().with_remote_span_context(valid(true))
        ));
        assert!(!has_remote_parent(
            &Context::new().with_remote_span_context(valid(false))
        ));
        assert!(!has_remote_parent(
            &Context::new().with_remote_span_context(SpanContext::empty_context())
        ));
    }

    #[test]
    fn propagation_is_a_text_map_propagator_and_cheap_to_clone() {
        let p = Propagation::from_names("xray").unwrap();
        let boxed: Box<dyn TextMapPropagator + Send + Sync> = Box::new(p.clone());
        let cx = boxed.extract(&carrier(&[("x-amzn-trace-id", XRAY_EXAMPLE)]));
        assert!(has_remote_parent(&cx));
        assert!(format!("{p:?}").contains("xray"));
    }
}
