//! `mtastat fleet DIR` / `--from-events DIR`: the report of many hosts from
//! the events their `--events` runs wrote, against each host's own report
//! of its log: the same deliveries, findings and TLS posture per host, the
//! fleet's the sum, each fleet finding naming the hosts it fires on.

mod common;

use common::{json_with, mtastat, shared, testdata};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The summary rows of a report, by key, summed.
fn rows(r: &Value) -> BTreeMap<String, u64> {
    rows_by(
        r,
        &["provider", "domain", "status", "dsn", "sasl_user", "client"],
    )
}

/// The summary rows by `keys`, summed. (Which clients a report names
/// depends on its own busiest 500: a fleet's differ from a host's.)
fn rows_by(r: &Value, keys: &[&str]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for d in r["deliveries"].as_array().unwrap() {
        let key = keys
            .iter()
            .map(|k| d[*k].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
            .join(" ");
        *out.entry(key).or_insert(0) += d["count"].as_u64().unwrap();
    }
    out
}

/// What a finding must keep when it comes from events.
fn findings(r: &Value, with_since: bool) -> Vec<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            // Logins and received mail are not in the events.
            ![
                "brute_force",
                "compromised_account",
                "auth_backend",
                "cleartext_auth",
            ]
            .contains(&f["rule"].as_str().unwrap())
        })
        .map(|f| {
            let since = if with_since {
                f["since"].as_str().unwrap()
            } else {
                ""
            };
            format!(
                "{} {} {} {} {} {} {since}",
                f["rule"], f["provider"], f["severity"], f["count"], f["messages"], f["recipients"]
            )
        })
        .collect()
}

/// Writes each (host, log) into one events dataset under `dir`; a log
/// whose lines name `mx1` is renamed to its host first (three lab logs as
/// three hosts); an Exim mainlog gets its host from --events-host.
fn dataset(dir: &Path, logs: &[(&str, PathBuf)]) -> Vec<(String, PathBuf)> {
    let events = dir.join("events");
    let mut out = Vec::new();
    for (host, log) in logs {
        let text = std::fs::read(log).unwrap();
        let renamed = dir.join(format!("{host}.log"));
        let text = String::from_utf8_lossy(&text).replace(" mx1 ", &format!(" {host} "));
        std::fs::write(&renamed, text).unwrap();
        json_with(
            &["--events", events.to_str().unwrap(), "--events-host", host],
            &[&renamed],
        );
        out.push((host.to_string(), renamed));
    }
    out
}

fn fleet(events: &Path, options: &[&str]) -> Value {
    let mut args = vec!["--from-events", events.to_str().unwrap()];
    args.extend_from_slice(options);
    json_with(&args, &[])
}

/// The fleet against its hosts' own reports.
fn check(logs: &[(&str, PathBuf)]) {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dataset(dir.path(), logs);
    let events = dir.path().join("events");
    let all = fleet(&events, &[]);
    let mut sum: BTreeMap<String, u64> = BTreeMap::new();
    for (host, log) in &hosts {
        let own = json_with(&[], &[log]);
        let from_events = fleet(&events, &["--host", host]);
        assert_eq!(rows(&from_events), rows(&own), "{host}: deliveries");
        assert_eq!(
            from_events["delivery_attempts"], own["delivery_attempts"],
            "{host}"
        );
        // Exim's per-host MX errors are not delivery attempts and not in
        // the events: an episode may begin at its first recipient's
        // failure instead of the MX refusal before it.
        let exim = std::fs::read_to_string(log).unwrap().starts_with("20");
        assert_eq!(
            findings(&from_events, !exim),
            findings(&own, !exim),
            "{host}: findings"
        );
        assert_eq!(
            from_events["tls"]["outbound"], own["tls"]["outbound"],
            "{host}: TLS"
        );
        for (k, n) in rows_by(&own, &["provider", "domain", "status", "dsn"]) {
            *sum.entry(k).or_insert(0) += n;
        }
        // Each host's own findings are listed in the fleet's report.
        let listed = all["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["host"] == host.as_str())
            .unwrap_or_else(|| panic!("{host} in {}", all["hosts"]));
        assert_eq!(listed["attempts"], own["delivery_attempts"], "{host}");
        let listed_rules: Vec<String> = listed["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["rule"], f["provider"]))
            .collect();
        for f in own["findings"].as_array().unwrap() {
            if [
                "brute_force",
                "compromised_account",
                "auth_backend",
                "cleartext_auth",
            ]
            .contains(&f["rule"].as_str().unwrap())
            {
                continue;
            }
            let rule = format!("{} {}", f["rule"], f["provider"]);
            assert!(listed_rules.contains(&rule), "{host}: {rule}");
        }
    }
    // The fleet is the sum of its hosts.
    assert_eq!(rows_by(&all, &["provider", "domain", "status", "dsn"]), sum);
    // Each finding names the hosts whose own report has it, and says so.
    for f in all["findings"].as_array().unwrap() {
        let named: Vec<&str> = f["hosts"]
            .as_array()
            .map(|h| h.iter().map(|x| x.as_str().unwrap()).collect())
            .unwrap_or_default();
        let expect: Vec<&str> = all["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| {
                h["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["rule"] == f["rule"] && x["provider"] == f["provider"])
            })
            .map(|h| h["host"].as_str().unwrap())
            .collect();
        assert_eq!(named, expect, "{}", f["summary"]);
        let summary = f["summary"].as_str().unwrap();
        if expect.is_empty() {
            assert!(summary.contains("across the fleet only"), "{summary}");
        } else if expect.len() < hosts.len() {
            assert!(
                summary.ends_with(" only.") && expect.iter().all(|h| summary.contains(h)),
                "{summary}"
            );
        }
    }
    // --since/--until from the events equal the log report's.
    let (host, log) = &hosts[0];
    let window = [
        "--since",
        "2026-11-22 12:45",
        "--until",
        "2026-11-22 12:50",
        "--utc",
    ];
    let own = json_with(&window, &[log]);
    let mut opts = window.to_vec();
    opts.extend(["--host", host.as_str()]);
    assert_eq!(rows(&fleet(&events, &opts)), rows(&own), "{host}: window");
    // compare works on the events too.
    let out = mtastat()
        .args(["compare", "google", "yahoo", "--json", "--from-events"])
        .arg(&events)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_fleet_of_generated_logs_equals_each_hosts_own_report() {
    check(&[
        ("mx1", testdata("postfix/mail.log")),
        ("mx2", testdata("overlap/mail.log")),
        ("mx3", testdata("exim/mainlog")),
    ]);
}

#[test]
fn three_lab_logs_as_three_hosts_equal_their_own_reports() {
    let Some(s) = shared() else { return };
    check(&[
        ("mxa", s.join("lab/postfix/runA/mail.log")),
        ("mxc", s.join("lab/postfix/runC/mail.log")),
        ("mxe", s.join("lab/exim/run1/mainlog")),
    ]);
}

#[test]
fn throttling_at_one_host_is_named_as_that_hosts() {
    // mx1 has Gmail's storm (testdata/postfix), mx2 the healthy day: the
    // fleet's throttling at google is "on mx1 only".
    let dir = tempfile::tempdir().unwrap();
    dataset(
        dir.path(),
        &[
            ("mx1", testdata("postfix/mail.log")),
            ("mx2", testdata("healthy/mail.log")),
        ],
    );
    let all = fleet(&dir.path().join("events"), &[]);
    let f = all["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "throttling" && f["provider"] == "google")
        .unwrap_or_else(|| panic!("{}", all["findings"]));
    assert_eq!(f["hosts"], serde_json::json!(["mx1"]));
    assert!(f["summary"].as_str().unwrap().ends_with("on mx1 only."));
    let text = common::stdout_of(mtastat().args(["fleet"]).arg(dir.path().join("events")));
    assert!(text.contains("Hosts"), "{text}");
    assert!(text.contains("on mx1 only"), "{text}");
}

#[test]
fn exim_hosts_keep_partitions_of_their_own() {
    // An Exim mainlog names no host: its rows were all `host=__HIVE_DEFAULT_
    // PARTITION__`, so every Exim host of a fleet replaced the others'.
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    for host in ["ex1", "ex2"] {
        json_with(
            &["--events", events.to_str().unwrap(), "--events-host", host],
            &[&testdata("exim/mainlog")],
        );
    }
    json_with(
        &["--events", events.to_str().unwrap()],
        &[&testdata("exim/mainlog")],
    );
    let date = std::fs::read_dir(&events)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("date="))
        .unwrap()
        .path();
    let mut hosts: Vec<String> = std::fs::read_dir(date)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    hosts.sort();
    assert!(hosts.contains(&"host=ex1".to_string()) && hosts.contains(&"host=ex2".to_string()));
    assert!(
        !hosts.iter().any(|h| h.contains("HIVE_DEFAULT")),
        "{hosts:?}"
    );
    let all = fleet(&events, &[]);
    let one = json_with(&[], &[&testdata("exim/mainlog")]);
    assert_eq!(
        all["delivery_attempts"].as_u64().unwrap(),
        one["delivery_attempts"].as_u64().unwrap() * hosts.len() as u64
    );
}

#[test]
fn wrong_use_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (vec!["fleet", "/nonexistent/events"], "no events directory"),
        (vec!["--host", "mx1", "x.log"], "--from-events"),
        (
            vec!["--from-events", dir.path().to_str().unwrap(), "x.log"],
            "not log files",
        ),
        (
            vec!["summary", "--from-events", dir.path().to_str().unwrap()],
            "summary and trace read logs",
        ),
        (
            vec!["watch", "--host", "mx1", "x.log"],
            "watch follows a live log",
        ),
    ] {
        let out = mtastat().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // An empty dataset is an empty report, not an error.
    let r = fleet(dir.path(), &[]);
    assert_eq!(r["delivery_attempts"], 0);
}

#[test]
fn a_dataset_written_before_the_new_columns_is_still_read() {
    if !common::has_python_module("duckdb") {
        common::require_tool("duckdb", "python3 -m pip install duckdb");
        return;
    }
    // The events of a release before category, attempted … and TLS were
    // exported: the same files without those columns.
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path(), &[("mx1", testdata("postfix/mail.log"))]);
    let new = dir.path().join("events");
    let old = dir.path().join("old");
    common::python(&format!(
        r#"
import duckdb, glob, os
for f in glob.glob("{new}/date=*/host=*/*.parquet"):
    out = f.replace("{new}", "{old}")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    duckdb.execute(f"""COPY (SELECT * EXCLUDE (tls, tls_protocol, category, blocklist,
        attempted, recipient_key, recipient) FROM read_parquet('{{f}}'))
        TO '{{out}}' (FORMAT parquet)""")
"#,
        new = new.display(),
        old = old.display()
    ));
    let a = fleet(&new, &[]);
    let b = fleet(&old, &[]);
    assert_eq!(rows(&b), rows(&a));
    let rules = |r: &Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["rule"], f["provider"]))
            .collect()
    };
    assert_eq!(rules(&b), rules(&a));
    // DuckDB rewrote `ts` in microseconds: the times are still the log's.
    assert_eq!(b["period"], a["period"]);
}
