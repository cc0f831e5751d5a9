//! Getting bytes: memory-mapped files scanned in parallel, or a bounded
//! block reader for stdin, pipes and other non-regular files.

pub mod chunk;
mod mmap;

use crate::aggregate::batch::Batch;
use crate::parse::Unparsed;
use crate::parse::timestamp::{UnixSeconds, YearHint};
use crate::scan::{MAX_LINE_LEN, ScanContext, Worker};
use rayon::prelude::*;
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
pub struct InputError {
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
pub enum ReadMode {
    /// Memory-mapped and split into parallel chunks.
    Mmap,
    /// Read in blocks (stdin, pipes, special files).
    Stream,
}

/// Settings that hold for every input.
#[derive(Clone, Copy, Debug)]
pub struct InputSettings {
    /// `--year`: forces the year of RFC 3164 timestamps.
    pub year: Option<i32>,
    /// Threads the scan may use (for chunk sizing).
    pub threads: usize,
}

/// Scans one input into a batch.
pub fn scan(
    source: &Source,
    settings: InputSettings,
    ctx: &ScanContext<'_>,
) -> Result<(Batch, ReadMode), InputError> {
    let err = |cause| InputError {
        input: source.label(),
        cause,
    };
    match source {
        Source::Stdin => {
            let ctx = with_year(ctx, settings.year, now());
            let batch = scan_reader(io::stdin().lock(), settings.threads, &ctx).map_err(err)?;
            Ok((batch, ReadMode::Stream))
        }
        Source::Path(path) => {
            let file = File::open(path).map_err(err)?;
            let meta = file.metadata().map_err(err)?;
            if meta.is_dir() {
                return Err(err(io::Error::from(io::ErrorKind::IsADirectory)));
            }
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or_else(now, |d| d.as_secs() as UnixSeconds);
            let ctx = with_year(ctx, settings.year, mtime);
            if meta.is_file() && meta.len() > 0 {
                let map = mmap::map(&file).map_err(err)?;
                Ok((scan_bytes(&map, settings.threads, &ctx), ReadMode::Mmap))
            } else if meta.is_file() {
                Ok((Batch::default(), ReadMode::Mmap))
            } else {
                let batch = scan_reader(file, settings.threads, &ctx).map_err(err)?;
                Ok((batch, ReadMode::Stream))
            }
        }
    }
}

fn now() -> UnixSeconds {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as UnixSeconds)
}

fn with_year<'a>(
    ctx: &ScanContext<'a>,
    year: Option<i32>,
    reference: UnixSeconds,
) -> ScanContext<'a> {
    ScanContext {
        year: match year {
            Some(y) => YearHint::fixed(y),
            None => YearHint::from_reference(reference),
        },
        ..*ctx
    }
}

/// Scans an in-memory buffer: line-aligned chunks, rayon fold then reduce.
pub fn scan_bytes(data: &[u8], threads: usize, ctx: &ScanContext<'_>) -> Batch {
    let pieces = chunk::line_aligned(data, chunk::target_size(data.len(), threads));
    scan_pieces(&pieces, ctx)
}

/// Input one worker scans into one batch before it is merged (in pieces).
const RUN_BYTES: usize = 256 << 20;

/// Scans line-aligned pieces in parallel: each worker takes a contiguous
/// run of pieces (up to [`RUN_BYTES`]) into one batch; after each round of
/// runs the batches are merged in input order (which the sender and expiry
/// joins rely on).
///
/// A fold/reduce tree kept finished batches waiting for their siblings, so
/// memory grew with the input; rounds of single pieces paid a barrier and a
/// merge every few milliseconds. Runs bound both: at most one batch of at
/// most 256 MB of input per worker is alive, and a 2 GB file has four rounds.
fn scan_pieces<P: AsRef<[u8]> + Sync>(pieces: &[P], ctx: &ScanContext<'_>) -> Batch {
    let threads = rayon::current_num_threads().max(1);
    let piece_len = pieces.first().map_or(1, |p| p.as_ref().len().max(1));
    let per_run = pieces
        .len()
        .div_ceil(threads)
        .clamp(1, (RUN_BYTES / piece_len).max(1));
    let runs: Vec<&[P]> = pieces.chunks(per_run).collect();
    let mut total = Batch::default();
    for round in runs.chunks(threads) {
        let batches: Vec<Batch> = round
            .par_iter()
            .map(|run| {
                let mut w = Worker::new(ctx);
                for piece in *run {
                    w.scan_chunk(ctx, piece.as_ref());
                }
                w.take_batch()
            })
            .collect();
        for b in batches {
            total = total.merge(b, ctx.filter);
        }
    }
    total
}

/// Bytes per block read from a stream.
const BLOCK: usize = 4 << 20;

/// Scans a stream in bounded memory: blocks of whole lines, a few at a time
/// in parallel. A line longer than [`MAX_LINE_LEN`] is counted and skipped
/// without ever being held whole.
pub fn scan_reader<R: Read>(
    mut reader: R,
    threads: usize,
    ctx: &ScanContext<'_>,
) -> io::Result<Batch> {
    let per_round = threads.max(1) * 2;
    let mut total = Batch::default();
    let mut carry: Vec<u8> = Vec::new();
    let mut skipping = false;
    let mut eof = false;
    while !eof {
        let mut blocks: Vec<Vec<u8>> = Vec::with_capacity(per_round);
        while blocks.len() < per_round && !eof {
            let mut buf = std::mem::take(&mut carry);
            let start = buf.len();
            buf.resize(start + BLOCK, 0);
            let n = read_full(&mut reader, &mut buf[start..])?;
            buf.truncate(start + n);
            eof = n == 0;
            if skipping {
                // Inside an overlong line: drop bytes up to its end.
                match memchr::memchr(b'\n', &buf) {
                    Some(nl) => {
                        buf.drain(..=nl);
                        skipping = false;
                    }
                    None => continue,
                }
            }
            if eof {
                if !buf.is_empty() {
                    blocks.push(buf);
                }
                break;
            }
            match memchr::memrchr(b'\n', &buf) {
                Some(nl) => {
                    carry = buf.split_off(nl + 1);
                    blocks.push(buf);
                }
                None if buf.len() > MAX_LINE_LEN => {
                    total.counters.lines += 1;
                    total.counters.bytes += buf.len() as u64;
                    total.unparsed(Unparsed::TooLong, &buf);
                    skipping = true;
                }
                None => carry = buf,
            }
        }
        total = total.merge(scan_pieces(&blocks, ctx), ctx.filter);
    }
    Ok(total)
}

/// Reads until `buf` is full or the reader is at its end.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
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
            year: YearHint::fixed(2026),
        }
    }

    const LOG: &str = "Nov 22 12:39:02 mx1 postfix/smtp[1]: ABCDEF: to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=4.7.0, status=deferred (host gmail-smtp-in.l.google.com[1.2.3.4] said: 421 4.7.0 Try again later (in reply to end of DATA command))\n\
Nov 22 12:39:03 mx1 postfix/qmgr[2]: ABCDEF: from=<s@x.example>, status=expired, returned to sender\n\
garbage line\n\
\n\
Nov 22 12:39:04 mx1 postfix/smtpd[3]: connect from x[1.2.3.4]\n";

    #[test]
    fn stream_and_mmap_paths_agree() {
        let (e, f) = (Engine::builtin(), Filter::default());
        let c = ctx(&e, &f);
        let a = scan_bytes(LOG.as_bytes(), 2, &c);
        let b = scan_reader(LOG.as_bytes(), 2, &c).unwrap();
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
        let b = scan_reader(&data[..], 1, &c).unwrap();
        assert_eq!(b.counters.unparsed[Unparsed::TooLong.index()], 1);
        assert_eq!(b.counters.deliveries, 2);
        assert_eq!(b.counters.lines, 6);
    }
}
