//! `mtastat compare A B` on the terminal: the two sides in columns.

use super::style::{Style, WIDTH, thousands};
use crate::escape::{ellipsize, terminal};
use crate::model::compare::{Comparison, STATUSES, Share, Side};

/// Width of the label column.
const LABEL: usize = 22;
/// Width of each side's column.
const COL: usize = 38;
use std::fmt::Write as _;

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
