//! The project's Python virtual environment, `./.venv` at the workspace root.
//!
//! It holds the Python test tools (moto) listed in `xtask/requirements-test.txt`; [`ensure_at`]
//! makes the other venvs (cargo-lambda, checkov, the bench's tools) the same way.
//! The venv is created with `python3 -m venv` when missing or broken, and `pip install -r` runs
//! only when the requirements file changed since the last successful install: a hash of the file
//! is kept in a stamp file inside the venv.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// The requirements file, relative to the workspace root.
pub const REQUIREMENTS: &str = "xtask/requirements-test.txt";

/// The venv directory, relative to the workspace root (gitignored).
pub const VENV_DIR: &str = ".venv";

/// The stamp file inside the venv that records the hash of the last installed requirements.
const STAMP_FILE: &str = ".xtask-requirements.stamp";

/// A ready virtual environment.
#[derive(Debug, Clone)]
pub struct Venv {
    dir: PathBuf,
}

impl Venv {
    /// The path of an executable in the venv's `bin/` directory.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.dir.join("bin").join(name)
    }

    /// The venv's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The venv's Python interpreter.
    pub fn python(&self) -> PathBuf {
        self.bin("python")
    }

    /// `pip install` into the venv with `args` (quiet about pip's own version and progress),
    /// run from `dir`; its exit status.
    pub fn pip_install(&self, args: &[&std::ffi::OsStr], dir: &Path) -> Result<ExitStatus> {
        Command::new(self.python())
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--progress-bar",
                "off",
            ])
            .args(args)
            .current_dir(dir)
            .status()
            .context("running pip install")
    }
}

/// Creates `.venv` under `root` if needed and installs the requirements if they changed.
///
/// Prints a progress line for each thing it does or skips.
pub fn ensure(root: &Path) -> Result<Venv> {
    ensure_at(root, VENV_DIR, REQUIREMENTS)
}

/// As [`ensure`], for another venv: `venv_dir` (relative to `root`, gitignored) with the
/// requirements file `requirements` (relative to `root`). Tools that pin conflicting
/// dependencies (checkov's boto3) or are only needed by one command (rotel for the
/// benchmarks) get their own.
pub fn ensure_at(root: &Path, venv_dir: &str, requirements: &str) -> Result<Venv> {
    let venv = Venv {
        dir: root.join(venv_dir),
    };
    let requirements_path = root.join(requirements);
    let wanted_bytes = fs::read(&requirements_path)
        .with_context(|| format!("reading {}", requirements_path.display()))?;

    if python_works(&venv.python()) {
        eprintln!("xtask:   venv {} exists", venv.dir.display());
    } else {
        create(&venv)?;
    }

    let stamp_path = venv.dir.join(STAMP_FILE);
    let wanted = stamp_for(&wanted_bytes);
    let current = fs::read_to_string(&stamp_path).ok();
    if !needs_install(current.as_deref(), &wanted) {
        eprintln!("xtask:   {requirements} unchanged since the last install: pip skipped");
        return Ok(venv);
    }

    eprintln!("xtask:   installing {requirements} into {venv_dir} (pip) ...");
    let started = Instant::now();
    let status = venv.pip_install(&["-r".as_ref(), requirements_path.as_os_str()], root)?;
    if !status.success() {
        bail!(
            "`pip install -r {requirements}` failed ({status}); PyPI must be reachable. \
             The venv is left as it is; the next run retries the install."
        );
    }
    fs::write(&stamp_path, &wanted).with_context(|| format!("writing {}", stamp_path.display()))?;
    eprintln!(
        "xtask:   pip install done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(venv)
}

/// Creates (or recreates, when broken) the venv with the system `python3`.
///
/// `XTASK_PYTHON` overrides the interpreter used to create it.
fn create(venv: &Venv) -> Result<()> {
    let python = std::env::var("XTASK_PYTHON").unwrap_or_else(|_| "python3".to_string());
    eprintln!(
        "xtask:   creating venv {} with `{python} -m venv` ...",
        venv.dir.display()
    );
    let started = Instant::now();
    let status = Command::new(&python)
        .args(["-m", "venv", "--clear"])
        .arg(&venv.dir)
        .status()
        .with_context(|| format!("running `{python} -m venv`: is Python 3 installed?"))?;
    if !status.success() || !python_works(&venv.python()) {
        bail!(
            "`{python} -m venv {}` failed ({status}). On Debian/Ubuntu install the venv module \
             with `apt-get install python3-venv`.",
            venv.dir.display()
        );
    }
    eprintln!(
        "xtask:   venv created in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Whether `python` exists and starts (a venv whose base interpreter vanished does not).
fn python_works(python: &Path) -> bool {
    python.is_file()
        && Command::new(python)
            .args(["-c", "import sys"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// The stamp recorded after installing `requirements`: the hash of the file's bytes.
pub fn stamp_for(requirements: &[u8]) -> String {
    format!("fnv1a64:{:016x}\n", fnv1a64(requirements))
}

/// Whether pip must run: there is no stamp, or it differs from the wanted one.
pub fn needs_install(current_stamp: Option<&str>, wanted_stamp: &str) -> bool {
    current_stamp != Some(wanted_stamp)
}

/// 64-bit FNV-1a: a stable, dependency-free hash (std's `DefaultHasher` may change between
/// Rust releases, which would force needless reinstalls). Not for security: it only detects edits.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn install_runs_only_when_the_requirements_changed() {
        let old = stamp_for(b"moto[server]==5.2.4\n");
        let new = stamp_for(b"moto[server]==5.2.5\n");
        assert_ne!(old, new);
        assert!(needs_install(None, &new), "fresh venv");
        assert!(needs_install(Some(&old), &new), "edited requirements");
        assert!(!needs_install(Some(&new), &new), "unchanged requirements");
    }

    #[test]
    fn the_checked_in_requirements_pin_moto() -> Result<()> {
        let root = crate::workspace::root()?;
        let text = fs::read_to_string(root.join(REQUIREMENTS))?;
        assert!(
            text.lines().any(|l| l.starts_with("moto[server]==")),
            "moto must be pinned:\n{text}"
        );
        Ok(())
    }
}
