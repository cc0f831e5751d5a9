//! `mtastat compare A B`: two providers side by side, for the incident
//! responder asking "is it only Gmail, or Outlook too?".
//!
//! Everything is taken from the one report (same scan, same filters), so the
//! two columns are measured identically.

use super::{CodeCount, Finding, Period, ProviderSummary, ReasonRow, Report};
use serde::Serialize;

/// Replies listed per side.
pub const TOP_REPLIES: usize = 5;

/// The comparison (`--json` prints exactly this).
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// First and last line time.
    pub period: Option<Period>,
    /// The zone the times are written in.
    pub time_zone: String,
    /// First provider.
    pub a: Side,
    /// Second provider.
    pub b: Side,
}

/// One provider's column.
#[derive(Clone, Debug, Serialize)]
pub struct Side {
    /// Provider id.
    pub provider: String,
    /// Provider name.
    pub name: String,
    /// Attempts (expiries included).
    pub attempts: u64,
    /// Count and share of attempts by status.
    pub statuses: Vec<Share>,
    /// Failures by code family (`4.7`, `5.1`, `4.-` for no code), share of failures.
    pub families: Vec<Share>,
    /// Most frequent failure codes.
    pub top_codes: Vec<CodeCount>,
    /// Most frequent masked replies.
    pub top_replies: Vec<ReasonRow>,
    /// Findings at this provider, and global ones.
    pub findings: Vec<Finding>,
}

/// A count and its share.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Share {
    /// Status, or code family.
    pub name: String,
    /// Count.
    pub count: u64,
    /// count / total.
    pub share: f64,
}

/// The statuses compared, in order.
pub const STATUSES: [&str; 4] = ["sent", "deferred", "bounced", "expired"];

fn side(report: &Report, id: &str) -> Side {
    let summary: Option<&ProviderSummary> = report.providers.iter().find(|p| p.provider == id);
    let attempts = summary.map_or(0, |p| p.attempts);
    let share = |n: u64, d: u64| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    let statuses = STATUSES
        .iter()
        .map(|st| {
            let count = summary.map_or(0, |p| p.status_count(st));
            Share {
                name: st.to_string(),
                count,
                share: share(count, attempts),
            }
        })
        .collect();
    let fam = summary.map(|p| p.families.as_slice()).unwrap_or_default();
    let failures: u64 = fam.iter().map(|f| f.count).sum();
    let mut families: Vec<Share> = fam
        .iter()
        .map(|f| Share {
            name: match f.subject {
                Some(s) => format!("{}.{}", f.class, s),
                None => format!("{}.-", f.class),
            },
            count: f.count,
            share: share(f.count, failures),
        })
        .collect();
    families.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    let mut top_replies: Vec<ReasonRow> = report
        .reasons
        .iter()
        .filter(|r| r.provider == id)
        .cloned()
        .collect();
    top_replies.sort_by_key(|r| std::cmp::Reverse(r.count));
    top_replies.truncate(TOP_REPLIES);
    let findings = report
        .findings
        .iter()
        // The provider's own findings only: what it has in common with
        // others is in the report, not in its column.
        .filter(|f| f.provider == id)
        .cloned()
        .collect();
    Side {
        provider: id.to_string(),
        name: summary.map_or_else(|| id.to_string(), |p| p.name.clone()),
        attempts,
        statuses,
        families,
        top_codes: summary.map(|p| p.top_codes.clone()).unwrap_or_default(),
        top_replies,
        findings,
    }
}

impl Comparison {
    /// Takes the two providers' columns from a report.
    pub fn new(report: &Report, a: &str, b: &str) -> Comparison {
        Comparison {
            period: report.period.clone(),
            time_zone: report.time_zone.clone(),
            a: side(report, a),
            b: side(report, b),
        }
    }
}
