//! Issue 5: compressed and rotated input, directories, live files, garbage,
//! truncation while reading. Each test runs the binary.

mod common;

use common::{json_report, mtastat, testdata};
use serde_json::Value;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A log with deliveries, deferrals, senders and expiries.
fn sample() -> Vec<u8> {
    fs::read(testdata("postfix/mail.log")).unwrap()
}

fn age(path: &Path, secs: u64) {
    let t = SystemTime::now() - Duration::from_secs(secs);
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn compressed(kind: &str, data: &[u8]) -> Vec<u8> {
    match kind {
        "gzip" => gzip(data),
        "gzip-multi" => {
            let mid = data.len() / 2;
            let mut both = gzip(&data[..mid]);
            both.extend(gzip(&data[mid..]));
            both
        }
        "zstd" => zstd::encode_all(data, 3).unwrap(),
        "bzip2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "xz" => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        _ => unreachable!(),
    }
}

/// What must not change with how the bytes arrive.
fn essence(r: &Value) -> Value {
    serde_json::json!({
        "lines": r["lines"],
        "delivery_attempts": r["delivery_attempts"],
        "deliveries": r["deliveries"],
        "unparsed_lines": r["unparsed_lines"],
        "attempts_sender_unknown": r["attempts_sender_unknown"],
        "findings": r["findings"].as_array().map(|f| f.len()),
    })
}

#[test]
fn compressed_input_is_detected_by_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample();
    let plain = dir.path().join("plain.log");
    fs::write(&plain, &data).unwrap();
    let want = essence(&json_report(&[&plain]));
    for kind in ["gzip", "gzip-multi", "zstd", "bzip2", "xz"] {
        // A misleading name: the magic bytes decide.
        let path = dir.path().join(format!("{kind}.log"));
        fs::write(&path, compressed(kind, &data)).unwrap();
        let r = json_report(&[&path]);
        assert_eq!(essence(&r), want, "{kind}");
        let read = if kind == "gzip-multi" { "gzip" } else { kind };
        assert_eq!(r["files"][0]["read"], read);
        assert_eq!(
            r["files"][0]["bytes"],
            data.len() as u64,
            "{kind}: decompressed bytes"
        );
    }
    // And on standard input.
    let gz = dir.path().join("stdin.gz");
    fs::write(&gz, gzip(&data)).unwrap();
    let out = mtastat()
        .args(["--json", "-"])
        .pipe_stdin(&gz)
        .unwrap()
        .output()
        .unwrap();
    assert!(out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(essence(&r), want);
}

#[test]
fn corrupt_compressed_input_keeps_what_was_read_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample().repeat(40);
    let gz = gzip(&data);
    let path = dir.path().join("mail.log.2.gz");
    fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    let out = mtastat().arg("--json").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("mail.log.2.gz: gzip data is corrupt or truncated"),
        "{err}"
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got = r["delivery_attempts"].as_u64().unwrap();
    assert!(got > 0, "what came before the damage is counted");
    assert!(r["files"][0]["error"].is_string());
}

/// A .gz cut short (a copy interrupted, a full disk) is read up to the
/// damage: as many lines as an independent decoder recovers (zcat | wc -l;
/// the cut last line, without its newline, counts as one more). The last
/// block read before the error was dropped (0 lines of 17,376 on a lab log).
#[test]
fn truncated_gzip_keeps_every_line_before_the_damage() {
    let dir = tempfile::tempdir().unwrap();
    let log = common::testdata("postfix/mail.log");
    let gz = gzip(&fs::read(&log).unwrap());
    let cut = dir.path().join("t.gz");
    fs::write(&cut, &gz[..gz.len() * 3 / 5]).unwrap();
    let recovered: u64 = common::sh(&format!("zcat '{}' 2>/dev/null | wc -l", cut.display()))
        .parse()
        .unwrap();
    assert!(recovered > 1000, "{recovered}");
    let out = mtastat().arg("--json").arg(&cut).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lines = r["lines"].as_u64().unwrap();
    assert!(
        lines == recovered || lines == recovered + 1,
        "{lines} lines, zcat recovers {recovered}"
    );
}

/// Splits the sample at line boundaries into rotated files, newest first
/// (`mail.log` holds the end), the middle one compressed.
fn rotate(dir: &Path) -> Vec<PathBuf> {
    let data = sample();
    let lines: Vec<&[u8]> = data.split_inclusive(|b| *b == b'\n').collect();
    let third = lines.len() / 3;
    let parts = [
        &lines[..third],
        &lines[third..2 * third],
        &lines[2 * third..],
    ];
    let names = ["mail.log.2", "mail.log.1.gz", "mail.log"];
    let mut paths = Vec::new();
    for (i, (part, name)) in parts.iter().zip(names).enumerate() {
        let bytes = part.concat();
        let path = dir.join(name);
        let bytes = if name.ends_with(".gz") {
            gzip(&bytes)
        } else {
            bytes
        };
        fs::write(&path, bytes).unwrap();
        age(&path, 3600 * (3 - i as u64));
        paths.push(path);
    }
    paths
}

#[test]
fn rotated_files_are_read_oldest_first_whatever_the_order_given() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("whole.txt");
    fs::write(&plain, sample()).unwrap();
    let want = essence(&json_report(&[&plain]));
    let paths = rotate(dir.path());
    // The shell's glob order: mail.log mail.log.1.gz mail.log.2.
    let globbed = [&paths[2], &paths[1], &paths[0]];
    let r = json_report(&globbed.map(|p| p.as_path()));
    assert_eq!(essence(&r), want, "joins cross the rotation boundaries");
    let order: Vec<&str> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(order, ["mail.log.2", "mail.log.1.gz", "mail.log"]);
}

#[test]
fn a_directory_stands_for_the_mail_logs_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let plain_dir = tempfile::tempdir().unwrap();
    let plain = plain_dir.path().join("whole.txt");
    fs::write(&plain, sample()).unwrap();
    let want = essence(&json_report(&[&plain]));
    rotate(dir.path());
    fs::write(
        dir.path().join("syslog"),
        b"Nov 22 12:00:00 mx1 kernel: not mail\n",
    )
    .unwrap();
    fs::write(dir.path().join("mail.log.swp"), b"junk\n").unwrap();
    let r = json_report(&[dir.path()]);
    assert_eq!(essence(&r), want);
    assert_eq!(r["files"].as_array().unwrap().len(), 3);
}

#[test]
fn recently_written_files_are_streamed_old_ones_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mail.log");
    fs::write(&path, sample()).unwrap();
    let live = json_report(&[&path]);
    assert_eq!(live["files"][0]["read"], "stream (live file)");
    age(&path, 3600);
    let old = json_report(&[&path]);
    assert_eq!(old["files"][0]["read"], "mmap");
    assert_eq!(essence(&live), essence(&old));
    // A modification time far ahead (a file dated by `touch -d`, a restored
    // archive) is no file being written now: writes would set it to now.
    // It was streamed as "live" before, benchmarks included.
    let ahead = SystemTime::now() + Duration::from_secs(40 * 86_400);
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(ahead)
        .unwrap();
    let future = json_report(&[&path]);
    assert_eq!(future["files"][0]["read"], "mmap");
}

/// A fast deterministic byte generator (xorshift64*).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        out.extend_from_slice(&seed.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn garbage_of_every_kind_completes_and_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let good = sample();
    let good_attempts = json_report(&[&testdata("postfix/mail.log")])["delivery_attempts"]
        .as_u64()
        .unwrap();
    // 100 MB of random bytes, then a real log: every line is accounted for.
    let random = noise(100 << 20, 7);
    let path = dir.path().join("random.log");
    let mut bytes = random.clone();
    bytes.push(b'\n');
    bytes.extend_from_slice(&good);
    fs::write(&path, &bytes).unwrap();
    age(&path, 3600);
    let r = json_report(&[&path]);
    let newlines = bytes.iter().filter(|b| **b == b'\n').count() as u64;
    assert_eq!(r["lines"], newlines, "a final newline ends the last line");
    assert_eq!(r["delivery_attempts"], good_attempts);
    let accounted = r["unparsed_lines"].as_u64().unwrap() + r["blank_lines"].as_u64().unwrap();
    assert!(accounted > 0);

    // NUL bytes, invalid UTF-8 in an address and a reply, CRLF, a
    // truncated last line, a PNG, an empty file.
    let nasty = dir.path().join("nasty.log");
    fs::write(
        &nasty,
        b"Nov 22 12:39:02 mx1 postfix/smtp[1]: ABCDEF1234: to=<b\xffad@gm\x00ail.com>, relay=x[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host x[1.2.3.4] said: 550 5.1.1 \xc3\x28 no such user (in reply to RCPT TO command))\r\n\
\x00\x00\x00\x00\n\
Nov 22 12:39:03 mx1 postfix/smtp[1]: ABCDEF1234: to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com[1.2.3.4]:25, dsn=2.0.0, sta",
    )
    .unwrap();
    let png = dir.path().join("picture.png");
    fs::write(&png, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01").unwrap();
    let empty = dir.path().join("empty.log");
    fs::write(&empty, b"").unwrap();
    // The PNG holds nothing mtastat reads: named on stderr, exit 2; the
    // empty file is a quiet day; the rest is reported.
    let r = common::json_with_one_error(
        mtastat().arg("--json").args([&nasty, &png, &empty]),
        "picture.png: no Postfix or Exim lines",
    );
    assert_eq!(r["delivery_attempts"], 1, "{r:#}");
    assert_eq!(r["invalid_utf8_delivery_lines"], 1, "{r:#}");
    assert!(r["unparsed_lines"].as_u64().unwrap() >= 3, "{r:#}");
}

#[test]
fn a_200_mb_line_is_counted_not_held() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.log");
    {
        let mut f = std::io::BufWriter::new(File::create(&path).unwrap());
        let block = vec![b'x'; 1 << 20];
        for _ in 0..200 {
            f.write_all(&block).unwrap();
        }
        f.write_all(b"\n").unwrap();
        f.write_all(&sample()).unwrap();
    }
    // Through a pipe: the reader keeps blocks, never the line.
    let (out, peak_kib) = run_measured(&["--json", "-"], &path);
    let r: Value = serde_json::from_slice(&out).unwrap();
    let too_long = r["unparsed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["reason"] == "too_long")
        .map(|u| u["count"].clone());
    assert_eq!(too_long, Some(Value::from(1)), "{:#}", r["unparsed"]);
    assert!(r["delivery_attempts"].as_u64().unwrap() > 0);
    assert!(
        peak_kib < 120 * 1024,
        "peak RSS {peak_kib} KiB: the line was held"
    );
}

/// Runs mtastat with `stdin` as standard input; returns its stdout and its
/// own peak RSS in KiB (wait4 on this child alone: other tests' children
/// do not count).
#[allow(clippy::zombie_processes)] // reaped by wait4 below, not by Child::wait
fn run_measured(args: &[&str], stdin: &Path) -> (Vec<u8>, i64) {
    use std::io::Read;
    let bin = assert_cmd::cargo::cargo_bin("mtastat");
    let mut child = std::process::Command::new(bin)
        .args(args)
        .stdin(File::open(stdin).unwrap())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: wait4 on our own child's pid, writing into the given status
    // and rusage; the Child is not waited on again afterwards.
    let usage = unsafe {
        let pid = libc::wait4(
            child.id() as libc::pid_t,
            &mut status,
            0,
            usage.as_mut_ptr(),
        );
        assert!(pid > 0, "wait4 failed");
        usage.assume_init()
    };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status}"
    );
    (out, usage.ru_maxrss)
}

/// logrotate's copytruncate shrinks a file mtastat has mapped: the reads past
/// the new end fault, and mtastat says so (exit 2) instead of dying by
/// SIGBUS. The file is truncated once `/proc/PID/maps` shows it mapped, so
/// the test proves the case it names: it fails, rather than passing
/// unchecked, when no run saw the truncation while the file was mapped.
#[test]
fn truncating_a_mapped_file_never_kills_by_signal() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mail.log");
    let chunk = sample();
    let mut data = Vec::with_capacity(300 << 20);
    while data.len() < 300 << 20 {
        data.extend_from_slice(&chunk);
    }
    let mut tried = Vec::new();
    for _ in 0..5 {
        fs::write(&path, &data).unwrap();
        age(&path, 3600);
        let bin = assert_cmd::cargo::cargo_bin("mtastat");
        let mut child = std::process::Command::new(bin)
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let maps = format!("/proc/{}/maps", child.id());
        let name = path.to_string_lossy().into_owned();
        let mapped = loop {
            if fs::read_to_string(&maps).is_ok_and(|m| m.contains(&name)) {
                break true;
            }
            if child.try_wait().unwrap().is_some() {
                break false;
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        if mapped {
            File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(4096)
                .unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.signal(), None, "killed by a signal");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        if mapped && out.status.code() == Some(2) {
            assert!(err.contains("shrank while it was being read"), "{err}");
            // Several workers fault at once; the message is said once.
            assert_eq!(err.matches("shrank").count(), 1, "{err}");
            return;
        }
        tried.push((mapped, out.status.code(), err));
    }
    panic!("never truncated while mapped and scanning (mapped seen, exit, stderr): {tried:?}");
}

/// Issue 15 item 6: with no file argument mtastat finds the host's mail log
/// as a postmaster would (`/var/log/mail.log`, `maillog`, Exim's), and
/// where there is none (journald-only hosts such as a stock Debian 12) reads
/// the journal's mail facility, saying which it read.
#[test]
fn without_a_file_the_hosts_own_log_or_the_journal() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let log_dir = root.path().join("var/log");
    fs::create_dir_all(&log_dir).unwrap();
    let maillog = log_dir.join("maillog");
    fs::copy(testdata("postfix/mail.log"), &maillog).unwrap();
    let r = common::json_of(
        mtastat()
            .env("MTASTAT_DEFAULT_ROOT", root.path())
            .args(["--json", "--year", "2026"]),
    );
    assert!(
        r["files"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("var/log/maillog")
    );
    let want = r["delivery_attempts"].clone();
    // No log file: the journal, through a journalctl that prints entries.
    fs::remove_file(&maillog).unwrap();
    let bin = root.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let entries = root.path().join("entries.json");
    let plain = fs::read_to_string(testdata("postfix/mail.log")).unwrap();
    let json: Vec<String> = plain
        .lines()
        .map(|l| {
            let (stamp, rest) = l.split_at(15);
            let (host, rest) = rest.trim_start().split_once(' ').unwrap();
            let (tag, message) = rest.split_once(": ").unwrap();
            let ident = tag.split('[').next().unwrap();
            let (d, hms) = (stamp[4..6].trim().parse::<i64>().unwrap(), &stamp[7..]);
            let secs: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
            // November 2026: day 20,454 + 304 (Jan-Oct) + day - 1.
            let t = (20_454 + 304 + d - 1) * 86_400 + secs[0] * 3600 + secs[1] * 60 + secs[2];
            serde_json::json!({
                "__REALTIME_TIMESTAMP": (t * 1_000_000).to_string(),
                "_HOSTNAME": host,
                "SYSLOG_IDENTIFIER": ident,
                "MESSAGE": message,
            })
            .to_string()
        })
        .collect();
    fs::write(&entries, json.join("\n") + "\n").unwrap();
    let fake = bin.join("journalctl");
    fs::write(&fake, format!("#!/bin/sh\ncat '{}'\n", entries.display())).unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let r = common::json_of(
        mtastat()
            .env("MTASTAT_DEFAULT_ROOT", root.path())
            .env("PATH", path)
            .arg("--json"),
    );
    assert!(
        r["files"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("journal (journalctl"),
        "{}",
        r["files"]
    );
    assert_eq!(r["delivery_attempts"], want);
}
