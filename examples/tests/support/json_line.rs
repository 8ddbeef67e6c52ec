//! A function's JSON log line, read from its stdout.

use std::time::Duration;

use faas_testkit::Process;
use serde_json::{Map, Value};

/// The stdout line of `function` whose `message` is `message` (waiting at most 10 s for it),
/// parsed as a JSON object.
pub fn json_line(function: &Process, message: &str) -> Map<String, Value> {
    let needle = format!("\"message\":\"{message}\"");
    let line = function
        .wait_for_stdout_line(Duration::from_secs(10), |l| l.contains(&needle))
        .unwrap();
    serde_json::from_str::<Value>(&line)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}
