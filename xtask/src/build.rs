//! `cargo xtask build [--arch x86_64|arm64] [--release]`: the Lambda binaries for
//! `provided.al2023`.
//!
//! Cross-compiles with cargo-lambda (installed from PyPI into `./.venv-build` with the zig it
//! links with, `xtask/requirements-build.txt`), two cargo runs:
//! 1. the example functions `aws-http-api`, `aws-sqs-consumer`, `aws-chain` (package `examples`)
//!    into `target/lambda/<arch>/<function>/bootstrap`;
//! 2. the extension (`-p faas-otel-extension --bin faas-otel-extension`) into
//!    `target/lambda/<arch>/extensions/faas-otel-extension`; with `--release` under the
//!    `extension` profile (speed, not size: [`EXTENSION_PROFILE`]).
//!
//! They run separately so the functions are built with exactly the features their users get
//! (one cargo run would unify the extension's dependency features into them), and because
//! cargo-lambda builds an extension with `--extension`. Both share cargo's target dir
//! (`target/<triple>/{debug,release,extension}`).
//!
//! Exit status: 0 when everything requested was built; 1 otherwise. A missing Rust target
//! (rustup cannot fetch one offline) builds nothing and says what to run; when one of the two
//! runs fails, the other still runs and what was built is listed, but the status is 1: a
//! half-built set is not a deployable one.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::lambda_arch::{
    self, Arch, EXTENSION, EXTENSION_CARGO_ARGS, EXTENSION_PROFILE, FUNCTIONS,
};
use crate::venv;
use crate::workspace;

/// The venv that holds cargo-lambda and zig (gitignored).
pub const BUILD_VENV: &str = ".venv-build";
/// Its requirements file.
pub const BUILD_REQUIREMENTS: &str = "xtask/requirements-build.txt";

/// Options of `cargo xtask build`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The instruction set to build for.
    pub arch: Arch,
    /// `--release`: cargo's release profile for the functions (size-optimised) and the
    /// `extension` profile for the extension (speed-optimised); see the workspace Cargo.toml.
    pub release: bool,
}

/// Parses the arguments after `build`.
pub fn parse(args: &[String]) -> Result<Options> {
    let (arch, rest) = lambda_arch::take_arch(args)?;
    let mut release = false;
    for arg in rest {
        match arg.as_str() {
            "--release" | "-r" => release = true,
            other => bail!("unknown argument `{other}` (accepted: --arch x86_64|arm64, --release)"),
        }
    }
    Ok(Options {
        arch: arch.unwrap_or_else(Arch::default_for_host),
        release,
    })
}

/// Runs `cargo xtask build` from the workspace `root`; returns the exit status.
pub fn run(root: &Path, args: &[String]) -> Result<u8> {
    let options = parse(args)?;
    let started = Instant::now();
    let profile = if options.release { "release" } else { "debug" };
    eprintln!(
        "xtask: building the Lambda binaries for {} ({profile})",
        options.arch.lambda_name()
    );

    if let Some(missing) = missing_rust_target(options.arch)? {
        eprintln!(
            "xtask: error: the Rust target {missing} is not installed, so nothing can be built for {}.\n\
             xtask:   On a machine with network access run:  rustup target add {missing}\n\
             xtask:   (rustup cannot fetch targets here.) {}",
            options.arch.lambda_name(),
            match Arch::host() {
                Some(host) if host != options.arch =>
                    format!("This machine can build `--arch {}`.", host.lambda_name()),
                _ => String::new(),
            }
        );
        return Ok(1);
    }

    eprintln!("xtask: [1/3] cargo-lambda and zig in ./{BUILD_VENV}");
    let venv = venv::ensure_at(root, BUILD_VENV, BUILD_REQUIREMENTS).context(
        "cargo-lambda is installed from PyPI: Python 3 with venv and pip must work here",
    )?;

    let target_dir = workspace::target_dir(root);
    let lambda_dir = options.arch.lambda_dir(&target_dir);
    let mut failed = Vec::new();

    eprintln!("xtask: [2/3] the functions: {}", FUNCTIONS.join(", "));
    let mut functions = vec!["-p".to_string(), "examples".to_string()];
    for function in FUNCTIONS {
        functions.extend(["--bin".to_string(), function.to_string()]);
    }
    if !cargo_lambda(root, &venv, &options, &lambda_dir, false, &functions)? {
        failed.push("the functions");
    }

    eprintln!("xtask: [3/3] the extension: {EXTENSION}");
    let extension = EXTENSION_CARGO_ARGS.map(String::from);
    if !cargo_lambda(root, &venv, &options, &lambda_dir, true, &extension)? {
        failed.push("the extension");
    }

    eprintln!(
        "xtask: built for {} ({profile}):",
        options.arch.lambda_name()
    );
    for path in &lambda_arch::binary_paths(&lambda_dir) {
        let shown = path.strip_prefix(root).unwrap_or(path).display();
        match path.metadata() {
            Ok(meta) => eprintln!("xtask:   {shown}  {}", lambda_arch::human_size(meta.len())),
            Err(_) => eprintln!("xtask:   {shown}  MISSING"),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    if failed.is_empty() {
        eprintln!(
            "xtask: build finished in {secs:.0} s; next: cargo xtask package --arch {}",
            options.arch.lambda_name()
        );
        Ok(0)
    } else {
        eprintln!(
            "xtask: build FAILED for {} after {secs:.0} s (see cargo's errors above)",
            failed.join(" and ")
        );
        Ok(1)
    }
}

/// Runs `cargo lambda build` for `what`; returns whether it succeeded.
fn cargo_lambda(
    root: &Path,
    venv: &venv::Venv,
    options: &Options,
    lambda_dir: &Path,
    extension: bool,
    what: &[String],
) -> Result<bool> {
    let mut command = Command::new(venv.bin("cargo-lambda"));
    command
        .args(["lambda", "build", "--target", options.arch.rust_target()])
        .arg("--lambda-dir")
        .arg(lambda_dir)
        .args(what)
        .current_dir(root);
    command.args(profile_args(options.release, extension));
    if extension {
        command.arg("--extension");
    }
    // cargo-lambda finds zig (the `ziglang` package) through the venv's python.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![venv.dir().join("bin")];
    dirs.extend(std::env::split_paths(&path));
    command.env("PATH", std::env::join_paths(dirs).context("joining PATH")?);
    let status = command
        .status()
        .with_context(|| format!("running {}", venv.bin("cargo-lambda").display()))?;
    Ok(status.success())
}

/// The cargo profile arguments of one build: `--release` for the functions, the `extension`
/// profile for the extension, nothing for a debug build.
fn profile_args(release: bool, extension: bool) -> &'static [&'static str] {
    match (release, extension) {
        (true, true) => &["--profile", EXTENSION_PROFILE],
        (true, false) => &["--release"],
        (false, _) => &[],
    }
}

/// The Rust target `arch` needs when `rustup` says it is not installed; `None` when it is, or
/// when there is no rustup to ask (cargo then reports a missing target itself).
fn missing_rust_target(arch: Arch) -> Result<Option<&'static str>> {
    let output = match Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    {
        Ok(output) if output.status.success() => output,
        _ => {
            eprintln!(
                "xtask:   rustup not available: cannot check that {} is installed",
                arch.rust_target()
            );
            return Ok(None);
        }
    };
    let installed = String::from_utf8_lossy(&output.stdout);
    Ok(is_missing(&installed, arch.rust_target()).then_some(arch.rust_target()))
}

/// Whether `target` is absent from `rustup target list --installed`'s output.
fn is_missing(installed: &str, target: &str) -> bool {
    !installed.lines().any(|line| line.trim() == target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() -> Result<()> {
        assert_eq!(
            parse(&["--release", "--arch", "arm64"].map(String::from))?,
            Options {
                arch: Arch::Arm64,
                release: true
            }
        );
        let default = parse(&[])?;
        assert!(!default.release);
        assert_eq!(default.arch, Arch::default_for_host());
        let err = parse(&["--fast"].map(String::from))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("unknown argument `--fast` (accepted: --arch x86_64|arm64, --release)")
        );
        Ok(())
    }

    #[test]
    fn the_extension_is_built_for_speed_and_the_functions_for_size() {
        assert_eq!(profile_args(true, true), ["--profile", "extension"]);
        assert_eq!(profile_args(true, false), ["--release"]);
        assert!(profile_args(false, true).is_empty());
        assert!(profile_args(false, false).is_empty());
    }

    #[test]
    fn missing_target_detection() {
        let installed = "x86_64-unknown-linux-gnu\nwasm32-unknown-unknown\n";
        assert!(!is_missing(installed, "x86_64-unknown-linux-gnu"));
        assert!(is_missing(installed, "aarch64-unknown-linux-gnu"));
        assert!(is_missing("", "x86_64-unknown-linux-gnu"));
    }

    #[test]
    fn the_build_requirements_pin_cargo_lambda() -> Result<()> {
        let root = workspace::root()?;
        let text = std::fs::read_to_string(root.join(BUILD_REQUIREMENTS))?;
        assert!(
            text.lines().any(|l| l.starts_with("cargo-lambda==")),
            "cargo-lambda must be pinned:\n{text}"
        );
        Ok(())
    }
}
