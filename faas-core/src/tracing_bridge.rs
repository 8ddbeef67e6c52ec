//! tracing bridge
