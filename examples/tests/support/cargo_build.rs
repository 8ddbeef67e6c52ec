//! A binary built apart from the test build (another profile, other features).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs `cargo build ARGS --message-format=json` in this package's directory (its stderr
/// shown) and returns the executable cargo reports for the target named `target`.
pub fn cargo_built(args: &[&str], target: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .arg("build")
        .args(args)
        .arg("--message-format=json")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo build {} failed",
        args.join(" ")
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == target)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap()
}

/// A copy of `binary` at a path of this test process's own, `<temp dir>/<name>-<pid>` (another
/// build may replace the original while the tests run).
pub fn private_copy(binary: &Path, name: &str) -> PathBuf {
    let copy = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    std::fs::copy(binary, &copy).unwrap();
    copy
}
