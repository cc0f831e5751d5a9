//! `mtastat trace`: what happened to a message, checked against an
//! independent grep of its queue id on the lab logs (rotated and gzipped),
//! and on small fixtures for each kind of WHAT.

mod common;

use common::{mtastat, sh, shared, testdata};
use serde_json::Value;
use std::fs;
use std::path::Path;

/// `mtastat trace ARGS --json`: one object per message.
fn traces(args: &[&str]) -> Vec<Value> {
    let out = mtastat()
        .arg("trace")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn queue_ids(t: &Value) -> Vec<String> {
    t["queue_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap().to_string())
        .collect()
}

fn lines(t: &Value) -> Vec<String> {
    t["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// Splits `log` into a gzipped older half and a newer half named like a
/// logrotate pair in `dir`; returns the line the halves were cut at.
fn rotate(log: &Path, dir: &Path, name: &str) -> usize {
    let text = fs::read(log).unwrap();
    let n = text.iter().filter(|&&b| b == b'\n').count();
    let cut = n / 2;
    let at = text
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(cut - 1)
        .map(|(i, _)| i + 1)
        .unwrap();
    fs::write(dir.join(format!("{name}.1")), &text[..at]).unwrap();
    fs::write(dir.join(name), &text[at..]).unwrap();
    let gz = sh(&format!(
        "gzip -n '{}' && echo ok",
        dir.join(format!("{name}.1")).display()
    ));
    assert_eq!(gz, "ok", "gzip is needed to make the rotated file");
    cut
}

/// The lab logs, rotated (older half gzipped), traced by queue ids whose
/// lines are in both halves: each trace's lines are exactly what an
/// independent filter of the original file finds for its queue ids (grep
/// for Postfix's `]: ID: `, the third field for Exim), none missing.
#[test]
fn trace_by_queue_id_on_rotated_gzipped_lab_logs_agrees_with_grep() {
    let Some(shared) = shared() else { return };
    for (rel, name, ids_of_half, lines_of_id) in [
        (
            "lab/postfix/runA/mail.log",
            "mail.log",
            r"sed -nE 's/^.* postfix\/[a-z]+\[[0-9]+\]: ([0-9A-F]{8,}): .*/\1/p'",
            "LC_ALL=C grep -aF ']: {id}: ' '{log}'",
        ),
        (
            "lab/exim/run1/mainlog",
            "mainlog",
            r"grep -aoE '^[0-9-]+ [0-9:]+ [0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4} ' | awk '{print $3}'",
            "LC_ALL=C awk -v id='{id}' '$3 == id' '{log}'",
        ),
    ] {
        let log = shared.join(rel);
        let dir = tempfile::tempdir().unwrap();
        let cut = rotate(&log, dir.path(), name);
        let half = |which: &str| -> Vec<String> {
            let range = if which == "old" {
                format!("1,{cut}p")
            } else {
                format!("{},$p", cut + 1)
            };
            let out = sh(&format!(
                "sed -n '{range}' '{}' | {ids_of_half} | sort -u",
                log.display()
            ));
            out.lines().map(str::to_string).collect()
        };
        let (old, new) = (half("old"), half("new"));
        let spanning: Vec<&String> = old.iter().filter(|id| new.contains(id)).take(4).collect();
        assert!(!spanning.is_empty(), "{rel}: no message spans the cut");
        // And one that does not, from each half.
        let mut ids: Vec<&String> = spanning.clone();
        ids.extend(old.iter().find(|id| !new.contains(id)));
        ids.extend(new.iter().find(|id| !old.contains(id)));
        for id in ids {
            let found = traces(&[id.as_str(), &dir.path().display().to_string()]);
            assert_eq!(found.len(), 1, "{rel} {id}: one message");
            let t = &found[0];
            assert_eq!(t["lines_not_kept"], 0, "{rel} {id}");
            let mut expected: Vec<String> = Vec::new();
            for q in queue_ids(t) {
                let cmd = lines_of_id
                    .replace("{id}", &q)
                    .replace("{log}", &log.display().to_string());
                expected.extend(sh(&cmd).lines().map(str::to_string));
            }
            assert!(queue_ids(t).contains(id), "{rel} {id}: {:?}", queue_ids(t));
            let mut got = lines(t);
            assert!(got.len() >= 2, "{rel} {id}: {got:?}");
            got.sort();
            expected.sort();
            assert_eq!(got, expected, "{rel} {id}: trace vs grep");
        }
    }
}

/// A content filter on loopback queues the message again under a new id:
/// whichever of the two ids, the recipient or the Message-ID is asked
/// for, the trace holds both, in order, and ends with the copy's delivery
/// (the fixture has the copy logged before and after the original left).
#[test]
fn trace_follows_a_message_through_a_content_filter() {
    let log = testdata("shapes/handoff.log");
    let log = log.display().to_string();
    for (what, ids, end) in [
        ("39A39D1AD4", ["39A39D1AD4", "2A6CFCBEE5"], "bounced"),
        ("2A6CFCBEE5", ["39A39D1AD4", "2A6CFCBEE5"], "bounced"),
        ("u1@outlook.com", ["DF0E0E7258", "CD9D49E003"], "delivered"),
        (
            "<2@shop.example>",
            ["D1E4DCD5E6", "48BD9271F9"],
            "delivered",
        ),
    ] {
        let found = traces(&[what, &log]);
        assert_eq!(found.len(), 1, "{what}");
        let t = &found[0];
        assert_eq!(queue_ids(t), ids, "{what}");
        let recipients = t["recipients"].as_array().unwrap();
        assert_eq!(recipients.len(), 1, "{what}");
        assert_eq!(recipients[0]["disposition"], end, "{what}");
        let kinds: Vec<&str> = t["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&"handoff"), "{what}: {kinds:?}");
        assert_eq!(lines(t).len(), 10, "{what}: both messages' five lines");
    }
}

/// `--limit` bounds what is printed, never what is counted: the count of
/// all matches equals an independent count (distinct queue ids of the
/// gmail `to=` lines), and JSON prints one object per shown message.
#[test]
fn trace_counts_every_match_and_prints_the_limit() {
    let log = testdata("postfix/mail.log");
    let expected: u64 = sh(&format!(
        "grep -a 'to=<[^>]*@gmail.com>' '{}' | sed -E 's/.*: ([0-9A-F]+): to=.*/\\1/' | sort -u | wc -l",
        log.display()
    ))
    .parse()
    .unwrap();
    assert!(expected > 100, "{expected}");
    let out = mtastat()
        .args(["trace", "@Gmail.com", "--limit", "3", "--color", "never"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{expected} messages matched, the first 3 shown")),
        "{text}"
    );
    assert_eq!(text.matches("━━ ").count(), 3);
    let json = mtastat()
        .args(["trace", "@gmail.com", "--limit", "3", "--json"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(json.status.success(), "a limit is not an error");
    assert_eq!(String::from_utf8_lossy(&json.stdout).lines().count(), 3);
    let said = String::from_utf8_lossy(&json.stderr);
    assert!(
        said.contains(&format!("{expected} messages matched")),
        "{said}"
    );
    // --until cuts what is looked at.
    let early = traces(&[
        "@gmail.com",
        "--until",
        "2026-11-22 12:10",
        "--limit",
        "10000",
        "--year",
        "2026",
        &log.display().to_string(),
    ]);
    assert!(!early.is_empty() && (early.len() as u64) < expected);
    for t in &early {
        for l in lines(t) {
            assert!(l.as_str() < "Nov 22 12:10", "{l}");
        }
    }
}

/// The submission side: a client IP and a SASL user find the messages
/// they submitted (Postfix smtpd `client=`/`sasl_username=`, Exim `H=`
/// `[ip]`/`A=`), matched as fields: a longer IP or name is another.
#[test]
fn trace_by_client_ip_and_sasl_user() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    fs::write(
        &log,
        "Nov 22 12:00:00 mx1 postfix/smtpd[7]: 1A2B3C4D5E: client=laptop.example[192.0.2.7], sasl_method=PLAIN, sasl_username=bob\n\
Nov 22 12:00:00 mx1 postfix/cleanup[8]: 1A2B3C4D5E: message-id=<a@corp.example>\n\
Nov 22 12:00:00 mx1 postfix/qmgr[9]: 1A2B3C4D5E: from=<bob@corp.example>, size=900, nrcpt=1 (queue active)\n\
Nov 22 12:00:01 mx1 postfix/smtp[10]: 1A2B3C4D5E: to=<x@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.1]:25, delay=1, delays=0/0/0/1, dsn=4.7.28, status=deferred (host gmail-smtp-in.l.google.com[142.250.1.1] said: 421-4.7.28 rate limited (in reply to end of DATA command))\n\
Nov 22 12:00:02 mx1 postfix/smtpd[7]: 2B3C4D5E6F: client=other.example[192.0.2.70], sasl_method=PLAIN, sasl_username=bobby\n\
Nov 22 12:00:02 mx1 postfix/qmgr[9]: 2B3C4D5E6F: from=<bobby@corp.example>, size=900, nrcpt=1 (queue active)\n",
    )
    .unwrap();
    let log = log.display().to_string();
    for what in ["192.0.2.7", "bob"] {
        let found = traces(&[what, &log]);
        assert_eq!(found.len(), 1, "{what}");
        let t = &found[0];
        assert_eq!(queue_ids(t), ["1A2B3C4D5E"], "{what}");
        assert_eq!(t["sasl_user"], "bob");
        assert_eq!(t["recipients"][0]["disposition"], "deferred (still queued)");
        assert_eq!(t["events"][1]["dsn"], "4.7.28");
        assert_eq!(t["events"][1]["provider"], "google");
    }
    assert!(
        traces(&["192.0.2", &log]).is_empty(),
        "not an IP: a user name nobody has"
    );
}

/// Log text is attacker-controlled: nothing of it reaches the terminal
/// unescaped. A file that is not there is a one-line error and exit 2.
#[test]
fn trace_escapes_log_text_and_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    fs::write(
        &log,
        "Nov 22 12:00:00 mx1 postfix/qmgr[9]: 1A2B3C4D5E: from=<evil\x1b]0;pwned\x07@x.example>, size=1, nrcpt=1 (queue active)\n\
Nov 22 12:00:01 mx1 postfix/smtp[10]: 1A2B3C4D5E: to=<x@gmail.com>, relay=none, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host said: 550 5.1.1 \x1b[31mred\x1b[0m \u{202e}gnp.exe (in reply to RCPT TO command))\n",
    )
    .unwrap();
    let out = mtastat()
        .args(["trace", "1A2B3C4D5E", "--color", "never"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1A2B3C4D5E"), "{text}");
    assert!(
        !text.contains('\x1b') && !text.contains('\x07') && !text.contains('\u{202e}'),
        "{text:?}"
    );
    let out = mtastat()
        .args(["trace", "1A2B3C4D5E"])
        .arg(dir.path().join("no-such.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("no-such.log"), "{err}");
    let out = mtastat()
        .args(["trace", "x", "--format", "markdown"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A bounce is part of what happened to a message: the notification
/// Postfix's bounce daemon queued (`sender non-delivery notification: ID`)
/// and Exim's `<= <> R=ID` join the trace of the message they are about,
/// whichever of the two ids is asked for; their recipients (the sender)
/// are marked as notifications. The pairs come from grep, not mtastat.
#[test]
fn trace_follows_a_message_to_its_bounce() {
    let Some(shared) = shared() else { return };
    for (rel, pairs) in [
        (
            "lab/postfix/runA/mail.log",
            r"grep -a 'sender non-delivery notification: ' '{log}' | head -3 | sed -E 's/.*\]: ([0-9A-F]+): sender non-delivery notification: ([0-9A-F]+)$/\1 \2/'",
        ),
        (
            "lab/exim/run1/mainlog",
            r#"grep -a ' <= <> R=' '{log}' | head -3 | awk '{ sub(/^R=/, "", $6); print $6, $3 }'"#,
        ),
    ] {
        let log = shared.join(rel);
        let pairs = sh(&pairs.replace("{log}", &log.display().to_string()));
        let pairs: Vec<(&str, &str)> = pairs.lines().filter_map(|l| l.split_once(' ')).collect();
        assert!(!pairs.is_empty(), "{rel}: no bounces");
        for (original, notice) in pairs {
            for what in [original, notice] {
                let found = traces(&[what, &log.display().to_string()]);
                assert_eq!(found.len(), 1, "{rel} {what}");
                let ids = queue_ids(&found[0]);
                assert!(
                    ids.contains(&original.to_string()) && ids.contains(&notice.to_string()),
                    "{rel} {what}: {ids:?}"
                );
                let recipients = found[0]["recipients"].as_array().unwrap();
                assert!(
                    recipients.iter().any(|r| r["notification"] == true)
                        && recipients.iter().any(|r| r["notification"] == false),
                    "{rel} {what}: {recipients:?}"
                );
            }
        }
    }
}

/// A content filter reached by a name on a loopback address
/// (`relay=amavis[127.0.0.1]:10024`) is a hand-off as in the report's
/// journeys: its `queued as` is the message's next queue id. (trace asked
/// the provider table alone, which knows loopback names, not addresses,
/// and lost the copy.)
#[test]
fn trace_follows_a_filter_named_on_a_loopback_address() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    fs::write(
        &log,
        "Nov 22 12:00:00 mx1 postfix/qmgr[9]: 1A2B3C4D5E: from=<news@shop.example>, size=100, nrcpt=1 (queue active)\n\
Nov 22 12:00:00 mx1 postfix/smtpd[7]: 6F7E8D9C0B: client=localhost[127.0.0.1]\n\
Nov 22 12:00:01 mx1 postfix/smtp[10]: 1A2B3C4D5E: to=<x@gmail.com>, relay=amavis[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok, id=123-45, from MTA([127.0.0.1]:10025): 250 2.0.0 Ok: queued as 6F7E8D9C0B)\n\
Nov 22 12:00:01 mx1 postfix/qmgr[9]: 1A2B3C4D5E: removed\n\
Nov 22 12:00:01 mx1 postfix/qmgr[9]: 6F7E8D9C0B: from=<news@shop.example>, size=200, nrcpt=1 (queue active)\n\
Nov 22 12:00:02 mx1 postfix/smtp[11]: 6F7E8D9C0B: to=<x@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)\n\
Nov 22 12:00:02 mx1 postfix/qmgr[9]: 6F7E8D9C0B: removed\n",
    )
    .unwrap();
    let found = traces(&["1A2B3C4D5E", &log.display().to_string()]);
    assert_eq!(found.len(), 1);
    assert_eq!(queue_ids(&found[0]), ["1A2B3C4D5E", "6F7E8D9C0B"]);
    let events = found[0]["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "handoff" && e["provider"] == "handoff"),
        "{events:?}"
    );
    assert_eq!(found[0]["recipients"][0]["disposition"], "delivered");
}
