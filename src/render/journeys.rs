//! The journeys section of the terminal report.

use super::style::{Style, WIDTH, thousands};
use crate::escape::{ellipsize, terminal};
use crate::model::journeys::*;
use std::fmt::Write as _;

/// A duration for people: `0.4s`, `38s`, `12m05s`, `3h20m`, `2d04h`.
pub fn human(secs: f64) -> String {
    let s = secs.max(0.0);
    if s < 10.0 {
        format!("{s:.1}s")
    } else if s < 60.0 {
        format!("{s:.0}s")
    } else if s < 3600.0 {
        let s = s.round() as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86_400.0 {
        let m = (s / 60.0).round() as u64;
        format!("{}h{:02}m", m / 60, m % 60)
    } else {
        let h = (s / 3600.0).round() as u64;
        format!("{}d{:02}h", h / 24, h % 24)
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{:.0}%", v * 100.0))
}

/// One statistic of a distribution as a duration, `-` when there is none.
pub fn time_cell(x: &Option<Quantiles>, f: fn(&Quantiles) -> f64) -> String {
    x.as_ref().map_or_else(|| "-".into(), |v| human(f(v)))
}

/// The journeys section of the terminal report.
pub fn render(o: &mut String, j: &JourneyReport, s: Style) {
    if j.recipients == 0 {
        return;
    }
    let _ = writeln!(
        o,
        "\n{}  {}",
        s.bold("Message journeys"),
        s.dim(&format!(
            "{} messages, {} recipients, each once (not once per retry)",
            thousands(j.messages),
            thousands(j.recipients)
        ))
    );
    let _ = writeln!(
        o,
        "{}",
        s.dim(&format!(
            "{:<18} {:>7} {:>7} {:>6} {:>6} {:>6} {:>5} {:>5} {:>7} {:>7} {:>7} {:>7}",
            "provider / domain",
            "rcpts",
            "deliv",
            "bounce",
            "expire",
            "queue",
            "1st",
            "defer",
            "p50",
            "p90",
            "p99",
            "max"
        ))
    );
    let line = |o: &mut String, name: &str, r: &DelayRow| {
        // A cut name says so (`oldcompany.examp` read as a domain).
        let name = ellipsize(name, 18);
        let _ = writeln!(
            o,
            "{:<18} {:>7} {:>7} {:>6} {:>6} {:>6} {:>5} {:>5} {:>7} {:>7} {:>7} {:>7}",
            name,
            thousands(r.recipients),
            thousands(r.delivered),
            thousands(r.bounced),
            thousands(r.expired),
            thousands(r.pending),
            pct(r.first_attempt_share),
            pct(r.after_deferral_share),
            time_cell(&r.time_to_deliver, |v| v.p50),
            time_cell(&r.time_to_deliver, |v| v.p90),
            time_cell(&r.time_to_deliver, |v| v.p99),
            time_cell(&r.time_to_deliver, |v| v.max),
        );
    };
    for r in &j.providers {
        line(o, &r.provider, r);
    }
    line(o, "all", &j.total);
    if !j.domains.is_empty() {
        let _ = writeln!(o, "{}", s.dim("busiest recipient domains:"));
        for r in &j.domains {
            let d = terminal(r.domain.as_deref().unwrap_or_default());
            line(o, &format!("  {d}"), r);
        }
    }
    let _ = writeln!(
        o,
        "{}",
        s.dim("1st: delivered at first try; defer: after deferrals; queue: pending at end; p50…max: time to deliver")
    );
    if j.total.handed_off > 0 {
        let _ = writeln!(
            o,
            "{}",
            s.dim(&format!(
                "{} recipients were handed to a content filter whose reply named no new queue id \
                 to follow: not counted as delivered",
                thousands(j.total.handed_off)
            ))
        );
    }
    if let Some(d) = &j.total.delays {
        let _ = writeln!(
            o,
            "\n{}  {}",
            s.bold("Where the time goes"),
            s.dim("Postfix delays=a/b/c/d of delivering attempts (median / p90 / max)")
        );
        let part = |o: &mut String, name: &str, v: &Quantiles| {
            let _ = writeln!(
                o,
                "  {:<38} {:>8} {:>8} {:>8}",
                name,
                human(v.p50),
                human(v.p90),
                human(v.max)
            );
        };
        part(o, "queued, incl. retry waits (a)", &d.before_qmgr);
        part(o, "in the active queue (b)", &d.in_qmgr);
        part(o, "connection setup: DNS, HELO, TLS (c)", &d.conn_setup);
        part(o, "transmission (d)", &d.transmission);
        let slow: Vec<String> = j
            .providers
            .iter()
            .filter_map(|r| {
                let d = r.delays.as_ref()?;
                Some(format!(
                    "{} queue {} / remote {}",
                    r.provider,
                    human(d.before_qmgr.p90 + d.in_qmgr.p90),
                    human(d.conn_setup.p90 + d.transmission.p90)
                ))
            })
            .take(6)
            .collect();
        if !slow.is_empty() {
            let text = format!(
                "  p90 per provider (queue a+b, remote c+d): {}",
                slow.join("; ")
            );
            let _ = writeln!(o, "{}", s.dim(&ellipsize(&text, WIDTH)));
        }
    }
    if j.not_queued > 0 || j.messages_without_attempts > 0 {
        let _ = writeln!(
            o,
            "{}",
            s.dim(&format!(
                "{} arrived, never queued (client left, or refused after DATA); {} queued, no attempt logged",
                thousands(j.not_queued),
                thousands(j.messages_without_attempts)
            ))
        );
    }
    if j.cut_short > 0 {
        let _ = writeln!(
            o,
            "warning: {} message(s) still open were closed as pending early: more than {} open \
             journey rows (a very large queue, or lines of one message repeated)",
            thousands(j.cut_short),
            thousands(crate::journey::OPEN_ROWS_CAP as u64)
        );
    }
    if let Some(e) = &j.error {
        let _ = writeln!(o, "warning: {}", terminal(e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human(0.4), "0.4s");
        assert_eq!(human(38.2), "38s");
        assert_eq!(human(725.0), "12m05s");
        assert_eq!(human(3.0 * 3600.0 + 20.0 * 60.0), "3h20m");
        assert_eq!(human(2.0 * 86_400.0 + 4.0 * 3600.0), "2d04h");
        assert_eq!(human(-1.0), "0.0s");
    }
}
