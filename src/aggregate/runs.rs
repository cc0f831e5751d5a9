//! The parallel scan: an input's line-aligned pieces, cut into runs that
//! the workers ([`Worker`]) scan on rayon's threads while one merging thread
//! merges their batches in input order into the running total.
//!
//! [`Runs`] is the [`Sink`] the analysis hands to input: input decides how
//! the bytes arrive (mapped, streamed, decompressed), this module what is
//! done with them.

use super::batch::Batch;
use super::worker::{ScanContext, Worker};
use crate::input::{self, Sink};
use crate::parse::Unparsed;
use crate::time::Clock;
use std::io;

/// The running total of a set of inputs, and the workers that scan into it.
pub struct Runs<'a> {
    ctx: ScanContext<'a>,
    total: Batch,
    pool: WorkerPool,
}

impl<'a> Runs<'a> {
    /// Scans with `ctx` into `total` (which may hold earlier inputs).
    pub fn new(ctx: ScanContext<'a>, total: Batch) -> Runs<'a> {
        Runs {
            ctx,
            total,
            pool: WorkerPool::default(),
        }
    }

    /// Everything merged so far.
    pub fn total(&self) -> &Batch {
        &self.total
    }

    /// The running total, once the inputs are read.
    pub fn into_total(self) -> Batch {
        self.total
    }
}

impl Sink for Runs<'_> {
    fn begin(&mut self, clock: Clock) {
        self.ctx.clock = clock;
        // A worker's timestamp memo holds times read with the last clock.
        self.pool = WorkerPool::default();
    }

    fn pieces<P: AsRef<[u8]> + Sync>(&mut self, pieces: &[P], count_progress: bool) {
        scan_pieces(
            pieces,
            &self.ctx,
            count_progress,
            &self.pool,
            &mut self.total,
        );
    }

    fn overlong(&mut self, sample: &[u8], len: u64) {
        self.total.counters.lines += 1;
        self.total.counters.bytes += len;
        self.total.unparsed(Unparsed::TooLong, sample);
    }

    fn bytes(&self) -> u64 {
        self.total.counters.bytes
    }
}

/// Scans an in-memory buffer: line-aligned chunks, in runs (see
/// [`scan_pieces`]).
pub fn scan_bytes(data: &[u8], threads: usize, ctx: &ScanContext<'_>) -> Batch {
    let mut runs = Runs::new(*ctx, Batch::default());
    input::feed_bytes(data, threads, &mut runs);
    runs.into_total()
}

/// Scans a stream in bounded memory (see [`input::feed_reader`]); returns
/// the batch and the read error that ended the input early, if any.
pub(crate) fn scan_reader<R: io::Read + Send>(
    reader: R,
    threads: usize,
    ctx: &ScanContext<'_>,
) -> (Batch, Option<io::Error>) {
    let mut runs = Runs::new(*ctx, Batch::default());
    let error = input::feed_reader(reader, threads, &mut runs);
    (runs.into_total(), error)
}

/// Workers (their memos, join tables and row buffers) kept from run to run
/// of one input, rather than allocated afresh for each.
type WorkerPool = std::sync::Mutex<Vec<Worker>>;

/// Input one worker scans into one batch before it is merged (in pieces),
/// when journeys are gathered: the messages a run leaves open are joined on
/// the merging thread, which smaller runs keep busy alongside the scan, in
/// less memory.
const RUN_BYTES: usize = 32 << 20;
/// The same without journeys: fewer, larger merges.
const RUN_BYTES_NO_JOURNEYS: usize = 256 << 20;

/// Scans line-aligned pieces in parallel: each worker takes the next
/// contiguous run of pieces (up to [`RUN_BYTES`]) into one batch, and a
/// merging thread merges the batches in input order (which the sender,
/// expiry and journey joins rely on) as they arrive, so the merge
/// (interners, tallies, and the journeys a run could not finish alone) and
/// the scan overlap.
///
/// A fold/reduce tree kept finished batches waiting for their siblings, so
/// memory grew with the input; rounds of single pieces paid a barrier and a
/// merge every few milliseconds. Runs bound both. Workers no longer wait
/// for each other at the end of a round either: each claims the next run
/// as soon as it is done, up to [`RUNS_AHEAD`] runs per worker ahead of the
/// merge (a round's barrier left a worker idle whenever the merging thread
/// took its core, which it does on two cores: a third of a core on the
/// 1 GiB bench log).
fn scan_pieces<P: AsRef<[u8]> + Sync>(
    pieces: &[P],
    ctx: &ScanContext<'_>,
    count_progress: bool,
    pool: &WorkerPool,
    total: &mut Batch,
) {
    let run_bytes = if ctx.journeys {
        RUN_BYTES
    } else {
        RUN_BYTES_NO_JOURNEYS
    };
    scan_pieces_in_runs(pieces, ctx, count_progress, pool, total, run_bytes);
}

/// [`scan_pieces`] with the run size given (tests make many runs of a
/// small log with it).
fn scan_pieces_in_runs<P: AsRef<[u8]> + Sync>(
    pieces: &[P],
    ctx: &ScanContext<'_>,
    count_progress: bool,
    pool: &WorkerPool,
    total: &mut Batch,
    run_bytes: usize,
) {
    let threads = rayon::current_num_threads().max(1);
    let piece_len = pieces.first().map_or(1, |p| p.as_ref().len().max(1));
    let runs = guided_runs(pieces, threads, (run_bytes / piece_len).max(1));
    let filter = ctx.filter;
    let mut running = std::mem::take(total);
    let unknown = ctx.engine.providers.other();
    // Merged batches, drained, go back to the workers for their next runs:
    // their tables keep their allocations (fresh ones for every run had the
    // kernel zero new pages, and the merging thread free them).
    let recycled = std::sync::Mutex::new(Vec::<Batch>::new());
    let keep = 2 * threads;
    let window = RUNS_AHEAD * threads;
    let claims = RunProgress::default();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<(usize, Batch)>();
        let (recycled, claims) = (&recycled, &claims);
        let merger = scope.spawn(move || {
            // Ends the workers' wait if this thread dies before the end.
            let _done = claims.stop_on_drop();
            // Batches that came in ahead of their turn.
            let mut early: std::collections::BTreeMap<usize, Batch> = Default::default();
            let mut next = 0;
            for (i, b) in rx {
                early.insert(i, b);
                while let Some(mut b) = early.remove(&next) {
                    running.merge_from(&mut b, filter);
                    running.settle_unjoined(unknown, filter);
                    if let Ok(mut spare) = recycled.lock()
                        && spare.len() < keep
                    {
                        spare.push(b);
                    }
                    next += 1;
                    claims.merged(next);
                }
            }
            running
        });
        rayon::scope(|workers| {
            for _ in 0..threads {
                let tx = tx.clone();
                let runs = &runs;
                workers.spawn(move |_| {
                    let spare = pool.lock().ok().and_then(|mut p| p.pop());
                    let mut w = spare.unwrap_or_else(|| Worker::new(ctx));
                    while let Some(i) = claims.claim(runs.len(), window) {
                        for piece in runs[i] {
                            w.scan_chunk(ctx, piece.as_ref());
                            if count_progress {
                                // Streams count as they are read (see `Counting`).
                                input::progress::advance(piece.as_ref().len());
                            }
                        }
                        w.end_run();
                        let spare = recycled.lock().ok().and_then(|mut r| r.pop());
                        if tx.send((i, w.take_batch_reusing(spare))).is_err() {
                            break;
                        }
                    }
                    if let Ok(mut p) = pool.lock() {
                        p.push(w);
                    }
                });
            }
        });
        drop(tx);
        match merger.join() {
            Ok(t) => *total = t,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
}

/// Cuts `pieces` into runs of at most `most` pieces that shrink towards
/// the end (each a share of what is left), so the workers finish together:
/// with equal runs, the last one found one worker scanning alone while the
/// other waited (50 ms of a 0.68 s run on the 1 GiB log without journeys,
/// four runs of 256 MB).
fn guided_runs<P>(pieces: &[P], threads: usize, most: usize) -> Vec<&[P]> {
    let mut runs = Vec::new();
    let mut rest = pieces;
    while !rest.is_empty() {
        let n = (rest.len() / (2 * threads.max(1))).clamp(1, most.max(1));
        let (run, tail) = rest.split_at(n.min(rest.len()));
        runs.push(run);
        rest = tail;
    }
    runs
}

/// Runs per worker a worker may scan ahead of the merge: bounds the
/// batches alive (scanned, waiting, being merged) to about this many per
/// worker, whatever the input's size.
const RUNS_AHEAD: usize = 2;

/// Which run the workers take next and how many the merge has done.
#[derive(Default)]
struct RunProgress {
    state: std::sync::Mutex<RunState>,
    changed: std::sync::Condvar,
}

#[derive(Default)]
struct RunState {
    /// The next run to claim.
    next: usize,
    /// Runs merged.
    merged: usize,
    /// The merge ended (or died): nothing more is claimed.
    stopped: bool,
}

impl RunProgress {
    /// The next run, once fewer than `window` claimed runs wait for the
    /// merge; `None` when every run is claimed or the merge stopped.
    fn claim(&self, runs: usize, window: usize) -> Option<usize> {
        let mut s = self.state.lock().ok()?;
        loop {
            if s.stopped || s.next >= runs {
                return None;
            }
            if s.next < s.merged + window.max(1) {
                s.next += 1;
                return Some(s.next - 1);
            }
            s = self.changed.wait(s).ok()?;
        }
    }

    /// `n` runs are merged.
    fn merged(&self, n: usize) {
        if let Ok(mut s) = self.state.lock() {
            s.merged = n;
        }
        self.changed.notify_all();
    }

    /// A guard that stops the claims when dropped (the merge's end).
    fn stop_on_drop(&self) -> StopOnDrop<'_> {
        StopOnDrop(self)
    }
}

/// See [`RunProgress::stop_on_drop`].
struct StopOnDrop<'a>(&'a RunProgress);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.0.state.lock() {
            s.stopped = true;
        }
        self.0.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Engine;
    use crate::filter::Filter;
    use crate::input::{BLOCK, MAX_LINE_LEN, chunk};
    use crate::time::zone::Zone;

    fn ctx<'a>(engine: &'a Engine, filter: &'a Filter) -> ScanContext<'a> {
        ScanContext {
            engine,
            filter,
            clock: Clock::fixed(2026, Zone::UTC),
            events: None,
            journeys: true,
            journey_text: false,
            per_address: true,
            summary_tables: true,
        }
    }

    const LOG: &str = "Nov 22 12:39:02 mx1 postfix/smtp[1]: ABCDEF: to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=4.7.0, status=deferred (host gmail-smtp-in.l.google.com[1.2.3.4] said: 421 4.7.0 Try again later (in reply to end of DATA command))\n\
Nov 22 12:39:03 mx1 postfix/qmgr[2]: ABCDEF: from=<s@x.example>, status=expired, returned to sender\n\
garbage line\n\
\n\
Nov 22 12:39:04 mx1 postfix/smtpd[3]: connect from x[1.2.3.4]\n";

    /// Postfix reuses short queue ids. A delivery after its id's `removed`
    /// must not take the old message's sender from an earlier chunk (the
    /// merge applied the removal only after joining; found by the scanner
    /// fuzz target).
    #[test]
    fn reused_queue_id_after_removal_is_not_joined_across_chunks() {
        let engine = Engine::builtin();
        let filter = Filter::default();
        let ctx = ctx(&engine, &filter);
        let first = "Nov 22 12:00:00 mx1 postfix/qmgr[2]: ABCDEF: from=<s@old.example>, size=1, nrcpt=1 (queue active)\n\
Nov 22 12:00:01 mx1 postfix/smtp[3]: ABCDEF: to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)\n";
        let second = "Nov 22 12:00:02 mx1 postfix/qmgr[2]: ABCDEF: removed\n\
Nov 22 12:05:00 mx1 postfix/smtp[3]: ABCDEF: to=<b@gmail.com>, relay=gmail-smtp-in.l.google.com[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)\n";
        let mut whole = Worker::new(&ctx);
        whole.scan_chunk(&ctx, format!("{first}{second}").as_bytes());
        let mut whole = whole.take_batch();
        whole.finish(engine.providers.other(), &filter);
        let mut merged = Batch::default();
        for piece in [first, second] {
            let mut w = Worker::new(&ctx);
            w.scan_chunk(&ctx, piece.as_bytes());
            merged = merged.merge(w.take_batch(), &filter);
        }
        merged.finish(engine.providers.other(), &filter);
        assert_eq!(whole.counters.sender_unknown, 1);
        assert_eq!(merged.counters.sender_unknown, 1, "the old sender leaked");
    }

    /// The Postfix log shipped in `testdata/`.
    fn postfix_testdata() -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/postfix/mail.log"),
        )
        .unwrap()
    }

    /// Many runs on four threads arrive at the merge out of order: merged
    /// in input order, they count what one run over the whole log counts
    /// (journeys too: a message's rows span runs). The runs of the
    /// production sizes are tens of MB, so no other test makes more runs
    /// than threads.
    #[test]
    fn runs_merged_in_input_order_whatever_order_they_finish() {
        let engine = Engine::builtin();
        let filter = Filter::default();
        let ctx = ctx(&engine, &filter);
        let data = postfix_testdata();
        let scan = |threads: usize, piece: usize, run_bytes: usize| {
            let pieces = chunk::line_aligned(&data, piece);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut total = Batch::default();
            pool.install(|| {
                scan_pieces_in_runs(
                    &pieces,
                    &ctx,
                    false,
                    &WorkerPool::default(),
                    &mut total,
                    run_bytes,
                );
            });
            total.finish(engine.providers.other(), &filter);
            (pieces.len(), total)
        };
        let (_, whole) = scan(1, data.len() + 1, usize::MAX);
        let (pieces, runs) = scan(4, 4 << 10, 8 << 10);
        assert!(pieces > 100, "{pieces} pieces");
        assert_eq!(runs.counters, whole.counters);
        let sorted = |b: &Batch| {
            let mut v: Vec<_> = b
                .deliveries
                .summary
                .iter()
                .map(|(k, n)| {
                    (
                        b.domains.get(k.domain).to_vec(),
                        k.provider,
                        k.status,
                        k.dsn,
                        *n,
                    )
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(sorted(&runs), sorted(&whole));
        let (j, w) = (&runs.journeys.stats, &whole.journeys.stats);
        assert!(w.messages > 1000, "{} messages", w.messages);
        // Sketches compared by what they answer (their values' order
        // follows the merge order).
        assert_eq!(j.fingerprint(), w.fingerprint());
    }

    /// A merged batch goes back to a worker (drained, then reset) for its
    /// next run: what it counts then must be what a fresh batch counts —
    /// nothing of its first run may leak into the second. (The merge drains
    /// the tables; `Batch::reset` must empty the rest: counters, span,
    /// interners. Leaving the counters fails this test.)
    #[test]
    fn a_recycled_batch_counts_like_a_fresh_one() {
        let engine = Engine::builtin();
        let filter = Filter::default();
        let ctx = ctx(&engine, &filter);
        let data = postfix_testdata();
        let pieces = chunk::line_aligned(&data, data.len() / 6 + 1);
        let run = |recycle: bool| {
            let mut total = Batch::default();
            let mut spare: Option<Batch> = None;
            let mut w = Worker::new(&ctx);
            for piece in &pieces {
                w.scan_chunk(&ctx, piece);
                w.end_run();
                let mut b = w.take_batch_reusing(spare.take());
                total.merge_from(&mut b, &filter);
                if recycle {
                    spare = Some(b);
                }
            }
            total.finish(engine.providers.other(), &filter);
            total
        };
        let (fresh, recycled) = (run(false), run(true));
        assert!(pieces.len() > 3);
        assert_eq!(recycled.counters, fresh.counters);
        let mut a: Vec<_> = fresh.deliveries.summary.iter().collect();
        let mut b: Vec<_> = recycled.deliveries.summary.iter().collect();
        a.sort();
        b.sort();
        assert_eq!(a.len(), b.len());
        assert_eq!(
            fresh.deliveries.summary.values().sum::<u64>(),
            recycled.deliveries.summary.values().sum::<u64>()
        );
        assert_eq!(
            fresh.journeys.stats.messages,
            recycled.journeys.stats.messages
        );
        assert_eq!(fresh.journeys.stats.total, recycled.journeys.stats.total);
        assert_eq!(
            fresh
                .sessions
                .by_client
                .values()
                .map(|t| t.time.sessions)
                .sum::<u64>(),
            recycled
                .sessions
                .by_client
                .values()
                .map(|t| t.time.sessions)
                .sum::<u64>()
        );
    }

    #[test]
    fn guided_runs_cover_the_input_in_order_and_shrink_to_single_pieces() {
        for (len, threads, most) in [(0, 2, 4), (1, 2, 4), (64, 2, 16), (64, 2, 2), (7, 8, 3)] {
            let pieces: Vec<usize> = (0..len).collect();
            let runs = guided_runs(&pieces, threads, most);
            let flat: Vec<usize> = runs.iter().flat_map(|r| r.iter().copied()).collect();
            assert_eq!(flat, pieces, "{len} pieces, {threads} threads");
            assert!(runs.iter().all(|r| !r.is_empty() && r.len() <= most));
            // Sizes never grow, and the input ends in single pieces.
            assert!(runs.windows(2).all(|w| w[0].len() >= w[1].len()));
            if len > 0 {
                assert_eq!(runs.last().map(|r| r.len()), Some(1));
            }
        }
        // 1 GiB in 16 MB pieces, 256 MB runs, two workers: not four equal runs.
        let pieces = [0u8; 64];
        let sizes: Vec<usize> = guided_runs(&pieces, 2, 16)
            .iter()
            .map(|r| r.len())
            .collect();
        assert_eq!(&sizes[..4], &[16, 12, 9, 6]);
    }

    #[test]
    fn stream_and_mmap_paths_agree() {
        let (e, f) = (Engine::builtin(), Filter::default());
        let c = ctx(&e, &f);
        let a = scan_bytes(LOG.as_bytes(), 2, &c);
        let (b, e) = scan_reader(LOG.as_bytes(), 2, &c);
        assert!(e.is_none());
        for batch in [&a, &b] {
            assert_eq!(batch.counters.lines, 5);
            assert_eq!(batch.counters.blank, 1);
            assert_eq!(batch.counters.unparsed_total(), 1);
            assert_eq!(batch.counters.deliveries, 2, "deferral + joined expiry");
            assert_eq!(batch.counters.by_status[3], 1);
        }
    }

    #[test]
    fn overlong_stream_line_is_counted_not_held() {
        let (e, f) = (Engine::builtin(), Filter::default());
        let c = ctx(&e, &f);
        let mut data = vec![b'x'; MAX_LINE_LEN + BLOCK + 10];
        data.push(b'\n');
        data.extend_from_slice(LOG.as_bytes());
        let (b, _) = scan_reader(&data[..], 1, &c);
        assert_eq!(b.counters.unparsed[Unparsed::TooLong.index()], 1);
        assert_eq!(
            b.counters.bytes,
            data.len() as u64,
            "skipped bytes are counted"
        );
        assert_eq!(b.counters.deliveries, 2);
        assert_eq!(b.counters.lines, 6);
    }
}
