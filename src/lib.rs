//! mtastat: mail-server log analytics.
//!
//! Data flows one way:
//!
//! ```text
//! input ─► scan ─► parse ─► classify ─► aggregate ─► detect ─► report / export
//! mmap,    lines   header,  provider,   per-worker    findings  terminal, JSON,
//! stream           Postfix, category,   batches ─►    episodes  CSV, Parquet,
//!                  Exim     masked      polars frames           compare
//!                           reason
//! ```
//!
//! * [`input`] memory-maps each file (or reads a stream in bounded blocks) and
//!   splits it into line-aligned chunks scanned in parallel with rayon.
//! * [`scan`] walks a chunk's lines; [`parse`] turns a line into a
//!   [`event::Delivery`] without allocating; [`classify`] names the provider
//!   and masks the reply text into a reason.
//! * [`aggregate`] folds deliveries into per-worker batches, joins each to its
//!   sender and expiries to their deferrals, merges in input order and builds
//!   the polars frames ([`filter`] decides what counts).
//! * [`detect`] reads the frames and says what is wrong, where and since when.
//! * [`report`] and [`export`] present it; [`compare`] puts two providers side by side.

#![deny(missing_docs)]

pub mod aggregate;
pub mod classify;
pub mod cli;
pub mod compare;
pub mod detect;
pub mod dsn;
pub mod error;
pub mod event;
pub mod export;
pub mod filter;
#[doc(hidden)]
pub mod fuzz;
pub mod hashing;
pub mod input;
pub mod journey;
pub mod parse;
pub mod report;
pub mod scan;
pub mod zone;

use aggregate::batch::{Batch, Counters};
use aggregate::frame::{outcomes_frame, reasons_frame, summary_frame, timeline_frame};
use classify::provider::ProviderMap;
use cli::{Args, ColorChoice, Command, Common, FailOn, OutputFormat};
use detect::{Finding, Frames, Samples, Severity, Thresholds};
use error::Error;
use export::events::EventSink;
use export::journeys::JourneySink;
use filter::Filter;
use input::{InputSettings, ReadMode, Source};
use parse::header::Format;
use parse::timestamp::UnixSeconds;
use report::{FileSummary, Period, Report};
use scan::{Engine, ScanContext};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use zone::Zone;

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

/// The analysis of a set of inputs: the merged batch and per-file summaries.
#[derive(Debug)]
pub struct Analysis {
    /// Everything counted, all inputs merged in order.
    pub batch: Batch,
    /// One entry per input.
    pub files: Vec<FileSummary>,
    /// Inputs that could not be read.
    pub errors: Vec<String>,
}

/// Scans `sources` in order and merges what they hold.
pub fn analyze(
    sources: &[Source],
    engine: &Engine,
    filter: &Filter,
    settings: InputSettings,
    events: Option<&Arc<EventSink>>,
    journeys: Option<&Arc<JourneySink>>,
) -> Analysis {
    // The engine sees the exports through its own traits.
    let events: Option<Arc<dyn aggregate::sinks::EventWriter>> = events.cloned().map(|e| e as _);
    // input::scan sets the clock per file (from --year or the file's mtime).
    let ctx = ScanContext {
        engine,
        filter,
        clock: settings.clock(0),
        events: events.as_ref(),
        journeys: settings.journeys,
        journey_text: journeys.is_some(),
        per_address: settings.summary || journeys.is_some(),
        summary_tables: settings.summary,
    };
    let mut total = Batch::default();
    total.journeys.sink = journeys
        .cloned()
        .map(|j| j as Arc<dyn journey::JourneyWriter>);
    let mut files = Vec::with_capacity(sources.len());
    let mut errors = Vec::new();
    for source in sources {
        match input::scan(source, settings, &ctx, &mut total) {
            Ok(scanned) => {
                let mut summary = file_summary(source, &scanned.counters, scanned.mode);
                let problem = scanned
                    .problem
                    .map(|p| p.to_string())
                    .or_else(|| not_a_mail_log(&scanned.counters));
                if let Some(problem) = problem {
                    let msg = format!("{}: {problem}", source.label());
                    summary.error = Some(msg.clone());
                    errors.push(msg);
                }
                files.push(summary);
            }
            Err(e) => {
                let msg = e.to_string();
                files.push(FileSummary::unread(source.label(), msg.clone()));
                errors.push(msg);
            }
        }
    }
    total.finish(engine.providers.other(), filter);
    Analysis {
        batch: total,
        files,
        errors,
    }
}

/// Why a file that was read whole holds nothing mtastat reads, if so: a
/// cron job must not take a log of another MTA, another program or another
/// format for a quiet day. An empty file (or blank lines) is a quiet day.
fn not_a_mail_log(c: &Counters) -> Option<String> {
    let content = c.lines.saturating_sub(c.blank);
    let mail = content.saturating_sub(c.other_program + c.unparsed_total());
    if content == 0 || mail > 0 {
        return None;
    }
    let mut parts = Vec::new();
    for m in parse::header::OtherMta::ALL {
        let n = c.other_mta[m as usize];
        if n > 0 {
            parts.push(format!("{n} {} lines, not read", m.as_str()));
        }
    }
    let mta: u64 = c.other_mta.iter().sum();
    if c.other_program > mta {
        parts.push(format!("{} of other programs", c.other_program - mta));
    }
    if c.unparsed_total() > 0 {
        parts.push(format!("{} not understood", c.unparsed_total()));
    }
    Some(format!(
        "no Postfix or Exim lines in its {content} lines ({}); nothing reported from it",
        parts.join(", ")
    ))
}

fn file_summary(source: &Source, c: &Counters, mode: ReadMode) -> FileSummary {
    let (best, n) = Format::ALL
        .iter()
        .map(|f| (*f, c.by_format[*f as usize]))
        .max_by_key(|(_, n)| *n)
        .unwrap_or((Format::Syslog, 0));
    FileSummary {
        path: source.label(),
        format: if n == 0 {
            "unknown".into()
        } else {
            best.as_str().into()
        },
        read: mode.as_str(),
        bytes: c.bytes,
        lines: c.lines,
        delivery_attempts: c.deliveries,
        unparsed_lines: c.unparsed_total(),
        error: None,
    }
}

/// The small per-key evidence the findings quote (queue ids, recipients).
fn samples(b: &Batch, providers: &ProviderMap) -> Samples {
    let mut s = Samples::default();
    for ((p, c), ids) in &b.deliveries.queue_samples {
        s.queue_ids.insert(
            (providers.info(*p).id.clone(), *c),
            ids.iter()
                .map(|(_, q)| String::from_utf8_lossy(q.as_bytes()).into_owned())
                .collect(),
        );
    }
    for ((p, c, r), n) in &b.deliveries.recipient_counts {
        s.recipients
            .entry((providers.info(*p).id.clone(), *c))
            .or_default()
            .push((
                String::from_utf8_lossy(b.recipients.get(*r)).into_owned(),
                *n,
            ));
    }
    for v in s.recipients.values_mut() {
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
    s.handoff_hops = b
        .deliveries
        .handoff_hops
        .iter()
        .map(|(hop, [n, f])| (String::from_utf8_lossy(hop).into_owned(), *n, *f))
        .collect();
    s.handoff_hops
        .sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
    for ((p, of), r) in &b.deliveries.reach {
        s.reach
            .entry((providers.info(*p).id.clone(), *of))
            .or_default()
            .merge(r);
    }
    s
}

/// Builds the report (and the summary frame behind it) from an analysis.
pub fn build_report(
    analysis: &Analysis,
    providers: &ProviderMap,
    thresholds: &Thresholds,
    zone: Zone,
) -> Result<(Report, polars::prelude::DataFrame), Error> {
    let b = &analysis.batch;
    let summary = summary_frame(b, providers)?;
    let reasons = reasons_frame(b, providers)?;
    let outcomes = outcomes_frame(b, providers)?;
    let timeline = timeline_frame(b, providers)?;
    let findings = detect::detect(
        &Frames {
            outcomes: &outcomes,
            timeline: &timeline,
            reasons: &reasons,
        },
        &samples(b, providers),
        thresholds,
        zone,
    )?;
    let c = &b.counters;
    let (rejects, rejected_clients) = report::reject_rows(b);
    let report = Report {
        tool: "mtastat",
        version: env!("CARGO_PKG_VERSION"),
        files: analysis.files.clone(),
        lines: c.lines,
        bytes: c.bytes,
        unparsed_lines: c.unparsed_total(),
        unparsed: report::unparsed_reasons(b),
        blank_lines: c.blank,
        other_program_lines: c.other_program,
        other_mta_lines: parse::header::OtherMta::ALL
            .iter()
            .map(|m| (m.as_str(), c.other_mta[*m as usize]))
            .filter(|(_, n)| *n > 0)
            .collect(),
        mail_lines_not_deliveries: c.mail_other
            + c.senders
            + c.host_errors
            + c.notices
            + c.connections
            + c.postscreen,
        delivery_attempts: c.deliveries,
        verification_probes: c.by_status[event::Status::Deliverable.index()]
            + c.by_status[event::Status::Undeliverable.index()]
            + c.callouts,
        deferrals_not_attempted: c.not_attempted,
        attempts_filtered_out: c.filtered_out,
        attempts_sender_unknown: c.sender_unknown,
        fake_deliveries: c.fake_deliveries,
        host_errors: c.host_errors,
        inbound_rejects: c.rejects,
        rejects,
        rejected_clients,
        invalid_utf8_delivery_lines: c.invalid_utf8,
        time_zone: zone.name(),
        period: b.span.map(|(a, z)| Period {
            first: zone.format(a),
            last: zone.format(z),
        }),
        thresholds: thresholds.clone(),
        findings,
        timeline: report::timeline(&timeline, zone)?,
        providers: report::provider_summaries(&summary, providers)?,
        deliveries: report::summary_rows(&summary)?,
        reasons: report::reason_rows(&reasons, zone, false)?,
        mx_replies: report::reason_rows(&reasons, zone, true)?,
        journeys: report::journeys::journey_report(b, providers),
    };
    Ok((report, summary))
}

/// The journeys export's format, by the file's extension (CSV for `.csv`).
fn export_format(path: &std::path::Path) -> export::Format {
    match path.extension() {
        Some(e) if e.eq_ignore_ascii_case("csv") => export::Format::Csv,
        _ => export::Format::Parquet,
    }
}

fn now() -> UnixSeconds {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as UnixSeconds)
}

/// Builds the filter from the shared options.
/// `zone` reads times given without one.
pub fn filter_from(common: &Common, providers: &ProviderMap, zone: Zone) -> Result<Filter, Error> {
    let now = now();
    let time = |spec: &Option<String>, flag: &str| -> Result<Option<UnixSeconds>, Error> {
        spec.as_deref()
            .map(|s| {
                filter::parse_time_spec(s, now, zone)
                    .map_err(|e| Error::Usage(format!("{flag}: {e}")))
            })
            .transpose()
    };
    let since = time(&common.since, "--since")?;
    let until = time(&common.until, "--until")?;
    if let (Some(s), Some(u)) = (since, until)
        && u <= s
    {
        return Err(Error::Usage(format!(
            "--until ({}) is not after --since ({})",
            zone.format(u),
            zone.format(s)
        )));
    }
    let ids = provider_ids(&common.provider, providers)?;
    let provider_mask = (!ids.is_empty()).then(|| {
        let mut mask = vec![false; providers.len()];
        for id in ids {
            mask[usize::from(id)] = true;
        }
        mask
    });
    Ok(Filter {
        since,
        until,
        providers: provider_mask,
        sender_domains: common
            .sender_domain
            .iter()
            .map(|d| {
                d.trim()
                    .trim_start_matches('@')
                    .to_ascii_lowercase()
                    .into_bytes()
            })
            .filter(|d| !d.is_empty())
            .collect(),
    })
}

/// Resolves provider ids given on the command line.
pub fn provider_ids(names: &[String], providers: &ProviderMap) -> Result<Vec<u16>, Error> {
    names
        .iter()
        .map(|name| {
            let want = name.trim().to_ascii_lowercase();
            providers.id_of(&want).ok_or_else(|| {
                Error::Usage(format!(
                    "unknown provider {name:?}; known: {}",
                    providers.ids().collect::<Vec<_>>().join(", ")
                ))
            })
        })
        .collect()
}

/// Defaults, then `--config`, then threshold flags.
pub fn thresholds_from(common: &Common) -> Result<Thresholds, Error> {
    let mut t = Thresholds::default();
    if let Some(path) = &common.config {
        let text = input::read_small_file(path)
            .map_err(|e| Error::Usage(format!("{}: cannot read config: {e}", path.display())))?;
        t.apply_config(&text)
            .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    }
    if let Some(n) = common.min_count {
        t.min_count = n;
    }
    let shares = [
        ("min_share", &common.min_share),
        ("dominance", &common.dominance),
        ("warning_share", &common.warning_share),
        ("critical_share", &common.critical_share),
    ];
    for (key, value) in shares {
        if let Some(v) = value {
            t.set(key, v).map_err(|e| {
                // The message names the config key; the flag is named instead.
                let e = e.strip_prefix(&format!("{key}: ")).unwrap_or(&e);
                Error::Usage(format!("--{}: {e}", key.replace('_', "-")))
            })?;
        }
    }
    Ok(t)
}

fn colour(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// The built-in provider table plus the user's provider file: `--providers`,
/// else the default path when that file exists.
fn provider_map(common: &Common) -> Result<ProviderMap, Error> {
    let mut map = ProviderMap::builtin();
    let path = match &common.providers {
        Some(p) => Some(p.clone()),
        None => classify::overrides::default_path().filter(|p| p.is_file()),
    };
    if let Some(path) = path {
        classify::overrides::load(&mut map, &path)
            .map_err(|e| Error::Usage(format!("providers file {e}")))?;
    }
    Ok(map)
}

/// The least severity `--fail-on` (and `--quiet`) care about.
fn severity_floor(fail_on: Option<FailOn>) -> Severity {
    match fail_on {
        Some(FailOn::Critical) => Severity::Critical,
        Some(FailOn::Warning) | None => Severity::Warning,
    }
}

fn fails(findings: &[Finding], fail_on: Option<FailOn>) -> bool {
    fail_on.is_some()
        && findings
            .iter()
            .any(|f| f.severity >= severity_floor(fail_on))
}

/// Runs mtastat with parsed arguments, writing the report to `out`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome, Error> {
    let (files, common): (&[PathBuf], &Common) = match &args.command {
        Some(Command::Compare(c)) => (&c.files, &c.common),
        Some(Command::Summary(c)) => (&c.files, &c.common),
        Some(Command::Completions { shell }) => {
            // clap_complete panics when its writer fails (a closed pipe, a
            // full disk): it writes to memory, and the error is ours to say.
            let mut cmd = <Args as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "mtastat", &mut script);
            out.write_all(&script).map_err(Error::Output)?;
            return Ok(Outcome::default());
        }
        Some(Command::Man) => {
            let cmd = <Args as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd)
                .render(out)
                .map_err(Error::Output)?;
            return Ok(Outcome::default());
        }
        None => (&args.files, &args.common),
    };
    if common.quiet && (common.wants_json() || common.format == Some(OutputFormat::Markdown)) {
        return Err(Error::Usage(
            "--quiet prints text: use it without --format json/markdown".into(),
        ));
    }
    let log_zone = match &common.tz {
        Some(spec) => Zone::parse(spec).map_err(|e| Error::Usage(format!("--tz: {e}")))?,
        None => Zone::system(),
    };
    let shown_in = if common.utc { Zone::UTC } else { log_zone };
    let engine = Engine::new(provider_map(common)?);
    let filter = filter_from(common, &engine.providers, log_zone)?;
    let thresholds = thresholds_from(common)?;
    let compared = match &args.command {
        Some(Command::Compare(c)) => {
            let ids = provider_ids(&[c.a.clone(), c.b.clone()], &engine.providers)?;
            Some(ids)
        }
        _ => None,
    };
    // The pool is built here, not lazily: a pool the system will not give
    // (a process or thread limit) is then one line and exit 2, where rayon's
    // lazy start panics.
    let threads = common.threads.map_or(0, usize::from);
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
    {
        return Err(Error::Usage(match common.threads {
            Some(n) => format!("-j {n}: cannot start {n} threads: {e}"),
            None => format!("cannot start the worker threads: {e}"),
        }));
    }
    // No file named: this host's mail log, else the journal's mail facility
    // (a stock Debian 12 logs Postfix only there), read through a pipe.
    let mut journal: Option<std::process::Child> = None;
    let named: Vec<Source> = if files.is_empty() {
        match input::discover::default_log() {
            Some(path) => vec![Source::Path(path)],
            None => {
                let (child, path) = spawn_journal().map_err(|e| {
                    Error::Usage(format!(
                        "no mail log found (looked for {}) and the journal could not be read: {e}",
                        input::discover::DEFAULT_LOGS.join(", ")
                    ))
                })?;
                journal = Some(child);
                vec![Source::Path(path)]
            }
        }
    } else {
        files.iter().map(|p| Source::from_arg(p)).collect()
    };
    if common.no_journeys && args.journeys.is_some() {
        return Err(Error::Usage(
            "--journeys exports what --no-journeys turns off: use one of them".into(),
        ));
    }
    let settings = InputSettings {
        journeys: !common.no_journeys,
        summary: matches!(args.command, Some(Command::Summary(_))),
        year: common.year,
        zone: log_zone,
        threads: rayon::current_num_threads(),
    };
    let (sources, missing) = input::discover::expand(&named, settings);
    let targets = Targets::check(args, common, &sources)?;
    let mut export_errors = Vec::new();
    if targets.any_file() {
        // SIGINT/SIGTERM/SIGHUP remove this run's temp files before it dies.
        let _ = export::target::cleanup::on_signals();
    }
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
    // An export that cannot start is reported; the scan and the report go on.
    let sink = args.events.as_ref().and_then(|dir| {
        let names = engine.providers.ids().map(str::to_string).collect();
        EventSink::create(dir, names)
            .map_err(|e| export_errors.push(Error::export(dir)(e).to_string()))
            .ok()
            .map(Arc::new)
    });
    let journeys = match (&args.journeys, &targets.journeys) {
        (Some(path), Some(target)) => {
            let format = export_format(path);
            let names = engine.providers.ids().map(str::to_string).collect();
            JourneySink::create(target, format, names)
                .map_err(|e| export_errors.push(Error::export(path)(e).to_string()))
                .ok()
                .map(Arc::new)
        }
        _ => None,
    };
    let mut analysis = analyze(
        &sources,
        &engine,
        &filter,
        settings,
        sink.as_ref(),
        journeys.as_ref(),
    );
    input::progress::finish();
    if let (Some(sink), Some(dir)) = (&sink, &args.events) {
        match sink.commit() {
            Ok(_) if sink.overflow_rows() > 0 => export_errors.push(format!(
                "{}: more than {} hosts; {} rows written under host={}",
                dir.display(),
                aggregate::batch::MAX_HOSTS,
                sink.overflow_rows(),
                export::events::OVERFLOW_PARTITION
            )),
            Ok(_) => {}
            Err(e) => export_errors.push(Error::export(dir)(e).to_string()),
        }
    }
    if let (Some(sink), Some(path)) = (&journeys, &args.journeys) {
        let b = &analysis.batch;
        let names = journey::Names {
            delivered_to: &b.delivered_to,
            addresses: &b.addresses,
            senders: &b.senders,
            clients: &b.clients,
            domains: &b.domains,
            reasons: &b.reasons,
        };
        if let Err(e) = sink.commit(names) {
            export_errors.push(Error::export(path)(e).to_string());
        }
    }
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
    let (report, summary) = build_report(&analysis, &engine.providers, &thresholds, shown_in)?;
    let findings_failed = fails(&report.findings, common.fail_on);

    if let Some(ids) = compared {
        let names: Vec<String> = ids
            .iter()
            .map(|id| engine.providers.info(*id).id.clone())
            .collect();
        let cmp = compare::Comparison::new(&report, &names[0], &names[1]);
        if common.wants_json() {
            serde_json::to_writer_pretty(&mut *out, &cmp).map_err(|e| Error::Output(e.into()))?;
            writeln!(out).map_err(Error::Output)?;
        } else {
            let style = report::terminal::Style::new(colour(common.color));
            out.write_all(compare::render(&cmp, style).as_bytes())
                .map_err(Error::Output)?;
        }
        return Ok(Outcome {
            input_errors: analysis.errors,
            export_errors,
            findings_failed,
        });
    }

    if let Some(Command::Summary(c)) = &args.command {
        if common.format == Some(OutputFormat::Markdown) {
            return Err(Error::Usage(
                "summary prints text or JSON (--format text|json)".into(),
            ));
        }
        let sum = report::summary::build(
            &analysis.batch,
            &report,
            shown_in,
            c.top,
            !common.no_journeys,
        );
        if common.wants_json() {
            serde_json::to_writer_pretty(&mut *out, &sum).map_err(|e| Error::Output(e.into()))?;
            writeln!(out).map_err(Error::Output)?;
        } else {
            let style = report::terminal::Style::new(colour(common.color));
            let mut text = String::new();
            report::terminal::header_only(&mut text, &report, style);
            report::summary::render(&mut text, &sum, style);
            out.write_all(text.as_bytes()).map_err(Error::Output)?;
        }
        return Ok(Outcome {
            input_errors: analysis.errors,
            export_errors,
            findings_failed,
        });
    }

    // Each export on its own: one that fails is reported (exit 2) and the
    // others, and the report, are still written.
    let mut export_to =
        |path: &Option<PathBuf>,
         target: &Option<export::Target>,
         write: &dyn Fn(&export::Target) -> std::io::Result<()>| {
            if let (Some(path), Some(target)) = (path, target)
                && let Err(e) = write(target)
            {
                export_errors.push(Error::export(path)(e).to_string());
            }
        };
    export_to(&args.html, &targets.html, &|t| {
        let page = report::html::render(&report);
        export::write_to(t, |w| w.write_all(page.as_bytes()))
    });
    let last_line = analysis.batch.span.map(|(_, last)| last);
    export_to(&args.prometheus, &targets.prometheus, &|t| {
        export::prometheus::write(&report, now(), last_line, t)
    });
    export_to(&args.csv, &targets.csv, &|t| {
        export::write_frame(&summary, t, export::Format::Csv)
    });
    export_to(&args.parquet, &targets.parquet, &|t| {
        export::write_frame(&summary, t, export::Format::Parquet)
    });
    if targets.stdout_taken() {
        // An export went to standard output: the report does not follow it.
        return Ok(Outcome {
            input_errors: analysis.errors,
            export_errors,
            findings_failed,
        });
    }

    if common.wants_json() {
        serde_json::to_writer_pretty(&mut *out, &report).map_err(|e| Error::Output(e.into()))?;
        writeln!(out).map_err(Error::Output)?;
    } else if common.format == Some(OutputFormat::Markdown) {
        out.write_all(report::markdown::render(&report).as_bytes())
            .map_err(Error::Output)?;
    } else if common.quiet {
        let text = report::terminal::render_quiet(
            &report,
            severity_floor(common.fail_on),
            report::terminal::Style::new(colour(common.color)),
        );
        out.write_all(text.as_bytes()).map_err(Error::Output)?;
    } else {
        report::terminal::write(
            &report,
            report::terminal::Style::new(colour(common.color)),
            out,
        )
        .map_err(Error::Output)?;
    }
    Ok(Outcome {
        input_errors: analysis.errors,
        export_errors,
        findings_failed,
    })
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

/// The exports' destinations, checked before anything is read.
#[derive(Debug, Default)]
struct Targets {
    csv: Option<export::Target>,
    parquet: Option<export::Target>,
    html: Option<export::Target>,
    prometheus: Option<export::Target>,
    journeys: Option<export::Target>,
}

impl Targets {
    /// Resolves every export path, and refuses (one line each) an export
    /// over any file the run reads (named, or found in a directory; by
    /// device and inode, so hard links and symlinks count), two exports to
    /// one file, and `--events` where it would replace whole partitions with
    /// a subset.
    fn check(args: &Args, common: &Common, sources: &[Source]) -> Result<Targets, Error> {
        use export::target::file_id;
        let resolve = |p: &Option<PathBuf>| -> Result<Option<export::Target>, Error> {
            p.as_deref()
                .map(|p| export::Target::resolve(p).map_err(Error::Usage))
                .transpose()
        };
        let t = Targets {
            csv: resolve(&args.csv)?,
            parquet: resolve(&args.parquet)?,
            html: resolve(&args.html)?,
            prometheus: resolve(&args.prometheus)?,
            journeys: resolve(&args.journeys)?,
        };
        let inputs: Vec<((u64, u64), &std::path::Path)> = sources
            .iter()
            .filter_map(|s| match s {
                Source::Path(p) => file_id(p).map(|id| (id, p.as_path())),
                Source::Stdin => None,
            })
            .collect();
        let mut seen: Vec<(String, &std::path::Path)> = Vec::new();
        for (path, target) in t.named(args) {
            if let Some(id) = target.identity()
                && let Some((_, input)) = inputs.iter().find(|(i, _)| *i == id)
                && !matches!(target, export::Target::Stream(_))
            {
                return Err(Error::Usage(format!(
                    "{}: refusing to export over an input file ({})",
                    path.display(),
                    input.display()
                )));
            }
            let key = target_key(target);
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                return Err(Error::Usage(if key == "-" {
                    format!(
                        "{} and {} both go to standard output: one export at most can",
                        first.display(),
                        path.display()
                    )
                } else {
                    format!(
                        "{} and {} are the same file: give each export its own",
                        first.display(),
                        path.display()
                    )
                }));
            }
            seen.push((key, path));
        }
        if let Some(dir) = &args.events {
            if dir.as_os_str() == "-" {
                return Err(Error::Usage(
                    "--events writes a directory, not standard output".into(),
                ));
            }
            if !common.provider.is_empty() || !common.sender_domain.is_empty() {
                return Err(Error::Usage(
                    "--events replaces whole (date, host) partitions: with --provider or \
                     --sender-domain it would replace them with a subset; filter when you query"
                        .into(),
                ));
            }
            // A partition switch removes the old partition directory: an
            // input inside one would go with it.
            let root = file_id(dir);
            let in_partition = |p: &std::path::Path| {
                p.ancestors().any(|a| {
                    let partition = a
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("date="));
                    partition && root.is_some() && a.parent().and_then(file_id) == root
                })
            };
            if let Some((_, input)) = inputs.iter().find(|(_, p)| in_partition(p)) {
                return Err(Error::Usage(format!(
                    "{}: refusing to write events over an input file ({})",
                    dir.display(),
                    input.display()
                )));
            }
        }
        Ok(t)
    }

    /// (the path as given, its target), for each export asked for.
    fn named<'a>(&'a self, args: &'a Args) -> Vec<(&'a std::path::Path, &'a export::Target)> {
        [
            (&args.csv, &self.csv),
            (&args.parquet, &self.parquet),
            (&args.html, &self.html),
            (&args.prometheus, &self.prometheus),
            (&args.journeys, &self.journeys),
        ]
        .into_iter()
        .filter_map(|(p, t)| Some((p.as_deref()?, t.as_ref()?)))
        .collect()
    }

    /// Every export's target, asked for or not.
    fn all(&self) -> [&Option<export::Target>; 5] {
        [
            &self.csv,
            &self.parquet,
            &self.html,
            &self.prometheus,
            &self.journeys,
        ]
    }

    /// True when an export replaces a file (and so has a temp file).
    fn any_file(&self) -> bool {
        self.all()
            .into_iter()
            .any(|t| matches!(t, Some(export::Target::File(_))))
    }

    /// True when an export writes to standard output.
    fn stdout_taken(&self) -> bool {
        self.all()
            .into_iter()
            .any(|t| t == &Some(export::Target::Stdout))
    }
}

/// What makes two targets the same file: device and inode when it exists,
/// else the absolute path of its directory and its name.
fn target_key(t: &export::Target) -> String {
    match t {
        export::Target::Stdout => "-".into(),
        export::Target::File(p) | export::Target::Stream(p) => match t.identity() {
            Some((dev, ino)) => format!("{dev}:{ino}"),
            None => {
                let dir = p
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(std::path::Path::new("."));
                let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
                dir.join(p.file_name().unwrap_or_default())
                    .display()
                    .to_string()
            }
        },
    }
}
