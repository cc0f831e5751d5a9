//! `mtastat watch`'s view of a live log: per provider the last 5 and 60
//! minutes, the findings of the last hour with their onset (a finding that
//! was not there at the previous refresh is new), and the top replies of
//! the last 5 minutes. Values only: the terminal view, `--json-lines` and
//! `--prometheus` are made from them.

use super::{Report, Severity};
use serde::Serialize;
use std::collections::BTreeSet;

/// One refresh.
#[derive(Clone, Debug, Serialize)]
pub struct LiveView {
    /// The newest line's time (the log's clock, not the machine's).
    pub time: String,
    /// The zone times are written in.
    pub time_zone: String,
    /// Lines read since the start.
    pub lines_read: u64,
    /// Lines per second since the previous refresh.
    pub lines_per_second: f64,
    /// The long window, in minutes.
    pub window_minutes: i64,
    /// Providers by attempts in the window, busiest first.
    pub providers: Vec<LiveProvider>,
    /// The window's findings, most severe first.
    pub findings: Vec<LiveFinding>,
    /// The most frequent failure replies of the last 5 minutes.
    pub replies_5m: Vec<LiveReply>,
}

/// Attempts and rates over a span.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Rates {
    /// Attempts.
    pub attempts: u64,
    /// Deferred / attempts.
    pub deferred_rate: f64,
    /// (Bounced + expired) / attempts.
    pub failed_rate: f64,
}

/// One provider.
#[derive(Clone, Debug, Serialize)]
pub struct LiveProvider {
    /// Provider id.
    pub provider: String,
    /// Human name.
    pub name: String,
    /// The last 5 minutes.
    pub last_5m: Rates,
    /// The window.
    pub last_60m: Rates,
    /// Attempts per timeline bucket over the window.
    pub attempts: Vec<u64>,
    /// Deferred per bucket.
    pub deferred: Vec<u64>,
    /// Failed per bucket.
    pub failed: Vec<u64>,
    /// The top codes of the window's failures.
    pub top_codes: Vec<String>,
}

/// A finding of the window.
#[derive(Clone, Debug, Serialize)]
pub struct LiveFinding {
    /// Severity.
    pub severity: Severity,
    /// Provider (`all` for a cross-provider finding).
    pub provider: String,
    /// Failure category.
    pub category: &'static str,
    /// Onset.
    pub since: String,
    /// It was not there at the previous refresh.
    pub new: bool,
    /// In one sentence.
    pub summary: String,
    /// What to do.
    pub action: String,
}

/// A reply of the last 5 minutes.
#[derive(Clone, Debug, Serialize)]
pub struct LiveReply {
    /// Provider id.
    pub provider: String,
    /// Status.
    pub status: String,
    /// Enhanced status code.
    pub dsn: String,
    /// Attempts.
    pub count: u64,
    /// The masked reply.
    pub reason: String,
}

/// Findings seen at the previous refresh, by (provider, category).
#[derive(Debug, Default)]
pub struct Seen {
    keys: BTreeSet<(String, &'static str)>,
    refreshes: u64,
}

fn rates(report: &Report, provider: &str) -> Rates {
    report
        .providers
        .iter()
        .find(|p| p.provider == provider)
        .map_or_else(Rates::default, |p| Rates {
            attempts: p.attempts,
            deferred_rate: p.deferred_rate,
            failed_rate: p.failed_rate,
        })
}

/// The view of a refresh: `window` is the report of the long window,
/// `recent` of the last 5 minutes.
pub fn live_view(
    window: &Report,
    recent: &Report,
    seen: &mut Seen,
    lines_read: u64,
    lines_per_second: f64,
    window_minutes: i64,
) -> LiveView {
    let providers = window
        .providers
        .iter()
        .map(|p| {
            let series = window
                .timeline
                .as_ref()
                .and_then(|t| t.providers.iter().find(|s| s.provider == p.provider));
            LiveProvider {
                provider: p.provider.clone(),
                name: p.name.clone(),
                last_5m: rates(recent, &p.provider),
                last_60m: rates(window, &p.provider),
                attempts: series.map_or_else(Vec::new, |s| s.attempts.clone()),
                deferred: series.map_or_else(Vec::new, |s| s.deferred.clone()),
                failed: series.map_or_else(Vec::new, |s| s.failed.clone()),
                top_codes: p
                    .top_codes
                    .iter()
                    .take(3)
                    .map(|c| format!("{} ×{}", c.dsn, c.count))
                    .collect(),
            }
        })
        .collect();
    let first = seen.refreshes == 0;
    let mut now = BTreeSet::new();
    let findings = window
        .findings
        .iter()
        .map(|f| {
            let key = (f.provider.clone(), f.category);
            let new = !first && !seen.keys.contains(&key);
            now.insert(key);
            LiveFinding {
                severity: f.severity,
                provider: f.provider.clone(),
                category: f.category,
                since: f.since.clone(),
                new,
                summary: f.summary.clone(),
                action: f.action.clone(),
            }
        })
        .collect();
    seen.keys = now;
    seen.refreshes += 1;
    LiveView {
        time: window
            .period
            .as_ref()
            .map_or_else(String::new, |p| p.last.clone()),
        time_zone: window.time_zone.clone(),
        lines_read,
        lines_per_second,
        window_minutes,
        providers,
        findings,
        replies_5m: recent
            .reasons
            .iter()
            .filter(|r| r.status != "sent")
            .take(10)
            .map(|r| LiveReply {
                provider: r.provider.clone(),
                status: r.status.clone(),
                dsn: r.dsn.clone(),
                count: r.count,
                reason: r.reason.clone(),
            })
            .collect(),
    }
}
