//! The rule "no two files import each other, directly or in a circle", checked over every
//! crate of the workspace by `cargo xtask test` (this module is its unit test).
//!
//! Each `.rs` file under a crate's `src/` is one module (`a/b.rs` and `a/b/mod.rs` are `a::b`;
//! `src/bin/` is left out: binaries are their own crates). A file imports another when it names
//! an item of it: `use crate::…`, `use super::…`, `use self::…`, `use child::…` for a child
//! module, brace groups included, and inline `crate::…` / `super::…` paths. A path is resolved to
//! the longest module prefix that is a file. The module's own `#[cfg(test)] mod tests { … }`
//! block is left out: a test module naming its parent is not a second file.
//!
//! No crate parses Rust `use` trees without pulling a full parser (syn) into xtask, and this
//! approximation is enough for the rule: it is written here, and its test below shows it finds
//! the circles it is meant to find.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A module path inside one crate (`["triggers", "sqs"]`), empty for the crate root.
type ModPath = Vec<String>;

/// The module of `file` under `src`, or `None` for files of `src/bin/`.
fn module_of(src: &Path, file: &Path) -> Option<ModPath> {
    let rel = file.strip_prefix(src).ok()?.with_extension("");
    let mut segments: ModPath = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if segments.first().is_some_and(|s| s == "bin") {
        return None;
    }
    if segments
        .last()
        .is_some_and(|s| s == "mod" || (segments.len() == 1 && (s == "lib" || s == "main")))
    {
        segments.pop();
    }
    Some(segments)
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Expands one `use` tree (`a::{b, c::{d, e as f}}`) into plain paths, appended to `out`.
fn expand_use_tree(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    let join = |head: &str| match (prefix.is_empty(), head.is_empty()) {
        (true, _) => head.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}::{head}"),
    };
    if let (Some(open), Some(close)) = (tree.find('{'), tree.rfind('}')) {
        let head = join(tree[..open].trim().trim_end_matches("::"));
        let mut depth = 0usize;
        let mut start = open + 1;
        for (i, c) in tree[..close].char_indices().skip(open + 1) {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    expand_use_tree(&head, &tree[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand_use_tree(&head, &tree[start..close], out);
        return;
    }
    let item = tree.split(" as ").next().unwrap_or("").trim();
    match item {
        "" => {}
        "self" | "*" => out.push(prefix.to_owned()),
        _ => out.push(join(item)),
    }
}

/// The paths a file's code names: `use` trees and inline `crate::`/`super::` paths.
fn named_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let boundary = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        rest = &rest[at + 4..];
        if let (true, Some(end)) = (boundary, rest.find(';')) {
            expand_use_tree("", &rest[..end], &mut paths);
        }
    }
    for root in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(root) {
            let tail = &rest[at..];
            let len = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            let path = tail[..len].trim_end_matches(':');
            // `crate::{a, b}` is a `use` tree, read above.
            if path.len() > root.len() - 2 {
                paths.push(path.to_owned());
            }
            rest = &rest[at + root.len()..];
        }
    }
    paths
}

/// The code of a file without comment lines and without its `#[cfg(test)]` modules (attributes
/// may stand between the `cfg` and the `mod`; the module's block is skipped by its braces).
fn code_of(text: &str) -> String {
    let mut code = String::new();
    let mut cfg_test = false;
    let mut skipping: Option<usize> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if let Some(depth) = skipping.as_mut() {
            for c in line.chars() {
                match c {
                    '{' => *depth += 1,
                    '}' => *depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            if *depth == 0 && line.contains('}') {
                skipping = None;
            }
            continue;
        }
        if cfg_test && (trimmed.starts_with("mod ") || trimmed.starts_with("pub mod ")) {
            cfg_test = false;
            if trimmed.contains('{') {
                let depth = line.matches('{').count() - line.matches('}').count().min(1);
                skipping = (depth > 0).then_some(depth);
            }
            continue;
        }
        if trimmed.starts_with("#[cfg(test)]") {
            cfg_test = true;
        } else if !trimmed.starts_with("#[") {
            cfg_test = false;
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// `named`, a path written in `module`, as an absolute module path from the crate root;
/// `None` when it names nothing of this crate (another crate, std).
fn absolute(
    modules: &BTreeMap<ModPath, PathBuf>,
    module: &ModPath,
    named: &str,
) -> Option<Vec<String>> {
    let segments: Vec<String> = named.split("::").map(str::to_owned).collect();
    let (mut base, rest) = match segments.first().map(String::as_str) {
        Some("crate") => (Vec::new(), &segments[1..]),
        Some("self") => (module.clone(), &segments[1..]),
        Some("super") => {
            let mut base = module.clone();
            let mut rest = &segments[..];
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            (base, rest)
        }
        Some(first) => {
            let mut child = module.clone();
            child.push(first.to_owned());
            if !modules.contains_key(&child) {
                return None;
            }
            (module.clone(), &segments[..])
        }
        None => return None,
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The `pub use` re-exports of a file: the name it re-exports and the absolute path it stands for.
fn reexports_of(
    modules: &BTreeMap<ModPath, PathBuf>,
    module: &ModPath,
    code: &str,
) -> BTreeMap<String, Vec<String>> {
    let mut names = BTreeMap::new();
    for marker in ["pub use ", "pub(crate) use ", "pub(super) use "] {
        let mut rest = code;
        while let Some(at) = rest.find(marker) {
            rest = &rest[at + marker.len()..];
            let Some(end) = rest.find(';') else { break };
            let mut paths = Vec::new();
            expand_use_tree("", &rest[..end], &mut paths);
            for path in paths {
                if let Some(target) = absolute(modules, module, &path)
                    && let Some(name) = target.last()
                {
                    names.insert(name.clone(), target.clone());
                }
            }
        }
    }
    names
}

/// The files of one crate's `src/` that take part in an import circle, each circle's files
/// listed together. A name re-exported by a `pub use` counts as the file that defines it.
fn circles_in(src: &Path) -> Vec<Vec<PathBuf>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeMap<ModPath, PathBuf> = files
        .into_iter()
        .filter_map(|f| module_of(src, &f).map(|m| (m, f)))
        .collect();
    let codes: BTreeMap<&ModPath, String> = modules
        .iter()
        .map(|(m, f)| (m, code_of(&fs::read_to_string(f).unwrap_or_default())))
        .collect();
    let reexports: BTreeMap<&ModPath, BTreeMap<String, Vec<String>>> = codes
        .iter()
        .map(|(m, code)| (*m, reexports_of(&modules, m, code)))
        .collect();
    let resolve = |path: &[String]| -> Option<ModPath> {
        let mut path = path.to_vec();
        for _ in 0..8 {
            let prefix = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|prefix| modules.contains_key(prefix))?;
            let via = path
                .get(prefix.len())
                .and_then(|name| reexports.get(&prefix)?.get(name))
                .filter(|target| **target != path[..=prefix.len()]);
            match via {
                Some(target) => {
                    let mut next = target.clone();
                    next.extend(path[prefix.len() + 1..].iter().cloned());
                    path = next;
                }
                None => return Some(prefix),
            }
        }
        None
    };
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (module, code) in &codes {
        let targets = edges.entry((*module).clone()).or_default();
        for named in named_paths(code) {
            if let Some(target) = absolute(&modules, module, &named)
                .and_then(|path| resolve(&path))
                .filter(|t| t != *module)
            {
                targets.insert(target);
            }
        }
    }
    // A module is in a circle when it can reach itself; its circle is what it reaches and what
    // reaches it.
    let reach = |from: &ModPath| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(node) = todo.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&ModPath, BTreeSet<ModPath>> =
        modules.keys().map(|m| (m, reach(m))).collect();
    let mut done = BTreeSet::new();
    let mut circles = Vec::new();
    for (module, reached) in &reaches {
        if !reached.contains(*module) || done.contains(*module) {
            continue;
        }
        let members: Vec<ModPath> = reached
            .iter()
            .filter(|other| reaches.get(other).is_some_and(|r| r.contains(*module)))
            .cloned()
            .collect();
        done.extend(members.iter().cloned());
        circles.push(members.iter().map(|m| modules[m].clone()).collect());
    }
    circles
}

/// Every `src/` directory of a crate below `root` (skipping build output and virtualenvs).
fn crate_sources(root: &Path, out: &mut Vec<PathBuf>) {
    if root.join("Cargo.toml").is_file() && root.join("src").is_dir() {
        out.push(root.join("src"));
    }
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() && !name.starts_with('.') && name != "target" && name != "src" {
            crate_sources(&path, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    fn names(circles: &[Vec<PathBuf>], src: &Path) -> Vec<Vec<String>> {
        circles
            .iter()
            .map(|c| {
                c.iter()
                    .map(|f| f.strip_prefix(src).expect("in src").display().to_string())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn finds_direct_braced_inline_and_parent_child_circles() {
        let dir = std::env::temp_dir().join(format!("module-graph-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let src = dir.join("src");
        write(&src, "lib.rs", "mod a;\nmod b;\nmod leaf;\nmod p;\n");
        // a -> b through a brace group, b -> a through an inline path.
        write(&src, "a.rs", "use crate::{leaf::X, b::{Y as Z}};\n");
        write(&src, "b.rs", "fn f() { crate::a::g(); }\n");
        write(&src, "leaf.rs", "// use crate::a;\npub struct X;\n");
        // p/mod.rs uses its child, the child uses its parent's item.
        write(&src, "p/mod.rs", "mod c;\npub use c::C;\npub struct P;\n");
        write(
            &src,
            "p/c.rs",
            "use super::P;\npub struct C;\n#[cfg(test)]\nmod tests {\n    use crate::a::Q;\n}\n",
        );
        let found = names(&circles_in(&src), &src);
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(
            found,
            vec![vec!["a.rs", "b.rs"], vec!["p/mod.rs", "p/c.rs"]],
            "{found:?}"
        );
    }

    #[test]
    fn no_two_files_of_the_workspace_import_each_other() {
        let root = crate::workspace::root().expect("workspace root");
        let mut sources = Vec::new();
        crate_sources(&root, &mut sources);
        assert!(sources.len() >= 9, "crates found: {sources:?}");
        let circles: Vec<String> = sources
            .iter()
            .flat_map(|src| {
                circles_in(src).into_iter().map(|c| {
                    c.iter()
                        .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
                        .collect::<Vec<_>>()
                        .join(" <-> ")
                })
            })
            .collect();
        assert!(
            circles.is_empty(),
            "files that import each other: {circles:#?}"
        );
    }
}
