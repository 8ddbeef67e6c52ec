//! The no-op extension registers for INVOKE and SHUTDOWN, asks for the next event after every
//! INVOKE, and exits 0 at SHUTDOWN, under the scripted Lambda emulator.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use faas_testkit::Process;
use lambda_emulator::{InvokeEvent, ScriptedLambda};

#[test]
fn registers_asks_for_every_next_event_and_ends_at_shutdown() {
    let lambda = ScriptedLambda::start().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_bench-noop-extension"));
    command.env_clear().envs(lambda.env());
    let mut extension = Process::spawn(command).unwrap();
    lambda.wait_nexts(1);
    let registrations = lambda.registrations();
    assert_eq!(registrations.len(), 1, "{registrations:?}");
    assert_eq!(registrations[0].1, ["INVOKE", "SHUTDOWN"]);
    assert!(!registrations[0].2, "refused");
    for n in 0..3 {
        let delivered = lambda.invoke_and_wait(InvokeEvent::new(format!("req-{n}")));
        let next = lambda.wait_nexts(n + 2);
        assert!(next > delivered, "next {next} after delivery {delivered}");
    }
    lambda.shutdown("spindown", Duration::from_secs(2));
    let shutdown = lambda.wait_delivered("SHUTDOWN");
    let status = extension.wait_exit(Duration::from_secs(20)).unwrap();
    assert!(status.success(), "{status}\n{}", extension.stderr());
    // One `next` before each of the 4 events (the event loop may start one more after
    // SHUTDOWN before the process ends: not counted).
    let before_shutdown = lambda
        .entries()
        .iter()
        .filter(|l| l.seq < shutdown && l.entry.is_next())
        .count();
    assert_eq!(before_shutdown, 4);
}
