//! A zip writer whose output depends only on its inputs: the same files give the same bytes.
//!
//! Tools like `zip` or cargo-lambda's `--output-format zip` record the files' modification times
//! (and sometimes the owner and the order the directory was read in), so two packagings of the
//! same binary differ and Lambda sees a "new" function every time. This writer fixes everything
//! that is not content:
//! - entries are written sorted by name;
//! - every entry has the same timestamp: `SOURCE_DATE_EPOCH` when set (the reproducible-builds
//!   convention), else 1980-01-01 00:00:00, the earliest date a zip can hold;
//! - permissions are the ones given (0755 for executables), recorded as Unix mode bits, no
//!   owner, no extra fields, no comment;
//! - deflate (flate2's pure-Rust backend) at a fixed level; an entry that deflate would not
//!   shrink is stored.
//!
//! Classic zip only (no zip64): at most 65,535 entries and 4 GiB per entry, far above Lambda's
//! 250 MB unzipped limit.

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::write::DeflateEncoder;
use std::io::Write;

/// The variable of the reproducible-builds convention: seconds since the Unix epoch to use as
/// every file's timestamp.
pub const SOURCE_DATE_EPOCH_VAR: &str = "SOURCE_DATE_EPOCH";

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

/// A timestamp in the zip's MS-DOS format (local time with 2-second resolution, 1980-2107).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DosTime {
    date: u16,
    time: u16,
}

impl DosTime {
    /// 1980-01-01 00:00:00, the earliest timestamp a zip can record.
    pub const EPOCH: Self = Self {
        date: (1 << 5) | 1,
        time: 0,
    };

    /// The timestamp for `unix_seconds` (UTC), clamped to 1980-01-01 .. 2107-12-31 23:59:58.
    pub fn from_unix(unix_seconds: u64) -> Self {
        let days = unix_seconds / 86_400;
        let secs = unix_seconds % 86_400;
        let (year, month, day) = civil_from_days(days);
        if year < 1980 {
            return Self::EPOCH;
        }
        if year > 2107 {
            return Self {
                date: (127 << 9) | (12 << 5) | 31,
                time: (23 << 11) | (59 << 5) | 29,
            };
        }
        // In range by the checks above: year - 1980 < 128, month <= 12, day <= 31, secs < 86400.
        let date = ((year - 1980) << 9) as u16 | ((month << 5) as u16) | day as u16;
        let time = ((secs / 3600) << 11) as u16
            | (((secs / 60 % 60) << 5) as u16)
            | (secs % 60 / 2) as u16;
        Self { date, time }
    }

    /// `SOURCE_DATE_EPOCH` when set, else [`DosTime::EPOCH`]. An unparsable value is an error
    /// naming the variable: a silently ignored setting would make "reproducible" a lie.
    pub fn from_env() -> Result<Self> {
        match std::env::var(SOURCE_DATE_EPOCH_VAR) {
            Err(std::env::VarError::NotPresent) => Ok(Self::EPOCH),
            Err(err) => bail!("{SOURCE_DATE_EPOCH_VAR}: {err}"),
            Ok(value) => Self::parse_epoch(&value),
        }
    }

    /// Parses a `SOURCE_DATE_EPOCH` value: whole seconds since 1970-01-01 UTC.
    pub fn parse_epoch(value: &str) -> Result<Self> {
        let seconds: u64 = value.trim().parse().with_context(|| {
            format!(
                "{SOURCE_DATE_EPOCH_VAR}={value:?} is not accepted: expected whole seconds since 1970-01-01 UTC, e.g. 1700000000"
            )
        })?;
        Ok(Self::from_unix(seconds))
    }
}

/// (year, month 1-12, day 1-31) of the day `days` after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
/// "Version needed to extract": 2.0 (deflate).
const VERSION_NEEDED: u16 = 20;
/// "Version made by": Unix (3) in the high byte, so readers honour the mode bits.
const VERSION_MADE_BY: u16 = (3 << 8) | 20;
/// General purpose flag bit 11: the name is UTF-8.
const FLAG_UTF8: u16 = 1 << 11;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATED: u16 = 8;
/// `S_IFREG`: a regular file.
const REGULAR_FILE: u32 = 0o100_000;

/// Writes `entries` as a zip archive, sorted by name, every entry stamped `mtime`.
///
/// Fails on an empty, absolute or duplicate name, a name with `..` or `\`, a mode above 0o7777,
/// or sizes a classic zip cannot hold.
pub fn write(entries: &[Entry<'_>], mtime: DosTime) -> Result<Vec<u8>> {
    let mut sorted: Vec<&Entry<'_>> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(b.name));
    for pair in sorted.windows(2) {
        if pair[0].name == pair[1].name {
            bail!("zip entry {:?} given twice", pair[0].name);
        }
    }
    let count = u16::try_from(sorted.len())
        .with_context(|| format!("{} entries: a zip holds at most 65535", sorted.len()))?;

    let mut out = Vec::new();
    let mut central = Vec::new();
    for entry in sorted {
        check_entry(entry)?;
        let crc = {
            let mut crc = flate2::Crc::new();
            crc.update(entry.data);
            crc.sum()
        };
        let deflated = deflate(entry.data)?;
        let (method, stored): (u16, &[u8]) = if deflated.len() < entry.data.len() {
            (METHOD_DEFLATED, &deflated)
        } else {
            (METHOD_STORED, entry.data)
        };
        let size = u32_size(entry.data.len(), entry.name)?;
        let compressed_size = u32_size(stored.len(), entry.name)?;
        let name = entry.name.as_bytes();
        let name_len = u16::try_from(name.len())
            .with_context(|| format!("zip entry name {:?} is too long", entry.name))?;
        let flags = if entry.name.is_ascii() { 0 } else { FLAG_UTF8 };
        let offset = u32_size(out.len(), entry.name)?;

        put32(&mut out, LOCAL_HEADER);
        put16(&mut out, VERSION_NEEDED);
        put16(&mut out, flags);
        put16(&mut out, method);
        put16(&mut out, mtime.time);
        put16(&mut out, mtime.date);
        put32(&mut out, crc);
        put32(&mut out, compressed_size);
        put32(&mut out, size);
        put16(&mut out, name_len);
        put16(&mut out, 0); // no extra field
        out.extend_from_slice(name);
        out.extend_from_slice(stored);

        put32(&mut central, CENTRAL_HEADER);
        put16(&mut central, VERSION_MADE_BY);
        put16(&mut central, VERSION_NEEDED);
        put16(&mut central, flags);
        put16(&mut central, method);
        put16(&mut central, mtime.time);
        put16(&mut central, mtime.date);
        put32(&mut central, crc);
        put32(&mut central, compressed_size);
        put32(&mut central, size);
        put16(&mut central, name_len);
        put16(&mut central, 0); // extra field length
        put16(&mut central, 0); // comment length
        put16(&mut central, 0); // disk number start
        put16(&mut central, 0); // internal attributes
        put32(&mut central, (REGULAR_FILE | entry.mode) << 16);
        put32(&mut central, offset);
        central.extend_from_slice(name);
    }

    let central_offset = u32_size(out.len(), "central directory")?;
    let central_size = u32_size(central.len(), "central directory")?;
    out.extend_from_slice(&central);
    put32(&mut out, END_OF_CENTRAL_DIRECTORY);
    put16(&mut out, 0); // this disk
    put16(&mut out, 0); // disk with the central directory
    put16(&mut out, count);
    put16(&mut out, count);
    put32(&mut out, central_size);
    put32(&mut out, central_offset);
    put16(&mut out, 0); // comment length
    Ok(out)
}

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
    if entry.mode > 0o7777 {
        bail!(
            "zip entry {name:?}: mode {:o} is not accepted: permission bits only (at most 7777 octal)",
            entry.mode
        );
    }
    Ok(())
}

/// Deflates `data` at the default level (6): deterministic for a given flate2 backend.
fn deflate(data: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).context("deflating")?;
    encoder.finish().context("deflating")
}

fn u32_size(len: usize, what: &str) -> Result<u32> {
    u32::try_from(len)
        .with_context(|| format!("{what}: {len} bytes is beyond a classic zip's 4 GiB"))
}

fn put16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::io::Read;

    /// What a reader sees in the central directory, read back independently of the writer.
    #[derive(Debug, PartialEq)]
    struct ReadEntry {
        name: String,
        mode: u32,
        made_by_unix: bool,
        date: u16,
        time: u16,
        data: Vec<u8>,
    }

    fn u16_at(bytes: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([bytes[at], bytes[at + 1]])
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    }

    /// Reads the archive through its end record and central directory, inflates each entry
    /// from its local header and checks its CRC.
    fn read_back(zip: &[u8]) -> Vec<ReadEntry> {
        let end = zip.len() - 22;
        assert_eq!(u32_at(zip, end), END_OF_CENTRAL_DIRECTORY);
        let count = usize::from(u16_at(zip, end + 10));
        let mut at = u32_at(zip, end + 16) as usize;
        let mut entries = Vec::new();
        for _ in 0..count {
            assert_eq!(u32_at(zip, at), CENTRAL_HEADER);
            let made_by = u16_at(zip, at + 4);
            let method = u16_at(zip, at + 10);
            let time = u16_at(zip, at + 12);
            let date = u16_at(zip, at + 14);
            let crc = u32_at(zip, at + 16);
            let compressed = u32_at(zip, at + 20) as usize;
            let size = u32_at(zip, at + 24) as usize;
            let name_len = usize::from(u16_at(zip, at + 28));
            let extra_len = usize::from(u16_at(zip, at + 30));
            let external = u32_at(zip, at + 38);
            let local = u32_at(zip, at + 42) as usize;
            let name = String::from_utf8(zip[at + 46..at + 46 + name_len].to_vec()).unwrap();
            at += 46 + name_len + extra_len;

            assert_eq!(u32_at(zip, local), LOCAL_HEADER);
            let local_name_len = usize::from(u16_at(zip, local + 26));
            let local_extra = usize::from(u16_at(zip, local + 28));
            let start = local + 30 + local_name_len + local_extra;
            let raw = &zip[start..start + compressed];
            let data = match method {
                METHOD_STORED => raw.to_vec(),
                METHOD_DEFLATED => {
                    let mut data = Vec::new();
                    flate2::read::DeflateDecoder::new(raw)
                        .read_to_end(&mut data)
                        .unwrap();
                    data
                }
                other => panic!("unexpected method {other}"),
            };
            assert_eq!(data.len(), size, "{name}");
            let mut check = flate2::Crc::new();
            check.update(&data);
            assert_eq!(check.sum(), crc, "{name}");
            entries.push(ReadEntry {
                name,
                mode: external >> 16,
                made_by_unix: made_by >> 8 == 3,
                date,
                time,
                data,
            });
        }
        entries
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

    #[test]
    fn two_packagings_of_the_same_inputs_are_byte_identical() -> Result<()> {
        let binary = sample_binary();
        let first = write(
            &[
                Entry {
                    name: "extensions/faas-otel-extension",
                    data: &binary,
                    mode: 0o755,
                },
                Entry {
                    name: "README",
                    data: b"layer",
                    mode: 0o644,
                },
            ],
            DosTime::EPOCH,
        )?;
        // Same inputs in another order, a fresh copy of the data.
        let copy = binary.clone();
        let second = write(
            &[
                Entry {
                    name: "README",
                    data: b"layer",
                    mode: 0o644,
                },
                Entry {
                    name: "extensions/faas-otel-extension",
                    data: &copy,
                    mode: 0o755,
                },
            ],
            DosTime::EPOCH,
        )?;
        assert_eq!(first, second);
        // And a different timestamp does change the bytes: the timestamp really is recorded.
        let later = write(
            &[
                Entry {
                    name: "README",
                    data: b"layer",
                    mode: 0o644,
                },
                Entry {
                    name: "extensions/faas-otel-extension",
                    data: &copy,
                    mode: 0o755,
                },
            ],
            DosTime::from_unix(1_700_000_000),
        )?;
        assert_ne!(first, later);
        Ok(())
    }

    #[test]
    fn entries_read_back_sorted_with_their_mode_time_and_data() -> Result<()> {
        let binary = sample_binary();
        let zip = write(
            &[
                Entry {
                    name: "bootstrap",
                    data: &binary,
                    mode: 0o755,
                },
                Entry {
                    name: "a.txt",
                    data: b"x",
                    mode: 0o644,
                },
            ],
            DosTime::EPOCH,
        )?;
        let entries = read_back(&zip);
        assert_eq!(
            entries,
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
            &[Entry {
                name: "extensions/faas-otel-extension",
                data: &sample_binary(),
                mode: 0o755,
            }],
            DosTime::from_unix(1_700_000_000),
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
    fn dos_time_conversion() -> Result<()> {
        assert_eq!(DosTime::from_unix(0), DosTime::EPOCH);
        assert_eq!(DosTime::from_unix(315_532_800), DosTime::EPOCH); // 1980-01-01
        // 2000-02-29 12:34:56 UTC.
        let t = DosTime::from_unix(951_827_696);
        assert_eq!(t.date, (20 << 9) | (2 << 5) | 29);
        assert_eq!(t.time, (12 << 11) | (34 << 5) | 28);
        assert_eq!(DosTime::parse_epoch(" 951827696\n")?, t);
        let err = DosTime::parse_epoch("yesterday").unwrap_err().to_string();
        assert!(err.contains("SOURCE_DATE_EPOCH=\"yesterday\""), "{err}");
        Ok(())
    }

    #[test]
    fn bad_entries_are_refused() {
        for name in ["", "/abs", "a/../b", "dir/", "a\\b", "./a"] {
            let result = write(
                &[Entry {
                    name,
                    data: b"",
                    mode: 0o644,
                }],
                DosTime::EPOCH,
            );
            assert!(result.is_err(), "{name:?}");
        }
        let dup = write(
            &[
                Entry {
                    name: "a",
                    data: b"1",
                    mode: 0o644,
                },
                Entry {
                    name: "a",
                    data: b"2",
                    mode: 0o644,
                },
            ],
            DosTime::EPOCH,
        );
        assert!(dup.is_err());
        let mode = write(
            &[Entry {
                name: "a",
                data: b"",
                mode: 0o10_000,
            }],
            DosTime::EPOCH,
        );
        assert!(mode.is_err());
    }
}
