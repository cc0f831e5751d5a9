//! The TLS section of the terminal report.

use super::style::{Style, WIDTH, thousands};
use crate::escape::{ellipsize, terminal};
use crate::model::tls::{Mix, TlsPosture};
use std::fmt::Write as _;

/// Providers and clients listed.
const ROWS: usize = 8;

/// `97%`, `-` when not known.
pub fn pct(x: Option<f64>) -> String {
    x.map_or_else(
        || "-".into(),
        |v| {
            if v > 0.0 && v < 0.01 {
                "<1%".into()
            } else if v < 1.0 && v > 0.99 {
                ">99%".into()
            } else {
                format!("{:.0}%", v * 100.0)
            }
        },
    )
}

/// `TLSv1.3 96%, TLSv1.2 4%`: the protocols' shares of the TLS ones.
pub fn protocols(m: &Mix) -> String {
    let total: u64 = m.protocols.iter().map(|c| c.count).sum();
    m.protocols
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c.name,
                pct(Some(c.count as f64 / total.max(1) as f64))
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn row(o: &mut String, name: &str, m: &Mix) {
    let _ = writeln!(
        o,
        "  {:<22}{:>11}{:>6}{:>10}{:>8}{:>9}  {}",
        ellipsize(&terminal(name), 21),
        thousands(m.total),
        pct(m.tls_share),
        pct(m.verified_share),
        thousands(m.clear),
        thousands(m.unknown),
        ellipsize(&protocols(m), 24)
    );
}

/// The outbound sentence of the HTML and Markdown reports (no final stop).
pub fn outbound_sentence(m: &Mix) -> String {
    format!(
        "{} deliveries to hosts over the network: {} over TLS, {} of those with a verified certificate",
        m.total,
        pct(m.tls_share),
        pct(m.verified_share)
    )
}

/// The inbound sentence of the HTML and Markdown reports (no final stop).
pub fn inbound_sentence(i: &crate::model::tls::Inbound) -> String {
    format!(
        "{} messages from network clients: {} over TLS; {} after SASL login, {} of those in clear text",
        i.mix.total,
        pct(i.mix.tls_share),
        i.authenticated,
        i.authenticated_clear
    )
}

/// Hosts named in a line (`mx1, mx2`).
fn hosts(h: &[String]) -> String {
    h.iter()
        .map(|x| terminal(x).into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The TLS section: outbound per provider, clear text where TLS was seen,
/// inbound; one line when the log says nothing of TLS.
pub fn render(o: &mut String, t: &TlsPosture, s: Style) {
    let out = &t.outbound;
    let inb = &t.inbound;
    if out.mix.total == 0 && inb.mix.total == 0 {
        return;
    }
    let logged = out.mix.total > out.mix.unknown || inb.mix.total > inb.mix.unknown;
    if !logged {
        let named: Vec<String> = t.silent_hosts().into_iter().map(String::from).collect();
        let _ = writeln!(
            o,
            "\n{}  {}",
            s.bold("TLS"),
            s.dim(&ellipsize(
                &format!(
                    "not logged by {}: Postfix logs handshakes with smtp_tls_loglevel = 1 \
                     (smtpd_tls_loglevel for inbound), Exim X= with its tls_cipher selector",
                    hosts(&named)
                ),
                WIDTH - 5
            ))
        );
        return;
    }
    if out.mix.total > 0 {
        let _ = writeln!(
            o,
            "\n{}  {}",
            s.bold("TLS outbound"),
            s.dim(&format!(
                "{} deliveries to hosts over the network: {} over TLS, {} of those verified",
                thousands(out.mix.total),
                pct(out.mix.tls_share),
                pct(out.mix.verified_share)
            ))
        );
        let _ = writeln!(
            o,
            "{}",
            s.dim(&format!(
                "  {:<22}{:>11}{:>6}{:>10}{:>8}{:>9}  {}",
                "provider", "deliveries", "TLS", "verified", "clear", "unknown", "protocols"
            ))
        );
        for p in out.providers.iter().take(ROWS) {
            row(o, &p.name, &p.mix);
        }
        if out.providers.len() > ROWS {
            let _ = writeln!(
                o,
                "{}",
                s.dim(&format!(
                    "  … {} more providers (--json, --html)",
                    out.providers.len() - ROWS
                ))
            );
        }
        if !out.clear_where_tls_seen.is_empty() {
            let _ = writeln!(
                o,
                "  {}",
                s.bold("clear text to domains that had TLS elsewhere in the log:")
            );
            for d in out.clear_where_tls_seen.iter().take(ROWS) {
                let relays = d
                    .relays
                    .iter()
                    .map(|r| format!("{} ({})", terminal(&r.name), thousands(r.count)))
                    .collect::<Vec<_>>()
                    .join(", ");
                let line = format!(
                    "    {} ({}): {} clear, {} over TLS; clear {} to {}; MX {}",
                    terminal(&d.domain),
                    d.provider,
                    thousands(d.clear),
                    thousands(d.tls),
                    d.first_clear,
                    crate::time::zone::range_end(&d.first_clear, &d.last_clear),
                    relays
                );
                let _ = writeln!(o, "{}", ellipsize(&line, WIDTH));
            }
        }
        if !out.hosts_without_tls_logging.is_empty() {
            let _ = writeln!(
                o,
                "{}",
                s.dim(&ellipsize(
                    &format!(
                        "  no TLS logged by {}: their deliveries are unknown (Postfix \
                         smtp_tls_loglevel = 1, Exim's tls_cipher selector log it)",
                        hosts(&out.hosts_without_tls_logging)
                    ),
                    WIDTH
                ))
            );
        }
    }
    if inb.mix.total > 0 {
        let _ = writeln!(
            o,
            "\n{}  {}",
            s.bold("TLS inbound"),
            s.dim(&format!(
                "{} messages from network clients: {} over TLS{}",
                thousands(inb.mix.total),
                pct(inb.mix.tls_share),
                if inb.mix.protocols.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", protocols(&inb.mix))
                }
            ))
        );
        if inb.authenticated > 0 {
            let _ = writeln!(
                o,
                "  after SASL login: {}, {} of them in clear text",
                thousands(inb.authenticated),
                thousands(inb.authenticated_clear)
            );
        }
        if !inb.clear_where_tls_seen.is_empty() {
            let _ = writeln!(
                o,
                "  {}",
                s.bold("clients that sent in clear text and over TLS:")
            );
            for c in inb.clear_where_tls_seen.iter().take(ROWS) {
                let auth = if c.authenticated_clear > 0 {
                    format!(
                        ", {} of them after SASL login",
                        thousands(c.authenticated_clear)
                    )
                } else {
                    String::new()
                };
                let line = format!(
                    "    {}: {} clear{auth}, {} over TLS",
                    terminal(&c.client),
                    thousands(c.clear),
                    thousands(c.tls)
                );
                let _ = writeln!(o, "{}", ellipsize(&line, WIDTH));
            }
        }
        if !inb.hosts_without_tls_logging.is_empty() {
            let _ = writeln!(
                o,
                "{}",
                s.dim(&ellipsize(
                    &format!(
                        "  no inbound TLS logged by {} (Postfix smtpd_tls_loglevel = 1)",
                        hosts(&inb.hosts_without_tls_logging)
                    ),
                    WIDTH
                ))
            );
        }
    }
}
