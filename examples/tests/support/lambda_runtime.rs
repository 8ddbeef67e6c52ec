//! An example binary started as Lambda starts a runtime, under the scripted emulator.

use faas_testkit::Process;
use faas_testkit::otlp::OtlpReceiver;
use lambda_emulator::{ScriptedLambda, ScriptedOptions};

/// The scripted Runtime API of function `orders` in eu-west-1, keeping at most
/// `max_concurrency` invocations in flight (above 1 the function is told so by
/// `AWS_LAMBDA_MAX_CONCURRENCY`).
pub fn scripted_lambda(max_concurrency: usize) -> ScriptedLambda {
    ScriptedLambda::start_with(ScriptedOptions {
        region: "eu-west-1".into(),
        max_concurrency,
        ..ScriptedOptions::default()
    })
    .unwrap()
}

/// `binary` started as Lambda starts a runtime against `lambda`: with only the Runtime API's
/// variables and `extra`, exporting to `endpoint` (no metrics).
pub fn start_runtime(
    binary: &str,
    lambda: &ScriptedLambda,
    endpoint: &str,
    extra: &[(&str, &str)],
) -> Process {
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_METRICS_EXPORTER", "none"),
    ];
    env.extend_from_slice(extra);
    lambda.start_runtime(binary, &env).unwrap()
}

/// A new receiver, the Runtime API of [`scripted_lambda`]`(1)` and `binary` running against
/// them ([`start_runtime`] with `extra`).
pub fn launch_runtime(
    binary: &str,
    extra: &[(&str, &str)],
) -> (OtlpReceiver, ScriptedLambda, Process) {
    let collector = OtlpReceiver::start().unwrap();
    let api = scripted_lambda(1);
    let function = start_runtime(binary, &api, &collector.url(), extra);
    (collector, api, function)
}
