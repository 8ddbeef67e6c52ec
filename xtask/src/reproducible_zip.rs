//! Zip archives whose bytes depend only on their inputs: the same files give the same bytes.
//!
//! Tools like `zip` or cargo-lambda's `--output-format zip` record the files' modification times
//! (and sometimes the owner and the order the directory was read in), so two packagings of the
//! same binary differ and Lambda sees a "new" function every time. The archive is written by the
//! `zip` crate with everything that is not content fixed:
//! - entries are written sorted by name;
//! - every entry has the same timestamp: `SOURCE_DATE_EPOCH` when set (the reproducible-builds
//!   convention), else 1980-01-01 00:00:00, the earliest date a zip can hold;
//! - permissions are the ones given (0755 for executables), recorded as Unix mode bits of a
//!   regular file, made by "Unix" whatever the host; no owner, no extra fields, no comment;
//! - deflate (flate2's backend) at the default level.
//!
//! Classic zip only (no zip64): at most 4 GiB per entry, far above Lambda's 250 MB unzipped
//! limit.

use std::io::{Cursor, Write};

use anyhow::{Context, Result, bail};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

pub use zip::DateTime;

/// The variable of the reproducible-builds convention: seconds since the Unix epoch to use as
/// every file's timestamp.
pub const SOURCE_DATE_EPOCH_VAR: &str = "SOURCE_DATE_EPOCH";

/// 1980-01-01 00:00:00, the earliest timestamp a zip can record: the default one.
pub const EPOCH: DateTime = DateTime::DEFAULT;

/// One file to put in the archive.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Its path inside the archive, `/`-separated, relative (e.g. `extensions/faas-otel-extension`).
    pub name: &'a str,
    /// Its contents.
    pub data: &'a [u8],
    /// Its Unix permission bits, e.g. `0o755`.
    pub mode: u32,
}

/// The zip timestamp for `unix_seconds` (UTC), clamped to 1980-01-01 .. 2107-12-31 23:59:58,
/// the range a zip can hold.
pub fn from_unix(unix_seconds: u64) -> DateTime {
    let Some(utc) = i64::try_from(unix_seconds)
        .ok()
        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
    else {
        return latest();
    };
    match DateTime::try_from(utc.naive_utc()) {
        Ok(time) => time,
        Err(_) if unix_seconds < FIRST_ZIP_SECOND => EPOCH,
        Err(_) => latest(),
    }
}

/// 1980-01-01 00:00:00 UTC in Unix seconds.
const FIRST_ZIP_SECOND: u64 = 315_532_800;

/// 2107-12-31 23:59:58, the latest timestamp a zip can record.
fn latest() -> DateTime {
    DateTime::from_date_and_time(2107, 12, 31, 23, 59, 58).unwrap_or(EPOCH)
}

/// `SOURCE_DATE_EPOCH` when set, else [`EPOCH`]. An unparsable value is an error naming the
/// variable: a silently ignored setting would make "reproducible" a lie.
pub fn timestamp_from_env() -> Result<DateTime> {
    match std::env::var(SOURCE_DATE_EPOCH_VAR) {
        Err(std::env::VarError::NotPresent) => Ok(EPOCH),
        Err(err) => bail!("{SOURCE_DATE_EPOCH_VAR}: {err}"),
        Ok(value) => parse_epoch(&value),
    }
}

/// Parses a `SOURCE_DATE_EPOCH` value: whole seconds since 1970-01-01 UTC.
pub fn parse_epoch(value: &str) -> Result<DateTime> {
    let seconds: u64 = value.trim().parse().with_context(|| {
        format!(
            "{SOURCE_DATE_EPOCH_VAR}={value:?} is not accepted: expected whole seconds since 1970-01-01 UTC, e.g. 1700000000"
        )
    })?;
    Ok(from_unix(seconds))
}

/// Writes `entries` as a zip archive, sorted by name, every entry stamped `mtime`.
///
/// Fails on an empty, absolute or duplicate name, a name with `..` or `\`, a mode above 0o777,
/// or sizes a classic zip cannot hold.
pub fn write(entries: &[Entry<'_>], mtime: DateTime) -> Result<Vec<u8>> {
    let mut sorted: Vec<&Entry<'_>> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(b.name));
    for pair in sorted.windows(2) {
        if pair[0].name == pair[1].name {
            bail!("zip entry {:?} given twice", pair[0].name);
        }
    }
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for entry in sorted {
        check_entry(entry)?;
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(mtime)
            .unix_permissions(entry.mode)
            .system(zip::System::Unix)
            .large_file(false);
        zip.start_file(entry.name, options)
            .with_context(|| format!("zip entry {:?}", entry.name))?;
        zip.write_all(entry.data)
            .with_context(|| format!("zip entry {:?}", entry.name))?;
    }
    Ok(zip.finish().context("finishing the zip")?.into_inner())
}

/// The names and modes `write` accepts. The zip crate stores any name (an absolute or `..` name
/// unpacks outside the target directory) and silently drops mode bits above 0o777 (setuid,
/// sticky), so both are checked here.
fn check_entry(entry: &Entry<'_>) -> Result<()> {
    let name = entry.name;
    if name.is_empty()
        || name.starts_with('/')
        || name.ends_with('/')
        || name.contains('\\')
        || name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
    {
        bail!(
            "zip entry name {name:?} is not accepted: a relative file path with `/` separators and no `.`/`..` parts"
        );
    }
    if entry.mode > 0o777 {
        bail!(
            "zip entry {name:?}: mode {:o} is not accepted: permission bits only (at most 777 octal)",
            entry.mode
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use zip::ZipArchive;

    /// What a reader sees in the central directory, read back with the zip crate's reader
    /// (which checks each entry's CRC as it reads it to the end).
    #[derive(Debug, PartialEq)]
    struct ReadEntry {
        name: String,
        mode: u32,
        made_by_unix: bool,
        date: u16,
        time: u16,
        data: Vec<u8>,
    }

    fn read_back(zip: &[u8]) -> Result<Vec<ReadEntry>> {
        let mut archive = ZipArchive::new(Cursor::new(zip))?;
        let mut entries = Vec::new();
        for i in 0..archive.len() {
            let mut file = archive.by_index(i)?;
            let mut data = Vec::new();
            file.read_to_end(&mut data)?;
            let modified = file.last_modified().context("no timestamp")?;
            entries.push(ReadEntry {
                name: file.name()?.to_string(),
                mode: file.unix_mode().context("no Unix mode")?,
                made_by_unix: file.system() == zip::System::Unix,
                date: modified.datepart(),
                time: modified.timepart(),
                data,
            });
        }
        Ok(entries)
    }

    fn sample_binary() -> Vec<u8> {
        // Compressible and not: a text-like part and a pseudo-random part.
        let mut data = b"#!/bin/sh\necho bootstrap\n".repeat(200);
        let mut x: u32 = 0x1234_5678;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            data.push(x as u8);
        }
        data
    }

    fn file<'a>(name: &'a str, data: &'a [u8], mode: u32) -> Entry<'a> {
        Entry { name, data, mode }
    }

    #[test]
    fn two_packagings_of_the_same_inputs_are_byte_identical() -> Result<()> {
        let binary = sample_binary();
        let layer = "extensions/faas-otel-extension";
        let first = write(
            &[file(layer, &binary, 0o755), file("README", b"layer", 0o644)],
            EPOCH,
        )?;
        // Same inputs in another order, a fresh copy of the data.
        let copy = binary.clone();
        let reordered = [file("README", b"layer", 0o644), file(layer, &copy, 0o755)];
        let second = write(&reordered, EPOCH)?;
        assert_eq!(first, second);
        // And a different timestamp does change the bytes: the timestamp really is recorded.
        let later = write(&reordered, from_unix(1_700_000_000))?;
        assert_ne!(first, later);
        Ok(())
    }

    #[test]
    fn entries_read_back_sorted_with_their_mode_time_and_data() -> Result<()> {
        let binary = sample_binary();
        let zip = write(
            &[
                file("bootstrap", &binary, 0o755),
                file("a.txt", b"x", 0o644),
            ],
            EPOCH,
        )?;
        assert_eq!(
            read_back(&zip)?,
            [
                ReadEntry {
                    name: "a.txt".into(),
                    mode: 0o100_644,
                    made_by_unix: true,
                    date: 0x0021,
                    time: 0,
                    data: b"x".to_vec(),
                },
                ReadEntry {
                    name: "bootstrap".into(),
                    mode: 0o100_755,
                    made_by_unix: true,
                    date: 0x0021,
                    time: 0,
                    data: binary,
                },
            ]
        );
        Ok(())
    }

    #[test]
    fn python_zipfile_reads_the_archive() -> Result<()> {
        // An independent reader: Python's zipfile checks the structure and every CRC.
        let zip = write(
            &[file(
                "extensions/faas-otel-extension",
                &sample_binary(),
                0o755,
            )],
            from_unix(1_700_000_000),
        )?;
        let dir = std::env::temp_dir().join(format!("xtask-zip-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("layer.zip");
        std::fs::write(&path, &zip)?;
        let script = "import sys, zipfile\n\
                      z = zipfile.ZipFile(sys.argv[1])\n\
                      assert z.testzip() is None\n\
                      for i in z.infolist(): print(i.filename, oct(i.external_attr >> 16), i.date_time, i.file_size)\n";
        let output = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(&path)
            .output();
        std::fs::remove_dir_all(&dir)?;
        let Ok(output) = output else {
            eprintln!("python3 not found: the independent reader check cannot run");
            return Ok(());
        };
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            // 1700000000 = 2023-11-14 22:13:20 UTC.
            "extensions/faas-otel-extension 0o100755 (2023, 11, 14, 22, 13, 20) 15000\n"
        );
        Ok(())
    }

    #[test]
    fn unix_seconds_to_zip_timestamps() -> Result<()> {
        assert_eq!(from_unix(0), EPOCH);
        assert_eq!(from_unix(315_532_800), EPOCH); // 1980-01-01
        // 2000-02-29 12:34:56 UTC.
        let t = from_unix(951_827_696);
        assert_eq!(t.datepart(), (20 << 9) | (2 << 5) | 29);
        assert_eq!(t.timepart(), (12 << 11) | (34 << 5) | 28);
        assert_eq!(parse_epoch(" 951827696\n")?, t);
        // Past 2107: the latest timestamp a zip holds.
        let last = from_unix(u64::MAX);
        assert_eq!(last.datepart(), (127 << 9) | (12 << 5) | 31);
        assert_eq!(last.timepart(), (23 << 11) | (59 << 5) | 29);
        assert_eq!(from_unix(4_500_000_000), last);
        let err = parse_epoch("yesterday")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("SOURCE_DATE_EPOCH=\"yesterday\""), "{err}");
        Ok(())
    }

    #[test]
    fn bad_entries_are_refused() {
        for name in ["", "/abs", "a/../b", "dir/", "a\\b", "./a"] {
            assert!(write(&[file(name, b"", 0o644)], EPOCH).is_err(), "{name:?}");
        }
        let dup = write(&[file("a", b"1", 0o644), file("a", b"2", 0o644)], EPOCH);
        assert!(dup.is_err());
        assert!(write(&[file("a", b"", 0o10_000)], EPOCH).is_err());
        assert!(write(&[file("a", b"", 0o4755)], EPOCH).is_err());
    }
}
