//! mtastat: mail-server log analytics.
//!
//! Data flows one way:
//!
//! ```text
//! input ─► scan ─► parse ─► classify ─► aggregate ─► report / export
//! mmap,    lines   header,  provider,   per-worker    terminal, JSON,
//! stream           Postfix, masked      batches ─►    CSV, Parquet
//!                  Exim     reason      polars frames
//! ```
//!
//! * [`input`] memory-maps each file (or reads a stream in bounded blocks) and
//!   splits it into line-aligned chunks scanned in parallel with rayon.
//! * [`scan`] walks a chunk's lines; [`parse`] turns a line into a
//!   [`event::Delivery`] without allocating; [`classify`] names the provider
//!   and masks the reply text into a reason.
//! * [`aggregate`] folds deliveries into per-worker batches, merges them in
//!   input order and builds the polars frames.
//! * [`report`] and [`export`] present the frames.

#![deny(missing_docs)]

pub mod aggregate;
pub mod classify;
pub mod cli;
pub mod dsn;
pub mod error;
pub mod event;
pub mod export;
pub mod input;
pub mod parse;
pub mod report;
pub mod scan;

use aggregate::batch::Batch;
use aggregate::frame::{reasons_frame, summary_frame};
use classify::provider::ProviderMap;
use classify::reason::Masker;
use cli::{Args, ColorChoice};
use error::Error;
use input::{InputSettings, ReadMode, Source};
use parse::header::Format;
use parse::timestamp::{YearHint, format_utc};
use report::{FileSummary, Period, Report};
use scan::ScanContext;
use std::io::{IsTerminal, Write};

/// What a run produced, beyond its output.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Inputs that could not be read, as one-line messages.
    pub input_errors: Vec<String>,
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
    providers: &ProviderMap,
    year: Option<i32>,
    threads: usize,
) -> Analysis {
    let masker = Masker::new();
    let ctx = ScanContext {
        providers,
        masker: &masker,
        year: YearHint::fixed(year.unwrap_or(1970)),
    };
    let settings = InputSettings { year, threads };
    let mut total = Batch::default();
    let mut files = Vec::with_capacity(sources.len());
    let mut errors = Vec::new();
    for source in sources {
        match input::scan(source, settings, &ctx) {
            Ok((batch, mode)) => {
                files.push(file_summary(source, &batch, mode));
                total = total.merge(batch);
            }
            Err(e) => {
                let msg = e.to_string();
                files.push(FileSummary {
                    path: source.label(),
                    format: "unknown".into(),
                    read: "none",
                    bytes: 0,
                    lines: 0,
                    delivery_attempts: 0,
                    unparsed_lines: 0,
                    error: Some(msg.clone()),
                });
                errors.push(msg);
            }
        }
    }
    total.finish(providers.other());
    Analysis {
        batch: total,
        files,
        errors,
    }
}

fn file_summary(source: &Source, b: &Batch, mode: ReadMode) -> FileSummary {
    let formats = [Format::Syslog, Format::SyslogIso, Format::EximMainlog];
    let (best, n) = formats
        .iter()
        .map(|f| (*f, b.counters.by_format[*f as usize]))
        .max_by_key(|(_, n)| *n)
        .unwrap_or((Format::Syslog, 0));
    FileSummary {
        path: source.label(),
        format: if n == 0 {
            "unknown".into()
        } else {
            best.as_str().into()
        },
        read: match mode {
            ReadMode::Mmap => "mmap",
            ReadMode::Stream => "stream",
        },
        bytes: b.counters.bytes,
        lines: b.counters.lines,
        delivery_attempts: b.counters.deliveries,
        unparsed_lines: b.counters.unparsed_total(),
        error: None,
    }
}

/// Builds the report (and the frames behind it) from an analysis.
pub fn build_report(
    analysis: &Analysis,
    providers: &ProviderMap,
) -> Result<(Report, polars::prelude::DataFrame), Error> {
    let b = &analysis.batch;
    let summary = summary_frame(b, providers)?;
    let reasons = reasons_frame(b, providers)?;
    let c = &b.counters;
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
        mail_lines_not_deliveries: c.mail_other + c.senders,
        delivery_attempts: c.deliveries,
        deferrals_not_attempted: c.not_attempted,
        fake_deliveries: c.fake_deliveries,
        invalid_utf8_delivery_lines: c.invalid_utf8,
        period: b.span.map(|(a, z)| Period {
            first: format_utc(a),
            last: format_utc(z),
        }),
        providers: report::provider_summaries(&summary, providers)?,
        deliveries: report::summary_rows(&summary)?,
        reasons: report::reason_rows(&reasons)?,
    };
    Ok((report, summary))
}

/// Runs mtastat with parsed arguments, writing the report to `out`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome, Error> {
    let sources: Vec<Source> = args.files.iter().map(|p| Source::from_arg(p)).collect();
    for export in [&args.csv, &args.parquet].into_iter().flatten() {
        if args
            .files
            .iter()
            .any(|input| export::same_file(export, input))
        {
            return Err(Error::Usage(format!(
                "{}: refusing to export over an input file",
                export.display()
            )));
        }
    }
    if let Some(n) = args.threads {
        // Fails only if a pool exists already (tests calling run twice); harmless.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global();
    }
    let providers = ProviderMap::builtin();
    let analysis = analyze(
        &sources,
        &providers,
        args.year,
        rayon::current_num_threads(),
    );
    let (report, summary) = build_report(&analysis, &providers)?;

    let exports = [
        (&args.csv, export::Format::Csv),
        (&args.parquet, export::Format::Parquet),
    ];
    for (path, format) in exports {
        if let Some(path) = path {
            export::write_frame(&summary, path, format).map_err(|cause| Error::Export {
                path: path.clone(),
                cause,
            })?;
        }
    }

    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report).map_err(|e| Error::Output(e.into()))?;
        writeln!(out).map_err(Error::Output)?;
    } else {
        let colour = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        report::terminal::write(&report, report::terminal::Style::new(colour), out)
            .map_err(Error::Output)?;
    }
    Ok(Outcome {
        input_errors: analysis.errors,
    })
}
