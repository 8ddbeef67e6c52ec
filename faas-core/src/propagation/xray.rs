//! [`XrayHeader`]: an AWS X-Ray trace header read the PassThrough way.
//!
//! Lambda hands every invocation an X-Ray header (`Lambda-Runtime-Trace-Id`, also the SQS
//! `AWSTraceHeader` system attribute). With Lambda's default tracing mode (PassThrough) that
//! header says `Sampled=0`, or carries only a `Root`. Taken as the parent, such a header makes
//! the default parent-based sampler drop every trace that has no W3C parent (SQS, S3,
//! schedules, direct invokes). So an X-Ray header becomes the parent only when it says
//! `Sampled=1` and names a `Parent`; any other valid header starts a fresh root, which keeps
//! the X-Ray trace id in [`XRAY_TRACE_ID`] and, when the header names a `Parent`, links to it
//! ([`XrayHeader::link`]), so the two traces can still be correlated.
//!
//! | header                                   | parent | link | `faas_otel.xray.trace_id` |
//! |------------------------------------------|--------|------|---------------------------|
//! | `Root=…;Parent=…;Sampled=1`              | yes    | —    | —                         |
//! | `Root=…;Parent=…;Sampled=0`              | no     | yes  | yes                       |
//! | `Root=…;Parent=…` or `Sampled=?`         | no     | yes  | yes                       |
//! | `Root=…` or `Root=…;Sampled=…` (no Parent)| no    | no   | yes                       |
//! | no valid `Root`                          | no     | no   | no                        |

use opentelemetry::trace::{Link, SpanContext, TraceContextExt as _, TraceId};
use opentelemetry::{Context, KeyValue};

/// The attribute that keeps the X-Ray trace id, in X-Ray's own format
/// (`1-5759e988-bd862e3fe1be46a994272793`), on a span that did not take the X-Ray header as
/// its parent. OpenTelemetry defines no attribute for it.
pub const XRAY_TRACE_ID: &str = "faas_otel.xray.trace_id";

/// A parsed X-Ray trace header (`Root=1-…;Parent=…;Sampled=…`) with a valid `Root`.
///
/// ```
/// use faas_core::propagation::XrayHeader;
///
/// let passive = XrayHeader::parse(
///     "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
/// )
/// .unwrap();
/// assert!(passive.parent().is_none(), "Sampled=0 is not a parent");
/// assert!(passive.link().is_some());
/// assert_eq!(passive.xray_trace_id(), "1-5759e988-bd862e3fe1be46a994272793");
///
/// let active = XrayHeader::parse(
///     "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
/// )
/// .unwrap();
/// assert!(active.parent().is_some());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct XrayHeader {
    /// As the X-Ray propagator reads it: the span id is invalid without `Parent`.
    span_context: SpanContext,
}

impl XrayHeader {
    /// Parses `header` as the `xray` propagator does; `None` without a valid `Root`.
    pub fn parse(header: &str) -> Option<Self> {
        let span_context =
            opentelemetry_aws::trace::xray_propagator::span_context_from_str(header.trim())?;
        (span_context.trace_id() != TraceId::INVALID).then_some(Self { span_context })
    }

    /// The trace id of `Root`.
    pub fn trace_id(&self) -> TraceId {
        self.span_context.trace_id()
    }

    /// The trace id in X-Ray's format, `1-<8 hex>-<24 hex>` (the value of [`XRAY_TRACE_ID`]).
    pub fn xray_trace_id(&self) -> String {
        let hex = self.trace_id().to_string();
        let (epoch, unique) = hex.split_at(8);
        format!("1-{epoch}-{unique}")
    }

    /// Whether the header names a valid `Parent` segment.
    pub fn has_parent(&self) -> bool {
        self.span_context.is_valid()
    }

    /// Whether the header says `Sampled=1`.
    pub fn is_sampled(&self) -> bool {
        self.span_context.is_sampled()
    }

    /// The remote parent: only for `Sampled=1` with a valid `Parent` (other fields such as
    /// `Lineage` kept in the trace state). `None` for every header that must start a fresh root.
    pub fn parent(&self) -> Option<Context> {
        (self.has_parent() && self.is_sampled())
            .then(|| Context::new().with_remote_span_context(self.span_context.clone()))
    }

    /// A link to the X-Ray segment, whatever its sampling decision; `None` without `Parent`.
    pub fn link(&self) -> Option<Link> {
        self.has_parent()
            .then(|| Link::with_context(self.span_context.clone()))
    }

    /// `faas_otel.xray.trace_id` = [`XrayHeader::xray_trace_id`].
    pub fn attribute(&self) -> KeyValue {
        KeyValue::new(XRAY_TRACE_ID, self.xray_trace_id())
    }

    /// Whether `cx` holds exactly this header's parent segment (same trace and span id): how a
    /// caller tells that a parent extracted with several propagators came from this header.
    pub fn is_context_of(&self, cx: &Context) -> bool {
        let span = cx.span();
        let other = span.span_context();
        self.has_parent()
            && other.trace_id() == self.span_context.trace_id()
            && other.span_id() == self.span_context.span_id()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::trace::{SpanId, TraceFlags};
    use proptest::prelude::*;

    use super::*;
    use crate::propagation::{MapExtractor, Propagation, has_remote_parent};

    const ROOT: &str = "Root=1-5759e988-bd862e3fe1be46a994272793";
    const TRACE: &str = "5759e988bd862e3fe1be46a994272793";
    const PARENT: &str = "53995c3f42cd8ad8";

    #[test]
    fn passthrough_table() {
        // (header after `Root=…`, is the parent, can be linked to)
        let cases: &[(&str, bool, bool)] = &[
            (";Parent=53995c3f42cd8ad8;Sampled=1", true, true),
            (";Parent=53995c3f42cd8ad8;Sampled=0", false, true),
            (";Parent=53995c3f42cd8ad8;Sampled=?", false, true),
            (";Parent=53995c3f42cd8ad8", false, true),
            (
                ";Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1",
                true,
                true,
            ),
            (
                ";Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:1",
                false,
                true,
            ),
            ("", false, false),
            (";Sampled=1", false, false),
            (";Sampled=0", false, false),
            (";Parent=zz;Sampled=1", false, false),
        ];
        for &(suffix, parent, link) in cases {
            let header = format!("{ROOT}{suffix}");
            let x = XrayHeader::parse(&header).unwrap();
            assert_eq!(x.trace_id(), TraceId::from_hex(TRACE).unwrap(), "{header}");
            assert_eq!(x.parent().is_some(), parent, "{header}");
            assert_eq!(x.link().is_some(), link, "{header}");
            assert_eq!(
                x.attribute(),
                KeyValue::new(XRAY_TRACE_ID, "1-5759e988-bd862e3fe1be46a994272793")
            );
            if let Some(link) = x.link() {
                assert_eq!(
                    link.span_context.span_id(),
                    SpanId::from_hex(PARENT).unwrap()
                );
                assert_eq!(link.span_context.trace_id(), x.trace_id());
                assert!(link.span_context.is_remote());
            }
        }
    }

    #[test]
    fn the_parent_is_the_propagators_and_keeps_lineage() {
        let header = format!("{ROOT};Parent={PARENT};Sampled=1;Lineage=a87bd80c:1|68fd508a:5");
        let parent = XrayHeader::parse(&header).unwrap().parent().unwrap();
        let carrier = HashMap::from([("x-amzn-trace-id".to_owned(), header.clone())]);
        let extracted = Propagation::from_names("xray")
            .unwrap()
            .extract(&MapExtractor(&carrier));
        assert_eq!(
            parent.span().span_context(),
            extracted.span().span_context()
        );
        assert!(has_remote_parent(&parent));
        assert_eq!(
            parent.span().span_context().trace_flags(),
            TraceFlags::SAMPLED
        );
        assert_eq!(
            parent.span().span_context().trace_state().get("lineage"),
            Some("a87bd80c:1|68fd508a:5")
        );
        assert!(
            XrayHeader::parse(&header)
                .unwrap()
                .is_context_of(&extracted)
        );
        assert!(!XrayHeader::parse(ROOT).unwrap().is_context_of(&extracted));
    }

    #[test]
    fn headers_without_a_valid_root_are_nothing() {
        for header in [
            "",
            "   ",
            "Parent=53995c3f42cd8ad8;Sampled=1",
            "Root=garbage;Parent=53995c3f42cd8ad8;Sampled=1",
            "Root=1-00000000-000000000000000000000000;Sampled=1",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ] {
            assert_eq!(XrayHeader::parse(header), None, "{header:?}");
        }
    }

    fn hex(len: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(b"0123456789abcdef".to_vec()), len)
            .prop_map(|bytes| bytes.into_iter().map(char::from).collect())
    }

    proptest! {
        #[test]
        fn any_text_parses_without_panicking(header in "[ -~]{0,96}") {
            if let Some(x) = XrayHeader::parse(&header) {
                // Whatever parsed: a parent only when sampled with a parent segment.
                prop_assert_eq!(x.parent().is_some(), x.has_parent() && x.is_sampled());
                prop_assert_eq!(x.link().is_some(), x.has_parent());
                prop_assert!(x.xray_trace_id().starts_with("1-"));
                prop_assert_eq!(x.xray_trace_id().len(), 35);
            }
        }

        #[test]
        fn only_sampled_one_with_a_parent_is_a_parent(
            epoch in hex(8),
            unique in hex(24),
            parent in proptest::option::of(hex(16)),
            sampled in proptest::option::of(proptest::sample::select(vec!["0", "1", "?", "x"])),
            lineage in proptest::bool::ANY,
        ) {
            prop_assume!(epoch.chars().chain(unique.chars()).any(|c| c != '0'));
            let mut header = format!("Root=1-{epoch}-{unique}");
            if let Some(parent) = &parent {
                header.push_str(&format!(";Parent={parent}"));
            }
            if let Some(sampled) = sampled {
                header.push_str(&format!(";Sampled={sampled}"));
            }
            if lineage {
                header.push_str(";Lineage=a87bd80c:1");
            }
            let x = XrayHeader::parse(&header).unwrap();
            prop_assert_eq!(x.xray_trace_id(), format!("1-{epoch}-{unique}"));
            prop_assert_eq!(x.trace_id().to_string(), format!("{epoch}{unique}"));
            let valid_parent = parent.as_ref().is_some_and(|p| p.chars().any(|c| c != '0'));
            prop_assert_eq!(x.has_parent(), valid_parent);
            prop_assert_eq!(x.parent().is_some(), valid_parent && sampled == Some("1"));
            prop_assert_eq!(x.link().is_some(), valid_parent);
            if let Some(link) = x.link() {
                prop_assert_eq!(link.span_context.is_sampled(), sampled == Some("1"));
            }
        }
    }
}
