//! Errors (issue 5 item 8): one clear line on stderr naming the input or
//! value and the cause, exit status 2, the other inputs still reported.

mod common;

use common::{json_with, mtastat, testdata};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;

fn one_line_exit_2(args: &[&str]) -> String {
    let out = mtastat().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("mtastat: "), "{err}");
    err
}

#[test]
fn unknown_format_names_the_value_and_the_choices() {
    let log = testdata("postfix/mail.log");
    let err = one_line_exit_2(&["--format", "xml", log.to_str().unwrap()]);
    assert!(err.contains("'xml'") && err.contains("text, json"), "{err}");
    // And the known ones work: --format json is --json.
    let out = mtastat()
        .args(["--format", "json", "--tz", "UTC"])
        .arg(&log)
        .output()
        .unwrap();
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = mtastat()
        .args(["--json", "--tz", "UTC"])
        .arg(&log)
        .output()
        .unwrap();
    let b: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["deliveries"], b["deliveries"]);
}

#[test]
fn unknown_option_is_one_line() {
    let err = one_line_exit_2(&["--frobnicate"]);
    assert!(err.contains("--frobnicate"), "{err}");
}

#[test]
fn unreadable_file_is_skipped_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("mail.log.1");
    fs::write(
        &locked,
        b"Nov 22 12:39:02 mx1 postfix/qmgr[1]: ABC: removed\n",
    )
    .unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let good = testdata("postfix/mail.log");
    let out = if fs::read(&locked).is_ok() {
        // Root reads whatever the mode says: mtastat runs as nobody, who
        // can reach the directory but not the file (CI runs as root).
        use std::os::unix::process::CommandExt;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        std::process::Command::new(assert_cmd::cargo::cargo_bin("mtastat"))
            .uid(65534)
            .gid(65534)
            .env("TZ", "UTC")
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .args(["--json", "--tz", "UTC"])
            .arg(&locked)
            .arg(&good)
            .output()
            .unwrap()
    } else {
        mtastat()
            .args(["--json", "--tz", "UTC"])
            .arg(&locked)
            .arg(&good)
            .output()
            .unwrap()
    };
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("mail.log.1: permission denied"), "{err}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["delivery_attempts"].as_u64().unwrap() > 0);
}

#[test]
fn export_to_a_directory_or_missing_directory_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = testdata("postfix/mail.log");
    let log = log.to_str().unwrap();
    let d = dir.path().to_str().unwrap();
    let err = one_line_exit_2(&[log, "--csv", d]);
    assert!(err.contains(d) && err.contains("is a directory"), "{err}");
    let missing = format!("{d}/no/such/dir/summary.parquet");
    let err = one_line_exit_2(&[log, "--parquet", &missing]);
    assert!(err.contains("summary.parquet"), "{err}");
}

#[test]
fn a_failed_export_leaves_the_old_file_and_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("summary.csv");
    fs::write(&csv, b"yesterday's export\n").unwrap();
    // The input fails to parse as a time filter: nothing is written.
    let out = mtastat()
        .arg(testdata("postfix/mail.log"))
        .args(["--since", "not a time", "--csv"])
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(fs::read(&csv).unwrap(), b"yesterday's export\n");
    // A successful export replaces the file whole, through a renamed temp file.
    mtastat()
        .arg(testdata("postfix/mail.log"))
        .arg("--csv")
        .arg(&csv)
        .assert()
        .success();
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["summary.csv"], "no temp file left beside it");
    assert!(fs::read_to_string(&csv).unwrap().starts_with("provider,"));
}

/// A file name is chosen by whoever created the file: escape sequences in it
/// must not reach the terminal through the error line (they did).
#[test]
fn escape_sequences_in_file_names_are_escaped_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let evil = dir.path().join("mail.log\x1b]0;pwned\x07\x1b[2J");
    let out = mtastat().arg(&evil).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    for stream in [&out.stderr, &out.stdout] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mail.log\\x1b]0;pwned\\x07\\x1b[2J"), "{err}");
}

/// Issue 14, the smaller items: no panic (exit 101) from any argument or
/// output, and one clear line for each refusal.
#[test]
fn completions_to_a_closed_pipe_or_a_full_disk_do_not_panic() {
    let bin = assert_cmd::cargo::cargo_bin("mtastat");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' completions bash | head -1; echo \"${{PIPESTATUS:-}}\"",
            bin.display()
        ))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    let full = std::process::Command::new(&bin)
        .args(["completions", "zsh"])
        .stdout(fs::File::options().write(true).open("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(full.status.code(), Some(2));
    let err = String::from_utf8_lossy(&full.stderr);
    assert!(
        err.contains("No space left") && !err.contains("panicked"),
        "{err}"
    );
    let err = one_line_exit_2(&["completions"]);
    assert!(
        err.contains("<SHELL>"),
        "the missing argument is named: {err}"
    );
}

#[test]
fn threads_are_bounded_and_negative_shares_are_explained() {
    let log = testdata("postfix/mail.log");
    let log = log.to_str().unwrap();
    let err = one_line_exit_2(&["-j", "100000", log]);
    assert!(err.contains("1..=1024"), "{err}");
    let err = one_line_exit_2(&["--min-share", "-0.5", log]);
    assert!(
        err.contains("--min-share") && err.contains("\"-0.5\" is not a share"),
        "{err}"
    );
    assert!(!err.contains("min_share"), "{err}");
}

#[test]
fn a_closed_stdout_is_an_error_not_a_lost_report() {
    let bin = assert_cmd::cargo::cargo_bin("mtastat");
    let log = testdata("postfix/mail.log");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' '{}' >&-", bin.display(), log.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard output is closed"));
    // /dev/null is a place to write to.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' '{}' > /dev/null",
            bin.display(),
            log.display()
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn settings_files_are_capped() {
    let log = testdata("postfix/mail.log");
    let log = log.to_str().unwrap();
    let err = one_line_exit_2(&["--config", "/dev/zero", log]);
    assert!(err.contains("larger than 1 MiB"), "{err}");
    let err = one_line_exit_2(&["--providers", "/dev/zero", log]);
    assert!(err.contains("larger than 1 MiB"), "{err}");
}

#[test]
fn a_provider_name_cannot_carry_escape_sequences() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("providers.toml");
    fs::write(
        &file,
        "[[provider]]\nid = \"google\"\nname = \"Google\\u001b[2J\\nfake line\"\n",
    )
    .unwrap();
    let log = testdata("postfix/mail.log");
    let err = one_line_exit_2(&["--providers", file.to_str().unwrap(), log.to_str().unwrap()]);
    assert!(err.contains("control or invisible"), "{err}");
    assert!(!err.contains('\x1b'));
}

#[test]
fn dates_that_do_not_exist_are_not_taken_as_march() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    fs::write(
        &log,
        "Feb 29 10:00:00 mx1 postfix/qmgr[1]: ABCDEF1234: removed\n\
         Feb 28 10:00:00 mx1 postfix/qmgr[1]: ABCDEF1235: removed\n",
    )
    .unwrap();
    let out = mtastat()
        .args(["--json", "--year", "2026"])
        .arg(&log)
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["unparsed_lines"], 1, "{r}");
    assert_eq!(r["period"]["first"], "2026-02-28 10:00:00");
    let err = one_line_exit_2(&["--since", "2026-02-30", log.to_str().unwrap()]);
    assert!(err.contains("2026-02-30"), "{err}");
}

/// `--tz X` reads zone-less times as `TZ=X` does, POSIX strings included
/// (`UTC+5` is five hours west: they differed by ten hours).
#[test]
fn tz_flag_and_tz_variable_agree() {
    let log = testdata("postfix/mail.log");
    for zone in ["UTC+5", "EST5EDT,M3.2.0,M11.1.0", "Europe/Berlin", "+05:30"] {
        let flag = json_with(&["--tz", zone, "--utc"], &[&log]);
        let out = mtastat()
            .env("TZ", zone)
            .args(["--json", "--utc"])
            .arg(&log)
            .output()
            .unwrap();
        if zone.starts_with('+') {
            continue; // not a TZ value
        }
        let env: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(flag["period"], env["period"], "{zone}");
    }
}

#[test]
fn two_exports_to_one_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let same = dir.path().join("out");
    let link = dir.path().join("link");
    fs::write(&same, "").unwrap();
    std::os::unix::fs::symlink(&same, &link).unwrap();
    let log = testdata("postfix/mail.log");
    let err = one_line_exit_2(&[
        "--csv",
        same.to_str().unwrap(),
        "--parquet",
        link.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert!(err.contains("the same file"), "{err}");
}

#[test]
fn a_target_name_near_the_limit_still_exports() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join(format!("{}.csv", "s".repeat(240)));
    mtastat()
        .arg("--csv")
        .arg(&csv)
        .arg(testdata("postfix/mail.log"))
        .assert()
        .success();
    assert!(fs::read_to_string(&csv).unwrap().starts_with("provider,"));
}
