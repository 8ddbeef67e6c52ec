//! [`FlushPolicy`]: when the HTTP server layer flushes; see the [`http_server`](super) docs.

/// When the layer flushes the spans of a request; see the [`http_server`](super) docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FlushPolicy {
    /// Flush before the response is handed back (the default): nothing is lost when the
    /// platform throttles or freezes the instance after the response, at the cost of up to
    /// the flush budget of response latency.
    #[default]
    BeforeResponse,
    /// Spawn the flush and hand the response back at once; only for platforms whose CPU stays
    /// allocated after the response.
    AfterResponse,
}
