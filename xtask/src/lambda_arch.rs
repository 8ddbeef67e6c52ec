//! The instruction sets Lambda runs, and where each one's build output lives.
//!
//! `build`, `package` and `deploy-aws` share one layout under the target directory:
//! `target/lambda/<arch>/<function>/bootstrap` and
//! `target/lambda/<arch>/extensions/faas-otel-extension` (what `cargo lambda build
//! --lambda-dir target/lambda/<arch>` writes), and `target/lambda/<arch>/<function>.zip` plus
//! `target/lambda/<arch>/faas-otel-extension.zip` (what `package` writes and Terraform reads).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// The example functions deployed to Lambda: binaries of the `examples` package.
pub const FUNCTIONS: [&str; 3] = ["aws-http-api", "aws-sqs-consumer", "aws-chain"];

/// The extension binary, and the name of its layer zip.
pub const EXTENSION: &str = "faas-otel-extension";

/// The package the extension binary is in (`faas-aws/extension/`).
pub const EXTENSION_PACKAGE: &str = "faas-otel-extension";

/// The cargo arguments that select the extension binary: `-p faas-otel-extension --bin
/// faas-otel-extension` (with its default features, as the layer ships it).
pub const EXTENSION_CARGO_ARGS: [&str; 4] = ["-p", EXTENSION_PACKAGE, "--bin", EXTENSION];

/// The cargo profile of the extension's release build (the workspace `Cargo.toml`: the release
/// profile at opt-level 3, because the extension's CPU is billed at every invocation and its
/// size is not). Its output is `target/extension/faas-otel-extension` for the host.
pub const EXTENSION_PROFILE: &str = "extension";

/// A Lambda instruction set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// `x86_64` (Rust target `x86_64-unknown-linux-gnu`).
    X86_64,
    /// `arm64` (Graviton; Rust target `aarch64-unknown-linux-gnu`).
    Arm64,
}

impl Arch {
    /// Lambda's name for it, as in `architectures = ["arm64"]`.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }

    /// The Rust target triple.
    pub fn rust_target(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64-unknown-linux-gnu",
            Self::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The instruction set of the machine xtask runs on, when Lambda has it.
    pub fn host() -> Option<Self> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Self::X86_64),
            "aarch64" => Some(Self::Arm64),
            _ => None,
        }
    }

    /// The default of `--arch`: the host's (so a build works without a cross target), else x86_64.
    pub fn default_for_host() -> Self {
        Self::host().unwrap_or(Self::X86_64)
    }

    /// Parses `--arch` values: `x86_64` (`x86-64`, `amd64`) or `arm64` (`aarch64`).
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "x86_64" | "x86-64" | "amd64" => Ok(Self::X86_64),
            "arm64" | "aarch64" => Ok(Self::Arm64),
            other => bail!("--arch {other:?} is not accepted: x86_64 or arm64"),
        }
    }

    /// `target/lambda/<arch>`: this instruction set's build output and zips.
    pub fn lambda_dir(self, target_dir: &Path) -> PathBuf {
        target_dir.join("lambda").join(self.lambda_name())
    }
}

/// Takes `--arch VALUE` / `--arch=VALUE` out of `args`; returns it and the other arguments.
pub fn take_arch(args: &[String]) -> Result<(Option<Arch>, Vec<String>)> {
    let mut arch = None;
    let mut rest = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let value = if arg == "--arch" {
            let Some(value) = iter.next() else {
                bail!("--arch needs a value: x86_64 or arm64");
            };
            value.as_str()
        } else if let Some(value) = arg.strip_prefix("--arch=") {
            value
        } else {
            rest.push(arg.clone());
            continue;
        };
        if arch.replace(Arch::parse(value)?).is_some() {
            bail!("--arch given twice");
        }
    }
    Ok((arch, rest))
}

/// Where a function's `bootstrap` is after `cargo xtask build`.
pub fn bootstrap_path(lambda_dir: &Path, function: &str) -> PathBuf {
    lambda_dir.join(function).join("bootstrap")
}

/// Where the extension binary is after `cargo xtask build`.
pub fn extension_path(lambda_dir: &Path) -> PathBuf {
    lambda_dir.join("extensions").join(EXTENSION)
}

/// Every binary `cargo xtask build` leaves in `lambda_dir`: each function's `bootstrap`, in
/// [`FUNCTIONS`] order, then the extension.
pub fn binary_paths(lambda_dir: &Path) -> Vec<PathBuf> {
    FUNCTIONS
        .iter()
        .map(|f| bootstrap_path(lambda_dir, f))
        .chain([extension_path(lambda_dir)])
        .collect()
}

/// Bytes as `1234567 bytes (1.18 MiB)`.
pub fn human_size(bytes: u64) -> String {
    format!("{bytes} bytes ({:.2} MiB)", bytes as f64 / 1_048_576.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_flags_parse() -> Result<()> {
        assert_eq!(
            take_arch(&["--release"].map(String::from))?,
            (None, ["--release"].map(String::from).to_vec())
        );
        assert_eq!(
            take_arch(&["--arch", "arm64", "--release"].map(String::from))?,
            (Some(Arch::Arm64), ["--release"].map(String::from).to_vec())
        );
        assert_eq!(
            take_arch(&["--arch=amd64"].map(String::from))?.0,
            Some(Arch::X86_64)
        );
        assert!(take_arch(&["--arch"].map(String::from)).is_err());
        assert!(take_arch(&["--arch", "mips"].map(String::from)).is_err());
        assert!(take_arch(&["--arch", "arm64", "--arch", "x86_64"].map(String::from)).is_err());
        Ok(())
    }

    #[test]
    fn layout() {
        let dir = Arch::Arm64.lambda_dir(Path::new("/t"));
        assert_eq!(dir, Path::new("/t/lambda/arm64"));
        assert_eq!(
            bootstrap_path(&dir, "aws-chain"),
            Path::new("/t/lambda/arm64/aws-chain/bootstrap")
        );
        assert_eq!(
            extension_path(&dir),
            Path::new("/t/lambda/arm64/extensions/faas-otel-extension")
        );
        let all = binary_paths(&dir);
        assert_eq!(all.len(), FUNCTIONS.len() + 1);
        assert_eq!(all[2], bootstrap_path(&dir, "aws-chain"));
        assert_eq!(all[3], extension_path(&dir));
        assert_eq!(Arch::X86_64.rust_target(), "x86_64-unknown-linux-gnu");
        assert_eq!(human_size(1_048_576), "1048576 bytes (1.00 MiB)");
    }
}
