//! Getting bytes: memory-mapped files cut into line-aligned pieces, or a
//! bounded block reader for stdin, pipes, live and compressed files.
//!
//! Input decides only how an input's bytes arrive; where they go is a
//! [`Sink`] the caller gives (the analysis gives aggregate's parallel runs).
//! So input imports no later stage: it knows lines only as far as it must
//! cut at newlines and never hold a line longer than [`MAX_LINE_LEN`].

pub(crate) mod chunk;
pub(crate) mod decode;
pub(crate) mod discover;
pub(crate) mod follow;
mod mmap;
pub(crate) mod progress;

use progress::Counting;

use decode::Compression;

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

/// Lines longer than this are never held whole: a stream skips them to
/// their end and hands the sink their first bytes and length. No MTA
/// writes them, and it bounds the memory and the work per line.
pub(crate) const MAX_LINE_LEN: usize = 1 << 20;

/// Bytes of an over-long line kept as its sample.
const OVERLONG_SAMPLE: usize = 1 << 10;

/// Where an input's bytes go, in input order.
pub trait Sink {
    /// A new input begins: its timestamps without a year or a zone are read
    /// with `clock` (from `--year`, its mtime or its rotation date).
    fn begin(&mut self, clock: Clock);
    /// Line-aligned pieces (every piece ends with a newline but perhaps the
    /// input's last), in order. `count_progress`: the bytes were mapped, not
    /// read, so the progress bar advances as they are scanned (a stream's
    /// bytes count as they are read).
    fn pieces<P: AsRef<[u8]> + Sync>(&mut self, pieces: &[P], count_progress: bool);
    /// A stream's line longer than [`MAX_LINE_LEN`] that did not end in the
    /// read block after its start: skipped to its end, never held whole,
    /// and handed over as its first bytes and its length (newline
    /// included). Shorter over-long lines arrive in pieces, and the scan
    /// counts them the same way.
    fn overlong(&mut self, sample: &[u8], len: u64);
    /// Bytes taken so far (a file that comes out shorter than it was is
    /// told by this).
    fn bytes(&self) -> u64;
}

/// How one input was read.
#[derive(Debug)]
pub(crate) struct Fed {
    /// How it was read.
    pub mode: ReadMode,
    /// Why the input may be incomplete (corrupt compressed data, a read
    /// error, a file that shrank while being read): the sink holds what
    /// was read before.
    pub problem: Option<String>,
}

/// Reads one input into `sink`, which holds every input before it (joins
/// across files, such as message journeys over a log rotation, need it).
pub(crate) fn feed(
    source: &Source,
    settings: InputSettings,
    sink: &mut impl Sink,
) -> Result<Fed, InputError> {
    let err = |cause| InputError {
        input: source.label(),
        cause,
    };
    match source {
        Source::Stdin => {
            sink.begin(settings.clock(now()));
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
                        sink,
                    ))
                }
                None => Ok(streamed(stdin, ReadMode::Stream, None, settings, sink)),
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
            sink.begin(settings.clock(discover::year_reference(path, mtime, settings.zone)));
            if !meta.is_file() {
                return Ok(streamed(
                    Counting(file),
                    ReadMode::Stream,
                    None,
                    settings,
                    sink,
                ));
            }
            if meta.len() == 0 {
                return Ok(Fed {
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
                    sink,
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
                    sink,
                ));
            }
            let map = mmap::map(&file).map_err(err)?;
            feed_bytes(&map, settings.threads, sink);
            Ok(Fed {
                mode: ReadMode::Mmap,
                problem: None,
            })
        }
    }
}

/// Reads a stream with [`feed_reader`]; a read error or a file that came
/// out shorter than it was (`expected` bytes) becomes the input's problem.
fn streamed<R: Read + Send>(
    reader: R,
    mode: ReadMode,
    expected: Option<u64>,
    settings: InputSettings,
    sink: &mut impl Sink,
) -> Fed {
    let before = sink.bytes();
    let error = feed_reader(reader, settings.threads, sink);
    let bytes = sink.bytes() - before;
    let problem = match (error, expected) {
        (Some(e), _) => Some(match mode {
            ReadMode::Decompressed(c) => format!(
                "{} data is corrupt or truncated after {bytes} decompressed bytes ({e}); counted what came before",
                c.as_str(),
            ),
            _ => format!("read error after {bytes} bytes ({e}); counted what came before"),
        }),
        (None, Some(len)) if bytes < len => Some(format!(
            "file shrank while being read ({len} bytes at open, {bytes} read): truncated or rotated with copytruncate; counted what was read",
        )),
        _ => None,
    };
    Fed { mode, problem }
}

/// Feeds an in-memory buffer (a mapped file) as line-aligned pieces sized
/// for `threads` workers.
pub fn feed_bytes(data: &[u8], threads: usize, sink: &mut impl Sink) {
    let pieces = chunk::line_aligned(data, chunk::target_size(data.len(), threads));
    sink.pieces(&pieces, true);
}

fn now() -> UnixSeconds {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as UnixSeconds)
}

/// Bytes per block read from a stream.
pub(crate) const BLOCK: usize = 4 << 20;

/// What the reader thread hands to the scanning side.
enum Block {
    /// Whole lines (the last one may lack its newline at the end of input).
    Lines(Vec<u8>),
    /// A line longer than [`MAX_LINE_LEN`]: its first bytes and its length.
    Overlong { sample: Vec<u8>, len: u64 },
    /// The reader failed; nothing follows.
    Failed(io::Error),
}

/// Feeds a stream in bounded memory. A reader thread (decompressing, when
/// the reader is a decoder) cuts the input into blocks of whole lines while
/// the sink scans the blocks before them, so a `.gz` file is read at the
/// decoder's speed. A line longer than [`MAX_LINE_LEN`] is handed over as
/// [`Sink::overlong`], never held whole. Returns the read error that ended
/// the input early, if any.
pub(crate) fn feed_reader<R: Read + Send>(
    reader: R,
    threads: usize,
    sink: &mut impl Sink,
) -> Option<io::Error> {
    let per_round = threads.max(1) * 2;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Block>(per_round);
    let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        scope.spawn(move || cut_blocks(reader, &tx, &spare_rx));
        let mut failure = None;
        let mut done = false;
        while !done {
            let mut blocks: Vec<Vec<u8>> = Vec::with_capacity(per_round);
            while blocks.len() < per_round {
                match rx.recv() {
                    Ok(Block::Lines(b)) => blocks.push(b),
                    Ok(Block::Overlong { sample, len }) => sink.overlong(&sample, len),
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
            sink.pieces(&blocks, false);
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
                let sample = buf[..buf.len().min(OVERLONG_SAMPLE)].to_vec();
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

    /// A sink that keeps what it is given.
    #[derive(Default)]
    struct Recorder {
        clocks: usize,
        bytes: Vec<u8>,
        pieces: usize,
        overlong: Vec<(Vec<u8>, u64)>,
    }

    impl Sink for Recorder {
        fn begin(&mut self, _clock: Clock) {
            self.clocks += 1;
        }
        fn pieces<P: AsRef<[u8]> + Sync>(&mut self, pieces: &[P], _count_progress: bool) {
            for p in pieces {
                let p = p.as_ref();
                // Every piece ends at a newline but the input's last.
                assert!(p.ends_with(b"\n") || self.overlong.len() < 2);
                self.bytes.extend_from_slice(p);
                self.pieces += 1;
            }
        }
        fn overlong(&mut self, sample: &[u8], len: u64) {
            self.overlong.push((sample.to_vec(), len));
        }
        fn bytes(&self) -> u64 {
            self.bytes.len() as u64 + self.overlong.iter().map(|o| o.1).sum::<u64>()
        }
    }

    fn lines(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("line {i} of the input\n").into_bytes())
            .collect()
    }

    #[test]
    fn mapped_and_streamed_bytes_reach_the_sink_whole_and_in_order() {
        let data = lines(400_000);
        let mut mapped = Recorder::default();
        feed_bytes(&data, 4, &mut mapped);
        assert_eq!(mapped.bytes, data);
        assert!(mapped.pieces > 1, "cut for four workers");
        let mut streamed = Recorder::default();
        assert!(feed_reader(&data[..], 2, &mut streamed).is_none());
        assert_eq!(streamed.bytes, data);
        assert!(streamed.overlong.is_empty());
    }

    #[test]
    fn an_overlong_stream_line_is_handed_over_by_length_not_held() {
        let mut data = lines(10);
        let long = MAX_LINE_LEN + 3 * BLOCK + 10;
        data.extend(std::iter::repeat_n(b'x', long));
        data.push(b'\n');
        let tail = lines(3);
        data.extend_from_slice(&tail);
        let mut sink = Recorder::default();
        assert!(feed_reader(&data[..], 1, &mut sink).is_none());
        assert_eq!(sink.overlong.len(), 1);
        let (sample, len) = &sink.overlong[0];
        assert_eq!(*len, long as u64 + 1, "newline included");
        assert!(sample.len() <= OVERLONG_SAMPLE && sample.iter().all(|&b| b == b'x'));
        assert_eq!(sink.bytes, [lines(10), tail].concat());
        assert_eq!(sink.bytes(), data.len() as u64);
    }

    #[test]
    fn a_file_that_shrinks_while_read_is_a_problem_not_an_error() {
        let data = lines(100);
        let mut sink = Recorder::default();
        let settings = InputSettings {
            journeys: true,
            summary: false,
            year: Some(2026),
            zone: Zone::UTC,
            threads: 1,
        };
        let fed = streamed(
            &data[..],
            ReadMode::Live,
            Some(data.len() as u64 + 50),
            settings,
            &mut sink,
        );
        let problem = fed.problem.unwrap_or_default();
        assert!(
            problem.starts_with("file shrank while being read"),
            "{problem}"
        );
        assert_eq!(sink.bytes, data);
    }
}
