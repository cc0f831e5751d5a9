//! `--state DIR`: this run's days written as `DIR/day=YYYY-MM-DD/HOST.parquet`
//! (the history module reads them back). Each file is replaced atomically
//! like every export ([`super::target`]), so a day run again replaces its
//! file and a run that dies halfway leaves the old one.
//!
//! Root's cron may write into a directory another user can write: the day
//! directories are made here, never followed through a symlink (a planted
//! `day=…` link to `/etc` is refused), and the file itself goes through the
//! export checks (no planted link followed, no FIFO or device written).

use super::target::Target;
use super::{Format, write_frame};
use crate::history::{History, day_name, state_file_name};
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// A directory `path` as it must be to write into: made (mode 0755) when
/// missing, refused when it is a symlink or not a directory.
fn real_dir(path: &Path) -> Result<(), String> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_dir() => Ok(()),
        Ok(m) if m.file_type().is_symlink() => Err(format!(
            "{}: a symlink; --state writes only into directories it made or real ones",
            path.display()
        )),
        Ok(_) => Err(format!("{}: not a directory", path.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::DirBuilder::new()
            .mode(0o755)
            .create(path)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// The file a day of `host` is kept in (its journey statistics' when
/// `journeys`); [`History::load`] reads the same names.
fn state_file(dir: &Path, day: i64, host: &str, journeys: bool) -> PathBuf {
    dir.join(format!("day={}", day_name(day)))
        .join(state_file_name(host, journeys))
}

/// Writes every day of `run` for `host` into `dir` (and its journey
/// statistics under its main day); returns what could not be written (one
/// line each), having written the rest.
pub fn write_days(dir: &Path, host: &str, run: &History) -> Vec<String> {
    let mut errors = Vec::new();
    // DIR itself may be a link an administrator made (to a bigger disk);
    // the day directories under it are mtastat's own.
    if let Err(e) = match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!("{}: not a directory", dir.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => real_dir(dir),
        Err(e) => Err(format!("{}: {e}", dir.display())),
    } {
        return vec![format!("--state: {e}")];
    }
    let main = run.main_day();
    let files = run
        .days
        .iter()
        .map(|&d| (d, false))
        .chain(main.map(|d| (d, true)));
    for (day, journeys) in files {
        let path = state_file(dir, day, host, journeys);
        let result = path
            .parent()
            .map_or(Ok(()), real_dir)
            .and_then(|()| Target::resolve(&path))
            .and_then(|t| match t {
                Target::File(_) => Ok(t),
                _ => Err(format!(
                    "{}: not a regular file; --state replaces only its own files",
                    path.display()
                )),
            })
            .and_then(|t| {
                let df = if journeys {
                    run.journey_frame(day, host)
                } else {
                    run.day_frame(day, host)
                }
                .map_err(|e| format!("{}: {e}", path.display()))?;
                write_frame(&df, &t, Format::Parquet)
                    .map_err(|e| format!("{}: {e}", path.display()))
            });
        if let Err(e) = result {
            errors.push(format!("--state: {e}"));
        }
    }
    errors
}
