//! `cargo xtask package [--arch x86_64|arm64]`: the deployable zips.
//!
//! From what `cargo xtask build` left in `target/lambda/<arch>/` it writes, next to it:
//! - `<function>.zip` for each example function, holding `bootstrap` (mode 0755): what the
//!   `provided.al2023` runtime executes;
//! - `faas-otel-extension.zip`, the layer, holding `extensions/faas-otel-extension` (mode 0755):
//!   Lambda starts every executable in `/opt/extensions` as an external extension.
//!
//! The zips are reproducible ([`crate::reproducible_zip`]): packaging the same binaries twice
//! gives the same bytes, so Terraform's `source_code_hash` changes only when the code does.
//! `terraform/aws` reads them by these names (`<function>.zip`, `faas-otel-extension.zip`).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::lambda_arch::{self, Arch, EXTENSION, FUNCTIONS};
use crate::reproducible_zip::{self, DateTime, Entry};
use crate::workspace;

/// The mode of every packaged binary.
const EXECUTABLE: u32 = 0o755;

/// One zip to write: its path, and the binary that goes in at `entry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The binary on disk.
    pub binary: PathBuf,
    /// Its path inside the zip (`bootstrap` or `extensions/faas-otel-extension`).
    pub entry: &'static str,
    /// The zip to write.
    pub zip: PathBuf,
}

/// What a packaging wrote: the zip and the sizes of the binary and of the zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packaged {
    /// The zip written.
    pub zip: PathBuf,
    /// The binary's size, bytes.
    pub binary_bytes: u64,
    /// The zip's size, bytes.
    pub zip_bytes: u64,
}

/// The zips of a set of Lambda binaries: `functions` maps each function name to its binary,
/// `extension` is the extension binary; every zip goes into `out_dir`.
pub fn artifacts(
    functions: &[(&str, PathBuf)],
    extension: PathBuf,
    out_dir: &Path,
) -> Vec<Artifact> {
    let mut list: Vec<Artifact> = functions
        .iter()
        .map(|(name, binary)| Artifact {
            binary: binary.clone(),
            entry: "bootstrap",
            zip: out_dir.join(format!("{name}.zip")),
        })
        .collect();
    list.push(Artifact {
        binary: extension,
        entry: "extensions/faas-otel-extension",
        zip: out_dir.join(format!("{EXTENSION}.zip")),
    });
    list
}

/// The artifacts of `cargo xtask build`'s output in `lambda_dir` (`target/lambda/<arch>`).
pub fn built_artifacts(lambda_dir: &Path) -> Vec<Artifact> {
    let functions: Vec<(&str, PathBuf)> = FUNCTIONS
        .iter()
        .map(|f| (*f, lambda_arch::bootstrap_path(lambda_dir, f)))
        .collect();
    artifacts(
        &functions,
        lambda_arch::extension_path(lambda_dir),
        lambda_dir,
    )
}

/// Writes every zip of `artifacts`, stamped `mtime`. Fails, writing nothing, when a binary is
/// missing; `hint` says how to produce them.
pub fn package(artifacts: &[Artifact], mtime: DateTime, hint: &str) -> Result<Vec<Packaged>> {
    let missing: Vec<String> = artifacts
        .iter()
        .filter(|a| !a.binary.is_file())
        .map(|a| a.binary.display().to_string())
        .collect();
    if !missing.is_empty() {
        bail!("missing binaries: {}. {hint}", missing.join(", "));
    }
    let mut written = Vec::new();
    for artifact in artifacts {
        let data = fs::read(&artifact.binary)
            .with_context(|| format!("reading {}", artifact.binary.display()))?;
        let zip = reproducible_zip::write(
            &[Entry {
                name: artifact.entry,
                data: &data,
                mode: EXECUTABLE,
            }],
            mtime,
        )
        .with_context(|| format!("zipping {}", artifact.binary.display()))?;
        if let Some(dir) = artifact.zip.parent() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        // Write beside it and rename: a reader (Terraform) never sees half a zip.
        let partial = artifact.zip.with_extension("zip.partial");
        fs::write(&partial, &zip).with_context(|| format!("writing {}", partial.display()))?;
        fs::rename(&partial, &artifact.zip)
            .with_context(|| format!("renaming to {}", artifact.zip.display()))?;
        written.push(Packaged {
            zip: artifact.zip.clone(),
            binary_bytes: data.len() as u64,
            zip_bytes: zip.len() as u64,
        });
    }
    Ok(written)
}

/// Prints one line per zip: the zip, its size and the binary's.
pub fn print_sizes(root: &Path, packaged: &[Packaged]) {
    for p in packaged {
        eprintln!(
            "xtask:   {}  {}  (binary {})",
            p.zip.strip_prefix(root).unwrap_or(&p.zip).display(),
            lambda_arch::human_size(p.zip_bytes),
            lambda_arch::human_size(p.binary_bytes),
        );
    }
}

/// Runs `cargo xtask package` from the workspace `root`; returns the exit status.
pub fn run(root: &Path, args: &[String]) -> Result<u8> {
    let (arch, rest) = lambda_arch::take_arch(args)?;
    if let Some(other) = rest.first() {
        bail!("unknown argument `{other}` (accepted: --arch x86_64|arm64)");
    }
    let arch = arch.unwrap_or_else(Arch::default_for_host);
    let lambda_dir = arch.lambda_dir(&workspace::target_dir(root));
    let mtime = reproducible_zip::timestamp_from_env()?;
    let hint = format!(
        "Build them first: cargo xtask build --release --arch {}",
        arch.lambda_name()
    );
    eprintln!(
        "xtask: packaging {} for {} (timestamps: {})",
        lambda_dir
            .strip_prefix(root)
            .unwrap_or(&lambda_dir)
            .display(),
        arch.lambda_name(),
        if std::env::var_os(reproducible_zip::SOURCE_DATE_EPOCH_VAR).is_some() {
            "SOURCE_DATE_EPOCH"
        } else {
            "1980-01-01 00:00:00"
        }
    );
    let packaged = package(&built_artifacts(&lambda_dir), mtime, &hint)?;
    print_sizes(root, &packaged);
    eprintln!(
        "xtask: next: cargo xtask deploy-aws --arch {}",
        arch.lambda_name()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> Result<PathBuf> {
        let dir = std::env::temp_dir().join(format!("xtask-package-{name}-{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    #[test]
    fn packaging_twice_gives_identical_zips_with_the_lambda_layout() -> Result<()> {
        let dir = temp_dir("twice")?;
        let lambda_dir = dir.join("lambda").join("arm64");
        for (i, function) in FUNCTIONS.iter().enumerate() {
            let path = lambda_arch::bootstrap_path(&lambda_dir, function);
            fs::create_dir_all(path.parent().context("parent")?)?;
            fs::write(&path, format!("binary {i} ").repeat(1000))?;
        }
        let extension = lambda_arch::extension_path(&lambda_dir);
        fs::create_dir_all(extension.parent().context("parent")?)?;
        fs::write(&extension, b"extension binary")?;

        let artifacts = built_artifacts(&lambda_dir);
        let first = package(&artifacts, reproducible_zip::EPOCH, "")?;
        let first_bytes: Vec<Vec<u8>> = first
            .iter()
            .map(|p| fs::read(&p.zip))
            .collect::<Result<_, _>>()?;
        // Touch the inputs (new mtimes, a re-written file): the zips must not change.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        fs::write(&extension, b"extension binary")?;
        let second = package(&artifacts, reproducible_zip::EPOCH, "")?;
        let second_bytes: Vec<Vec<u8>> = second
            .iter()
            .map(|p| fs::read(&p.zip))
            .collect::<Result<_, _>>()?;
        assert_eq!(first, second);
        assert_eq!(first_bytes, second_bytes);

        let names: Vec<String> = first
            .iter()
            .map(|p| {
                p.zip
                    .strip_prefix(&lambda_dir)
                    .map(|p| p.display().to_string())
            })
            .collect::<Result<_, _>>()?;
        assert_eq!(
            names,
            [
                "aws-http-api.zip",
                "aws-sqs-consumer.zip",
                "aws-chain.zip",
                "faas-otel-extension.zip"
            ]
        );
        // The entry names inside, read from the central directory (name follows a 46-byte header).
        let layer = &second_bytes[3];
        let needle = b"extensions/faas-otel-extension";
        assert_eq!(
            layer.windows(needle.len()).filter(|w| w == needle).count(),
            2
        );
        assert_eq!(first[3].binary_bytes, 16);
        let api = &second_bytes[0];
        assert_eq!(api.windows(9).filter(|w| w == b"bootstrap").count(), 2);
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn a_missing_binary_writes_nothing_and_says_how_to_build() -> Result<()> {
        let dir = temp_dir("missing")?;
        let artifacts = built_artifacts(&dir);
        let err = package(
            &artifacts,
            reproducible_zip::EPOCH,
            "Build them first: cargo xtask build",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.starts_with("missing binaries: "), "{err}");
        assert!(err.contains("aws-chain/bootstrap"), "{err}");
        assert!(
            err.ends_with("Build them first: cargo xtask build"),
            "{err}"
        );
        assert_eq!(fs::read_dir(&dir)?.count(), 0);
        fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
