//! Getting bytes: memory-mapped files scanned in parallel, or a bounded
//! block reader for stdin, pipes and other non-regular files.

pub(crate) mod chunk;
pub(crate) mod decode;
pub(crate) mod discover;
mod mmap;
pub(crate) mod progress;

use progress::Counting;

use decode::Compression;

use crate::aggregate::batch::{Batch, Counters};
use crate::parse::Unparsed;
use crate::scan::{MAX_LINE_LEN, ScanContext, Worker};
use crate::time::zone::Zone;
use crate::time::{Clock, UnixSeconds};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One input named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A path (file, FIFO, character device …).
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl Source {
    /// From a command-line argument: `-` is stdin.
    pub fn from_arg(arg: &Path) -> Source {
        if arg.as_os_str() == "-" {
            Source::Stdin
        } else {
            Source::Path(arg.to_path_buf())
        }
    }

    /// How the report names this input.
    pub fn label(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Stdin => "-".to_string(),
        }
    }
}

/// Why an input could not be read: one line, naming the file and the cause.
#[derive(Debug)]
pub(crate) struct InputError {
    /// The input's label.
    pub input: String,
    /// The cause.
    pub cause: io::Error,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.cause.kind() {
            io::ErrorKind::NotFound => "no such file or directory".to_string(),
            io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            io::ErrorKind::IsADirectory => "is a directory".to_string(),
            _ => self.cause.to_string(),
        };
        write!(f, "{}: {}", self.input, why)
    }
}

impl std::error::Error for InputError {}

/// How the input was read (reported, and useful when diagnosing speed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadMode {
    /// Memory-mapped and split into parallel chunks.
    Mmap,
    /// Read in blocks (stdin, pipes, special files).
    Stream,
    /// A regular file written to in the last [`LIVE_SECS`] seconds, read in
    /// blocks: logrotate's `copytruncate` can shrink it under a reader, and
    /// a mapped file that shrinks kills the process with SIGBUS.
    Live,
    /// Decompressed in blocks.
    Decompressed(Compression),
}

impl ReadMode {
    /// Name used in the report and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadMode::Mmap => "mmap",
            ReadMode::Stream => "stream",
            ReadMode::Live => "stream (live file)",
            ReadMode::Decompressed(c) => c.as_str(),
        }
    }
}

/// A file modified this recently is read, not mapped (see [`ReadMode::Live`]).
pub(crate) const LIVE_SECS: i64 = 300;

/// Settings that hold for every input.
#[derive(Clone, Copy, Debug)]
pub struct InputSettings {
    /// Gather message journeys (`--no-journeys` turns them off).
    pub journeys: bool,
    /// The run prints `summary`: gather its tables too (per-address
    /// senders and recipients, traffic, sessions).
    pub summary: bool,
    /// `--year`: forces the year of RFC 3164 timestamps.
    pub year: Option<i32>,
    /// `--tz`: the zone of timestamps written without one.
    pub zone: Zone,
    /// Threads the scan may use (for chunk sizing).
    pub threads: usize,
}

impl InputSettings {
    /// How to read an input's zone-less and year-less timestamps, given
    /// its reference time (mtime, or now for a stream).
    pub fn clock(&self, reference: UnixSeconds) -> Clock {
        match self.year {
            Some(y) => Clock::fixed(y, self.zone),
            None => Clock::from_reference(reference, self.zone),
        }
    }
}

/// One input, scanned (merged into the running total).
#[derive(Debug)]
pub(crate) struct Scanned {
    /// Its line counters (what it added to the total's).
    pub counters: Counters,
    /// How it was read.
    pub mode: ReadMode,
    /// Why the input may be incomplete (corrupt compressed data, a read
    /// error, a file that shrank while being read): the batch holds what
    /// was read before.
    pub problem: Option<String>,
}

/// Scans one input and merges it into `total`, which holds every input
/// before it (joins across files, such as message journeys over a log
/// rotation, need it).
pub(crate) fn scan(
    source: &Source,
    settings: InputSettings,
    ctx: &ScanContext<'_>,
    total: &mut Batch,
) -> Result<Scanned, InputError> {
    let before = total.counters;
    let mut scanned = scan_into(source, settings, ctx, total)?;
    scanned.counters = total.counters.since(&before);
    Ok(scanned)
}

fn scan_into(
    source: &Source,
    settings: InputSettings,
    ctx: &ScanContext<'_>,
    total: &mut Batch,
) -> Result<Scanned, InputError> {
    let err = |cause| InputError {
        input: source.label(),
        cause,
    };
    match source {
        Source::Stdin => {
            let ctx = with_clock(ctx, settings.clock(now()));
            let mut stdin = io::BufReader::with_capacity(1 << 16, io::stdin());
            let head = io::BufRead::fill_buf(&mut stdin).map_err(err)?;
            match Compression::sniff(head) {
                Some(c) => {
                    let decoder = c.decoder(stdin).map_err(err)?;
                    Ok(streamed(
                        decoder,
                        ReadMode::Decompressed(c),
                        None,
                        settings,
                        &ctx,
                        total,
                    ))
                }
                None => Ok(streamed(
                    stdin,
                    ReadMode::Stream,
                    None,
                    settings,
                    &ctx,
                    total,
                )),
            }
        }
        Source::Path(path) => {
            let mut file = File::open(path).map_err(err)?;
            let meta = file.metadata().map_err(err)?;
            if meta.is_dir() {
                return Err(err(io::Error::from(io::ErrorKind::IsADirectory)));
            }
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or_else(now, |d| d.as_secs() as UnixSeconds);
            let ctx = with_clock(
                ctx,
                settings.clock(discover::year_reference(path, mtime, settings.zone)),
            );
            if !meta.is_file() {
                return Ok(streamed(
                    Counting(file),
                    ReadMode::Stream,
                    None,
                    settings,
                    &ctx,
                    total,
                ));
            }
            if meta.len() == 0 {
                return Ok(Scanned {
                    counters: Counters::default(),
                    mode: ReadMode::Mmap,
                    problem: None,
                });
            }
            if let Some(c) = Compression::of_file(&mut file).map_err(err)? {
                let decoder = c
                    .decoder(io::BufReader::with_capacity(1 << 16, Counting(file)))
                    .map_err(err)?;
                return Ok(streamed(
                    decoder,
                    ReadMode::Decompressed(c),
                    None,
                    settings,
                    &ctx,
                    total,
                ));
            }
            // Written to lately, or dated at most as far ahead as a
            // server's clock may be off (a write sets the time to now: one
            // far ahead was set by hand, and the file is not being written).
            if (-LIVE_SECS..LIVE_SECS).contains(&(now() - mtime)) {
                return Ok(streamed(
                    Counting(file),
                    ReadMode::Live,
                    Some(meta.len()),
                    settings,
                    &ctx,
                    total,
                ));
            }
            let map = mmap::map(&file).map_err(err)?;
            scan_bytes_into(&map, settings.threads, &ctx, total);
            Ok(Scanned {
                counters: Counters::default(),
                mode: ReadMode::Mmap,
                problem: None,
            })
        }
    }
}

/// Scans a reader with [`scan_reader`]; a read error or a file that came
/// out shorter than it was (`expected` bytes) becomes the scan's problem.
fn streamed<R: Read + Send>(
    reader: R,
    mode: ReadMode,
    expected: Option<u64>,
    settings: InputSettings,
    ctx: &ScanContext<'_>,
    total: &mut Batch,
) -> Scanned {
    let before = total.counters;
    let error = scan_reader_into(reader, settings.threads, ctx, total);
    let batch = total.counters.since(&before);
    let problem = match (error, expected) {
        (Some(e), _) => Some(match mode {
            ReadMode::Decompressed(c) => format!(
                "{} data is corrupt or truncated after {} decompressed bytes ({e}); counted what came before",
                c.as_str(),
                batch.bytes
            ),
            _ => format!(
                "read error after {} bytes ({e}); counted what came before",
                batch.bytes
            ),
        }),
        (None, Some(len)) if batch.bytes < len => Some(format!(
            "file shrank while being read ({len} bytes at open, {} read): truncated or rotated with copytruncate; counted what was read",
            batch.bytes
        )),
        _ => None,
    };
    Scanned {
        counters: batch,
        mode,
        problem,
    }
}

fn now() -> UnixSeconds {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as UnixSeconds)
}

fn with_clock<'a>(ctx: &ScanContext<'a>, clock: Clock) -> ScanContext<'a> {
    ScanContext { clock, ..*ctx }
}

/// Scans an in-memory buffer: line-aligned chunks, in runs (see
/// [`scan_pieces`]).
pub fn scan_bytes(data: &[u8], threads: usize, ctx: &ScanContext<'_>) -> Batch {
    let mut total = Batch::default();
    scan_bytes_into(data, threads, ctx, &mut total);
    total
}

/// [`scan_bytes`], merged into a running total.
pub(crate) fn scan_bytes_into(
    data: &[u8],
    threads: usize,
    ctx: &ScanContext<'_>,
    total: &mut Batch,
) {
    let pieces = chunk::line_aligned(data, chunk::target_size(data.len(), threads));
    scan_pieces(&pieces, ctx, true, &WorkerPool::default(), total);
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
                                progress::advance(piece.as_ref().len());
                            }
                        }
                        w.end_run(ctx);
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

/// Bytes per block read from a stream.
const BLOCK: usize = 4 << 20;

/// What the reader thread hands to the scanning side.
enum Block {
    /// Whole lines (the last one may lack its newline at the end of input).
    Lines(Vec<u8>),
    /// A line longer than [`MAX_LINE_LEN`]: its first bytes and its length.
    Overlong { sample: Vec<u8>, len: u64 },
    /// The reader failed; nothing follows.
    Failed(io::Error),
}

/// Scans a stream in bounded memory. A reader thread (decompressing, when
/// the reader is a decoder) cuts the input into blocks of whole lines while
/// the rayon workers scan the blocks before them, so a `.gz` file is read
/// at the decoder's speed. A line longer than [`MAX_LINE_LEN`] is counted
/// and skipped without ever being held whole. Returns the batch and the
/// read error that ended the input early, if any.
pub(crate) fn scan_reader<R: Read + Send>(
    reader: R,
    threads: usize,
    ctx: &ScanContext<'_>,
) -> (Batch, Option<io::Error>) {
    let mut total = Batch::default();
    let error = scan_reader_into(reader, threads, ctx, &mut total);
    (total, error)
}

/// [`scan_reader`], merged into a running total; returns the read error.
pub(crate) fn scan_reader_into<R: Read + Send>(
    reader: R,
    threads: usize,
    ctx: &ScanContext<'_>,
    total: &mut Batch,
) -> Option<io::Error> {
    let per_round = threads.max(1) * 2;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Block>(per_round);
    let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    // One pool for the whole stream: a round is only a few blocks.
    let pool = WorkerPool::default();
    std::thread::scope(|scope| {
        scope.spawn(move || cut_blocks(reader, &tx, &spare_rx));
        let mut failure = None;
        let mut done = false;
        while !done {
            let mut blocks: Vec<Vec<u8>> = Vec::with_capacity(per_round);
            while blocks.len() < per_round {
                match rx.recv() {
                    Ok(Block::Lines(b)) => blocks.push(b),
                    Ok(Block::Overlong { sample, len }) => {
                        total.counters.lines += 1;
                        total.counters.bytes += len;
                        total.unparsed(Unparsed::TooLong, &sample);
                    }
                    Ok(Block::Failed(e)) => {
                        failure = Some(e);
                        done = true;
                        break;
                    }
                    Err(_) => {
                        done = true;
                        break;
                    }
                }
            }
            scan_pieces(&blocks, ctx, false, &pool, total);
            for mut b in blocks {
                b.clear();
                // The reader may have finished; then the buffer just goes.
                let _ = spare_tx.send(b);
            }
        }
        // Unblocks the reader if it is still sending (after a failure).
        drop(rx);
        failure
    })
}

/// The reader thread: blocks of whole lines into `tx`, reusing buffers the
/// scanning side sends back.
fn cut_blocks<R: Read>(
    mut reader: R,
    tx: &std::sync::mpsc::SyncSender<Block>,
    spare: &std::sync::mpsc::Receiver<Vec<u8>>,
) {
    let mut carry: Vec<u8> = Vec::new();
    // Inside an overlong line: its length so far.
    let mut skipping: Option<(Vec<u8>, u64)> = None;
    loop {
        let mut buf = spare.try_recv().unwrap_or_default();
        buf.clear();
        buf.append(&mut carry);
        let start = buf.len();
        buf.resize(start + BLOCK, 0);
        let (n, failed) = read_some(&mut reader, &mut buf[start..]);
        buf.truncate(start + n);
        if let Some(e) = failed {
            // Everything decoded before the damage is scanned (a truncated
            // .gz loses only its unreadable tail), then the error is said.
            if let Some((sample, mut len)) = skipping.take() {
                let rest = match memchr::memchr(b'\n', &buf) {
                    Some(nl) => buf.split_off(nl + 1),
                    None => Vec::new(),
                };
                len += buf.len() as u64;
                let _ = tx.send(Block::Overlong { sample, len });
                buf = rest;
            }
            if !buf.is_empty() {
                let _ = tx.send(Block::Lines(buf));
            }
            let _ = tx.send(Block::Failed(e));
            return;
        }
        let eof = n == 0;
        if let Some((sample, len)) = skipping.as_mut() {
            // Drop bytes up to the overlong line's end.
            match memchr::memchr(b'\n', &buf) {
                Some(nl) => {
                    *len += nl as u64 + 1;
                    buf.drain(..=nl);
                    let (sample, len) = (std::mem::take(sample), *len);
                    skipping = None;
                    if tx.send(Block::Overlong { sample, len }).is_err() {
                        return;
                    }
                }
                None => {
                    *len += buf.len() as u64;
                    if eof {
                        let (sample, len) = (std::mem::take(sample), *len);
                        let _ = tx.send(Block::Overlong { sample, len });
                        return;
                    }
                    continue;
                }
            }
        }
        if eof {
            if !buf.is_empty() {
                let _ = tx.send(Block::Lines(buf));
            }
            return;
        }
        let sent = match memchr::memrchr(b'\n', &buf) {
            Some(nl) => {
                carry = buf.split_off(nl + 1);
                tx.send(Block::Lines(buf))
            }
            None if buf.len() > MAX_LINE_LEN => {
                let sample = buf[..buf.len().min(crate::aggregate::batch::SAMPLE_LEN)].to_vec();
                skipping = Some((sample, buf.len() as u64));
                Ok(())
            }
            None => {
                carry = buf;
                Ok(())
            }
        };
        if sent.is_err() {
            return;
        }
    }
}

/// Largest settings file read (`--config`, `--providers`).
pub(crate) const MAX_SETTINGS_FILE: u64 = 1 << 20;

/// Reads a settings file of at most [`MAX_SETTINGS_FILE`] bytes as UTF-8:
/// `--config /dev/zero` is an error, not the OOM killer.
pub(crate) fn read_small_file(path: &Path) -> io::Result<String> {
    let file = File::open(path)?;
    let mut text = String::new();
    file.take(MAX_SETTINGS_FILE + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_SETTINGS_FILE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "larger than 1 MiB; not a settings file",
        ));
    }
    Ok(text)
}

/// Reads until `buf` is full or the reader is at its end.
pub(crate) fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    match read_some(r, buf) {
        (_, Some(e)) => Err(e),
        (n, None) => Ok(n),
    }
}

/// Reads until `buf` is full or the end; returns the bytes read, and the
/// error that stopped it early (the bytes before it are kept).
fn read_some<R: Read>(r: &mut R, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, Some(e)),
        }
    }
    (filled, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Filter;
    use crate::scan::Engine;

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
        assert_eq!(
            crate::fuzz::journey_numbers(j),
            crate::fuzz::journey_numbers(w)
        );
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
                w.end_run(&ctx);
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
