//! `mtastat compare A B`: two providers side by side, for the incident
//! responder asking "is it only Gmail, or Outlook too?".
//!
//! Everything is taken from the one report (same scan, same filters), so the
//! two columns are measured identically.

use crate::escape::{ellipsize, terminal};
use crate::model::Finding;
use crate::model::{CodeCount, Period, ProviderSummary, ReasonRow, Report};
use crate::report::style::{Style, WIDTH, thousands};
use serde::Serialize;
use std::fmt::Write as _;

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

const STATUSES: [&str; 4] = ["sent", "deferred", "bounced", "expired"];

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

const LABEL: usize = 22;
const COL: usize = 38;

fn row(o: &mut String, label: &str, a: &str, b: &str) {
    let _ = writeln!(
        o,
        "{:<LABEL$}{:<COL$}{}",
        label,
        ellipsize(a, COL - 2),
        ellipsize(b, COL - 2)
    );
}

fn pct_cell(s: Option<&Share>) -> String {
    match s {
        Some(s) => format!("{:>6.1}%  {:>8}", s.share * 100.0, thousands(s.count)),
        None => format!("{:>6}   {:>8}", "-", "-"),
    }
}

/// Renders the comparison for a terminal (100 columns).
pub fn render(c: &Comparison, s: Style) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}",
        s.bold(&format!(
            "mtastat compare: {} vs {}",
            c.a.provider, c.b.provider
        ))
    );
    if let Some(p) = &c.period {
        let _ = writeln!(
            o,
            "period      {} → {} {}",
            p.first,
            p.last,
            crate::escape::terminal(&c.time_zone)
        );
    }
    let _ = writeln!(o);
    row(&mut o, "", &s.bold(&c.a.name), &s.bold(&c.b.name));
    row(
        &mut o,
        "attempts",
        &thousands(c.a.attempts),
        &thousands(c.b.attempts),
    );
    for st in STATUSES {
        let get = |side: &Side| side.statuses.iter().find(|x| x.name == st).cloned();
        row(
            &mut o,
            st,
            &pct_cell(get(&c.a).as_ref()),
            &pct_cell(get(&c.b).as_ref()),
        );
    }
    let _ = writeln!(o, "\n{}", s.bold("Code families (share of failures)"));
    let mut names: Vec<(String, u64)> = Vec::new();
    for f in c.a.families.iter().chain(&c.b.families) {
        match names.iter_mut().find(|(n, _)| *n == f.name) {
            Some((_, k)) => *k += f.count,
            None => names.push((f.name.clone(), f.count)),
        }
    }
    names.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    for (name, _) in names.iter().take(10) {
        let find = |side: &Side| side.families.iter().find(|f| f.name == *name).cloned();
        let label = family_label(name);
        row(
            &mut o,
            &label,
            &pct_cell(find(&c.a).as_ref()),
            &pct_cell(find(&c.b).as_ref()),
        );
    }
    let _ = writeln!(o, "\n{}", s.bold("Top codes"));
    for i in 0..c.a.top_codes.len().max(c.b.top_codes.len()).min(6) {
        let cell = |side: &Side| {
            side.top_codes
                .get(i)
                .map(|k| format!("{:<8} {:>8}", k.dsn, thousands(k.count)))
                .unwrap_or_default()
        };
        row(&mut o, "", &cell(&c.a), &cell(&c.b));
    }
    for side in [&c.a, &c.b] {
        let _ = writeln!(
            o,
            "\n{}",
            s.bold(&format!("Top replies at {}", side.provider))
        );
        if side.top_replies.is_empty() {
            let _ = writeln!(o, "  (no failures)");
        }
        for r in &side.top_replies {
            let text = format!("{} {} {}", r.status, r.dsn, terminal(&r.reason));
            let _ = writeln!(
                o,
                "  {:>7}  {}",
                thousands(r.count),
                ellipsize(&text, WIDTH - 11)
            );
        }
    }
    for side in [&c.a, &c.b] {
        let _ = writeln!(
            o,
            "\n{}",
            s.bold(&format!("Findings for {}", side.provider))
        );
        if side.findings.is_empty() {
            let _ = writeln!(o, "  none");
        }
        for f in &side.findings {
            // Times alone on one day; both dates when the range spans days.
            let until = crate::time::zone::range_end(&f.since, &f.until);
            let since = if until.len() < f.until.len() {
                f.since.get(11..).unwrap_or(&f.since)
            } else {
                &f.since
            };
            let when = if f.steady {
                format!("steady {since}–{until}")
            } else {
                format!("{since}–{until}, {:.0}% during", f.peak_share * 100.0)
            };
            let codes: Vec<&str> = f.codes.iter().take(3).map(|c| c.name.as_str()).collect();
            let line = format!(
                "{:<15}{:>7} {:<22} {:>5.1}% of attempts; {}",
                f.rule.replace('_', " "),
                thousands(f.count),
                codes.join("/"),
                f.share * 100.0,
                when
            );
            let _ = writeln!(
                o,
                "  {:<9}{}",
                f.severity.as_str().to_uppercase(),
                ellipsize(&terminal(&line), WIDTH - 11)
            );
        }
    }
    o
}

/// `4.7` → `4.7 security/policy`.
fn family_label(name: &str) -> String {
    let mut parts = name.split('.');
    let (class, subject) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let title = match subject.parse::<u16>() {
        Ok(sub) => crate::dsn::subject_label(sub),
        Err(_) => "no code",
    };
    format!("{class}.{subject} {title}")
}
