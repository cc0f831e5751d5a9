//! `mtastat watch --json-lines`, driven by a test that appends to the log,
//! rotates it the logrotate way (rename, new file) and then the
//! copytruncate way: each change shows up in the next refreshes, with the
//! finding it causes marked new.

mod common;

use serde_json::Value;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn sent(minute: u32, n: u32) -> String {
    format!(
        "Nov 22 12:{minute:02}:{:02} mx1 postfix/smtp[1]: B{n:09X}: to=<u{n}@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)\n",
        n % 60
    )
}

fn deferred(minute: u32, n: u32, domain: &str, relay: &str, reply: &str, dsn: &str) -> String {
    format!(
        "Nov 22 12:{minute:02}:{:02} mx1 postfix/smtp[2]: C{n:09X}: to=<u{n}@{domain}>, relay={relay}[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn={dsn}, status=deferred (host {relay}[192.0.2.9] said: {reply} (in reply to end of DATA command))\n",
        n % 60
    )
}

fn append(path: &Path, text: &str) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

struct Watch {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Watch {
    fn start(log: &Path) -> Watch {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("mtastat"))
            .env("TZ", "UTC")
            .args([
                "watch",
                "--json-lines",
                "--interval",
                "0.2",
                "--year",
                "2026",
                "--utc",
            ])
            .arg(log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let v: Value = serde_json::from_str(&line).expect("each line is one JSON object");
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Watch { child, lines }
    }

    /// The first refresh that satisfies `ok`, within 20 s.
    fn until(&self, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + Duration::from_secs(20);
        let mut last = Value::Null;
        while Instant::now() < end {
            match self.lines.recv_timeout(Duration::from_millis(500)) {
                Ok(v) if ok(&v) => return v,
                Ok(v) => last = v,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("{what}: not seen; last refresh: {last}");
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn attempts(v: &Value, provider: &str, span: &str) -> u64 {
    v["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == provider)
        .map_or(0, |p| p[span]["attempts"].as_u64().unwrap())
}

fn finding<'a>(v: &'a Value, provider: &str, category: &str) -> Option<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["provider"] == provider && f["category"] == category)
}

#[test]
fn watch_follows_appends_and_both_kinds_of_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    let base: String = (0..300).map(|n| sent(n / 10, n)).collect();
    fs::write(&log, base).unwrap();
    let w = Watch::start(&log);
    let first = w.until("the start", |v| v["lines_read"] == 300);
    assert_eq!(attempts(&first, "google", "last_60m"), 300);
    assert!(first["findings"].as_array().unwrap().is_empty(), "{first}");

    // A Gmail storm appended: counted, and its finding is new.
    let storm: String = (0..80)
        .map(|n| {
            deferred(
                31 + n / 20,
                n,
                "gmail.com",
                "gmail-smtp-in.l.google.com",
                "421-4.7.28 Our system has detected an unusual rate of unsolicited mail",
                "4.7.28",
            )
        })
        .collect();
    append(&log, &storm);
    let v = w.until("the storm", |v| v["lines_read"] == 380);
    assert_eq!(attempts(&v, "google", "last_60m"), 380);
    assert_eq!(
        attempts(&v, "google", "last_5m"),
        80,
        "12:31–12:34 are the last 5 minutes"
    );
    let f = finding(&v, "google", "throttling").unwrap_or_else(|| panic!("{v}"));
    assert_eq!(f["new"], true, "{f}");
    let later = w.until("the next refresh", |v| v["lines_read"] == 380);
    assert_eq!(
        finding(&later, "google", "throttling").unwrap()["new"],
        false
    );

    // logrotate: renamed, then a new file with Yahoo's limits.
    fs::rename(&log, dir.path().join("mail.log.1")).unwrap();
    let yahoo: String = (0..80)
        .map(|n| {
            deferred(35 + n / 20, 1000 + n, "yahoo.com", "mta5.am0.yahoodns.net",
                "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints", "4.7.0")
        })
        .collect();
    append(&log, &yahoo);
    let v = w.until("the new file", |v| v["lines_read"] == 460);
    assert_eq!(attempts(&v, "yahoo", "last_5m"), 80);
    assert_eq!(
        attempts(&v, "google", "last_60m"),
        380,
        "the old file still counts"
    );

    // copytruncate: emptied in place and written again.
    fs::write(&log, "").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let more: String = (0..40).map(|n| sent(40, 2000 + n)).collect();
    append(&log, &more);
    let v = w.until("after copytruncate", |v| v["lines_read"] == 500);
    assert_eq!(attempts(&v, "google", "last_60m"), 420);
}

/// `--count` ends it; `--prometheus` rewrites the textfile at each refresh;
/// a compressed or missing file is a one-line error.
#[test]
fn watch_count_prometheus_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    fs::write(&log, (0..50).map(|n| sent(n / 10, n)).collect::<String>()).unwrap();
    let prom = dir.path().join("mtastat.prom");
    let out = common::mtastat()
        .args([
            "watch",
            "--json-lines",
            "--interval",
            "0.1",
            "--count",
            "3",
            "--year",
            "2026",
        ])
        .arg("--prometheus")
        .arg(&prom)
        .arg(&log)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
    let text = fs::read_to_string(&prom).unwrap();
    assert!(text.contains("mtastat_"), "{text}");
    let gz = dir.path().join("mail.log.gz");
    fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]).unwrap();
    for bad in [gz, dir.path().join("missing.log")] {
        let out = common::mtastat()
            .args(["watch", "--json-lines", "--count", "1"])
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim().lines().count(),
            1
        );
    }
}
