//! `cargo xtask test [-- ARGS]`: the project's one test command.
//!
//! 1. `./.venv` with the Python test tools (created / reinstalled only when needed);
//! 2. `moto_server` on `127.0.0.1` and a port the kernel picked, Lambda switched to its
//!    Docker-free mode;
//! 3. `cargo test --workspace ARGS` with the moto endpoint and dummy AWS credentials in its
//!    environment;
//! 4. the infrastructure checks ([`crate::infra_checks`]: Terraform fmt/validate, `terraform/aws`
//!    deployed twice to the same moto, checkov), each missing tool a loud SKIPPED line; only
//!    when no arguments narrowed the run;
//! 5. the servers stopped on every path out; the exit status is cargo test's, or 1 when it
//!    passed and an infrastructure check failed.

use std::path::Path;
use std::process::ExitStatus;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::infra_checks;
use crate::servers::{self, MotoServer};
use crate::venv;
use crate::workspace;

/// What `cargo test` gets when no package was picked: the whole workspace, with the
/// extension's optional gRPC receiver (package `faas-otel-extension`, feature `grpc`) built and
/// tested too, and `hello` on Azure (`examples/azure`), so that examples/tests/azure.rs runs that
/// binary as built instead of a nested `cargo build` with other dependency features (which
/// rebuilt half the dependency tree, about two minutes on 2 cores), and the examples' HTTPS
/// exports (`examples/sigv4`: tests/aws_sigv4.rs; `examples/tls`), which are off by default so
/// that rustls stays out of the functions users build. Not `--all-features`: the examples'
/// provider features (aws, azure, gcp) exclude each other.
pub const WORKSPACE: [&str; 3] = [
    "--workspace",
    "--features",
    "faas-otel-extension/grpc,examples/azure,examples/sigv4,examples/tls",
];

const STEPS: usize = 5;

fn step(n: usize, what: &str) {
    eprintln!("\nxtask: [{n}/{STEPS}] {what}");
}

/// Runs the whole test command from the workspace `root`; `args` are the arguments after
/// `test` (a leading `--` is dropped). Returns the exit status to exit with.
pub fn run(root: &Path, args: &[String]) -> Result<u8> {
    let started = Instant::now();
    let cargo_args = cargo_test_args(args);

    step(1, "Python test tools in ./.venv");
    let venv = venv::ensure(root)?;
    let cargo_lambda = crate::cargo_lambda_watch::ensure(root, &venv)?;

    step(2, "starting moto (AWS emulator) on 127.0.0.1");
    let target_dir = workspace::target_dir(root);
    let log_dir = target_dir.join("xtask-logs");
    let mut moto = match MotoServer::start(&venv, &log_dir) {
        Ok(moto) => moto,
        Err(err) => {
            // The guard inside `start` has already stopped the process.
            servers::print_log_tail("moto", &log_dir.join("moto.log"));
            return Err(err);
        }
    };

    step(3, &format!("cargo {}", cargo_args.join(" ")));
    let status = workspace::cargo(root)
        .args(&cargo_args)
        .env(servers::MOTO_ENDPOINT_VAR, moto.endpoint())
        // The venv's Python (botocore) for the independent SigV4 checks (faas_testkit::Sigv4Check).
        .env("FAAS_OTEL_TEST_PYTHON", venv.python())
        // `cargo lambda watch` / `invoke` for examples/tests/cargo_lambda_watch.rs.
        .env(crate::cargo_lambda_watch::CARGO_LAMBDA_VAR, &cargo_lambda)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        // Never let an SDK credential chain probe the EC2 instance metadata address.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .status()
        .context("running cargo test");
    // `status` may be an error; the guard still stops moto when this function returns.
    let status = status?;

    step(
        4,
        "infrastructure: terraform fmt/validate, terraform/aws deployed to moto twice, checkov",
    );
    let infra = if cargo_args[1..] == WORKSPACE {
        let summary = infra_checks::run(root, &target_dir, moto.port());
        summary.print();
        Some(summary)
    } else {
        eprintln!(
            "xtask: WARNING: infrastructure checks NOT RUN: arguments were given to cargo test \
             (a focused run). `cargo xtask test` without arguments runs them."
        );
        None
    };
    let infra_failed = infra.as_ref().is_some_and(infra_checks::Summary::failed);

    step(5, "stopping servers");
    if !status.success() || infra_failed {
        servers::print_log_tail("moto", moto.log());
    }
    moto.stop();

    let code = exit_code(status);
    let secs = started.elapsed().as_secs_f64();
    if code != 0 {
        eprintln!("\nxtask: test FAILED (cargo test exited {code}) after {secs:.0} s");
        return Ok(code);
    }
    if infra_failed {
        eprintln!("\nxtask: test FAILED (infrastructure checks, see above) after {secs:.0} s");
        return Ok(1);
    }
    eprintln!("\nxtask: test finished OK in {secs:.0} s");
    Ok(0)
}

/// The arguments for `cargo`: `test`, `--workspace` unless the caller picked packages (cargo
/// ignores `-p` next to `--workspace`), then the caller's arguments.
pub fn cargo_test_args(args: &[String]) -> Vec<String> {
    let args = match args.split_first() {
        Some((first, rest)) if first == "--" => rest,
        _ => args,
    };
    // Only look before a `--`: what follows it belongs to the test binaries.
    let cargo_part = args.split(|a| a == "--").next().unwrap_or_default();
    let picks_packages = cargo_part.iter().any(|a| {
        a == "-p"
            || a == "--package"
            || a.starts_with("--package=")
            || (a.starts_with("-p") && a.len() > 2)
            || a == "--workspace"
            || a == "--all"
    });
    let mut out = vec!["test".to_string()];
    if !picks_packages {
        out.extend(WORKSPACE.iter().map(|a| a.to_string()));
    }
    out.extend(args.iter().cloned());
    out
}

/// The exit status to pass on: cargo's code, or 128 + signal when it was killed by one.
fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(1),
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_workspace_by_default() {
        assert_eq!(
            cargo_test_args(&[]),
            [
                "test",
                "--workspace",
                "--features",
                "faas-otel-extension/grpc,examples/azure,examples/sigv4,examples/tls"
            ]
        );
        assert_eq!(
            cargo_test_args(&["--", "flush", "--", "--nocapture"].map(String::from)),
            [
                "test",
                "--workspace",
                "--features",
                "faas-otel-extension/grpc,examples/azure,examples/sigv4,examples/tls",
                "flush",
                "--",
                "--nocapture"
            ]
        );
    }

    #[test]
    fn package_selection_drops_workspace() {
        assert_eq!(
            cargo_test_args(&["--", "-p", "xtask"].map(String::from)),
            ["test", "-p", "xtask"]
        );
        assert_eq!(
            cargo_test_args(&["--package=faas-core", "flush"].map(String::from)),
            ["test", "--package=faas-core", "flush"]
        );
        assert_eq!(
            cargo_test_args(&["-pxtask"].map(String::from)),
            ["test", "-pxtask"]
        );
    }

    #[test]
    fn a_test_binary_flag_after_dashdash_is_not_a_package_pick() {
        assert_eq!(
            cargo_test_args(&["--", "--", "-p"].map(String::from)),
            [
                "test",
                "--workspace",
                "--features",
                "faas-otel-extension/grpc,examples/azure,examples/sigv4,examples/tls",
                "--",
                "-p"
            ]
        );
    }

    #[test]
    fn exit_codes_pass_through() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(101 << 8)), 101);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
    }

    /// Under `cargo xtask test` this checks the wiring end to end: the endpoint reaches the
    /// tests, moto answers on it, and Lambda is in its Docker-free mode. Plain `cargo test`
    /// has no endpoint, and the check has nothing to look at.
    #[test]
    fn moto_from_xtask_answers_and_runs_lambda_without_docker() -> Result<()> {
        let Some(port) = servers::moto_port_under_xtask()? else {
            return Ok(());
        };
        let (status, body) = crate::local_http::json(port, "GET", "/moto-api/config", None)?;
        assert!((200..300).contains(&status), "{status}: {body}");
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(compact.contains(r#""use_docker":false"#), "{body}");
        Ok(())
    }
}
