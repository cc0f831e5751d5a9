//! The command line, from parsed arguments to output and exit status: the
//! arguments resolved once ([`config::Config`]), the inputs found, the
//! exports checked before anything is read ([`exports`]), the analysis, and
//! one file per command for what it prints ([`report`], [`compare`],
//! [`summary`], [`docs`]).
//!
//! The library's analysis ([`crate::analysis`]) knows nothing of this
//! module: a program that embeds mtastat calls `analyze` and
//! `build_report` itself.

pub mod cli;
mod compare;
pub(crate) mod config;
mod docs;
pub mod exports;
mod fleet;
mod report;
mod summary;
mod trace;
mod watch;

use crate::analysis::analyze;
use crate::app::cli::{Args, Command};
use crate::error::Error;
use crate::input::{self, Source};
use crate::model::FileSummary;
use crate::model::build_report;
use config::Config;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// What a run produced, beyond its output.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Inputs that could not be read, as one-line messages.
    pub input_errors: Vec<String>,
    /// Exports that could not be written, as one-line messages (the report
    /// was still written).
    pub export_errors: Vec<String>,
    /// True when `--fail-on` was given and a finding reached that severity.
    pub findings_failed: bool,
}

/// Runs mtastat with parsed arguments, writing the report to `out`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome, Error> {
    let (files, common) = match &args.command {
        Some(Command::Completions { shell }) => return docs::completions(*shell, out),
        Some(Command::Man) => return docs::man(out),
        Some(Command::Compare(c)) => (&c.files, &c.common),
        Some(Command::Summary(c)) => (&c.files, &c.common),
        Some(Command::Trace(c)) => (&c.files, &c.common),
        Some(Command::Watch(w)) => {
            if w.common.from_events.is_some() || !w.common.host.is_empty() {
                return Err(Error::Usage(
                    "watch follows a live log; --from-events and --host are for the report and compare"
                        .into(),
                ));
            }
            let config = Config::resolve(args, &w.common)?;
            return watch::run(&config, w, out);
        }
        Some(Command::Fleet(f)) => {
            // The report, from the events: `mtastat --from-events DIR`.
            let mut common = f.common.clone();
            common.from_events = Some(f.dir.clone());
            let report = Args {
                files: Vec::new(),
                common,
                exports: f.exports.clone(),
                events: None,
                events_host: None,
                journeys: None,
                command: None,
            };
            return run(&report, out);
        }
        None => (&args.files, &args.common),
    };
    let config = Config::resolve(args, common)?;
    if let Some(dir) = &common.from_events {
        return fleet::run(args, common, &config, dir, files, out);
    }
    if !common.host.is_empty() {
        return Err(Error::Usage(
            "--host chooses hosts of an events dataset: use it with --from-events".into(),
        ));
    }
    let (named, mut journal) = named_inputs(files)?;
    let (sources, missing) =
        input::discover::expand(&named, config.settings, crate::parse::header::line_time);
    if let Some(Command::Trace(t)) = &args.command {
        let outcome = trace::run(&config, t, &sources, missing, out);
        if let Some(mut child) = journal.take() {
            let _ = child.wait();
        }
        return outcome;
    }
    let targets = exports::Targets::check(args, common, &sources)?;
    let mut export_errors = Vec::new();
    if targets.any_file() {
        // SIGINT/SIGTERM/SIGHUP remove this run's temp files before it dies.
        let _ = crate::export::target::cleanup::on_signals();
    }
    start_progress(&sources);
    let sinks = exports::Sinks::start(args, &targets, &config.engine, &mut export_errors);
    let mut analysis = analyze(
        &sources,
        &config.engine,
        &config.filter,
        config.settings,
        sinks.event_writer(),
        sinks.journey_writer(),
    );
    input::progress::finish();
    sinks.commit(args, &analysis.batch, &mut export_errors);
    if let Some(mut child) = journal.take() {
        let _ = child.wait();
        let shown = format!("journal ({})", input::discover::JOURNAL_COMMAND.join(" "));
        for f in &mut analysis.files {
            f.path = shown.clone();
        }
    }
    for e in missing {
        let msg = e.to_string();
        analysis
            .files
            .push(FileSummary::unread(e.input.clone(), msg.clone()));
        analysis.errors.push(msg);
    }
    let (mut report, summary) = build_report(
        &analysis,
        &config.engine.providers,
        &config.thresholds,
        config.shown_in,
    )?;
    if let Some((dir, host)) = &config.state {
        remember(
            &mut report,
            &analysis,
            &config,
            dir,
            host,
            &mut export_errors,
        );
    }
    let findings_failed = config::fails(&report.findings, config.fail_on);
    // Each export on its own: one that fails is reported (exit 2) and the
    // others, and the output, are still written.
    let made = exports::Made {
        report: &report,
        summary: &summary,
        last_line: analysis.batch.span.map(|(_, last)| last),
    };
    targets.write_all(&made, &mut export_errors);
    // An export that went to standard output is the output.
    if !targets.stdout_taken() {
        match &args.command {
            Some(Command::Compare(_)) => compare::print(&config, &report, out)?,
            Some(Command::Summary(c)) => summary::print(&config, &analysis, &report, c, out)?,
            _ => report::print(&config, &report, out)?,
        }
    }
    Ok(Outcome {
        input_errors: analysis.errors,
        export_errors,
        findings_failed,
    })
}

/// `--state DIR`: the report against the stored days before this run's,
/// then this run's days stored (a day run again replaces its file).
fn remember(
    report: &mut crate::model::Report,
    analysis: &crate::analysis::Analysis,
    config: &Config,
    dir: &std::path::Path,
    host: &str,
    errors: &mut Vec<String>,
) {
    use crate::history::History;
    let mut run = History::of_run(&analysis.batch, &config.engine.providers, config.shown_in);
    if let Some(day) = run.main_day() {
        for r in &report.journeys.providers {
            let q = r.time_to_deliver.as_ref();
            let j = crate::history::JourneyDay {
                recipients: r.recipients,
                delivered: r.delivered,
                bounced: r.bounced,
                expired: r.expired,
                first_attempt_share: r.first_attempt_share,
                p50: q.map(|q| q.p50),
                p90: q.map(|q| q.p90),
            };
            run.set_journeys(day, &r.provider, j);
        }
    }
    let Some(&first) = run.days.first() else {
        return;
    };
    let (past, problems) = History::load(dir, host, first);
    errors.extend(problems.into_iter().map(|p| format!("--state: {p}")));
    crate::model::with_history(report, &past, &run);
    errors.extend(crate::export::state::write_days(dir, host, &run));
}

/// The inputs as named, or with no file argument this host's mail log,
/// else the journal's mail facility (a stock Debian 12 logs Postfix only
/// there), read through a pipe from `journalctl`, which is returned too.
fn named_inputs(files: &[PathBuf]) -> Result<(Vec<Source>, Option<std::process::Child>), Error> {
    if !files.is_empty() {
        return Ok((files.iter().map(|p| Source::from_arg(p)).collect(), None));
    }
    if let Some(path) = input::discover::default_log() {
        return Ok((vec![Source::Path(path)], None));
    }
    let (child, path) = spawn_journal().map_err(|e| {
        Error::Usage(format!(
            "no mail log found (looked for {}) and the journal could not be read: {e}",
            input::discover::DEFAULT_LOGS.join(", ")
        ))
    })?;
    Ok((vec![Source::Path(path)], Some(child)))
}

/// Starts `journalctl` on the mail facility; returns it and a path that
/// reads its output (the pipe, through `/proc/self/fd`).
fn spawn_journal() -> std::io::Result<(std::process::Child, PathBuf)> {
    use std::os::fd::AsRawFd;
    let [program, args @ ..] = input::discover::JOURNAL_COMMAND;
    let child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let fd = child
        .stdout
        .as_ref()
        .map(|s| s.as_raw_fd())
        .ok_or_else(|| std::io::Error::other("no pipe from journalctl"))?;
    Ok((child, PathBuf::from(format!("/proc/self/fd/{fd}"))))
}

/// A progress bar on stderr when the files are large and stderr is a
/// terminal (never for cron or pipes).
pub(super) fn start_progress(sources: &[Source]) {
    let total: u64 = sources
        .iter()
        .filter_map(|s| match s {
            Source::Path(p) => std::fs::metadata(p).ok().filter(|m| m.is_file()),
            Source::Stdin => None,
        })
        .map(|m| m.len())
        .sum();
    if total >= input::progress::MIN_BYTES && std::io::stderr().is_terminal() {
        input::progress::start(total);
    }
}
