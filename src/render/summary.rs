//! `mtastat summary` on the terminal: every pflogsumm section.

use super::style::{Style, WIDTH, thousands};
use crate::escape::{ellipsize, terminal};
use crate::model::summary::*;
use crate::model::{ReasonRow, RejectRow};
use std::fmt::Write as _;

/// pflogsumm's byte figures: `400447k`, `105m`.
fn bytes(n: u64) -> String {
    if n >= 10 << 30 {
        format!("{}g", n >> 30)
    } else if n >= 10 << 20 {
        format!("{}m", n >> 20)
    } else if n >= 10 << 10 {
        format!("{}k", n >> 10)
    } else {
        n.to_string()
    }
}

fn heading(o: &mut String, s: Style, title: &str) {
    let _ = writeln!(
        o,
        "\n{}\n{}",
        s.bold(title),
        "-".repeat(title.chars().count())
    );
}

/// Renders the summary for the terminal.
pub fn render(o: &mut String, sum: &Summary, s: Style) {
    let g = &sum.grand_totals;
    heading(o, s, "Grand Totals");
    let opt = |v: Option<u64>| v.map_or_else(|| "-".to_string(), thousands);
    let optb = |v: Option<u64>| v.map_or_else(|| "-".to_string(), bytes);
    let lines: [(String, &str); 21] = [
        (thousands(g.received), "received"),
        (thousands(g.delivered), "delivered"),
        (thousands(g.forwarded), "forwarded"),
        (opt(g.deferred), "deferred (messages)"),
        (thousands(g.deferrals), "deferrals"),
        (thousands(g.bounced), "bounced"),
        (thousands(g.expired), "expired"),
        (thousands(g.rejected), "rejected"),
        (thousands(g.reject_warnings), "reject warnings"),
        (thousands(g.held), "held"),
        (thousands(g.discarded), "discarded"),
        (optb(g.bytes_received), "bytes received"),
        (optb(g.bytes_delivered), "bytes delivered"),
        (opt(g.senders), "senders"),
        (opt(g.sending_domains), "sending hosts/domains"),
        (opt(g.recipients), "recipients"),
        (opt(g.recipient_domains), "recipient hosts/domains"),
        (thousands(g.connections), "smtpd connections"),
        (thousands(g.warnings), "warnings"),
        (thousands(g.fatal), "fatal errors"),
        (thousands(g.panics), "panics"),
    ];
    for (v, what) in lines {
        let _ = writeln!(o, "{v:>10}  {what}");
    }
    let traffic = |o: &mut String, rows: &[TrafficRow], fractional: bool| {
        let _ = writeln!(
            o,
            "{}",
            s.dim(&format!(
                "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                "",
                "received",
                "delivered",
                "deferred",
                "bounced",
                "rejected",
                "expired",
                "connects"
            ))
        );
        for r in rows {
            let f = |v: f64| {
                if fractional {
                    format!("{v:.1}")
                } else {
                    thousands(v as u64)
                }
            };
            let _ = writeln!(
                o,
                "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                r.when,
                f(r.received),
                f(r.delivered),
                f(r.deferred),
                f(r.bounced),
                f(r.rejected),
                f(r.expired),
                f(r.connections)
            );
        }
    };
    if sum.per_day.len() > 1 {
        heading(o, s, "Per-Day Traffic Summary");
        traffic(o, &sum.per_day, false);
    }
    heading(
        o,
        s,
        if sum.per_hour_daily_average {
            "Per-Hour Traffic Daily Average"
        } else {
            "Per-Hour Traffic Summary"
        },
    );
    traffic(o, &sum.per_hour, sum.per_hour_daily_average);

    heading(o, s, "Host/Domain Summary: Message Delivery");
    let _ = writeln!(
        o,
        "{}",
        s.dim(&format!(
            "{:>9} {:>8} {:>8} {:>8} {:>8}  {}",
            "sent", "bytes", "defers", "avg dly", "max dly", "host/domain"
        ))
    );
    for d in &sum.delivery_domains {
        let _ = writeln!(
            o,
            "{:>9} {:>8} {:>8} {:>8} {:>8}  {}",
            thousands(d.delivered),
            bytes(d.bytes),
            thousands(d.deferrals),
            super::journeys::human(d.avg_delay),
            super::journeys::human(d.max_delay),
            terminal(&d.domain)
        );
    }
    let counts = |o: &mut String, title: &str, rows: &[CountRow], with_bytes: bool| {
        heading(o, s, title);
        if rows.is_empty() {
            let _ = writeln!(o, "{}", s.dim("none"));
        }
        for r in rows {
            let name = ellipsize(&terminal(&r.name), WIDTH - 22).into_owned();
            if with_bytes {
                let _ = writeln!(
                    o,
                    "{:>9} {:>8}  {}",
                    thousands(r.count),
                    bytes(r.bytes),
                    name
                );
            } else {
                let _ = writeln!(o, "{:>9}  {}", thousands(r.count), name);
            }
        }
    };
    counts(
        o,
        "Host/Domain Summary: Messages Received",
        &sum.received_domains,
        true,
    );
    counts(o, "Senders by message count", &sum.senders_by_count, false);
    counts(
        o,
        "Recipients by message count",
        &sum.recipients_by_count,
        false,
    );
    heading(o, s, "Senders by message size");
    for r in &sum.senders_by_size {
        let _ = writeln!(
            o,
            "{:>9}  {}",
            bytes(r.bytes),
            ellipsize(&terminal(&r.name), WIDTH - 12)
        );
    }
    heading(o, s, "Recipients by message size");
    for r in &sum.recipients_by_size {
        let _ = writeln!(
            o,
            "{:>9}  {}",
            bytes(r.bytes),
            ellipsize(&terminal(&r.name), WIDTH - 12)
        );
    }
    let reasons = |o: &mut String, title: &str, rows: &[ReasonRow]| {
        heading(o, s, title);
        if rows.is_empty() {
            let _ = writeln!(o, "{}", s.dim("none"));
        }
        for r in rows {
            let head = format!(
                "{:>8}  {:<10} {:<7} ",
                thousands(r.count),
                terminal(&r.provider),
                r.dsn
            );
            let room = WIDTH.saturating_sub(head.chars().count()).max(20);
            let _ = writeln!(o, "{head}{}", ellipsize(&terminal(&r.reason), room));
        }
    };
    reasons(o, "message deferral detail", &sum.deferral_detail);
    reasons(o, "message bounce detail", &sum.bounce_detail);
    let rejects = |o: &mut String, title: &str, rows: &[RejectRow]| {
        heading(o, s, title);
        if rows.is_empty() {
            let _ = writeln!(o, "{}", s.dim("none"));
        }
        for r in rows {
            let code = r
                .dsn
                .clone()
                .or(r.code.map(|c| c.to_string()))
                .unwrap_or_else(|| "-".into());
            let head = format!(
                "{:>8}  {:<6} {:<7} ",
                thousands(r.count),
                terminal(&r.stage),
                code
            );
            let room = WIDTH.saturating_sub(head.chars().count()).max(20);
            let _ = writeln!(o, "{head}{}", ellipsize(&terminal(&r.reason), room));
        }
    };
    rejects(o, "message reject detail", &sum.reject_detail);
    rejects(
        o,
        "message reject warning detail",
        &sum.reject_warning_detail,
    );
    rejects(o, "message hold detail", &sum.hold_detail);
    rejects(o, "message discard detail", &sum.discard_detail);
    let sessions = |o: &mut String, title: &str, rows: &[SessionRow], fractional: bool| {
        heading(o, s, title);
        let _ = writeln!(
            o,
            "{}",
            s.dim(&format!(
                "{:<24} {:>11} {:>10} {:>9} {:>9}",
                "", "connections", "time conn", "avg/conn", "max time"
            ))
        );
        for r in rows {
            let n = |v: f64| {
                if fractional {
                    format!("{v:.1}")
                } else {
                    thousands(v as u64)
                }
            };
            let _ = writeln!(
                o,
                "{:<24} {:>11} {:>10} {:>9} {:>9}",
                ellipsize(&terminal(&r.name), 24),
                n(r.connections),
                super::journeys::human(r.total_secs),
                super::journeys::human(r.avg_secs),
                super::journeys::human(r.max_secs as f64)
            );
        }
    };
    if sum.per_day.len() > 1 {
        sessions(
            o,
            "Per-Day SMTPD Connection Summary",
            &sum.smtpd_per_day,
            false,
        );
    }
    sessions(
        o,
        if sum.per_hour_daily_average {
            "Per-Hour SMTPD Connection Daily Average"
        } else {
            "Per-Hour SMTPD Connection Summary"
        },
        &sum.smtpd_per_hour,
        sum.per_hour_daily_average,
    );
    sessions(
        o,
        "Host/Domain Summary: SMTPD Connections",
        &sum.smtpd_connections,
        false,
    );
    for (title, level) in [
        ("Warnings", "warning"),
        ("Errors", "error"),
        ("Fatal Errors", "fatal"),
        ("Panics", "panic"),
        ("Master daemon messages", "master"),
    ] {
        heading(o, s, title);
        let rows: Vec<&NoticeRow> = sum.notices.iter().filter(|n| n.level == level).collect();
        if rows.is_empty() {
            let _ = writeln!(o, "{}", s.dim("none"));
        }
        for n in rows.into_iter().take(sum.top) {
            let head = format!("{:>8}  {:<12} ", thousands(n.count), terminal(&n.service));
            let room = WIDTH.saturating_sub(head.chars().count()).max(20);
            let _ = writeln!(o, "{head}{}", ellipsize(&terminal(&n.text), room));
        }
    }
    counts(o, "postscreen", &sum.postscreen, false);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_like_pflogsumm() {
        assert_eq!(bytes(516_300), "504k");
        assert_eq!(bytes(9_999), "9999");
        assert_eq!(bytes(400_447 * 1024), "391m");
    }
}
