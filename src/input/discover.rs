//! From what was named on the command line to the files to read, in order:
//! a directory stands for the mail logs in it, and rotated files are read
//! oldest first, whatever order the shell's glob put them in
//! (`mail.log mail.log.1 mail.log.10.gz mail.log.2.gz …`), so the timeline
//! and the per-message joins run across rotation boundaries.

use super::InputSettings;
use super::decode::Compression;
use super::{InputError, Source};
use crate::time::{Clock, UnixSeconds};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// File-name beginnings that mark a mail log: Debian/Ubuntu `mail.log`,
/// RHEL `maillog`, Exim `mainlog`, cPanel `exim_mainlog` — with any
/// rotation suffix (`.1`, `.2.gz`, `-20261122`, `-20261122.gz`).
pub(crate) const MAIL_LOG_NAMES: [&str; 4] = ["mail.log", "maillog", "mainlog", "exim_mainlog"];

/// Where a postmaster looks for this host's mail log, in order: Debian and
/// Ubuntu, RHEL/Fedora/FreeBSD, Debian's Exim, other Exims, cPanel.
pub(crate) const DEFAULT_LOGS: [&str; 6] = [
    "/var/log/mail.log",
    "/var/log/maillog",
    "/var/log/exim4/mainlog",
    "/var/log/exim/main.log",
    "/var/log/exim/mainlog",
    "/var/log/exim_mainlog",
];

/// The journal query for hosts that log mail only to journald (Debian 12
/// and others without rsyslog): every message of the mail facility.
pub(crate) const JOURNAL_COMMAND: [&str; 5] = [
    "journalctl",
    "-o",
    "json",
    "--no-pager",
    "SYSLOG_FACILITY=2",
];

/// This host's mail log when no file is named: the first of
/// [`DEFAULT_LOGS`] that exists (under `$MTASTAT_DEFAULT_ROOT`, a test
/// hook, when set), else `None` (then the journal is read).
pub(crate) fn default_log() -> Option<PathBuf> {
    let root = std::env::var_os("MTASTAT_DEFAULT_ROOT").map(PathBuf::from);
    DEFAULT_LOGS.iter().find_map(|p| {
        let path = match &root {
            Some(r) => r.join(p.trim_start_matches('/')),
            None => PathBuf::from(p),
        };
        path.exists().then_some(path)
    })
}

/// Subdirectories searched too (Debian's Exim logs to `/var/log/exim4/`).
const MAIL_LOG_DIRS: [&str; 2] = ["exim4", "exim"];

/// Decoded bytes looked at for a file's first timestamp.
const PEEK: usize = 64 << 10;

/// How a line's time is read (the line header parser, which input does
/// not import: the caller hands it over).
pub(crate) type LineTime = fn(&[u8], Clock) -> Option<UnixSeconds>;

/// Expands directories and orders the files by their first timestamp,
/// read with `line_time`.
///
/// With standard input among the sources nothing is reordered (it cannot be
/// peeked without being consumed). A directory without mail logs is an error.
pub(crate) fn expand(
    sources: &[Source],
    settings: InputSettings,
    line_time: LineTime,
) -> (Vec<Source>, Vec<InputError>) {
    let mut files = Vec::with_capacity(sources.len());
    let mut errors = Vec::new();
    for s in sources {
        match s {
            Source::Path(p) if p.is_dir() => match mail_logs_in(p) {
                Ok(found) if found.is_empty() => errors.push(InputError {
                    input: p.display().to_string(),
                    cause: io::Error::other(format!(
                        "a directory without mail logs (looked for {}*)",
                        MAIL_LOG_NAMES.join("*, ")
                    )),
                }),
                Ok(found) => files.extend(found.into_iter().map(Source::Path)),
                Err(cause) => errors.push(InputError {
                    input: p.display().to_string(),
                    cause,
                }),
            },
            other => files.push(other.clone()),
        }
    }
    if !files.contains(&Source::Stdin) && files.len() > 1 {
        let mut keyed: Vec<(Option<UnixSeconds>, usize, Source)> = files
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let key = match &s {
                    Source::Path(p) => time_key(p, settings, line_time),
                    Source::Stdin => None,
                };
                (key, i, s)
            })
            .collect();
        // Files without a time (unreadable: reported later) keep their place
        // relative to each other, after the rest.
        keyed.sort_by_key(|(t, i, _)| (t.is_none(), *t, *i));
        files = keyed.into_iter().map(|(_, _, s)| s).collect();
    }
    (files, errors)
}

/// The mail logs directly in `dir` and in its Exim subdirectories.
fn mail_logs_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let kind = entry.file_type()?;
        if kind.is_dir() && MAIL_LOG_DIRS.contains(&name.as_ref()) {
            found.extend(mail_logs_in(&path)?);
        } else if !kind.is_dir() && is_mail_log_name(&name) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// `mail.log`, `mail.log.1`, `mail.log.2.gz`, `maillog-20261122` …, but not
/// `mail.logger` or `mainlog.swp`.
pub(crate) fn is_mail_log_name(name: &str) -> bool {
    MAIL_LOG_NAMES.iter().any(|base| {
        name.strip_prefix(base).is_some_and(|rest| {
            let rest = strip_compression(rest);
            rest.is_empty()
                || rest
                    .strip_prefix('.')
                    .or_else(|| rest.strip_prefix('-'))
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    })
}

/// When a file starts: its first timestamp, else its modification time.
fn time_key(path: &Path, settings: InputSettings, line_time: LineTime) -> Option<UnixSeconds> {
    let meta = fs::metadata(path).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_secs() as UnixSeconds;
    let reference = year_reference(path, mtime, settings.zone);
    Some(first_time(path, settings.clock(reference), line_time).unwrap_or(mtime))
}

/// The time a file's year-less lines are read against: the date in a
/// date-named rotation's name, else its modification time. Ordering the
/// files and scanning them must agree, so both ask here.
pub(crate) fn year_reference(
    path: &Path,
    mtime: UnixSeconds,
    zone: crate::time::zone::Zone,
) -> UnixSeconds {
    rotation_date(path, zone).unwrap_or(mtime)
}

/// `name` without a compression suffix mtastat reads (`.gz`, `.zst`,
/// `.bz2`, `.xz`).
fn strip_compression(name: &str) -> &str {
    [".gz", ".zst", ".bz2", ".xz"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(name)
}

/// The end of the day a date-named rotation names (`maillog-20210926`,
/// `mail.log-20261122.gz`, logrotate's `dateext`), in `zone`: the year of
/// its year-less lines comes from the name, which survives a copy that
/// changes the file's mtime.
fn rotation_date(path: &Path, zone: crate::time::zone::Zone) -> Option<UnixSeconds> {
    let name = strip_compression(path.file_name()?.to_str()?);
    let (base, date) = name.rsplit_once('-')?;
    if !MAIL_LOG_NAMES.contains(&base)
        || date.len() != 8
        || !date.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let year: i32 = date[..4].parse().ok()?;
    let month: u32 = date[4..6].parse().ok()?;
    let day: u32 = date[6..].parse().ok()?;
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || day == 0
        || day > crate::time::days_in_month(year, month)
    {
        return None;
    }
    let wall = crate::time::days_from_civil(year, month, day) * 86_400 + 86_399;
    Some(zone.to_utc(wall))
}

/// The first timestamp in the first [`PEEK`] decoded bytes of a file.
fn first_time(path: &Path, hint: Clock, line_time: LineTime) -> Option<UnixSeconds> {
    if !fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut file = File::open(path).ok()?;
    let mut reader: Box<dyn Read + Send> = match Compression::of_file(&mut file).ok()? {
        Some(c) => c.decoder(file).ok()?,
        None => Box::new(file),
    };
    let mut buf = vec![0u8; PEEK];
    // A corrupt compressed file may fail here; its first bytes still count.
    let got = read_some(&mut reader, &mut buf);
    buf[..got]
        .split(|b| *b == b'\n')
        .find_map(|line| line_time(line, hint))
}

/// Reads until `buf` is full, the end, or an error; returns the bytes read.
fn read_some(r: &mut dyn Read, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_dates_from_names() {
        let utc = crate::time::zone::Zone::UTC;
        let day = |y, m, d| crate::time::days_from_civil(y, m, d) * 86_400 + 86_399;
        assert_eq!(
            rotation_date(Path::new("/var/log/maillog-20210926"), utc),
            Some(day(2021, 9, 26))
        );
        assert_eq!(
            rotation_date(Path::new("mail.log-20261122.gz"), utc),
            Some(day(2026, 11, 22))
        );
        for no in [
            "mail.log.1",
            "mail.log-20261322",
            "other-20261122",
            "mail.log-2026112",
        ] {
            assert_eq!(rotation_date(Path::new(no), utc), None, "{no}");
        }
    }

    #[test]
    fn mail_log_names() {
        for yes in [
            "mail.log",
            "mail.log.1",
            "mail.log.2.gz",
            "mail.log-20261122",
            "mail.log-20261122.gz",
            "maillog",
            "maillog.3.xz",
            "mainlog",
            "mainlog.1",
            "mainlog.12.zst",
            "exim_mainlog",
        ] {
            assert!(is_mail_log_name(yes), "{yes}");
        }
        for no in [
            "mail.logger",
            "mainlog.swp",
            "mail.err",
            "syslog",
            "mail.log.",
            "mail.log.1.txt",
        ] {
            assert!(!is_mail_log_name(no), "{no}");
        }
    }
}
