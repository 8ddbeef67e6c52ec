//! Where the workspace is, where cargo writes its output, and how to run cargo in it.
//!
//! A leaf module: it uses no other xtask module, so every command can use it.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The workspace root: the parent of this crate's directory.
///
/// `cargo run` sets `CARGO_MANIFEST_DIR` for the program it runs; the compile-time value is the
/// fallback when the binary is started directly.
pub fn root() -> Result<PathBuf> {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let root = manifest_dir
        .parent()
        .with_context(|| format!("{} has no parent directory", manifest_dir.display()))?
        .to_path_buf();
    if !root.join("Cargo.toml").is_file() {
        bail!(
            "{} does not look like the workspace root (no Cargo.toml)",
            root.display()
        );
    }
    Ok(root)
}

/// `CARGO_TARGET_DIR` when set (relative to the root), else `ROOT/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// A `cargo` command run from `root`: the cargo that runs xtask (`CARGO`), else `cargo` on
/// `PATH`.
pub fn cargo(root: &Path) -> Command {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_has_the_workspace_manifest() -> Result<()> {
        let root = root()?;
        assert!(root.join("xtask").join("Cargo.toml").is_file());
        Ok(())
    }

    #[test]
    fn cargo_runs_from_the_root() -> Result<()> {
        let root = root()?;
        let command = cargo(&root);
        assert_eq!(command.get_current_dir(), Some(root.as_path()));
        Ok(())
    }
}
