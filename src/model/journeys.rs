//! The journeys section: how each recipient's message ended, after how
//! many attempts, and how long it took, per provider and per busiest
//! recipient domain; and where Postfix spent the time (`delays=a/b/c/d`).

use crate::aggregate::batch::Batch;
use crate::classify::provider::ProviderMap;
use crate::journey::stats::{DelayStats, Disposition, Sketch};
use serde::Serialize;

/// Recipient domains listed (the busiest).
pub const TOP_DOMAINS: usize = 15;

/// Journeys in the report and JSON.
#[derive(Clone, Debug, Serialize)]
pub struct JourneyReport {
    /// Messages queued whose journey is in the input.
    pub messages: u64,
    /// Recipient journeys (one per recipient per message).
    pub recipients: u64,
    /// Messages that arrived but were never queued (client gone or refused
    /// after DATA).
    pub not_queued: u64,
    /// Messages that left the queue without a logged attempt.
    pub messages_without_attempts: u64,
    /// Messages closed as pending early: the open journeys passed their
    /// bound (a huge queue, or a log repeating lines of one message).
    pub cut_short: u64,
    /// All recipients.
    pub total: DelayRow,
    /// Per provider, most recipients first.
    pub providers: Vec<DelayRow>,
    /// The busiest recipient domains.
    pub domains: Vec<DelayRow>,
    /// A join that failed (the numbers are then partial).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Journeys of one provider, domain or all recipients.
#[derive(Clone, Debug, Serialize)]
pub struct DelayRow {
    /// Provider id (`all` for the total).
    pub provider: String,
    /// Recipient domain (domain rows only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Recipients.
    pub recipients: u64,
    /// Recipients by final disposition.
    pub delivered: u64,
    /// Bounced.
    pub bounced: u64,
    /// Expired.
    pub expired: u64,
    /// Still queued at the end of the log.
    pub pending: u64,
    /// Left the queue without a final status.
    pub removed: u64,
    /// Accepted by a content filter on loopback, with no `queued as` to
    /// follow it further: not delivered (as far as the log says).
    pub handed_off: u64,
    /// Share of delivered recipients delivered at the first attempt.
    pub first_attempt_share: Option<f64>,
    /// Share of delivered recipients delivered after one or more deferrals.
    pub after_deferral_share: Option<f64>,
    /// Deferrals per delivered recipient.
    pub deferrals_per_delivered: Option<f64>,
    /// Arrival to delivery, seconds (delivered recipients, once each).
    pub time_to_deliver: Option<Quantiles>,
    /// Arrival to bounce or expiry, seconds.
    pub time_to_fail: Option<Quantiles>,
    /// Postfix `delays=a/b/c/d` of the delivering attempts, seconds.
    pub delays: Option<DelaySplit>,
    /// Recipients by attempts made: 1, 2, … 9, 10 or more.
    pub attempts: [u64; 10],
}

/// Percentiles of a distribution, seconds.
#[derive(Clone, Debug, Serialize)]
pub struct Quantiles {
    /// Values.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// Where Postfix spent the time.
#[derive(Clone, Debug, Serialize)]
pub struct DelaySplit {
    /// Before the last queue-manager activation: arrival, and for retried
    /// messages the time waiting in the deferred queue (Postfix's `a`).
    pub before_qmgr: Quantiles,
    /// In the active queue (`b`): a long one means the queue manager or
    /// the transport's concurrency is the bottleneck.
    pub in_qmgr: Quantiles,
    /// Connection setup (DNS, TCP, HELO, TLS).
    pub conn_setup: Quantiles,
    /// Message transmission.
    pub transmission: Quantiles,
}

fn quantiles(s: &Sketch) -> Option<Quantiles> {
    let q = |p| s.quantile(p).unwrap_or(0.0) / 1000.0;
    (s.count() > 0).then(|| Quantiles {
        count: s.count(),
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        max: f64::from(s.max()) / 1000.0,
        mean: s.mean() / 1000.0,
    })
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn row(provider: String, domain: Option<String>, s: &DelayStats) -> DelayRow {
    let n = |d: Disposition| s.by_disposition[d as usize];
    let delivered = s.delivered();
    let [a, b, c, d] = &s.split;
    DelayRow {
        provider,
        domain,
        recipients: s.recipients(),
        delivered,
        bounced: n(Disposition::Bounced),
        expired: n(Disposition::Expired),
        pending: n(Disposition::Pending),
        removed: n(Disposition::Removed),
        handed_off: n(Disposition::HandedOff),
        first_attempt_share: share(s.first_attempt, delivered),
        after_deferral_share: share(s.after_deferral, delivered),
        deferrals_per_delivered: (delivered > 0)
            .then(|| s.deferrals_before_delivery as f64 / delivered as f64),
        time_to_deliver: quantiles(&s.time_to_deliver),
        time_to_fail: quantiles(&s.time_to_fail),
        delays: match (quantiles(a), quantiles(b), quantiles(c), quantiles(d)) {
            (Some(a), Some(b), Some(c), Some(d)) => Some(DelaySplit {
                before_qmgr: a,
                in_qmgr: b,
                conn_setup: c,
                transmission: d,
            }),
            _ => None,
        },
        attempts: s.attempts,
    }
}

/// The journeys of a finished batch.
pub fn journey_report(b: &Batch, providers: &ProviderMap) -> JourneyReport {
    let st = &b.journeys.stats;
    let mut rows: Vec<DelayRow> = st
        .by_provider
        .iter()
        .map(|(p, s)| row(providers.info(*p).id.clone(), None, s))
        .collect();
    rows.sort_by(|a, b| {
        b.recipients
            .cmp(&a.recipients)
            .then(a.provider.cmp(&b.provider))
    });
    let mut domains: Vec<(&u32, &(u16, DelayStats))> = st.by_domain.iter().collect();
    domains.sort_by(|a, b| {
        b.1.1
            .recipients()
            .cmp(&a.1.1.recipients())
            .then_with(|| b.0.cmp(a.0))
    });
    let domains = domains
        .into_iter()
        .take(TOP_DOMAINS)
        .map(|(d, (p, s))| {
            row(
                providers.info(*p).id.clone(),
                Some(String::from_utf8_lossy(b.domains.get(*d)).into_owned()),
                s,
            )
        })
        .collect();
    JourneyReport {
        messages: st.messages,
        recipients: st.total.recipients(),
        not_queued: st.not_queued,
        cut_short: st.cut_short,
        messages_without_attempts: st.messages_without_attempts,
        total: row("all".into(), None, &st.total),
        providers: rows,
        domains,
        error: b.journeys.error.clone(),
    }
}
