//! `mtastat trace`'s text: per message, who sent it and how, each step of
//! its journey, each recipient's end, then its log lines. Every string from
//! a log passes `escape::terminal`.

use super::style::{Style, thousands};
use crate::escape::{ellipsize, terminal};
use crate::trace::journey::{Event, TraceReport, TracedMessage};
use std::fmt::Write as _;

/// Reply text shown per step at most (the log lines below hold it whole).
const REPLY_WIDTH: usize = 100;

/// The whole trace; `lines`: each message's log lines too.
pub fn render(r: &TraceReport, lines: bool, s: Style) -> String {
    let mut o = String::new();
    let shown = r.traces.len() as u64;
    let _ = writeln!(
        o,
        "{} {} {}: {} matched{}",
        s.bold("mtastat trace"),
        r.kind,
        terminal(&r.query),
        match r.matched {
            1 => "1 message".to_string(),
            n => format!("{} messages", thousands(n)),
        },
        if r.matched > shown {
            format!(", the first {shown} shown (--limit)")
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        o,
        "{}",
        s.dim(&format!(
            "{} lines read; times in {}",
            thousands(r.lines_read),
            terminal(&r.time_zone)
        ))
    );
    for (i, t) in r.traces.iter().enumerate() {
        message(&mut o, i + 1, t, lines, s);
    }
    o
}

fn message(o: &mut String, n: usize, t: &TracedMessage, lines: bool, s: Style) {
    let ids: Vec<String> = t
        .queue_ids
        .iter()
        .map(|q| {
            if q.host.is_empty() {
                terminal(&q.id).into_owned()
            } else {
                format!("{} ({})", terminal(&q.id), terminal(&q.host))
            }
        })
        .collect();
    let _ = writeln!(
        o,
        "\n{} {}",
        s.bold(&format!("━━ {n}.")),
        s.bold(&ids.join(" → "))
    );
    let _ = writeln!(o, "   {} → {}", t.first_seen, t.last_seen);
    let mut who = Vec::new();
    if let Some(x) = &t.sender {
        who.push(format!("from {}", terminal(x)));
    }
    if let Some(x) = &t.client {
        who.push(format!("client {}", terminal(x)));
    }
    if let Some(x) = &t.sasl_user {
        who.push(format!("SASL user {}", terminal(x)));
    }
    if let Some(x) = t.size {
        who.push(format!("{} bytes", thousands(x)));
    }
    if !who.is_empty() {
        let _ = writeln!(o, "   {}", who.join(" · "));
    }
    if let Some(x) = &t.message_id {
        let _ = writeln!(o, "   Message-ID {}", terminal(x));
    }
    for e in &t.events {
        event(o, e, s);
    }
    if !t.recipients.is_empty() {
        let _ = writeln!(o, "   {}", s.bold("recipients"));
        for r in &t.recipients {
            let _ = writeln!(
                o,
                "     {:<36} {}{} after {} attempt{}, {}{}",
                terminal(&r.address),
                if r.notification { "bounce notice " } else { "" },
                s.paint(colour(r.disposition), r.disposition),
                r.attempts,
                if r.attempts == 1 { "" } else { "s" },
                r.time,
                r.dsn
                    .as_ref()
                    .map_or_else(String::new, |d| format!(" ({})", terminal(d)))
            );
        }
    }
    if lines {
        let _ = writeln!(
            o,
            "   {}",
            s.dim(&format!(
                "log lines ({}{})",
                t.lines.len(),
                if t.lines_not_kept > 0 {
                    format!("; {} more not kept", t.lines_not_kept)
                } else {
                    String::new()
                }
            ))
        );
        for l in &t.lines {
            let _ = writeln!(o, "     {}", terminal(l));
        }
    } else if t.lines_not_kept > 0 {
        let _ = writeln!(
            o,
            "   {}",
            s.dim(&format!(
                "{} lines of it seen but not kept (before it matched)",
                t.lines_not_kept
            ))
        );
    }
}

fn colour(disposition: &str) -> &'static str {
    match disposition {
        "delivered" => "32",
        "bounced" | "expired" => "31",
        _ => "33",
    }
}

fn event(o: &mut String, e: &Event, s: Style) {
    let time = e.time.rsplit(' ').next().unwrap_or(&e.time);
    let mut parts = Vec::new();
    if let Some(r) = &e.recipient {
        parts.push(format!("<{}>", terminal(r)));
    }
    if let Some(p) = &e.provider {
        parts.push(terminal(p).into_owned());
    }
    if let Some(r) = &e.relay {
        parts.push(format!("via {}", terminal(r)));
    }
    if let Some(st) = e.status {
        let code = e
            .dsn
            .as_ref()
            .map_or_else(String::new, |d| format!(" {}", terminal(d)));
        parts.push(s.paint(colour_of_status(st), &format!("{st}{code}")));
    }
    if let Some(q) = &e.queued_as {
        parts.push(format!("queued as {}", terminal(q)));
    }
    let step = format!(
        "   {time}  {:<10} {:<16}  {}",
        e.kind,
        terminal(&e.queue_id),
        parts.join("  ")
    );
    let _ = writeln!(o, "{}", step.trim_end());
    if let Some(reply) = &e.reply
        && e.queued_as.is_none()
        && e.status != Some("sent")
    {
        let _ = writeln!(
            o,
            "   {:>8}  {}",
            "",
            s.dim(&ellipsize(&terminal(reply), REPLY_WIDTH))
        );
    }
}

fn colour_of_status(status: &str) -> &'static str {
    match status {
        "sent" | "deliverable" => "32",
        "deferred" => "33",
        _ => "31",
    }
}
