//! Throughput of the scanner and each parser in bytes per second, with
//! allocation counts (divan's AllocProfiler): `cargo bench`.
//!
//! Input is generated in memory by `scripts/gen-log.rs` (the `mtastat-gen`
//! generator, included here as a module): 16 MiB of Postfix and of Exim log
//! with the same line mix `scripts/bench.sh` uses at 2 GB.
//!
//! Allocation target: none per line. `scan_one_thread` on 16 MiB (~110k
//! lines) should show allocations in the hundreds — new domains, reasons,
//! senders and recipients — not in the hundred thousands.

#[allow(dead_code)]
#[path = "../scripts/gen-log.rs"]
mod gen_log;

use divan::counter::BytesCount;
use divan::{AllocProfiler, Bencher, black_box};
use mtastat::analysis::scan_bytes;
use mtastat::analysis::{Engine, ScanContext, Worker};
use mtastat::filter::Filter;
use mtastat::parse::timestamp::Clock;
use mtastat::parse::{Record, exim, parse_line_cached, postfix};
use mtastat::time::zone::Zone;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

const SIZE: u64 = 16 << 20;

fn generated(format: &str) -> Vec<u8> {
    let flavor = match format {
        "exim" => gen_log::Flavor::Exim,
        _ => gen_log::Flavor::Postfix,
    };
    let mut data = Vec::with_capacity(SIZE as usize + (1 << 20));
    gen_log::generate(flavor, 2026, SIZE, &mut data).unwrap_or_else(|e| panic!("generator: {e}"));
    data
}

const HINT: Clock = Clock {
    year: 2026,
    month: 12,
    day: 31,
    fixed: true,
    zone: Zone::UTC,
};

/// Every line of `data` (without its `\n`), found the way the scanner
/// finds them: one newline iterator over the whole buffer.
fn for_each_line(data: &[u8], mut f: impl FnMut(&[u8])) {
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', data) {
        f(&data[start..nl]);
        start = nl + 1;
    }
}

fn context<'a>(engine: &'a Engine, filter: &'a Filter) -> ScanContext<'a> {
    ScanContext {
        engine,
        filter,
        clock: HINT,
        events: None,
        journeys: true,
        journey_text: false,
        // As the default report: no per-address tables.
        per_address: false,
        summary_tables: false,
    }
}

/// The whole scan on all threads (what `mtastat` does before the report).
#[divan::bench(args = ["postfix", "exim"], sample_count = 10)]
fn scan_parallel(bencher: Bencher, format: &str) {
    let data = generated(format);
    let (engine, filter) = (Engine::builtin(), Filter::default());
    let ctx = context(&engine, &filter);
    bencher
        .counter(BytesCount::of_slice(&data))
        .bench(|| black_box(scan_bytes(&data, rayon::current_num_threads(), &ctx)));
}

/// One worker, one run: the per-line hot path and its allocations, message
/// journeys included (counted as messages leave the queue, the rest handed
/// over as rows at the run's end), as the default report scans.
#[divan::bench(args = ["postfix", "exim"], sample_count = 10)]
fn scan_one_thread(bencher: Bencher, format: &str) {
    one_worker(bencher, format, true);
}

/// [`scan_one_thread`] without journeys (`--no-journeys`): what they cost.
#[divan::bench(args = ["postfix", "exim"], sample_count = 10)]
fn scan_without_journeys_one_thread(bencher: Bencher, format: &str) {
    one_worker(bencher, format, false);
}

fn one_worker(bencher: Bencher, format: &str, journeys: bool) {
    let data = generated(format);
    let (engine, filter) = (Engine::builtin(), Filter::default());
    let ctx = ScanContext {
        journeys,
        ..context(&engine, &filter)
    };
    bencher.counter(BytesCount::of_slice(&data)).bench(|| {
        let mut w = Worker::new(&ctx);
        w.scan_chunk(&ctx, &data);
        w.end_run();
        black_box((w.batch.counters.deliveries, w.batch.journeys.stats.messages))
    });
}

/// Header + body parsing of every line, nothing else (as the scanner
/// does it: newline search, timestamp cache).
#[divan::bench(args = ["postfix", "exim"], sample_count = 10)]
fn parse_line_only(bencher: Bencher, format: &str) {
    let data = generated(format);
    bencher.counter(BytesCount::of_slice(&data)).bench(|| {
        let mut stamps = mtastat::parse::timestamp::StampCache::default();
        let mut n = 0usize;
        for_each_line(&data, |line| {
            if let (_, Record::Delivery(_)) = parse_line_cached(line, HINT, &mut stamps) {
                n += 1;
            }
        });
        black_box(n)
    });
}

/// The Postfix body parser alone, on the bodies of Postfix lines.
#[divan::bench(sample_count = 10)]
fn postfix_body(bencher: Bencher) {
    let data = generated("postfix");
    let bodies: Vec<(&[u8], &[u8])> = data
        .split(|b| *b == b'\n')
        .filter_map(|l| {
            let h = mtastat::parse::header::parse_header(l, HINT)?;
            match h.program {
                mtastat::parse::header::Program::Mta {
                    reader: mtastat::parse::mta::POSTFIX,
                    service,
                } => Some((service, h.body)),
                _ => None,
            }
        })
        .collect();
    let bytes: usize = bodies.iter().map(|(_, b)| b.len()).sum();
    bencher.counter(BytesCount::new(bytes)).bench(|| {
        let mut n = 0usize;
        for (service, body) in &bodies {
            if let Record::Delivery(_) = postfix::parse(service, body) {
                n += 1;
            }
        }
        black_box(n)
    });
}

/// The Exim body parser alone, on the bodies of Exim lines.
#[divan::bench(sample_count = 10)]
fn exim_body(bencher: Bencher) {
    let data = generated("exim");
    let bodies: Vec<&[u8]> = data
        .split(|b| *b == b'\n')
        .filter_map(|l| Some(mtastat::parse::header::parse_header(l, HINT)?.body))
        .collect();
    let bytes: usize = bodies.iter().map(|b| b.len()).sum();
    bencher.counter(BytesCount::new(bytes)).bench(|| {
        let mut n = 0usize;
        for body in &bodies {
            if let Record::Delivery(_) = exim::parse(body) {
                n += 1;
            }
        }
        black_box(n)
    });
}

/// Line splitting alone: the floor every stage below stands on.
#[divan::bench(args = ["postfix", "exim"], sample_count = 10)]
fn lines_only(bencher: Bencher, format: &str) {
    let data = generated(format);
    bencher.counter(BytesCount::of_slice(&data)).bench(|| {
        let mut n = 0usize;
        for_each_line(&data, |line| n += line.len());
        black_box(n)
    });
}

/// The header (timestamp, host, program) alone, with the scanner's
/// timestamp cache.
#[divan::bench(args = ["postfix", "exim"], sample_count = 10)]
fn header_only(bencher: Bencher, format: &str) {
    let data = generated(format);
    bencher.counter(BytesCount::of_slice(&data)).bench(|| {
        let mut stamps = mtastat::parse::timestamp::StampCache::default();
        let mut n = 0usize;
        for_each_line(&data, |line| {
            n += usize::from(
                mtastat::parse::header::parse_header_cached(line, HINT, &mut stamps).is_some(),
            );
        });
        black_box(n)
    });
}
