//! `--from-events` reads a dataset in bounded memory: four times the rows
//! (the same events copied into more date partitions) and the peak RSS
//! stays where it was. (It grows over the first few files, while polars'
//! streaming engine fills its prefetch, and then stays: 96 MiB for 2
//! copies, 150 for 16, 152 for 64 on the machine this was written on.) Alone in its test binary: the peak RSS of waited-for
//! children (getrusage) is per process, and other tests' children would
//! blur it.

mod common;

use common::json_with;
use std::path::Path;

/// Peak RSS (KiB) of all children waited for so far.
fn peak() -> i64 {
    // SAFETY: getrusage fills the struct it is given.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    }
}

/// Bytes of the files under `dir`.
fn size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => size(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// Copies the files of `from`'s largest day into `dates` date partitions
/// under `to`.
fn copies(from: &Path, to: &Path, dates: usize) {
    let day = std::fs::read_dir(from)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("date="))
        .max_by_key(|e| size(&e.path()))
        .unwrap()
        .path();
    for d in 0..dates {
        for host in std::fs::read_dir(&day).unwrap().filter_map(Result::ok) {
            let target = to
                .join(format!("date=2026-{:02}-{:02}", 1 + d / 28, 1 + d % 28))
                .join(host.file_name());
            std::fs::create_dir_all(&target).unwrap();
            for f in std::fs::read_dir(host.path())
                .unwrap()
                .filter_map(Result::ok)
            {
                std::fs::copy(f.path(), target.join(f.file_name())).unwrap();
            }
        }
    }
}

#[test]
fn a_fleet_four_times_larger_takes_no_more_memory() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    let generator = assert_cmd::cargo::cargo_bin("mtastat-gen");
    let status = std::process::Command::new(&generator)
        .args(["--format", "postfix", "--size", "80M", "--out"])
        .arg(&log)
        .status()
        .unwrap_or_else(|e| panic!("{}: {e}", generator.display()));
    assert!(status.success());
    let one = dir.path().join("one");
    json_with(
        &[
            "--no-journeys",
            "--events",
            one.to_str().unwrap(),
            "--year",
            "2026",
        ],
        &[&log],
    );
    let (small, big) = (dir.path().join("small"), dir.path().join("big"));
    copies(&one, &small, 16);
    copies(&one, &big, 64);
    let a = json_with(&["--from-events", small.to_str().unwrap()], &[]);
    let before = peak();
    let b = json_with(&["--from-events", big.to_str().unwrap()], &[]);
    let after = peak();
    let (na, nb) = (
        a["delivery_attempts"].as_u64().unwrap(),
        b["delivery_attempts"].as_u64().unwrap(),
    );
    assert!(na > 500_000, "{na}");
    assert_eq!(nb, na * 4);
    assert!(
        after < before + before / 4,
        "4x the rows: peak RSS {before} KiB -> {after} KiB"
    );
}
