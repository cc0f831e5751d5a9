//! `--events DIR`: one row per delivery attempt, as Parquet (zstd),
//! Hive-partitioned by `date=YYYY-MM-DD/host=NAME/`, for fleets that keep
//! their mail data in Spark, Trino or DuckDB.
//!
//! Rows are collected per batch (see [`EventBuffer`], the engine's side)
//! and written in pieces of at most [`FLUSH_ROWS`] rows, from the worker
//! threads, so memory stays
//! bounded whatever the input size. Files are written under a hidden name
//! (`.part-….parquet.tmp`, which Hive, Spark, Trino and DuckDB globs skip)
//! and renamed into place by [`EventSink::commit`] at the end of the run,
//! which also removes the files earlier runs left in the partitions this run
//! wrote: **a run replaces the (date, host) partitions it writes**, so running
//! the nightly job twice does not double the rows.
//!
//! The schema is stable (new columns are only ever added at the end):
//!
//! | column | type | |
//! |---|---|---|
//! | `ts` | timestamp (ms), UTC | when the attempt was logged |
//! | `queue_id` | string | Postfix queue id or Exim message id |
//! | `sender_domain` | string | envelope sender's domain; empty for `<>` or when the sender line was not in the input |
//! | `recipient_domain` | string | lowercase |
//! | `provider` | string | mtastat's provider id |
//! | `relay` | string | the host talked to, as logged; empty when none |
//! | `status` | string | sent, deferred, bounced, expired, deliverable, undeliverable |
//! | `dsn` | string, null | enhanced status code `4.7.0` |
//! | `class` | uint8 | 2, 4, 5 |
//! | `subject` | uint8, null | RFC 3463 subject |
//! | `delay` | float64, null | seconds, as logged (to the millisecond) |
//! | `reason` | string, null | the reply text, masked (failures only) |
//! | `sasl_user` | string | the SASL user who submitted the message; empty when none |
//! | `client` | string | who handed it over: `name[ip]` (`unknown[ip]` without a verified name), `local`; empty when the input does not say |
//! | `tls` | string, null | how the connection was protected: `verified`, `trusted`, `encrypted`, `untrusted`, `anonymous`, `clear`, `unknown` (began before the input); null for local deliveries and hand-offs, and for failed attempts that negotiated no TLS (the failure may have come first). `clear` is what the log says: no TLS line before the delivery (Postfix logs them with `smtp_tls_loglevel` ≥ 1, Exim `X=` with its `tls_cipher` selector): trust it for hosts whose rows show TLS elsewhere |
//! | `tls_protocol` | string, null | `TLSv1.3`, `TLSv1.2`, `TLSv1.1`, `TLSv1.0`, `SSLv3`, `other`; null when none or not logged |
//! | `category` | string | mtastat's failure category (`delivered` for a delivery) |
//! | `blocklist` | string, null | the blocklist the reply names |
//! | `attempted` | bool | false for a deferral logged without a new attempt |
//! | `recipient_key` | int64 | a stable hash of the recipient address: distinct recipients without the address |
//! | `recipient` | string, null | the recipient address of a failure (null for deliveries) |
//!
//! `date` and `host` are the partition columns (from the path); rows of a
//! log that names no host (an Exim mainlog) go under `--events-host`
//! (default: this machine's name).

use super::target::{cleanup, remove_temps};
use crate::aggregate::batch::{NO_DELAY, OVERFLOW_HOST};
#[cfg(doc)]
use crate::aggregate::sinks::FLUSH_ROWS;
use crate::aggregate::sinks::{EventBuffer, EventNames, EventWriter};
use crate::dsn::Dsn;
use crate::escape::partition_value;
use crate::time::zone::format_wall;
use polars::prelude::*;
use polars_io::prelude::{ParquetCompression, ParquetWriter};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The lock file in the dataset directory: one writer at a time.
pub const LOCK_FILE: &str = ".mtastat.lock";

/// A partition directory being built: the hidden staging directory and the
/// files written into it.
#[derive(Debug)]
struct Staging {
    dir: PathBuf,
    /// Temp name → final name, both inside `dir`.
    files: Vec<(PathBuf, PathBuf)>,
}

/// Where a run's events go: the root directory and what has been written.
#[derive(Debug)]
pub struct EventSink {
    dir: PathBuf,
    /// Held (flock) from creation to the end of the run.
    _lock: File,
    run: String,
    providers: Vec<String>,
    /// The host of rows whose log names none.
    unnamed_host: Vec<u8>,
    seq: AtomicU64,
    rows: AtomicU64,
    /// Rows whose host was past the table's limit (written under
    /// `host=~overflow`).
    overflow_rows: AtomicU64,
    /// Partition directory → its staging directory, per partition written.
    staged: Mutex<BTreeMap<PathBuf, Staging>>,
    /// The first write error; the run reports it and commits nothing.
    error: Mutex<Option<io::Error>>,
}

impl EventSink {
    /// A sink writing under `dir` (created if missing); `providers` maps
    /// provider ids to names. Takes the dataset's lock (refusing, in one
    /// line, when another mtastat holds it) and removes what runs that died
    /// left behind.
    ///
    /// `unnamed_host`: the host partition of rows whose log names no host
    /// (an Exim mainlog): without it, every Exim host of a fleet would
    /// write (and replace) the same partition.
    pub fn create(dir: &Path, providers: Vec<String>, unnamed_host: &str) -> io::Result<EventSink> {
        fs::create_dir_all(dir)?;
        let lock = lock(dir)?;
        let removed = remove_leftovers(dir);
        if removed > 0 {
            eprintln!(
                "mtastat: removed {removed} unfinished file(s) of an interrupted earlier run from {}",
                crate::escape::terminal(&dir.display().to_string())
            );
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        Ok(EventSink {
            dir: dir.to_path_buf(),
            _lock: lock,
            run: format!("{stamp}-{}", std::process::id()),
            providers,
            unnamed_host: unnamed_host.as_bytes().to_vec(),
            seq: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            overflow_rows: AtomicU64::new(0),
            staged: Mutex::new(BTreeMap::new()),
            error: Mutex::new(None),
        })
    }

    fn fail(&self, e: io::Error) {
        if let Ok(mut slot) = self.error.lock()
            && slot.is_none()
        {
            *slot = Some(e);
        }
    }

    /// Rows written under `host=~overflow` because the run saw more hosts
    /// than [`crate::aggregate::batch::MAX_HOSTS`].
    pub fn overflow_rows(&self) -> u64 {
        self.overflow_rows.load(Ordering::Relaxed)
    }

    /// Puts the run's partitions in place. Each partition switches in one
    /// step (its staging directory is exchanged with the old one, which is
    /// then removed), so a reader globbing `date=*/host=*/*.parquet` sees the
    /// old rows or the new, never neither and never both; a run killed at any
    /// point leaves whole partitions and hidden leftovers the next run
    /// removes. Returns (rows, files).
    pub fn commit(&self) -> io::Result<(u64, usize)> {
        if let Some(e) = self.error.lock().ok().and_then(|mut e| e.take()) {
            self.discard();
            return Err(e);
        }
        let staged = std::mem::take(
            &mut *self
                .staged
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?,
        );
        let mut files = 0;
        let mut failed = None;
        for (partition, staging) in staged {
            if failed.is_none() {
                let put = (|| {
                    for (tmp, fin) in &staging.files {
                        fs::rename(tmp, fin)?;
                    }
                    fault_point("events-before-switch");
                    switch(&staging.dir, &partition)?;
                    fault_point("events-after-switch");
                    Ok::<_, io::Error>(())
                })();
                match put {
                    Ok(()) => files += staging.files.len(),
                    Err(e) => failed = Some(e),
                }
            }
            // Now the old partition (or nothing, or the unused new one).
            let _ = fs::remove_dir_all(&staging.dir);
            cleanup::unregister(&staging.dir);
        }
        match failed {
            Some(e) => Err(e),
            None => Ok((self.rows.load(Ordering::Relaxed), files)),
        }
    }

    /// Removes the run's staging directories (after an error).
    pub fn discard(&self) {
        if let Ok(mut staged) = self.staged.lock() {
            for s in std::mem::take(&mut *staged).into_values() {
                let _ = fs::remove_dir_all(&s.dir);
                cleanup::unregister(&s.dir);
            }
        }
    }

    /// The staging directory of `partition`, created on first use.
    fn staging_dir(&self, partition: &Path, value: &str) -> io::Result<PathBuf> {
        let mut staged = self
            .staged
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?;
        if let Some(s) = staged.get(partition) {
            return Ok(s.dir.clone());
        }
        let date_dir = partition.parent().unwrap_or(&self.dir);
        fs::create_dir_all(date_dir)?;
        let dir = tempfile::Builder::new()
            .prefix(&format!(".host={value}.mtastat-{}-", std::process::id()))
            .suffix(".tmp")
            .rand_bytes(6)
            .tempdir_in(date_dir)?
            .keep();
        cleanup::register(&dir);
        staged.insert(
            partition.to_path_buf(),
            Staging {
                dir: dir.clone(),
                files: Vec::new(),
            },
        );
        Ok(dir)
    }

    /// Writes one partition's rows as one file.
    fn write_frame(&self, date: &str, host: Option<&[u8]>, mut df: DataFrame) {
        let value = match host {
            Some(h) => partition_value(h),
            None => OVERFLOW_PARTITION.to_string(),
        };
        let partition = self
            .dir
            .join(format!("date={date}"))
            .join(format!("host={value}"));
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let name = format!("part-{}-{seq:05}.parquet", self.run);
        let rows = df.height() as u64;
        let mut tmp = PathBuf::new();
        let result = (|| {
            let staging = self.staging_dir(&partition, &value)?;
            tmp = staging.join(format!(".{name}.tmp"));
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            {
                let mut w = BufWriter::new(&mut file);
                ParquetWriter::new(&mut w)
                    .with_compression(ParquetCompression::Zstd(None))
                    .finish(&mut df)
                    .map_err(io::Error::other)?;
                w.flush()?;
            }
            file.sync_all()?;
            Ok::<_, io::Error>(staging.join(&name))
        })();
        match result {
            Ok(fin) => {
                self.rows.fetch_add(rows, Ordering::Relaxed);
                if host.is_none() {
                    self.overflow_rows.fetch_add(rows, Ordering::Relaxed);
                }
                if let Ok(mut staged) = self.staged.lock()
                    && let Some(s) = staged.get_mut(&partition)
                {
                    s.files.push((tmp, fin));
                }
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                self.fail(io::Error::new(
                    e.kind(),
                    format!("{}: {e}", partition.display()),
                ));
            }
        }
    }
}

impl Drop for EventSink {
    /// A run that ends without committing (an error on the way) leaves no
    /// staging directories behind.
    fn drop(&mut self) {
        self.discard();
    }
}

/// The partition of rows whose host was past the host table's limit: `~`
/// is always percent-encoded in a host's value, so no host can name it.
pub const OVERFLOW_PARTITION: &str = "~overflow";

/// Test hook: `MTASTAT_TEST_ABORT=POINT` kills the process at that point
/// of a commit, as a crash or kill -9 would (tests/safety.rs).
fn fault_point(point: &str) {
    if std::env::var_os("MTASTAT_TEST_ABORT").is_some_and(|v| v == point) {
        std::process::abort();
    }
}

/// Takes the dataset's exclusive lock, or says who has it.
fn lock(dir: &Path) -> io::Result<File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)?;
    // SAFETY: flock on a descriptor we own; released when the file closes.
    let held = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if held != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "another mtastat is writing this events directory; run again when it ends",
            ));
        }
        return Err(e);
    }
    Ok(file)
}

/// Under the lock nothing else writes the dataset: every staging directory
/// and temp file in it is a leftover of a run that died. Returns how many
/// were removed.
fn remove_leftovers(dir: &Path) -> usize {
    let Ok(dates) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for date in dates.flatten() {
        let is_dir = date.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir || !date.file_name().to_string_lossy().starts_with("date=") {
            continue;
        }
        // Staging directories of runs that died (any pid: the lock is ours).
        removed += remove_temps(&date.path(), ".host=", true);
        let Ok(entries) = fs::read_dir(date.path()) else {
            continue;
        };
        // Temp files of the layout before 0.2, inside partitions.
        for entry in entries.flatten() {
            let is_partition = entry.file_type().is_ok_and(|t| t.is_dir())
                && entry.file_name().to_string_lossy().starts_with("host=");
            if !is_partition {
                continue;
            }
            for f in fs::read_dir(entry.path()).into_iter().flatten().flatten() {
                let n = f.file_name();
                let n = n.to_string_lossy();
                if n.starts_with(".part-") && n.ends_with(".parquet.tmp") {
                    removed += usize::from(fs::remove_file(f.path()).is_ok());
                }
            }
        }
    }
    removed
}

/// Makes `staging` the partition at `partition` in one step: exchanged with
/// the old one when there is one (`renameat2(RENAME_EXCHANGE)`; the old
/// partition ends up at `staging`), renamed into place when there is none.
/// Where the file system cannot exchange, the old partition is moved aside
/// first (a moment where the partition is missing, never doubled).
fn switch(staging: &Path, partition: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    if fs::symlink_metadata(partition).is_err() {
        return fs::rename(staging, partition);
    }
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))
    };
    let (from, to) = (c(staging)?, c(partition)?);
    // SAFETY: two valid NUL-terminated paths relative to the working directory.
    let swapped = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if swapped == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if !matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    ) {
        return Err(e);
    }
    let aside = staging.with_extension("old.tmp");
    fs::rename(partition, &aside)?;
    fs::rename(staging, partition)?;
    fs::rename(&aside, staging)
}

impl EventWriter for EventSink {
    /// Writes a batch's rows, one file per (date, host).
    fn write(&self, b: &EventBuffer, names: &EventNames<'_>) {
        let mut groups: BTreeMap<(i64, u32), Vec<usize>> = BTreeMap::new();
        for (i, (&ts, &host)) in b.ts.iter().zip(&b.host).enumerate() {
            groups
                .entry((ts.div_euclid(86_400), host))
                .or_default()
                .push(i);
        }
        for ((day, host), rows) in groups {
            let date = format_wall(day * 86_400)[..10].to_string();
            let host = match names.hosts.get(host) {
                b"" if !self.unnamed_host.is_empty() => &self.unnamed_host[..],
                h => h,
            };
            let host = (host != OVERFLOW_HOST).then_some(host);
            match self.frame(b, &rows, names) {
                Ok(df) => self.write_frame(&date, host, df),
                Err(e) => self.fail(io::Error::other(e)),
            }
        }
    }
}

impl EventSink {
    /// The rows `rows` of a batch's buffer as an events frame.
    fn frame(
        &self,
        b: &EventBuffer,
        rows: &[usize],
        names: &EventNames<'_>,
    ) -> PolarsResult<DataFrame> {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let ts: Vec<i64> = rows.iter().map(|&i| b.ts[i] * 1000).collect();
        let queue: Vec<String> = rows
            .iter()
            .map(|&i| text(b.queue_id[i].as_bytes()))
            .collect();
        let sender: Vec<String> = rows
            .iter()
            .map(|&i| text(names.senders.get(b.sender[i])))
            .collect();
        let domain: Vec<String> = rows
            .iter()
            .map(|&i| text(names.domains.get(b.domain[i])))
            .collect();
        let provider: Vec<String> = rows
            .iter()
            .map(|&i| {
                self.providers
                    .get(usize::from(b.provider[i]))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        let relay: Vec<String> = rows
            .iter()
            .map(|&i| text(names.relays.get(b.relay[i])))
            .collect();
        let status: Vec<&str> = rows.iter().map(|&i| b.status[i].as_str()).collect();
        let dsn: Vec<Option<String>> = rows
            .iter()
            .map(|&i| (b.dsn[i] != 0).then(|| Dsn::from_key(b.dsn[i]).to_string()))
            .collect();
        let class: Vec<u8> = rows.iter().map(|&i| b.class[i]).collect();
        let subject: Vec<Option<u8>> = rows
            .iter()
            .map(|&i| crate::dsn::subject_of_key(b.dsn[i]))
            .collect();
        let delay: Vec<Option<f64>> = rows
            .iter()
            .map(|&i| (b.delay_ms[i] != NO_DELAY).then(|| f64::from(b.delay_ms[i]) / 1000.0))
            .collect();
        let reason: Vec<Option<String>> = rows
            .iter()
            .map(|&i| b.reason[i].map(|r| text(names.reasons.get(r))))
            .collect();
        let tls_of = |i: usize| {
            b.tls[i].filter(|t| b.status[i] == crate::event::Status::Sent || t.level.is_tls())
        };
        let tls: Vec<Option<&str>> = rows
            .iter()
            .map(|&i| tls_of(i).map(|t| t.level.as_str()))
            .collect();
        let tls_protocol: Vec<Option<&str>> = rows
            .iter()
            .map(|&i| {
                tls_of(i)
                    .map(|t| t.protocol.as_str())
                    .filter(|p| !p.is_empty())
            })
            .collect();
        let category: Vec<&str> = rows.iter().map(|&i| b.category[i].as_str()).collect();
        let blocklist: Vec<Option<&str>> = rows
            .iter()
            .map(|&i| Some(b.blocklist[i].name()).filter(|n| !n.is_empty()))
            .collect();
        let attempted: Vec<bool> = rows.iter().map(|&i| b.attempted[i]).collect();
        // As int64 (the hash's bits): Spark and Trino read no unsigned 64.
        let recipient_key: Vec<i64> = rows
            .iter()
            .map(|&i| i64::from_ne_bytes(b.recipient_key[i].to_ne_bytes()))
            .collect();
        let recipient: Vec<Option<String>> = rows
            .iter()
            .map(|&i| Some(b.recipient_of(i)).filter(|r| !r.is_empty()).map(text))
            .collect();
        let (client, user): (Vec<String>, Vec<String>) = rows
            .iter()
            .map(|&i| crate::aggregate::frame::origin_parts(names.origins.get(b.origin[i])))
            .unzip();
        let n = rows.len();
        let ts =
            Column::new("ts".into(), ts).cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?;
        DataFrame::new(
            n,
            vec![
                ts,
                Column::new("queue_id".into(), queue),
                Column::new("sender_domain".into(), sender),
                Column::new("recipient_domain".into(), domain),
                Column::new("provider".into(), provider),
                Column::new("relay".into(), relay),
                Column::new("status".into(), status),
                Column::new("dsn".into(), dsn),
                Column::new("class".into(), class),
                Column::new("subject".into(), subject),
                Column::new("delay".into(), delay),
                Column::new("reason".into(), reason),
                Column::new("sasl_user".into(), user),
                Column::new("client".into(), client),
                Column::new("tls".into(), tls),
                Column::new("tls_protocol".into(), tls_protocol),
                Column::new("category".into(), category),
                Column::new("blocklist".into(), blocklist),
                Column::new("attempted".into(), attempted),
                Column::new("recipient_key".into(), recipient_key),
                Column::new("recipient".into(), recipient),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escape::{MAX_PARTITION_VALUE, NULL_PARTITION};

    /// Rows past the host table's limit go to a partition no host can
    /// name, counted (they went under a made-up host name before).
    #[test]
    fn overflow_rows_get_their_own_partition_and_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let sink = EventSink::create(dir.path(), vec!["other".into()], "mx9").unwrap();
        let df = DataFrame::new(1, vec![Column::new("x".into(), [1u32])]).unwrap();
        sink.write_frame("2026-11-22", None, df.clone());
        sink.write_frame("2026-11-22", Some(b"mx1"), df);
        assert_eq!(sink.commit().unwrap(), (2, 2));
        assert_eq!(sink.overflow_rows(), 1);
        let date = dir.path().join("date=2026-11-22");
        assert!(date.join("host=~overflow").is_dir());
        assert!(date.join("host=mx1").is_dir());
        // Staging directories are gone; a second sink waits for the lock.
        let names: Vec<String> = fs::read_dir(&date)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        let busy = EventSink::create(dir.path(), vec![], "mx9").unwrap_err();
        assert!(busy.to_string().contains("another mtastat"), "{busy}");
        drop(sink);
        assert!(EventSink::create(dir.path(), vec![], "mx9").is_ok());
    }

    #[test]
    fn hostile_host_names_stay_inside_the_directory() {
        assert_eq!(partition_value(b"mx1.example.org"), "mx1.example.org");
        assert_eq!(partition_value(b"../../etc"), "%2E.%2F..%2Fetc");
        assert_eq!(partition_value(b""), NULL_PARTITION);
        assert_eq!(partition_value(b"a b=c"), "a%20b%3Dc");
    }

    #[test]
    fn no_host_names_the_null_or_overflow_partition_or_overruns_a_file_name() {
        assert_eq!(
            partition_value(NULL_PARTITION.as_bytes()),
            "%5F_HIVE_DEFAULT_PARTITION__"
        );
        assert_eq!(partition_value(b"~overflow"), "%7Eoverflow");
        let long = vec![b'a'; 300];
        let v = partition_value(&long);
        assert!(v.len() <= MAX_PARTITION_VALUE && v.contains('~'), "{v}");
        let mut other = long.clone();
        other[299] = b'b';
        assert_ne!(v, partition_value(&other), "distinct names stay distinct");
        let escapes = vec![b'%'; 90]; // 270 bytes encoded
        let v = partition_value(&escapes);
        assert!(v.len() <= MAX_PARTITION_VALUE, "{v}");
        let (kept, _) = v.split_once('~').unwrap();
        assert!(
            kept.len() % 3 == 0 && kept.split('%').skip(1).all(|e| e == "25"),
            "{v}"
        );
    }
}
