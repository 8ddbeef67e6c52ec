//! `cargo xtask test [-- ARGS]`: the project's one test command.
//!
//! 1. `./.venv` with the Python test tools (created / reinstalled only when needed);
//! 2. `moto_server` on `127.0.0.1` and a free port, Lambda switched to its Docker-free mode;
//! 3. `cargo test --workspace ARGS` with the moto endpoint and dummy AWS credentials in its
//!    environment;
//! 4. the infrastructure checks ([`crate::infra_checks`]: Terraform fmt/validate, `terraform/aws`
//!    deployed twice to the same moto, checkov), each missing tool a loud SKIPPED line; only
//!    when no arguments narrowed the run;
//! 5. the servers stopped on every path out; the exit status is cargo test's, or 1 when it
//!    passed and an infrastructure check failed.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::infra_checks;
use crate::servers::{self, MotoServer};
use crate::venv;

/// What `cargo test` gets when no package was picked: the whole workspace, with the
/// extension (a feature of faas-aws, with its gRPC receiver) built and tested too.
pub const WORKSPACE: [&str; 3] = ["--workspace", "--features", "faas-aws/extension-grpc"];

/// The variable through which the tests find moto.
pub const MOTO_ENDPOINT_VAR: &str = "FAAS_OTEL_TEST_MOTO_ENDPOINT";

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

    step(2, "starting moto (AWS emulator) on 127.0.0.1");
    let log_dir = target_dir(root).join("xtask-logs");
    let mut moto = match MotoServer::start(&venv, &log_dir) {
        Ok(moto) => moto,
        Err(err) => {
            // The guard inside `start` has already stopped the process.
            servers::print_log_tail("moto", &log_dir.join("moto.log"));
            return Err(err);
        }
    };

    step(3, &format!("cargo {}", cargo_args.join(" ")));
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(&cargo_args)
        .current_dir(root)
        .env(MOTO_ENDPOINT_VAR, moto.endpoint())
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
        let summary = infra_checks::run(root, &target_dir(root), moto.port());
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

/// The first executable file called `name` in `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// `CARGO_TARGET_DIR` when set (relative to the root), else `ROOT/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
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

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn whole_workspace_by_default() {
        assert_eq!(
            cargo_test_args(&[]),
            [
                "test",
                "--workspace",
                "--features",
                "faas-aws/extension-grpc"
            ]
        );
        assert_eq!(
            cargo_test_args(&strings(&["--", "flush", "--", "--nocapture"])),
            [
                "test",
                "--workspace",
                "--features",
                "faas-aws/extension-grpc",
                "flush",
                "--",
                "--nocapture"
            ]
        );
    }

    #[test]
    fn package_selection_drops_workspace() {
        assert_eq!(
            cargo_test_args(&strings(&["--", "-p", "xtask"])),
            ["test", "-p", "xtask"]
        );
        assert_eq!(
            cargo_test_args(&strings(&["--package=faas-core", "flush"])),
            ["test", "--package=faas-core", "flush"]
        );
        assert_eq!(cargo_test_args(&strings(&["-pxtask"])), ["test", "-pxtask"]);
    }

    #[test]
    fn a_test_binary_flag_after_dashdash_is_not_a_package_pick() {
        assert_eq!(
            cargo_test_args(&strings(&["--", "--", "-p"])),
            [
                "test",
                "--workspace",
                "--features",
                "faas-aws/extension-grpc",
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
        let Ok(endpoint) = env::var(MOTO_ENDPOINT_VAR) else {
            eprintln!(
                "{MOTO_ENDPOINT_VAR} not set (not under `cargo xtask test`): nothing to check"
            );
            return Ok(());
        };
        let port: u16 = endpoint
            .strip_prefix("http://127.0.0.1:")
            .with_context(|| format!("unexpected endpoint {endpoint}"))?
            .parse()?;
        let (status, body) = servers::http_request(port, "GET", "/moto-api/config", None)?;
        assert!((200..300).contains(&status), "{status}: {body}");
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(compact.contains(r#""use_docker":false"#), "{body}");
        Ok(())
    }

    #[test]
    fn finds_sh_on_path() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("no-such-tool-xtask").is_none());
    }
}
