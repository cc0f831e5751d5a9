//! Safe to run as root from cron (issue 14): exports that never destroy an
//! input or a file they were not asked to replace, never follow a planted
//! link, commit the events dataset atomically and exclusively, and leave no
//! temp files behind, even when the run is killed.

mod common;

use common::{mtastat, testdata};
use polars::prelude::*;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Every file under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p.clone());
            }
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
        }
    }
    out.sort();
    out
}

/// Rows of every `date=*/host=*/*.parquet` file (what a Hive reader sees).
fn event_rows(dir: &Path) -> (usize, Vec<String>) {
    let mut rows = 0;
    let mut partitions = Vec::new();
    for date in fs::read_dir(dir).unwrap().flatten() {
        let dn = date.file_name().to_string_lossy().into_owned();
        if !dn.starts_with("date=") {
            continue;
        }
        for host in fs::read_dir(date.path()).unwrap().flatten() {
            let hn = host.file_name().to_string_lossy().into_owned();
            if !hn.starts_with("host=") {
                continue;
            }
            partitions.push(format!("{dn}/{hn}"));
            for f in fs::read_dir(host.path()).unwrap().flatten() {
                if f.path().extension().is_some_and(|e| e == "parquet") {
                    let file = fs::File::open(f.path()).unwrap();
                    rows += ParquetReader::new(file).finish().unwrap().height();
                }
            }
        }
    }
    partitions.sort();
    (rows, partitions)
}

fn attempts(log: &Path) -> usize {
    common::json_report(&[log])["delivery_attempts"]
        .as_u64()
        .unwrap() as usize
}

#[test]
fn no_export_over_a_file_found_in_a_directory_or_a_hard_link() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("d");
    fs::create_dir(&logs).unwrap();
    let rotated = logs.join("mail.log.1");
    fs::copy(testdata("postfix/mail.log"), &rotated).unwrap();
    let before = fs::read(&rotated).unwrap();
    let link = dir.path().join("hard.csv");
    fs::hard_link(&rotated, &link).unwrap();
    for (flag, target) in [
        ("--csv", rotated.clone()),
        ("--journeys", rotated.clone()),
        ("--parquet", link.clone()),
        ("--html", link.clone()),
    ] {
        let out = mtastat()
            .arg(flag)
            .arg(&target)
            .arg(&logs)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {}", target.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("refusing to export over an input"), "{err}");
        assert_eq!(
            fs::read(&rotated).unwrap(),
            before,
            "{flag} overwrote the log"
        );
    }
    // An events directory over a partition that holds an input.
    let part = dir.path().join("ev/date=2026-11-22/host=mx1");
    fs::create_dir_all(&part).unwrap();
    fs::copy(testdata("postfix/mail.log"), part.join("mail.log")).unwrap();
    let out = mtastat()
        .arg("--events")
        .arg(dir.path().join("ev"))
        .arg(part.join("mail.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(part.join("mail.log").exists());
}

#[test]
fn dash_and_stdout_stream_and_the_report_steps_aside() {
    let log = testdata("postfix/mail.log");
    for name in ["-", "/dev/stdout", "/dev/fd/1"] {
        let out = mtastat().arg("--csv").arg(name).arg(&log).output().unwrap();
        assert!(out.status.success(), "{name}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("provider,domain,status"), "{name}: {text}");
        assert!(!text.contains("Findings"), "report after the CSV: {name}");
    }
    // /dev/stdout is still the system's symlink (as root it was replaced).
    assert!(
        fs::symlink_metadata("/dev/stdout")
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let out = mtastat()
        .args(["--csv", "-", "--html", "/dev/stdout"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard output"));
}

#[test]
fn devices_fifos_and_symlinks_are_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let log = testdata("postfix/mail.log");
    // /dev/full: the write fails, in one line, after the report; the device stays.
    let out = mtastat()
        .args(["--csv", "/dev/full"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Findings"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/dev/full"), "{err}");
    assert!(
        fs::metadata("/dev/full")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // A FIFO is written into, not swapped for a file.
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // The reader writes to a file: a pipe back to this test would fill
    // (64 KiB) while the test waits for mtastat, and stall both.
    let copy = dir.path().join("copy.csv");
    let mut reader = Command::new("cat")
        .arg(&fifo)
        .stdout(fs::File::create(&copy).unwrap())
        .spawn()
        .unwrap();
    mtastat()
        .arg("--csv")
        .arg(&fifo)
        .arg(&log)
        .assert()
        .success();
    assert!(reader.wait().unwrap().success());
    assert!(fs::read_to_string(&copy).unwrap().starts_with("provider,"));
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    // A symlink of ours: the file it points to is replaced, the link stays.
    let real = dir.path().join("real.csv");
    fs::write(&real, "old").unwrap();
    let link = dir.path().join("link.csv");
    symlink(&real, &link).unwrap();
    mtastat()
        .arg("--csv")
        .arg(&link)
        .arg(&log)
        .assert()
        .success();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(fs::read_to_string(&real).unwrap().starts_with("provider,"));
    // A directory is refused before anything is read.
    let out = mtastat()
        .arg("--csv")
        .arg(dir.path())
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

/// As root: a link planted by another user (the owner of the textfile
/// directory) is not followed.
#[test]
fn a_link_planted_by_another_user_is_refused() {
    if !is_root() {
        common::require_tool("root", "to plant a link owned by another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("shadow");
    fs::write(&victim, "root:secret").unwrap();
    let link = dir.path().join("mtastat.prom");
    symlink(&victim, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(65534), Some(65534)).unwrap();
    let out = mtastat()
        .arg("--prometheus")
        .arg(&link)
        .arg(testdata("postfix/mail.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to follow"));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "root:secret");
}

/// The temp name of 0.1 was `.NAME.mtastat-PID.tmp`: links planted for the
/// next pids redirected root's write. Now the name is random and created
/// with O_EXCL, so the victim stays and the export lands.
#[test]
fn planted_temp_links_for_the_next_pids_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, "precious").unwrap();
    let last: u32 = fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1);
    for pid in last..last + 400 {
        symlink(
            &victim,
            dir.path().join(format!(".m.prom.mtastat-{pid}.tmp")),
        )
        .unwrap();
    }
    let prom = dir.path().join("m.prom");
    mtastat()
        .arg("--prometheus")
        .arg(&prom)
        .arg(testdata("postfix/mail.log"))
        .assert()
        .success();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert!(
        fs::read_to_string(&prom)
            .unwrap()
            .contains("mtastat_delivery_attempts_total")
    );
    assert_eq!(fs::metadata(&prom).unwrap().mode() & 0o777, 0o644);
}

#[test]
fn events_commit_survives_a_crash_at_every_step() {
    let log = testdata("postfix/mail.log");
    let want = attempts(&log);
    for point in ["events-before-switch", "events-after-switch"] {
        let dir = tempfile::tempdir().unwrap();
        let ev = dir.path().join("ev");
        mtastat()
            .arg("--events")
            .arg(&ev)
            .arg(&log)
            .assert()
            .success();
        assert_eq!(event_rows(&ev).0, want);
        let out = mtastat()
            .env("MTASTAT_TEST_ABORT", point)
            .arg("--events")
            .arg(&ev)
            .arg(&log)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{point}: the hook did not fire");
        // Killed mid-commit: each partition is whole, old or new.
        assert_eq!(event_rows(&ev).0, want, "{point}: {:?}", tree(&ev));
        let out = mtastat()
            .arg("--events")
            .arg(&ev)
            .arg(&log)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted earlier run"));
        let names = tree(&ev);
        assert!(
            names.iter().all(|n| !n.contains(".tmp")),
            "{point}: leftovers {names:?}"
        );
        assert_eq!(event_rows(&ev).0, want);
    }
}

#[test]
fn concurrent_events_runs_never_double_or_lose_rows() {
    let log = testdata("postfix/mail.log");
    let want = attempts(&log);
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev");
    let bin = assert_cmd::cargo::cargo_bin("mtastat");
    for _ in 0..5 {
        let runs: Vec<_> = (0..4)
            .map(|_| {
                Command::new(&bin)
                    .env("TZ", "UTC")
                    .arg("--events")
                    .arg(&ev)
                    .arg(&log)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut ok = 0;
        for r in runs {
            let out = r.wait_with_output().unwrap();
            if out.status.success() {
                ok += 1;
            } else {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(err.contains("another mtastat is writing"), "{err}");
            }
        }
        assert!(ok >= 1);
        let (rows, partitions) = event_rows(&ev);
        assert_eq!(rows, want, "{partitions:?}");
        assert!(tree(&ev).iter().all(|n| !n.contains(".tmp")));
    }
}

fn write_log(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

const SENT: &str = "postfix/smtp[7]: 4F1A2B3C4D: to=<b@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)";

#[test]
fn no_host_name_can_take_another_partition_or_break_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let long = "h".repeat(251);
    let escaped = "%".repeat(85);
    let text = format!(
        "Nov 22 12:39:03 mx1 {SENT}\n\
         Nov 22 12:39:04 __HIVE_DEFAULT_PARTITION__ {SENT}\n\
         Nov 22 12:39:05 {long} {SENT}\n\
         Nov 22 12:39:06 {escaped} {SENT}\n\
         Nov 22 12:39:07 ~overflow {SENT}\n"
    );
    let log = write_log(dir.path(), "mail.log", &text);
    let ev = dir.path().join("ev");
    let text = common::stdout_of(
        mtastat()
            .args(["--year", "2026", "--events"])
            .arg(&ev)
            .arg(&log),
    );
    assert!(text.contains("Delivery attempts"));
    let (rows, partitions) = event_rows(&ev);
    assert_eq!(rows, 5);
    assert_eq!(partitions.len(), 5, "{partitions:?}");
    assert!(
        !partitions.iter().any(
            |p| p.ends_with("host=__HIVE_DEFAULT_PARTITION__") || p.ends_with("host=~overflow")
        ),
        "{partitions:?}"
    );
    assert!(partitions.iter().all(|p| p.len() < 255), "{partitions:?}");
}

#[test]
fn events_refuse_filters_that_would_replace_a_day_with_a_subset() {
    let dir = tempfile::tempdir().unwrap();
    for filter in [
        ["--provider", "google"],
        ["--sender-domain", "shop.example"],
    ] {
        let out = mtastat()
            .args(filter)
            .arg("--events")
            .arg(dir.path().join("ev"))
            .arg(testdata("postfix/mail.log"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("subset"));
        assert!(!dir.path().join("ev").exists());
    }
}

#[test]
fn sigterm_removes_the_temp_files_and_the_next_run_removes_dead_ones() {
    let dir = tempfile::tempdir().unwrap();
    let journeys = dir.path().join("j.parquet");
    let stale = dir.path().join(".j.parquet.mtastat-4194305-AbCdEf.tmp");
    fs::write(&stale, "left by a run killed with -9").unwrap();
    // Reading a pipe that stays open keeps the run (and its temp file) alive.
    let bin = assert_cmd::cargo::cargo_bin("mtastat");
    let mut child = Command::new(&bin)
        .arg("--journeys")
        .arg(&journeys)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let id = child.id();
    let temp_of_child = |dir: &Path| {
        fs::read_dir(dir).unwrap().flatten().any(|e| {
            e.file_name()
                .to_string_lossy()
                .contains(&format!(".mtastat-{id}-"))
        })
    };
    let mut seen = false;
    for _ in 0..200 {
        if temp_of_child(dir.path()) {
            seen = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(seen, "no temp file while running: {:?}", tree(dir.path()));
    assert!(!stale.exists(), "a dead run's temp file was kept");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(id as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(
        tree(dir.path()),
        Vec::<String>::new(),
        "temp left after SIGTERM"
    );
}

/// Issue 14 item 9: 70 k deferrals with unique replies from one hostile MX,
/// logged before a real incident, filled the reason table first come first
/// kept, and every line of the incident's evidence read "(more distinct
/// reasons than the table holds)". The heavy hitters now stay.
#[test]
fn a_flood_of_unique_replies_cannot_evict_an_incidents_evidence() {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::with_capacity(20 << 20);
    for i in 0..70_000u32 {
        // Letters only: the masker keeps them (digits would be masked).
        let noise: String = (0..10)
            .map(|k| char::from(b'a' + ((i >> (k * 2)) % 26) as u8))
            .collect();
        let _ = writeln!(
            text,
            "Nov 22 10:{:02}:{:02} mx1 postfix/smtp[9]: A{i:09X}: to=<u@victim.example>, relay=mx.hostile.example[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=4.0.0, status=deferred (host mx.hostile.example[192.0.2.9] said: 451 4.0.0 {noise} try later)",
            (i / 60) % 60,
            i % 60
        );
    }
    for i in 0..300u32 {
        let _ = writeln!(
            text,
            "Nov 22 11:{:02}:{:02} mx1 postfix/smtp[9]: B{i:09X}: to=<u{i}@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1, delays=0/0/0/1, dsn=4.7.28, status=deferred (host gmail-smtp-in.l.google.com[142.250.1.27] said: 421-4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address)",
            i / 60,
            i % 60
        );
    }
    let log = write_log(dir.path(), "mail.log", &text);
    let r = common::json_with(&["--year", "2026"], &[&log]);
    let google: Vec<&serde_json::Value> = r["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["provider"] == "google")
        .collect();
    assert!(!google.is_empty());
    for x in &google {
        let reason = x["reason"].as_str().unwrap();
        assert!(reason.contains("unusual rate"), "{reason}");
    }
    // Nothing lost: every attempt is still counted somewhere.
    let total: u64 = r["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 70_300);
}

/// Issue 14 item 9, domains: a million one-off recipient domains logged
/// first filled the domain table, and a real domain's failures after them
/// were counted under "(more domains than the table holds)".
#[test]
fn a_flood_of_one_off_domains_cannot_evict_a_real_domain() {
    use std::io::Write as _;
    let r = common::json_streamed(&["--no-journeys", "--year", "2026"], |stdin| {
        let mut block = Vec::with_capacity(1 << 20);
        for i in 0..1_100_000u32 {
            writeln!(
                block,
                "Nov 22 10:00:00 mx1 postfix/smtp[9]: A{i:09X}: to=<u@d{i}.example>, relay=mx.d{i}.example[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)"
            )?;
            if block.len() > 1 << 20 {
                stdin.write_all(&block)?;
                block.clear();
            }
        }
        for i in 0..300u32 {
            writeln!(
                block,
                "Nov 22 11:00:00 mx1 postfix/smtp[9]: B{i:09X}: to=<u{i}@realcorp.example>, relay=mx.realcorp.example[192.0.2.7]:25, delay=1, delays=0/0/0/1, dsn=4.4.1, status=deferred (connect to mx.realcorp.example[192.0.2.7]:25: Connection refused)"
            )?;
        }
        stdin.write_all(&block)
    });
    let deliveries = r["deliveries"].as_array().unwrap();
    let real: u64 = deliveries
        .iter()
        .filter(|d| d["domain"] == "realcorp.example")
        .map(|d| d["count"].as_u64().unwrap())
        .sum();
    assert_eq!(real, 300);
    let all: u64 = deliveries
        .iter()
        .map(|d| d["count"].as_u64().unwrap())
        .sum();
    assert_eq!(all, 1_100_300, "nothing lost");
}
