//! Causes on our side: password guessing, credential stuffing, a stolen
//! account's burst, and a dead authentication backend (which is no attack),
//! on the generated submission-server day (scripts/gen-testdata.py --auth)
//! in both MTAs' formats and on a published Exim log under attack; counts
//! and onsets against the log lines themselves.

mod common;

use common::{json_report, shared, testdata};
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

/// Lines of `file` containing every needle.
fn lines_with(file: &Path, needles: &[&str]) -> Vec<String> {
    String::from_utf8_lossy(&std::fs::read(file).unwrap())
        .lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .map(str::to_string)
        .collect()
}

/// `HH:MM` of a Postfix (`Nov 22 14:12:00`) or Exim (`2026-11-22 14:12:00`) line.
fn minute(line: &str) -> String {
    let at = if line.as_bytes()[4] == b'-' { 11 } else { 7 };
    line[at..at + 5].to_string()
}

#[test]
fn a_spray_stuffing_and_a_stolen_account_are_found_where_and_when_they_began() {
    for (name, failure_marker, login_marker) in [
        (
            "auth/mail.log",
            "]: SASL LOGIN authentication failed",
            "client=unknown[192.0.2.7",
        ),
        (
            "auth/mail.mainlog",
            " authenticator failed for ",
            "<= user07@relay.example H=(laptop) [192.0.2.7",
        ),
    ] {
        let log = testdata(name);
        let r = json_report(&[&log]);

        let brute = findings(&r, "brute_force");
        assert_eq!(brute.len(), 1, "{name}: {brute:?}");
        let b = brute[0];
        let ev = &b["logins"];
        let top = &ev["clients"][0];
        assert_eq!(top["client"], "unknown[203.0.113.66]", "{name}");
        let spray = lines_with(&log, &[failure_marker, "[203.0.113.66]"]);
        assert_eq!(
            top["failures"].as_u64().unwrap(),
            spray.len() as u64,
            "{name}"
        );
        assert!(
            b["since"].as_str().unwrap().ends_with(&minute(&spray[0])),
            "{name}: {}",
            b["since"]
        );
        // The stuffers logged in afterwards, as user07: a breach, critical.
        assert_eq!(b["severity"], "critical", "{name}");
        let stuffer = ev["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["client"] == "unknown[192.0.2.77]")
            .unwrap_or_else(|| panic!("{name}: {ev}"));
        assert_eq!(stuffer["later_login"][0], "user07@relay.example", "{name}");
        assert!(
            b["summary"]
                .as_str()
                .unwrap()
                .contains("logged in successfully")
        );
        assert!(
            b["action"]
                .as_str()
                .unwrap()
                .contains("user07@relay.example")
        );

        let stolen = findings(&r, "compromised_account");
        assert_eq!(stolen.len(), 1, "{name}: {stolen:?}");
        let s = stolen[0];
        assert_eq!(s["logins"]["users"][0]["name"], "user07@relay.example");
        assert_eq!(s["severity"], "critical");
        // Its first message from a network it never used before.
        let first_theft = &lines_with(&log, &[login_marker])[0];
        assert!(
            s["since"].as_str().unwrap().ends_with(&minute(first_theft)),
            "{name}: {} vs {first_theft}",
            s["since"]
        );
        let account = &s["logins"]["account"];
        assert!(
            account["peak_hour_networks"].as_u64().unwrap() >= 5,
            "{account}"
        );
        assert!(account["new_domains"].as_u64().unwrap() >= 100, "{account}");
        let purge = s["logins"]["purge"][0].as_str().unwrap();
        let cmd = if name.ends_with(".log") {
            "postsuper -d -"
        } else {
            "exim -Mrm"
        };
        assert!(purge.contains(cmd), "{purge}");
        // The ids it would remove are user07's messages.
        let id = purge
            .split_whitespace()
            .find(|w| w.len() >= 10 && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .unwrap();
        assert!(
            lines_with(&log, &[id])
                .iter()
                .any(|l| l.contains("user07@relay.example")),
            "{id}"
        );
        // The failures of user07's burst name it in the provider findings.
        assert!(
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["summary"]
                    .as_str()
                    .unwrap()
                    .ends_with("only for user07@relay.example.")),
            "{name}"
        );

        // The backend outage: its own finding, counted, and no attack.
        let backend = findings(&r, "auth_backend");
        assert_eq!(backend.len(), 1, "{name}");
        let outage = lines_with(&log, &["authenticat", "19:0"])
            .into_iter()
            .filter(|l| l.contains("authentication server") || l.contains("435 Unable"))
            .count();
        assert_eq!(
            backend[0]["count"].as_u64().unwrap(),
            outage as u64,
            "{name}"
        );
        for c in b["logins"]["clients"].as_array().unwrap() {
            assert!(
                !c["client"].as_str().unwrap().starts_with("unknown[198.18."),
                "{c}"
            );
        }
    }
}

#[test]
fn a_healthy_day_of_logins_and_mistyped_passwords_is_no_attack() {
    for name in ["auth/healthy.log", "auth/healthy.mainlog"] {
        let r = json_report(&[&testdata(name)]);
        assert!(findings(&r, "brute_force").is_empty(), "{name}");
        assert!(findings(&r, "compromised_account").is_empty(), "{name}");
        // Some users did mistype (the fixture must have the noise).
        let mistyped = lines_with(&testdata(name), &["authenticat", "failed"]).len();
        assert!(mistyped > 8, "{name}: {mistyped}");
        // The usual senders are no cause of anything.
        for f in r["findings"].as_array().unwrap() {
            assert!(f["severity"] != "critical", "{name}: {}", f["summary"]);
        }
    }
}

/// A published Exim mainlog under a real password spray (two rotated
/// files): the top attacker's failures against grep.
#[test]
fn a_published_exim_spray_is_counted_per_client() {
    let Some(s) = shared() else {
        common::require_tool("../shared", "the shared corpora beside the repo");
        return;
    };
    let dir = s.join("corpora/heavybrain101-youtube/var/log/exim4");
    let (old, new) = (dir.join("mainlog.1"), dir.join("mainlog"));
    let r = json_report(&[&old, &new]);
    let brute = findings(&r, "brute_force");
    assert_eq!(brute.len(), 1);
    let top = &brute[0]["logins"]["clients"][0];
    assert_eq!(top["client"], "unknown[45.129.14.128]");
    let n = [&old, &new]
        .iter()
        .map(|f| lines_with(f, &["authenticator failed for", "[45.129.14.128]"]).len())
        .sum::<usize>();
    assert_eq!(top["failures"].as_u64().unwrap(), n as u64);
    let all = [&old, &new]
        .iter()
        .map(|f| lines_with(f, &["authenticator failed for"]).len())
        .sum::<usize>();
    // Nearly all of the log's failures are the attackers' (a few clients
    // failed too rarely to be called one).
    let count = brute[0]["count"].as_u64().unwrap() as usize;
    assert!(count <= all && count * 100 >= all * 95, "{count} of {all}");
    assert!(brute[0]["summary"].as_str().unwrap().contains("spray"));
}
