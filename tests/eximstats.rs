//! Issue 15 item 5: eximstats' reject count and mtastat's agree on Exim
//! logs, apart from one documented difference. eximstats counts as a
//! "reject" every line without a delivery flag that contains `rejected`,
//! `refused` or `dropped` — which takes in our own outbound per-host errors
//! (`<id> H=mx [ip]: SMTP error … 451 4.3.0 Mail server temporarily
//! rejected message`, `<id> H=mx [ip] Connection refused`) — and `=>`
//! deliveries without a transport (blackholes). mtastat counts what this
//! server refused. So: mtastat's inbound rejects = eximstats' Rejects +
//! Temp Rejects − those lines, counted here by their shape.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// eximstats: `MTASTAT_EXIMSTATS`, else on the PATH (.ci/run extracts it
/// from Debian's exim4-base without installing the daemon).
fn eximstats() -> Option<PathBuf> {
    let path = std::env::var_os("MTASTAT_EXIMSTATS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("eximstats"));
    let ok = Command::new(&path)
        .arg("-h")
        .output()
        .is_ok_and(|o| !o.stdout.is_empty() || !o.stderr.is_empty());
    if ok {
        return Some(path);
    }
    require_tool(
        "eximstats",
        ".ci/run extracts it from Debian's exim4-base and sets MTASTAT_EXIMSTATS",
    );
    None
}

/// eximstats' Grand total Rejects + Temp Rejects.
fn eximstats_rejects(tool: &Path, log: &Path) -> u64 {
    let out = Command::new(tool)
        .args(["-nr", "-nt"])
        .arg(log)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter(|l| {
            let t = l.trim_start();
            t.starts_with("Rejects ") || t.starts_with("Temp Rejects ")
        })
        .map(|l| {
            l.split_whitespace()
                .find_map(|w| w.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum()
}

/// Lines eximstats counts as rejects that are not refusals by this server:
/// Exim per-host errors (`<id> H=host [ip]` then `:` or an error word)
/// naming rejected/refused/dropped, and `=>` without `T=`.
fn not_refusals_by_us(log: &Path) -> u64 {
    let text = std::fs::read(log).unwrap();
    let text = String::from_utf8_lossy(&text);
    let mut n = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.splitn(5, ' ').collect();
        if f.len() < 5 {
            continue;
        }
        let (id, rest) = (f[2], format!("{} {}", f[3], f[4]));
        let msg_id = id.len() >= 16 && id.matches('-').count() == 2;
        if msg_id && f[3] == "=>" && !rest.contains(" T=") {
            n += 1;
            continue;
        }
        if !msg_id || !f[3].starts_with("H=") {
            continue;
        }
        // After the host's `[ip]` (and `:port`): a per-host error goes on
        // with `: ` or an error text, a session refusal with its fields.
        let Some(close) = rest.find(']') else {
            continue;
        };
        let after = rest[close + 1..].trim_start_matches(|c: char| c == ':' || c.is_ascii_digit());
        let after = after.trim_start();
        let session_field = [
            "X=",
            "P=",
            "F=<",
            "CV=",
            "A=",
            "U=",
            "S=",
            "I=",
            "rejected",
            "temporarily rejected",
        ]
        .iter()
        .any(|p| after.starts_with(p));
        let words = ["rejected", "refused", "dropped"]
            .iter()
            .any(|w| line.contains(w));
        if !session_field && words {
            n += 1;
        }
    }
    n
}

#[test]
fn inbound_rejects_agree_with_eximstats() {
    let Some(shared) = shared() else { return };
    let Some(tool) = eximstats() else { return };
    for rel in [
        "lab/exim/run1/mainlog",
        "lab/exim/run3/mainlog",
        "corpora/perericr-ddgrey/mainlog",
    ] {
        let log = shared.join(rel);
        let theirs = eximstats_rejects(&tool, &log);
        let outbound = not_refusals_by_us(&log);
        let r = json_report(&[&log]);
        assert_eq!(
            r["inbound_rejects"].as_u64().unwrap(),
            theirs - outbound,
            "{rel}: eximstats {theirs}, of which {outbound} are not refusals by this server"
        );
    }
}
