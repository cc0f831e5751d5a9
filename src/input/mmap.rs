//! The crate's only `unsafe`: memory-mapping a log file.

use memmap2::{Advice, Mmap};
use std::fs::File;
use std::io;

/// Maps `file` read-only and advises sequential access.
pub fn map(file: &File) -> io::Result<Mmap> {
    // SAFETY: the mapping is read-only and private to this process. If another
    // process truncates the file while we scan it (logrotate's copytruncate),
    // reading past the new end raises SIGBUS; the caller only maps regular
    // files and the worst outcome is that signal, never memory corruption.
    let map = unsafe { Mmap::map(file)? };
    // Only a hint; failure changes nothing but speed.
    let _ = map.advise(Advice::Sequential);
    Ok(map)
}
