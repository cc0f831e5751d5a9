//! `mtastat summary` against pflogsumm itself (Debian's package; `.ci/run`
//! installs it): the Grand Totals both tools report must agree on the lab
//! logs and the public corpus, except where they differ by design, which
//! each assertion names.

mod common;

use common::{require_tool, shared};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// pflogsumm's Grand Totals as (label → value in units), with its `k`/`m`
/// suffixes (1024-based) expanded, and the number of deferral lines.
fn pflogsumm(log: &Path) -> Option<BTreeMap<String, (u64, u64)>> {
    let out = Command::new("pflogsumm")
        .args(["--detail", "0"])
        .arg(log)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let totals = text.split("Per-Hour").next().unwrap_or_default();
    let mut g = BTreeMap::new();
    for line in totals.lines() {
        let line = line.trim();
        let Some((number, label)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let (digits, unit) = match number.strip_suffix('k') {
            Some(d) => (d, 1024),
            None => match number.strip_suffix('m') {
                Some(d) => (d, 1 << 20),
                None => (number, 1),
            },
        };
        let Ok(v) = digits.parse::<u64>() else {
            continue;
        };
        let label = label.trim();
        // "deferred  (3170  deferrals)" carries both figures.
        if let Some(rest) = label.strip_prefix("deferred") {
            let deferrals = rest
                .trim()
                .trim_start_matches('(')
                .split_whitespace()
                .next()
                .and_then(|d| d.parse::<u64>().ok())
                .unwrap_or(0);
            g.insert("deferrals".to_string(), (deferrals, 1));
            g.insert("deferred".to_string(), (v, unit));
            continue;
        }
        let label = label.split(" (").next().unwrap_or(label).to_string();
        g.insert(label, (v * unit, unit));
    }
    Some(g)
}

/// The shared totals: pflogsumm's label, mtastat's JSON key.
const SHARED: [(&str, &str); 16] = [
    ("received", "received"),
    ("delivered", "delivered"),
    ("forwarded", "forwarded"),
    ("deferred", "deferred"),
    ("bounced", "bounced"),
    ("rejected", "rejected"),
    ("reject warnings", "reject_warnings"),
    ("held", "held"),
    ("discarded", "discarded"),
    ("bytes received", "bytes_received"),
    ("bytes delivered", "bytes_delivered"),
    ("senders", "senders"),
    ("sending hosts/domains", "sending_domains"),
    ("recipients", "recipients"),
    ("recipient hosts/domains", "recipient_domains"),
    ("deferrals", "deferrals"),
];

/// `mtastat summary --json --utc LOG`.
fn summary(log: &Path) -> Value {
    let out = common::mtastat()
        .args(["summary", "--json", "--utc"])
        .arg(log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Both tools' totals that disagree, as (label, pflogsumm, mtastat) with
/// mtastat's bytes cut to pflogsumm's unit.
fn differences(log: &Path) -> Option<Vec<(String, u64, u64)>> {
    let pf = pflogsumm(log)?;
    let g = summary(log)["grand_totals"].clone();
    let mut diffs = Vec::new();
    for (label, key) in SHARED {
        let Some(&(theirs, unit)) = pf.get(label) else {
            panic!("pflogsumm printed no {label:?}: {pf:?}");
        };
        let mine = g[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key} missing: {g}"));
        let mine = if key.starts_with("bytes") {
            mine / unit * unit
        } else {
            mine
        };
        if mine != theirs {
            diffs.push((label.to_string(), theirs, mine));
        }
    }
    Some(diffs)
}

fn installed() -> bool {
    let ok = Command::new("pflogsumm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        require_tool(
            "pflogsumm",
            ".ci/run installs it: apt-get install pflogsumm",
        );
    }
    ok
}

#[test]
fn grand_totals_agree_with_pflogsumm() {
    let Some(shared) = shared() else { return };
    if !installed() {
        return;
    }
    for rel in [
        "lab/postfix/runA/mail.log",
        "lab/postfix/runC/mail.log",
        "corpora/kdent-postfix_log_analysis/mail.log",
        "corpora/kdent-postfix_log_analysis/mail2.log",
        "corpora/louisitvn-pflgviewer/mail.log",
    ] {
        let diffs = differences(&shared.join(rel)).unwrap();
        assert!(diffs.is_empty(), "{rel}: {diffs:?}");
    }
}

/// pflogsumm keeps the size of every queue id it has seen and skips a
/// reused id's next message (`next if($msgSizes{$qid})`): its sender and
/// bytes are not counted as received, and its deliveries are counted with
/// the first message's size. mtastat counts each message. In this corpus
/// log, queue id 82B9E242D5 carries two messages.
#[test]
fn a_reused_queue_id_is_the_only_difference_on_kdent_mail3() {
    let Some(shared) = shared() else { return };
    if !installed() {
        return;
    }
    let log = shared.join("corpora/kdent-postfix_log_analysis/mail3.log");
    let diffs = differences(&log).unwrap();
    let labels: Vec<&str> = diffs.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(
        labels,
        [
            "bytes received",
            "bytes delivered",
            "senders",
            "sending hosts/domains"
        ],
        "{diffs:?}"
    );
    let by = |l: &str| diffs.iter().find(|d| d.0 == l).unwrap();
    // One more sender (HomeSpecial@choicehomewarrantyaware.com) and domain.
    assert_eq!(by("senders").2, by("senders").1 + 1);
    assert_eq!(
        by("sending hosts/domains").2,
        by("sending hosts/domains").1 + 1
    );
    // Its 5,433 bytes received; delivered with its own size, not the
    // first message's 4,643 (pflogsumm prints kilobytes).
    let received = by("bytes received");
    assert!(received.2 > received.1 && received.2 - received.1 <= 5433 + 1024);
}

/// Every section on a hand-written log (two days, every kind of line),
/// counted with grep.
#[test]
fn every_section_on_a_hand_written_log() {
    let log = common::testdata("summary/mail.log");
    let grep = |pattern: &str| common::grep_count(pattern, &log);
    let s = summary(&log);
    let g = &s["grand_totals"];
    assert_eq!(
        g["received"],
        grep(
            "(smtpd|postscreen)\\[[0-9]+\\]: [0-9A-F]+: client=|pickup\\[[0-9]+\\]: [0-9A-F]+: uid="
        )
    );
    assert_eq!(g["forwarded"], grep("status=sent \\(forwarded as "));
    assert_eq!(
        g["delivered"],
        grep("status=sent") - grep("status=sent \\(forwarded as ")
    );
    assert_eq!(g["deferrals"], grep("status=deferred"));
    assert_eq!(g["deferred"], 1);
    assert_eq!(g["rejected"], grep("]: NOQUEUE: reject: "));
    assert_eq!(g["reject_warnings"], grep(": reject_warning: "));
    assert_eq!(g["held"], grep(": hold: "));
    assert_eq!(g["discarded"], grep(": discard: "));
    assert_eq!(g["warnings"], grep("]: warning: "));
    assert_eq!(g["fatal"], grep("]: fatal: "));
    assert_eq!(g["panics"], grep("]: panic: "));
    assert_eq!(g["connections"], grep("smtpd\\[[0-9]+\\]: connect from "));
    assert_eq!(g["bytes_received"], 10240 + 2048);
    // Two senders, their domains case-folded; three delivered recipients.
    assert_eq!(g["senders"], 2);
    assert_eq!(g["recipients"], 3);
    let names: Vec<&str> = s["recipients_by_count"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Bob@yahoo.com"), "{names:?}");
    // Two days: a per-day table, and per-hour daily averages.
    let days: Vec<&str> = s["per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["when"].as_str().unwrap())
        .collect();
    assert_eq!(days, ["2026-11-21", "2026-11-22"]);
    assert_eq!(s["per_hour_daily_average"], true);
    assert_eq!(
        s["per_day"][1]["rejected"], 4.0,
        "reject, reject warning, hold, discard"
    );
    // The delivery table: Yahoo's deferral and its 10m57s delivery.
    let yahoo = s["delivery_domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["domain"] == "yahoo.com")
        .unwrap();
    assert_eq!(
        (yahoo["deferrals"].as_u64(), yahoo["max_delay"].as_f64()),
        (Some(1), Some(657.0))
    );
    let levels: Vec<&str> = s["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["master", "panic", "fatal", "warning", "warning"]);
    let actions: BTreeMap<&str, u64> = s["postscreen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        actions,
        BTreeMap::from([
            ("CONNECT", 2),
            ("DNSBL", 1),
            ("PASS NEW", 1),
            ("PREGREET", 1)
        ])
    );
    assert_eq!(s["hold_detail"][0]["reason"], "check this");
    // smtpd pid 3: connect 23:59:03, disconnect 23:59:04; the later
    // connect from 203.0.113.5 has no disconnect (counted, no time).
    let sessions: BTreeMap<&str, (f64, f64)> = s["smtpd_connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap(),
                (
                    r["connections"].as_f64().unwrap(),
                    r["total_secs"].as_f64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(
        sessions,
        BTreeMap::from([("203.0.113.5", (1.0, 0.0)), ("partner.example", (1.0, 1.0))])
    );
    assert_eq!(s["discard_detail"][0]["stage"], "body");
    // --top bounds every table.
    let out = common::mtastat()
        .args(["summary", "--json", "--utc", "--top", "1"])
        .arg(&log)
        .output()
        .unwrap();
    let one: Value = serde_json::from_slice(&out.stdout).unwrap();
    for table in [
        "delivery_domains",
        "senders_by_count",
        "recipients_by_size",
        "reject_detail",
    ] {
        assert_eq!(one[table].as_array().unwrap().len(), 1, "{table}");
    }
    // The text has pflogsumm's section titles.
    let out = common::mtastat()
        .args(["summary", "--utc", "--color", "never"])
        .arg(&log)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for title in [
        "Grand Totals",
        "Per-Day Traffic Summary",
        "Per-Hour Traffic Daily Average",
        "Host/Domain Summary: Message Delivery",
        "Host/Domain Summary: Messages Received",
        "Senders by message count",
        "Recipients by message count",
        "Senders by message size",
        "Recipients by message size",
        "message deferral detail",
        "message bounce detail",
        "message reject detail",
        "message reject warning detail",
        "message hold detail",
        "message discard detail",
        "Host/Domain Summary: SMTPD Connections",
        "Warnings",
        "Fatal Errors",
        "Panics",
        "Master daemon messages",
        "postscreen",
    ] {
        assert!(text.contains(title), "{title}");
    }
}

/// pflogsumm --smtpd-stats pairs each smtpd connect with its disconnect by
/// process id: the connections and connection time per client host/domain
/// must be the same.
#[test]
fn smtpd_connection_time_agrees_with_pflogsumm() {
    let Some(shared) = shared() else { return };
    if !installed() {
        return;
    }
    let log = shared.join("lab/postfix/runA/mail.log");
    let out = Command::new("pflogsumm")
        .arg("--smtpd-stats")
        .arg(&log)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let table = text
        .split("Host/Domain Summary: SMTPD Connections")
        .nth(1)
        .expect("pflogsumm printed no SMTPD connection table");
    let mut theirs = BTreeMap::new();
    for line in table.lines().skip(4) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 5 {
            break;
        }
        // connections, h:mm:ss, avg, max, host/domain
        let hms: Vec<u64> = f[1].split(':').map(|x| x.parse().unwrap()).collect();
        let secs = hms.iter().fold(0, |acc, x| acc * 60 + x);
        theirs.insert(f[4].to_string(), (f[0].parse::<u64>().unwrap(), secs));
    }
    assert!(!theirs.is_empty(), "{table}");
    let s = summary(&log);
    let mine: BTreeMap<String, (u64, u64)> = s["smtpd_connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                (
                    r["connections"].as_f64().unwrap() as u64,
                    r["total_secs"].as_f64().unwrap() as u64,
                ),
            )
        })
        .collect();
    assert_eq!(mine, theirs);
}
