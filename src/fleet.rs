//! `--from-events DIR` (and `mtastat fleet DIR`): the analysis made from an
//! events dataset — the Hive-partitioned Parquet (`date=…/host=…/`) that
//! many hosts' `--events` runs wrote — instead of from logs, so a team with
//! fifty MX hosts gets one report without moving raw logs.
//!
//! Each row is one delivery attempt with everything the report's delivery
//! tables need (status, code, category, masked reply, sender domain, origin,
//! TLS, a recipient key), counted into a [`Batch`] as the scan counts an
//! attempt: the report, the findings, `compare` and the report's exports
//! come out the same. What the rows do not carry is not in such a report
//! (message journeys, inbound rejects, logins, received mail): it says so.
//!
//! Reading is bounded: partitions are chosen by their path (`date` against
//! `--since/--until`, `host` against `--host`) before any file is opened;
//! the files left are one polars lazy Parquet scan, with the time and
//! provider predicates pushed into it (row groups skipped by their
//! statistics) and only the columns used, run by polars' streaming engine,
//! which hands the rows over in batches of at most [`SLICE_ROWS`] (through
//! a channel of two): memory depends on the batch, not on the dataset.
//! Each host's own report is another reading of its partitions alone.

use crate::aggregate::batch::{Attempt, Batch, NO_DELAY, NO_ID, Origin, QueueId, message_key};
use crate::analysis::{Analysis, FileSummary};
use crate::classify::Engine;
use crate::classify::category::{Answer, Blocklist, Category};
use crate::dsn::Dsn;
use crate::event::{Status, Tls, TlsLevel, TlsProtocol};
use crate::filter::Filter;
use polars::prelude::*;
use polars_lazy::prelude::{LazyFrame, PlanCallback, ScanArgsParquet};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Rows handed over by the scan at a time.
pub const SLICE_ROWS: usize = 1 << 16;

/// Columns read (those an older dataset lacks are taken as unknown).
const COLUMNS: [&str; 21] = [
    "ts",
    "queue_id",
    "sender_domain",
    "recipient_domain",
    "provider",
    "relay",
    "status",
    "dsn",
    "class",
    "delay",
    "reason",
    "sasl_user",
    "client",
    "tls",
    "tls_protocol",
    "category",
    "blocklist",
    "attempted",
    "recipient_key",
    "recipient",
    "subject",
];

/// The analysis of the hosts read, and their names.
#[derive(Debug)]
pub struct Fleet {
    /// The hosts read, together.
    pub all: Analysis,
    /// Their names (as their partitions say, decoded), in order: each host
    /// alone is another [`read`] with its name (read again rather than kept
    /// beside the total: fifty hosts' tables would cost fifty times the
    /// memory; the second reading costs time, not memory).
    pub hosts: Vec<String>,
}

/// One Parquet file of the dataset, and where it sits.
#[derive(Clone, Debug)]
struct Part {
    host: String,
    path: PathBuf,
    bytes: u64,
}

/// A partition value as the host it names: `%XX` decoded, Hive's NULL
/// (an Exim mainlog, which names no host) as empty.
pub fn host_of_partition(value: &str) -> String {
    if value == crate::escape::NULL_PARTITION {
        return String::new();
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `date=YYYY-MM-DD` → the UTC seconds its day starts.
fn day_start(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| value.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(crate::time::days_from_civil(i32::try_from(y).ok()?, m as u32, d as u32) * 86_400)
}

/// The dataset's files in the partitions the filters keep, in order (date,
/// host, file); `problems` gets what could not be listed.
fn parts(
    dir: &Path,
    hosts: &[String],
    filter: &Filter,
    problems: &mut Vec<String>,
) -> Result<Vec<Part>, String> {
    let list = |d: &Path| -> Result<Vec<(String, PathBuf)>, std::io::Error> {
        let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(d)?
            .filter_map(Result::ok)
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            // Staging directories and temp files are hidden.
            .filter(|(name, _)| !name.starts_with('.'))
            .collect();
        v.sort();
        Ok(v)
    };
    // A partition that cannot be listed is noted, and the rest read.
    let listed = |d: &Path, problems: &mut Vec<String>| match list(d) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(format!("{}: cannot read: {e}", d.display()));
            None
        }
    };
    let dates = list(dir)
        .map_err(|e| format!("{}: cannot read the events directory: {e}", dir.display()))?;
    let mut out = Vec::new();
    for (name, path) in dates {
        let Some(value) = name.strip_prefix("date=") else {
            continue;
        };
        let Some(start) = day_start(value) else {
            problems.push(format!("{}: not a date partition, skipped", path.display()));
            continue;
        };
        // Partition pruning: a day outside --since/--until is never opened.
        if filter.since.is_some_and(|s| start + 86_400 <= s)
            || filter.until.is_some_and(|u| start >= u)
        {
            continue;
        }
        let Some(host_dirs) = listed(&path, problems) else {
            continue;
        };
        for (name, path) in host_dirs {
            let Some(value) = name.strip_prefix("host=") else {
                continue;
            };
            let host = host_of_partition(value);
            if !hosts.is_empty() && !hosts.iter().any(|h| *h == host || h == value) {
                continue;
            }
            let Some(files) = listed(&path, problems) else {
                continue;
            };
            for (name, path) in files {
                if !name.ends_with(".parquet") {
                    continue;
                }
                let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                out.push(Part {
                    host: host.clone(),
                    path,
                    bytes,
                });
            }
        }
    }
    Ok(out)
}

/// The predicate pushed into each scan: `--since/--until` on `ts` and
/// `--provider` (the rows are filtered again as they are counted).
fn predicate(filter: &Filter, engine: &Engine) -> Option<Expr> {
    let ms =
        |s: i64| lit(s.saturating_mul(1000)).cast(DataType::Datetime(TimeUnit::Milliseconds, None));
    let mut p: Option<Expr> = None;
    let mut and = |e: Expr| {
        p = Some(match p.take() {
            Some(x) => x.and(e),
            None => e,
        })
    };
    if let Some(s) = filter.since {
        and(col("ts").gt_eq(ms(s)));
    }
    if let Some(u) = filter.until {
        and(col("ts").lt(ms(u)));
    }
    if let Some(kept) = &filter.providers {
        let names: Vec<&str> = kept
            .iter()
            .enumerate()
            .filter(|(_, k)| **k)
            .map(|(i, _)| engine.providers.info(i as u16 as _).id.as_str())
            .collect();
        let any = names
            .iter()
            .map(|n| col("provider").eq(lit(*n)))
            .reduce(|a, b| a.or(b));
        if let Some(any) = any {
            and(any);
        }
    }
    p
}

/// Reads `dir` (a dataset `--events` wrote) into the fleet's analysis and
/// each host's. A file polars cannot read ends the scan with an error of
/// the analysis (named; the exit status says so) and the report of what
/// was read; a missing directory is the error.
pub fn read(
    dir: &Path,
    hosts: &[String],
    engine: &Engine,
    filter: &Filter,
) -> Result<Fleet, String> {
    if !dir.is_dir() {
        return Err(format!("{}: no events directory there", dir.display()));
    }
    let mut errors = Vec::new();
    let parts = parts(dir, hosts, filter, &mut errors)?;
    let mut all = Batch::default();
    let mut per_host: BTreeMap<String, FileSummary> = BTreeMap::new();
    let mut host_of_file: HashMap<String, String> = HashMap::new();
    let mut paths = Vec::new();
    for part in &parts {
        let summary = per_host
            .entry(part.host.clone())
            .or_insert_with(|| host_summary(&part.host));
        summary.bytes += part.bytes;
        match PlRefPath::try_from_path(&part.path) {
            Ok(p) => {
                host_of_file.insert(p.as_str().to_string(), part.host.clone());
                paths.push(p);
            }
            Err(_) => errors.push(format!(
                "{}: not a UTF-8 path, skipped",
                part.path.display()
            )),
        }
    }
    if !paths.is_empty() {
        let mut names = Names::default();
        let scanned = scan(paths, filter, engine, |df| {
            count_rows(
                df,
                &host_of_file,
                engine,
                filter,
                &mut names,
                &mut all,
                &mut per_host,
            )
        });
        if let Err(e) = scanned {
            errors.push(format!("{}: {e}", dir.display()));
        }
    }
    all.finish(engine.providers.other(), filter);
    all.counters.bytes = parts.iter().map(|p| p.bytes).sum();
    Ok(Fleet {
        hosts: per_host.keys().cloned().collect(),
        all: Analysis {
            batch: all,
            files: per_host.into_values().collect(),
            errors,
        },
    })
}

/// A host's line in the report's inputs.
fn host_summary(host: &str) -> FileSummary {
    FileSummary {
        path: format!(
            "events host={}",
            crate::escape::partition_value(host.as_bytes())
        ),
        format: "events".into(),
        read: "parquet",
        bytes: 0,
        lines: 0,
        delivery_attempts: 0,
        unparsed_lines: 0,
        error: None,
    }
}

/// One lazy scan of `paths` on polars' streaming engine: the predicate
/// and the projection pushed into the Parquet reader, the rows handed to
/// `each` in order, in batches of at most [`SLICE_ROWS`]. (polars runs the
/// query on a thread of its own; the batches cross a channel of two, so at
/// most a few are in memory.)
fn scan(
    paths: Vec<PlRefPath>,
    filter: &Filter,
    engine: &Engine,
    mut each: impl FnMut(&DataFrame) -> PolarsResult<()>,
) -> PolarsResult<()> {
    let args = ScanArgsParquet {
        hive_options: polars_io::HiveOptions {
            enabled: Some(false),
            ..Default::default()
        },
        include_file_paths: Some(FILE_COLUMN.into()),
        // A dataset written before a column existed reads it as null.
        allow_missing_columns: true,
        cache: false,
        glob: false,
        ..Default::default()
    };
    let lf = LazyFrame::scan_parquet_files(paths.into_iter().collect(), args)?;
    let schema = lf.clone().collect_schema()?;
    let mut columns: Vec<Expr> = COLUMNS
        .iter()
        .filter(|c| schema.contains(c))
        .map(|c| col(*c))
        .collect();
    columns.push(col(FILE_COLUMN));
    let mut lf = lf.select(columns);
    if let Some(p) = predicate(filter, engine) {
        lf = lf.filter(p);
    }
    let (send, receive) = std::sync::mpsc::sync_channel::<DataFrame>(2);
    let lf = lf.sink_batches(
        PlanCallback::new(move |df: DataFrame| Ok(send.send(df).is_err())),
        true,
        std::num::NonZeroUsize::new(SLICE_ROWS),
    )?;
    let runner = std::thread::spawn(move || {
        lf.collect_with_engine(polars::prelude::Engine::Streaming)
            .map(|_| ())
    });
    let mut result = Ok(());
    for df in receive {
        if result.is_ok() {
            result = each(&df);
        }
    }
    let ran = runner
        .join()
        .unwrap_or_else(|_| Err(polars_err!(ComputeError: "the Parquet scan stopped")));
    result.and(ran)
}

/// The column the scan adds: the file each row came from (its host).
const FILE_COLUMN: &str = "__mtastat_file";

/// Scratch for a row's strings.
#[derive(Debug, Default)]
struct Names {
    origin: Vec<u8>,
}

/// A string column by name, when the file has it.
fn strs<'a>(df: &'a DataFrame, name: &str) -> Option<&'a StringChunked> {
    df.column(name).ok().and_then(|c| c.str().ok())
}

/// Counts one slice's rows as the scan counts attempts.
fn count_rows(
    df: &DataFrame,
    host_of_file: &HashMap<String, String>,
    engine: &Engine,
    filter: &Filter,
    names: &mut Names,
    all: &mut Batch,
    per_host: &mut BTreeMap<String, FileSummary>,
) -> PolarsResult<()> {
    let files = strs(df, FILE_COLUMN);
    // Milliseconds, whatever unit the writer chose (mtastat writes ms;
    // DuckDB and Spark rewrite as µs).
    let ts = df
        .column("ts")?
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?
        .cast(&DataType::Int64)?
        .i64()?
        .clone();
    let class = df
        .column("class")
        .ok()
        .and_then(|c| c.cast(&DataType::UInt8).ok());
    let class = class.as_ref().and_then(|c| c.u8().ok());
    let delay = df
        .column("delay")
        .ok()
        .and_then(|c| c.cast(&DataType::Float64).ok());
    let delay = delay.as_ref().and_then(|c| c.f64().ok());
    let attempted = df.column("attempted").ok().and_then(|c| c.bool().ok());
    let key = df
        .column("recipient_key")
        .ok()
        .and_then(|c| c.cast(&DataType::Int64).ok());
    let key = key.as_ref().and_then(|c| c.i64().ok());
    let [
        queue,
        sender,
        domain,
        provider,
        relay,
        status,
        dsn,
        reason,
        user,
        client,
        tls,
        proto,
        category,
        blocklist,
        recipient,
    ] = [
        "queue_id",
        "sender_domain",
        "recipient_domain",
        "provider",
        "relay",
        "status",
        "dsn",
        "reason",
        "sasl_user",
        "client",
        "tls",
        "tls_protocol",
        "category",
        "blocklist",
        "recipient",
    ]
    .map(|c| strs(df, c));
    fn get(c: Option<&StringChunked>, i: usize) -> &str {
        c.and_then(|c| c.get(i)).unwrap_or("")
    }
    let mut last_file: Option<(&str, &str)> = None;
    for i in 0..df.height() {
        let Some(ts) = ts.get(i).map(|ms| ms.div_euclid(1000)) else {
            continue;
        };
        let file = get(files, i);
        let host = match last_file {
            Some((f, h)) if f == file => h,
            _ => {
                let h = host_of_file.get(file).map_or("", String::as_str);
                last_file = Some((file, h));
                h
            }
        };
        let Some(status) = Status::from_postfix(get(status, i).as_bytes()) else {
            continue;
        };
        let provider = engine
            .providers
            .id_of(get(provider, i))
            .unwrap_or(engine.providers.other());
        let dsn = Dsn::parse(get(dsn, i).as_bytes());
        let reason_text = get(reason, i);
        let attempted = attempted.and_then(|a| a.get(i)).unwrap_or(true);
        // A dataset written before `category` was exported: classified
        // from the masked reply, as the scan would.
        let (category, blocklist) = match Category::from_name(get(category, i)) {
            Some(c) => (c, Blocklist::from_name(get(blocklist, i))),
            None if status == Status::Sent => (Category::Delivered, Blocklist::None),
            None => engine.classifier.classify(&Answer {
                provider,
                status,
                dsn,
                basic: None,
                reply: reason_text.as_bytes(),
                at_greeting: false,
            }),
        };
        let tls = TlsLevel::from_name(get(tls, i)).map(|level| Tls {
            level,
            protocol: match get(proto, i) {
                "" => TlsProtocol::None,
                p => TlsProtocol::parse(p.as_bytes()),
            },
        });
        let row = Row {
            ts,
            queue_id: get(queue, i),
            sender: get(sender, i),
            domain: get(domain, i),
            relay: get(relay, i),
            reason: (!reason_text.is_empty() || status != Status::Sent).then_some(reason_text),
            user: get(user, i),
            client: get(client, i),
            recipient: get(recipient, i),
            key: key
                .and_then(|k| k.get(i))
                .map_or(0, |k| u64::from_ne_bytes(k.to_ne_bytes())),
            provider,
            status,
            dsn: dsn.map_or(0, |d| d.key()),
            class: class
                .and_then(|c| c.get(i))
                .unwrap_or_else(|| status.implied_class()),
            category,
            blocklist,
            attempted,
            delay_ms: delay.and_then(|d| d.get(i)).map_or(NO_DELAY, |s| {
                (s * 1000.0).clamp(0.0, f64::from(NO_DELAY - 1)) as u32
            }),
            tls,
        };
        count_row(all, &row, host, filter, names);
        if let Some(summary) = per_host.get_mut(host) {
            summary.lines += 1;
            summary.delivery_attempts += 1;
        }
    }
    Ok(())
}

/// One row's values.
struct Row<'a> {
    ts: i64,
    queue_id: &'a str,
    sender: &'a str,
    domain: &'a str,
    relay: &'a str,
    reason: Option<&'a str>,
    user: &'a str,
    client: &'a str,
    recipient: &'a str,
    key: u64,
    provider: crate::classify::provider::ProviderId,
    status: Status,
    dsn: u32,
    class: u8,
    category: Category,
    blocklist: Blocklist,
    attempted: bool,
    delay_ms: u32,
    tls: Option<Tls>,
}

/// Counts a row into `b` as the scan counts an attempt.
fn count_row(b: &mut Batch, r: &Row<'_>, host: &str, filter: &Filter, names: &mut Names) {
    b.counters.lines += 1;
    b.see_time(r.ts);
    b.see_delivery(r.status, r.attempted);
    let host_id = b.hosts.intern(host.as_bytes());
    names.origin.clear();
    names.origin.extend_from_slice(r.client.as_bytes());
    names.origin.push(0);
    names.origin.extend_from_slice(r.user.as_bytes());
    let origin = Origin {
        origin: b.origins.intern(&names.origin),
        user: if r.user.is_empty() {
            NO_ID
        } else {
            b.auth_names.intern(r.user.as_bytes())
        },
    };
    if let Some(t) = r.tls
        && t.level.is_tls()
    {
        b.tls.logged(host_id, false, r.ts);
    }
    let a = Attempt {
        ts: r.ts,
        message: message_key(host.as_bytes(), r.queue_id.as_bytes()),
        recipient: r.key,
        queue_id: QueueId::new(r.queue_id.as_bytes()),
        provider: r.provider,
        domain: b.domains.intern(r.domain.as_bytes()),
        status: r.status,
        dsn: r.dsn,
        class: r.class,
        category: r.category,
        blocklist: r.blocklist,
        reason: r.reason.map(|x| b.reasons.intern(x.as_bytes())),
        attempted: r.attempted,
        host_error: false,
        needs_cause: false,
        host: host_id,
        relay: if r.relay.is_empty() {
            NO_ID
        } else {
            b.relays.intern(r.relay.as_bytes())
        },
        delay_ms: r.delay_ms,
        tls: r.tls,
        ask: crate::aggregate::tls::NO_ASK,
    };
    let sender = b.senders.intern(r.sender.as_bytes());
    b.contribute(&a, sender, origin, r.recipient.as_bytes(), filter);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_decode_to_their_hosts() {
        for host in ["mx1", "mx1.example.net", "a b/../c", "", "é"] {
            let v = crate::escape::partition_value(host.as_bytes());
            assert_eq!(host_of_partition(&v), host, "{v}");
        }
        assert_eq!(day_start("2026-11-22"), Some(1_795_305_600));
        assert_eq!(day_start("2026-13-01"), None);
        assert_eq!(day_start("../etc"), None);
    }
}
