//! The fuzz harnesses (src/fuzz.rs) on stable, as part of the tests: every
//! file of the committed corpus (`testdata/fuzz/<target>/`, seeds plus what
//! coverage-guided runs kept) is replayed, then a few thousand deterministic
//! mutations of it. The long coverage-guided runs are `scripts/fuzz.sh`.
//!
//! `MTASTAT_FUZZ_ITERS` sets the mutations per target (default 3000; the
//! scanner, which scans each input four ways, gets a tenth).

use mtastat::fuzz::TARGETS;
use std::fs;
use std::panic;
use std::path::PathBuf;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/fuzz")
        .join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|p| fs::read(p).unwrap()).collect()
}

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes and tokens that steer the parsers into their branches.
const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\r\n",
    b"\0",
    b"\xff",
    b"\xc3",
    b" ",
    b":",
    b"[",
    b"]",
    b"<",
    b">",
    b"(",
    b")",
    b",",
    b"=",
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"to=<",
    b"status=",
    b"dsn=",
    b"relay=",
    b"orig_to=",
    b"delay=",
    b"said: ",
    b"1xV6qi-0004PA-2t",
    b" => ",
    b" ** ",
    b" == ",
    b" -> ",
    b"4F1A2B3C4D: ",
    b"Nov 22 12:39:02 ",
    b"2026-11-22 12:39:02 ",
    b"2026-11-22T12:39:02.5+01:00 ",
    b"postfix/smtp[1]: ",
    b"\"MESSAGE\":",
    b"\"__REALTIME_TIMESTAMP\":\"1\"",
    b"[1,2,255]",
    b"\\u0000",
    b"defer (-44)",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(len + 1);
                input.insert(i, rng.next() as u8);
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(len - i) + 1;
                input.drain(i..i + n.min(16));
            }
            3 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let i = rng.below(len + 1);
                input.splice(i..i, t.iter().copied());
            }
            4 if len > 0 => {
                // Duplicate a span (long repeated fields, many lines).
                let i = rng.below(len);
                let n = (rng.below(len - i) + 1).min(256);
                let span: Vec<u8> = input[i..i + n].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, span);
            }
            5 if !corpus.is_empty() => {
                // Splice in part of another input.
                let other = &corpus[rng.below(corpus.len())];
                let i = rng.below(other.len() + 1);
                let n = rng.below(other.len() - i + 1);
                let at = rng.below(len + 1);
                input.splice(at..at, other[i..i + n].iter().copied());
            }
            _ if len > 1 => input.truncate(rng.below(len)),
            _ => {}
        }
    }
    input.truncate(64 << 10);
}

fn iterations() -> usize {
    std::env::var("MTASTAT_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

fn run(name: &str) {
    let (_, harness) = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no target {name}"));
    let corpus = corpus(name);
    assert!(!corpus.is_empty(), "empty corpus for {name}");
    for (n, input) in corpus.iter().enumerate() {
        if let Err(e) = panic::catch_unwind(|| harness(input)) {
            let path = std::env::temp_dir().join(format!("mtastat-fuzz-{name}-corpus-{n}"));
            let _ = fs::write(&path, input);
            panic!(
                "{name}: corpus input {n} failed ({}); kept in {}",
                panic_text(&*e),
                path.display()
            );
        }
    }
    let iters = if name == "scanner" {
        iterations() / 10
    } else {
        iterations()
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    for i in 0..iters {
        let mut input = corpus[i % corpus.len()].clone();
        mutate(&mut rng, &mut input, &corpus);
        if let Err(e) = panic::catch_unwind(|| harness(&input)) {
            let path = std::env::temp_dir().join(format!("mtastat-fuzz-{name}-{i}"));
            let _ = fs::write(&path, &input);
            panic!(
                "{name}: mutation {i} failed ({}); input kept in {}",
                panic_text(&*e),
                path.display()
            );
        }
    }
}

#[test]
fn every_target_has_a_test() {
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "timestamp",
            "header",
            "postfix",
            "exim",
            "readers",
            "journal",
            "scanner",
            "trace"
        ]
    );
}

/// Every MTA of the parser table, through one harness: the first byte of
/// an input picks the MTA, so a new row is fuzzed with the others' corpus.
#[test]
fn fuzz_readers() {
    run("readers");
}

#[test]
fn fuzz_timestamp() {
    run("timestamp");
}

#[test]
fn fuzz_header() {
    run("header");
}

#[test]
fn fuzz_postfix() {
    run("postfix");
}

#[test]
fn fuzz_exim() {
    run("exim");
}

#[test]
fn fuzz_journal() {
    run("journal");
}

#[test]
fn fuzz_scanner() {
    run("scanner");
}

/// What a caught panic said (its message, when it was a string).
fn panic_text(e: &(dyn std::any::Any + Send)) -> &str {
    e.downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| e.downcast_ref::<&str>().copied())
        .unwrap_or("panic")
}

#[test]
fn fuzz_trace() {
    run("trace");
}
