//! Memory does not grow with the input (issue 14 item 8). Alone in its test
//! binary: the peak RSS of waited-for children (getrusage) is per process,
//! and other tests' children would blur it.

mod common;

use common::testdata;
use std::io::Write;

/// A delivery line whose message never has a sender line in the input
/// (`grep status=` excerpts; a forged line repeated).
const LINE: &[u8] = b"Nov 22 10:00:03 mx1 postfix/smtp[1006]: 5B2C3D4E5F: to=<alice@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=0.9, delays=0.1/0/0/0.8, dsn=2.0.0, status=sent (250 2.0.0 OK 1700000000 x)\n";

/// Runs `mtastat --json OPTIONS -` on `lines` copies of [`LINE`] fed through
/// a pipe (no mapped file pages in the RSS); returns the report and the
/// peak RSS (KiB) of all children waited for so far.
fn run(options: &[&str], lines: usize) -> (serde_json::Value, i64) {
    let mut args = vec!["--year", "2026"];
    args.extend_from_slice(options);
    let report = common::json_streamed(&args, move |stdin| {
        let block = LINE.repeat(10_000);
        for _ in 0..lines / 10_000 {
            stdin.write_all(&block)?;
        }
        Ok(())
    });
    // SAFETY: getrusage fills the struct it is given.
    let peak = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    };
    (report, peak)
}

#[test]
fn memory_stays_flat_on_lines_that_never_join() {
    assert!(testdata("postfix/mail.log").exists());
    // Without journeys: attempts waiting for a sender were kept to the end
    // (4.0 GiB on a 27 MB .gz of one line); now they are counted at once.
    let (small, before) = run(&["--no-journeys"], 300_000);
    let (big, after) = run(&["--no-journeys"], 2_400_000);
    assert_eq!(small["attempts_sender_unknown"], 300_000);
    assert_eq!(big["attempts_sender_unknown"], 2_400_000);
    assert!(
        after < before + before / 2,
        "8x the input: peak RSS {before} KiB -> {after} KiB"
    );
    // With journeys: one message "retried" 2.4 M times. Its rows are folded
    // into one per recipient at every join (journey::join::fold_open), so
    // it stays one journey with every attempt counted, in flat memory.
    // (Before, its rows passed the open journeys' bound and it was closed
    // early as pending: "cut short".)
    let (with_small, before) = run(&[], 300_000);
    let (with, after) = run(&[], 2_400_000);
    assert_eq!(with_small["journeys"]["messages"], 1);
    assert_eq!(with["delivery_attempts"], 2_400_000);
    let j = &with["journeys"];
    assert_eq!(j["messages"], 1, "{j}");
    assert_eq!(j["cut_short"], 0, "{j}");
    assert_eq!(j["total"]["attempts"][9], 1, "10 or more attempts: {j}");
    assert!(
        after < before + before / 2,
        "with journeys, 8x the input: peak RSS {before} KiB -> {after} KiB"
    );
}
