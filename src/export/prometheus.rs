//! `--prometheus FILE`: node_exporter's textfile-collector format (the
//! Prometheus text exposition format 0.0.4), written atomically so the
//! collector never reads half a file (it only reads `*.prom`; the temp file
//! is not one).
//!
//! Label values are providers, statuses, code classes and families, rules and
//! severities — bounded sets that mtastat names itself — never addresses,
//! domains or reply texts, so the series count cannot grow with the log.

use super::{Target, write_to};
use crate::model::Report;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write as _};

/// A label value with `\`, `"` and newlines escaped as the format requires.
fn label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

fn family(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

/// The metrics for a report; `now` is the run's time (Unix seconds).
pub fn render(report: &Report, now: i64, last_log_time: Option<i64>) -> String {
    let mut o = String::new();

    let mut by_class: BTreeMap<(&str, &str, u8), u64> = BTreeMap::new();
    let mut by_family: BTreeMap<(&str, &str, String), u64> = BTreeMap::new();
    for r in &report.deliveries {
        *by_class
            .entry((&r.provider, &r.status, r.class))
            .or_default() += r.count;
        if r.class == 4 || r.class == 5 {
            let fam = match r.subject {
                None => format!("{}.x", r.class),
                Some(s) => format!("{}.{s}", r.class),
            };
            *by_family.entry((&r.provider, &r.status, fam)).or_default() += r.count;
        }
    }
    family(
        &mut o,
        "mtastat_delivery_attempts_total",
        "counter",
        "Delivery attempts in the analysed logs by recipient provider, status and reply class (2, 4, 5).",
    );
    for ((p, s, c), n) in &by_class {
        let _ = writeln!(
            o,
            "mtastat_delivery_attempts_total{{provider=\"{}\",status=\"{}\",class=\"{c}\"}} {n}",
            label(p),
            label(s)
        );
    }
    family(
        &mut o,
        "mtastat_delivery_failures_total",
        "counter",
        "Failed attempts (class 4 and 5) by provider, status and enhanced code family (class.subject, RFC 3463; x when the reply had no enhanced code).",
    );
    for ((p, s, f), n) in &by_family {
        let _ = writeln!(
            o,
            "mtastat_delivery_failures_total{{provider=\"{}\",status=\"{}\",family=\"{}\"}} {n}",
            label(p),
            label(s),
            label(f)
        );
    }
    family(
        &mut o,
        "mtastat_finding",
        "gauge",
        "A finding of the last run (1 while it holds); its failures are in mtastat_finding_failures.",
    );
    for f in &report.findings {
        let _ = writeln!(
            o,
            "mtastat_finding{{rule=\"{}\",provider=\"{}\",severity=\"{}\"}} 1",
            label(f.rule),
            label(&f.provider),
            f.severity.as_str()
        );
    }
    family(
        &mut o,
        "mtastat_finding_failures",
        "gauge",
        "Failures behind each finding of the last run.",
    );
    for f in &report.findings {
        let _ = writeln!(
            o,
            "mtastat_finding_failures{{rule=\"{}\",provider=\"{}\",severity=\"{}\"}} {}",
            label(f.rule),
            label(&f.provider),
            f.severity.as_str(),
            f.count
        );
    }
    family(&mut o, "mtastat_lines_total", "counter", "Log lines read.");
    let _ = writeln!(o, "mtastat_lines_total {}", report.lines);
    family(
        &mut o,
        "mtastat_unparsed_lines_total",
        "counter",
        "Log lines not understood, by reason.",
    );
    for u in &report.unparsed {
        let _ = writeln!(
            o,
            "mtastat_unparsed_lines_total{{reason=\"{}\"}} {}",
            label(u.reason),
            u.count
        );
    }
    family(
        &mut o,
        "mtastat_input_errors",
        "gauge",
        "Inputs of the last run that could not be read, or only in part.",
    );
    let errors = report.files.iter().filter(|f| f.error.is_some()).count();
    let _ = writeln!(o, "mtastat_input_errors {errors}");
    if let Some(t) = last_log_time {
        family(
            &mut o,
            "mtastat_last_log_timestamp_seconds",
            "gauge",
            "Time of the newest log line read (alert when the log stops moving).",
        );
        let _ = writeln!(o, "mtastat_last_log_timestamp_seconds {t}");
    }
    family(
        &mut o,
        "mtastat_last_run_timestamp_seconds",
        "gauge",
        "When mtastat wrote this file.",
    );
    let _ = writeln!(o, "mtastat_last_run_timestamp_seconds {now}");
    o
}

/// Writes the metrics to `path`, atomically.
pub fn write(
    report: &Report,
    now: i64,
    last_log_time: Option<i64>,
    target: &Target,
) -> io::Result<()> {
    let text = render(report, now, last_log_time);
    write_to(target, |w| w.write_all(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(label("x\ny"), "x\\ny");
    }
}
