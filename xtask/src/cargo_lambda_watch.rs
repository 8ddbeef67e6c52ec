//! The `cargo-lambda` binary for `examples/tests/cargo_lambda_watch.rs` (`cargo lambda watch`,
//! the local loop users run), installed into the test venv from PyPI with `--no-deps`: `watch`
//! and `invoke` build for the host with the normal toolchain, so zig (the `ziglang` package
//! `cargo xtask build` needs for cross-compiling) is left out. The version is the one
//! `xtask/requirements-build.txt` pins; an installed binary of that version is reused.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::venv::Venv;

/// The variable that hands the binary's path to `cargo test`.
pub const CARGO_LAMBDA_VAR: &str = "FAAS_OTEL_TEST_CARGO_LAMBDA";

/// The requirements file whose `cargo-lambda==` pin is installed.
const BUILD_REQUIREMENTS: &str = "xtask/requirements-build.txt";

/// The pinned version in `requirements` (`cargo-lambda==1.9.2` gives `1.9.2`).
fn pinned_version(requirements: &str) -> Option<&str> {
    requirements
        .lines()
        .find_map(|line| line.trim().strip_prefix("cargo-lambda=="))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The version `binary` reports (`cargo-lambda 1.9.2 (…)` gives `1.9.2`), when it runs.
fn installed_version(binary: &Path) -> Option<String> {
    let output = Command::new(binary)
        .args(["lambda", "--version"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.split_whitespace().nth(1).map(str::to_owned)
}

/// The cargo-lambda binary in `venv`, installed (`pip install --no-deps`) unless the pinned
/// version is already there.
pub fn ensure(root: &Path, venv: &Venv) -> Result<PathBuf> {
    let path = root.join(BUILD_REQUIREMENTS);
    let requirements =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let Some(version) = pinned_version(&requirements) else {
        bail!("{BUILD_REQUIREMENTS} pins no cargo-lambda== version");
    };
    let binary = venv.bin("cargo-lambda");
    if installed_version(&binary).as_deref() == Some(version) {
        eprintln!(
            "xtask:   cargo-lambda {version} already in {}",
            venv.dir().display()
        );
        return Ok(binary);
    }
    eprintln!("xtask:   installing cargo-lambda=={version} (--no-deps: no zig) ...");
    let started = Instant::now();
    let package = format!("cargo-lambda=={version}");
    let status = venv
        .pip_install(&["--no-deps".as_ref(), package.as_ref()], root)
        .context("installing cargo-lambda")?;
    if !status.success() || installed_version(&binary).as_deref() != Some(version) {
        bail!(
            "`pip install --no-deps cargo-lambda=={version}` failed ({status}): PyPI must be reachable"
        );
    }
    eprintln!(
        "xtask:   cargo-lambda installed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(binary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pin_is_read_from_the_build_requirements() -> Result<()> {
        assert_eq!(pinned_version("# x\ncargo-lambda==1.9.2\n"), Some("1.9.2"));
        assert_eq!(pinned_version("ziglang==0.13\n"), None);
        assert_eq!(pinned_version("cargo-lambda==\n"), None);
        let root = crate::workspace::root()?;
        let text = std::fs::read_to_string(root.join(BUILD_REQUIREMENTS))?;
        assert!(pinned_version(&text).is_some(), "{text}");
        Ok(())
    }
}
