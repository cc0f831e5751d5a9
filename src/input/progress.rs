//! The progress bar on stderr for large inputs: bytes of input consumed
//! (compressed bytes for compressed files, so the total is the files' sizes).
//!
//! One bar per process, set up once by the command line before the scan and
//! absent otherwise (library use, tests, stderr not a terminal): the scanner
//! calls [`advance`] per piece or block, which is one atomic load when there
//! is no bar.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{self, Read};
use std::sync::OnceLock;

static BAR: OnceLock<ProgressBar> = OnceLock::new();

/// Inputs smaller than this finish before a bar would be worth reading.
pub(crate) const MIN_BYTES: u64 = 64 << 20;

/// Shows a bar for `total` input bytes on stderr. Call once, before the
/// scan; later calls do nothing.
pub(crate) fn start(total: u64) {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(8));
    let style = ProgressStyle::with_template(
        "{spinner} {bytes}/{total_bytes} [{wide_bar}] {binary_bytes_per_sec} {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    let _ = BAR.set(bar);
}

/// Counts `bytes` of input as consumed.
#[inline]
pub(crate) fn advance(bytes: usize) {
    if let Some(bar) = BAR.get() {
        bar.inc(bytes as u64);
    }
}

/// Removes the bar (before the report is printed).
pub(crate) fn finish() {
    if let Some(bar) = BAR.get() {
        bar.finish_and_clear();
    }
}

/// A reader that counts what passes through it as consumed input.
pub(crate) struct Counting<R>(pub R);

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        advance(n);
        Ok(n)
    }
}
