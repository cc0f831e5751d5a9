//! `--findings-jsonl`: the findings as JSON Lines — one object per finding,
//! one line each — for a SIEM or a log shipper (Filebeat, Vector, Fluent
//! Bit read such a file as it is). Each line carries the finding's own
//! fields, as in `--json`, and the run it came from: when it was made, the
//! period the logs cover and their zone.
//!
//! Findings quote reply texts, which anyone who sends mail chooses: every
//! string is escaped as on a terminal (control, bidi and invisible
//! characters as `\x1b`, `\u{202e}`), so a SIEM's viewer shows them as
//! text; JSON's own escaping keeps each finding on its line. A run without
//! findings writes an empty file, which says "nothing found" as plainly.

use super::target::{Target, write_to};
use crate::escape;
use crate::model::Finding;
use crate::model::Report;
use crate::time::zone::Zone;
use serde::Serialize;
use serde_json::Value;
use std::io::{self, Write};

/// One line.
#[derive(Serialize)]
struct Line<'a> {
    /// When the report was made, RFC 3339 UTC (the event time of a
    /// statement about the logs).
    generated_at: String,
    tool: &'static str,
    version: &'static str,
    /// The zone of `period_*`, `since`, `until` and the episodes' times.
    time_zone: &'a str,
    /// First and last log line read.
    period_first: Option<&'a str>,
    period_last: Option<&'a str>,
    #[serde(flatten)]
    finding: &'a Finding,
}

/// Writes the report's findings to `target`, `now` being the run's time.
pub fn write(report: &Report, now: i64, target: &Target) -> io::Result<()> {
    let generated_at = rfc3339_utc(now);
    write_to(target, |w| {
        for finding in &report.findings {
            let line = Line {
                generated_at: generated_at.clone(),
                tool: report.tool,
                version: report.version,
                time_zone: &report.time_zone,
                period_first: report.period.as_ref().map(|p| p.first.as_str()),
                period_last: report.period.as_ref().map(|p| p.last.as_str()),
                finding,
            };
            let mut value = serde_json::to_value(&line).map_err(io::Error::other)?;
            escape_strings(&mut value);
            serde_json::to_writer(&mut *w, &value).map_err(io::Error::other)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// `2026-12-03T19:55:13Z`.
fn rfc3339_utc(t: i64) -> String {
    format!("{}Z", Zone::UTC.format(t).replacen(' ', "T", 1))
}

/// Escapes every string in `v` (keys included) as for a terminal.
fn escape_strings(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(e) = escape::terminal(s) {
                *s = e;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(escape_strings),
        Value::Object(o) => {
            let entries = std::mem::take(o);
            for (k, mut x) in entries {
                escape_strings(&mut x);
                o.insert(escape::terminal(&k).into_owned(), x);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_keys_are_escaped_and_numbers_kept() {
        let mut v = serde_json::json!({
            "reason": "evil \u{1b}[2J \u{202e}txt.exe",
            "n": 3,
            "list": ["ok", "\u{2028}"],
            "k\u{7}": true,
        });
        escape_strings(&mut v);
        assert_eq!(v["reason"], "evil \\x1b[2J \\u{202e}txt.exe");
        assert_eq!(v["n"], 3);
        assert_eq!(v["list"][1], "\\u{2028}");
        assert_eq!(v["k\\x07"], true);
    }

    #[test]
    fn generated_at_is_rfc3339_utc() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_796_326_057), "2026-12-03T19:27:37Z");
    }
}
