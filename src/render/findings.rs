//! The findings and the timeline in the terminal report: first, because they
//! are why people run mtastat during an incident.

use super::style::{Style, WIDTH, thousands};
use crate::escape::{ellipsize, terminal};
use crate::model::Timeline;
use crate::model::{Finding, Severity};
use std::fmt::Write as _;

/// Findings shown in full; the rest are listed one line each.
pub const FULL_FINDINGS: usize = 12;
/// Sparkline columns.
pub const SPARK_WIDTH: usize = 60;

fn badge(sev: Severity, s: Style) -> String {
    let text = format!("{:<8}", sev.as_str().to_uppercase());
    match sev {
        Severity::Critical => s.paint("1;31", &text),
        Severity::Warning => s.paint("33", &text),
        Severity::Info => s.dim(&text),
    }
}

/// Wraps `text` at `width` columns, every line after the first indented.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = 0usize;
    for word in text.split(' ') {
        let w = crate::escape::width(word);
        if line > 0 && line + 1 + w > width {
            out.push('\n');
            out.push_str(indent);
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += w;
    }
    out
}

/// Writes the findings section.
pub fn render_findings(o: &mut String, findings: &[Finding], s: Style) {
    let _ = writeln!(o, "\n{}", s.bold("Findings"));
    if findings.is_empty() {
        let _ = writeln!(o, "  none: no failure pattern above the thresholds");
        return;
    }
    const INDENT: &str = "           ";
    let body = WIDTH - INDENT.len();
    for (i, f) in findings.iter().enumerate() {
        if i >= FULL_FINDINGS {
            let _ = writeln!(
                o,
                "  {} {} at {}: {} ({} failures, {} messages)",
                badge(f.severity, s),
                f.rule.replace('_', " "),
                terminal(&f.provider),
                ellipsize(&terminal(&f.summary), 50),
                thousands(f.count),
                thousands(f.messages)
            );
            continue;
        }
        let head = format!(
            "{} {} — {}",
            f.rule.replace('_', " "),
            f.place(),
            if f.steady {
                format!("steady since {}", f.since)
            } else {
                format!(
                    "since {} (until {})",
                    f.since,
                    crate::time::zone::range_end(&f.since, &f.until)
                )
            }
        );
        let _ = writeln!(o, "  {} {}", badge(f.severity, s), s.bold(&terminal(&head)));
        let _ = writeln!(o, "{INDENT}{}", wrap(&terminal(&f.summary), body, INDENT));
        if let Some(h) = &f.history {
            let tag = match h.verdict {
                "new" => s.paint("1;35", "NEW HERE"),
                "usual" => s.paint("32", "usual here"),
                "rising" => s.paint("1;33", "RISING"),
                other => s.dim(other),
            };
            let lowered = h
                .severity_before
                .map_or_else(String::new, |b| format!(" (was {})", b.as_str()));
            let _ = writeln!(
                o,
                "{INDENT}{tag}{lowered}: {}",
                wrap(&terminal(&h.said), body.saturating_sub(14), INDENT)
            );
        }
        if !f.scope.is_empty() {
            let _ = writeln!(o, "{INDENT}{}", s.dim(&wrap(&f.scope, body, INDENT)));
        }
        if f.episodes.len() > 1 && !f.steady {
            let eps: Vec<String> = f
                .episodes
                .iter()
                .take(6)
                .map(|e| {
                    format!(
                        "{}–{} ({})",
                        crate::time::zone::range_end(&f.since, &e.since_time),
                        crate::time::zone::range_end(&e.since_time, &e.until_time),
                        thousands(e.count)
                    )
                })
                .collect();
            let _ = writeln!(
                o,
                "{INDENT}{}",
                wrap(&format!("episodes: {}", eps.join(", ")), body, INDENT)
            );
        }
        for e in f.evidence.iter().take(2) {
            let mx = if e.per_host { "(one MX) " } else { "" };
            let text = format!("{mx}{} {}", e.dsn, terminal(&e.reason));
            let _ = writeln!(
                o,
                "{INDENT}{} {}",
                s.dim(&format!("{:>6}×", thousands(e.count))),
                ellipsize(text.trim(), body - 8)
            );
        }
        // Named when a few carry the failures; failures spread thin over
        // many app servers or clients name nobody (the JSON keeps them).
        let telling = f.submitters_concentrated
            || f.submitters
                .first()
                .is_some_and(|w| w.share_of_failures >= 0.2);
        if telling {
            let who: Vec<String> = f
                .submitters
                .iter()
                .take(4)
                .map(|w| of_its_mail(&terminal(&w.label()), w.count, w.failure_rate))
                .collect();
            let _ = writeln!(
                o,
                "{INDENT}{}",
                wrap(&format!("submitted by: {}", who.join(", ")), body, INDENT)
            );
        }
        if !f.sender_domains.is_empty() {
            let senders: Vec<String> = f
                .sender_domains
                .iter()
                .take(4)
                .map(|d| {
                    let name = if d.domain.is_empty() {
                        "(sender unknown)".to_string()
                    } else {
                        terminal(&d.domain).into_owned()
                    };
                    of_its_mail(&name, d.count, d.failure_rate)
                })
                .collect();
            let _ = writeln!(
                o,
                "{INDENT}{}",
                wrap(&format!("senders: {}", senders.join(", ")), body, INDENT)
            );
        }
        if let Some(l) = &f.logins {
            for c in l.clients.iter().filter(|c| c.failures > 0).take(3) {
                let _ = writeln!(
                    o,
                    "{INDENT}{}",
                    ellipsize(
                        &format!(
                            "{} {} failed logins, {}{} names, {}–{}{}",
                            terminal(&c.client),
                            thousands(c.failures),
                            c.users_tried,
                            if c.more_users { "+" } else { "" },
                            c.first,
                            crate::time::zone::range_end(&c.first, &c.last),
                            c.later_login.as_ref().map_or_else(String::new, |u| format!(
                                "; then logged in{}",
                                if u.is_empty() {
                                    String::new()
                                } else {
                                    format!(" as {}", terminal(&u.join(", ")))
                                }
                            ))
                        ),
                        body
                    )
                );
            }
            // The whole commands are in --json; a screen shows their start.
            for cmd in &l.purge {
                let ids = cmd.split_whitespace().filter(|w| w.len() >= 10).count();
                let _ = writeln!(
                    o,
                    "{INDENT}{}",
                    ellipsize(
                        &format!("purge ({ids} queue ids, all in --json): {}", terminal(cmd)),
                        body
                    )
                );
            }
        }
        if let Some(r) = &f.recipient_list {
            let top: Vec<String> = r
                .top
                .iter()
                .take(3)
                .map(|c| terminal(&c.name).into_owned())
                .collect();
            let _ = writeln!(
                o,
                "{INDENT}{}",
                ellipsize(
                    &format!(
                        "recipients: {} distinct, {} repeated; e.g. {}",
                        thousands(r.distinct),
                        thousands(r.repeated),
                        top.join(", ")
                    ),
                    body
                )
            );
        }
        if !f.sample_queue_ids.is_empty() {
            let ids: Vec<String> = f
                .sample_queue_ids
                .iter()
                .map(|q| terminal(q).into_owned())
                .collect();
            let _ = writeln!(
                o,
                "{INDENT}{}",
                s.dim(&format!("queue ids: {}", ids.join(" ")))
            );
        }
        let _ = writeln!(
            o,
            "{INDENT}→ {}",
            wrap(&f.action, body - 2, &format!("{INDENT}  "))
        );
    }
}

/// A sparkline's eight heights.
const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Eight levels for a rate in (0, 1]; `▁` for zero, space for no traffic.
fn spark(attempts: u64, failed: u64) -> char {
    if attempts == 0 {
        return ' ';
    }
    if failed == 0 {
        return LEVELS[0];
    }
    let r = failed as f64 / attempts as f64;
    let i = ((r * 7.0).ceil() as usize).clamp(1, 7);
    LEVELS[i]
}

/// Sums `v` into at most `cols` columns.
fn squeeze(v: &[u64], cols: usize) -> Vec<u64> {
    let per = v.len().div_ceil(cols.max(1)).max(1);
    v.chunks(per).map(|c| c.iter().sum()).collect()
}

/// Writes each provider's stored days (`--state`) and this run's, as
/// sparklines of failure rate, with how it moved against the stored week.
pub fn render_trend(o: &mut String, trend: Option<&Vec<crate::history::ProviderTrend>>, s: Style) {
    let Some(trend) = trend else { return };
    let days = trend.first().map_or(0, |t| t.days.len());
    let _ = writeln!(
        o,
        "\n{}  {}",
        s.bold("Trend"),
        s.dim(&format!(
            "{days} days: the stored ones (--state), then this run's; height = failed share, to each provider's worst day"
        ))
    );
    for t in trend.iter().take(8) {
        // Scaled to the provider's worst day: a week at 0.1 % and a day at
        // 11 % are told apart.
        let top = t.days.iter().map(|d| d.failed_rate).fold(0.0, f64::max);
        let bar = |d: &crate::history::DayPoint| match d.attempts {
            0 => ' ',
            _ if top <= 0.0 => '▁',
            _ => LEVELS[((d.failed_rate / top * 7.0).round() as usize).min(7)],
        };
        let stored: String = t.days.iter().filter(|d| !d.this_run).map(bar).collect();
        let now: String = t.days.iter().filter(|d| d.this_run).map(bar).collect();
        let _ = writeln!(
            o,
            "  {:<12} {}{}  {}",
            ellipsize(&terminal(&t.provider), 12),
            s.dim(&stored),
            s.paint("31", &now),
            s.dim(&terminal(&t.said))
        );
    }
}

/// Writes the per-provider sparklines of deferral and failure rate.
pub fn render_timeline(o: &mut String, t: Option<&Timeline>, zone: &str, s: Style) {
    let Some(t) = t else { return };
    let per = t
        .providers
        .first()
        .map_or(1, |p| p.attempts.len().div_ceil(SPARK_WIDTH).max(1));
    let _ = writeln!(
        o,
        "\n{}  {}",
        s.bold("Timeline"),
        s.dim(&format!(
            "{} → {} {}, {} min per column; height = share of attempts",
            t.start,
            crate::time::zone::range_end(&t.start, &t.end),
            terminal(zone),
            per as i64 * t.bucket_minutes
        ))
    );
    for p in t.providers.iter().take(8) {
        let att = squeeze(&p.attempts, SPARK_WIDTH);
        let def = squeeze(&p.deferred, SPARK_WIDTH);
        let fail = squeeze(&p.failed, SPARK_WIDTH);
        let d: String = att.iter().zip(&def).map(|(a, f)| spark(*a, *f)).collect();
        let b: String = att.iter().zip(&fail).map(|(a, f)| spark(*a, *f)).collect();
        let _ = writeln!(
            o,
            "  {:<12} deferred {}",
            ellipsize(&p.provider, 12),
            s.paint("33", &d)
        );
        let _ = writeln!(o, "  {:<12} failed   {}", "", s.paint("31", &b));
    }
}

/// `shop.example 64 (13% of its mail)`: a sender's or submitter's
/// failures and their share of its own mail.
fn of_its_mail(name: &str, count: u64, failure_rate: f64) -> String {
    format!(
        "{name} {} ({:.0}% of its mail)",
        thousands(count),
        failure_rate * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparks_and_squeeze() {
        assert_eq!(spark(0, 0), ' ');
        assert_eq!(spark(10, 0), '▁');
        assert_eq!(spark(10, 10), '█');
        assert_eq!(spark(100, 1), '▂');
        assert_eq!(squeeze(&[1, 2, 3, 4, 5], 2), vec![6, 9]);
        assert_eq!(squeeze(&[1, 2], 60), vec![1, 2]);
    }

    /// Issue 15 item 6: past the first findings the compact form printed
    /// the rule's machine name (`mailbox_full`).
    #[test]
    fn compact_findings_keep_readable_names() {
        let f = Finding {
            history: None,
            rule: "mailbox_full",
            category: "mailbox_full",
            severity: crate::detect::Severity::Warning,
            provider: "google".into(),
            scope: "only at google".into(),
            providers: vec![],
            codes: vec![],
            blocklists: vec![],
            count: 12,
            messages: 3,
            recipients: 3,
            distinct_approximate: false,
            message_share: 0.1,
            recipient_share: 0.1,
            named_recipients: vec![],
            mx_replies: 0,
            attempts: 100,
            share: 0.12,
            dominance: 1.0,
            dominant: true,
            since: "2026-11-22 12:00".into(),
            until: "2026-11-22 13:00".into(),
            steady: true,
            baseline_share: 0.0,
            peak_share: 0.12,
            episodes: vec![],
            sender_domains: vec![],
            submitters: vec![],
            submitters_concentrated: false,
            logins: None,
            hosts: Vec::new(),
            senders_concentrated: false,
            bounce_rate: None,
            recipient_list: None,
            evidence: vec![],
            sample_queue_ids: vec![],
            onsets: vec![],
            your_side: None,
            summary: "google: 12 mailboxes full".into(),
            action: "wait".into(),
        };
        let many = vec![f; FULL_FINDINGS + 1];
        let mut o = String::new();
        render_findings(&mut o, &many, Style::new(false));
        let last = o.lines().last().unwrap();
        assert!(last.contains("mailbox full at google"), "{last}");
        assert!(!o.contains("mailbox_full"), "{o}");
    }

    #[test]
    fn wrapping_keeps_words() {
        let w = wrap("aaa bbb ccc ddd", 8, "  ");
        assert_eq!(w, "aaa bbb\n  ccc ddd");
    }
}
