//! Message journeys: the report, JSON and `--journeys` export, checked on a
//! hand-written log with every shape and against an independent reference
//! (tests/reference/journeys.py) on the lab logs.

mod common;

use common::{has_python_module, json_report, json_with, mtastat, python, shared, testdata};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// (queue id, recipient) → (disposition, attempts, deferrals), with counts
/// for repeated keys, from a journeys CSV.
fn export_rows(csv: &Path) -> BTreeMap<(String, String, String, u64, u64), u64> {
    let script = format!(
        "import csv\nfor r in csv.DictReader(open({:?})):\n    print('\\t'.join([r['queue_id'], r['recipient'], r['disposition'], r['attempts'], r['deferrals']]))",
        csv.display().to_string()
    );
    let mut rows = BTreeMap::new();
    for line in python(&script) {
        let f: Vec<&str> = line.split('\t').collect();
        let key = (
            f[0].to_string(),
            f[1].to_string(),
            f[2].to_string(),
            f[3].parse().unwrap(),
            f[4].parse().unwrap(),
        );
        *rows.entry(key).or_insert(0) += 1;
    }
    rows
}

/// The reference's rows for `logs`.
fn reference_rows(logs: &[&Path]) -> BTreeMap<(String, String, String, u64, u64), u64> {
    let out = std::process::Command::new("python3")
        .arg(common::root().join("tests/reference/journeys.py"))
        .args(logs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rows = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let key = (
            v["queue_id"].as_str().unwrap().to_string(),
            v["recipient"].as_str().unwrap().to_string(),
            v["disposition"].as_str().unwrap().to_string(),
            v["attempts"].as_u64().unwrap(),
            v["deferrals"].as_u64().unwrap(),
        );
        *rows.entry(key).or_insert(0) += 1;
    }
    rows
}

fn export(logs: &[&Path], extra: &[&str], out: &Path) {
    mtastat()
        .arg("--journeys")
        .arg(out)
        .args(extra)
        .args(logs)
        .assert()
        .success();
}

fn row<'a>(j: &'a Value, list: &str, key: &str, value: &str) -> &'a Value {
    j["journeys"][list]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no {list} row {key}={value}: {j:#}"))
}

#[test]
fn every_journey_shape_on_a_hand_written_log() {
    let log = testdata("journeys/mail.log");
    let j = json_with(&["--utc"], &[&log]);
    let jr = &j["journeys"];
    // AAAA (2 recipients), BBBB, CCCC, DDDD twice (the first attempt at it
    // was abandoned after DATA and never queued), EEEE (arrived before the log).
    assert_eq!(jr["messages"], 6, "{jr:#}");
    assert_eq!(jr["recipients"], 7);
    assert_eq!(jr["not_queued"], 1);
    let t = &jr["total"];
    assert_eq!(
        [&t["delivered"], &t["bounced"], &t["expired"], &t["pending"]],
        [4, 1, 1, 1]
    );
    // bob@gmail.com: deferred twice, delivered after 1802 s (delay=), once.
    let g = row(&j, "providers", "provider", "google");
    assert_eq!(g["delivered"], 2);
    assert_eq!(g["first_attempt_share"], 0.5);
    assert_eq!(g["after_deferral_share"], 0.5);
    assert_eq!(g["deferrals_per_delivered"], 1.0);
    assert_eq!(g["time_to_deliver"]["count"], 2);
    assert_eq!(g["time_to_deliver"]["max"], 1802.0);
    assert_eq!(g["time_to_deliver"]["p50"], 1.5);
    // The delivering attempts' delays=a/b/c/d, not the deferrals'.
    assert_eq!(g["delays"]["before_qmgr"]["max"], 1800.0);
    assert_eq!(g["delays"]["transmission"]["max"], 0.7);
    assert_eq!(g["attempts"][0], 1);
    assert_eq!(g["attempts"][2], 1);
    // The expiry ends carl@slow.example's journey 2 h after arrival.
    let o = row(&j, "providers", "provider", "other");
    assert_eq!(o["expired"], 1);
    assert_eq!(o["time_to_fail"]["max"], 7200.0);
    // Arrival before the log: Postfix's delay= still gives the time.
    let a = row(&j, "providers", "provider", "apple");
    assert_eq!(a["time_to_deliver"]["max"], 7200.0);
    let y = row(&j, "domains", "domain", "yahoo.com");
    assert_eq!(
        (&y["delivered"], &y["pending"]),
        (&Value::from(1), &Value::from(1))
    );

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("journeys.csv");
    export(&[&log], &["--utc"], &csv);
    let rows = export_rows(&csv);
    assert_eq!(rows, reference_rows(&[&log]));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.contains(
            "2026-11-22T10:00:00.000,2026-11-22T10:30:02.000,mx1,AAAA000001,two@app1.example.com"
        ) || text.contains("AAAA000001,one@app1.example.com"),
        "{text}"
    );
    assert!(text.contains(",bob@gmail.com,gmail.com,google,gmail-smtp-in.l.google.com,delivered,3,2,4.7.0 4.7.0 2.0.0,"), "{text}");

    let report = mtastat().arg("--utc").arg(&log).output().unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("Message journeys  6 messages, 7 recipients"),
        "{report}"
    );
    assert!(report.contains("Where the time goes"), "{report}");
    // Markdown and HTML carry the table too.
    let md = mtastat()
        .args(["--utc", "--format", "markdown"])
        .arg(&log)
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("## Message journeys")
            && md.contains(
                "| google | 2 | 2 | 0 | 0 | 0 | 50.0 | 50.0 | 1.5s | 30m02s | 30m02s | 30m02s |"
            ),
        "{md}"
    );
    let html = dir.path().join("r.html");
    mtastat()
        .args(["--utc", "--html"])
        .arg(&html)
        .arg(&log)
        .assert()
        .success();
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains("<table id=\"journeys\">") && html.contains("30m02s"));
}

#[test]
fn journeys_agree_with_an_independent_reference_on_lab_logs() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    for rel in [
        "lab/postfix/runA/mail.log",
        "lab/postfix/runC/mail.log",
        "lab/exim/run1/mainlog",
        "lab/exim/run3/mainlog",
        "corpora/kdent-postfix_log_analysis/mail2.log",
    ] {
        let log = shared.join(rel);
        let csv = dir.path().join("j.csv");
        export(&[&log], &[], &csv);
        let mine = export_rows(&csv);
        let reference = reference_rows(&[&log]);
        assert!(mine.len() > 100, "{rel}: {} journeys", mine.len());
        assert_eq!(mine, reference, "{rel}");
        // One sequential thread (one chunk) gives the same journeys.
        export(&[&log], &["-j", "1"], &csv);
        assert_eq!(export_rows(&csv), reference, "{rel} -j 1");
    }
}

#[test]
fn journeys_span_rotated_files() {
    let Some(shared) = shared() else { return };
    let text = std::fs::read(shared.join("lab/postfix/runA/mail.log")).unwrap();
    // Cut at line boundaries into three rotated files, the middle one gzipped.
    let cut = |at: usize| at + text[at..].iter().position(|b| *b == b'\n').unwrap() + 1;
    let (a, b) = (cut(text.len() / 3), cut(2 * text.len() / 3));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mail.log.2"), &text[..a]).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &text[a..b]).unwrap();
    std::fs::write(dir.path().join("mail.log.1.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.path().join("mail.log"), &text[b..]).unwrap();
    let whole = dir.path().join("whole.csv");
    let split = dir.path().join("split.csv");
    export(&[&shared.join("lab/postfix/runA/mail.log")], &[], &whole);
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    for f in ["mail.log.2", "mail.log.1.gz", "mail.log"] {
        std::fs::rename(dir.path().join(f), logs.join(f)).unwrap();
    }
    export(&[&logs], &[], &split);
    assert_eq!(export_rows(&whole), export_rows(&split));
}

#[test]
fn delay_percentiles_equal_an_independent_computation() {
    let Some(shared) = shared() else { return };
    let log = shared.join("lab/postfix/runA/mail.log");
    let j = json_with(&[], &[&log]);
    // Delivered recipients' time = delay= of the line that delivered them:
    // each recipient's last status line (retries overwrite it) until the
    // message's removal; nearest-rank percentiles.
    let script = format!(
        r#"
import re, math
last, done = {{}}, []
for line in open({path:?}, errors="replace"):
    m = re.search(r"postfix/[\w/-]+\[\d+\]: (\w+): to=<([^>]*)>,.* delay=([\d.]+),.*, status=(\w+)", line)
    if m:
        last[(m.group(1), m.group(2))] = (m.group(4), float(m.group(3)))
    r = re.search(r"postfix/qmgr\[\d+\]: (\w+): removed$", line.strip())
    if r:
        for k in [k for k in last if k[0] == r.group(1)]:
            done.append(last.pop(k))
done.extend(last.values())
v = sorted(d for s, d in done if s == "sent")
q = lambda p: v[max(1, math.ceil(p * len(v))) - 1]
print(len(v), q(0.5), q(0.9), q(0.99), v[-1])
"#,
        path = log.display().to_string()
    );
    let out = python(&script);
    let f: Vec<f64> = out[0].split(' ').map(|x| x.parse().unwrap()).collect();
    let t = &j["journeys"]["total"]["time_to_deliver"];
    assert_eq!(t["count"].as_f64().unwrap(), f[0]);
    for (k, want) in ["p50", "p90", "p99", "max"].iter().zip(&f[1..]) {
        let got = t[k].as_f64().unwrap();
        assert!((got - want).abs() < 0.0015, "{k}: {got} vs {want}");
    }
}

#[test]
fn parquet_journeys_read_back_with_pyarrow() {
    if !has_python_module("pyarrow") {
        common::require_tool("pyarrow", "the Parquet read-back; .ci/run installs it");
        return;
    }
    let log = testdata("journeys/mail.log");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("j.parquet");
    export(&[&log], &["--utc"], &out);
    let lines = python(&format!(
        "import pyarrow.parquet as pq\nt = pq.read_table({:?})\nprint(t.num_rows)\nprint(t.schema.field('arrived').type)\nprint(t.schema.field('time_to_final').type)\nprint(sorted(t.column('disposition').to_pylist()))",
        out.display().to_string()
    ));
    assert_eq!(lines[0], "7");
    assert_eq!(lines[1], "timestamp[ms]");
    assert_eq!(lines[2], "double");
    assert_eq!(
        lines[3],
        "['bounced', 'delivered', 'delivered', 'delivered', 'delivered', 'expired', 'pending']"
    );
    // No temp file is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

/// Tables are hashed with a per-process seed (issue 14): the export's row
/// order must not follow it. Two runs, byte-identical files.
#[test]
fn the_export_is_the_same_run_after_run() {
    let dir = tempfile::tempdir().unwrap();
    let log = testdata("journeys/mail.log");
    let mut files = Vec::new();
    for i in 0..3 {
        let csv = dir.path().join(format!("j{i}.csv"));
        mtastat()
            .arg("--journeys")
            .arg(&csv)
            .arg(&log)
            .assert()
            .success();
        files.push(std::fs::read(&csv).unwrap());
    }
    assert!(files.windows(2).all(|w| w[0] == w[1]));
}

/// Issue 15 item 1: Exim's hand-off to a content filter, which re-queues
/// the message on Exim (`250 OK id=…`), is one journey from the first
/// arrival: one message, bounced by Gmail 302 s after it first arrived.
#[test]
fn exim_content_filter_hop_is_one_journey() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mainlog");
    std::fs::write(
        &log,
        "2026-11-22 10:00:00 1xA000-000001-AA <= news@shop.example H=(app) [10.0.0.5] P=esmtp S=4000 id=1@shop.example\n\
         2026-11-22 10:00:01 1xA000-000001-AA => alice@gmail.com R=amavis T=amavis_smtp H=127.0.0.1 [127.0.0.1]:10024 C=\"250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 OK id=1xB000-000002-BB\"\n\
         2026-11-22 10:00:01 1xA000-000001-AA Completed\n\
         2026-11-22 10:00:01 1xB000-000002-BB <= news@shop.example H=localhost [127.0.0.1]:10025 P=esmtp S=4600 id=1@shop.example\n\
         2026-11-22 10:05:02 1xB000-000002-BB ** alice@gmail.com R=dnslookup T=remote_smtp H=gmail-smtp-in.l.google.com [142.250.1.27]: SMTP error from remote mail server after end of data: 550 5.7.26 unauthenticated\n\
         2026-11-22 10:05:02 1xB000-000002-BB Completed\n",
    )
    .unwrap();
    let r = json_report(&[&log]);
    let j = &r["journeys"];
    assert_eq!(j["messages"], 1, "{j}");
    assert_eq!(j["total"]["recipients"], 1);
    assert_eq!(j["total"]["bounced"], 1);
    assert_eq!(j["total"]["delivered"], 0);
    assert_eq!(j["total"]["time_to_fail"]["max"], 302.0);
}

/// A real amavis log (corpora/dmlinarr-SecurePostfix): the re-injected copy
/// 3D03660673 is queued, delivered and removed *before* the hand-off of
/// 2C0AB60671 says `queued as 3D03660673`, and amavis discards two EICAR
/// messages (`250 2.7.0 Ok, discarded, id=01626-01`, an amavis id, not a
/// queue id). Read by hand: 9 `status=` lines, 8 messages (one stitched),
/// 5 delivered (4 + the stitched one), 1 bounced, 2 handed off (discarded).
/// Before: 9 messages, 8 "delivered".
#[test]
fn a_copy_reinjected_before_the_filter_answers_is_the_same_journey() {
    let Some(shared) = shared() else { return };
    let log = shared.join("corpora/dmlinarr-SecurePostfix/mail.log");
    let r = json_report(&[&log]);
    let j = &r["journeys"];
    let t = &j["total"];
    assert_eq!(j["messages"], 8, "{j}");
    assert_eq!(t["recipients"], 8);
    assert_eq!(t["delivered"], 5);
    assert_eq!(t["bounced"], 1);
    assert_eq!(t["handed_off"], 2);
}

/// Workers count the journeys they see begin and end (the merge joins the
/// rest): on every fixture, lab and published log, cut into runs of many
/// sizes (so a client line and its cleanup line, a hand-off and its
/// re-injected copy, a queue id and its reuse fall in different runs), the
/// journeys come out as when the merge joins them all.
///
/// On the fixtures and the logs whose time runs forward, the merge also
/// joins every 16 rows, so open messages are folded and carried from join
/// to join as on a log of gigabytes. Not on the published dumps whose lines
/// jump months back and forth: there a message quiet for seven days is
/// closed as stale at one join and not at another, by design.
#[test]
fn journeys_and_joins_in_runs_equal_whole() {
    let mut logs = vec![
        (testdata("journeys/mail.log"), 16),
        (testdata("shapes/handoff.log"), 16),
        (testdata("shapes/retries.log"), 16),
        (testdata("postfix/mail.log"), 16),
        (testdata("exim/mainlog"), 16),
    ];
    if let Some(s) = shared() {
        logs.push((s.join("lab/postfix/runA/mail.log"), 16));
        logs.push((s.join("lab/exim/run1/mainlog"), 16));
        // Exim hand-offs on loopback chained through reused ids, all in
        // one second: joined every 16 rows, a member's reused id once
        // closed its whole journey early.
        logs.push((s.join("corpora/exim-testsuite/test/log/0561"), 16));
        logs.push((s.join("corpora/dmlinarr-SecurePostfix/mail.log"), 16));
        // Every published log: amavis and Exim loopback hand-offs, queue
        // ids reused within a file, logs cut short.
        logs.extend(
            common::files_under(&s.join("corpora"))
                .into_iter()
                .filter(|p| {
                    let name = p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    !name.starts_with("PROVENANCE")
                        && !["gz", "bz2", "xz", "zst"]
                            .iter()
                            .any(|ext| name.ends_with(&format!(".{ext}")))
                })
                .map(|p| (p, 0)),
        );
    }
    assert!(logs.len() > 5);
    for (log, settle) in &logs {
        let data = std::fs::read(log).unwrap();
        // A few runs per file, and runs of a few lines.
        let sizes = [data.len() / 3 + 1, data.len() / 7 + 1, 65_537, 4_099, 997];
        for cut in sizes {
            if data.len() / cut > 2_000 {
                continue;
            }
            let (runs, whole) = mtastat::fuzz::in_runs_and_whole(&data, cut, *settle);
            assert_eq!(runs, whole, "{}: runs of {cut} bytes", log.display());
        }
    }
}

/// A removal logged while a recipient is still deferred (the generated Exim
/// logs do this: `Completed` after the first delivery), in a run that holds
/// the message's deferral but not its arrival: the removal was applied to
/// the run alone (its deferral was there), so the merged total kept the
/// sender and the later attempts found it or not depending on where the
/// input was cut (`attempts_sender_unknown` 9,295 with one thread, 9,245
/// with eight on a 200 MB log).
#[test]
fn a_removal_in_a_run_without_the_arrival_reaches_the_merged_sender() {
    let log = "\
2026-11-29 06:46:15 NJtY9d-uqkK6j-tM <= news@shop.example H=(app.relay.example) [10.0.249.19] P=esmtps S=48244 id=1@relay.example
2026-11-29 06:46:15 NJtY9d-uqkK6j-tM == yuki@oldcompany.example R=dnslookup T=remote_smtp defer (111): Connection refused
2026-11-29 07:01:31 NJtY9d-uqkK6j-tM == yuki@oldcompany.example R=dnslookup T=remote_smtp defer (111): Connection refused
2026-11-29 07:05:40 NJtY9d-uqkK6j-tM => lucas@googlemail.com R=dnslookup T=remote_smtp H=gmail-smtp-in.l.google.com [142.250.102.26] C=\"250 2.0.0 OK - gsmtp\"
2026-11-29 07:05:40 NJtY9d-uqkK6j-tM Completed
2026-11-29 07:30:35 NJtY9d-uqkK6j-tM == yuki@oldcompany.example R=dnslookup T=remote_smtp defer (111): Connection refused
2026-11-29 08:12:55 NJtY9d-uqkK6j-tM == yuki@oldcompany.example R=dnslookup T=remote_smtp defer (111): Connection refused
";
    // Every way of cutting its seven lines into runs.
    for mask in 0u32..64 {
        let after: Vec<usize> = (1..7).filter(|l| mask & (1 << (l - 1)) != 0).collect();
        let (runs, whole) = mtastat::fuzz::cut_after_lines_and_whole(log.as_bytes(), &after);
        assert_eq!(runs, whole, "cut after lines {after:?}");
    }
}

/// A queue id taken by a new message while the old one is still open (its
/// removal line lost): the old one ends there, "removed", whether the new
/// one was joined by the merge or, alone, by the worker that saw it (which
/// then tells the merge where it began).
#[test]
fn reused_queue_id_ends_the_open_message_across_runs() {
    let old = "Dec  3 10:00:00 mx postfix/smtpd[1]: 4AB12C0DEF: client=a.example[192.0.2.1]
Dec  3 10:00:01 mx postfix/cleanup[2]: 4AB12C0DEF: message-id=<x@a.example>
Dec  3 10:00:01 mx postfix/qmgr[3]: 4AB12C0DEF: from=<s@a.example>, size=100, nrcpt=1 (queue active)
Dec  3 10:00:02 mx postfix/smtp[4]: 4AB12C0DEF: to=<r@gmail.com>, relay=gmail-smtp-in.l.google.com[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=4.7.0, status=deferred (host said: 421 4.7.0 try later)
";
    let new = "Dec  3 11:00:00 mx postfix/smtpd[1]: 4AB12C0DEF: client=b.example[192.0.2.2]
Dec  3 11:00:01 mx postfix/cleanup[2]: 4AB12C0DEF: message-id=<y@b.example>
Dec  3 11:00:01 mx postfix/qmgr[3]: 4AB12C0DEF: from=<s@b.example>, size=100, nrcpt=1 (queue active)
Dec  3 11:00:02 mx postfix/smtp[4]: 4AB12C0DEF: to=<r@gmail.com>, relay=gmail-smtp-in.l.google.com[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
Dec  3 11:00:02 mx postfix/qmgr[3]: 4AB12C0DEF: removed
";
    let data = format!("{old}{new}");
    let (runs, whole) = mtastat::fuzz::in_runs_and_whole(data.as_bytes(), old.len(), 16);
    assert_eq!(runs, whole);
    assert!(whole.contains("total [1, 0, 0, 0, 1, 0]"), "{whole}");
}

/// A hand-off names a queue id an older, completed message had (Exim and
/// Postfix reuse ids): the next message with that id is the copy, and the
/// journey runs from the first arrival to the copy's delivery. The Exim test
/// suite's logs 0097 and 4225, one after the other, do this. Before, the old
/// message's removal blocked the link: four journeys, one of them "handed
/// off".
#[test]
fn a_hand_off_naming_a_reused_id_is_stitched_to_the_next_copy() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mainlog");
    std::fs::write(
        &log,
        "1999-03-02 09:44:33 10HmaX-000000005vi-0000 <= CALLER@test.ex U=CALLER P=local S=100\n\
         1999-03-02 09:44:33 10HmaX-000000005vi-0000 => userx <userx@test.ex> R=localuser T=local_delivery\n\
         1999-03-02 09:44:33 10HmaX-000000005vi-0000 Completed\n\
         1999-03-02 09:44:33 10HmaY-000000005vi-0000 <= CALLER@test.ex U=CALLER P=local S=100\n\
         1999-03-02 09:44:33 10HmaY-000000005vi-0000 => userx <userx@test.ex> R=localuser T=local_delivery\n\
         1999-03-02 09:44:33 10HmaY-000000005vi-0000 Completed\n\
         1999-03-02 09:44:34 10HmaX-000000005vi-0000 <= userU@test.ex U=CALLER P=local-esmtp S=100 for user@test.ex\n\
         1999-03-02 09:44:34 10HmaX-000000005vi-0000 => user@test.ex R=rmt T=rmt_smtp H=127.0.0.1 [127.0.0.1] C=\"250 OK id=10HmaY-000000005vi-0000\"\n\
         1999-03-02 09:44:34 10HmaX-000000005vi-0000 Completed\n\
         1999-03-02 09:44:34 10HmaY-000000005vi-0000 <= userU@test.ex H=localhost (the.local.host.name) [127.0.0.1] P=esmtps S=100 id=E10HmaX-000000005vi-0000@the.local.host.name for user@test.ex\n\
         1999-03-02 09:44:35 10HmaY-000000005vi-0000 => :blackhole: <user@test.ex> R=localuser\n\
         1999-03-02 09:44:35 10HmaY-000000005vi-0000 Completed\n",
    )
    .unwrap();
    for threads in ["1", "4"] {
        let j = json_with(&["-j", threads], &[&log]);
        let j = &j["journeys"];
        assert_eq!(j["messages"], 3, "{j}");
        assert_eq!(j["total"]["delivered"], 3, "{j}");
        assert_eq!(j["total"]["handed_off"], 0, "{j}");
        let csv = dir.path().join(format!("j{threads}.csv"));
        export(&[&log], &["-j", threads], &csv);
        let rows = export_rows(&csv);
        assert_eq!(rows.values().sum::<u64>(), 3, "{rows:?}");
    }
}

/// A hand-off to a filter on loopback whose reply names a message received
/// from a real client (not the filter's re-injection): that message is its
/// own journey, whether the whole log is joined at once or its runs by the
/// workers (the hand-off alone is "handed off"). Before, the merge stitched
/// them when both fell in one join and not otherwise.
#[test]
fn a_message_from_a_real_client_is_never_taken_for_a_filters_copy() {
    let log = "Dec  3 10:00:00 mx postfix/smtpd[1]: 1111111111: client=a.example[192.0.2.1]
Dec  3 10:00:00 mx postfix/cleanup[2]: 1111111111: message-id=<a@a.example>
Dec  3 10:00:00 mx postfix/qmgr[3]: 1111111111: from=<s@a.example>, size=100, nrcpt=1 (queue active)
Dec  3 10:00:01 mx postfix/smtpd[4]: 2222222222: client=b.example[192.0.2.2]
Dec  3 10:00:01 mx postfix/cleanup[2]: 2222222222: message-id=<b@b.example>
Dec  3 10:00:01 mx postfix/qmgr[3]: 2222222222: from=<t@b.example>, size=100, nrcpt=1 (queue active)
Dec  3 10:00:02 mx postfix/smtp[5]: 2222222222: to=<r@gmail.com>, relay=gmail-smtp-in.l.google.com[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
Dec  3 10:00:02 mx postfix/qmgr[3]: 2222222222: removed
Dec  3 10:00:03 mx postfix/smtp[6]: 1111111111: to=<r@outlook.com>, relay=127.0.0.1[127.0.0.1]:10024, delay=3, delays=0/0/0/3, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 2222222222)
Dec  3 10:00:03 mx postfix/qmgr[3]: 1111111111: removed
";
    for cut in [log.len(), 400, 97] {
        let (runs, whole) = mtastat::fuzz::in_runs_and_whole(log.as_bytes(), cut, 16);
        assert_eq!(runs, whole, "runs of {cut} bytes");
        assert!(whole.contains("\nmessages 2 "), "{whole}");
        assert!(whole.contains("total [1, 0, 0, 0, 0, 1]"), "{whole}");
    }
}
