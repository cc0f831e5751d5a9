//! `--events DIR`: one row per delivery attempt, as Parquet (zstd),
//! Hive-partitioned by `date=YYYY-MM-DD/host=NAME/`, for fleets that keep
//! their mail data in Spark, Trino or DuckDB.
//!
//! Rows are collected per batch (see [`EventBuffer`]) and written in pieces
//! of at most [`FLUSH_ROWS`] rows, from the worker threads, so memory stays
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
//!
//! `date` and `host` are the partition columns (from the path).

use crate::aggregate::batch::{Attempt, Interner, NO_DELAY, NO_SUBJECT, QueueId, subject_byte};
use crate::classify::provider::ProviderId;
use crate::dsn::Dsn;
use crate::event::Status;
use crate::zone::format_wall;
use polars::prelude::*;
use polars_io::prelude::{ParquetCompression, ParquetWriter};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Rows a batch holds before it writes them out.
pub const FLUSH_ROWS: usize = 1 << 18;

/// Where a run's events go: the root directory and what has been written.
#[derive(Debug)]
pub struct EventSink {
    dir: PathBuf,
    run: String,
    providers: Vec<String>,
    seq: AtomicU64,
    rows: AtomicU64,
    /// Temp file → final name, per partition directory.
    staged: Mutex<BTreeMap<PathBuf, Vec<(PathBuf, PathBuf)>>>,
    /// The first write error; the run reports it and commits nothing.
    error: Mutex<Option<io::Error>>,
}

impl EventSink {
    /// A sink writing under `dir` (created if missing); `providers` maps
    /// provider ids to names.
    pub fn create(dir: &Path, providers: Vec<String>) -> io::Result<EventSink> {
        fs::create_dir_all(dir)?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        Ok(EventSink {
            dir: dir.to_path_buf(),
            run: format!("{stamp}-{}", std::process::id()),
            providers,
            seq: AtomicU64::new(0),
            rows: AtomicU64::new(0),
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

    /// Moves the run's files into place, replacing the files of earlier runs
    /// in the partitions written. Returns (rows, files).
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
        for (partition, parts) in staged {
            for entry in fs::read_dir(&partition)? {
                let path = entry?.path();
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                if name.is_some_and(|n| n.starts_with("part-") && n.ends_with(".parquet")) {
                    fs::remove_file(&path)?;
                }
            }
            for (tmp, fin) in parts {
                fs::rename(&tmp, &fin)?;
                files += 1;
            }
        }
        Ok((self.rows.load(Ordering::Relaxed), files))
    }

    /// Removes the run's temp files (after an error).
    pub fn discard(&self) {
        if let Ok(mut staged) = self.staged.lock() {
            for (tmp, _) in std::mem::take(&mut *staged).into_values().flatten() {
                let _ = fs::remove_file(tmp);
            }
        }
    }

    /// Writes one partition's rows as one file.
    fn write(&self, date: &str, host: &str, mut df: DataFrame) {
        let partition = self
            .dir
            .join(format!("date={date}"))
            .join(format!("host={}", partition_value(host)));
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let name = format!("part-{}-{seq:05}.parquet", self.run);
        let tmp = partition.join(format!(".{name}.tmp"));
        let fin = partition.join(&name);
        let rows = df.height() as u64;
        let result = (|| {
            fs::create_dir_all(&partition)?;
            let mut file = File::create(&tmp)?;
            {
                let mut w = BufWriter::new(&mut file);
                ParquetWriter::new(&mut w)
                    .with_compression(ParquetCompression::Zstd(None))
                    .finish(&mut df)
                    .map_err(io::Error::other)?;
                w.flush()?;
            }
            file.sync_all()
        })();
        match result {
            Ok(()) => {
                self.rows.fetch_add(rows, Ordering::Relaxed);
                if let Ok(mut staged) = self.staged.lock() {
                    staged.entry(partition).or_default().push((tmp, fin));
                }
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                self.fail(io::Error::new(e.kind(), format!("{}: {e}", tmp.display())));
            }
        }
    }
}

/// A host name as a path component: anything but `[A-Za-z0-9._-]` becomes
/// `%XX`, so a hostile host name cannot climb out of the directory.
fn partition_value(host: &str) -> String {
    if host.is_empty() {
        return "__HIVE_DEFAULT_PARTITION__".into();
    }
    let mut out = String::with_capacity(host.len());
    for b in host.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && !out.is_empty()) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One batch's rows, as interned ids of that batch (resolved when written).
/// (Clone because batches are; a clone would write its rows again.)
#[derive(Clone, Debug)]
pub struct EventBuffer {
    sink: std::sync::Arc<EventSink>,
    ts: Vec<i64>,
    host: Vec<u32>,
    queue_id: Vec<QueueId>,
    sender: Vec<u32>,
    domain: Vec<u32>,
    provider: Vec<ProviderId>,
    relay: Vec<u32>,
    status: Vec<Status>,
    dsn: Vec<u32>,
    class: Vec<u8>,
    delay_ms: Vec<u32>,
    reason: Vec<Option<u32>>,
}

/// The interners a buffer's ids refer to.
pub struct Names<'a> {
    /// Syslog hosts.
    pub hosts: &'a Interner,
    /// Sender domains.
    pub senders: &'a Interner,
    /// Recipient domains.
    pub domains: &'a Interner,
    /// Relay hosts.
    pub relays: &'a Interner,
    /// Masked reasons.
    pub reasons: &'a Interner,
}

impl EventBuffer {
    /// An empty buffer writing to `sink`.
    pub fn new(sink: std::sync::Arc<EventSink>) -> EventBuffer {
        EventBuffer {
            sink,
            ts: Vec::new(),
            host: Vec::new(),
            queue_id: Vec::new(),
            sender: Vec::new(),
            domain: Vec::new(),
            provider: Vec::new(),
            relay: Vec::new(),
            status: Vec::new(),
            dsn: Vec::new(),
            class: Vec::new(),
            delay_ms: Vec::new(),
            reason: Vec::new(),
        }
    }

    /// The sink this buffer writes to.
    pub fn sink(&self) -> std::sync::Arc<EventSink> {
        self.sink.clone()
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// True when no rows are held.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Adds one attempt (its sender already joined).
    #[inline]
    pub fn push(&mut self, a: &Attempt, sender: u32) {
        self.ts.push(a.ts);
        self.host.push(a.host);
        self.queue_id.push(a.queue_id);
        self.sender.push(sender);
        self.domain.push(a.domain);
        self.provider.push(a.provider);
        self.relay.push(a.relay);
        self.status.push(a.status);
        self.dsn.push(a.dsn);
        self.class.push(a.class);
        self.delay_ms.push(a.delay_ms);
        self.reason.push(a.reason);
    }

    /// Writes the rows held, one file per (date, host), and empties the buffer.
    pub fn flush(&mut self, names: &Names<'_>) {
        if self.is_empty() {
            return;
        }
        let mut groups: BTreeMap<(i64, u32), Vec<usize>> = BTreeMap::new();
        for (i, (&ts, &host)) in self.ts.iter().zip(&self.host).enumerate() {
            groups
                .entry((ts.div_euclid(86_400), host))
                .or_default()
                .push(i);
        }
        for ((day, host), rows) in groups {
            let date = format_wall(day * 86_400)[..10].to_string();
            let host = String::from_utf8_lossy(names.hosts.get(host)).into_owned();
            match self.frame(&rows, names) {
                Ok(df) => self.sink.write(&date, &host, df),
                Err(e) => self.sink.fail(io::Error::other(e)),
            }
        }
        for v in [
            &mut self.host,
            &mut self.sender,
            &mut self.domain,
            &mut self.relay,
        ] {
            v.clear();
        }
        self.ts.clear();
        self.queue_id.clear();
        self.provider.clear();
        self.status.clear();
        self.dsn.clear();
        self.class.clear();
        self.delay_ms.clear();
        self.reason.clear();
    }

    fn frame(&self, rows: &[usize], names: &Names<'_>) -> PolarsResult<DataFrame> {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let ts: Vec<i64> = rows.iter().map(|&i| self.ts[i] * 1000).collect();
        let queue: Vec<String> = rows
            .iter()
            .map(|&i| text(self.queue_id[i].as_bytes()))
            .collect();
        let sender: Vec<String> = rows
            .iter()
            .map(|&i| text(names.senders.get(self.sender[i])))
            .collect();
        let domain: Vec<String> = rows
            .iter()
            .map(|&i| text(names.domains.get(self.domain[i])))
            .collect();
        let provider: Vec<String> = rows
            .iter()
            .map(|&i| {
                self.sink
                    .providers
                    .get(usize::from(self.provider[i]))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        let relay: Vec<String> = rows
            .iter()
            .map(|&i| text(names.relays.get(self.relay[i])))
            .collect();
        let status: Vec<&str> = rows.iter().map(|&i| self.status[i].as_str()).collect();
        let dsn: Vec<Option<String>> = rows
            .iter()
            .map(|&i| (self.dsn[i] != 0).then(|| Dsn::from_key(self.dsn[i]).to_string()))
            .collect();
        let class: Vec<u8> = rows.iter().map(|&i| self.class[i]).collect();
        let subject: Vec<Option<u8>> = rows
            .iter()
            .map(|&i| Some(subject_byte(self.dsn[i])).filter(|&s| s != NO_SUBJECT))
            .collect();
        let delay: Vec<Option<f64>> = rows
            .iter()
            .map(|&i| (self.delay_ms[i] != NO_DELAY).then(|| f64::from(self.delay_ms[i]) / 1000.0))
            .collect();
        let reason: Vec<Option<String>> = rows
            .iter()
            .map(|&i| self.reason[i].map(|r| text(names.reasons.get(r))))
            .collect();
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
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_host_names_stay_inside_the_directory() {
        assert_eq!(partition_value("mx1.example.org"), "mx1.example.org");
        assert_eq!(partition_value("../../etc"), "%2E.%2F..%2Fetc");
        assert_eq!(partition_value(""), "__HIVE_DEFAULT_PARTITION__");
        assert_eq!(partition_value("a b=c"), "a%20b%3Dc");
    }
}
