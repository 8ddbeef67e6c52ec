//! The invocation's own X-Ray header (`Lambda-Runtime-Trace-Id`), read the PassThrough way
//! ([`XrayHeader`]): the parent only with `Sampled=1`; otherwise the invocation is a fresh root
//! that keeps the X-Ray trace id and links to the X-Ray segment.

use faas_core::invocation::Invocation;
use faas_core::propagation::XrayHeader;
use opentelemetry::Context;

/// The parent the invocation's X-Ray header gives: only `Sampled=1` with a `Parent`. `Sampled=0`,
/// deferred (`Sampled=?` or none) and Root-only headers give none, so that Lambda's default
/// PassThrough mode does not make a parent-based sampler drop the trace.
pub fn xray_parent(header: &str) -> Option<Context> {
    XrayHeader::parse(header)?.parent()
}

/// `invocation`, a fresh root, correlated with the invocation's X-Ray header when it has one
/// with a valid `Root`: the attribute `faas_otel.xray.trace_id` (X-Ray's format) and, when the
/// header names a `Parent`, a link to that segment (after the links of the messages).
pub fn correlate_with_xray(invocation: Invocation, header: Option<&str>) -> Invocation {
    let Some(xray) = header.and_then(XrayHeader::parse) else {
        return invocation;
    };
    invocation
        .with_attribute(xray.attribute())
        .with_links(xray.link())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use opentelemetry::trace::TraceContextExt as _;

    use super::*;

    #[test]
    fn only_a_sampled_header_is_a_parent() {
        let root = "Root=1-5759e988-bd862e3fe1be46a994272793";
        let sampled = format!("{root};Parent=53995c3f42cd8ad8;Sampled=1");
        let parent = xray_parent(&sampled).unwrap();
        assert!(parent.span().span_context().is_sampled());
        for header in [
            format!("{root};Parent=53995c3f42cd8ad8;Sampled=0"),
            format!("{root};Parent=53995c3f42cd8ad8;Sampled=?"),
            format!("{root};Parent=53995c3f42cd8ad8"),
            format!("{root};Sampled=1"),
            root.to_owned(),
            "garbage".to_owned(),
        ] {
            assert!(xray_parent(&header).is_none(), "{header}");
        }
    }
}
