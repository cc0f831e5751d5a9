//! The crate's only `unsafe`: memory-mapping a log file, and the SIGBUS
//! handler that turns a file shrinking under the mapping into a clear
//! message instead of a silent death by signal.

use memmap2::{Advice, Mmap};
use std::fs::File;
use std::io;
use std::sync::Once;

/// Maps `file` read-only and advises sequential access.
pub(crate) fn map(file: &File) -> io::Result<Mmap> {
    install_sigbus_handler();
    // SAFETY: the mapping is read-only and private to this process. If another
    // process truncates the file while we scan it (logrotate's copytruncate),
    // reading past the new end raises SIGBUS, which the handler below turns
    // into a message and exit status 2; it never corrupts memory. Files
    // written to lately are not mapped at all (see `ReadMode::Live`).
    let map = unsafe { Mmap::map(file)? };
    // Only a hint; failure changes nothing but speed.
    let _ = map.advise(Advice::Sequential);
    Ok(map)
}

const SIGBUS_MESSAGE: &[u8] = b"mtastat: an input file shrank while it was being read \
(truncated, e.g. by logrotate copytruncate); nothing was reported. Run again, or read it \
as a stream: mtastat - < FILE\n";

/// Set by the first worker to fault: several can fault at once (each reads
/// its own piece of the shrunk file), and the message is said once.
static FAULTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_sigbus(_: libc::c_int) {
    // Only async-signal-safe calls: an atomic swap, write(2) and _exit(2).
    if FAULTED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        // Another thread is saying it and exiting; wait for that.
        loop {
            // SAFETY: pause(2) is async-signal-safe.
            unsafe { libc::pause() };
        }
    }
    // SAFETY: the buffer is a static byte string; _exit never returns.
    unsafe {
        libc::write(
            libc::STDERR_FILENO,
            SIGBUS_MESSAGE.as_ptr().cast(),
            SIGBUS_MESSAGE.len(),
        );
        libc::_exit(2);
    }
}

fn install_sigbus_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction with a handler that only calls
        // async-signal-safe functions; installed once, before any mapping.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
    });
}
