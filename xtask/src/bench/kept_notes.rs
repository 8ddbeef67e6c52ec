//! The notes written by hand into BENCHMARKS.md between runs, kept when a run writes the file
//! anew: the measured causes of the figures (a `perf` profile, a `cargo bloat` split) that the
//! run itself cannot produce.
//!
//! The report writes a block per place (`<!-- notes:KEY -->`, its content, `<!-- /notes:KEY -->`
//! on lines of their own) with a default content; [`keep`] puts back the content the same
//! block has in the old file. A block the old file lacks keeps its default; a block the old
//! file has and the new one lacks is dropped (its place is gone), and so is everything outside
//! the blocks, which the run measures anew.

use std::collections::HashMap;

/// After the goals table: why a goal is missed and what would close it.
pub const GOALS: &str = "goals";
/// After section 4: the extension's profile.
pub const EXTENSION: &str = "extension";
/// After section 5: what the footprint is made of.
pub const SIZES: &str = "sizes";
/// After section 7: the runs compared with earlier ones.
pub const BILLED: &str = "billed";

fn open(key: &str) -> String {
    format!("<!-- notes:{key} -->")
}

/// The key of a block's opening line.
fn opened(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix("<!-- notes:")
        .and_then(|rest| rest.strip_suffix(" -->"))
}

fn close(key: &str) -> String {
    format!("<!-- /notes:{key} -->")
}

/// The block `key` with `content` (may be empty), ending with a newline.
pub fn block(key: &str, content: &str) -> String {
    if content.is_empty() {
        format!("{}\n{}\n", open(key), close(key))
    } else {
        format!("{}\n{content}\n{}\n", open(key), close(key))
    }
}

/// The content of every well-formed block in `text`, by key (the first of a repeated key).
fn blocks(text: &str) -> HashMap<String, String> {
    let mut found = HashMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(key) = opened(line) else {
            continue;
        };
        let end = close(key);
        let mut content = Vec::new();
        let mut closed = false;
        for inner in lines.by_ref() {
            if inner.trim() == end {
                closed = true;
                break;
            }
            content.push(inner);
        }
        if closed {
            found
                .entry(key.to_owned())
                .or_insert_with(|| content.join("\n"));
        }
    }
    found
}

/// `new` with the content of each of its blocks replaced by that block's content in `old`.
pub fn keep(old: &str, new: &str) -> String {
    let kept = blocks(old);
    let mut out = String::with_capacity(new.len());
    let mut lines = new.lines();
    while let Some(line) = lines.next() {
        out.push_str(line);
        out.push('\n');
        let Some(key) = opened(line) else {
            continue;
        };
        let Some(content) = kept.get(key) else {
            continue;
        };
        // Skip the new default content up to its closing line, then write the old content.
        let end = close(key);
        for inner in lines.by_ref() {
            if inner.trim() == end {
                break;
            }
        }
        if !content.is_empty() {
            out.push_str(content);
            out.push('\n');
        }
        out.push_str(&end);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_keeps_the_old_notes_and_renews_the_rest() {
        let old = format!(
            "# old\nfigure 1\n{}tail\n{}",
            block(GOALS, "hand-written cause\nsecond line"),
            block(SIZES, "bloat split")
        );
        let new = format!(
            "# new\nfigure 2\n{}more\n{}{}end\n",
            block(GOALS, "default cause"),
            block(SIZES, ""),
            block(BILLED, "billed default")
        );
        assert_eq!(
            keep(&old, &new),
            format!(
                "# new\nfigure 2\n{}more\n{}{}end\n",
                block(GOALS, "hand-written cause\nsecond line"),
                block(SIZES, "bloat split"),
                block(BILLED, "billed default")
            )
        );
    }

    #[test]
    fn without_an_old_file_or_with_a_broken_block_the_defaults_stand() {
        let new = format!("a\n{}b\n", block(GOALS, "default"));
        assert_eq!(keep("", &new), new);
        // An old block that is never closed is not taken.
        let broken = "<!-- notes:goals -->\nhalf a note\n";
        assert_eq!(keep(broken, &new), new);
        // An empty old block empties the new one.
        assert_eq!(
            keep(&block(GOALS, ""), &new),
            format!("a\n{}b\n", block(GOALS, ""))
        );
    }

    /// The checked-in report has every block the report writes, closed and not empty.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn the_checked_in_report_keeps_its_notes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../BENCHMARKS.md");
        let found = blocks(&std::fs::read_to_string(path).unwrap());
        for key in [GOALS, EXTENSION, SIZES, BILLED] {
            assert!(
                found.get(key).is_some_and(|c| !c.trim().is_empty()),
                "{key}"
            );
        }
    }
}
