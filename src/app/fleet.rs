//! `--from-events DIR` and `mtastat fleet DIR`: the report of many hosts
//! from their events ([`crate::fleet`]), each finding with the hosts it
//! fires on by themselves (*throttling at google on mx3, mx7 only*), and
//! each host's own findings.

use super::cli::{Args, Command, Common};
use super::config::Config;
use super::{Outcome, compare, exports, report};
use crate::error::Error;
use crate::model::{HostFinding, HostReport, Report, build_report};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The report (or `compare`) of the events under `dir`.
pub(super) fn run(
    args: &Args,
    common: &Common,
    config: &Config,
    dir: &Path,
    files: &[PathBuf],
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    if !files.is_empty() {
        return Err(Error::Usage(
            "--from-events reads an events dataset, not log files: give one or the other".into(),
        ));
    }
    match &args.command {
        Some(Command::Summary(_)) | Some(Command::Trace(_)) => {
            return Err(Error::Usage(
                "summary and trace read logs (journeys, inbound, message lines): the events \
                 dataset holds delivery attempts only; use the report or compare"
                    .into(),
            ));
        }
        _ => {}
    }
    if args.events.is_some() || args.journeys.is_some() {
        return Err(Error::Usage(
            "--events and --journeys are written from logs, not from an events dataset".into(),
        ));
    }
    let targets = exports::Targets::check(args, common, &[])?;
    let mut export_errors = Vec::new();
    if targets.any_file() {
        let _ = crate::export::target::cleanup::on_signals();
    }
    let fleet = crate::fleet::read(dir, &common.host, &config.engine, &config.filter)
        .map_err(Error::Usage)?;
    let (mut report, summary) = build_report(
        &fleet.all,
        &config.engine.providers,
        &config.thresholds,
        config.shown_in,
    )?;
    // Each host on its own: its partitions read again, one host at a time.
    let mut hosts = Vec::new();
    if fleet.hosts.len() > 1 {
        for host in &fleet.hosts {
            let one = crate::fleet::read(
                dir,
                std::slice::from_ref(host),
                &config.engine,
                &config.filter,
            )
            .map_err(Error::Usage)?;
            let (r, _) = build_report(
                &one.all,
                &config.engine.providers,
                &config.thresholds,
                config.shown_in,
            )?;
            hosts.push(host_report(host, &r));
        }
    }
    name_hosts(&mut report, hosts);
    let findings_failed = super::config::fails(&report.findings, config.fail_on);
    let made = exports::Made {
        report: &report,
        summary: &summary,
        last_line: fleet.all.batch.span.map(|(_, last)| last),
    };
    targets.write_all(&made, &mut export_errors);
    if !targets.stdout_taken() {
        match &args.command {
            Some(Command::Compare(_)) => compare::print(config, &report, out)?,
            _ => report::print(config, &report, out)?,
        }
    }
    Ok(Outcome {
        input_errors: fleet.all.errors,
        export_errors,
        findings_failed,
    })
}

/// One host's numbers and findings from its own report.
fn host_report(host: &str, r: &Report) -> HostReport {
    let count = |status: &str| -> u64 { r.providers.iter().map(|p| p.status_count(status)).sum() };
    HostReport {
        host: if host.is_empty() {
            "(no host)".into()
        } else {
            host.to_string()
        },
        attempts: r.delivery_attempts,
        failed: count("bounced") + count("expired"),
        deferred: count("deferred"),
        findings: r
            .findings
            .iter()
            .map(|f| HostFinding {
                rule: f.rule,
                provider: f.provider.clone(),
                severity: f.severity,
                since: f.since.clone(),
                summary: f.summary.clone(),
            })
            .collect(),
    }
}

/// Each fleet finding gets the hosts whose own report has it (same rule,
/// same provider); its sentence says where when that is not every host
/// with traffic there, or when no host alone has it.
fn name_hosts(report: &mut Report, hosts: Vec<HostReport>) {
    if hosts.len() > 1 {
        for f in &mut report.findings {
            f.hosts = hosts
                .iter()
                .filter(|h| {
                    h.findings
                        .iter()
                        .any(|x| x.rule == f.rule && x.provider == f.provider)
                })
                .map(|h| h.host.clone())
                .collect();
            // (The host names are the hosts' reports', `(no host)` included.)
            let with_traffic = hosts.iter().filter(|h| h.attempts > 0).count();
            let clause = if f.hosts.is_empty() {
                "across the fleet only: no host has it on its own (each host's share stays \
                 under the thresholds)"
                    .to_string()
            } else if f.hosts.len() < with_traffic {
                let names: Vec<String> = f.hosts.iter().map(|h| shown(h)).collect();
                format!("on {} only", and_list(&names))
            } else {
                "on every host".to_string()
            };
            let summary = f.summary.trim_end().trim_end_matches('.');
            f.summary = format!("{summary}; {clause}.");
        }
    }
    report.hosts = hosts;
}

/// A host as the report names it: an empty one (a dataset written before
/// `--events-host`, from an Exim mainlog) as `(no host)`.
fn shown(host: &str) -> String {
    if host.is_empty() {
        "(no host)".into()
    } else {
        crate::escape::terminal(host).into_owned()
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::and_list;

    #[test]
    fn lists_read_as_sentences() {
        let s = |v: &[&str]| and_list(&v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&["mx3"]), "mx3");
        assert_eq!(s(&["mx3", "mx7"]), "mx3 and mx7");
        assert_eq!(s(&["a", "b", "c"]), "a, b and c");
    }
}
