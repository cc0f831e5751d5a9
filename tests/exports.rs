//! Exports for the tools people already run (issue 6): Prometheus textfile
//! metrics, read back by an independent parser of the exposition format.

mod common;

use common::{json_with, mtastat, per_status, python, testdata};
use std::fs;

fn has_python_module(module: &str) -> bool {
    std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

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
        eprintln!("skipping the parser check: python3 -m pip install prometheus-client");
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
