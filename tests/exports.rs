//! Exports for the tools people already run (issue 6): Prometheus textfile
//! metrics, read back by an independent parser of the exposition format.

mod common;

use common::{has_python_module, json_with, mtastat, per_status, python, testdata};
use std::fs;

#[test]
fn prometheus_textfile_parses_and_matches_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("mtastat.prom");
    let log = testdata("postfix/mail.log");
    mtastat()
        .arg(&log)
        .arg("--prometheus")
        .arg(&prom)
        .assert()
        .success();
    let text = fs::read_to_string(&prom).unwrap();
    // Bounded labels: no addresses, domains or reply texts.
    assert!(!text.contains('@') && !text.contains("gmail.com"), "{text}");
    // No temp file left for the collector to trip over.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    if !has_python_module("prometheus_client") {
        common::require_tool(
            "prometheus-client",
            "the parser check: python3 -m pip install prometheus-client",
        );
        return;
    }
    let script = format!(
        r#"
from prometheus_client.parser import text_string_to_metric_families
import collections
text = open({path:?}).read()
seen = set()
by_status = collections.Counter()
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        key = (s.name, tuple(sorted(s.labels.items())))
        assert key not in seen, ("duplicate series", key)
        seen.add(key)
        assert set(s.labels) <= {{"provider", "status", "class", "family", "rule", "severity", "reason"}}, s.labels
        if s.name == "mtastat_delivery_attempts_total":
            by_status[s.labels["status"]] += int(s.value)
    print(fam.name, fam.type)
for k, v in sorted(by_status.items()):
    print("status", k, v)
"#,
        path = prom.to_str().unwrap()
    );
    let lines = python(&script);
    for family in [
        "mtastat_delivery_attempts counter",
        "mtastat_delivery_failures counter",
        "mtastat_finding gauge",
        "mtastat_finding_failures gauge",
        "mtastat_last_log_timestamp_seconds gauge",
    ] {
        assert!(lines.iter().any(|l| l == family), "{family}: {lines:?}");
    }
    let report = json_with(&[], &[&log]);
    for (status, n) in per_status(&report) {
        assert!(
            lines.contains(&format!("status {status} {n}")),
            "{status} {n}: {lines:?}"
        );
    }
}

const GATEWAY_LOG: &str = "Nov 22 12:39:02 mx1 postfix/smtp[7]: 4F1A2B3C4D: to=<a@subsidiary.example>, relay=in1.mx.corp-gw.example[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=4.7.1, status=deferred (host in1.mx.corp-gw.example[192.0.2.1] said: 451 4.7.1 Try later)
Nov 22 12:39:03 mx1 postfix/smtp[7]: 5F1A2B3C4D: to=<b@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)
";

#[test]
fn provider_file_adds_and_renames_providers() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    fs::write(&log, GATEWAY_LOG).unwrap();
    let file = dir.path().join("providers.toml");
    fs::write(
        &file,
        "[[provider]]\nid = \"corp-gw\"\nname = \"Corp gateway\"\nkind = \"gateway\"\nhosts = [\"mx.corp-gw.example\"]\n\n[[provider]]\nid = \"google\"\nname = \"Google (Workspace tenant)\"\n",
    )
    .unwrap();
    let p = file.to_str().unwrap();
    let r = json_with(&["--providers", p, "--year", "2026"], &[&log]);
    let names: Vec<(String, String)> = r["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["provider"].as_str().unwrap().to_string(),
                x["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        names.contains(&("corp-gw".into(), "Corp gateway".into())),
        "{names:?}"
    );
    assert!(
        names.contains(&("google".into(), "Google (Workspace tenant)".into())),
        "{names:?}"
    );
    // The new id works with --provider too.
    let r = json_with(&["--providers", p, "--provider", "corp-gw"], &[&log]);
    assert_eq!(r["attempts_filtered_out"], 1);
    // The default path under XDG_CONFIG_HOME is read when it exists.
    let config = dir.path().join("config");
    fs::create_dir_all(config.join("mtastat")).unwrap();
    fs::copy(&file, config.join("mtastat/providers.toml")).unwrap();
    let out = mtastat()
        .env("XDG_CONFIG_HOME", &config)
        .args(["--json", "--provider", "corp-gw"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A mistake in the file is one line naming the file and the entry.
    fs::write(
        &file,
        "[[provider]]\nid = \"corp-gw\"\nhost = [\"x.example\"]\n",
    )
    .unwrap();
    let out = mtastat()
        .args(["--providers", p])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("providers.toml") && err.contains("unknown field"),
        "{err}"
    );
}

/// `--events DIR`: one row per attempt, Hive-partitioned Parquet that DuckDB
/// reads back into mtastat's own summary counts; a second run replaces the
/// partitions it writes instead of doubling them.
#[test]
fn events_export_reproduces_the_summary_in_duckdb() {
    if !has_python_module("duckdb") {
        common::require_tool("duckdb", "python3 -m pip install duckdb");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    let log = testdata("postfix/mail.log");
    let report = json_with(&["--events", events.to_str().unwrap()], &[&log]);
    // Run twice: the partitions are replaced, not appended to.
    json_with(&["--events", events.to_str().unwrap()], &[&log]);
    let mut expected = std::collections::BTreeMap::new();
    for d in report["deliveries"].as_array().unwrap() {
        *expected
            .entry(
                format!(
                    "{} {} {}",
                    d["provider"].as_str().unwrap(),
                    d["status"].as_str().unwrap(),
                    d["dsn"].as_str().unwrap()
                )
                .trim_end()
                .to_string(),
            )
            .or_insert(0u64) += d["count"].as_u64().unwrap();
    }
    let script = format!(
        r#"
import duckdb
root = {root:?}
con = duckdb.connect()
rows = con.execute(f"""
    SELECT provider, status, coalesce(dsn, ''), count(*)
    FROM read_parquet('{{root}}/date=*/host=*/*.parquet', hive_partitioning = true)
    GROUP BY ALL ORDER BY ALL""").fetchall()
for p, s, d, n in rows:
    print("row", p, s, d, n)
cols = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{{root}}/date=*/host=*/*.parquet', hive_partitioning = true)").fetchall()
print("columns", ",".join(c[0] for c in cols))
parts = con.execute(f"SELECT DISTINCT date, host FROM read_parquet('{{root}}/date=*/host=*/*.parquet', hive_partitioning = true)").fetchall()
print("partitions", sorted((str(d), h) for d, h in parts))
print("utc", con.execute(f"SELECT min(ts), max(ts) FROM read_parquet('{{root}}/date=*/host=*/*.parquet')").fetchone())
"#,
        root = events.to_str().unwrap()
    );
    let out = python(&script);
    let got: std::collections::BTreeMap<String, u64> = out
        .iter()
        .filter_map(|l| l.strip_prefix("row "))
        .map(|l| {
            let (key, n) = l.rsplit_once(' ').unwrap();
            (key.trim_end().to_string(), n.parse().unwrap())
        })
        .collect();
    assert_eq!(got, expected, "{out:?}");
    let columns = out.iter().find_map(|l| l.strip_prefix("columns ")).unwrap();
    assert_eq!(
        columns,
        "ts,queue_id,sender_domain,recipient_domain,provider,relay,status,dsn,class,subject,delay,reason,sasl_user,client,tls,tls_protocol,category,blocklist,attempted,recipient_key,recipient,date,host"
    );
    assert!(
        out.iter()
            .any(|l| l == "partitions [('2026-11-22', 'mx1')]"),
        "{out:?}"
    );
    // Timestamps are UTC: the last attempt is the log's last line, 17:19:05.
    assert_eq!(report["period"]["last"], "2026-11-22 17:19:05");
    let utc = out.iter().find_map(|l| l.strip_prefix("utc ")).unwrap();
    assert!(
        utc.contains("(2026, 11, 22, 12, 0, ") && utc.ends_with("(2026, 11, 22, 17, 19, 5))"),
        "{utc}"
    );
    // No temp files left behind.
    let leftovers = walk(&events)
        .into_iter()
        .filter(|p| !p.ends_with(".parquet") && !p.ends_with("/.mtastat.lock"))
        .collect::<Vec<_>>();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// `--html`: one self-contained page, loaded in a real headless browser: no
/// console errors, the charts are there, and markup in log lines stays text.
#[test]
fn html_report_loads_in_a_browser_with_charts_and_inert_log_text() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    let mut text = fs::read_to_string(testdata("postfix/mail.log")).unwrap();
    text.push_str(
        "Nov 22 17:20:00 mx1 postfix/smtp[7]: 7F1A2B3C4D: to=<x@gmail.com>, relay=gmail-smtp-in.l.google.com[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (host gmail-smtp-in.l.google.com[1.2.3.4] said: 550 5.7.1 <script>document.title='pwned'</script> \"><img src=x onerror=alert(1)> (in reply to end of DATA command))\n",
    );
    fs::write(&log, text).unwrap();
    let html = dir.path().join("report.html");
    mtastat()
        .arg(&log)
        .args(["--year", "2026", "--html"])
        .arg(&html)
        .assert()
        .success();
    let page = fs::read_to_string(&html).unwrap();
    // Self-contained: nothing fetched, no scripts of its own.
    for forbidden in [
        "http-equiv=\"refresh\"",
        "<script",
        "<img",
        "<link",
        " src=\"",
        " href=\"",
    ] {
        assert!(!page.contains(forbidden), "{forbidden} in the page");
    }
    assert!(
        page.contains("&lt;script&gt;document.title="),
        "log markup shown as text"
    );
    assert!(page.contains("&quot;&gt;&lt;img src=x onerror="));
    let Some(browser) = chromium() else {
        common::require_tool("chromium", "the browser check; .ci/run installs it");
        return;
    };
    let profile = dir.path().join("profile");
    let out = std::process::Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let console = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = console
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Refused to"))
        .collect();
    assert!(errors.is_empty(), "console: {errors:?}");
    assert!(
        dom.contains("<title>mtastat report</title>"),
        "title changed: script ran"
    );
    assert!(
        !dom.contains("<img") && !dom.contains("<script"),
        "markup became elements"
    );
    assert!(dom.contains("&lt;script&gt;document.title="), "text kept");
    assert!(dom.contains("id=\"status-bars\"") && dom.contains("id=\"families\""));
    assert!(
        dom.matches("class=\"chart timeline\"").count() >= 3,
        "per-provider timelines"
    );
    assert!(dom.contains("class=\"episode\""), "finding episodes shaded");
    assert!(dom.contains("class=\"finding critical\""));
}

/// Issue 17's proof of the export registry: `--findings-jsonl` (one file
/// in `export/`, one row and option in `app/exports.rs`). One JSON object
/// per line, one line per finding of the report, each with the run it came
/// from; reply text chosen by a sender reaches the SIEM escaped.
#[test]
fn findings_as_json_lines_for_a_siem() {
    let dir = tempfile::tempdir().unwrap();
    let log = testdata("postfix/mail.log");
    let out = dir.path().join("findings.jsonl");
    mtastat()
        .arg("--findings-jsonl")
        .arg(&out)
        .arg(&log)
        .assert()
        .success();
    let report = json_with(&[], &[&log]);
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.len() >= 5, "{}", findings.len());
    let text = fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), findings.len());
    for (line, finding) in lines.iter().zip(findings) {
        for key in [
            "rule", "severity", "provider", "count", "since", "summary", "action",
        ] {
            assert_eq!(line[key], finding[key], "{key}");
        }
        let at = line["generated_at"].as_str().unwrap();
        assert!(
            at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
            "{at}"
        );
        assert_eq!(line["tool"], "mtastat");
        assert_eq!(line["time_zone"], report["time_zone"]);
        assert_eq!(line["period_first"], report["period"]["first"]);
    }
    // No temp file left beside it.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

    // A reply with a terminal escape and a bidi override, deferred often
    // enough to be a finding.
    let mut hostile = String::new();
    for i in 0..40 {
        hostile.push_str(&format!(
            "Nov 22 12:{:02}:00 mx1 postfix/smtp[9]: 5C{i:08X}: to=<u{i}@gmail.com>, relay=gmail-smtp-in.l.google.com[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=4.7.0, status=deferred (host gmail-smtp-in.l.google.com[192.0.2.1] said: 421 4.7.0 \u{1b}[2J slow down \u{202e}gpj.exe (in reply to end of DATA command))\n",
            i % 60
        ));
    }
    let log = dir.path().join("mail.log");
    fs::write(&log, hostile).unwrap();
    let assert = mtastat()
        .args(["--findings-jsonl", "-"])
        .arg(&log)
        .assert()
        .success();
    let bytes = &assert.get_output().stdout;
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(!text.is_empty(), "a finding was expected");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}'),
        "{text}"
    );
    assert!(
        text.contains("\\\\x1b[2J") && text.contains("\\\\u{202e}"),
        "{text}"
    );
    for l in text.lines() {
        serde_json::from_str::<serde_json::Value>(l).unwrap();
    }
}

/// One definition of "no enhanced code": Prometheus counted code-less
/// failures (Exim's `defer (111): Connection refused`) as family `4.0`,
/// the x.0 "other" subject, because the summary frame wrote subject 0 for
/// them while the exporter looked for another sentinel; the JSON rows said
/// 0 too, and the events export null. Now `x` in Prometheus, null in the
/// frame, the JSON and the events.
#[test]
fn failures_without_an_enhanced_code_are_family_x_and_subject_null() {
    let log = testdata("exim/mainlog");
    let out = mtastat()
        .args(["--prometheus", "-"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(r#"status="deferred",family="4.x"} 155"#),
        "{text}"
    );
    assert!(!text.contains(r#"family="4.0""#), "{text}");
    let report = json_with(&[], &[&log]);
    let coded_less: Vec<&serde_json::Value> = report["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["dsn"] == "")
        .collect();
    assert!(!coded_less.is_empty());
    for r in coded_less {
        assert!(r["subject"].is_null(), "{r}");
    }
    for r in report["deliveries"].as_array().unwrap() {
        if r["dsn"] != "" {
            assert!(r["subject"].is_u64(), "{r}");
        }
    }
}
