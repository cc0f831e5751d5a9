//! `--format markdown`: the report as GitHub-flavoured Markdown, for pasting
//! into a ticket. Findings first, then the per-provider table and the top
//! replies. Log text is escaped twice over: control characters as in the
//! terminal, then every character Markdown gives a meaning to, so a reply
//! text cannot open a link, an image, a table cell or HTML.

use super::table;
use crate::escape::terminal;
use crate::model::Finding;
use crate::model::{ProviderSummary, Report};
use std::fmt::Write as _;

/// Findings listed with their evidence; the rest get one line.
const FULL: usize = 12;
/// Reply rows in the top-replies table.
const REPLIES: usize = 15;

/// Escapes text for Markdown: controls as `\xNN` (newlines too: a table row
/// is one line), the characters that emphasise, link, quote code, strike or
/// end a table cell with a backslash, `<`/`>`/`&` as entities (GFM passes raw
/// HTML through), and a leading `#`, `+` or `-` so text never starts a
/// heading or a list.
pub fn escape(s: &str) -> String {
    let clean = terminal(s);
    if autolinks(&clean) {
        return code_span(&clean);
    }
    let mut out = String::with_capacity(clean.len() + 8);
    for (i, c) in clean.chars().enumerate() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '!' | '|' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '+' | '-' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// True when GitHub would turn part of `s` into a link by itself (its
/// autolink extension needs no markup: `https://…`, `www.…`, `a@b.example`,
/// `mailto:`/`xmpp:`); escaping Markdown's characters does not stop that.
fn autolinks(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    ["://", "www.", "@", "mailto:", "xmpp:"]
        .iter()
        .any(|t| lower.contains(t))
}

/// `s` as a code span, where nothing is a link, emphasis or HTML: fenced by
/// one backtick more than its longest run of them, `|` escaped (a table cell
/// ends at a bare one even inside code).
fn code_span(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    format!("{fence} {} {fence}", s.replace('|', "\\|"))
}

/// Renders the whole report.
pub fn render(report: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# mtastat report\n");
    let files: Vec<String> = report
        .files
        .iter()
        .map(|f| code_span(&terminal(&f.path)))
        .collect();
    let _ = writeln!(
        o,
        "* **Input:** {} ({} lines)",
        files.join(", "),
        report.lines
    );
    if let Some(p) = &report.period {
        let _ = writeln!(
            o,
            "* **Period:** {} → {} ({})",
            p.first,
            p.last,
            escape(&report.time_zone)
        );
    }
    let _ = writeln!(
        o,
        "* **Delivery attempts:** {}; lines not understood: {}",
        report.delivery_attempts, report.unparsed_lines
    );
    findings(&mut o, &report.findings);
    providers(&mut o, &report.providers);
    journeys(&mut o, &report.journeys);
    tls(&mut o, &report.tls);
    if !report.hosts.is_empty() {
        let _ = writeln!(&mut o, "\n## Hosts\n");
        table::hosts(report).markdown(&mut o, escape);
    }
    replies(&mut o, report);
    o
}

/// Delivery times per provider and busiest domain: dispositions,
/// first-attempt share, p50/p90/p99/max.
fn journeys(o: &mut String, j: &crate::model::journeys::JourneyReport) {
    if j.recipients == 0 {
        return;
    }
    let _ = writeln!(
        o,
        "\n## Message journeys\n\n{} messages, {} recipients, each counted once (arrival to final disposition).\n",
        j.messages, j.recipients
    );
    table::journeys(j).markdown(o, escape);
}

/// TLS posture: outbound per provider and busiest domain, clear text
/// where TLS was seen, inbound.
fn tls(o: &mut String, t: &crate::model::tls::TlsPosture) {
    let (out, inb) = (&t.outbound, &t.inbound);
    if out.mix.total == 0 && inb.mix.total == 0 {
        return;
    }
    let _ = writeln!(o, "\n## TLS\n");
    if out.mix.total > 0 {
        let _ = writeln!(o, "{}.\n", super::tls::outbound_sentence(&out.mix));
        table::tls_outbound(out).markdown(o, escape);
        let clear = table::tls_clear_domains(out);
        if !clear.rows.is_empty() {
            let _ = writeln!(
                o,
                "\nClear text to domains that had TLS elsewhere in the log:\n"
            );
            clear.markdown(o, escape);
        }
    }
    if inb.mix.total > 0 {
        let _ = writeln!(o, "\n{}.\n", super::tls::inbound_sentence(inb));
        table::tls_inbound(inb).markdown(o, escape);
    }
    let silent = t.silent_hosts();
    if !silent.is_empty() {
        let names: Vec<String> = silent.iter().map(|h| escape(h)).collect();
        let _ = writeln!(
            o,
            "\nNo TLS logged by {}: their connections are counted as unknown.",
            names.join(", ")
        );
    }
}

fn findings(o: &mut String, findings: &[Finding]) {
    let _ = writeln!(o, "\n## Findings\n");
    if findings.is_empty() {
        let _ = writeln!(o, "None: no failure pattern above the thresholds.");
        return;
    }
    for (i, f) in findings.iter().enumerate() {
        let when = if f.steady {
            format!("steady since {}", f.since)
        } else {
            format!("since {} (until {})", f.since, f.until)
        };
        let head = format!(
            "**{}** {} {} — {}",
            f.severity.as_str().to_uppercase(),
            escape(&f.rule.replace('_', " ")),
            escape(&f.place()),
            escape(&when)
        );
        if i >= FULL {
            let _ = writeln!(
                o,
                "* {head}: {} failures of {} messages to {} recipients",
                f.count, f.messages, f.recipients
            );
            continue;
        }
        let _ = writeln!(o, "### {}. {head}\n", i + 1);
        let _ = writeln!(o, "{}\n", escape(&f.summary));
        if let Some(h) = &f.history {
            let _ = writeln!(
                o,
                "*History:* **{}**: {}\n",
                escape(h.verdict),
                escape(&h.said)
            );
        }
        let _ = writeln!(o, "*Action:* {}\n", escape(&f.action));
        if !f.evidence.is_empty() {
            table::evidence(f, 3).markdown(o, escape);
            let _ = writeln!(o);
        }
        if !f.sample_queue_ids.is_empty() {
            let ids: Vec<String> = f.sample_queue_ids.iter().map(|q| escape(q)).collect();
            let _ = writeln!(o, "Queue ids: {}\n", ids.join(", "));
        }
    }
}

fn providers(o: &mut String, providers: &[ProviderSummary]) {
    if providers.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n## Delivery attempts by provider\n");
    table::providers(providers).markdown(o, escape);
}

fn replies(o: &mut String, report: &Report) {
    let t = table::failure_replies(report, REPLIES);
    if t.rows.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n## Top failure replies\n");
    t.markdown(o, escape);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_text_cannot_format_or_inject() {
        let s = escape("x | y <script>alert(1)</script> [a](e.html) ![i](x) `c` *b* \x1b[2J\n");
        assert!(!s.contains("<script>"));
        assert!(s.contains("\\|"));
        assert!(s.contains("\\[a\\](e.html)"), "{s}");
        assert!(s.contains("\\!\\[i\\]"), "{s}");
        assert!(!s.contains('\x1b') && !s.contains('\n'));
        assert_eq!(escape("4.7.0"), "4.7.0");
        assert_eq!(escape("- a-b"), "\\- a-b");
        assert_eq!(escape("gmail"), "gmail");
    }

    /// GitHub links bare URLs, www. names and addresses by itself: such
    /// text goes in a code span (issue 14).
    #[test]
    fn bare_links_are_code_spans() {
        for text in [
            "see https://evil.example/x for details",
            "visit www.evil.example now",
            "write to abuse@evil.example",
        ] {
            let s = escape(text);
            assert!(s.starts_with("` ") && s.ends_with(" `"), "{s}");
        }
        let s = escape("a ``b`` https://x | y");
        assert!(s.starts_with("``` ") && s.contains("\\|"), "{s}");
        assert_eq!(escape("gmail.com"), "gmail.com");
    }
}
