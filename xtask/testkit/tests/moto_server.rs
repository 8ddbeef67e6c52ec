//! The std-only moto launcher against a real `moto_server`, when one is installed: set
//! `FAAS_TESTKIT_MOTO_SERVER` to its path (e.g. `.venv/bin/moto_server`); skipped otherwise.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use faas_testkit::{MotoServer, http_request};

#[test]
fn starts_moto_on_a_port_the_kernel_picks() {
    let Ok(program) = std::env::var("FAAS_TESTKIT_MOTO_SERVER") else {
        eprintln!("SKIPPED: FAAS_TESTKIT_MOTO_SERVER is not set");
        return;
    };
    let moto = MotoServer::start(Command::new(program), Duration::from_secs(60)).unwrap();
    assert!(moto.endpoint().starts_with("http://127.0.0.1:"));
    let (status, _) = http_request(
        moto.addr(),
        "GET",
        "/moto-api/",
        None,
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(status, 200);
    let pid = moto.process().pid();
    drop(moto);
    assert!(!std::path::Path::new(&format!("/proc/{pid}/stat")).exists());
}
