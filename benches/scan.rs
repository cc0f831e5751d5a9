//! Throughput of the scanner and the parsers on the repo's generated
//! testdata, in bytes per second, with allocation counts (divan's
//! AllocProfiler): `cargo bench`.
//!
//! Inputs are the testdata logs repeated to ~16 MiB so per-call overhead
//! does not dominate. Regenerate testdata with scripts/gen-testdata.py.

use divan::counter::BytesCount;
use divan::{AllocProfiler, Bencher, black_box};
use mtastat::filter::Filter;
use mtastat::input::scan_bytes;
use mtastat::parse::parse_line;
use mtastat::parse::timestamp::YearHint;
use mtastat::scan::{Engine, ScanContext, Worker};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

fn load(rel: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/").to_string() + rel;
    let one = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (run scripts/gen-testdata.py)"));
    let mut data = Vec::with_capacity(16 << 20);
    while data.len() < 16 << 20 {
        data.extend_from_slice(&one);
    }
    data
}

const HINT: YearHint = YearHint {
    year: 2026,
    month: 11,
    fixed: true,
};

fn context<'a>(engine: &'a Engine, filter: &'a Filter) -> ScanContext<'a> {
    ScanContext {
        engine,
        filter,
        year: HINT,
    }
}

#[divan::bench(args = ["postfix/mail.log", "exim/mainlog"], sample_count = 10)]
fn scan_parallel(bencher: Bencher, file: &str) {
    let data = load(file);
    let (engine, filter) = (Engine::builtin(), Filter::default());
    let ctx = context(&engine, &filter);
    bencher
        .counter(BytesCount::of_slice(&data))
        .bench(|| black_box(scan_bytes(&data, rayon::current_num_threads(), &ctx)));
}

#[divan::bench(args = ["postfix/mail.log", "exim/mainlog"], sample_count = 10)]
fn scan_one_thread(bencher: Bencher, file: &str) {
    let data = load(file);
    let (engine, filter) = (Engine::builtin(), Filter::default());
    let ctx = context(&engine, &filter);
    bencher.counter(BytesCount::of_slice(&data)).bench(|| {
        let mut w = Worker::new(&ctx);
        w.scan_chunk(&ctx, &data);
        black_box(w.batch.counters.deliveries)
    });
}

#[divan::bench(args = ["postfix/mail.log", "exim/mainlog"], sample_count = 10)]
fn parse_only(bencher: Bencher, file: &str) {
    let data = load(file);
    bencher.counter(BytesCount::of_slice(&data)).bench(|| {
        let mut n = 0usize;
        for line in data.split(|b| *b == b'\n') {
            if let (_, mtastat::parse::Record::Delivery(_)) = parse_line(line, HINT) {
                n += 1;
            }
        }
        black_box(n)
    });
}
