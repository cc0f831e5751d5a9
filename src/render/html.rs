//! `--html FILE`: the report as one self-contained page — no scripts, no
//! network fetches, charts as inline SVG drawn here. Findings first, then
//! per-provider status bars, timelines of deferral and failure rates with
//! the findings' episodes shaded, the code-family mix, and the tables.
//!
//! Everything from a log passes [`escape`] (control characters made visible,
//! then HTML-escaped), and the page's Content-Security-Policy forbids
//! scripts altogether, so a reply text holding `<script>` is only text.

use super::table;
use crate::escape::terminal;
use crate::model::{Finding, Severity};
use crate::model::{ProviderSummary, Report, Timeline};
use crate::time::days_from_civil;
use std::fmt::Write as _;

/// Text for HTML (element content and quoted attribute values).
pub fn escape(s: &str) -> String {
    let clean = terminal(s);
    let mut out = String::with_capacity(clean.len() + 16);
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The page's style sheet (for the tables' tests).
#[cfg(test)]
pub(crate) fn render_css_for_tests() -> &'static str {
    CSS
}

const CSS: &str = r#"
:root { --sent:#2e7d32; --deferred:#f9a825; --bounced:#c62828; --expired:#6d1b1b; --other:#9e9e9e;
        --ink:#1f2328; --dim:#59636e; --rule:#d1d9e0; --bg:#ffffff; --card:#f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: var(--bg); margin: 0 auto; padding: 24px; max-width: 1100px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid var(--rule); padding-bottom: 4px; }
.meta { color: var(--dim); margin: 0 0 16px; }
.finding { background: var(--card); border-left: 6px solid var(--other); border-radius: 6px; padding: 10px 14px; margin: 10px 0; break-inside: avoid; }
.finding.critical { border-color: var(--bounced); } .finding.warning { border-color: var(--deferred); } .finding.info { border-color: #0969da; }
.badge { display: inline-block; font-size: 11px; font-weight: 700; padding: 1px 6px; border-radius: 4px; color: #fff; background: var(--other); margin-right: 6px; }
.critical .badge { background: var(--bounced); } .warning .badge { background: #9a6700; } .info .badge { background: #0969da; }
.finding h3 { font-size: 15px; margin: 0 0 4px; } .finding p { margin: 4px 0; } .action { color: var(--dim); }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { background: var(--card); } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.reason { overflow-wrap: anywhere; } td.sub { padding-left: 24px; }
.history b { text-transform: uppercase; font-size: 11px; padding: 1px 6px; border-radius: 4px; color: #fff; background: var(--other); margin-right: 6px; }
.history.new b { background: #8250df; } .history.rising b { background: #9a6700; } .history.usual b { background: var(--sent); }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; color: var(--dim); }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
svg { display: block; max-width: 100%; height: auto; } svg text { font: 11px system-ui, sans-serif; fill: var(--dim); }
.chart { margin: 6px 0 14px; break-inside: avoid; }
@media print { body { padding: 0; max-width: none; } h2 { break-after: avoid; } }
"#;

/// Renders the whole page.
pub fn render(report: &Report) -> String {
    let mut o = String::with_capacity(64 << 10);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>mtastat report</title><style>{CSS}</style></head><body>\n"
    );
    header(&mut o, report);
    findings(&mut o, &report.findings);
    status_bars(&mut o, &report.providers);
    if let Some(t) = &report.timeline {
        timelines(&mut o, t, &report.findings, &report.time_zone);
    }
    trend(&mut o, report.trend.as_ref());
    families(&mut o, &report.providers);
    provider_table(&mut o, &report.providers);
    journeys(&mut o, &report.journeys);
    tls(&mut o, &report.tls);
    if !report.hosts.is_empty() {
        let _ = writeln!(&mut o, "<h2>Hosts</h2>");
        table::hosts(report).html(&mut o, Some("hosts"), escape);
    }
    reasons(&mut o, report);
    let _ = writeln!(
        o,
        "<p class=\"meta\">mtastat {} · {} lines read, {} not understood</p></body></html>",
        escape(report.version),
        report.lines,
        report.unparsed_lines
    );
    o
}

fn header(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<h1>mtastat report</h1>");
    let files: Vec<String> = r.files.iter().map(|f| escape(&f.path)).collect();
    let period = r.period.as_ref().map_or(String::new(), |p| {
        format!(
            " · {} → {} ({})",
            escape(&p.first),
            escape(&p.last),
            escape(&r.time_zone)
        )
    });
    let _ = writeln!(
        o,
        "<p class=\"meta\">{}{} · {} delivery attempts</p>",
        files.join(", "),
        period,
        r.delivery_attempts
    );
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

fn findings(o: &mut String, findings: &[Finding]) {
    let _ = writeln!(o, "<h2>Findings</h2>");
    if findings.is_empty() {
        let _ = writeln!(o, "<p>None: no failure pattern above the thresholds.</p>");
        return;
    }
    for f in findings {
        let when = if f.steady {
            format!("steady since {}", f.since)
        } else {
            format!("since {} (until {})", f.since, f.until)
        };
        let _ = writeln!(
            o,
            "<div class=\"finding {cls}\"><h3><span class=\"badge\">{sev}</span>{rule} {place} — {when}</h3>\
             <p>{summary}</p><p class=\"action\"><b>Action:</b> {action}</p>",
            cls = severity_class(f.severity),
            sev = f.severity.as_str().to_uppercase(),
            rule = escape(&f.rule.replace('_', " ")),
            place = escape(&f.place()),
            when = escape(&when),
            summary = escape(&f.summary),
            action = escape(&f.action),
        );
        if let Some(b) = &f.history {
            let _ = writeln!(
                o,
                "<p class=\"history {}\"><b>{}</b> {}</p>",
                escape(&b.verdict.replace(' ', "-")),
                escape(b.verdict),
                escape(&b.said)
            );
        }
        if !f.evidence.is_empty() {
            table::evidence(f, 3).html(o, None, escape);
        }
        let _ = writeln!(o, "</div>");
    }
}

const STATUSES: [(&str, &str); 4] = [
    ("sent", "var(--sent)"),
    ("deferred", "var(--deferred)"),
    ("bounced", "var(--bounced)"),
    ("expired", "var(--expired)"),
];

fn legend(o: &mut String, items: &[(&str, String)]) {
    let _ = write!(o, "<div class=\"legend\">");
    for (name, colour) in items {
        let _ = write!(
            o,
            "<span><i style=\"background:{colour}\"></i>{}</span>",
            escape(name)
        );
    }
    let _ = writeln!(o, "</div>");
}

/// One row of a stacked-bar chart: a provider and its segments
/// (colour, count, what the segment is).
struct BarRow<'a> {
    provider: &'a ProviderSummary,
    segments: Vec<(String, u64, String)>,
}

/// Horizontal 100 % stacked bars, one per row, labelled with the provider id
/// (its full name on hover) and the row's total.
fn stacked_bars(o: &mut String, id: &str, aria: &str, rows: &[BarRow<'_>]) {
    let (label_w, bar_w, row_h) = (160.0, 700.0, 24.0);
    let height = row_h * rows.len() as f64 + 4.0;
    let _ = writeln!(
        o,
        "<svg class=\"chart\" id=\"{id}\" viewBox=\"0 0 {} {height}\" role=\"img\" aria-label=\"{aria}\">",
        label_w + bar_w + 10.0
    );
    for (i, row) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 2.0;
        let total: u64 = row.segments.iter().map(|s| s.1).sum();
        let name = escape(&row.provider.name);
        let _ = writeln!(
            o,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\"><title>{name}</title>{} ({total})</text>",
            label_w - 8.0,
            y + 15.0,
            escape(&row.provider.provider)
        );
        let mut x = label_w;
        for (colour, n, what) in &row.segments {
            if *n == 0 {
                continue;
            }
            let share = *n as f64 / total.max(1) as f64;
            let w = bar_w * share;
            let _ = writeln!(
                o,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{colour}\"><title>{name}: {} {n} ({:.1}%)</title></rect>",
                row_h - 6.0,
                escape(what),
                100.0 * share
            );
            x += w;
        }
    }
    let _ = writeln!(o, "</svg>");
}

/// One 100 % stacked bar per provider: sent / deferred / bounced / expired.
fn status_bars(o: &mut String, providers: &[ProviderSummary]) {
    if providers.is_empty() {
        return;
    }
    let _ = writeln!(o, "<h2>Delivery attempts by provider and status</h2>");
    let items: Vec<(&str, String)> = STATUSES
        .iter()
        .map(|(n, c)| (*n, (*c).to_string()))
        .chain([("other", "var(--other)".to_string())])
        .collect();
    legend(o, &items);
    let rows: Vec<BarRow<'_>> = providers
        .iter()
        .map(|p| {
            let known: u64 = STATUSES.iter().map(|(s, _)| p.status_count(s)).sum();
            let segments = STATUSES
                .iter()
                .map(|(s, c)| ((*c).to_string(), p.status_count(s), (*s).to_string()))
                .chain([(
                    "var(--other)".to_string(),
                    p.attempts.saturating_sub(known),
                    "other".to_string(),
                )])
                .collect();
            BarRow {
                provider: p,
                segments,
            }
        })
        .collect();
    stacked_bars(o, "status-bars", "attempts by provider and status", &rows);
}

/// Minutes since the epoch of `YYYY-MM-DD HH:MM` (the report's own labels).
fn label_minutes(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    if b.len() < 16 {
        return None;
    }
    let days = days_from_civil(num(0..4)? as i32, num(5..7)? as u32, num(8..10)? as u32);
    Some(days * 1440 + num(11..13)? * 60 + num(14..16)?)
}

/// Per provider: deferral rate and failure rate per bucket, the findings'
/// episodes at that provider shaded behind them.
fn timelines(o: &mut String, t: &Timeline, findings: &[Finding], zone: &str) {
    let Some(start) = label_minutes(&t.start) else {
        return;
    };
    let _ = writeln!(o, "<h2>Timeline</h2>");
    let _ = writeln!(
        o,
        "<p class=\"meta\">{} → {} ({}), {} min per bucket; rates are shares of the bucket's attempts; shaded: finding episodes</p>",
        escape(&t.start),
        escape(&t.end),
        escape(zone),
        t.bucket_minutes
    );
    legend(
        o,
        &[
            ("deferred", "var(--deferred)".into()),
            ("bounced + expired", "var(--bounced)".into()),
            ("finding episode", "rgba(198,40,40,.12)".into()),
        ],
    );
    let (w, h, left, top) = (860.0, 90.0, 120.0, 8.0);
    for p in &t.providers {
        let n = p.attempts.len().max(1);
        let step = w / n as f64;
        let width = t.bucket_minutes.max(1) as f64;
        let x_of = |minute: i64| left + (minute - start) as f64 / width * step;
        let _ = writeln!(
            o,
            "<svg class=\"chart timeline\" data-provider=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"timeline for {}\">",
            escape(&p.provider),
            left + w + 10.0,
            h + top + 16.0,
            escape(&p.provider)
        );
        let _ = writeln!(
            o,
            "<text x=\"0\" y=\"{}\">{}</text>",
            top + 14.0,
            escape(&p.provider)
        );
        for f in findings.iter().filter(|f| f.provider == p.provider) {
            for e in &f.episodes {
                if let (Some(a), Some(b)) =
                    (label_minutes(&e.since_time), label_minutes(&e.until_time))
                {
                    let (x0, x1) = (x_of(a).max(left), x_of(b + 1).min(left + w));
                    if x1 > x0 {
                        let _ = writeln!(
                            o,
                            "<rect class=\"episode\" x=\"{x0:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{h}\" fill=\"rgba(198,40,40,.12)\"><title>{}: {}–{}</title></rect>",
                            x1 - x0,
                            escape(f.rule),
                            escape(&e.since_time),
                            escape(&e.until_time)
                        );
                    }
                }
            }
        }
        for frac in [0.0, 0.5, 1.0] {
            let y = top + h * (1.0 - frac);
            let _ = writeln!(
                o,
                "<line x1=\"{left}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#d1d9e0\" stroke-width=\"1\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}%</text>",
                left + w,
                left - 4.0,
                y + 4.0,
                (frac * 100.0) as u32
            );
        }
        for (series, colour) in [
            (&p.deferred, "var(--deferred)"),
            (&p.failed, "var(--bounced)"),
        ] {
            let mut points = String::new();
            for (i, (&k, &a)) in series.iter().zip(&p.attempts).enumerate() {
                if a == 0 {
                    continue;
                }
                let x = left + (i as f64 + 0.5) * step;
                let y = top + h * (1.0 - k as f64 / a as f64);
                let _ = write!(points, "{x:.1},{y:.1} ");
            }
            if !points.is_empty() {
                let _ = writeln!(
                    o,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\"/>",
                    points.trim_end()
                );
            }
        }
        let _ = writeln!(
            o,
            "<text x=\"{left}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text></svg>",
            top + h + 14.0,
            escape(&t.start),
            left + w,
            top + h + 14.0,
            escape(&t.end)
        );
    }
}

/// A colour per RFC 3463 subject; class 5 darker than class 4.
fn family_colour(class: u8, subject: Option<u8>) -> String {
    let hue = match subject {
        Some(1) => 210,
        Some(2) => 280,
        Some(3) => 30,
        Some(4) => 190,
        Some(5) => 330,
        Some(6) => 100,
        Some(7) => 0,
        Some(_) => 50,
        None => 0,
    };
    let (sat, light) = match (subject, class) {
        (None, 4) => (0, 70),
        (None, _) => (0, 45),
        (_, 4) => (70, 70),
        _ => (65, 42),
    };
    format!("hsl({hue},{sat}%,{light}%)")
}

/// The mix of failures by code family, one stacked bar per provider.
fn families(o: &mut String, providers: &[ProviderSummary]) {
    let rows: Vec<&ProviderSummary> = providers
        .iter()
        .filter(|p| p.families.iter().any(|f| f.count > 0))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(o, "<h2>Failures by code family</h2>");
    let mut seen: Vec<(u8, Option<u8>, &str)> = Vec::new();
    for p in &rows {
        for f in &p.families {
            if !seen.iter().any(|s| s.0 == f.class && s.1 == f.subject) {
                seen.push((f.class, f.subject, f.name));
            }
        }
    }
    seen.sort();
    let items: Vec<(String, String)> = seen
        .iter()
        .map(|(c, s, n)| {
            let code = s.map_or(format!("{c}.x"), |s| format!("{c}.{s}"));
            (format!("{code} {n}"), family_colour(*c, *s))
        })
        .collect();
    let items: Vec<(&str, String)> = items.iter().map(|(a, b)| (a.as_str(), b.clone())).collect();
    legend(o, &items);
    let rows: Vec<BarRow<'_>> = rows
        .iter()
        .map(|p| {
            let mut fams: Vec<_> = p.families.iter().collect();
            fams.sort_by_key(|f| (f.class, f.subject));
            let segments = fams
                .iter()
                .map(|f| {
                    let code = f
                        .subject
                        .map_or(format!("{}.x", f.class), |s| format!("{}.{s}", f.class));
                    (
                        family_colour(f.class, f.subject),
                        f.count,
                        format!("{code} {}", f.name),
                    )
                })
                .collect();
            BarRow {
                provider: p,
                segments,
            }
        })
        .collect();
    stacked_bars(o, "families", "failures by code family", &rows);
}

/// Each provider's failed share over the stored days (`--state`) and this
/// run's (the last points, marked), one small chart each.
fn trend(o: &mut String, trend: Option<&Vec<crate::history::ProviderTrend>>) {
    let Some(trend) = trend else { return };
    let _ = writeln!(
        o,
        "<h2>Trend</h2><p class=\"meta\">Failed share per day: the days stored with --state, then this run's (dots).</p>"
    );
    let (w, h, pad) = (320.0, 70.0, 6.0);
    for t in trend.iter().take(8) {
        let n = t.days.len().max(1);
        let top = t
            .days
            .iter()
            .map(|d| d.failed_rate)
            .fold(0.0_f64, f64::max)
            .max(0.001);
        let xy = |i: usize, r: f64| {
            let x = pad
                + (w - 2.0 * pad)
                    * if n > 1 {
                        i as f64 / (n - 1) as f64
                    } else {
                        0.5
                    };
            let y = h - pad - (h - 2.0 * pad) * (r / top);
            (x, y)
        };
        let points: Vec<String> = t
            .days
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let (x, y) = xy(i, d.failed_rate);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            o,
            "<div class=\"chart\"><b>{}</b> <span class=\"meta\">{}</span><svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"failed share per day at {}\"><polyline fill=\"none\" stroke=\"var(--bounced)\" stroke-width=\"1.5\" points=\"{}\"/>",
            escape(&t.provider),
            escape(&t.said),
            escape(&t.provider),
            points.join(" ")
        );
        for (i, d) in t.days.iter().enumerate() {
            let (x, y) = xy(i, d.failed_rate);
            let r = if d.this_run { 3.5 } else { 1.5 };
            let _ = write!(
                o,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r}\" fill=\"var(--bounced)\"><title>{} {:.1} % of {} attempts</title></circle>",
                escape(&d.day),
                100.0 * d.failed_rate,
                d.attempts
            );
        }
        let _ = writeln!(o, "</svg></div>");
    }
}

fn provider_table(o: &mut String, providers: &[ProviderSummary]) {
    if providers.is_empty() {
        return;
    }
    let _ = writeln!(o, "<h2>Providers</h2>");
    table::providers(providers).html(o, Some("providers"), escape);
}

/// Delivery times per provider and busiest domain.
fn journeys(o: &mut String, j: &crate::model::journeys::JourneyReport) {
    if j.recipients == 0 {
        return;
    }
    let _ = writeln!(
        o,
        "<h2>Message journeys</h2><p class=\"meta\">{} messages, {} recipients, each counted once, from arrival to its final disposition</p>",
        j.messages, j.recipients
    );
    table::journeys(j).html(o, Some("journeys"), escape);
}

/// TLS posture: outbound per provider and busiest domain, clear text
/// where TLS was seen, inbound.
fn tls(o: &mut String, t: &crate::model::tls::TlsPosture) {
    let (out, inb) = (&t.outbound, &t.inbound);
    if out.mix.total == 0 && inb.mix.total == 0 {
        return;
    }
    let _ = writeln!(o, "<h2>TLS</h2>");
    if out.mix.total > 0 {
        let _ = writeln!(
            o,
            "<p class=\"meta\">{}</p>",
            super::tls::outbound_sentence(&out.mix)
        );
        table::tls_outbound(out).html(o, Some("tls"), escape);
        let clear = table::tls_clear_domains(out);
        if !clear.rows.is_empty() {
            let _ = writeln!(
                o,
                "<h3>Clear text to domains that had TLS elsewhere in the log</h3>"
            );
            clear.html(o, Some("tls-clear"), escape);
        }
    }
    if inb.mix.total > 0 {
        let _ = writeln!(
            o,
            "<p class=\"meta\">{}</p>",
            super::tls::inbound_sentence(inb)
        );
        table::tls_inbound(inb).html(o, Some("tls-inbound"), escape);
    }
    let silent = t.silent_hosts();
    if !silent.is_empty() {
        let names: Vec<String> = silent.iter().map(|h| escape(h)).collect();
        let _ = writeln!(
            o,
            "<p class=\"meta\">No TLS logged by {}: their connections are counted as unknown (Postfix smtp_tls_loglevel / smtpd_tls_loglevel = 1, Exim's tls_cipher log selector).</p>",
            names.join(", ")
        );
    }
}

fn reasons(o: &mut String, report: &Report) {
    let t = table::failure_replies(report, 25);
    if t.rows.is_empty() {
        return;
    }
    let _ = writeln!(o, "<h2>Top failure replies</h2>");
    t.html(o, Some("reasons"), escape);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_log_text_is_text() {
        assert_eq!(
            escape("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            escape("<script>a&b</script>"),
            "&lt;script&gt;a&amp;b&lt;/script&gt;"
        );
        assert_eq!(escape("\u{1b}[2J"), "\\x1b[2J");
    }

    #[test]
    fn label_minutes_reads_the_reports_labels() {
        assert_eq!(label_minutes("1970-01-01 00:01"), Some(1));
        assert_eq!(label_minutes("1970-01-02 00:00"), Some(1440));
        assert_eq!(label_minutes("soon"), None);
    }
}
