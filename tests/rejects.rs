//! Inbound rejects (issue 7 item 4): what the server itself refused, counted
//! against grep on a fixture, the lab logs and the corpora.

mod common;

use common::{json_with, sh, shared};
use serde_json::Value;
use std::fs;

const FIXTURE: &str = "\
Nov 22 12:39:15 mx1 postfix/smtpd[16414]: NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 550 5.1.2 <s@retired.example>: Recipient address rejected: This domain has been retired; from=<n@shop.example> to=<s@retired.example> proto=ESMTP helo=<app>
Nov 22 12:39:16 mx1 postfix/smtpd[16414]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 <x@elsewhere.example>: Relay access denied; from=<spam@bad.example> to=<x@elsewhere.example> proto=ESMTP helo=<bot-17>
Nov 22 12:39:17 mx1 postfix/smtpd[16414]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 <y@elsewhere.example>: Relay access denied; from=<spam@bad.example> to=<y@elsewhere.example> proto=ESMTP helo=<bot-18>
Nov 22 12:39:18 mx1 postfix/smtpd[16414]: NOQUEUE: reject: RCPT from x[198.51.100.4]: 450 4.7.1 <h>: Helo command rejected: Host not found; from=<a@b.example> to=<c@d.example> proto=SMTP helo=<h>
Nov 22 12:39:19 mx1 postfix/smtpd[16414]: NOQUEUE: warn: RCPT from x[198.51.100.4]: Client host rejected: cannot find your hostname; from=<a@b.example> to=<c@d.example> proto=ESMTP helo=<h>
Nov 22 12:39:20 mx1 postfix/postscreen[88]: NOQUEUE: reject: RCPT from [203.0.113.5]:51234: 550 5.7.1 Service unavailable; client [203.0.113.5] blocked using zen.spamhaus.org; from=<a@b.example>, to=<c@d.example>, proto=ESMTP, helo=<x>
Nov 22 12:39:21 mx1 postfix/cleanup[90]: 4F1A2B3C4D: reject: header Subject: You won from mail.example[192.0.2.1]; from=<a@b.example> to=<c@d.example> proto=ESMTP helo=<mail.example>: 5.7.1 Spam subject
Nov 22 12:39:22 mx1 postfix/smtpd[16414]: connect from unknown[192.0.2.9]
";

#[test]
fn postfix_rejects_by_reason_code_and_client() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    fs::write(&log, FIXTURE).unwrap();
    let r = json_with(&["--year", "2026"], &[&log]);
    assert_eq!(r["inbound_rejects"], 7);
    assert_eq!(r["unparsed_lines"], 0);
    let rows = r["rejects"].as_array().unwrap();
    let first = &rows[0];
    assert_eq!(
        first["count"], 2,
        "the two relay denials group by masked reason"
    );
    assert_eq!(first["kind"], "reject");
    assert_eq!(first["stage"], "RCPT");
    assert_eq!(first["code"], 554);
    assert_eq!(first["dsn"], "5.7.1");
    assert_eq!(first["clients"], 1);
    assert_eq!(first["top_clients"][0]["client"], "unknown[192.0.2.9]");
    let kinds: Vec<&str> = rows.iter().map(|x| x["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"temporary reject") && kinds.contains(&"reject warning"));
    let stages: Vec<&str> = rows.iter().map(|x| x["stage"].as_str().unwrap()).collect();
    assert!(stages.contains(&"header"), "{stages:?}");
    assert_eq!(r["rejected_clients"][0]["client"], "unknown[192.0.2.9]");
    // The terminal report has the section.
    let out = common::mtastat()
        .args(["--year", "2026", "--color", "never"])
        .arg(&log)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Inbound rejects"), "{text}");
    // --since applies to rejects too (the total still counts every line).
    let r = json_with(
        &["--year", "2026", "--since", "2026-11-22 12:39:20"],
        &[&log],
    );
    let shown: u64 = r["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["count"].as_u64().unwrap())
        .sum();
    assert_eq!((r["inbound_rejects"].as_u64(), shown), (Some(7), 2));
}

fn count(r: &Value) -> u64 {
    r["inbound_rejects"].as_u64().unwrap()
}

#[test]
fn lab_and_corpora_rejects_match_grep() {
    let Some(shared) = shared() else { return };
    // A syslog line (RFC 3164 or 3339 stamp, host) from smtpd, postscreen or
    // cleanup whose message is `QUEUEID: ` and an action: reject,
    // milter-reject, reject_warning, warn, hold, discard, or cleanup's
    // `warning: header|body`.
    let postfix = r"grep -acE '^([A-Z][a-z]{2} +[0-9]{1,2} [0-9:]{8}(\.[0-9]+)?|[0-9-]{10}T[^ ]+) [^ ]+ postfix[^ ]*/(smtpd|postscreen|cleanup)\[[0-9]+\]: [0-9A-Za-z]+: (((milter-)?reject|reject_warning|warn|hold|(milter-)?discard): |warning: (header|body) )'";
    let exim = r"grep -acE '^[0-9-]{10} [0-9:.]{8,12} (\[[0-9]+\] )?H=.*(rejected|temporarily rejected) [A-Z]'";
    let mut checked = 0;
    for (dir, pattern) in [
        ("lab/postfix", postfix),
        ("lab/exim", exim),
        ("corpora", postfix),
    ] {
        let files = sh(&format!(
            "find {} -type f \\( -name 'mail*' -o -name 'maillog*' -o -name 'postfix*' -o -name 'mainlog' \\) ! -name '*.md' ! -name '*.gz'",
            shared.join(dir).display()
        ));
        for f in files.lines() {
            let expected: u64 = sh(&format!("{pattern} '{f}' || true")).parse().unwrap_or(0);
            if expected == 0 {
                continue;
            }
            let r = json_with(&[], &[std::path::Path::new(f)]);
            assert_eq!(count(&r), expected, "{f}");
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} logs with rejects");
}

/// Issue 15 item 5, Exim: `<id> H=… rejected after DATA` is an inbound
/// reject (it was a phantom deferral under "other" and missing from the
/// reject table); continuation lines (` Suggested action: …`) belong to the
/// line above; reject clients leave out the TLS fields.
#[test]
fn exim_after_data_rejects_continuations_and_clients() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mainlog");
    std::fs::write(
        &log,
        "2026-11-22 12:00:00 1xV6qi-0004PA-2t H=mail.spammer.example [192.0.2.5] X=TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256 CV=no F=<a@spammer.example> rejected after DATA: Your message scored 15.2 spam points\n\
         2026-11-22 12:00:01 H=mail.bad.example [192.0.2.6] X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no F=<b@bad.example> rejected RCPT <c@ours.example>: relay not permitted\n\
         2026-11-22 12:00:02 TLS error on connection from x [192.0.2.7] (gnutls_handshake): Error in the pull function.\n \
         Suggested action: either install a certificate or change tls_advertise_hosts option\n\
         2026-11-22 12:00:03 1xV6qi-0004PB-2t => a@gmail.com R=dnslookup T=remote_smtp H=gmail-smtp-in.l.google.com [142.250.1.27] X=TLS1.3 C=\"250 2.0.0 OK\"\n",
    )
    .unwrap();
    let r = common::json_with(&["--tz", "UTC"], &[&log]);
    assert_eq!(r["unparsed_lines"], 0, "{r:#}");
    assert_eq!(r["inbound_rejects"], 2);
    assert_eq!(r["host_errors"], 0);
    assert!(
        r["reasons"].as_array().unwrap().is_empty(),
        "{}",
        r["reasons"]
    );
    let stages: Vec<&str> = r["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["stage"].as_str().unwrap())
        .collect();
    assert!(
        stages.contains(&"DATA") && stages.contains(&"RCPT"),
        "{stages:?}"
    );
    for c in r["rejected_clients"].as_array().unwrap() {
        let client = c["client"].as_str().unwrap();
        assert!(
            !client.contains("X=") && !client.contains("CV="),
            "{client}"
        );
    }
}
