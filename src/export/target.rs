//! Where an export goes, decided and checked before the scan, and the one
//! way mtastat writes a file.
//!
//! mtastat runs as root from cron into directories other users can write
//! (node_exporter's textfile directory belongs to `prometheus`). So:
//!
//! * a regular file (or a new one) is replaced atomically: a temp file with
//!   an unpredictable name, created `O_CREAT|O_EXCL` (never through a planted
//!   link) with mode 0600, is written, synced, given the old file's mode and
//!   owner (or 0644), then renamed over the target;
//! * `-`, the process's own standard output (`/dev/stdout`, `/dev/fd/1`, a
//!   file the shell redirected stdout to), a FIFO or a character device is
//!   written in place, never replaced;
//! * a symlink is followed only when it belongs to the user running mtastat
//!   or to root: a link someone else planted is refused, not followed;
//! * a directory or a socket is refused.
//!
//! Temp files carry the writer's pid (`.NAME.mtastat-PID-RANDOM.tmp`), so a
//! later run removes those of processes that died (kill -9, SIGBUS, power
//! loss); SIGINT, SIGTERM and SIGHUP remove the live ones (see [`cleanup`]).

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Mode of an export that replaces no file.
const NEW_FILE_MODE: u32 = 0o644;
/// Bytes of the target's name kept in a temp name (a name near the file-name
/// limit must still leave room for the suffix).
const NAME_IN_TEMP: usize = 64;
/// Symlinks followed before giving up (Linux's own limit).
const MAX_LINKS: usize = 40;

/// A checked export destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Replaced atomically (the path after following allowed symlinks).
    File(PathBuf),
    /// Written in place: a FIFO or a character device.
    Stream(PathBuf),
    /// Standard output (`-`, or a path that is the process's stdout).
    Stdout,
}

impl Target {
    /// Decides how `path` is written, or says in one line why it cannot be.
    pub fn resolve(path: &Path) -> Result<Target, String> {
        if path.as_os_str() == "-" {
            return Ok(Target::Stdout);
        }
        let shown = path.display();
        if is_stdout(path) {
            return Ok(Target::Stdout);
        }
        let real = follow_links(path)?;
        match fs::symlink_metadata(&real) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if real.file_name().is_none() {
                    return Err(format!("{shown}: not a file name"));
                }
                Ok(Target::File(real))
            }
            Err(e) => Err(format!("{shown}: {e}")),
            Ok(m) => {
                let t = m.file_type();
                if t.is_file() {
                    Ok(Target::File(real))
                } else if t.is_fifo() || t.is_char_device() {
                    Ok(Target::Stream(real))
                } else if t.is_dir() {
                    Err(format!("{shown}: is a directory; name a file to export to"))
                } else {
                    Err(format!(
                        "{shown}: not a regular file, FIFO or terminal; refusing to replace it"
                    ))
                }
            }
        }
    }

    /// Device and inode of what this target would write, when it exists.
    pub fn identity(&self) -> Option<(u64, u64)> {
        match self {
            Target::File(p) | Target::Stream(p) => file_id(p),
            Target::Stdout => file_id(Path::new(STDOUT)),
        }
    }

    /// Opens the target for writing; [`Output::commit`] finishes it.
    pub fn open(&self) -> io::Result<Output> {
        match self {
            Target::Stdout => {
                let fd = io::stdout().as_fd().try_clone_to_owned()?;
                Ok(Output::Stream(File::from(fd)))
            }
            Target::Stream(p) => {
                let file = fs::OpenOptions::new().write(true).open(p)?;
                Ok(Output::Stream(file))
            }
            Target::File(p) => Temp::beside(p).map(Output::Replace),
        }
    }
}

/// The process's standard output as a path.
const STDOUT: &str = "/proc/self/fd/1";

/// Device and inode of the file `path` names (links followed): what makes
/// two names one file, hard links included.
pub fn file_id(path: &Path) -> Option<(u64, u64)> {
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The process's standard output, whatever name it goes by.
fn is_stdout(path: &Path) -> bool {
    let (Ok(named), Ok(out)) = (fs::metadata(path), fs::metadata(STDOUT)) else {
        return false;
    };
    // A terminal or /dev/null shared by many: only the names that mean
    // stdout; anything else (a pipe, a redirected file) by identity.
    let by_name = matches!(path.to_str(), Some("/dev/stdout" | "/dev/fd/1" | STDOUT));
    let same = named.dev() == out.dev() && named.ino() == out.ino();
    by_name || (same && !named.file_type().is_char_device())
}

/// Follows `path`'s own symlinks (not its directories') when they belong to
/// this user or root.
fn follow_links(path: &Path) -> Result<PathBuf, String> {
    let me = effective_uid();
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        let meta = match fs::symlink_metadata(&current) {
            Ok(m) => m,
            Err(_) => return Ok(current),
        };
        if !meta.file_type().is_symlink() {
            return Ok(current);
        }
        if meta.uid() != me && meta.uid() != 0 {
            return Err(format!(
                "{}: a symlink owned by uid {}, not by the user running mtastat; \
                 refusing to follow it (name the file it points to)",
                path.display(),
                meta.uid()
            ));
        }
        let link = fs::read_link(&current).map_err(|e| format!("{}: {e}", path.display()))?;
        current = match current.parent() {
            Some(dir) if link.is_relative() => dir.join(link),
            _ => link,
        };
    }
    Err(format!("{}: too many levels of symlinks", path.display()))
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// An open export: a temp file to rename into place, or a stream.
#[derive(Debug)]
pub enum Output {
    /// A temp file beside the target.
    Replace(Temp),
    /// Written in place.
    Stream(File),
}

impl Output {
    /// The file to write to.
    pub fn file(&mut self) -> &mut File {
        match self {
            Output::Replace(t) => t.file(),
            Output::Stream(f) => f,
        }
    }

    /// Finishes the export: the temp file is synced and renamed into place.
    pub fn commit(self) -> io::Result<()> {
        match self {
            Output::Replace(t) => t.persist(),
            Output::Stream(mut f) => f.flush(),
        }
    }
}

/// Writes `target` with `write`, atomically when it is a file.
pub fn write_to<F>(target: &Target, write: F) -> io::Result<()>
where
    F: FnOnce(&mut io::BufWriter<&mut File>) -> io::Result<()>,
{
    let mut out = target.open()?;
    {
        let mut w = io::BufWriter::new(out.file());
        write(&mut w)?;
        w.flush()?;
    }
    out.commit()
}

/// A temp file beside a target, removed unless persisted (on drop, on error
/// paths, and on SIGINT/SIGTERM/SIGHUP through [`cleanup`]).
#[derive(Debug)]
pub struct Temp {
    file: tempfile::NamedTempFile,
    target: PathBuf,
    _registered: Registered,
}

/// A path in the signal cleanup list, for as long as this lives.
#[derive(Debug)]
struct Registered(PathBuf);

impl Drop for Registered {
    fn drop(&mut self) {
        cleanup::unregister(&self.0);
    }
}

impl Temp {
    /// Creates `.NAME.mtastat-PID-RANDOM.tmp` in `target`'s directory, after
    /// removing the temps dead mtastat runs left there.
    pub fn beside(target: &Path) -> io::Result<Temp> {
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        remove_temps(&dir, ".", false);
        let name = target
            .file_name()
            .map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned());
        let file = tempfile::Builder::new()
            .prefix(&format!(
                ".{}.mtastat-{}-",
                truncate(&name, NAME_IN_TEMP),
                std::process::id()
            ))
            .suffix(".tmp")
            .rand_bytes(10)
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(&dir)?;
        cleanup::register(file.path());
        Ok(Temp {
            _registered: Registered(file.path().to_path_buf()),
            file,
            target: target.to_path_buf(),
        })
    }

    /// The open temp file.
    pub fn file(&mut self) -> &mut File {
        self.file.as_file_mut()
    }

    /// Syncs, gives the file the mode (and, as root, the owner) of the file
    /// it replaces, and renames it over the target. On error the temp file
    /// is removed (when the `NamedTempFile` drops).
    pub fn persist(self) -> io::Result<()> {
        let Temp {
            file,
            target,
            _registered,
        } = self;
        let f = file.as_file();
        f.sync_all()?;
        match fs::symlink_metadata(&target) {
            Ok(old) if old.file_type().is_file() => {
                f.set_permissions(fs::Permissions::from_mode(old.mode() & 0o7777))?;
                if effective_uid() == 0 {
                    std::os::unix::fs::fchown(f, Some(old.uid()), Some(old.gid()))?;
                }
            }
            _ => f.set_permissions(fs::Permissions::from_mode(NEW_FILE_MODE))?,
        }
        file.persist(&target).map_err(|e| e.error)?;
        Ok(())
    }
}

/// At most `n` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, n: usize) -> &str {
    let mut end = s.len().min(n);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The pid in a temp name of mtastat's (`.….mtastat-PID[-RANDOM].tmp`, the
/// second form was used before 0.2), or None for any other name.
pub fn temp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (_, tail) = rest.rsplit_once(".mtastat-")?;
    let pid = tail.split_once('-').map_or(tail, |(pid, _)| pid);
    pid.parse().ok()
}

/// True when no process `pid` exists (so its temps are orphans).
fn is_dead(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    !alive && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Removes the mtastat temps in `dir` whose names start with `prefix`:
/// those whose writer is dead, or every one when `any_writer` (the caller
/// holds the lock that keeps live writers out). Returns how many went;
/// errors are ignored: this is tidying.
pub fn remove_temps(dir: &Path, prefix: &str, any_writer: bool) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str().filter(|n| n.starts_with(prefix)) else {
            continue;
        };
        let Some(pid) = temp_owner(name) else {
            continue;
        };
        if (any_writer || is_dead(pid)) && remove_entry(&entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Removes a file, link or directory tree without following a link: a
/// planted link is removed, never its target.
pub fn remove_entry(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

/// Temp files and directories of this run, removed when a signal ends it.
pub mod cleanup {
    use super::*;

    static LIVE: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

    /// Remembers a temp path to remove if the run is interrupted.
    pub fn register(path: &Path) {
        if let Ok(mut live) = LIVE.lock() {
            live.insert(path.to_path_buf());
        }
    }

    /// Forgets a temp path (renamed into place or removed).
    pub fn unregister(path: &Path) {
        if let Ok(mut live) = LIVE.lock() {
            live.remove(path);
        }
    }

    /// Removes every registered temp.
    pub fn remove_all() {
        let paths = match LIVE.lock() {
            Ok(mut live) => std::mem::take(&mut *live),
            Err(_) => return,
        };
        for p in paths {
            let _ = remove_entry(&p);
        }
    }

    /// On SIGINT, SIGTERM or SIGHUP: remove this run's temps, then die of
    /// the signal as if it had not been caught (the exit status says so).
    pub fn on_signals() -> io::Result<()> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        std::thread::Builder::new()
            .name("mtastat-signals".into())
            .spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    remove_all();
                    let _ = signal_hook::low_level::emulate_default_handler(sig);
                    std::process::exit(128 + sig);
                }
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn temp_names_are_recognised() {
        assert_eq!(temp_owner(".mtastat.prom.mtastat-123-AbC9x.tmp"), Some(123));
        assert_eq!(temp_owner(".x.csv.mtastat-77.tmp"), Some(77));
        assert_eq!(temp_owner(".host=a.mtastat-9-zz.tmp"), Some(9));
        assert_eq!(temp_owner("mtastat.prom"), None);
        assert_eq!(temp_owner(".x.mtastat-abc.tmp"), None);
        assert_eq!(temp_owner(".x.mtastat-1"), None);
    }

    #[test]
    fn planted_temp_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        // Every name an attacker could predict: the pid-only form of 0.1.
        let planted = dir
            .path()
            .join(format!(".out.mtastat-{}.tmp", std::process::id()));
        symlink(&victim, &planted).unwrap();
        let target = Target::resolve(&dir.path().join("out")).unwrap();
        write_to(&target, |w| w.write_all(b"metrics")).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(
            fs::read_to_string(dir.path().join("out")).unwrap(),
            "metrics"
        );
        let mode = fs::metadata(dir.path().join("out")).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn replacing_keeps_the_old_mode_and_failing_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        let target = Target::resolve(&p).unwrap();
        assert!(write_to(&target, |_| Err(io::Error::other("boom"))).is_err());
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "temp removed");
        write_to(&target, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o640);
    }

    #[test]
    fn non_files_are_streamed_or_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Target::resolve(Path::new("-")).unwrap(), Target::Stdout);
        assert!(matches!(
            Target::resolve(Path::new("/dev/null")),
            Ok(Target::Stream(_))
        ));
        assert!(
            Target::resolve(dir.path())
                .unwrap_err()
                .contains("directory")
        );
        // A link of ours is followed: the target's directory gets the rename.
        let real = dir.path().join("real.csv");
        fs::write(&real, "x").unwrap();
        let link = dir.path().join("link.csv");
        symlink(&real, &link).unwrap();
        assert_eq!(Target::resolve(&link).unwrap(), Target::File(real));
    }

    #[test]
    fn long_names_leave_room_for_the_temp_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("n".repeat(240));
        write_to(&Target::resolve(&p).unwrap(), |w| w.write_all(b"ok")).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "ok");
    }

    #[test]
    fn stale_temps_of_dead_runs_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // pid_max is at most 2^22: this pid cannot exist.
        let dead = dir.path().join(".x.mtastat-4194305-abc.tmp");
        let mine = dir
            .path()
            .join(format!(".x.mtastat-{}-abc.tmp", std::process::id()));
        let other = dir.path().join("keep.tmp");
        for p in [&dead, &mine, &other] {
            fs::write(p, "").unwrap();
        }
        assert_eq!(remove_temps(dir.path(), ".", false), 1);
        assert!(!dead.exists() && mine.exists() && other.exists());
    }
}
