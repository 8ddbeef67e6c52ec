//! Trace-context propagation (in progress).
