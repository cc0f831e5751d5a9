//! Helpers shared by the integration tests.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn testdata(rel: &str) -> PathBuf {
    root().join("testdata").join(rel)
}

pub fn shared() -> Option<PathBuf> {
    let p = root().join("..").join("shared");
    if p.join("lab").is_dir() {
        Some(p)
    } else {
        require_tool(
            "../shared",
            "CI runs with the lab logs and corpora beside the repo",
        );
        None
    }
}

/// A test that needs a tool or data it does not find skips with a message —
/// except under `.ci/run` (`MTASTAT_CI=1`), where everything is installed
/// and a missing piece is a failure, never a silent pass.
#[allow(dead_code)]
pub fn require_tool(what: &str, how: &str) {
    if std::env::var_os("MTASTAT_CI").is_some() {
        panic!("{what} is missing under CI ({how})");
    }
    eprintln!("skipping: {what} is not available ({how})");
}

pub fn mtastat() -> Command {
    let mut cmd = Command::cargo_bin("mtastat").unwrap_or_else(|e| panic!("binary not built: {e}"));
    // Expectations are written in UTC whatever the machine's zone; the zone
    // tests pass --tz.
    cmd.env("TZ", "UTC");
    // No provider file from the developer's own ~/.config.
    cmd.env("XDG_CONFIG_HOME", root().join("target/no-such-config"));
    cmd
}

/// `mtastat --json ARGS -`, its standard input written by `feed` on a
/// thread of its own (input larger than a pipe holds, without a file whose
/// pages would count in the RSS); must succeed; returns the report.
pub fn json_streamed<F>(args: &[&str], feed: F) -> Value
where
    F: FnOnce(&mut std::process::ChildStdin) -> std::io::Result<()> + Send + 'static,
{
    let mut child = process::Command::new(assert_cmd::cargo::cargo_bin("mtastat"))
        .env("TZ", "UTC")
        .arg("--json")
        .args(args)
        .arg("-")
        .stdin(process::Stdio::piped())
        .stdout(process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || feed(&mut stdin));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs `cmd`, which must succeed (its stderr in the message otherwise);
/// returns its stdout as text.
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// [`stdout_of`] a `--json` run, parsed.
pub fn json_of(cmd: &mut Command) -> Value {
    serde_json::from_str(&stdout_of(cmd)).unwrap()
}

/// Runs a `--json` `cmd` that must exit 2 with exactly one stderr line
/// containing `needle` (an input or export named), the report still on
/// stdout; returns the report.
pub fn json_with_one_error(cmd: &mut Command, needle: &str) -> Value {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{err}");
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn json_report(args: &[&Path]) -> Value {
    json_with(&[], args)
}

/// `mtastat --json OPTIONS FILES`, which must succeed, parsed.
pub fn json_with(options: &[&str], files: &[&Path]) -> Value {
    let out = mtastat()
        .arg("--json")
        .args(options)
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// True when `python3 -c "import MODULE"` works (an optional reader for a
/// read-back check; `.ci/run` installs them).
pub fn has_python_module(module: &str) -> bool {
    process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a Python script; panics with its stderr if it fails; returns stdout lines.
pub fn python(script: &str) -> Vec<String> {
    let out = process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `sh -c` pipeline output, trimmed.
pub fn sh(script: &str) -> String {
    let out = process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn grep_count(pattern: &str, file: &Path) -> u64 {
    let out = sh(&format!(
        "LC_ALL=C grep -acE '{pattern}' '{}'",
        file.display()
    ));
    out.parse().unwrap_or(0)
}

pub fn per_status(report: &Value) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for d in report["deliveries"].as_array().unwrap() {
        *m.entry(d["status"].as_str().unwrap().to_string())
            .or_insert(0) += d["count"].as_u64().unwrap();
    }
    m
}

pub fn per_code(report: &Value) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for d in report["deliveries"].as_array().unwrap() {
        let dsn = d["dsn"].as_str().unwrap();
        if !dsn.is_empty() {
            *m.entry(dsn.to_string()).or_insert(0) += d["count"].as_u64().unwrap();
        }
    }
    m
}

/// Every file under `dir`, recursively, in name order (symbolic links not
/// followed).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => dirs.push(e.path()),
                Ok(t) if t.is_file() => out.push(e.path()),
                _ => {}
            }
        }
    }
    out.sort();
    out
}
