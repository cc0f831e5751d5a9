//! Integration tests: run the `mtastat` binary on testdata, on hostile input,
//! and — when `../shared` is beside the repo — on the genuine lab logs and the
//! public corpora, checking counts against `grep`, never against mtastat.

use predicates::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process;

mod common;
use common::*;

#[test]
fn readme_first_command_runs_on_testdata() {
    mtastat()
        .arg(testdata("postfix/mail.log"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Delivery attempts by provider and status",
        ))
        .stdout(predicate::str::contains("google"))
        .stdout(predicate::str::contains(
            "Top failure codes and reasons per provider",
        ));
}

#[test]
fn json_has_the_documented_shape() {
    let r = json_report(&[&testdata("postfix/mail.log"), &testdata("exim/mainlog")]);
    for key in [
        "files",
        "lines",
        "unparsed_lines",
        "deliveries",
        "reasons",
        "providers",
    ] {
        assert!(r.get(key).is_some(), "missing {key}");
    }
    let row = &r["deliveries"][0];
    let keys: Vec<&str> = row
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec![
        "provider",
        "domain",
        "status",
        "dsn",
        "class",
        "subject",
        "count",
        "sasl_user",
        "client",
    ];
    want.sort();
    let mut got = keys.clone();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(r["files"].as_array().unwrap().len(), 2);
    assert_eq!(r["files"][1]["format"], "exim-mainlog");
}

#[test]
fn testdata_counts_match_grep() {
    for (file, mta) in [
        ("postfix/mail.log", "postfix"),
        ("postfix/mail-iso.log", "postfix"),
        ("exim/mainlog", "exim"),
    ] {
        let path = testdata(file);
        let r = json_report(&[&path]);
        check_status_counts(&r, &path, mta);
        assert_eq!(r["unparsed_lines"], 0, "{file}");
    }
}

/// Independent per-status counts: grep over the raw file.
fn check_status_counts(r: &Value, path: &Path, mta: &str) {
    let mine = per_status(r);
    let get = |s: &str| mine.get(s).copied().unwrap_or(0);
    if mta == "postfix" {
        for s in ["sent", "deferred", "bounced", "expired"] {
            assert_eq!(
                get(s),
                grep_count(&format!("status={s}"), path),
                "{s} in {}",
                path.display()
            );
        }
    } else {
        let flag = |f: &str| format!("^[0-9-]+ [0-9:.]+ [0-9A-Za-z-]+ {f} ");
        let expired = grep_count(
            "^[0-9-]+ [0-9:.]+ [0-9A-Za-z-]+ \\*\\* .*(retry timeout exceeded|have been failing for a long time)",
            path,
        );
        assert_eq!(
            get("sent"),
            grep_count(&flag("(=>|->)"), path),
            "sent in {}",
            path.display()
        );
        assert_eq!(get("deferred"), grep_count(&flag("=="), path), "deferred");
        assert_eq!(
            get("bounced") + expired,
            grep_count(&flag("\\*\\*"), path),
            "bounced"
        );
        assert_eq!(get("expired"), expired, "expired");
    }
}

#[test]
fn lab_postfix_counts_match_grep_per_status_and_code() {
    let Some(shared) = shared() else { return };
    for run in ["runA", "runC"] {
        let path = shared.join("lab/postfix").join(run).join("mail.log");
        let r = json_report(&[&path]);
        check_status_counts(&r, &path, "postfix");
        let grep_codes = sh(&format!(
            "LC_ALL=C grep -aoE 'dsn=[0-9]+\\.[0-9]+\\.[0-9]+' '{}' | sort | uniq -c",
            path.display()
        ));
        let mut want = BTreeMap::new();
        for line in grep_codes.lines() {
            let mut it = line.split_whitespace();
            let n: u64 = it.next().unwrap().parse().unwrap();
            let code = it.next().unwrap().trim_start_matches("dsn=").to_string();
            want.insert(code, n);
        }
        assert_eq!(per_code(&r), want, "{run}");
        assert_eq!(r["unparsed_lines"], 0);
    }
}

#[test]
fn lab_exim_counts_match_grep_per_status_and_code() {
    let Some(shared) = shared() else { return };
    for run in ["run1", "run3"] {
        let path = shared.join("lab/exim").join(run).join("mainlog");
        let r = json_report(&[&path]);
        check_status_counts(&r, &path, "exim");
        // The code of the reply's last line: in Exim's text, lines are joined
        // by a literal "\n"; the last line is after the last one. awk takes
        // the text after the last "\n" (or the reply after "server after …: "),
        // then the first "NNN X.Y.Z" in it.
        let script = format!(
            r#"LC_ALL=C grep -aE '^[0-9-]+ [0-9:.]+ [0-9A-Za-z-]+ (=>|->|\*\*|==) ' '{}' | awk '{{
                line=$0
                if ($4 == "=>" || $4 == "->") {{ if (match(line, / C="[^"]*"/)) line=substr(line, RSTART+4, RLENGTH-5); else next }}
                else {{ i=index(line, "SMTP error from remote mail server after "); if (i==0) next; line=substr(line, i)
                        j=index(line, ": "); line=substr(line, j+2) }}
                n=split(line, parts, /\\n/); last=parts[n]
                if (match(last, /^[2-5][0-9][0-9][ -]+[245]\.[0-9]+\.[0-9]+/)) {{ c=substr(last, RSTART, RLENGTH); sub(/^[0-9]+[ -]+/, "", c); print c }}
                else if (match(parts[1], /^[2-5][0-9][0-9][ -]+[245]\.[0-9]+\.[0-9]+/) && last !~ /^[2-5][0-9][0-9]/) {{ c=substr(parts[1], RSTART, RLENGTH); sub(/^[0-9]+[ -]+/, "", c); print c }}
            }}' | sort | uniq -c"#,
            path.display()
        );
        let mut want = BTreeMap::new();
        for line in sh(&script).lines() {
            let mut it = line.split_whitespace();
            let n: u64 = it.next().unwrap().parse().unwrap();
            want.insert(it.next().unwrap().to_string(), n);
        }
        assert!(!want.is_empty());
        assert_eq!(per_code(&r), want, "{run}");
        assert_eq!(r["unparsed_lines"], 0);
    }
}

#[test]
fn lab_providers_are_classified_by_relay_host() {
    let Some(shared) = shared() else { return };
    let r = json_report(&[&shared.join("lab/postfix/runA/mail.log")]);
    let provider_of = |domain: &str| -> Vec<String> {
        let mut v: Vec<String> = r["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["domain"] == domain && d["status"] == "sent")
            .map(|d| d["provider"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(provider_of("example-corp.com"), ["google"]);
    assert_eq!(provider_of("contoso.com"), ["microsoft"]);
    assert_eq!(provider_of("aol.com"), ["yahoo"]);
    assert_eq!(provider_of("me.com"), ["apple"]);
    assert_eq!(provider_of("acme-mailer.example"), ["local"]);
}

/// Every line carrying a Postfix `status=` word or an Exim delivery flag is a
/// delivery attempt or counted as not understood: run mtastat on exactly
/// those lines (selected by grep) and account for every one of them.
#[test]
fn corpora_every_status_line_is_accounted_for() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    let files = sh(&format!(
        "find '{}' -type f ! -name 'PROVENANCE*'",
        shared.join("corpora").display()
    ));
    for file in files.lines() {
        let resid = dir.path().join("resid.log");
        let n: u64 = sh(&format!(
            r"LC_ALL=C grep -aE ' status=[A-Za-z]|^[0-9-]+ [0-9:.]+ (\[[0-9]+\] )?[0-9A-Za-z]{{6}}-[0-9A-Za-z]{{6,11}}-[0-9A-Za-z]{{2,4}} (=>|->|\*\*|==) |exim[0-9]*\[[0-9]+\]: .*[0-9A-Za-z]{{6}}-[0-9A-Za-z]{{6,11}}-[0-9A-Za-z]{{2,4}} (=>|->|\*\*|==) ' '{file}' > '{}'; wc -l < '{}'",
            resid.display(),
            resid.display()
        ))
        .parse()
        .unwrap_or(0);
        if n == 0 {
            continue;
        }
        // A residue of only lines not understood (templates such as
        // `%(day)s 11:00:20 …`) is not a mail log: exit 2, still reported.
        let out = mtastat().arg("--json").arg(&resid).output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | 2)), "{file}");
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let accounted = r["delivery_attempts"].as_u64().unwrap()
            + r["unparsed_lines"].as_u64().unwrap()
            + r["blank_lines"].as_u64().unwrap();
        assert_eq!(
            accounted, n,
            "{file}: {n} status lines, {accounted} accounted for"
        );
        checked += 1;
    }
    assert!(
        checked > 20,
        "only {checked} corpora files had status lines"
    );
}

#[test]
fn all_corpora_together_never_crash() {
    let Some(shared) = shared() else { return };
    let files = sh(&format!(
        "find '{}' -type f ! -name 'PROVENANCE*' | sort",
        shared.join("corpora").display()
    ));
    let paths: Vec<&str> = files.lines().collect();
    let out = mtastat()
        .args(&paths)
        .arg("--color=never")
        .output()
        .unwrap();
    // Files that are not mail logs (YAML fixtures, TSV) are named on stderr
    // and make the exit status 2; the report of the rest is written.
    assert!(matches!(out.status.code(), Some(0 | 2)), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Delivery attempts"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn hostile_input_is_escaped_and_counted() {
    let path = testdata("edge/hostile.log");
    let out = mtastat().arg(&path).arg("--color=always").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    // mtastat's own colour codes are \x1b[…m; no other ESC may appear.
    let stripped = text
        .replace("\x1b[0m", "")
        .replace("\x1b[1m", "")
        .replace("\x1b[2m", "")
        .replace("\x1b[31m", "")
        .replace("\x1b[33m", "");
    assert!(
        !stripped.contains('\x1b'),
        "raw ESC reached the terminal:\n{text}"
    );
    assert!(!stripped.contains('\x07'));
    assert!(!stripped.contains('\u{202e}'));
    assert!(text.contains("\\x1b]<n>;pwned\\x07"), "{text}");
    assert!(text.contains("\\u{202e}evil"), "{text}");
    let r = json_report(&[&path]);
    // The PNG signature's \r\n splits the junk into two lines.
    assert_eq!(r["lines"], 10);
    assert_eq!(r["blank_lines"], 1);
    // two lines of binary junk + the truncated last line
    assert_eq!(r["unparsed_lines"], 3, "{:#}", r["unparsed"]);
    assert_eq!(r["delivery_attempts"], 6);
}

#[test]
fn stdin_and_file_agree() {
    let path = testdata("postfix/mail-iso.log");
    let a = json_report(&[&path]);
    let out = mtastat()
        .args(["--json", "-"])
        .pipe_stdin(&path)
        .unwrap()
        .output()
        .unwrap();
    let b: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["deliveries"], b["deliveries"]);
    assert_eq!(b["files"][0]["read"], "stream");
}

#[test]
fn missing_file_is_one_line_and_exit_2_but_others_are_reported() {
    let r = json_with_one_error(
        mtastat()
            .arg("/nonexistent/mail.log")
            .arg(testdata("postfix/mail-iso.log"))
            .arg("--json"),
        "/nonexistent/mail.log: no such file or directory",
    );
    assert!(r["delivery_attempts"].as_u64().unwrap() > 0);
    let missing = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/nonexistent/mail.log")
        .unwrap();
    assert!(missing["error"].is_string());
}

#[test]
fn directory_without_mail_logs_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("syslog"), b"not mail\n").unwrap();
    mtastat()
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            ": a directory without mail logs (looked for mail.log*",
        ));
}

#[test]
fn export_over_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    std::fs::copy(testdata("postfix/mail-iso.log"), &log).unwrap();
    mtastat()
        .arg(&log)
        .arg("--csv")
        .arg(&log)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "refusing to export over an input file",
        ));
    assert_eq!(
        std::fs::read(&log).unwrap(),
        std::fs::read(testdata("postfix/mail-iso.log")).unwrap()
    );
}

/// CSV and Parquet exports, read back by an independent reader (Python's csv
/// module, and pyarrow when installed), must hold the summary frame's rows.
#[test]
fn csv_and_parquet_exports_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("summary.csv");
    let pq = dir.path().join("summary.parquet");
    mtastat()
        .arg(testdata("postfix/mail.log"))
        .arg(testdata("edge/hostile.log"))
        .arg("--csv")
        .arg(&csv)
        .arg("--parquet")
        .arg(&pq)
        .assert()
        .success();
    let r = json_report(&[&testdata("postfix/mail.log"), &testdata("edge/hostile.log")]);
    let total: u64 = per_status(&r).values().sum();
    let script = format!(
        r#"import csv,sys
rows=list(csv.DictReader(open('{}', newline='')))
assert list(rows[0].keys())==['provider','domain','status','dsn','class','subject','count','sasl_user','client'], rows[0].keys()
print(sum(int(r['count']) for r in rows))
print(any(r['domain'].startswith("'=") for r in rows))"#,
        csv.display()
    );
    let lines = python(&script);
    assert_eq!(lines[0].parse::<u64>().unwrap(), total);
    assert_eq!(lines[1], "True", "formula cell neutralised");

    if !common::has_python_module("pyarrow") {
        common::require_tool("pyarrow", "the Parquet read-back; .ci/run installs it");
        return;
    }
    let script = format!(
        r#"import pyarrow.parquet as pq
t=pq.read_table('{}')
print(t.schema.names)
print(sum(t.column('count').to_pylist()))
print(t.schema.field('class').type, t.schema.field('count').type)"#,
        pq.display()
    );
    let lines = python(&script);
    assert_eq!(
        lines[0],
        "['provider', 'domain', 'status', 'dsn', 'class', 'subject', 'count', 'sasl_user', 'client']"
    );
    assert_eq!(lines[1].parse::<u64>().unwrap(), total);
    assert_eq!(lines[2], "uint8 uint64");
}

#[test]
fn help_has_examples() {
    mtastat()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains("Exit status"));
}

/// Cron: `--quiet` prints nothing for healthy traffic and only the findings
/// (warning or worse, or --fail-on's level) otherwise.
#[test]
fn quiet_is_silent_when_healthy_and_prints_only_findings() {
    let out = mtastat()
        .args(["--quiet", "--fail-on", "warning"])
        .arg(testdata("healthy/mail.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = mtastat()
        .args(["-q", "--fail-on", "critical"])
        .arg(testdata("postfix/mail.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Findings") && text.contains("CRITICAL"),
        "{text}"
    );
    assert!(!text.contains("WARNING"), "below --fail-on's level: {text}");
    assert!(
        !text.contains("Delivery attempts by provider"),
        "no tables: {text}"
    );
    assert!(!text.contains("Timeline"), "no timeline: {text}");
}

/// `--format markdown` for tickets: the report's sections as Markdown, with
/// log text unable to open HTML, links or table cells.
#[test]
fn markdown_report_is_structured_and_escaped() {
    let out = mtastat()
        .args(["--format", "markdown"])
        .arg(testdata("postfix/mail.log"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let md = String::from_utf8_lossy(&out.stdout);
    for part in [
        "# mtastat report",
        "## Findings",
        "### 1. **CRITICAL**",
        "*Action:*",
        "## Delivery attempts by provider",
        "| provider | attempts | sent | deferred | bounced | expired |",
        "## Top failure replies",
    ] {
        assert!(md.contains(part), "missing {part:?}:\n{md}");
    }
    let out = mtastat()
        .args(["--format", "markdown"])
        .arg(testdata("edge/hostile.log"))
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(!md.contains("<script>") && !md.contains('\x1b'), "{md}");
    assert!(md.contains("&lt;script&gt;"), "{md}");
    // Every table row keeps its cell count: no '|' from a log line got through.
    // (Rows of the journeys table, which Markdown and HTML share: 12 columns,
    // 13 bars.)
    let mut bars = 0;
    for line in md.lines() {
        if line.starts_with("## ") {
            bars = if line.contains("Delivery attempts by provider") {
                6
            } else if line.contains("Message journeys") {
                13
            } else {
                0
            };
        }
        if bars > 0 && (line.starts_with("| other") || line.starts_with("| yahoo")) {
            let cells = line.replace("\\|", "").matches('|').count();
            assert_eq!(cells, bars, "{line}");
        }
    }
}

/// Shell completions and the man page come from the same clap definition as
/// the parser, so they cannot drift from it.
#[test]
fn completions_and_man_page() {
    let out = mtastat().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(
        script.contains("--since") && script.contains("compare"),
        "{script}"
    );
    let check = process::Command::new("bash")
        .args(["-n", "-c", &script])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = mtastat().args(["completions", shell]).output().unwrap();
        assert!(out.status.success() && !out.stdout.is_empty(), "{shell}");
    }
    let out = mtastat().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.contains(".TH mtastat 1") && page.contains("\\-\\-tz"),
        "{page}"
    );
    match process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(process::Stdio::piped())
        .stderr(process::Stdio::piped())
        .spawn()
    {
        Ok(mut groff) => {
            use std::io::Write;
            groff
                .stdin
                .take()
                .unwrap()
                .write_all(page.as_bytes())
                .unwrap();
            let done = groff.wait_with_output().unwrap();
            assert!(done.status.success());
            assert!(
                done.stderr.is_empty(),
                "groff: {}",
                String::from_utf8_lossy(&done.stderr)
            );
        }
        Err(_) => common::require_tool("groff", "the man page check; .ci/run installs groff-base"),
    }
}

/// A progress bar on stderr for large inputs when stderr is a terminal, and
/// nothing otherwise (cron, pipes, these tests).
#[test]
fn progress_bar_only_on_a_terminal() {
    if process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        common::require_tool("script(1)", "util-linux, to provide a terminal");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    let generator = assert_cmd::cargo::cargo_bin("mtastat-gen");
    let made = process::Command::new(generator)
        .args(["--size", "70M", "--seed", "3", "--out"])
        .arg(&log)
        .status()
        .unwrap();
    assert!(made.success());
    let out = mtastat().arg(&log).output().unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = assert_cmd::cargo::cargo_bin("mtastat");
    let tty = process::Command::new("script")
        .arg("-qec")
        .arg(format!(
            "{} --tz UTC {} > /dev/null",
            bin.display(),
            log.display()
        ))
        .arg("/dev/null")
        .output()
        .unwrap();
    assert!(tty.status.success());
    let screen = String::from_utf8_lossy(&tty.stdout);
    assert!(screen.contains("MiB/70.00 MiB"), "{screen}");
}

/// Issue 15 item 6: options before the subcommand work (`summary` was read
/// as a file name, exit 2).
#[test]
fn options_before_the_subcommand() {
    let log = testdata("postfix/mail.log");
    let text = stdout_of(mtastat().args(["--tz", "UTC", "summary"]).arg(&log));
    assert!(text.contains("Grand Totals"));
    let text = stdout_of(
        mtastat()
            .args(["--utc", "compare", "google", "yahoo"])
            .arg(&log),
    );
    assert!(text.contains("google vs yahoo"));
}

/// Issue 15 item 6: a cut column ends in `…` (journey domains were cut at
/// 16 characters without one: `oldcompany.examp`).
#[test]
fn cut_names_say_so() {
    let out = mtastat()
        .arg(testdata("postfix/mail.log"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("  oldcompany.exam… "), "{text}");
    assert!(!text.contains("oldcompany.examp "), "{text}");
}

/// Issue 17 item 7: the README is the front door and the rest lives in
/// `docs/`; every relative link between them leads to a file that exists
/// and, with an anchor, to a heading of that file.
#[test]
fn readme_and_docs_links_resolve() {
    fn slug(heading: &str) -> String {
        heading
            .trim_start_matches('#')
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect()
    }
    fn anchors(text: &str) -> Vec<String> {
        let mut fenced = false;
        let mut out = Vec::new();
        for line in text.lines() {
            if line.starts_with("```") {
                fenced = !fenced;
            } else if !fenced && line.starts_with('#') {
                out.push(slug(line));
            }
        }
        out
    }
    let root = common::root();
    let mut pages = vec![root.join("README.md")];
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push(p);
        }
    }
    assert!(pages.len() >= 8, "{pages:?}");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.len() <= 15 * 1024,
        "README is {} bytes",
        readme.len()
    );
    assert!(
        readme.contains("cargo run --release -- testdata/postfix/mail.log\ncargo test --release\n")
    );
    let mut checked = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        let dir = page.parent().unwrap();
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = &rest[..end];
            if target.starts_with("http") || target.contains(' ') {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let path = if file.is_empty() {
                page.clone()
            } else {
                dir.join(file)
            };
            assert!(
                path.exists(),
                "{}: link to {target}: no such file",
                page.display()
            );
            if !anchor.is_empty() {
                let there = std::fs::read_to_string(&path).unwrap();
                assert!(
                    anchors(&there).iter().any(|a| a == anchor),
                    "{}: link to {target}: no such heading",
                    page.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 10, "{checked} links");
}
