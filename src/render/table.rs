//! The tables the Markdown and HTML reports share (providers, journeys, top
//! failure replies): columns and cells are made once from the model, and
//! each format only writes them, escaping every cell its own way. A column
//! added here appears in both; they used to be written twice, and had
//! drifted (Markdown showed three codes, HTML four; percentages with and
//! without `%`; p99 and the busiest domains only in HTML).

use super::journeys::time_cell;
use crate::model::journeys::JourneyReport;
use crate::model::{Finding, ProviderSummary, Report};
use std::fmt::Write as _;

/// A column: its title, whether it holds numbers (right-aligned) or long
/// log text (wrapped anywhere in HTML: a reply without spaces must not
/// widen the page).
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// Header text.
    pub title: &'static str,
    /// Right-aligned.
    pub numeric: bool,
    /// Long text, wrapped anywhere.
    pub long: bool,
}

const fn text(title: &'static str) -> Column {
    Column {
        title,
        numeric: false,
        long: false,
    }
}

const fn number(title: &'static str) -> Column {
    Column {
        title,
        numeric: true,
        long: false,
    }
}

const fn long_text(title: &'static str) -> Column {
    Column {
        title,
        numeric: false,
        long: true,
    }
}

/// One row: raw cells (log text unescaped: each format escapes) and
/// whether it sits under the row before (a domain under the providers).
#[derive(Clone, Debug)]
pub struct Row {
    /// One cell per column.
    pub cells: Vec<String>,
    /// A sub-row, shown indented.
    pub indented: bool,
    /// Our own words before the long-text cell (`(one MX host)`), written
    /// as they are: the cell itself is log text and escaped.
    pub lead: Option<&'static str>,
}

/// A table of the report.
#[derive(Clone, Debug)]
pub struct Table {
    /// The columns.
    pub columns: &'static [Column],
    /// The rows.
    pub rows: Vec<Row>,
}

impl Table {
    fn push(&mut self, cells: Vec<String>, indented: bool) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(Row {
            cells,
            indented,
            lead: None,
        });
    }

    /// `cell`, escaped, after the row's lead when its column is long text.
    fn cell(row: &Row, column: &Column, cell: &str, escape: fn(&str) -> String) -> String {
        match (column.long, row.lead) {
            (true, Some(lead)) => format!("{lead} {}", escape(cell)),
            _ => escape(cell),
        }
    }

    /// As a GitHub-flavoured Markdown table; `escape` makes a cell inert.
    pub fn markdown(&self, o: &mut String, escape: fn(&str) -> String) {
        let titles: Vec<&str> = self.columns.iter().map(|c| c.title).collect();
        let _ = writeln!(o, "| {} |", titles.join(" | "));
        let rule: Vec<&str> = self
            .columns
            .iter()
            .map(|c| if c.numeric { "---:" } else { "---" })
            .collect();
        let _ = writeln!(o, "|{}|", rule.join("|"));
        for row in &self.rows {
            let cells: Vec<String> = row
                .cells
                .iter()
                .zip(self.columns)
                .enumerate()
                .map(|(i, (c, column))| {
                    let c = Self::cell(row, column, c, escape);
                    if i == 0 && row.indented {
                        format!("↳ {c}")
                    } else {
                        c
                    }
                })
                .collect();
            let _ = writeln!(o, "| {} |", cells.join(" | "));
        }
    }

    /// As an HTML table (with `id` when given); `escape` makes a cell text.
    pub fn html(&self, o: &mut String, id: Option<&str>, escape: fn(&str) -> String) {
        match id {
            Some(id) => {
                let _ = write!(o, "<table id=\"{id}\"><tr>");
            }
            None => o.push_str("<table><tr>"),
        }
        for c in self.columns {
            let class = if c.numeric { " class=\"n\"" } else { "" };
            let _ = write!(o, "<th{class}>{}</th>", c.title);
        }
        let _ = writeln!(o, "</tr>");
        for row in &self.rows {
            let _ = write!(o, "<tr>");
            for (c, cell) in self.columns.iter().zip(&row.cells) {
                let class = match (c.numeric, row.indented, c.long) {
                    (true, _, _) => " class=\"n\"",
                    (false, true, _) => " class=\"sub\"",
                    (false, false, true) => " class=\"reason\"",
                    (false, false, false) => "",
                };
                let _ = write!(o, "<td{class}>{}</td>", Self::cell(row, c, cell, escape));
            }
            let _ = writeln!(o, "</tr>");
        }
        let _ = writeln!(o, "</table>");
    }
}

fn percent(x: f64) -> String {
    format!("{:.1}", x * 100.0)
}

/// Codes shown per provider.
const TOP_CODES: usize = 4;

const PROVIDER_COLUMNS: &[Column] = &[
    text("provider"),
    number("attempts"),
    number("sent"),
    number("deferred"),
    number("bounced"),
    number("expired"),
    number("deferred %"),
    number("failed %"),
    text("top codes"),
];

/// Delivery attempts by provider and status, rates, the top codes.
pub fn providers(providers: &[ProviderSummary]) -> Table {
    let mut t = Table {
        columns: PROVIDER_COLUMNS,
        rows: Vec::with_capacity(providers.len()),
    };
    for p in providers {
        let n = |status: &str| p.status_count(status).to_string();
        let codes: Vec<String> = p
            .top_codes
            .iter()
            .take(TOP_CODES)
            .map(|c| format!("{} ×{}", c.dsn, c.count))
            .collect();
        t.push(
            vec![
                p.name.clone(),
                p.attempts.to_string(),
                n("sent"),
                n("deferred"),
                n("bounced"),
                n("expired"),
                percent(p.deferred_rate),
                percent(p.failed_rate),
                codes.join(", "),
            ],
            false,
        );
    }
    t
}

const TLS_COLUMNS: &[Column] = &[
    text("provider / domain"),
    number("deliveries"),
    number("TLS %"),
    number("verified %"),
    number("clear"),
    number("unknown"),
    text("protocols"),
];

fn tls_row(name: &str, m: &crate::model::tls::Mix) -> Vec<String> {
    let share = |x: Option<f64>| x.map_or_else(|| "-".into(), percent);
    vec![
        name.to_string(),
        m.total.to_string(),
        share(m.tls_share),
        share(m.verified_share),
        m.clear.to_string(),
        m.unknown.to_string(),
        super::tls::protocols(m),
    ]
}

/// Outbound TLS per provider, each followed by its busiest domains.
pub fn tls_outbound(t: &crate::model::tls::Outbound) -> Table {
    let mut table = Table {
        columns: TLS_COLUMNS,
        rows: Vec::new(),
    };
    for p in &t.providers {
        table.push(tls_row(&p.name, &p.mix), false);
        for d in t.domains.iter().filter(|d| d.provider == p.name) {
            table.push(tls_row(&d.name, &d.mix), true);
        }
    }
    table
}

const CLEAR_COLUMNS: &[Column] = &[
    text("domain"),
    text("provider"),
    number("clear"),
    number("TLS"),
    text("clear from"),
    text("to"),
    long_text("MX that took clear text"),
];

/// Domains that took clear text though they had TLS elsewhere in the log.
pub fn tls_clear_domains(t: &crate::model::tls::Outbound) -> Table {
    let mut table = Table {
        columns: CLEAR_COLUMNS,
        rows: Vec::new(),
    };
    for d in &t.clear_where_tls_seen {
        let relays: Vec<String> = d
            .relays
            .iter()
            .map(|r| format!("{} ({})", r.name, r.count))
            .collect();
        table.push(
            vec![
                d.domain.clone(),
                d.provider.clone(),
                d.clear.to_string(),
                d.tls.to_string(),
                d.first_clear.clone(),
                d.last_clear.clone(),
                relays.join(", "),
            ],
            false,
        );
    }
    table
}

const INBOUND_COLUMNS: &[Column] = &[
    text("client"),
    number("messages"),
    number("TLS %"),
    number("verified %"),
    number("clear"),
    number("unknown"),
    text("protocols"),
];

/// Inbound TLS: all clients, then the busiest.
pub fn tls_inbound(t: &crate::model::tls::Inbound) -> Table {
    let mut table = Table {
        columns: INBOUND_COLUMNS,
        rows: Vec::new(),
    };
    table.push(tls_row("all network clients", &t.mix), false);
    for c in &t.clients {
        table.push(tls_row(&c.name, &c.mix), true);
    }
    table
}

const HOST_COLUMNS: &[Column] = &[
    text("host"),
    number("attempts"),
    number("deferred"),
    number("failed"),
    long_text("its own findings"),
];

/// A report of many hosts: each host's numbers and its own findings.
pub fn hosts(report: &Report) -> Table {
    let mut t = Table {
        columns: HOST_COLUMNS,
        rows: Vec::new(),
    };
    for h in &report.hosts {
        let findings: Vec<String> = h
            .findings
            .iter()
            .map(|f| format!("{} at {} ({})", f.rule, f.provider, f.severity.as_str()))
            .collect();
        t.push(
            vec![
                h.host.clone(),
                h.attempts.to_string(),
                h.deferred.to_string(),
                h.failed.to_string(),
                if findings.is_empty() {
                    "none".into()
                } else {
                    findings.join(", ")
                },
            ],
            false,
        );
    }
    t
}

const JOURNEY_COLUMNS: &[Column] = &[
    text("provider / domain"),
    number("recipients"),
    number("delivered"),
    number("bounced"),
    number("expired"),
    number("pending"),
    number("1st attempt %"),
    number("after deferral %"),
    number("p50"),
    number("p90"),
    number("p99"),
    number("max"),
];

/// Recipients' journeys per provider, all recipients, then the busiest
/// domains (indented): dispositions, first-attempt share, delivery times.
pub fn journeys(j: &JourneyReport) -> Table {
    let mut t = Table {
        columns: JOURNEY_COLUMNS,
        rows: Vec::new(),
    };
    let share = |x: Option<f64>| x.map_or_else(|| "-".into(), percent);
    let rows = j
        .providers
        .iter()
        .chain(std::iter::once(&j.total))
        .chain(j.domains.iter());
    for r in rows {
        let name = r.domain.clone().unwrap_or_else(|| r.provider.clone());
        let time = |f| time_cell(&r.time_to_deliver, f);
        t.push(
            vec![
                name,
                r.recipients.to_string(),
                r.delivered.to_string(),
                r.bounced.to_string(),
                r.expired.to_string(),
                r.pending.to_string(),
                share(r.first_attempt_share),
                share(r.after_deferral_share),
                time(|v| v.p50),
                time(|v| v.p90),
                time(|v| v.p99),
                time(|v| v.max),
            ],
            r.domain.is_some(),
        );
    }
    t
}

const REPLY_COLUMNS: &[Column] = &[
    text("provider"),
    text("status"),
    text("code"),
    number("count"),
    long_text("reply (masked)"),
    text("first seen"),
    text("last seen"),
];

/// The `n` most frequent masked replies of failed attempts.
pub fn failure_replies(report: &Report, n: usize) -> Table {
    let mut t = Table {
        columns: REPLY_COLUMNS,
        rows: Vec::new(),
    };
    for r in report.reasons.iter().filter(|r| r.status != "sent").take(n) {
        t.push(
            vec![
                r.provider.clone(),
                r.status.clone(),
                r.dsn.clone(),
                r.count.to_string(),
                r.reason.clone(),
                r.first_seen.clone(),
                r.last_seen.clone(),
            ],
            false,
        );
    }
    t
}

const EVIDENCE_COLUMNS: &[Column] = &[
    number("count"),
    text("code"),
    long_text("reply"),
    text("first seen"),
    text("last seen"),
];

/// A finding's first `n` masked replies, as its evidence.
pub fn evidence(f: &Finding, n: usize) -> Table {
    let mut t = Table {
        columns: EVIDENCE_COLUMNS,
        rows: Vec::new(),
    };
    for e in f.evidence.iter().take(n) {
        t.push(
            vec![
                e.count.to_string(),
                e.dsn.clone(),
                e.reason.clone(),
                e.first_seen.clone(),
                e.last_seen.clone(),
            ],
            false,
        );
        if let Some(row) = t.rows.last_mut() {
            row.lead = e.per_host.then_some("(one MX host)");
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_escape_every_cell_and_keep_the_shape() {
        const COLUMNS: &[Column] = &[text("name"), number("n")];
        let mut t = Table {
            columns: COLUMNS,
            rows: Vec::new(),
        };
        t.push(vec!["a|b<script>".into(), "3".into()], false);
        t.push(vec!["sub".into(), "4".into()], true);
        let mut md = String::new();
        t.markdown(&mut md, super::super::markdown::escape);
        assert_eq!(
            md,
            "| name | n |\n|---|---:|\n| a\\|b&lt;script&gt; | 3 |\n| ↳ sub | 4 |\n"
        );
        let mut html = String::new();
        t.html(&mut html, Some("t"), super::super::html::escape);
        assert!(html.contains("<td>a|b&lt;script&gt;</td><td class=\"n\">3</td>"));
        assert!(html.contains("<td class=\"sub\">sub</td>"));
        assert!(!html.contains("<script>"));
    }

    /// Only long log text may wrap anywhere: a code such as 4.7.28 broke
    /// into `4.7.2` and `8` when every cell could.
    #[test]
    fn only_long_text_columns_wrap_anywhere() {
        const COLUMNS: &[Column] = &[text("code"), long_text("reply")];
        let mut t = Table {
            columns: COLUMNS,
            rows: Vec::new(),
        };
        t.push(vec!["4.7.28".into(), "x".repeat(300)], false);
        let mut html = String::new();
        t.html(&mut html, Some("t"), super::super::html::escape);
        assert!(
            html.contains("<td>4.7.28</td><td class=\"reason\">"),
            "{html}"
        );
        let css = super::super::html::render_css_for_tests();
        assert!(css.contains("td.reason { overflow-wrap: anywhere; }"));
        assert!(!css.contains("td { overflow-wrap"));
    }
}
