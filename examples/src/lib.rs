//! Example functions traced with faas-otel. Each binary in `src/bin` is a complete function,
//! configured only by the platform's and the standard `OTEL_*` variables.
