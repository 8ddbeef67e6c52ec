//! `faas-otel-extension`: placeholder until the extension lands.
fn main() {}
