//! `--state DIR`: three daily runs with a known change injected on the
//! third day. The days before carry the same incidents (the shipped
//! Postfix log, dated the 20th and 21st), so on the 22nd those findings are
//! usual here and drop a severity step, while the injected Spamhaus
//! listing at Microsoft is new, fails `--fail-on new`, and is said in the
//! terminal, Markdown, HTML and JSON reports.

mod common;

use common::{mtastat, testdata};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// The shipped Postfix log, its lines dated `day` of November 2026.
fn day_log(dir: &Path, day: u32, inject: bool) -> PathBuf {
    let text = fs::read_to_string(testdata("postfix/mail.log")).unwrap();
    let mut out = text.replace("Nov 22 ", &format!("Nov {day} "));
    if inject {
        // Forty messages refused at Outlook for a Spamhaus listing, 13:00–13:40.
        for i in 0..40 {
            let id = format!("FACE{i:06X}");
            let t = format!("Nov {day} 13:{i:02}:00");
            out.push_str(&format!(
                "{t} mx1 postfix/qmgr[900]: {id}: from=<news@shop.example>, size=4000, nrcpt=1 (queue active)\n\
{t} mx1 postfix/smtp[9{i:03}]: {id}: to=<user{i}@outlook.com>, relay=outlook-com.olc.protection.outlook.com[52.101.68.2]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (host outlook-com.olc.protection.outlook.com[52.101.68.2] said: 550 5.7.1 Service unavailable, Client host [192.0.2.1] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/192.0.2.1 AS(1440) (in reply to RCPT TO command))\n\
{t} mx1 postfix/qmgr[900]: {id}: removed\n"
            ));
        }
    }
    let path = dir.join(format!(
        "mail-{day}{}.log",
        if inject { "-injected" } else { "" }
    ));
    fs::write(&path, out).unwrap();
    path
}

fn run(state: &Path, log: &Path, extra: &[&str]) -> std::process::Output {
    mtastat()
        .args(["--year", "2026", "--utc", "--state-host", "mx1", "--state"])
        .arg(state)
        .args(extra)
        .arg(log)
        .output()
        .unwrap()
}

fn json(state: &Path, log: &Path) -> Value {
    let out = run(state, log, &["--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stored(state: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(state)
        .unwrap()
        .flat_map(|d| {
            let d = d.unwrap().path();
            fs::read_dir(&d)
                .unwrap()
                .map(move |f| {
                    format!(
                        "{}/{}",
                        d.file_name().unwrap().to_string_lossy(),
                        f.unwrap().file_name().to_string_lossy()
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn three_days_of_history_tell_the_usual_from_the_new() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (d20, d21) = (
        day_log(dir.path(), 20, false),
        day_log(dir.path(), 21, false),
    );
    let d22 = day_log(dir.path(), 22, true);

    // The first day has nothing to compare with.
    let first = json(&state, &d20);
    for f in first["findings"].as_array().unwrap() {
        assert_eq!(f["history"]["verdict"], "no history", "{f}");
    }
    let plain: Value = serde_json::from_slice(
        &mtastat()
            .args(["--year", "2026", "--utc", "--json"])
            .arg(&d20)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(plain.get("trend").is_none() && plain["findings"][0].get("history").is_none());
    json(&state, &d21);
    assert_eq!(
        stored(&state),
        [
            "day=2026-11-20/mx1.journeys.parquet",
            "day=2026-11-20/mx1.parquet",
            "day=2026-11-21/mx1.journeys.parquet",
            "day=2026-11-21/mx1.parquet"
        ]
    );

    // Day three: the incidents of the days before are usual here (their
    // severity lowered one step), the Spamhaus listing is new.
    let third = json(&state, &d22);
    let findings = third["findings"].as_array().unwrap();
    let of = |provider: &str, category: &str| -> &Value {
        findings
            .iter()
            .find(|f| f["provider"] == provider && f["category"] == category)
            .unwrap_or_else(|| {
                let had: Vec<String> = findings
                    .iter()
                    .map(|f| format!("{} {}", f["provider"], f["category"]))
                    .collect();
                panic!("no {category} at {provider}: {had:?}")
            })
    };
    let listing = of("microsoft", "policy");
    assert_eq!(listing["blocklists"][0]["name"], "Spamhaus");
    assert_eq!(listing["history"]["verdict"], "new", "{listing}");
    assert_eq!(listing["history"]["days_observed"], 2);
    assert_eq!(listing["history"]["days_seen"], 0);
    assert!(
        listing["history"]["said"]
            .as_str()
            .unwrap()
            .starts_with("first 5.7.1 policy at microsoft in 2 stored days"),
        "{listing}"
    );
    let storm = of("google", "throttling");
    assert_eq!(storm["history"]["verdict"], "usual", "{storm}");
    assert_eq!(storm["history"]["days_seen"], 2);
    assert_eq!(storm["history"]["severity_before"], "critical");
    assert_eq!(storm["severity"], "warning");
    let usual = findings
        .iter()
        .filter(|f| f["history"]["verdict"] == "usual")
        .count();
    assert!(usual >= 5, "{usual} usual of {}", findings.len());
    // Most severe first, after the lowering.
    let rank = |s: &Value| ["info", "warning", "critical"].iter().position(|x| s == x);
    let ranks: Vec<_> = findings.iter().map(|f| rank(&f["severity"])).collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "{ranks:?}");

    // The trend: three days per provider, the last from this run; the
    // injected bounces move Microsoft's failed share.
    let trend = third["trend"].as_array().unwrap();
    let microsoft = trend.iter().find(|t| t["provider"] == "microsoft").unwrap();
    let days = microsoft["days"].as_array().unwrap();
    assert_eq!(days.len(), 3);
    assert_eq!(days[2]["this_run"], true);
    assert_eq!(days[2]["day"], "2026-11-22");
    assert_eq!(
        days[2]["attempts"].as_u64().unwrap(),
        days[1]["attempts"].as_u64().unwrap() + 40
    );
    assert!(days[2]["failed_rate"].as_f64().unwrap() > days[1]["failed_rate"].as_f64().unwrap());
    // Journey statistics are stored per day and come back in the trend.
    let google = trend.iter().find(|t| t["provider"] == "google").unwrap();
    for d in google["days"].as_array().unwrap() {
        assert!(d["p90_delivery_seconds"].as_f64().is_some(), "{d}");
    }
    assert!(
        google["said"].as_str().unwrap().contains("p90 delivery"),
        "{google}"
    );

    // Running a day again replaces its file: still one per day and host,
    // and day three judged the same way.
    let again = json(&state, &d22);
    assert_eq!(again["findings"], third["findings"]);
    assert_eq!(stored(&state).len(), 6);

    // --fail-on new: 1 on the injected day; the same log without the
    // injection (every finding seen before) passes.
    assert_eq!(
        run(&state, &d22, &["--fail-on", "new"]).status.code(),
        Some(1)
    );
    let clean = day_log(dir.path(), 22, false);
    let out = run(&state, &clean, &["--fail-on", "new"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // The other renderings say it too.
    let text =
        String::from_utf8_lossy(&run(&state, &d22, &["--color", "never"]).stdout).to_string();
    assert!(
        text.contains("NEW HERE: first 5.7.1 policy at microsoft"),
        "{text}"
    );
    assert!(text.contains("usual here (was critical)"), "{text}");
    assert!(text.contains("\nTrend  3 days"), "{text}");
    let md =
        String::from_utf8_lossy(&run(&state, &d22, &["--format", "markdown"]).stdout).to_string();
    assert!(md.contains("*History:* **new**"), "{md}");
    let html = dir.path().join("r.html");
    assert!(
        run(&state, &d22, &["--html", &html.display().to_string()])
            .status
            .success()
    );
    let page = fs::read_to_string(&html).unwrap();
    assert!(page.contains("<h2>Trend</h2>") && page.contains("class=\"history new\""));
}

/// A finding well above its median is rising, against the day and against
/// the same hour of the stored days.
#[test]
fn a_rising_finding_is_compared_by_day_and_by_hour() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    run(&state, &day_log(dir.path(), 20, true), &[]);
    run(&state, &day_log(dir.path(), 21, true), &[]);
    // Day three: the Spamhaus listing five times over, in the same hour.
    let base = fs::read_to_string(day_log(dir.path(), 22, false)).unwrap();
    let mut text = base;
    for i in 0..200u32 {
        let id = format!("FADE{i:06X}");
        let t = format!("Nov 22 13:{:02}:{:02}", i / 5, i % 60);
        text.push_str(&format!(
            "{t} mx1 postfix/qmgr[900]: {id}: from=<news@shop.example>, size=4000, nrcpt=1 (queue active)\n\
{t} mx1 postfix/smtp[9{i:03}]: {id}: to=<user{i}@outlook.com>, relay=outlook-com.olc.protection.outlook.com[52.101.68.2]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, status=bounced (host outlook-com.olc.protection.outlook.com[52.101.68.2] said: 550 5.7.1 Service unavailable, Client host [192.0.2.1] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/192.0.2.1 AS(1440) (in reply to RCPT TO command))\n\
{t} mx1 postfix/qmgr[900]: {id}: removed\n"
        ));
    }
    let log = dir.path().join("mail-22-storm.log");
    fs::write(&log, text).unwrap();
    let report = json(&state, &log);
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["provider"] == "microsoft" && f["category"] == "policy")
        .unwrap();
    assert_eq!(f["history"]["verdict"], "rising", "{f}");
    let said = f["history"]["said"].as_str().unwrap();
    assert!(
        said.contains("5× the 2-day median (40/day, now 200/day)"),
        "{said}"
    );
    assert!(said.contains("× the 2-day median for 13:00"), "{said}");
}

/// `--fail-on new` needs the days it compares with.
#[test]
fn fail_on_new_without_state_is_a_usage_error() {
    let out = mtastat()
        .args(["--fail-on", "new"])
        .arg(testdata("postfix/mail.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--state"));
}

/// Root's cron may write into a directory another user can write: a day
/// directory planted as a symlink is refused (exit 2, said), nothing is
/// written where it points, and the report is still printed.
#[test]
fn a_planted_day_directory_symlink_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir_all(&state).unwrap();
    fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, state.join("day=2026-11-22")).unwrap();
    let log = day_log(dir.path(), 22, false);
    let out = run(&state, &log, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("a symlink"), "{err}");
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Findings"));
}

/// A stored file that is not Parquet (a disk error, someone's editor) is
/// said with its path and exit 2; the other days still count and the
/// report is printed.
#[test]
fn a_damaged_stored_day_is_said_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    run(&state, &day_log(dir.path(), 20, false), &[]);
    run(&state, &day_log(dir.path(), 21, false), &[]);
    let damaged = state.join("day=2026-11-21/mx1.parquet");
    fs::write(&damaged, b"PAR1 not really\n").unwrap();
    let out = run(&state, &day_log(dir.path(), 22, true), &["--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("day=2026-11-21/mx1.parquet"), "{err}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listing = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["provider"] == "microsoft" && f["category"] == "policy")
        .unwrap();
    assert_eq!(
        listing["history"]["days_observed"], 1,
        "the readable day still counts"
    );
}
