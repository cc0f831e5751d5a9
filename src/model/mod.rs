//! The report as values: one serialisable [`Report`] built from the
//! merged batch and its frames ([`build_report`]), with the journeys and
//! the `summary` sections ([`journeys`], [`summary`]). Every read of the
//! batch and every polars group-by the report needs is here; the
//! renderers (`report/`: terminal, JSON, Markdown, HTML) and the exports
//! read these values only.

pub mod compare;
pub mod journeys;
pub mod live;
pub mod summary;
pub mod tls;

/// The findings are the report's too: renderers and exports read them from here.
pub use crate::detect::{Finding, Severity};

use crate::aggregate::batch::Batch;
use crate::aggregate::frame::{
    OriginNames, outcomes_frame, reasons_frame, summary_frame, timeline_frame, who_frame,
};
use crate::aggregate::frame::{SUMMARY_COLUMNS, bools, i64s, opt_u8s, strs, totals_by, u8s, u64s};
use crate::analysis::Analysis;
pub use crate::analysis::FileSummary;
use crate::classify::provider::ProviderMap;
use crate::detect::Thresholds;
use crate::detect::{self, Frames, Samples};
use crate::dsn::{self, Dsn};
use crate::error::Error;
use crate::event::Status;
use crate::parse::Unparsed;
use crate::time::grid::Grid;
use crate::time::zone::Zone;
use crate::{event, parse};
use polars::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The whole report (`--json` prints exactly this).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `mtastat`.
    pub tool: &'static str,
    /// Version of mtastat.
    pub version: &'static str,
    /// Inputs, in the order read.
    pub files: Vec<FileSummary>,
    /// Lines read, all inputs.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Lines not understood (see `unparsed`).
    pub unparsed_lines: u64,
    /// Lines not understood, by reason, with samples.
    pub unparsed: Vec<UnparsedReason>,
    /// Empty lines.
    pub blank_lines: u64,
    /// Lines from other programs (dovecot, amavis …), other MTAs included.
    pub other_program_lines: u64,
    /// Of those, lines of MTAs mtastat does not read (`sendmail`,
    /// `opensmtpd`, `qmail`, `courier`, `haraka`), by MTA; not analysed.
    pub other_mta_lines: std::collections::BTreeMap<&'static str, u64>,
    /// Postfix/Exim lines that are not deliveries.
    pub mail_lines_not_deliveries: u64,
    /// Delivery lines (recipient × attempt), expiries and address-verification
    /// probes included (the count `grep status=` gives).
    pub delivery_attempts: u64,
    /// Of those, address-verification probes (`deliverable`,
    /// `undeliverable`): not attempts, in no rate and no finding.
    pub verification_probes: u64,
    /// Deferrals logged without a new attempt (destination marked dead, retry time not reached).
    pub deferrals_not_attempted: u64,
    /// Attempts left out by --since/--until/--provider/--sender-domain.
    pub attempts_filtered_out: u64,
    /// Attempts whose message's sender line was not in the input.
    pub attempts_sender_unknown: u64,
    /// Exim `*>` lines (delivery suppressed by -N), not counted as attempts.
    pub fake_deliveries: u64,
    /// Exim per-host failures before the next MX was tried: in the findings
    /// and timeline, not in the per-recipient tables.
    pub host_errors: u64,
    /// Inbound commands this server refused or warned about (all reject
    /// lines, before --since/--until).
    pub inbound_rejects: u64,
    /// Those refusals inside --since/--until, by kind, stage, code and
    /// masked reason (top rows).
    pub rejects: Vec<RejectRow>,
    /// The clients refused most (top 10).
    pub rejected_clients: Vec<ClientCount>,
    /// Delivery lines with invalid UTF-8 (shown escaped).
    pub invalid_utf8_delivery_lines: u64,
    /// The zone every time in this report is written in (`--tz`, the
    /// system's zone, or UTC with `--utc`); exports stay in UTC.
    pub time_zone: String,
    /// First and last line time.
    pub period: Option<Period>,
    /// The thresholds the findings used.
    pub thresholds: Thresholds,
    /// What is wrong, most severe first.
    pub findings: Vec<Finding>,
    /// Per-provider attempts, deferrals and failures over time.
    pub timeline: Option<Timeline>,
    /// Per provider, the days stored with `--state` and this run's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<Vec<crate::history::ProviderTrend>>,
    /// Per provider: status totals, code families, top codes.
    pub providers: Vec<ProviderSummary>,
    /// The summary frame's rows.
    pub deliveries: Vec<SummaryRow>,
    /// Masked reply texts of non-delivered attempts, by provider, status and code.
    pub reasons: Vec<ReasonRow>,
    /// Exim's per-host errors (an MX's refusal logged before the next MX is
    /// tried), by reply: the receivers' mood, not the recipients' outcomes,
    /// so in none of the tables above (Postfix logs none when a later MX
    /// accepts).
    pub mx_replies: Vec<ReasonRow>,
    /// Per recipient of each message: final disposition, attempts, time to
    /// deliver; per provider and busiest domain.
    pub journeys: journeys::JourneyReport,
    /// How deliveries and received messages were protected.
    pub tls: tls::TlsPosture,
    /// A report of many hosts (`--from-events`): each host's attempts and
    /// findings. Empty for a report of logs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostReport>,
}

/// One host of a report of many (`--from-events`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostReport {
    /// The host (its partition's name).
    pub host: String,
    /// Its delivery attempts.
    pub attempts: u64,
    /// Of those, failed (bounced or expired) and deferred.
    pub failed: u64,
    /// Deferred.
    pub deferred: u64,
    /// Its own findings, as its own report would give them.
    pub findings: Vec<HostFinding>,
}

/// A finding of one host's own report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostFinding {
    /// Rule name.
    pub rule: &'static str,
    /// Provider id, or `all`.
    pub provider: String,
    /// Severity.
    pub severity: Severity,
    /// Since (the report's zone).
    pub since: String,
    /// The finding in one sentence.
    pub summary: String,
}

/// A reason lines were not understood.
#[derive(Clone, Debug, Serialize)]
pub struct UnparsedReason {
    /// Machine name.
    pub reason: &'static str,
    /// Human description.
    pub description: &'static str,
    /// Lines.
    pub count: u64,
    /// Up to three samples (lossy UTF-8, cut to 200 bytes).
    pub samples: Vec<String>,
}

/// First and last line time.
#[derive(Clone, Debug, Serialize)]
pub struct Period {
    /// `YYYY-MM-DD HH:MM:SS` in `time_zone`.
    pub first: String,
    /// `YYYY-MM-DD HH:MM:SS` in `time_zone`.
    pub last: String,
}

/// Status totals and code mix of one provider.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderSummary {
    /// Provider id.
    pub provider: String,
    /// Provider name.
    pub name: String,
    /// Delivery attempts (address-verification probes not included).
    pub attempts: u64,
    /// Address-verification probes (deliverable, undeliverable): not
    /// attempts, not in the rates.
    pub probes: u64,
    /// Attempts and probes by status name (only statuses that occur).
    pub by_status: Vec<StatusCount>,
    /// Deferred / attempts.
    pub deferred_rate: f64,
    /// (Bounced + expired) / attempts.
    pub failed_rate: f64,
    /// Failures (class 4 and 5) by code family.
    pub families: Vec<FamilyCount>,
    /// Most frequent failure codes.
    pub top_codes: Vec<CodeCount>,
}

impl ProviderSummary {
    /// Attempts with this status (0 when none).
    pub fn status_count(&self, status: &str) -> u64 {
        self.by_status
            .iter()
            .find(|s| s.status == status)
            .map_or(0, |s| s.count)
    }
}

/// Count for one status.
#[derive(Clone, Debug, Serialize)]
pub struct StatusCount {
    /// Status name.
    pub status: &'static str,
    /// Attempts.
    pub count: u64,
}

/// Failures in one class × subject family.
#[derive(Clone, Debug, Serialize)]
pub struct FamilyCount {
    /// 4 or 5.
    pub class: u8,
    /// 0–7; `null` when the reply carried no enhanced code.
    pub subject: Option<u8>,
    /// RFC 3463 subject name (or "no enhanced code").
    pub name: &'static str,
    /// Attempts.
    pub count: u64,
}

/// One enhanced code's count.
#[derive(Clone, Debug, Serialize)]
pub struct CodeCount {
    /// `4.7.0`.
    pub dsn: String,
    /// The provider's title where it differs from the registry's
    /// (Microsoft's 5.4.1), else the registry title, if any.
    pub title: Option<&'static str>,
    /// Attempts.
    pub count: u64,
}

/// One row of the summary frame.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SummaryRow {
    /// Provider id.
    pub provider: String,
    /// Recipient domain (lowercase).
    pub domain: String,
    /// Status.
    pub status: String,
    /// Enhanced code or `""`.
    pub dsn: String,
    /// 2, 4 or 5.
    pub class: u8,
    /// 0–7; null when the reply had no enhanced code.
    pub subject: Option<u8>,
    /// Attempts.
    pub count: u64,
    /// The SASL user who submitted the mail; empty when none.
    pub sasl_user: String,
    /// The client that handed it over (`name[ip]`, `local`); empty when
    /// the input does not say.
    pub client: String,
}

/// One row of the reasons frame.
#[derive(Clone, Debug, Serialize)]
pub struct ReasonRow {
    /// Provider id.
    pub provider: String,
    /// Status.
    pub status: String,
    /// Enhanced code or `""`.
    pub dsn: String,
    /// Class.
    pub class: u8,
    /// Subject; null without an enhanced code.
    pub subject: Option<u8>,
    /// The masked reply text.
    pub reason: String,
    /// Attempts.
    pub count: u64,
    /// First seen, in the report's zone.
    pub first_seen: String,
    /// Last seen, in the report's zone.
    pub last_seen: String,
}

/// The summary frame as rows.
pub fn summary_rows(df: &DataFrame) -> PolarsResult<Vec<SummaryRow>> {
    let [p, d, s, c, k, j, n, u, h] = SUMMARY_COLUMNS;
    let (p, d, s, c) = (strs(df, p)?, strs(df, d)?, strs(df, s)?, strs(df, c)?);
    let (k, j, n) = (u8s(df, k)?, opt_u8s(df, j)?, u64s(df, n)?);
    let (u, h) = (strs(df, u)?, strs(df, h)?);
    Ok((0..df.height())
        .map(|i| SummaryRow {
            provider: p[i].clone(),
            domain: d[i].clone(),
            status: s[i].clone(),
            dsn: c[i].clone(),
            class: k[i],
            subject: j[i],
            count: n[i],
            sasl_user: u[i].clone(),
            client: h[i].clone(),
        })
        .collect())
}

/// The reasons frame as rows: the recipients' outcomes (`per_host` false),
/// or Exim's per-host errors, one MX's reply each (`per_host` true).
pub fn reason_rows(df: &DataFrame, zone: Zone, per_host: bool) -> PolarsResult<Vec<ReasonRow>> {
    let (p, s, c, r) = (
        strs(df, "provider")?,
        strs(df, "status")?,
        strs(df, "dsn")?,
        strs(df, "reason")?,
    );
    let (k, j, n) = (
        u8s(df, "class")?,
        opt_u8s(df, "subject")?,
        u64s(df, "count")?,
    );
    let (f, l) = (i64s(df, "first_seen")?, i64s(df, "last_seen")?);
    let host = bools(df, "per_host")?;
    Ok((0..df.height())
        .filter(|i| host[*i] == per_host)
        .map(|i| ReasonRow {
            provider: p[i].clone(),
            status: s[i].clone(),
            dsn: c[i].clone(),
            class: k[i],
            subject: j[i],
            reason: r[i].clone(),
            count: n[i],
            first_seen: zone.format(f[i]),
            last_seen: zone.format(l[i]),
        })
        .collect())
}

/// Top codes listed per provider.
pub const TOP_CODES: usize = 8;

/// Per-provider summaries, computed with polars from the summary frame,
/// ordered by attempts (descending).
pub fn provider_summaries(
    summary: &DataFrame,
    providers: &ProviderMap,
) -> PolarsResult<Vec<ProviderSummary>> {
    let by_status = totals_by(summary, &["provider", "status"], None)?;
    // Failure codes and families are of deliveries: probes are not failures.
    let deliveries = summary
        .clone()
        .lazy()
        .filter(
            col("status")
                .neq(lit(Status::Deliverable.as_str()))
                .and(col("status").neq(lit(Status::Undeliverable.as_str()))),
        )
        .collect()?;
    let summary = &deliveries;
    let coded = summary
        .clone()
        .lazy()
        .with_column(col("dsn").neq(lit("")).alias("coded"))
        .collect()?;
    let families = totals_by(
        &coded,
        &["provider", "class", "subject", "coded"],
        Some(col("class").gt_eq(lit(4u8))),
    )?;
    let codes = totals_by(
        summary,
        &["provider", "dsn"],
        Some(col("class").gt_eq(lit(4u8)).and(col("dsn").neq(lit("")))),
    )?;

    let mut out: Vec<ProviderSummary> = Vec::new();
    let (sp, ss, sn) = (
        strs(&by_status, "provider")?,
        strs(&by_status, "status")?,
        u64s(&by_status, "count")?,
    );
    for i in 0..by_status.height() {
        let at = match out.iter().position(|p| p.provider == sp[i]) {
            Some(at) => at,
            None => {
                let name = (0..providers.len())
                    .map(|id| providers.info(id as u16))
                    .find(|info| info.id == sp[i])
                    .map_or_else(|| sp[i].clone(), |info| info.name.clone());
                out.push(ProviderSummary {
                    provider: sp[i].clone(),
                    name,
                    attempts: 0,
                    probes: 0,
                    by_status: Vec::new(),
                    deferred_rate: 0.0,
                    failed_rate: 0.0,
                    families: Vec::new(),
                    top_codes: Vec::new(),
                });
                out.len() - 1
            }
        };
        let entry = &mut out[at];
        let status = Status::ALL
            .into_iter()
            .find(|s| s.as_str() == ss[i])
            .map_or("unknown", Status::as_str);
        if status == Status::Deliverable.as_str() || status == Status::Undeliverable.as_str() {
            entry.probes += sn[i];
        } else {
            entry.attempts += sn[i];
        }
        entry.by_status.push(StatusCount {
            status,
            count: sn[i],
        });
    }
    for p in &mut out {
        p.by_status
            .sort_by_key(|s| Status::ALL.iter().position(|x| x.as_str() == s.status));
        let get = |name: &str| {
            p.by_status
                .iter()
                .find(|s| s.status == name)
                .map_or(0, |s| s.count)
        };
        if p.attempts > 0 {
            p.deferred_rate = get("deferred") as f64 / p.attempts as f64;
            p.failed_rate = (get("bounced") + get("expired")) as f64 / p.attempts as f64;
        }
    }
    let (fp, fc, fs, fnn) = (
        strs(&families, "provider")?,
        u8s(&families, "class")?,
        opt_u8s(&families, "subject")?,
        u64s(&families, "count")?,
    );
    let has_code: Vec<bool> = families
        .column("coded")?
        .bool()?
        .iter()
        .map(|v| v.unwrap_or(false))
        .collect();
    for i in 0..families.height() {
        if let Some(p) = out.iter_mut().find(|p| p.provider == fp[i]) {
            let subject = if has_code[i] { fs[i] } else { None };
            p.families.push(FamilyCount {
                class: fc[i],
                subject,
                name: subject.map_or("no enhanced code", |x| dsn::subject_name(u16::from(x))),
                count: fnn[i],
            });
        }
    }
    let (cp, cd, cn) = (
        strs(&codes, "provider")?,
        strs(&codes, "dsn")?,
        u64s(&codes, "count")?,
    );
    for i in 0..codes.height() {
        if let Some(p) = out.iter_mut().find(|p| p.provider == cp[i]) {
            p.top_codes.push(CodeCount {
                title: Dsn::parse(cd[i].as_bytes()).and_then(|d| {
                    dsn::provider_title(&cp[i], d).or_else(|| dsn::registry_title(d))
                }),
                dsn: cd[i].clone(),
                count: cn[i],
            });
        }
    }
    for p in &mut out {
        p.top_codes
            .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.dsn.cmp(&b.dsn)));
        p.top_codes.truncate(TOP_CODES);
    }
    out.sort_by(|a, b| {
        b.attempts
            .cmp(&a.attempts)
            .then_with(|| a.provider.cmp(&b.provider))
    });
    Ok(out)
}

/// Attempts, deferrals and failures per provider and time bucket.
#[derive(Clone, Debug, Serialize)]
pub struct Timeline {
    /// Bucket width in minutes (1 up to 12 hours of log, then wider).
    pub bucket_minutes: i64,
    /// First bucket's start, `YYYY-MM-DD HH:MM` in the report's zone.
    pub start: String,
    /// Last bucket's last minute, `YYYY-MM-DD HH:MM` in the report's zone.
    pub end: String,
    /// Providers by attempts (descending), at most [`TIMELINE_PROVIDERS`].
    pub providers: Vec<ProviderTimeline>,
}

/// One provider's series; all vectors have one entry per bucket.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderTimeline {
    /// Provider id.
    pub provider: String,
    /// Attempts (tried deliveries and expiries).
    pub attempts: Vec<u64>,
    /// Deferred.
    pub deferred: Vec<u64>,
    /// Bounced or expired.
    pub failed: Vec<u64>,
}

/// Providers kept in the timeline.
pub const TIMELINE_PROVIDERS: usize = 12;

/// The timeline from the timeline frame (attempts the MTA did not try are left out).
pub fn timeline(df: &DataFrame, zone: Zone) -> PolarsResult<Option<Timeline>> {
    let g = df
        .clone()
        .lazy()
        .filter(
            col("attempted")
                .or(col("status").eq(lit("expired")))
                .and(col("per_host").not()),
        )
        .group_by([col("minute"), col("provider"), col("status")])
        .agg([col("count").sum()])
        .collect()?;
    let (m, p, s, n) = (
        i64s(&g, "minute")?,
        strs(&g, "provider")?,
        strs(&g, "status")?,
        u64s(&g, "count")?,
    );
    let (Some(first), Some(last)) = (m.iter().min(), m.iter().max()) else {
        return Ok(None);
    };
    let grid = Grid::covering_at_least(first / 60, last / 60, crate::detect::data_width(df)?);
    let mut by: std::collections::HashMap<&str, ProviderTimeline> = Default::default();
    for i in 0..m.len() {
        let t = by.entry(&p[i]).or_insert_with(|| ProviderTimeline {
            provider: p[i].clone(),
            attempts: vec![0; grid.len],
            deferred: vec![0; grid.len],
            failed: vec![0; grid.len],
        });
        let b = grid.index(m[i] / 60);
        t.attempts[b] += n[i];
        match s[i].as_str() {
            "deferred" => t.deferred[b] += n[i],
            "bounced" | "expired" | "undeliverable" => t.failed[b] += n[i],
            _ => {}
        }
    }
    let mut providers: Vec<ProviderTimeline> = by.into_values().collect();
    providers.sort_by(|a, b| {
        b.attempts
            .iter()
            .sum::<u64>()
            .cmp(&a.attempts.iter().sum::<u64>())
            .then_with(|| a.provider.cmp(&b.provider))
    });
    providers.truncate(TIMELINE_PROVIDERS);
    let end = (grid.minute_of(grid.len.saturating_sub(1)) + grid.width - 1) * 60;
    Ok(Some(Timeline {
        bucket_minutes: grid.width,
        start: zone.format_minute(grid.start * 60),
        end: zone.format_minute(end),
        providers,
    }))
}

/// What the server refused, grouped by kind, stage, code and masked reason.
#[derive(Clone, Debug, Serialize)]
pub struct RejectRow {
    /// `reject`, `temporary reject` or `reject warning`.
    pub kind: &'static str,
    /// SMTP stage (`RCPT`, `MAIL`, `DATA`, `CONNECT`, `header` …).
    pub stage: String,
    /// Basic reply code, when logged.
    pub code: Option<u16>,
    /// Enhanced status code, when logged.
    pub dsn: Option<String>,
    /// The reply text, masked.
    pub reason: String,
    /// Refusals.
    pub count: u64,
    /// Distinct clients refused this way.
    pub clients: u64,
    /// The clients refused most this way (up to three).
    pub top_clients: Vec<ClientCount>,
}

/// A client and how often it was refused.
#[derive(Clone, Debug, Serialize)]
pub struct ClientCount {
    /// `host[ip]` as logged.
    pub client: String,
    /// Refusals.
    pub count: u64,
}

/// Rows of the reject table listed.
pub const REJECT_ROWS: usize = 20;

/// Groups a batch's inbound rejects (inside --since/--until) for the report:
/// the top reasons and the clients refused most.
pub fn reject_rows(batch: &Batch) -> (Vec<RejectRow>, Vec<ClientCount>) {
    let (mut rows, clients) = reject_rows_all(batch);
    rows.truncate(REJECT_ROWS);
    (rows, clients)
}

/// Every reject group, most frequent first, and the clients refused most.
pub fn reject_rows_all(batch: &Batch) -> (Vec<RejectRow>, Vec<ClientCount>) {
    type Group = (crate::parse::reject::RejectKind, u32, u16, u32, u32);
    let mut groups: HashMap<Group, (u64, HashMap<u32, u64>)> = HashMap::new();
    let mut clients: HashMap<u32, u64> = HashMap::new();
    for (k, n) in &batch.inbound.rejects {
        let g = groups
            .entry((k.kind, k.stage, k.basic, k.dsn, k.reason))
            .or_default();
        g.0 += n;
        *g.1.entry(k.client).or_insert(0) += n;
        *clients.entry(k.client).or_insert(0) += n;
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let top = |m: &HashMap<u32, u64>, n: usize| -> Vec<ClientCount> {
        let mut v: Vec<(u32, u64)> = m.iter().map(|(c, k)| (*c, *k)).collect();
        v.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| batch.clients.get(a.0).cmp(batch.clients.get(b.0)))
        });
        v.into_iter()
            .take(n)
            .map(|(c, count)| ClientCount {
                client: text(batch.clients.get(c)),
                count,
            })
            .collect()
    };
    let mut rows: Vec<RejectRow> = groups
        .into_iter()
        .map(
            |((kind, stage, basic, dsn, reason), (count, by_client))| RejectRow {
                kind: kind.as_str(),
                stage: text(batch.stages.get(stage)),
                code: (basic != 0).then_some(basic),
                dsn: (dsn != 0).then(|| Dsn::from_key(dsn).to_string()),
                reason: text(batch.reasons.get(reason)),
                count,
                clients: by_client.len() as u64,
                top_clients: top(&by_client, 3),
            },
        )
        .collect();
    rows.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.reason.cmp(&b.reason))
            .then_with(|| a.stage.cmp(&b.stage))
    });
    (rows, top(&clients, 10))
}

/// Builds the unparsed-reason list from a batch.
pub fn unparsed_reasons(batch: &Batch) -> Vec<UnparsedReason> {
    Unparsed::ALL
        .into_iter()
        .filter(|r| batch.counters.unparsed[r.index()] > 0)
        .map(|r| UnparsedReason {
            reason: r.as_str(),
            description: r.describe(),
            count: batch.counters.unparsed[r.index()],
            samples: batch.samples[r.index()]
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
        })
        .collect()
}
/// The small per-key evidence the findings quote (queue ids, recipients).
fn samples(b: &Batch, providers: &ProviderMap) -> Samples {
    let mut s = Samples::default();
    for ((p, c), ids) in &b.deliveries.queue_samples {
        s.queue_ids.insert(
            (providers.info(*p).id.clone(), *c),
            ids.iter()
                .map(|(_, q)| String::from_utf8_lossy(q.as_bytes()).into_owned())
                .collect(),
        );
    }
    for ((p, c, r), n) in &b.deliveries.recipient_counts {
        s.recipients
            .entry((providers.info(*p).id.clone(), *c))
            .or_default()
            .push((
                String::from_utf8_lossy(b.recipients.get(*r)).into_owned(),
                *n,
            ));
    }
    for v in s.recipients.values_mut() {
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
    s.handoff_hops = b
        .deliveries
        .handoff_hops
        .iter()
        .map(|(hop, [n, f])| (String::from_utf8_lossy(hop).into_owned(), *n, *f))
        .collect();
    s.handoff_hops
        .sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
    for ((p, of), r) in &b.deliveries.reach {
        s.reach
            .entry((providers.info(*p).id.clone(), *of))
            .or_default()
            .merge(r);
    }
    s.logins = login_facts(b);
    s.tls = tls::tls_facts(b, providers);
    s
}

/// The scan's authentication tables as plain data for the findings.
fn login_facts(b: &Batch) -> crate::detect::auth::LoginFacts {
    use crate::detect::auth::{ClientFailures, LoginFacts, UserMail};
    let a = &b.auth;
    let name = |id: u32| String::from_utf8_lossy(b.auth_names.get(id)).into_owned();
    let names = |few: &crate::aggregate::auth::Few| few.ids.iter().map(|&id| name(id)).collect();
    let mut f = LoginFacts::default();
    let mut hours: HashMap<u32, BTreeMap<i64, u64>> = HashMap::new();
    for (&(client, hour), &n) in &a.failure_hours {
        *hours.entry(client).or_default().entry(hour).or_insert(0) += n;
    }
    for (&client, c) in &a.failures {
        f.failures.push(ClientFailures {
            client: name(client),
            count: c.failed.count,
            first: c.failed.first,
            last: c.failed.last,
            users: names(&c.users),
            more_users: c.users.more,
            hours: hours.remove(&client).unwrap_or_default(),
        });
    }
    f.failures.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then_with(|| y.users.len().cmp(&x.users.len()))
            .then_with(|| x.client.cmp(&y.client))
    });
    for (&client, l) in &a.logins {
        f.logins.insert(
            name(client),
            (
                l.logins.count,
                l.logins.first,
                l.logins.last,
                names(&l.users),
            ),
        );
    }
    for (&user, u) in &a.users {
        f.users.push(UserMail {
            user: name(user),
            messages: u.messages.count,
            first: u.messages.first,
            last: u.messages.last,
            hours: u
                .hours
                .iter()
                .map(|(h, x)| (*h, (x.messages, x.networks.ids.len(), x.first)))
                .collect(),
            clients: names(&u.clients),
            networks: names(&u.networks),
            domain_firsts: u.domains.values().copied().collect(),
            network_firsts: u.network_firsts.values().copied().collect(),
            queued: u
                .queued
                .iter()
                .map(|q| {
                    (
                        name(q.host),
                        String::from_utf8_lossy(q.queue_id.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            more_queued: u.more_queued,
        });
    }
    f.users.sort_by(|x, y| x.user.cmp(&y.user));
    let s = &a.server;
    if s.failed.count > 0 {
        f.server = (
            s.failed.count,
            s.failed.first,
            s.failed.last,
            s.clients.ids.len(),
            s.reason.map(name).unwrap_or_default(),
        );
    }
    f
}

/// The report against the days stored with `--state` (`past`): each
/// finding says whether this server has seen it (a usual one drops a
/// severity step, so the order is made again) and each provider gets its
/// trend over the stored days and this run's (`run`).
pub(crate) fn with_history(
    report: &mut Report,
    past: &crate::history::History,
    run: &crate::history::History,
) {
    crate::history::judge(&mut report.findings, past, run);
    report
        .findings
        .sort_by_key(|f| std::cmp::Reverse(f.severity));
    let ids: Vec<String> = report
        .providers
        .iter()
        .map(|p| p.provider.clone())
        .collect();
    report.trend = Some(crate::history::trend(past, run, &ids));
}

/// Builds the report (and the summary frame behind it) from an analysis.
pub fn build_report(
    analysis: &Analysis,
    providers: &ProviderMap,
    thresholds: &Thresholds,
    zone: Zone,
) -> Result<(Report, polars::prelude::DataFrame), Error> {
    let b = &analysis.batch;
    // Which origins the frames name: from the summary's totals, once.
    let origins = OriginNames::of(b);
    let summary = summary_frame(b, providers, &origins)?;
    let reasons = reasons_frame(b, providers)?;
    let outcomes = outcomes_frame(b, providers)?;
    let timeline = timeline_frame(b, providers)?;
    let who = who_frame(b, providers, &origins)?;
    let samples = samples(b, providers);
    let findings = detect::detect(
        &Frames {
            outcomes: &outcomes,
            timeline: &timeline,
            reasons: &reasons,
            who: &who,
            summary: &summary,
        },
        &samples,
        thresholds,
        zone,
    )?;
    let c = &b.counters;
    let (rejects, rejected_clients) = reject_rows(b);
    let report = Report {
        tool: "mtastat",
        version: env!("CARGO_PKG_VERSION"),
        files: analysis.files.clone(),
        lines: c.lines,
        bytes: c.bytes,
        unparsed_lines: c.unparsed_total(),
        unparsed: unparsed_reasons(b),
        blank_lines: c.blank,
        other_program_lines: c.other_program,
        other_mta_lines: parse::header::OtherMta::ALL
            .iter()
            .map(|m| (m.as_str(), c.other_mta[*m as usize]))
            .filter(|(_, n)| *n > 0)
            .collect(),
        mail_lines_not_deliveries: c.mail_other
            + c.senders
            + c.host_errors
            + c.notices
            + c.connections
            + c.postscreen,
        delivery_attempts: c.deliveries,
        verification_probes: c.by_status[event::Status::Deliverable.index()]
            + c.by_status[event::Status::Undeliverable.index()]
            + c.callouts,
        deferrals_not_attempted: c.not_attempted,
        attempts_filtered_out: c.filtered_out,
        attempts_sender_unknown: c.sender_unknown,
        fake_deliveries: c.fake_deliveries,
        host_errors: c.host_errors,
        inbound_rejects: c.rejects,
        rejects,
        rejected_clients,
        invalid_utf8_delivery_lines: c.invalid_utf8,
        time_zone: zone.name(),
        period: b.span.map(|(a, z)| Period {
            first: zone.format(a),
            last: zone.format(z),
        }),
        thresholds: thresholds.clone(),
        findings,
        timeline: self::timeline(&timeline, zone)?,
        trend: None,
        providers: provider_summaries(&summary, providers)?,
        deliveries: summary_rows(&summary)?,
        reasons: reason_rows(&reasons, zone, false)?,
        mx_replies: reason_rows(&reasons, zone, true)?,
        journeys: journeys::journey_report(b, providers),
        tls: tls::posture(&samples.tls, b, zone),
        hosts: Vec::new(),
    };
    Ok((report, summary))
}
