//! Fuzz harnesses: one function per target, shared by the coverage-guided
//! cargo-fuzz targets (`scripts/fuzz/`, nightly) and the corpus replay and
//! mutation run in `tests/fuzz.rs` (stable, part of the test command).
//!
//! Each harness runs the code on arbitrary bytes and checks what must hold
//! whatever the input: no panic, every slice a parser returns lies inside
//! its input, caches agree with the code they cache, and the scanner
//! accounts for every line exactly once however the input is cut into
//! pieces or streamed.

use crate::aggregate::batch::{Batch, Counters};
use crate::aggregate::runs::{scan_bytes, scan_reader};
use crate::aggregate::worker::{ScanContext, Worker};
use crate::classify::Engine;
use crate::filter::Filter;
use crate::input::chunk;
use crate::parse::header::parse_header_cached;
use crate::parse::mta::{self, READERS, Reader};
use crate::parse::timestamp::{Clock, StampCache, parse_exim, parse_rfc3164, parse_rfc3339};
use crate::parse::{Record, journal, parse_body};
use crate::time::zone::Zone;
use std::sync::LazyLock;

/// A harness: runs the code under test on one input; panics on a finding.
pub type Harness = fn(&[u8]);

/// The targets, by name (the names of the cargo-fuzz targets and of the
/// corpus directories under `testdata/fuzz/`).
pub const TARGETS: [(&str, Harness); 8] = [
    ("timestamp", timestamp),
    ("header", header),
    ("postfix", postfix),
    ("exim", exim),
    ("readers", readers),
    ("journal", journal),
    ("scanner", scanner),
    ("trace", trace),
];

static BERLIN: LazyLock<Zone> = LazyLock::new(|| Zone::parse("Europe/Berlin").unwrap_or(Zone::UTC));
static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::builtin);

fn clocks() -> [Clock; 3] {
    [
        Clock::fixed(2026, Zone::UTC),
        Clock::from_reference(1_798_848_000, *BERLIN),
        Clock::fixed(2024, *BERLIN),
    ]
}

/// True when `part` lies inside `whole` (by address).
fn inside(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    part.is_empty() || (p >= w && p + part.len() <= w + whole.len())
}

/// The timestamp parsers: lengths consumed stay inside the input; the
/// per-minute caches return exactly what parsing returns, line after line.
pub fn timestamp(data: &[u8]) {
    for clock in clocks() {
        let mut cache = StampCache::default();
        for line in data.split(|&b| b == b'\n') {
            let plain = parse_rfc3164(line, clock);
            if let Some((_, used)) = plain {
                assert!(used <= line.len());
            }
            assert_eq!(cache.rfc3164(line, clock), plain, "rfc3164 cache");
            let ex = parse_exim(line, clock.zone);
            if let Some((_, used)) = ex {
                assert!(used <= line.len());
            }
            assert_eq!(cache.exim(line, clock.zone), ex, "exim cache");
            if let Some((_, used)) = parse_rfc3339(line) {
                assert!(used <= line.len());
            }
        }
    }
}

/// The header parser: host and body are slices of the line.
pub fn header(data: &[u8]) {
    let mut cache = StampCache::default();
    let clock = clocks()[1];
    for line in data.split(|&b| b == b'\n') {
        if let Some(h) = parse_header_cached(line, clock, &mut cache) {
            assert!(inside(h.host, line) && inside(h.body, line));
            let _ = parse_body(&h);
        }
    }
}

/// The Postfix body parser (the first byte picks the daemon).
pub fn postfix(data: &[u8]) {
    reader(&READERS[usize::from(mta::POSTFIX)], data);
}

/// The Exim body parser (the whole input is its body, as the corpus was
/// made).
pub fn exim(data: &[u8]) {
    body(&READERS[usize::from(mta::EXIM)], b"", data);
}

/// Every MTA of [`mta::READERS`]: the first byte picks the MTA, the second
/// its service, the rest is the body. A new row is fuzzed without a
/// harness of its own.
pub fn readers(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    reader(&READERS[usize::from(pick) % READERS.len()], rest);
}

/// One MTA's parser, the first byte picking the service.
fn reader(r: &Reader, data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let service = r.services[usize::from(pick) % r.services.len().max(1)];
    body(r, service, rest);
}

/// Every slice of the record borrows from the body (or is a constant label).
fn body(r: &Reader, service: &[u8], body: &[u8]) {
    match (r.parse)(service, body) {
        Record::Delivery(d) | Record::HostError(d) | Record::Callout(d, _) => {
            for part in [d.queue_id, d.recipient, d.orig_recipient, d.relay, d.reply] {
                assert!(inside(part, body), "{}", r.name);
            }
        }
        Record::Queued(q) => queued_inside(&q, body),
        Record::Expired { queue_id, sender } => {
            assert!(inside(queue_id, body) && inside(sender, body));
        }
        Record::Removed { queue_id } => assert!(inside(queue_id, body)),
        _ => {}
    }
}

/// Every field of an arrival borrows from the line (or is a constant label).
fn queued_inside(q: &crate::event::Queued<'_>, line: &[u8]) {
    let sender = q.sender.unwrap_or_default();
    for part in [q.queue_id, sender, q.message_id] {
        assert!(inside(part, line));
    }
    assert!(inside(q.client, line) || matches!(q.client, b"pickup" | b"local"));
}

/// The journal JSON parser.
pub fn journal(data: &[u8]) {
    let mut buf = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        if let Ok(h) = journal::parse(line, &mut buf) {
            let _ = parse_body(&h);
        }
    }
}

/// Every line is counted exactly once, as one kind of line.
fn accounted(c: &Counters) -> u64 {
    c.blank
        + c.unparsed_total()
        + c.other_program
        + c.mail_other
        + c.deliveries
        + c.senders
        + c.host_errors
        + c.rejects
        + c.fake_deliveries
        + c.notices
        + c.connections
        + c.postscreen
}

/// The scan of the fuzz targets: journeys on, no export.
fn context(filter: &Filter) -> ScanContext<'_> {
    ScanContext {
        engine: &ENGINE,
        filter,
        clock: clocks()[0],
        events: None,
        journeys: true,
        journey_text: false,
        per_address: true,
        summary_tables: true,
    }
}

/// Scans `data` with one worker, joined on the merge alone: with the
/// export's strings kept, the worker hands every journey row to the merge
/// (no sink: nothing is written).
fn scan_whole(data: &[u8], ctx: &ScanContext<'_>) -> Batch {
    let ctx = &ScanContext {
        journey_text: true,
        ..*ctx
    };
    let mut whole = Worker::new(ctx);
    whole.scan_chunk(ctx, data);
    let mut whole = whole.take_batch();
    whole.finish(ENGINE.providers.other(), ctx.filter);
    whole
}

/// Scans `data` in runs of about `cut` bytes, each by its own worker that
/// counts the journeys it saw begin and end ([`crate::journey::live`]),
/// merged in order.
/// `settle_rows`: join at the merge every so many rows (0: as in a run),
/// so that open messages are carried (and folded) from join to join as on
/// a log of gigabytes. (Not on arbitrary input: a line 20 days off makes
/// a message stale at one join and not at another.)
fn scan_in_runs(data: &[u8], cut: usize, ctx: &ScanContext<'_>, settle_rows: usize) -> Batch {
    scan_runs(&chunk::line_aligned(data, cut), ctx, settle_rows)
}

/// [`scan_in_runs`] on runs given.
fn scan_runs(runs: &[&[u8]], ctx: &ScanContext<'_>, settle_rows: usize) -> Batch {
    let mut pieces = Batch::default();
    pieces.journeys.settle_rows = settle_rows;
    for &piece in runs {
        let mut w = Worker::new(ctx);
        w.scan_chunk(ctx, piece);
        w.end_run();
        pieces = pieces.merge(w.take_batch(), ctx.filter);
    }
    pieces.finish(ENGINE.providers.other(), ctx.filter);
    pieces
}

/// The line counters (the sender join's among them) and the journeys
/// counted by workers on runs of `cut` bytes, the rest joined by the merge
/// every `settle_rows` rows (0: at its usual pace), against the same input
/// scanned whole and joined on the merge alone, as [`JourneyStats::fingerprint`](crate::journey::stats::JourneyStats::fingerprint)
/// (left: runs). Where the input is cut must change nothing.
pub fn in_runs_and_whole(data: &[u8], cut: usize, settle_rows: usize) -> (String, String) {
    let filter = Filter::default();
    let ctx = context(&filter);
    let whole = scan_whole(data, &ctx);
    let runs = scan_in_runs(data, cut, &ctx, settle_rows);
    (run_numbers(&runs), run_numbers(&whole))
}

/// [`in_runs_and_whole`] with the input cut after the lines given (by
/// number, from 1): every way of cutting a short log can be tried.
pub fn cut_after_lines_and_whole(data: &[u8], after: &[usize]) -> (String, String) {
    let filter = Filter::default();
    let ctx = context(&filter);
    let ends: Vec<usize> = memchr::memchr_iter(b'\n', data).map(|i| i + 1).collect();
    let mut runs = Vec::new();
    let mut start = 0;
    for &line in after {
        if let Some(&end) = ends.get(line.wrapping_sub(1))
            && end > start
        {
            runs.push(&data[start..end]);
            start = end;
        }
    }
    runs.push(&data[start..]);
    let whole = scan_whole(data, &ctx);
    (run_numbers(&scan_runs(&runs, &ctx, 0)), run_numbers(&whole))
}

/// What a scan in runs and the same scan whole must agree on.
fn run_numbers(b: &Batch) -> String {
    // Who handed each attempt over (the origin join) must not depend on
    // where the input was cut either.
    let mut origins: Vec<String> = b
        .deliveries
        .summary
        .iter()
        .map(|(k, n)| {
            format!(
                "{:?} {:?} {} {:?} {n}",
                String::from_utf8_lossy(b.domains.get(k.domain)),
                k.status,
                k.dsn,
                String::from_utf8_lossy(b.origins.get(k.origin)),
            )
        })
        .collect();
    origins.sort();
    // How each delivery and message was protected (the Postfix TLS join
    // by process) must not either.
    let name =
        |i: &crate::intern::Interner, id: u32| String::from_utf8_lossy(i.get(id)).into_owned();
    let mut tls: Vec<String> = b
        .tls
        .outbound
        .iter()
        .map(|(k, s)| {
            format!(
                "out {:?} {} {:?} {:?} {:?} {s:?}",
                name(&b.hosts, k.host),
                k.provider,
                name(&b.domains, k.domain),
                k.level,
                k.protocol
            )
        })
        .chain(b.tls.inbound.iter().map(|(k, s)| {
            format!(
                "in {:?} {:?} {:?} {:?} {s:?}",
                name(&b.hosts, k.host),
                name(&b.origins, k.origin),
                k.level,
                k.protocol
            )
        }))
        .collect();
    tls.sort();
    format!(
        "{:?}\n{}\n{}\n{}",
        b.counters,
        b.journeys.stats.fingerprint(),
        origins.join("\n"),
        tls.join("\n")
    )
}

/// The whole scan: one worker over the whole input, many workers over small
/// pieces merged in order, and the streaming reader all count the same, and
/// every line is accounted for once.
pub fn scanner(data: &[u8]) {
    let filter = Filter::default();
    let ctx = context(&filter);
    let lines = if data.is_empty() {
        0
    } else {
        data.split(|&b| b == b'\n').count() as u64 - u64::from(data.ends_with(b"\n"))
    };

    let whole = scan_whole(data, &ctx);
    assert_eq!(whole.counters.lines, lines, "lines");
    assert_eq!(
        accounted(&whole.counters),
        lines,
        "every line once: {:?}",
        whole.counters
    );

    let cut = data.first().map_or(1, |&b| usize::from(b % 64) + 1);
    let pieces = scan_in_runs(data, cut, &ctx, 0);
    assert_eq!(pieces.counters, whole.counters, "pieces of {cut} bytes");
    assert_eq!(
        pieces.journeys.stats.fingerprint(),
        whole.journeys.stats.fingerprint(),
        "journeys joined by workers on pieces of {cut} bytes"
    );

    let mut mapped = scan_bytes(data, 2, &ctx);
    mapped.finish(ENGINE.providers.other(), &filter);
    assert_eq!(mapped.counters, whole.counters, "scan_bytes");

    let (mut streamed, error) = scan_reader(std::io::Cursor::new(data), 2, &ctx);
    assert!(error.is_none());
    streamed.finish(ENGINE.providers.other(), &filter);
    assert_eq!(streamed.counters, whole.counters, "streamed");
}

/// `trace` over any input, for every kind of query (and the first queue id
/// the input holds): no panic, and every line a trace keeps is a line of
/// the input, kept once.
pub fn trace(data: &[u8]) {
    use crate::trace::{Tracer, journey, query::Query};
    let filter = Filter::default();
    let first_id = data
        .split(|&b| b == b'\n')
        .find_map(|l| {
            let h = crate::parse::header::parse_header(l, clocks()[0])?;
            let crate::parse::header::Program::Mta { reader, .. } = h.program else {
                return None;
            };
            (READERS.get(usize::from(reader))?.message)(h.body)
        })
        .and_then(|id| std::str::from_utf8(id).ok())
        .unwrap_or("ABCDEF1234")
        .to_string();
    let lines: std::collections::HashSet<&[u8]> = data
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    for what in [
        first_id.as_str(),
        "<a@b.example>",
        "x@gmail.com",
        "@gmail.com",
        "192.0.2.7",
        "bob",
    ] {
        let Ok(query) = Query::parse(what, None) else {
            continue;
        };
        let mut tracer = Tracer::new(&query, &ENGINE.providers, &filter, clocks()[0], 5);
        crate::input::feed_bytes(data, 1, &mut tracer);
        let found = tracer.finish_all();
        for t in &found.traces {
            for m in &t.messages {
                let mut seen = std::collections::HashSet::new();
                for (_, seq, line) in m.lines() {
                    assert!(lines.contains(line), "{what}: a kept line not in the input");
                    assert!(seen.insert(seq), "{what}: a line kept twice");
                }
            }
        }
        let report = journey::report(&query, &found, &ENGINE, Zone::UTC);
        assert!(report.traces.len() <= 5 && report.matched >= report.traces.len() as u64);
    }
}
