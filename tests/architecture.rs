//! The data flows one way: input → scan → parse → classify → aggregate →
//! detect → model → render / export (docs/architecture.md). This test reads
//! every `crate::` path in `src/` and fails on one that runs against it, so
//! the layering is checked on every change rather than remembered.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Each top-level module's place in the flow. A module may use the ones
/// before it and the leaves; never one after it or a sibling of its rank.
const STAGES: &[(&str, u32)] = &[
    ("input", 1),
    ("scan", 2),
    ("parse", 3),
    ("classify", 4),
    ("filter", 5),
    ("journey", 6),
    ("aggregate", 7),
    ("analysis", 8),
    // Another consumer of input's bytes, beside the analysis.
    ("trace", 8),
    // Another source of an analysis: an events dataset instead of logs.
    ("fleet", 9),
    ("detect", 9),
    // --state's days: read after detection, judged into the model.
    ("history", 10),
    ("model", 11),
    ("render", 12),
    ("export", 12),
    ("app", 13),
    // The fuzz harnesses drive every stage; nothing in the crate uses them.
    ("fuzz", 14),
];

/// Modules every stage may use; they use only each other.
const LEAVES: &[&str] = &[
    "time", "escape", "hashing", "error", "intern", "dsn", "event",
];

fn rank(module: &str) -> Option<u32> {
    STAGES.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a file's code (not its comments) names through
/// `crate::`, including `use crate::{a, b::c}` groups.
fn used_modules(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| format!("{l}\n"))
        .collect();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut used = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The names at the group's first level.
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_ascii_alphanumeric() || c == '_') => {
                        used.insert(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                used.insert(name);
            }
        }
    }
    used
}

#[test]
fn no_import_runs_against_the_data_flow() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src/");
        let first = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default();
        let module = first.trim_end_matches(".rs");
        if matches!(module, "lib" | "main") {
            continue;
        }
        let leaf = LEAVES.contains(&module);
        let own = rank(module);
        assert!(
            leaf || own.is_some(),
            "{}: module `{module}` has no place in STAGES or LEAVES of tests/architecture.rs",
            relative.display()
        );
        let text = fs::read_to_string(file).expect("a source file is UTF-8");
        for used in used_modules(&text) {
            if used == module {
                continue;
            }
            checked += 1;
            let allowed = match (LEAVES.contains(&used.as_str()), rank(&used), own) {
                (true, _, _) => true,
                (false, _, None) => false, // a leaf using a stage
                (false, Some(theirs), Some(mine)) => theirs < mine,
                (false, None, _) => panic!(
                    "{}: `crate::{used}` is not a module tests/architecture.rs knows",
                    relative.display()
                ),
            };
            if !allowed {
                wrong.push(format!("{} ({module}) uses {used}", relative.display()));
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} imports found: the scan is broken"
    );
    assert!(
        wrong.is_empty(),
        "imports against input → scan → parse → classify → aggregate → detect → model → render/export:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_import_reader_sees_groups_and_skips_comments() {
    let text = "use crate::{aggregate, journey::{a, b}, parse};\n\
                // crate::render in a comment\n\
                /// [`crate::model`] in a doc comment\n\
                let x = crate::time::zone::Zone::UTC;\n";
    let used: Vec<String> = used_modules(text).into_iter().collect();
    assert_eq!(used, ["aggregate", "journey", "parse", "time"]);
}
