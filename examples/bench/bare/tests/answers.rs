//! The baseline answers every event with `{"ok":true}`, as `bench-faas` and `bench-upstream`
//! do (the bench compares their cycles), under the scripted Lambda emulator. The test also
//! makes `cargo test --workspace` build the binary, which lambda-emulator's
//! `runs_a_real_lambda_runtime_binary` then runs.
#![allow(clippy::unwrap_used)]

use lambda_emulator::{InvokeEvent, ScriptedLambda};

#[test]
fn every_event_is_answered_ok() {
    answers_ok(&[]);
}

/// The variant section 7 runs as the baseline of `faas_aws::run`'s loop placement.
#[test]
fn every_event_is_answered_ok_with_the_loop_on_a_worker() {
    answers_ok(&[("FAAS_OTEL_BENCH_LOOP", "worker")]);
}

fn answers_ok(env: &[(&str, &str)]) {
    let lambda = ScriptedLambda::start().unwrap();
    let _function = lambda
        .start_runtime(env!("CARGO_BIN_EXE_bench-bare"), env)
        .unwrap();
    for n in 0..3 {
        let event = InvokeEvent::new(format!("req-{n}")).payload(format!("{{\"n\":{n}}}"));
        let answer = lambda.invoke_and_answer(event);
        assert_eq!(
            (answer.text().as_str(), answer.error),
            (r#"{"ok":true}"#, None)
        );
    }
}
