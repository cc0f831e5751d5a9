//! `mtastat summary`: every section of pflogsumm (and eximstats where they
//! apply), from the same scan: grand totals, per-day and per-hour traffic,
//! host/domain summaries for delivery and reception, senders and
//! recipients by count and size, deferral/bounce/reject detail grouped by
//! masked reason (not cut at 65 characters), smtpd connections, daemon
//! warnings/fatal errors/panics/master messages, postscreen events.

use super::{ReasonRow, RejectRow, Report};
use crate::aggregate::batch::{Batch, SessionTime, Traffic};
use crate::event::Level;
use crate::intern::Interner;
use crate::parse::reject::RejectKind;
use crate::time::zone::Zone;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The summary, for the terminal and JSON.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Rows listed per table (`--top`).
    pub top: usize,
    /// pflogsumm's Grand Totals, and mtastat's additions.
    pub grand_totals: GrandTotals,
    /// Per day (in the report's zone).
    pub per_day: Vec<TrafficRow>,
    /// Per hour of the day, summed over days (`per_hour_daily_average`
    /// divides by the number of days when the log spans several).
    pub per_hour: Vec<TrafficRow>,
    /// True when `per_hour` holds daily averages.
    pub per_hour_daily_average: bool,
    /// Host/Domain Summary: Message Delivery (by recipient domain).
    pub delivery_domains: Vec<DomainRow>,
    /// Host/Domain Summary: Messages Received (by sender domain).
    pub received_domains: Vec<CountRow>,
    /// Senders by message count.
    pub senders_by_count: Vec<CountRow>,
    /// Senders by message size.
    pub senders_by_size: Vec<CountRow>,
    /// Recipients by message count.
    pub recipients_by_count: Vec<CountRow>,
    /// Recipients by message size.
    pub recipients_by_size: Vec<CountRow>,
    /// Message deferral detail (masked reasons, by provider and code).
    pub deferral_detail: Vec<ReasonRow>,
    /// Message bounce detail.
    pub bounce_detail: Vec<ReasonRow>,
    /// Message reject detail (reject and temporary reject).
    pub reject_detail: Vec<RejectRow>,
    /// Reject warning detail.
    pub reject_warning_detail: Vec<RejectRow>,
    /// Hold detail.
    pub hold_detail: Vec<RejectRow>,
    /// Discard detail.
    pub discard_detail: Vec<RejectRow>,
    /// Per-Day SMTPD Connection Summary (sessions paired connect to disconnect).
    pub smtpd_per_day: Vec<SessionRow>,
    /// Per-Hour SMTPD Connection Summary (daily averages over several days).
    pub smtpd_per_hour: Vec<SessionRow>,
    /// Host/Domain Summary: SMTPD Connections.
    pub smtpd_connections: Vec<SessionRow>,
    /// Warnings, errors, fatal errors, panics and master daemon messages.
    pub notices: Vec<NoticeRow>,
    /// postscreen events by action.
    pub postscreen: Vec<CountRow>,
}

/// Grand totals. `null` where journeys were not gathered (`--no-journeys`).
#[derive(Clone, Debug, Serialize)]
pub struct GrandTotals {
    /// Messages received: smtpd/postscreen `client=`, pickup, Exim `<=`.
    pub received: u64,
    /// Recipients delivered (sent lines, forwards excluded).
    pub delivered: u64,
    /// Sent lines that forwarded the message.
    pub forwarded: u64,
    /// Messages with at least one deferral.
    pub deferred: Option<u64>,
    /// Deferral lines.
    pub deferrals: u64,
    /// Bounce lines.
    pub bounced: u64,
    /// Expiries (pflogsumm does not count them).
    pub expired: u64,
    /// Refused commands (reject and temporary reject).
    pub rejected: u64,
    /// Reject warnings (`reject_warning`, `warn`, cleanup `warning`).
    pub reject_warnings: u64,
    /// Held.
    pub held: u64,
    /// Discarded.
    pub discarded: u64,
    /// Bytes of the messages received.
    pub bytes_received: Option<u64>,
    /// Bytes delivered (each delivered recipient counts its message).
    pub bytes_delivered: Option<u64>,
    /// Distinct sender addresses of received messages.
    pub senders: Option<u64>,
    /// Distinct sender domains of received messages.
    pub sending_domains: Option<u64>,
    /// Distinct delivered recipient addresses.
    pub recipients: Option<u64>,
    /// Distinct delivered recipient domains.
    pub recipient_domains: Option<u64>,
    /// smtpd connections.
    pub connections: u64,
    /// Daemon warnings.
    pub warnings: u64,
    /// Daemon fatal errors.
    pub fatal: u64,
    /// Daemon panics.
    pub panics: u64,
}

/// One day or hour of traffic.
#[derive(Clone, Debug, Serialize)]
pub struct TrafficRow {
    /// `2026-11-22` or `14:00`.
    pub when: String,
    /// Messages received.
    pub received: f64,
    /// Recipients delivered.
    pub delivered: f64,
    /// Deferral lines.
    pub deferred: f64,
    /// Bounce lines.
    pub bounced: f64,
    /// Refusals (all kinds, as pflogsumm).
    pub rejected: f64,
    /// Expiries.
    pub expired: f64,
    /// smtpd connections.
    pub connections: f64,
}

/// A recipient domain's deliveries.
#[derive(Clone, Debug, Serialize)]
pub struct DomainRow {
    /// Recipient domain.
    pub domain: String,
    /// Recipients delivered.
    pub delivered: u64,
    /// Bytes delivered.
    pub bytes: u64,
    /// Deferrals.
    pub deferrals: u64,
    /// Mean time to deliver, seconds.
    pub avg_delay: f64,
    /// Longest time to deliver, seconds.
    pub max_delay: f64,
}

/// A name with a count and bytes.
#[derive(Clone, Debug, Serialize)]
pub struct CountRow {
    /// Address, domain, client or action.
    pub name: String,
    /// Messages, deliveries, connections or events.
    pub count: u64,
    /// Bytes (0 where it does not apply).
    pub bytes: u64,
}

/// smtpd sessions of a day, an hour or a client domain.
#[derive(Clone, Debug, Serialize)]
pub struct SessionRow {
    /// Day, hour or client host/domain.
    pub name: String,
    /// Connections (`connect from` lines).
    pub connections: f64,
    /// Sessions whose connect and disconnect were both seen.
    pub sessions: f64,
    /// Their total time, seconds.
    pub total_secs: f64,
    /// Mean session time, seconds.
    pub avg_secs: f64,
    /// Longest session, seconds.
    pub max_secs: u64,
}

/// A daemon's notice, grouped.
#[derive(Clone, Debug, Serialize)]
pub struct NoticeRow {
    /// `warning`, `error`, `fatal`, `panic`, `master`.
    pub level: &'static str,
    /// Postfix service (`smtpd`, `qmgr` …).
    pub service: String,
    /// The text, masked.
    pub text: String,
    /// Lines.
    pub count: u64,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The `n` largest of `m` by `key`, names from `names`.
fn top_by<'a>(
    m: impl IntoIterator<Item = (&'a u32, &'a (u64, u64))>,
    names: &Interner,
    n: usize,
    by_size: bool,
) -> Vec<CountRow> {
    let mut v: Vec<CountRow> = m
        .into_iter()
        .map(|(id, (count, bytes))| CountRow {
            // The null sender (bounces) reads as pflogsumm writes it.
            name: match names.get(*id) {
                b"" => "<>".to_string(),
                name => text(name),
            },
            count: *count,
            bytes: *bytes,
        })
        .collect();
    v.sort_by(|a, b| {
        let (x, y) = if by_size {
            (b.bytes, a.bytes)
        } else {
            (b.count, a.count)
        };
        x.cmp(&y).then_with(|| a.name.cmp(&b.name))
    });
    v.truncate(n);
    v
}

/// pflogsumm's "host/domain" of a client: the domain of its host name, or
/// its address when the name is `unknown`.
fn client_domain(client: &[u8]) -> String {
    let s = text(client);
    let (host, ip) = match s.find('[') {
        Some(at) => (&s[..at], s[at + 1..].trim_end_matches(']')),
        None => (s.as_str(), ""),
    };
    if host.is_empty() || host == "unknown" {
        return ip.to_string();
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() <= 2 {
        host.to_string()
    } else {
        labels[labels.len() - 2..].join(".")
    }
}

/// Builds the summary from a finished batch and its report; `gathered`:
/// journeys were gathered (not `--no-journeys`).
pub fn build(b: &Batch, report: &Report, zone: Zone, top: usize, gathered: bool) -> Summary {
    let t = &b.journeys.stats.totals;
    // Line-level columns per local day and hour.
    let mut days: BTreeMap<String, [u64; Traffic::COLUMNS]> = BTreeMap::new();
    let mut hours = [[0u64; Traffic::COLUMNS]; 24];
    let mut sums = [0u64; Traffic::COLUMNS];
    for (bucket, v) in &b.traffic.by_bucket {
        let stamp = zone.format(bucket * Traffic::BUCKET);
        let day = stamp.get(..10).unwrap_or_default().to_string();
        let hour: usize = stamp.get(11..13).and_then(|h| h.parse().ok()).unwrap_or(0);
        let d = days.entry(day).or_insert([0; Traffic::COLUMNS]);
        for c in 0..Traffic::COLUMNS {
            d[c] += v[c];
            hours[hour.min(23)][c] += v[c];
            sums[c] += v[c];
        }
    }
    let row = |when: String, v: &[u64; Traffic::COLUMNS], div: f64| TrafficRow {
        when,
        received: v[Traffic::RECEIVED] as f64 / div,
        delivered: v[Traffic::DELIVERED] as f64 / div,
        deferred: v[Traffic::DEFERRED] as f64 / div,
        bounced: v[Traffic::BOUNCED] as f64 / div,
        rejected: v[Traffic::REJECTED] as f64 / div,
        expired: v[Traffic::EXPIRED] as f64 / div,
        connections: v[Traffic::CONNECTIONS] as f64 / div,
    };
    let ndays = days.len().max(1) as f64;
    let average = days.len() > 1;
    let per_hour = hours
        .iter()
        .enumerate()
        .map(|(h, v)| row(format!("{h:02}:00"), v, if average { ndays } else { 1.0 }))
        .collect();
    let per_day = days.iter().map(|(d, v)| row(d.clone(), v, 1.0)).collect();
    let mut kinds: HashMap<RejectKind, u64> = HashMap::new();
    for (k, n) in &b.inbound.rejects {
        *kinds.entry(k.kind).or_insert(0) += n;
    }
    let kind = |k: RejectKind| kinds.get(&k).copied().unwrap_or(0);
    let mut levels: HashMap<Level, u64> = HashMap::new();
    for ((_, level, _), n) in &b.inbound.notices {
        *levels.entry(*level).or_insert(0) += n;
    }
    let level = |l: Level| levels.get(&l).copied().unwrap_or(0);
    let when = |x: u64| gathered.then_some(x);
    let grand_totals = GrandTotals {
        received: sums[Traffic::RECEIVED],
        delivered: sums[Traffic::DELIVERED],
        forwarded: b.counters.forwarded,
        deferred: when(t.deferred_messages),
        deferrals: sums[Traffic::DEFERRED],
        bounced: sums[Traffic::BOUNCED],
        expired: sums[Traffic::EXPIRED],
        rejected: kind(RejectKind::Reject) + kind(RejectKind::TempReject),
        reject_warnings: kind(RejectKind::Warn),
        held: kind(RejectKind::Hold),
        discarded: kind(RejectKind::Discard),
        bytes_received: when(t.bytes_received),
        bytes_delivered: when(t.bytes_delivered),
        senders: when(t.senders.len() as u64),
        sending_domains: when(t.sending_domains.len() as u64),
        recipients: when(t.recipients.len() as u64),
        recipient_domains: when(t.recipient_domains.values().filter(|d| d.0 > 0).count() as u64),
        connections: sums[Traffic::CONNECTIONS],
        warnings: level(Level::Warning),
        fatal: level(Level::Fatal),
        panics: level(Level::Panic),
    };
    let mut delivery_domains: Vec<DomainRow> = t
        .recipient_domains
        .iter()
        .map(|(d, (delivered, bytes, deferrals))| {
            let times = b
                .journeys
                .stats
                .by_domain
                .get(d)
                .map(|(_, s)| &s.time_to_deliver);
            DomainRow {
                domain: text(b.domains.get(*d)),
                delivered: *delivered,
                bytes: *bytes,
                deferrals: *deferrals,
                avg_delay: times.map_or(0.0, |s| s.mean() / 1000.0),
                max_delay: times.map_or(0.0, |s| f64::from(s.max()) / 1000.0),
            }
        })
        .collect();
    delivery_domains.sort_by(|a, b| {
        b.delivered
            .cmp(&a.delivered)
            .then(b.deferrals.cmp(&a.deferrals))
            .then_with(|| a.domain.cmp(&b.domain))
    });
    delivery_domains.truncate(top);
    let mut by_domain: HashMap<String, (u64, SessionTime)> = HashMap::new();
    for (c, t) in &b.sessions.by_client {
        let d = by_domain
            .entry(client_domain(b.clients.get(*c)))
            .or_default();
        d.0 += t.connections;
        d.1.add(t.time);
    }
    let session_row = |name: String, connections: u64, t: SessionTime, div: f64| SessionRow {
        name,
        connections: connections as f64 / div,
        sessions: t.sessions as f64 / div,
        total_secs: t.secs as f64 / div,
        avg_secs: if t.sessions == 0 {
            0.0
        } else {
            t.secs as f64 / t.sessions as f64
        },
        max_secs: t.max,
    };
    let mut smtpd_connections: Vec<SessionRow> = by_domain
        .into_iter()
        .map(|(name, (n, t))| session_row(name, n, t, 1.0))
        .collect();
    smtpd_connections.sort_by(|a, b| {
        b.connections
            .total_cmp(&a.connections)
            .then_with(|| a.name.cmp(&b.name))
    });
    smtpd_connections.truncate(top);
    let mut session_days: BTreeMap<String, SessionTime> = BTreeMap::new();
    let mut session_hours = [SessionTime::default(); 24];
    for (bucket, t) in &b.sessions.by_bucket {
        let stamp = zone.format(bucket * Traffic::BUCKET);
        let hour: usize = stamp.get(11..13).and_then(|h| h.parse().ok()).unwrap_or(0);
        session_days
            .entry(stamp.get(..10).unwrap_or_default().to_string())
            .or_default()
            .add(*t);
        session_hours[hour.min(23)].add(*t);
    }
    let smtpd_per_day = days
        .iter()
        .map(|(d, v)| {
            let t = session_days.get(d).copied().unwrap_or_default();
            session_row(d.clone(), v[Traffic::CONNECTIONS], t, 1.0)
        })
        .collect();
    let smtpd_per_hour = hours
        .iter()
        .zip(session_hours)
        .enumerate()
        .map(|(h, (v, t))| {
            session_row(
                format!("{h:02}:00"),
                v[Traffic::CONNECTIONS],
                t,
                if average { ndays } else { 1.0 },
            )
        })
        .collect();
    let mut notices: Vec<NoticeRow> = b
        .inbound
        .notices
        .iter()
        .map(|((service, level, reason), count)| NoticeRow {
            level: level.as_str(),
            service: text(b.services.get(*service)),
            text: text(b.reasons.get(*reason)),
            count: *count,
        })
        .collect();
    notices.sort_by(|a, b| {
        let rank = |l: &str| Level::ALL.iter().position(|x| x.as_str() == l);
        rank(b.level)
            .cmp(&rank(a.level))
            .then(b.count.cmp(&a.count))
            .then_with(|| a.text.cmp(&b.text))
    });
    let mut postscreen: Vec<CountRow> = b
        .inbound
        .postscreen
        .iter()
        .map(|(a, n)| CountRow {
            name: text(b.services.get(*a)),
            count: *n,
            bytes: 0,
        })
        .collect();
    postscreen.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    let (all_rejects, _) = super::reject_rows_all(b);
    let rejects_of = |kinds: &[&str]| -> Vec<RejectRow> {
        all_rejects
            .iter()
            .filter(|r| kinds.contains(&r.kind))
            .take(top)
            .cloned()
            .collect()
    };
    let reasons_of = |status: &str| -> Vec<ReasonRow> {
        let mut v: Vec<ReasonRow> = report
            .reasons
            .iter()
            .filter(|r| r.status == status)
            .cloned()
            .collect();
        v.sort_by_key(|r| std::cmp::Reverse(r.count));
        v.truncate(top);
        v
    };
    Summary {
        top,
        grand_totals,
        per_day,
        per_hour,
        per_hour_daily_average: average,
        delivery_domains,
        received_domains: top_by(&t.sending_domains, &b.senders, top, false),
        senders_by_count: top_by(&t.senders, &b.addresses, top, false),
        senders_by_size: top_by(&t.senders, &b.addresses, top, true),
        recipients_by_count: top_by(&t.recipients, &b.delivered_to, top, false),
        recipients_by_size: top_by(&t.recipients, &b.delivered_to, top, true),
        deferral_detail: reasons_of("deferred"),
        bounce_detail: reasons_of("bounced"),
        reject_detail: rejects_of(&["reject", "temporary reject"]),
        reject_warning_detail: rejects_of(&["reject warning"]),
        hold_detail: rejects_of(&["hold"]),
        discard_detail: rejects_of(&["discard"]),
        smtpd_per_day,
        smtpd_per_hour,
        smtpd_connections,
        notices,
        postscreen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_domains_like_pflogsumm() {
        assert_eq!(client_domain(b"mail.example.com[192.0.2.1]"), "example.com");
        assert_eq!(client_domain(b"unknown[192.0.2.1]"), "192.0.2.1");
        assert_eq!(client_domain(b"localhost[127.0.0.1]"), "localhost");
    }
}
