//! TLS posture: how deliveries and received messages were protected, and
//! the findings (a downgrade to clear text, lost certificate verification,
//! passwords in clear text), on the generated relay day
//! (scripts/gen-testdata.py --tls) in both MTAs' formats and on the lab's
//! logs; numbers against the log lines themselves. The Exim log states
//! each delivery's TLS on its own line, so grep on it is the independent
//! count the Postfix join (by smtp process, across lines) must equal.

mod common;

use common::{has_python_module, json_report, json_with, python, shared, testdata};
use serde_json::Value;
use std::path::Path;

fn findings<'a>(r: &'a Value, rule: &str) -> Vec<&'a Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn lines(file: &Path) -> Vec<String> {
    String::from_utf8_lossy(&std::fs::read(file).unwrap())
        .lines()
        .map(str::to_string)
        .collect()
}

/// Exim deliveries (`=>`, `->`) to one of `hosts`, with `pred` on the line.
fn exim_deliveries(file: &Path, hosts: &[&str], pred: impl Fn(&str) -> bool) -> Vec<String> {
    lines(file)
        .into_iter()
        .filter(|l| l.contains(" => ") || l.contains(" -> "))
        .filter(|l| hosts.iter().any(|h| l.contains(&format!(" H={h} "))))
        .filter(|l| pred(l))
        .collect()
}

/// `2026-11-22 18:05` of an Exim line.
fn minute(line: &str) -> &str {
    &line[..16]
}

const GOOGLE: [&str; 2] = ["gmail-smtp-in.l.google.com", "aspmx.l.google.com"];
const MICROSOFT: [&str; 3] = [
    "outlook-com.olc.protection.outlook.com",
    "hotmail-com.olc.protection.outlook.com",
    "contoso-com.mail.protection.outlook.com",
];

#[test]
fn a_downgrade_lost_verification_and_clear_text_logins_are_found_when_they_began() {
    let exim = testdata("tls/mail.mainlog");
    // The independent truth, from Exim's own lines.
    let clear_google = exim_deliveries(&exim, &GOOGLE, |l| !l.contains(" X="));
    let unverified_ms = exim_deliveries(&exim, &MICROSOFT, |l| l.contains(" CV=no"));
    let clear_logins: Vec<String> = lines(&exim)
        .into_iter()
        .filter(|l| l.contains(" <= ") && l.contains(" A=dovecot_plain:") && !l.contains(" X="))
        .collect();
    assert!(clear_google.len() > 100 && unverified_ms.len() > 100 && !clear_logins.is_empty());
    for name in ["tls/mail.log", "tls/mail.mainlog"] {
        let r = json_report(&[&testdata(name)]);
        let d = findings(&r, "tls_downgrade");
        assert_eq!(d.len(), 1, "{name}: {d:?}");
        let d = d[0];
        assert_eq!(d["provider"], "google", "{name}");
        assert_eq!(d["severity"], "critical", "{name}");
        assert_eq!(d["count"], clear_google.len() as u64, "{name}");
        assert_eq!(d["since"], minute(&clear_google[0]), "{name}");
        let summary = d["summary"].as_str().unwrap();
        assert!(
            summary.contains("gmail-smtp-in.l.google.com (") && summary.contains("none in clear"),
            "{name}: {summary}"
        );
        let v = findings(&r, "tls_verification_lost");
        assert_eq!(v.len(), 1, "{name}: {v:?}");
        assert_eq!(v[0]["provider"], "microsoft", "{name}");
        assert_eq!(v[0]["count"], unverified_ms.len() as u64, "{name}");
        assert_eq!(v[0]["since"], minute(&unverified_ms[0]), "{name}");
        let c = findings(&r, "cleartext_auth");
        assert_eq!(c.len(), 1, "{name}: {c:?}");
        assert_eq!(c[0]["count"], clear_logins.len() as u64, "{name}");
        assert!(
            c[0]["summary"].as_str().unwrap().contains("scanner ("),
            "{name}"
        );
        // The posture: gmx.de never had TLS and is no downgrade; initech's
        // backup MX took clear text all day: listed, no finding.
        let out = &r["tls"]["outbound"];
        let clear: Vec<&str> = out["clear_where_tls_seen"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["domain"].as_str().unwrap())
            .collect();
        assert!(clear.contains(&"initech.example"), "{name}: {clear:?}");
        assert!(!clear.contains(&"gmx.de"), "{name}: {clear:?}");
        let initech = &out["clear_where_tls_seen"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["domain"] == "initech.example")
            .unwrap()["relays"][0];
        assert_eq!(initech["name"], "mx2.initech.example", "{name}");
        let bank = out["domains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "bank.example");
        if let Some(bank) = bank {
            assert_eq!(bank["protocols"][0]["name"], "TLSv1.0", "{name}");
        }
        // Inbound: app2 stopped using STARTTLS.
        let inb = &r["tls"]["inbound"];
        assert_eq!(
            inb["clear_where_tls_seen"][0]["client"], "app2.relay.example[10.0.0.6]",
            "{name}"
        );
        assert_eq!(
            inb["authenticated_clear"],
            clear_logins.len() as u64,
            "{name}"
        );
    }
}

#[test]
fn the_postfix_join_equals_exims_own_lines() {
    // The same day in both formats: Postfix's TLS comes from a line of its
    // own, joined by smtp process; Exim's is on the delivery line. Every
    // number but the first minutes' (a connection that began before the
    // log is unknown in Postfix) agrees.
    for (pf, ex) in [
        ("tls/mail.log", "tls/mail.mainlog"),
        ("tls/healthy.log", "tls/healthy.mainlog"),
    ] {
        let a = json_report(&[&testdata(pf)]);
        let b = json_report(&[&testdata(ex)]);
        let rows = |r: &Value| -> Vec<(String, u64, u64, u64)> {
            r["tls"]["outbound"]["providers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_string(),
                        p["tls"].as_u64().unwrap(),
                        p["verified"].as_u64().unwrap(),
                        p["clear"].as_u64().unwrap() + p["unknown"].as_u64().unwrap(),
                    )
                })
                .collect()
        };
        assert_eq!(rows(&a), rows(&b), "{pf} vs {ex}");
        assert!(
            a["tls"]["outbound"]["unknown"].as_u64().unwrap() <= 3,
            "{pf}"
        );
    }
}

#[test]
fn healthy_day_has_no_tls_finding() {
    for name in ["tls/healthy.log", "tls/healthy.mainlog"] {
        let r = json_report(&[&testdata(name)]);
        for rule in ["tls_downgrade", "tls_verification_lost", "cleartext_auth"] {
            assert!(findings(&r, rule).is_empty(), "{name}: {rule}");
        }
        assert!(r["tls"]["outbound"]["tls_share"].as_f64().unwrap() > 0.9);
    }
}

#[test]
fn a_host_that_logs_no_tls_is_unknown_not_clear() {
    // mx1 (testdata/postfix) logs no TLS line at all (smtp_tls_loglevel =
    // 0): its deliveries are unknown, no provider of it is "downgraded",
    // and mx2's downgrade is named as mx2's alone.
    let r = json_report(&[&testdata("tls/mail.log"), &testdata("postfix/mail.log")]);
    let out = &r["tls"]["outbound"];
    assert_eq!(out["hosts_without_tls_logging"], serde_json::json!(["mx1"]));
    let alone = json_report(&[&testdata("postfix/mail.log")]);
    assert_eq!(
        alone["tls"]["outbound"]["unknown"],
        alone["tls"]["outbound"]["total"]
    );
    assert_eq!(alone["tls"]["outbound"]["clear"], 0);
    let d = findings(&r, "tls_downgrade");
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(
        d[0]["summary"].as_str().unwrap().ends_with("on mx2 only"),
        "{}",
        d[0]["summary"]
    );
    // The terminal says so in one line when nothing is logged.
    let text = common::stdout_of(common::mtastat().arg(testdata("postfix/mail.log")));
    assert!(text.contains("TLS  not logged by mx1"), "{text}");
}

/// `Nov 22 18:05:00 mx2 postfix/smtp[5000]: msg` → RFC 5424 and journal JSON.
fn reformat(line: &str) -> Option<(String, String)> {
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| line.starts_with(m))? + 1;
    let day: u32 = line[4..6].trim().parse().ok()?;
    let time = &line[7..15];
    let rest = &line[16..];
    let (host, rest) = rest.split_once(' ')?;
    let (tag, msg) = rest.split_once(": ")?;
    let (app, pid) = tag.strip_suffix(']')?.split_once('[')?;
    let stamp = format!("2026-{month:02}-{day:02}T{time}Z");
    let rfc5424 = format!("<22>1 {stamp} {host} {app} {pid} - - {msg}");
    let (h, m, s) = (&time[0..2], &time[3..5], &time[6..8]);
    let secs = days_from_civil(2026, month as u32, day) * 86_400
        + h.parse::<i64>().ok()? * 3600
        + m.parse::<i64>().ok()? * 60
        + s.parse::<i64>().ok()?;
    let journal = serde_json::json!({
        "__REALTIME_TIMESTAMP": format!("{}", secs * 1_000_000),
        "_HOSTNAME": host,
        "SYSLOG_IDENTIFIER": app,
        "_PID": pid,
        "MESSAGE": msg,
    })
    .to_string();
    Some((rfc5424, journal))
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[test]
fn rfc5424_and_journal_input_join_by_their_own_process_ids() {
    // The process id is RFC 5424's PROCID and the journal's _PID, not a
    // `[pid]` in a tag: the same day in those formats has the same posture.
    let log = testdata("tls/mail.log");
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mut b) = (String::new(), String::new());
    for line in lines(&log) {
        let (x, y) = reformat(&line).unwrap_or_else(|| panic!("{line}"));
        a.push_str(&x);
        a.push('\n');
        b.push_str(&y);
        b.push('\n');
    }
    let (p5424, pjournal) = (dir.path().join("5424.log"), dir.path().join("journal.json"));
    std::fs::write(&p5424, a).unwrap();
    std::fs::write(&pjournal, b).unwrap();
    let want = json_report(&[&log]);
    for p in [&p5424, &pjournal] {
        let got = json_report(&[p]);
        assert_eq!(got["tls"], want["tls"], "{}", p.display());
        assert_eq!(
            findings(&got, "tls_downgrade")[0]["since"],
            findings(&want, "tls_downgrade")[0]["since"]
        );
    }
}

#[test]
fn lab_logs_every_delivery_over_tls_as_their_lines_say() {
    let Some(s) = shared() else { return };
    // Postfix: every delivery to a host over the network (not local, not a
    // content filter on loopback) had a Trusted TLS line before it.
    let pf = s.join("lab/postfix/runA/mail.log");
    let sent: Vec<String> = lines(&pf)
        .into_iter()
        .filter(|l| l.contains("status=sent") && l.contains(" relay="))
        .filter(|l| {
            ![
                "relay=local",
                "relay=none",
                ":10024,",
                ":10025,",
                ":10026,",
                "[private/",
            ]
            .iter()
            .any(|x| l.contains(x))
        })
        .collect();
    let r = json_report(&[&pf]);
    let out = &r["tls"]["outbound"];
    assert_eq!(out["total"], sent.len() as u64);
    assert_eq!(out["tls"], sent.len() as u64);
    assert_eq!(out["levels"][0]["name"], "trusted");
    assert_eq!(out["protocols"][0]["name"], "TLSv1.3");
    // Exim: X= and CV= on the line.
    let ex = s.join("lab/exim/run1/mainlog");
    let remote = lines(&ex)
        .into_iter()
        .filter(|l| (l.contains(" => ") || l.contains(" -> ")) && l.contains(" H="))
        .count();
    let untrusted = lines(&ex)
        .into_iter()
        .filter(|l| (l.contains(" => ") || l.contains(" -> ")) && l.contains(" CV=no"))
        .count();
    let r = json_report(&[&ex]);
    let out = &r["tls"]["outbound"];
    assert_eq!(out["total"], remote as u64);
    assert_eq!(out["tls"], remote as u64);
    let level = |name: &str| {
        out["levels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map_or(0, |c| c["count"].as_u64().unwrap())
    };
    assert_eq!(level("untrusted"), untrusted as u64);
    // The lab's MX mix (a few hosts with certificates that never verified)
    // is no lost verification, and nothing was in clear.
    for log in [&pf, &ex] {
        let r = json_report(&[log]);
        for rule in ["tls_downgrade", "tls_verification_lost", "cleartext_auth"] {
            assert!(findings(&r, rule).is_empty(), "{}: {rule}", log.display());
        }
    }
}

#[test]
fn the_events_export_carries_each_attempts_tls() {
    if !has_python_module("duckdb") {
        common::require_tool("duckdb", "python3 -m pip install duckdb");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    let log = testdata("tls/mail.log");
    let r = json_with(&["--events", events.to_str().unwrap()], &[&log]);
    let script = format!(
        r#"
import duckdb
rows = duckdb.connect().execute("""
    SELECT provider, coalesce(tls, '-'), coalesce(tls_protocol, '-'), count(*)
    FROM read_parquet('{root}/date=*/host=*/*.parquet', hive_partitioning = true)
    WHERE status = 'sent' GROUP BY ALL ORDER BY ALL""").fetchall()
for p, t, v, n in rows:
    print(p, t, v, n)
"#,
        root = events.to_str().unwrap()
    );
    let out = python(&script);
    let count = |provider: &str, level: &str| -> u64 {
        out.iter()
            .filter(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                f[0] == provider && f[1] == level
            })
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum()
    };
    let google = r["tls"]["outbound"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "google")
        .unwrap();
    assert_eq!(
        count("google", "clear"),
        google["clear"].as_u64().unwrap(),
        "{out:?}"
    );
    assert_eq!(
        count("google", "trusted"),
        google["tls"].as_u64().unwrap(),
        "{out:?}"
    );
    assert!(
        out.iter()
            .any(|l| l.starts_with("proofpoint trusted TLSv1.0 ")),
        "{out:?}"
    );
    // Local deliveries and hand-offs have none.
    assert!(
        out.iter()
            .all(|l| !l.starts_with("local ") || l.contains(" - - ")),
        "{out:?}"
    );
}
