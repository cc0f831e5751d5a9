//! The terminal report: readable at 100 columns, colour only when asked.

use crate::escape::{ellipsize, terminal};
use crate::model::{Finding, Severity};
use crate::model::{ProviderSummary, ReasonRow, Report};
use std::fmt::Write as _;
use std::io::{self, Write};

pub use super::style::{Style, WIDTH, thousands};

/// Providers shown in the per-provider detail section.
pub const DETAIL_PROVIDERS: usize = 10;
/// Reasons shown per provider.
pub const REASONS_PER_PROVIDER: usize = 5;

fn percent(x: f64) -> String {
    if x == 0.0 {
        "-".to_string()
    } else {
        format!("{:.1}%", x * 100.0)
    }
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The report's header (inputs, period, totals) alone.
pub fn header_only(o: &mut String, report: &Report, style: Style) {
    header(o, report, style);
}

/// Renders the whole report.
pub fn render(report: &Report, style: Style) -> String {
    let mut o = String::new();
    header(&mut o, report, style);
    if report.delivery_attempts == 0 {
        let _ = writeln!(o, "\nNo delivery attempts found.");
        probes(&mut o, report, style);
        rejects(&mut o, report, style);
        unparsed(&mut o, report, style);
        return o;
    }
    super::findings::render_findings(&mut o, &report.findings, style);
    hosts(&mut o, report, style);
    super::findings::render_timeline(&mut o, report.timeline.as_ref(), &report.time_zone, style);
    super::findings::render_trend(&mut o, report.trend.as_ref(), style);
    status_table(&mut o, report, style);
    family_table(&mut o, report, style);
    super::journeys::render(&mut o, &report.journeys, style);
    super::tls::render(&mut o, &report.tls, style);
    details(&mut o, report, style);
    rejects(&mut o, report, style);
    unparsed(&mut o, report, style);
    o
}

/// A report of many hosts (`--from-events`): each host's attempts and its
/// own findings.
fn hosts(o: &mut String, r: &Report, s: Style) {
    if r.hosts.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\n{}  {}",
        s.bold("Hosts"),
        s.dim("each host on its own: attempts, deferred, failed, its findings")
    );
    for h in &r.hosts {
        let findings: Vec<String> = h
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .map(|f| format!("{} at {}", f.rule.replace('_', " "), f.provider))
            .collect();
        let line = format!(
            "  {:<16}{:>10}{:>10}{:>9}  {}",
            ellipsize(&terminal(&h.host), 15),
            thousands(h.attempts),
            thousands(h.deferred),
            thousands(h.failed),
            if findings.is_empty() {
                "no warning".to_string()
            } else {
                findings.join(", ")
            }
        );
        let _ = writeln!(o, "{}", ellipsize(&line, WIDTH));
    }
}

/// What this server refused: the top reasons and the clients refused most.
fn rejects(o: &mut String, r: &Report, s: Style) {
    if r.rejects.is_empty() {
        return;
    }
    let shown: u64 = r.rejects.iter().map(|x| x.count).sum();
    let _ = writeln!(
        o,
        "\n{}  {}",
        s.bold("Inbound rejects"),
        s.dim(&format!(
            "what this server refused: {} lines{}",
            thousands(r.inbound_rejects),
            if shown < r.inbound_rejects {
                format!(", top {} reasons shown", r.rejects.len())
            } else {
                String::new()
            }
        ))
    );
    for x in &r.rejects {
        let code = match (&x.code, &x.dsn) {
            (Some(c), Some(d)) => format!("{c} {d}"),
            (Some(c), None) => c.to_string(),
            (None, Some(d)) => d.clone(),
            (None, None) => "-".into(),
        };
        let head = format!(
            "{:>7}  {:<16} {:<5} {:<9} ",
            thousands(x.count),
            x.kind,
            terminal(&x.stage),
            code
        );
        let room = WIDTH.saturating_sub(head.chars().count()).max(20);
        let _ = writeln!(o, "{head}{}", ellipsize(&terminal(&x.reason), room));
        let clients: Vec<String> = x
            .top_clients
            .iter()
            .map(|c| format!("{} ×{}", terminal(&c.client), thousands(c.count)))
            .collect();
        let more = if x.clients > x.top_clients.len() as u64 {
            format!(" (+{} more)", x.clients - x.top_clients.len() as u64)
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "{}",
            s.dim(&ellipsize(
                &format!("         clients: {}{more}", clients.join(", ")),
                WIDTH
            ))
        );
    }
}

/// `--quiet`: the findings at `floor` or worse under a one-line header, or
/// nothing at all when there are none (so cron mails only when it matters).
pub fn render_quiet(report: &Report, floor: Severity, style: Style) -> String {
    let findings: Vec<Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity >= floor)
        .cloned()
        .collect();
    let mut o = String::new();
    if findings.is_empty() {
        return o;
    }
    let names: Vec<String> = report
        .files
        .iter()
        .map(|f| terminal(&f.path).into_owned())
        .collect();
    let _ = write!(
        o,
        "{} — {} {} in {}",
        style.bold(&format!("mtastat {}", report.version)),
        findings.len(),
        if findings.len() == 1 {
            "finding"
        } else {
            "findings"
        },
        names.join(", ")
    );
    if let Some(p) = &report.period {
        let _ = write!(
            o,
            ", {} → {} {}",
            p.first,
            p.last,
            terminal(&report.time_zone)
        );
    }
    let _ = writeln!(o);
    super::findings::render_findings(&mut o, &findings, style);
    o
}

/// Writes the report to `out`.
pub fn write(report: &Report, style: Style, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(render(report, style).as_bytes())
}

fn header(o: &mut String, r: &Report, s: Style) {
    let files = r.files.len();
    let _ = writeln!(
        o,
        "{} — {} {}, {} lines, {}",
        s.bold(&format!("mtastat {}", r.version)),
        files,
        if files == 1 { "file" } else { "files" },
        thousands(r.lines),
        bytes(r.bytes)
    );
    if let Some(p) = &r.period {
        let _ = writeln!(
            o,
            "period      {} → {} {}",
            p.first,
            p.last,
            terminal(&r.time_zone)
        );
    }
    for f in &r.files {
        let name = terminal(&f.path);
        match &f.error {
            Some(e) => {
                let _ = writeln!(o, "  {}  {}", s.paint("31", "skipped"), terminal(e));
            }
            None => {
                let _ = writeln!(
                    o,
                    "  {}  {}, {} lines, {} attempts{}",
                    ellipsize(&name, 60),
                    f.format,
                    thousands(f.lines),
                    thousands(f.delivery_attempts),
                    if f.unparsed_lines > 0 {
                        format!(", {} not understood", thousands(f.unparsed_lines))
                    } else {
                        String::new()
                    }
                );
            }
        }
    }
    // Counted like delivery_attempts, before any filter (the provider
    // table's probes are after them).
    let probes = r.verification_probes;
    if probes > 0 {
        let _ = writeln!(
            o,
            "probes      {} address-verification results (not attempts; see below)",
            thousands(probes)
        );
    }
    let _ = writeln!(
        o,
        "attempts    {}   ({} deferrals without a new attempt; {} other mail lines; {} other programs)",
        s.bold(&thousands(r.delivery_attempts.saturating_sub(probes))),
        thousands(r.deferrals_not_attempted),
        thousands(r.mail_lines_not_deliveries),
        thousands(r.other_program_lines),
    );
    if !r.other_mta_lines.is_empty() {
        let named: Vec<String> = r
            .other_mta_lines
            .iter()
            .map(|(m, n)| format!("{} {m} lines", thousands(*n)))
            .collect();
        let _ = writeln!(
            o,
            "not read    {} (mtastat reads Postfix and Exim)",
            named.join(", ")
        );
    }
    if r.attempts_filtered_out > 0 {
        let _ = writeln!(
            o,
            "filtered    {} attempts left out by --since/--until/--provider/--sender-domain",
            thousands(r.attempts_filtered_out)
        );
    }
    let nu = if r.unparsed_lines > 0 {
        s.paint("31", &thousands(r.unparsed_lines))
    } else {
        "0".to_string()
    };
    let _ = writeln!(
        o,
        "not understood {nu} lines{}",
        if r.unparsed_lines > 0 {
            " (see below)"
        } else {
            ""
        }
    );
}

fn status_table(o: &mut String, r: &Report, s: Style) {
    let _ = writeln!(
        o,
        "\n{}",
        s.bold("Delivery attempts by provider and status")
    );
    let verify = r.providers.iter().any(|p| p.probes > 0);
    let mut head = format!(
        "{:<14}{:>10}{:>10}{:>10}{:>10}{:>10}{:>9}{:>9}",
        "provider", "attempts", "sent", "deferred", "bounced", "expired", "defer%", "fail%"
    );
    if verify {
        let _ = write!(head, "{:>9}", "probes");
    }
    let _ = writeln!(o, "{}", s.dim(&head));
    let mut totals = [0u64; 7];
    for p in &r.providers {
        let counts = [
            p.attempts,
            p.status_count("sent"),
            p.status_count("deferred"),
            p.status_count("bounced"),
            p.status_count("expired"),
            p.status_count("deliverable"),
            p.status_count("undeliverable"),
        ];
        // Hand-offs (a content filter on loopback) carry the same messages
        // again after the filter: "all" counts the deliveries, not both.
        if p.provider != crate::classify::providers::HANDOFF_ID {
            for (t, c) in totals.iter_mut().zip(counts) {
                *t += c;
            }
        }
        let _ = write!(
            o,
            "{:<14}{:>10}{}{}{}{}{:>9}{:>9}",
            ellipsize(&p.provider, 13),
            thousands(counts[0]),
            s.count("sent", counts[1], 10),
            s.count("deferred", counts[2], 10),
            s.count("bounced", counts[3], 10),
            s.count("expired", counts[4], 10),
            percent(p.deferred_rate),
            percent(p.failed_rate),
        );
        if verify {
            let _ = write!(o, "{:>9}", thousands(counts[5] + counts[6]));
        }
        o.push('\n');
    }
    if r.providers.len() > 1 {
        let rate = |n: u64| {
            if totals[0] == 0 {
                0.0
            } else {
                n as f64 / totals[0] as f64
            }
        };
        let line = format!(
            "{:<14}{:>10}{:>10}{:>10}{:>10}{:>10}{:>9}{:>9}",
            "all",
            thousands(totals[0]),
            thousands(totals[1]),
            thousands(totals[2]),
            thousands(totals[3]),
            thousands(totals[4]),
            percent(rate(totals[2])),
            percent(rate(totals[3] + totals[4])),
        );
        let _ = writeln!(o, "{}", s.bold(&line));
    }
    probes(o, r, s);
}

/// Address-verification probes: tests of an address, not deliveries; their
/// own lines, never in the attempts, the rates or the findings.
fn probes(o: &mut String, r: &Report, s: Style) {
    let mut rows: Vec<(&str, &str, &str, u64)> = Vec::new();
    for d in &r.deliveries {
        if d.status != "deliverable" && d.status != "undeliverable" {
            continue;
        }
        match rows
            .iter_mut()
            .find(|(p, st, dsn, _)| *p == d.provider && *st == d.status && *dsn == d.dsn)
        {
            Some(row) => row.3 += d.count,
            None => rows.push((&d.provider, &d.status, &d.dsn, d.count)),
        }
    }
    if rows.is_empty() {
        return;
    }
    rows.sort_by(|a, b| {
        b.3.cmp(&a.3)
            .then_with(|| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)))
    });
    let _ = writeln!(
        o,
        "\n{}",
        s.bold(
            "Address-verification probes (Postfix verify, -bv, Exim callouts: not deliveries, not in rates or findings)"
        )
    );
    for (provider, status, dsn, n) in rows.iter().take(12) {
        let _ = writeln!(
            o,
            "  {:<14}{:<15}{:<9}{:>9}",
            ellipsize(&terminal(provider), 13),
            status,
            if dsn.is_empty() { "-" } else { dsn },
            thousands(*n)
        );
    }
}

fn family_table(o: &mut String, r: &Report, s: Style) {
    let failing: Vec<&ProviderSummary> = r
        .providers
        .iter()
        .filter(|p| !p.families.is_empty())
        .collect();
    if failing.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\n{}",
        s.bold("Failures by code family (class 4 = transient, 5 = permanent; RFC 3463 subjects)")
    );
    let _ = writeln!(
        o,
        "{}",
        s.dim("x.0 other · x.1 addressing · x.2 mailbox · x.3 mail system · x.4 network/routing\n\
               x.5 protocol · x.6 content/media · x.7 security/policy · none: reply had no enhanced code")
    );
    let mut head = format!("{:<12}{:<6}", "provider", "class");
    for subject in 0..=7u16 {
        let _ = write!(head, "{:>9}", format!("x.{subject}"));
    }
    let _ = write!(head, "{:>9}", "none");
    let _ = writeln!(o, "{}", s.dim(&head));
    for p in failing {
        let mut first = true;
        for class in [4u8, 5] {
            let cell = |subject: Option<u8>| -> u64 {
                p.families
                    .iter()
                    .filter(|f| f.class == class && f.subject == subject)
                    .map(|f| f.count)
                    .sum()
            };
            let cells: Vec<u64> = (0..=7u8)
                .map(Some)
                .chain(std::iter::once(None))
                .map(cell)
                .collect();
            if cells.iter().all(|c| *c == 0) {
                continue;
            }
            let name = if first {
                ellipsize(&p.provider, 11).into_owned()
            } else {
                String::new()
            };
            first = false;
            let _ = write!(o, "{:<12}{:<6}", name, format!("{class}.x.x"));
            let status = if class == 4 { "deferred" } else { "bounced" };
            for c in cells {
                let _ = write!(o, "{}", s.count(status, c, 9));
            }
            o.push('\n');
        }
    }
}

fn details(o: &mut String, r: &Report, s: Style) {
    let failing: Vec<&ProviderSummary> = r
        .providers
        .iter()
        .filter(|p| !p.top_codes.is_empty() || r.reasons.iter().any(|x| x.provider == p.provider))
        .collect();
    if failing.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\n{}",
        s.bold("Top failure codes and reasons per provider")
    );
    for (shown, p) in failing.iter().enumerate() {
        if shown == DETAIL_PROVIDERS {
            let _ = writeln!(
                o,
                "\n… {} more providers with failures (all of them are in --json)",
                failing.len() - shown
            );
            break;
        }
        let _ = writeln!(
            o,
            "\n{} {}",
            s.bold(&p.provider),
            s.dim(&ellipsize(
                &format!(
                    "— {}, {} attempts, {} deferred, {} bounced or expired",
                    p.name,
                    thousands(p.attempts),
                    percent(p.deferred_rate),
                    percent(p.failed_rate)
                ),
                WIDTH - 1 - p.provider.chars().count()
            ))
        );
        if !p.top_codes.is_empty() {
            let codes: Vec<String> = p
                .top_codes
                .iter()
                .take(6)
                .map(|c| format!("{} ×{}", c.dsn, thousands(c.count)))
                .collect();
            let _ = writeln!(o, "  codes    {}", codes.join("  "));
            if let Some(top) = p.top_codes.first()
                && let Some(title) = top.title
            {
                let _ = writeln!(
                    o,
                    "  {}",
                    s.dim(&format!("         {}: {}", top.dsn, title))
                );
            }
        }
        let reasons: Vec<&ReasonRow> = r
            .reasons
            .iter()
            .filter(|x| x.provider == p.provider)
            .take(REASONS_PER_PROVIDER)
            .collect();
        for x in reasons {
            let code = if x.dsn.is_empty() {
                "-"
            } else {
                x.dsn.as_str()
            };
            let middle = format!("  {:<8} {:<7} ", x.status, code);
            let room = WIDTH.saturating_sub(9 + middle.len());
            let text = terminal(&x.reason);
            let text = if text.is_empty() {
                "(no text)".into()
            } else {
                text
            };
            let _ = writeln!(
                o,
                "{}{middle}{}",
                s.count(&x.status, x.count, 9),
                ellipsize(&text, room)
            );
        }
    }
}

fn unparsed(o: &mut String, r: &Report, s: Style) {
    if r.unparsed.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n{}", s.bold("Lines not understood"));
    for u in &r.unparsed {
        let _ = writeln!(o, "{:>9}  {}", thousands(u.count), u.description);
        for sample in &u.samples {
            let _ = writeln!(
                o,
                "           {}",
                s.dim(&ellipsize(&terminal(sample), WIDTH - 11))
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn sizes() {
        assert_eq!(bytes(10), "10 B");
        assert_eq!(bytes(7_156_663), "6.8 MiB");
    }
}
