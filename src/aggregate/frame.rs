//! The polars frames built from the merged batch (summary, outcomes,
//! timeline, reasons), which detection and the report read.
//!
//! Frames are built column-wise after the parallel scan (polars: building
//! from rows is "a lot slower than creating the Series in a columnar
//! fashion"), and never inside rayon workers: polars has its own pool.

use super::batch::{Batch, OutcomeKey, ReasonKey, SummaryKey, TimeKey};
use crate::classify::provider::ProviderMap;
use crate::dsn::Dsn;
use polars::prelude::*;

/// The summary frame's columns, in order. This schema is stable (columns
/// are only ever added at the end): it is the CSV/Parquet export and the
/// `deliveries` array of `--json`. `sasl_user` and `client` say who handed
/// the mail over (see [`origin_parts`]).
pub const SUMMARY_COLUMNS: [&str; 9] = [
    "provider",
    "domain",
    "status",
    "dsn",
    "class",
    "subject",
    "count",
    "sasl_user",
    "client",
];

/// The reasons frame's columns, in order.
pub const REASON_COLUMNS: [&str; 12] = [
    "provider",
    "status",
    "dsn",
    "class",
    "subject",
    "category",
    "reason",
    "count",
    "tried",
    "first_seen",
    "last_seen",
    "per_host",
];

/// The outcomes frame's columns: the summary without the recipient domain,
/// with what the findings engine needs (category, blocklist, sender domain).
pub const OUTCOME_COLUMNS: [&str; 11] = [
    "provider",
    "status",
    "dsn",
    "class",
    "subject",
    "category",
    "blocklist",
    "sender_domain",
    "attempted",
    "count",
    "per_host",
];

/// The who frame's columns: failed attempts per provider × category ×
/// origin (named as in the summary frame).
pub const WHO_COLUMNS: [&str; 5] = ["provider", "category", "sasl_user", "client", "count"];

/// The timeline frame's columns: one row per minute × provider × status ×
/// code family × category. `minute` is UTC seconds at the bucket's start,
/// `bucket_minutes` its width (1 unless the log is long enough for the
/// timeline to have widened); `subject` is 255 when the reply had no code.
pub const TIMELINE_COLUMNS: [&str; 10] = [
    "minute",
    "bucket_minutes",
    "provider",
    "status",
    "class",
    "subject",
    "category",
    "attempted",
    "count",
    "per_host",
];

/// Origins the frames name: the busiest by attempts (ties by name); the
/// rest are summed under `(other clients)`. An MX that hears from 65,000
/// clients a day made the summary 544,000 rows and the whole run 2.7 times
/// slower; the events export keeps every attempt's own.
pub const NAMED_ORIGINS: usize = 500;

/// The origin id the frames use for the ones not named.
const FOLDED: u32 = u32::MAX - 1;

/// Which origins the frames name (see [`NAMED_ORIGINS`]).
pub struct OriginNames<'a> {
    batch: &'a Batch,
    named: hashbrown::HashSet<u32>,
}

impl<'a> OriginNames<'a> {
    /// The busiest origins of `batch`'s summary.
    pub fn of(batch: &'a Batch) -> OriginNames<'a> {
        let mut attempts: hashbrown::HashMap<u32, u64> = hashbrown::HashMap::new();
        for (k, n) in &batch.deliveries.summary {
            *attempts.entry(k.origin).or_insert(0) += n;
        }
        let mut order: Vec<(u32, u64)> = attempts.into_iter().collect();
        if order.len() > NAMED_ORIGINS {
            order.sort_by(|(a, n), (b, m)| {
                m.cmp(n)
                    .then_with(|| batch.origins.get(*a).cmp(batch.origins.get(*b)))
            });
            order.truncate(NAMED_ORIGINS);
        }
        OriginNames {
            batch,
            named: order.into_iter().map(|(id, _)| id).collect(),
        }
    }

    /// The id a frame row uses for `origin`.
    pub fn fold(&self, origin: u32) -> u32 {
        if self.named.contains(&origin) {
            origin
        } else {
            FOLDED
        }
    }

    /// The bytes of a folded id.
    pub fn get(&self, origin: u32) -> &'a [u8] {
        if origin == FOLDED {
            crate::aggregate::batch::OVERFLOW_ORIGIN
        } else {
            self.batch.origins.get(origin)
        }
    }
}

/// An origin's client (`name[ip]`, `local`; empty when the input does not
/// say) and SASL user (empty when none).
pub fn origin_parts(origin: &[u8]) -> (String, String) {
    let (client, user) = match memchr::memchr(0, origin) {
        Some(nul) => (&origin[..nul], &origin[nul + 1..]),
        None => (origin, &b""[..]),
    };
    (
        String::from_utf8_lossy(client).into_owned(),
        String::from_utf8_lossy(user).into_owned(),
    )
}

/// `4.7.0` or `""`.
pub fn dsn_string(key: u32) -> String {
    if key == 0 {
        String::new()
    } else {
        Dsn::from_key(key).to_string()
    }
}

/// Builds the summary frame: one row per provider × domain × status × code
/// × named origin (`names`), sorted by count (descending), then provider,
/// domain, status, code, origin.
pub fn summary_frame(
    batch: &Batch,
    providers: &ProviderMap,
    names: &OriginNames<'_>,
) -> PolarsResult<DataFrame> {
    let mut folded: hashbrown::HashMap<SummaryKey, u64> = hashbrown::HashMap::new();
    for (k, n) in &batch.deliveries.summary {
        let k = SummaryKey {
            origin: names.fold(k.origin),
            ..*k
        };
        *folded.entry(k).or_insert(0) += n;
    }
    let mut rows: Vec<(&SummaryKey, u64)> = folded.iter().map(|(k, n)| (k, *n)).collect();
    let domain = |k: &SummaryKey| String::from_utf8_lossy(batch.domains.get(k.domain));
    rows.sort_by(|(a, n), (b, m)| {
        m.cmp(n)
            .then_with(|| {
                providers
                    .info(a.provider)
                    .id
                    .cmp(&providers.info(b.provider).id)
            })
            // Bytes, not strings: UTF-8 sorts the same either way, and a
            // conversion per comparison made a million domains 8x slower.
            .then_with(|| batch.domains.get(a.domain).cmp(batch.domains.get(b.domain)))
            .then_with(|| a.status.cmp(&b.status))
            .then_with(|| a.dsn.cmp(&b.dsn))
            .then_with(|| a.class.cmp(&b.class))
            .then_with(|| names.get(a.origin).cmp(names.get(b.origin)))
    });
    let n = rows.len();
    let mut provider = Vec::with_capacity(n);
    let mut domains = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut dsn = Vec::with_capacity(n);
    let mut class = Vec::with_capacity(n);
    let mut subject = Vec::with_capacity(n);
    let mut count = Vec::with_capacity(n);
    let mut users = Vec::with_capacity(n);
    let mut clients = Vec::with_capacity(n);
    for (k, c) in &rows {
        let (client, user) = origin_parts(names.get(k.origin));
        users.push(user);
        clients.push(client);
        provider.push(providers.info(k.provider).id.as_str());
        domains.push(domain(k).into_owned());
        status.push(k.status.as_str());
        dsn.push(dsn_string(k.dsn));
        class.push(k.class);
        subject.push(crate::dsn::subject_of_key(k.dsn));
        count.push(*c);
    }
    let domains: Vec<&str> = domains.iter().map(String::as_str).collect();
    let dsn: Vec<&str> = dsn.iter().map(String::as_str).collect();
    DataFrame::new(
        n,
        vec![
            Column::new(SUMMARY_COLUMNS[0].into(), provider),
            Column::new(SUMMARY_COLUMNS[1].into(), domains),
            Column::new(SUMMARY_COLUMNS[2].into(), status),
            Column::new(SUMMARY_COLUMNS[3].into(), dsn),
            Column::new(SUMMARY_COLUMNS[4].into(), class),
            Column::new(SUMMARY_COLUMNS[5].into(), subject),
            Column::new(SUMMARY_COLUMNS[6].into(), count),
            Column::new(SUMMARY_COLUMNS[7].into(), users),
            Column::new(SUMMARY_COLUMNS[8].into(), clients),
        ],
    )
}

/// Builds the reasons frame: one row per provider × status × code × masked
/// reason, with first/last time seen (UTC seconds), sorted by count.
pub fn reasons_frame(batch: &Batch, providers: &ProviderMap) -> PolarsResult<DataFrame> {
    let mut rows: Vec<(&ReasonKey, _)> = batch.deliveries.reason_counts.iter().collect();
    rows.sort_by(|(a, s), (b, t)| {
        t.count
            .cmp(&s.count)
            .then_with(|| {
                providers
                    .info(a.provider)
                    .id
                    .cmp(&providers.info(b.provider).id)
            })
            .then_with(|| a.status.cmp(&b.status))
            .then_with(|| a.dsn.cmp(&b.dsn))
            .then_with(|| batch.reasons.get(a.reason).cmp(batch.reasons.get(b.reason)))
    });
    let n = rows.len();
    let mut provider = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut dsn = Vec::with_capacity(n);
    let mut class = Vec::with_capacity(n);
    let mut subject = Vec::with_capacity(n);
    let mut category = Vec::with_capacity(n);
    let mut reason = Vec::with_capacity(n);
    let mut count = Vec::with_capacity(n);
    let mut tried = Vec::with_capacity(n);
    let mut first = Vec::with_capacity(n);
    let mut last = Vec::with_capacity(n);
    let mut per_host = Vec::with_capacity(n);
    for (k, s) in &rows {
        per_host.push(k.per_host);
        provider.push(providers.info(k.provider).id.as_str());
        status.push(k.status.as_str());
        dsn.push(dsn_string(k.dsn));
        class.push(k.class);
        subject.push(crate::dsn::subject_of_key(k.dsn));
        category.push(k.category as u8);
        reason.push(String::from_utf8_lossy(batch.reasons.get(k.reason)).into_owned());
        count.push(s.count);
        tried.push(s.tried);
        first.push(s.first);
        last.push(s.last);
    }
    let dsn: Vec<&str> = dsn.iter().map(String::as_str).collect();
    let reason: Vec<&str> = reason.iter().map(String::as_str).collect();
    DataFrame::new(
        n,
        vec![
            Column::new(REASON_COLUMNS[0].into(), provider),
            Column::new(REASON_COLUMNS[1].into(), status),
            Column::new(REASON_COLUMNS[2].into(), dsn),
            Column::new(REASON_COLUMNS[3].into(), class),
            Column::new(REASON_COLUMNS[4].into(), subject),
            Column::new(REASON_COLUMNS[5].into(), category),
            Column::new(REASON_COLUMNS[6].into(), reason),
            Column::new(REASON_COLUMNS[7].into(), count),
            Column::new(REASON_COLUMNS[8].into(), tried),
            Column::new(REASON_COLUMNS[9].into(), first),
            Column::new(REASON_COLUMNS[10].into(), last),
            Column::new(REASON_COLUMNS[11].into(), per_host),
        ],
    )
}

/// Builds the outcomes frame (unsorted: it feeds group-bys, not people).
pub fn outcomes_frame(batch: &Batch, providers: &ProviderMap) -> PolarsResult<DataFrame> {
    let rows: Vec<(&OutcomeKey, &u64)> = batch.deliveries.outcomes.iter().collect();
    let n = rows.len();
    let mut provider = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut dsn = Vec::with_capacity(n);
    let mut class = Vec::with_capacity(n);
    let mut subject = Vec::with_capacity(n);
    let mut category = Vec::with_capacity(n);
    let mut blocklist = Vec::with_capacity(n);
    let mut sender = Vec::with_capacity(n);
    let mut attempted = Vec::with_capacity(n);
    let mut count = Vec::with_capacity(n);
    let mut per_host = Vec::with_capacity(n);
    for (k, c) in rows {
        per_host.push(k.per_host);
        provider.push(providers.info(k.provider).id.as_str());
        status.push(k.status.as_str());
        dsn.push(dsn_string(k.dsn));
        class.push(k.class);
        subject.push(crate::dsn::subject_of_key(k.dsn));
        category.push(k.category as u8);
        blocklist.push(k.blocklist.name());
        sender.push(String::from_utf8_lossy(batch.senders.get(k.sender)).into_owned());
        attempted.push(k.attempted);
        count.push(*c);
    }
    let dsn: Vec<&str> = dsn.iter().map(String::as_str).collect();
    let sender: Vec<&str> = sender.iter().map(String::as_str).collect();
    let c = OUTCOME_COLUMNS;
    DataFrame::new(
        n,
        vec![
            Column::new(c[0].into(), provider),
            Column::new(c[1].into(), status),
            Column::new(c[2].into(), dsn),
            Column::new(c[3].into(), class),
            Column::new(c[4].into(), subject),
            Column::new(c[5].into(), category),
            Column::new(c[6].into(), blocklist),
            Column::new(c[7].into(), sender),
            Column::new(c[8].into(), attempted),
            Column::new(c[9].into(), count),
            Column::new(c[10].into(), per_host),
        ],
    )
}

/// Builds the who frame: failed attempts per provider × category × origin,
/// origins folded by the same `names` as the summary frame.
pub fn who_frame(
    batch: &Batch,
    providers: &ProviderMap,
    names: &OriginNames<'_>,
) -> PolarsResult<DataFrame> {
    let mut folded: hashbrown::HashMap<(u16, u8, u32), u64> = hashbrown::HashMap::new();
    for (&(p, c, o), n) in &batch.deliveries.failed_by_origin {
        *folded.entry((p, c as u8, names.fold(o))).or_insert(0) += n;
    }
    let n = folded.len();
    let (mut provider, mut category, mut users, mut clients, mut count) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (&(p, c, o), &k) in &folded {
        let (client, user) = origin_parts(names.get(o));
        provider.push(providers.info(p).id.as_str());
        category.push(c);
        users.push(user);
        clients.push(client);
        count.push(k);
    }
    let w = WHO_COLUMNS;
    DataFrame::new(
        n,
        vec![
            Column::new(w[0].into(), provider),
            Column::new(w[1].into(), category),
            Column::new(w[2].into(), users),
            Column::new(w[3].into(), clients),
            Column::new(w[4].into(), count),
        ],
    )
}

/// Builds the timeline frame, sorted by minute.
///
/// Buckets are already as wide as the findings and the report will read
/// them (at most `MAX_BUCKETS` over the log's span): a month of log gives a
/// frame of thousands of rows, not a million per-minute cells.
pub fn timeline_frame(batch: &Batch, providers: &ProviderMap) -> PolarsResult<DataFrame> {
    let first = batch
        .deliveries
        .timeline
        .keys()
        .map(|k| k.minute)
        .min()
        .unwrap_or(0);
    let last = batch
        .deliveries
        .timeline
        .keys()
        .map(|k| k.minute)
        .max()
        .unwrap_or(0);
    let bucket =
        crate::time::grid::bucket_minutes(last - first + 1).max(batch.deliveries.timeline_width);
    let mut cells: hashbrown::HashMap<TimeKey, u64> = hashbrown::HashMap::new();
    for (k, n) in &batch.deliveries.timeline {
        let mut k = *k;
        k.minute -= k.minute.rem_euclid(bucket);
        *cells.entry(k).or_insert(0) += n;
    }
    let mut rows: Vec<(&TimeKey, &u64)> = cells.iter().collect();
    rows.sort_by_key(|(k, _)| **k);
    let n = rows.len();
    let mut minute = Vec::with_capacity(n);
    let width = vec![bucket; n];
    let mut provider = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut class = Vec::with_capacity(n);
    let mut subject = Vec::with_capacity(n);
    let mut category = Vec::with_capacity(n);
    let mut attempted = Vec::with_capacity(n);
    let mut count = Vec::with_capacity(n);
    let mut per_host = Vec::with_capacity(n);
    for (k, c) in rows {
        per_host.push(k.per_host);
        minute.push(k.minute * 60);
        provider.push(providers.info(k.provider).id.as_str());
        status.push(k.status.as_str());
        class.push(k.class);
        subject.push(k.subject);
        category.push(k.category as u8);
        attempted.push(k.attempted);
        count.push(*c);
    }
    let c = TIMELINE_COLUMNS;
    DataFrame::new(
        n,
        vec![
            Column::new(c[0].into(), minute),
            Column::new(c[1].into(), width),
            Column::new(c[2].into(), provider),
            Column::new(c[3].into(), status),
            Column::new(c[4].into(), class),
            Column::new(c[5].into(), subject),
            Column::new(c[6].into(), category),
            Column::new(c[7].into(), attempted),
            Column::new(c[8].into(), count),
            Column::new(c[9].into(), per_host),
        ],
    )
}

/// Sum of `count` grouped by `keys`, sorted by the keys.
pub fn totals_by(df: &DataFrame, keys: &[&str], filter: Option<Expr>) -> PolarsResult<DataFrame> {
    let mut lf = df.clone().lazy();
    if let Some(f) = filter {
        lf = lf.filter(f);
    }
    let by: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    lf.group_by(by)
        .agg([col("count").sum()])
        .sort(
            keys.iter()
                .map(|k| PlSmallStr::from(*k))
                .collect::<Vec<_>>(),
            SortMultipleOptions::default(),
        )
        .collect()
}

/// A string column as owned strings (nulls as empty).
pub fn strs(df: &DataFrame, name: &str) -> PolarsResult<Vec<String>> {
    Ok(df
        .column(name)?
        .str()?
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect())
}

/// A u64 column (nulls as 0).
pub fn u64s(df: &DataFrame, name: &str) -> PolarsResult<Vec<u64>> {
    Ok(df
        .column(name)?
        .u64()?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

/// A u8 column that may hold nulls.
pub fn opt_u8s(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<u8>>> {
    Ok(df.column(name)?.u8()?.iter().collect())
}

/// A u8 column (nulls as 0).
pub fn u8s(df: &DataFrame, name: &str) -> PolarsResult<Vec<u8>> {
    Ok(df
        .column(name)?
        .u8()?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

/// A boolean column (nulls as false).
pub fn bools(df: &DataFrame, name: &str) -> PolarsResult<Vec<bool>> {
    Ok(df
        .column(name)?
        .bool()?
        .iter()
        .map(|v| v.unwrap_or(false))
        .collect())
}

/// An i64 column (nulls as 0).
pub fn i64s(df: &DataFrame, name: &str) -> PolarsResult<Vec<i64>> {
    Ok(df
        .column(name)?
        .i64()?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Status;

    #[test]
    fn summary_schema_and_values() {
        let providers = ProviderMap::builtin();
        let mut b = Batch::default();
        let g = b.domains.intern(b"gmail.com");
        let google = providers.classify(b"gmail.com", b"", false);
        let code = Dsn::parse(b"4.7.0").unwrap().key();
        b.deliveries.summary.insert(
            SummaryKey {
                provider: google,
                domain: g,
                status: Status::Deferred,
                dsn: code,
                class: 4,
                origin: b.origins.intern(b"mail.x.example[192.0.2.1]\0bob"),
            },
            3,
        );
        b.deliveries.summary.insert(
            SummaryKey {
                provider: google,
                domain: g,
                status: Status::Sent,
                dsn: 0,
                class: 2,
                origin: b.origins.intern(b""),
            },
            1,
        );
        let df = summary_frame(&b, &providers, &OriginNames::of(&b)).unwrap();
        let names: Vec<&str> = df.get_column_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(names, SUMMARY_COLUMNS);
        assert_eq!(df.height(), 2);
        assert_eq!(
            df.column("dsn").unwrap().str().unwrap().get(0),
            Some("4.7.0")
        );
        assert_eq!(df.column("count").unwrap().u64().unwrap().get(0), Some(3));
        assert_eq!(df.column("subject").unwrap().u8().unwrap().get(0), Some(7));
        assert_eq!(df.column("dsn").unwrap().str().unwrap().get(1), Some(""));
        assert_eq!(
            df.column("sasl_user").unwrap().str().unwrap().get(0),
            Some("bob")
        );
        assert_eq!(
            df.column("client").unwrap().str().unwrap().get(0),
            Some("mail.x.example[192.0.2.1]")
        );
        assert_eq!(df.column("client").unwrap().str().unwrap().get(1), Some(""));
        let t = totals_by(&df, &["provider", "status"], None).unwrap();
        assert_eq!(t.height(), 2);
    }
}
