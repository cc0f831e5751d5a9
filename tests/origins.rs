//! Who handed the mail over: the `sasl_user` and `client` of the summary
//! frame and the events export, joined from the submission side (smtpd's
//! `client=… sasl_username=…`, Exim's `<= … H=… A=…`) to every attempt,
//! wherever the input is cut, through a content filter on loopback.

mod common;

use common::{json_with, shared};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Attempts per (provider, status, client, sasl_user) in a JSON report.
fn by_origin(r: &Value) -> BTreeMap<(String, String, String, String), u64> {
    let mut out = BTreeMap::new();
    for d in r["deliveries"].as_array().unwrap() {
        let key = (
            d["provider"].as_str().unwrap().to_string(),
            d["status"].as_str().unwrap().to_string(),
            d["client"].as_str().unwrap().to_string(),
            d["sasl_user"].as_str().unwrap().to_string(),
        );
        *out.entry(key).or_insert(0) += d["count"].as_u64().unwrap();
    }
    out
}

fn key(p: &str, s: &str, c: &str, u: &str) -> (String, String, String, String) {
    (p.into(), s.into(), c.into(), u.into())
}

/// bob submits through smtpd with SASL; amavis on 127.0.0.1:10024 takes
/// the message and re-injects it on :10025 as a copy, which is delivered.
/// The copy's attempt is bob's, not the filter's. Then a parked copy: the
/// filter's copy is delivered before the hand-off line is logged; it keeps
/// the filter as its client (nothing before it says otherwise).
const FILTERED: &str = "\
Dec  3 10:00:00 mx postfix/submission/smtpd[10]: AAAAAAAAA1: client=laptop.example[198.51.100.7]:50123, sasl_method=PLAIN, sasl_username=bob@relay.example
Dec  3 10:00:00 mx postfix/cleanup[11]: AAAAAAAAA1: message-id=<1@relay.example>
Dec  3 10:00:00 mx postfix/qmgr[12]: AAAAAAAAA1: from=<bob@relay.example>, size=100, nrcpt=1 (queue active)
Dec  3 10:00:01 mx postfix/smtp[13]: AAAAAAAAA1: to=<r@gmail.com>, relay=amavis[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as BBBBBBBBB2)
Dec  3 10:00:01 mx postfix/qmgr[12]: AAAAAAAAA1: removed
Dec  3 10:00:01 mx postfix/10025/smtpd[14]: BBBBBBBBB2: client=localhost[127.0.0.1]
Dec  3 10:00:01 mx postfix/cleanup[11]: BBBBBBBBB2: message-id=<1@relay.example>
Dec  3 10:00:01 mx postfix/qmgr[12]: BBBBBBBBB2: from=<bob@relay.example>, size=120, nrcpt=1 (queue active)
Dec  3 10:00:02 mx postfix/smtp[15]: BBBBBBBBB2: to=<r@gmail.com>, relay=gmail-smtp-in.l.google.com[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)
Dec  3 10:00:02 mx postfix/qmgr[12]: BBBBBBBBB2: removed
Dec  3 10:01:00 mx postfix/submission/smtpd[16]: CCCCCCCCC3: client=phone.example[203.0.113.9], sasl_method=LOGIN, sasl_username=carol@relay.example
Dec  3 10:01:00 mx postfix/cleanup[11]: CCCCCCCCC3: message-id=<2@relay.example>
Dec  3 10:01:00 mx postfix/qmgr[12]: CCCCCCCCC3: from=<carol@relay.example>, size=100, nrcpt=1 (queue active)
Dec  3 10:01:01 mx postfix/10025/smtpd[17]: DDDDDDDDD4: client=localhost[127.0.0.1]
Dec  3 10:01:01 mx postfix/cleanup[11]: DDDDDDDDD4: message-id=<2@relay.example>
Dec  3 10:01:01 mx postfix/qmgr[12]: DDDDDDDDD4: from=<carol@relay.example>, size=120, nrcpt=1 (queue active)
Dec  3 10:01:01 mx postfix/smtp[18]: DDDDDDDDD4: to=<s@outlook.com>, relay=outlook-com.olc.protection.outlook.com[192.0.2.10]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)
Dec  3 10:01:01 mx postfix/qmgr[12]: DDDDDDDDD4: removed
Dec  3 10:01:02 mx postfix/smtp[13]: CCCCCCCCC3: to=<s@outlook.com>, relay=amavis[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as DDDDDDDDD4)
Dec  3 10:01:02 mx postfix/qmgr[12]: CCCCCCCCC3: removed
Dec  3 10:02:00 mx postfix/qmgr[12]: EEEEEEEEE5: from=<<>>, size=100, nrcpt=1 (queue active)
Dec  3 10:02:01 mx postfix/smtp[18]: EEEEEEEEE5: to=<t@yahoo.com>, relay=mta5.am0.yahoodns.net[192.0.2.11]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mta5.am0.yahoodns.net[192.0.2.11] said: 554 5.1.1 <t@yahoo.com>: no such user (in reply to RCPT TO command))
";

#[test]
fn a_filters_copy_is_the_submitters_and_every_cut_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    std::fs::write(&log, FILTERED).unwrap();
    let r = json_with(&[], &[&log]);
    let got = by_origin(&r);
    let bob = key(
        "google",
        "sent",
        "laptop.example[198.51.100.7]",
        "bob@relay.example",
    );
    assert_eq!(got.get(&bob), Some(&1), "{got:?}");
    // The hand-off itself is bob's too (his message, to the filter).
    assert_eq!(
        got.get(&key(
            "handoff",
            "sent",
            "laptop.example[198.51.100.7]",
            "bob@relay.example"
        )),
        Some(&1),
        "{got:?}"
    );
    // Parked: delivered before its hand-off was logged.
    assert_eq!(
        got.get(&key("microsoft", "sent", "localhost[127.0.0.1]", "")),
        Some(&1),
        "{got:?}"
    );
    // No arrival line at all: unknown, not guessed.
    assert_eq!(
        got.get(&key("yahoo", "bounced", "", "")),
        Some(&1),
        "{got:?}"
    );
    // Every way of cutting the log into runs gives the same answer.
    let lines = FILTERED.lines().count();
    for first in 1..lines {
        for second in [first + 3, first + 7] {
            let after: Vec<usize> = [first, second].into_iter().filter(|&l| l < lines).collect();
            let (runs, whole) =
                mtastat::fuzz::cut_after_lines_and_whole(FILTERED.as_bytes(), &after);
            assert_eq!(runs, whole, "cut after lines {after:?}");
        }
    }
}

/// A published Postfix log with a SASL user (a webmail on loopback, which
/// authenticates: not a filter): the attempts per user against an
/// independent count — each queue id's `sasl_username=` from its smtpd
/// line, then its `to=` lines.
#[test]
fn sasl_users_match_an_independent_count_on_a_published_log() {
    let Some(s) = shared() else {
        common::require_tool("../shared", "the shared corpora beside the repo");
        return;
    };
    let log = s.join("corpora/louisitvn-pflgviewer/mail.log");
    let text = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    let queue_id = |line: &str, marker: &str| -> Option<String> {
        let at = line.find(marker)?;
        let head = &line[..at];
        Some(head.rsplit(' ').next()?.trim_end_matches(':').to_string())
    };
    let mut user_of: BTreeMap<String, String> = BTreeMap::new();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for line in text.lines() {
        if let Some(at) = line.find("sasl_username=")
            && let Some(q) = queue_id(line, ": client=")
        {
            let user = line[at + 14..].split(',').next().unwrap().to_string();
            user_of.insert(q, user);
        } else if line.contains(" to=<")
            && line.contains(" status=")
            && let Some(q) = queue_id(line, ": to=<")
        {
            let user = user_of.get(&q).cloned().unwrap_or_default();
            *expected.entry(user).or_insert(0) += 1;
        }
    }
    assert!(
        expected.get("jordy").copied().unwrap_or(0) > 10,
        "{expected:?}"
    );
    let r = json_with(&[], &[Path::new(&log)]);
    let mut got: BTreeMap<String, u64> = BTreeMap::new();
    for d in r["deliveries"].as_array().unwrap() {
        *got.entry(d["sasl_user"].as_str().unwrap().to_string())
            .or_insert(0) += d["count"].as_u64().unwrap();
    }
    assert_eq!(got.get("jordy"), expected.get("jordy"));
    // Every attempt is somebody's or nobody's: none lost by the join.
    assert_eq!(
        got.values().sum::<u64>(),
        r["delivery_attempts"].as_u64().unwrap()
    );
}
