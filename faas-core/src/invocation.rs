//! invocation (in progress).
