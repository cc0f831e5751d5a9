//! Input breadth, running the binary: every timestamp form (issue 5 item 3)
//! and every line form real servers write (item 4), each in its own test.

mod common;

use common::{json_with, mtastat, per_status, testdata};
use serde_json::Value;
use std::fs;
use std::time::{Duration, SystemTime};

/// Writes `text` to a temp file and returns the `--json` report with `options`.
fn report_of(text: &str, options: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mail.log");
    fs::write(&path, text).unwrap();
    json_with(options, &[&path])
}

fn period(r: &Value) -> (String, String) {
    (
        r["period"]["first"].as_str().unwrap().to_string(),
        r["period"]["last"].as_str().unwrap().to_string(),
    )
}

/// (provider, domain, status, dsn) of every delivery row, with counts.
fn rows(r: &Value) -> Vec<(String, String, String, String, u64)> {
    let mut v: Vec<_> = r["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["provider"].as_str().unwrap().to_string(),
                d["domain"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
                d["dsn"].as_str().unwrap().to_string(),
                d["count"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn row(p: &str, d: &str, s: &str, dsn: &str, n: u64) -> (String, String, String, String, u64) {
    (p.into(), d.into(), s.into(), dsn.into(), n)
}

fn count(r: &Value, key: &str) -> u64 {
    r[key].as_u64().unwrap_or_else(|| panic!("{key} missing"))
}

const SENT: &str = "Nov 22 12:39:02 mx1 postfix/smtp[7]: 4F1A2B3C4D: to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 OK 1700000000 x1si2)";

// ---------------------------------------------------------------- item 3

#[test]
fn rfc3164_year_comes_from_the_mtime_across_new_year() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mail.log");
    let text = format!(
        "{}\n{}\n",
        SENT.replace("Nov 22 12:39:02", "Dec 31 23:59:58"),
        SENT.replace("Nov 22 12:39:02", "Jan  1 00:00:03")
            .replace("4F1A2B3C4D", "5F1A2B3C4D")
    );
    fs::write(&path, text).unwrap();
    // Written on 2 January 2027: December is 2026's.
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_798_848_000); // 2027-01-02 00:00 UTC
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let r = json_with(&["--tz", "UTC"], &[&path]);
    assert_eq!(
        period(&r),
        ("2026-12-31 23:59:58".into(), "2027-01-01 00:00:03".into())
    );
    // --year overrides the mtime: both lines in 2030.
    let r = json_with(&["--tz", "UTC", "--year", "2030"], &[&path]);
    assert_eq!(
        period(&r),
        ("2030-01-01 00:00:03".into(), "2030-12-31 23:59:58".into())
    );
}

#[test]
fn zone_less_times_are_read_in_tz_and_shown_in_it_or_utc() {
    let log = format!("{SENT}\n");
    // Read and shown in Berlin: the wall-clock text comes back as written.
    let r = report_of(&log, &["--tz", "Europe/Berlin", "--year", "2026"]);
    assert_eq!(r["time_zone"], "Europe/Berlin");
    assert_eq!(period(&r).0, "2026-11-22 12:39:02");
    // Shown in UTC: an hour earlier (CET is UTC+1 in November).
    let r = report_of(&log, &["--tz", "Europe/Berlin", "--year", "2026", "--utc"]);
    assert_eq!(r["time_zone"], "UTC");
    assert_eq!(period(&r).0, "2026-11-22 11:39:02");
    // Summer: two hours.
    let july = log.replace("Nov 22", "Jul  1");
    let r = report_of(&july, &["--tz", "Europe/Berlin", "--year", "2026", "--utc"]);
    assert_eq!(period(&r).0, "2026-07-01 10:39:02");
    // A fixed offset, and the default zone taken from TZ.
    let r = report_of(&log, &["--tz", "-05:00", "--year", "2026", "--utc"]);
    assert_eq!(period(&r).0, "2026-11-22 17:39:02");
    let r = report_of(&log, &["--tz=-0500", "--year", "2026", "--utc"]);
    assert_eq!(period(&r).0, "2026-11-22 17:39:02");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mail.log");
    fs::write(&path, &log).unwrap();
    let out = mtastat()
        .env("TZ", "America/New_York")
        .args(["--json", "--year", "2026", "--utc"])
        .arg(&path)
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(period(&r).0, "2026-11-22 17:39:02");
    // --since without a zone is in --tz too: 12:39 Berlin keeps the line,
    // 12:40 drops it.
    let r = report_of(
        &log,
        &[
            "--tz",
            "Europe/Berlin",
            "--year",
            "2026",
            "--since",
            "2026-11-22 12:39",
        ],
    );
    assert_eq!(
        count(&r, "delivery_attempts") - count(&r, "attempts_filtered_out"),
        1
    );
    let r = report_of(
        &log,
        &[
            "--tz",
            "Europe/Berlin",
            "--year",
            "2026",
            "--since",
            "2026-11-22 12:40",
        ],
    );
    assert_eq!(count(&r, "attempts_filtered_out"), 1);
}

#[test]
fn terminal_report_names_the_zone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mail.log");
    fs::write(&path, format!("{SENT}\n")).unwrap();
    let out = mtastat()
        .args(["--tz", "Asia/Kolkata", "--year", "2026"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("period      2026-11-22 12:39:02 → 2026-11-22 12:39:02 Asia/Kolkata"),
        "{text}"
    );
}

#[test]
fn unknown_zone_is_one_line_and_exit_2() {
    let out = mtastat()
        .args(["--tz", "Mars/Olympus_Mons"])
        .arg(testdata("postfix/mail.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("Mars/Olympus_Mons"), "{err}");
}

#[test]
fn every_timestamp_form_gives_the_same_instant() {
    // 2026-11-22 12:39:02 UTC, written every way mail logs write it.
    let body = "mx1 postfix/smtp[7]: 4F1A2B3C4D: to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 OK)";
    let exim = "1xV6qi-0004PA-2t => a@gmail.com R=dnslookup T=remote_smtp H=gmail-smtp-in.l.google.com [142.250.1.27] C=\"250 2.0.0 OK\"";
    for (form, line) in [
        ("RFC 3164", format!("Nov 22 12:39:02 {body}")),
        ("RFC 3164, one-digit day", format!("Nov  2 12:39:02 {body}")),
        (
            "RFC 3339 with fraction and offset",
            format!("2026-11-22T07:39:02.249744-05:00 {body}"),
        ),
        ("RFC 3339 Z", format!("2026-11-22T12:39:02Z {body}")),
        (
            "journalctl -o short-iso",
            format!("2026-11-22T13:39:02+0100 {body}"),
        ),
        (
            "journalctl -o short-iso-precise",
            format!("2026-11-22T13:39:02.123456+01:00 {body}"),
        ),
        (
            "journalctl -o short-precise",
            format!("Nov 22 12:39:02.123456 {body}"),
        ),
        ("Exim", format!("2026-11-22 12:39:02 {exim}")),
        (
            "Exim with milliseconds",
            format!("2026-11-22 12:39:02.512 {exim}"),
        ),
        (
            "Exim with [pid]",
            format!("2026-11-22 12:39:02 [4711] {exim}"),
        ),
        (
            "Exim with ms, zone and pid",
            format!("2026-11-22 13:39:02.512 +0100 [4711] {exim}"),
        ),
        (
            "Exim through syslog",
            format!("Nov 22 12:39:02 mx1 exim[4711]: 2026-11-22 12:39:02 {exim}"),
        ),
    ] {
        let r = report_of(&format!("{line}\n"), &["--tz", "UTC", "--year", "2026"]);
        let expect_day = if form.contains("one-digit") {
            "2026-11-02"
        } else {
            "2026-11-22"
        };
        assert_eq!(
            period(&r).0,
            format!("{expect_day} 12:39:02"),
            "{form}: {line}"
        );
        assert_eq!(count(&r, "delivery_attempts"), 1, "{form}");
        assert_eq!(count(&r, "unparsed_lines"), 0, "{form}");
    }
}

/// A syslog line as `journalctl -o json` would export it.
fn journal_json(line: &str) -> Option<String> {
    // "Nov 22 12:39:02 host tag[pid]: message"
    let (stamp, rest) = line.split_at(15);
    let (host, rest) = rest.trim_start().split_once(' ')?;
    let (tag, message) = rest.split_once(": ")?;
    let (ident, pid) = match tag.split_once('[') {
        Some((i, p)) => (i, p.trim_end_matches(']')),
        None => (tag, ""),
    };
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| stamp.starts_with(m))? as i64 + 1;
    let day: i64 = stamp[4..6].trim().parse().ok()?;
    let h: i64 = stamp[7..9].parse().ok()?;
    let m: i64 = stamp[10..12].parse().ok()?;
    let s: i64 = stamp[13..15].parse().ok()?;
    // Days from 1970-01-01 to 2026-MM-DD (no leap day after February 2026).
    let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let days = 20_454 + cumulative[(month - 1) as usize] + day - 1;
    let micros = ((days * 86_400 + h * 3600 + m * 60 + s) * 1_000_000 + 123_456).to_string();
    let mut entry = serde_json::Map::new();
    entry.insert("__CURSOR".into(), "s=abc;i=1".into());
    entry.insert("__REALTIME_TIMESTAMP".into(), micros.into());
    entry.insert("_HOSTNAME".into(), host.into());
    entry.insert("SYSLOG_IDENTIFIER".into(), ident.into());
    entry.insert("_PID".into(), pid.into());
    entry.insert("MESSAGE".into(), message.into());
    entry.insert("PRIORITY".into(), "6".into());
    Some(Value::Object(entry).to_string())
}

/// A syslog line as rsyslog's `RSYSLOG_SyslogProtocol23Format` (RFC 5424)
/// writes it, with the zone `offset` (`+01:00`) on the timestamp.
fn rfc5424(line: &str, offset: &str, structured: &str) -> Option<String> {
    let (stamp, rest) = line.split_at(15);
    let (host, rest) = rest.trim_start().split_once(' ')?;
    let (tag, message) = rest.split_once(": ")?;
    let (app, pid) = match tag.split_once('[') {
        Some((i, p)) => (i, p.trim_end_matches(']')),
        None => (tag, "-"),
    };
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| stamp.starts_with(m))? + 1;
    let day: u32 = stamp[4..6].trim().parse().ok()?;
    // The wall clock of the syslog line, written in the zone of `offset`.
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let hours: i64 = offset[1..3].parse().ok()?;
    let h: i64 = stamp[7..9].parse::<i64>().ok()? + sign * hours;
    let (day, h) = match h {
        h if h >= 24 => (day + 1, h - 24),
        h if h < 0 => (day - 1, h + 24),
        h => (day, h),
    };
    Some(format!(
        "<22>1 2026-{month:02}-{day:02}T{h:02}:{}.185246{offset} {host} {app} {pid} - {structured} {message}",
        &stamp[10..15]
    ))
}

/// Issue 15 item 5: RFC 5424 lines were 100 % "not understood" (exit 0).
#[test]
fn rfc5424_syslog_counts_like_the_syslog_file() {
    let plain_path = testdata("postfix/mail.log");
    let plain = fs::read_to_string(&plain_path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (offset, sd) in [
        ("+01:00", "-"),
        ("-05:00", "[meta sequenceId=\"1\" x=\"a\\]b\"]"),
    ] {
        let lines: Vec<String> = plain
            .lines()
            .filter_map(|l| rfc5424(l, offset, sd))
            .collect();
        assert_eq!(lines.len(), plain.lines().count(), "every line converted");
        let path = dir.path().join("mail-5424.log");
        fs::write(&path, lines.join("\n") + "\n").unwrap();
        let a = json_with(&["--tz", "UTC", "--year", "2026"], &[&plain_path]);
        let b = json_with(&["--tz", "UTC"], &[&path]);
        assert_eq!(b["files"][0]["format"], "syslog-5424");
        assert_eq!(count(&b, "unparsed_lines"), 0);
        assert_eq!(per_status(&a), per_status(&b));
        assert_eq!(rows(&a), rows(&b));
        assert_eq!(
            count(&a, "attempts_sender_unknown"),
            count(&b, "attempts_sender_unknown")
        );
        assert_eq!(period(&a), period(&b), "{offset}");
    }
}

#[test]
fn journal_json_export_counts_like_the_syslog_file() {
    let plain_path = testdata("postfix/mail.log");
    let plain = fs::read_to_string(&plain_path).unwrap();
    let lines: Vec<String> = plain.lines().filter_map(journal_json).collect();
    assert_eq!(lines.len(), plain.lines().count(), "every line converted");
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("journal.json");
    fs::write(&json_path, lines.join("\n") + "\n").unwrap();
    let a = json_with(&["--tz", "UTC", "--year", "2026"], &[&plain_path]);
    let b = json_with(&["--tz", "UTC"], &[&json_path]);
    assert_eq!(b["files"][0]["format"], "journal-json");
    assert_eq!(count(&b, "unparsed_lines"), 0);
    assert_eq!(per_status(&a), per_status(&b));
    assert_eq!(rows(&a), rows(&b));
    assert_eq!(
        count(&a, "attempts_sender_unknown"),
        count(&b, "attempts_sender_unknown"),
        "the sender join works on journal entries"
    );
    assert_eq!(period(&a), period(&b));
    // Entries that are not mail, not JSON, or lack MESSAGE are counted.
    let mixed = format!(
        "{}\n{{\"__REALTIME_TIMESTAMP\":\"1795351142000000\",\"SYSLOG_IDENTIFIER\":\"sshd\",\"MESSAGE\":\"Accepted key\"}}\n{{\"__REALTIME_TIMESTAMP\":\"1795351142000000\"}}\n{{not json\n",
        lines[0]
    );
    let r = report_of(&mixed, &["--tz", "UTC"]);
    assert_eq!(count(&r, "other_program_lines"), 1);
    assert_eq!(count(&r, "unparsed_lines"), 2);
    assert_eq!(r["unparsed"][0]["reason"], "journal_entry");
}

#[test]
fn journal_json_with_binary_message_and_stdin() {
    // journald exports a MESSAGE holding invalid UTF-8 as an array of bytes.
    let mut bytes: Vec<String> = b"4F1A2B3C4D: to=<a@gmail.com>, relay=none, delay=1, delays=1/0/0/0, dsn=4.4.1, status=deferred (connect to x[1.2.3.4]:25: \xff timed out)"
        .iter()
        .map(u8::to_string)
        .collect();
    bytes.shrink_to_fit();
    let line = format!(
        "{{\"__REALTIME_TIMESTAMP\":\"1795351142000000\",\"_HOSTNAME\":\"mx1\",\"SYSLOG_IDENTIFIER\":\"postfix/smtp\",\"MESSAGE\":[{}]}}\n",
        bytes.join(",")
    );
    let out = mtastat()
        .args(["--json", "--tz", "UTC", "-"])
        .write_stdin(line)
        .output()
        .unwrap();
    assert!(out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(count(&r, "delivery_attempts"), 1);
    assert_eq!(count(&r, "invalid_utf8_delivery_lines"), 1);
    assert_eq!(period(&r).0, "2026-11-22 12:39:02");
}

// ---------------------------------------------------------------- item 4

fn postfix(service: &str, fields: &str) -> String {
    format!("Nov 22 12:39:02 mx1 postfix/{service}[7]: 4F1A2B3C4D: {fields}\n")
}

#[test]
fn crlf_line_endings_count_like_lf() {
    let lf = fs::read_to_string(testdata("postfix/mail.log")).unwrap();
    let crlf = lf.replace('\n', "\r\n");
    let a = report_of(&lf, &["--tz", "UTC", "--year", "2026"]);
    let b = report_of(&crlf, &["--tz", "UTC", "--year", "2026"]);
    assert_eq!(rows(&a), rows(&b));
    assert_eq!(count(&b, "unparsed_lines"), 0);
    // Reply texts carry no stray \r.
    assert!(!b["reasons"].to_string().contains("\\r"));
}

#[test]
fn export_artefacts_after_the_line() {
    // Lines pasted through a spreadsheet: trailing commas and quotes.
    let r = report_of(
        &(SENT.to_string() + ",,,,\n" + &SENT.replace("4F1A2B3C4D", "5F1A2B3C4D") + ",,,\t\n"),
        &["--tz", "UTC", "--year", "2026"],
    );
    assert_eq!(
        rows(&r),
        vec![row("google", "gmail.com", "sent", "2.0.0", 2)]
    );
    assert_eq!(count(&r, "unparsed_lines"), 0);
}

#[test]
fn ipv6_relay() {
    let r = report_of(
        &postfix(
            "smtp",
            "to=<a@corp.example>, relay=aspmx.l.google.com[2001:4860:4864:20::1b]:25, delay=1, delays=0/0/0/1, dsn=4.7.28, status=deferred (host aspmx.l.google.com[2001:4860:4864:20::1b] said: 421-4.7.28 Our system has detected an unusual rate of unsolicited mail (in reply to end of DATA command))",
        ),
        &["--tz", "UTC", "--year", "2026"],
    );
    // The provider comes from the relay's host name before the IPv6 literal.
    assert_eq!(
        rows(&r),
        vec![row("google", "corp.example", "deferred", "4.7.28", 1)]
    );
    let reason = r["reasons"][0]["reason"].as_str().unwrap();
    assert!(
        !reason.contains("2001:4860"),
        "addresses are masked: {reason}"
    );
}

#[test]
fn smtputf8_addresses() {
    let r = report_of(
        &postfix(
            "smtp",
            "to=<jörg@bücher.example>, relay=mx.bücher.example[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx.bücher.example[192.0.2.1] said: 550 5.1.1 <jörg@bücher.example>: unknown user (in reply to RCPT TO command))",
        ),
        &["--tz", "UTC", "--year", "2026"],
    );
    assert_eq!(
        rows(&r),
        vec![row("other", "bücher.example", "bounced", "5.1.1", 1)]
    );
    assert_eq!(count(&r, "invalid_utf8_delivery_lines"), 0);
}

#[test]
fn to_without_angle_brackets_and_orig_to() {
    let r = report_of(
        &(postfix(
            "smtp",
            "to=a@gmail.com, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)",
        ) + &postfix(
            "smtp",
            "to=<b@outlook.com>, orig_to=<alias@local.example>, relay=outlook-com.olc.protection.outlook.com[52.101.1.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)",
        )),
        &["--tz", "UTC", "--year", "2026"],
    );
    assert_eq!(
        rows(&r),
        vec![
            row("google", "gmail.com", "sent", "2.0.0", 1),
            row("microsoft", "outlook.com", "sent", "2.0.0", 1),
        ]
    );
}

#[test]
fn local_transports() {
    let log = [
        postfix("lmtp", "to=<u1@example.org>, relay=mail.example.org[private/dovecot-lmtp], delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 <u1@example.org> Saved)"),
        postfix("virtual", "to=<u2@example.org>, relay=virtual, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to maildir)"),
        postfix("local", "to=<u3@example.org>, orig_to=<root>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)"),
        postfix("pipe", "to=<u4@example.org>, relay=dovecot, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered via dovecot service)"),
        postfix("error", "to=<u5@example.org>, relay=none, delay=0.1, delays=0/0/0/0.1, dsn=4.4.1, status=deferred (delivery temporarily suspended: connect to mx[192.0.2.1]:25: Connection timed out)"),
        postfix("discard", "to=<u6@example.org>, relay=none, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (discarded)"),
    ]
    .concat();
    let r = report_of(&log, &["--tz", "UTC", "--year", "2026"]);
    assert_eq!(count(&r, "delivery_attempts"), 6);
    assert_eq!(count(&r, "unparsed_lines"), 0);
    let s = per_status(&r);
    assert_eq!((s["sent"], s["deferred"]), (5, 1));
}

#[test]
fn postfix_instance_names() {
    let log = SENT.replace("postfix/smtp", "postfix-out/smtp")
        + "\n"
        + &SENT
            .replace("postfix/smtp", "postfix/submission/smtp")
            .replace("4F1A2B3C4D", "5F1A2B3C4D")
        + "\n";
    let r = report_of(&log, &["--tz", "UTC", "--year", "2026"]);
    assert_eq!(
        rows(&r),
        vec![row("google", "gmail.com", "sent", "2.0.0", 2)]
    );
}

const EXIM_ID: &str = "1xV6qi-0004PA-2t";

fn exim(rest: &str) -> String {
    format!("2026-11-22 12:39:02 {EXIM_ID} {rest}\n")
}

#[test]
fn exim_additional_addresses_and_fake_deliveries() {
    let log = [
        exim("<= s@sender.example H=localhost [127.0.0.1] P=esmtp S=1234"),
        exim("=> a@gmail.com R=dnslookup T=remote_smtp H=gmail-smtp-in.l.google.com [142.250.1.27] C=\"250 2.0.0 OK\""),
        exim("-> b@gmail.com R=dnslookup T=remote_smtp H=gmail-smtp-in.l.google.com [142.250.1.27] C=\"250 2.0.0 OK\""),
        exim("*> c@gmail.com R=dnslookup T=remote_smtp H=gmail-smtp-in.l.google.com [142.250.1.27]"),
        exim("Completed"),
    ]
    .concat();
    let r = report_of(&log, &["--tz", "UTC"]);
    let rows = rows(&r);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].0.as_str(), rows[0].2.as_str(), rows[0].4),
        ("google", "sent", 2)
    );
    assert_eq!(count(&r, "delivery_attempts"), 2, "=> and ->");
    assert_eq!(count(&r, "fake_deliveries"), 1, "*> is not an attempt");
    assert_eq!(count(&r, "attempts_sender_unknown"), 0);
}

#[test]
fn exim_frozen_defer_and_retry_time() {
    let log = [
        exim("<= s@sender.example H=localhost [127.0.0.1] P=esmtp S=1234"),
        exim("== a@gmail.com R=dnslookup T=remote_smtp defer (-44) H=gmail-smtp-in.l.google.com [142.250.1.27]: SMTP error from remote mail server after RCPT TO:<a@gmail.com>: 450 4.2.1 The user you are trying to contact is receiving mail too quickly"),
        exim("== b@yahoo.com routing defer (-51): retry time not reached"),
        exim("Frozen (delivery error message)"),
        exim("Message is frozen"),
    ]
    .concat();
    let r = report_of(&log, &["--tz", "UTC"]);
    assert_eq!(count(&r, "unparsed_lines"), 0);
    // defer (-44) is an attempt with the reply's code; "retry time not
    // reached" is a deferral without a new attempt (no code, counted apart).
    assert_eq!(
        rows(&r),
        vec![
            row("google", "gmail.com", "deferred", "4.2.1", 1),
            row("yahoo", "yahoo.com", "deferred", "", 1)
        ],
    );
    assert_eq!(count(&r, "deferrals_not_attempted"), 1);
    assert_eq!(
        count(&r, "mail_lines_not_deliveries"),
        3,
        "<=, Frozen, Message is frozen"
    );
}

/// Issue 15 item 5: a log of another MTA (or of nothing mtastat reads) is
/// not a healthy empty log: one line naming the file and what it holds,
/// exit 2. Other MTAs' lines are named in the report, not only counted as
/// "other programs".
#[test]
fn a_log_of_another_mta_is_not_a_quiet_day() {
    let dir = tempfile::tempdir().unwrap();
    let sendmail = "Nov 22 10:00:00 mx1 sm-mta[1]: 4AMA0x1: from=<c@d.example>, size=100, nrcpts=1\n\
                    Nov 22 10:00:01 mx1 sm-mta[2]: 4AMA0x1: to=<a@gmail.com>, delay=00:00:01, mailer=esmtp, stat=Sent (ok)\n\
                    Nov 22 10:00:01 mx1 dovecot: imap-login: Login\n";
    let only = dir.path().join("maillog");
    fs::write(&only, sendmail).unwrap();
    let out = mtastat().arg("--json").arg(&only).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("maillog: no Postfix or Exim lines") && err.contains("2 sendmail lines"),
        "{err}"
    );
    // Mixed with a Postfix log: reported, named, exit 0.
    let mixed = dir.path().join("mail.log");
    let postfix = fs::read_to_string(testdata("postfix/mail.log")).unwrap();
    fs::write(&mixed, format!("{sendmail}{postfix}")).unwrap();
    let r = json_with(&["--year", "2026"], &[&mixed]);
    assert_eq!(r["other_mta_lines"]["sendmail"], 2);
    let out = mtastat().arg(&mixed).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("not read    2 sendmail lines"));
    // An empty file and one of blank lines are quiet days.
    let empty = dir.path().join("empty.log");
    fs::write(&empty, "\n\n").unwrap();
    mtastat().arg(&empty).assert().success();
}

/// Issue 15 item 6: years. A date-named rotation takes the year from its
/// name (a copy has a new mtime); a line dated after the file's mtime is
/// last year's.
#[test]
fn years_from_rotation_names_and_never_in_the_future() {
    let dir = tempfile::tempdir().unwrap();
    let line = |stamp: &str| {
        format!(
            "{stamp} mx1 postfix/smtp[7]: 4F1A2B3C4D: to=<b@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)\n"
        )
    };
    // Copied today (mtime now), named for 26 September 2021.
    let rotated = dir.path().join("maillog-20210926");
    fs::write(&rotated, line("Sep 26 10:00:00")).unwrap();
    let r = json_with(&["--tz", "UTC"], &[&rotated]);
    assert_eq!(period(&r).0, "2021-09-26 10:00:00");
    // Modified on 3 December 2026, a line of 11 December: 2025.
    let plain = dir.path().join("mail.log");
    fs::write(&plain, line("Dec 11 10:00:00")).unwrap();
    let status = std::process::Command::new("touch")
        .args(["-d", "2026-12-03T12:00:00Z"])
        .arg(&plain)
        .status()
        .unwrap();
    assert!(status.success());
    let r = json_with(&["--tz", "UTC"], &[&plain]);
    assert_eq!(period(&r).0, "2025-12-11 10:00:00");
}
