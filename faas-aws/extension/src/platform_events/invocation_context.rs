//! [`InvocationContext`]: where an invocation's span sits, learned from the function's spans.

/// What the function's own spans tell about one invocation: the span carrying its
/// `faas.invocation_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvocationContext {
    /// The trace id.
    pub trace_id: [u8; 16],
    /// The invocation span's id.
    pub span_id: [u8; 8],
    /// The invocation span's parent, `None` when it is a root.
    pub parent_span_id: Option<[u8; 8]>,
    /// Its `faas.coldstart`, when set.
    pub coldstart: Option<bool>,
}
