//! The analysis of a set of inputs: every source scanned and merged in
//! order ([`analyze`]); `model::build_report` then makes the report of it.
//! The library's entry point; the command line (`app`) calls it.

use crate::aggregate::batch::{Batch, Counters};
use crate::aggregate::runs::Runs;
pub use crate::aggregate::runs::scan_bytes;
use crate::aggregate::sinks::EventWriter;
pub use crate::aggregate::worker::{ScanContext, Worker};
pub use crate::classify::Engine;
use crate::filter::Filter;
use crate::input::{self, InputSettings, ReadMode, Source};
use crate::journey::JourneyWriter;
use crate::parse;
use crate::parse::header::LineFormat;
use serde::Serialize;
use std::sync::Arc;

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

/// One input, as read.
#[derive(Clone, Debug, Serialize)]
pub struct FileSummary {
    /// Path as given (`-` for stdin).
    pub path: String,
    /// Timestamp style of most lines, or `unknown`.
    pub format: String,
    /// How it was read: `mmap`, `stream`, `stream (live file)`, or the
    /// compression (`gzip`, `zstd`, `bzip2`, `xz`).
    pub read: &'static str,
    /// Bytes.
    pub bytes: u64,
    /// Lines.
    pub lines: u64,
    /// Delivery attempts.
    pub delivery_attempts: u64,
    /// Lines not understood.
    pub unparsed_lines: u64,
    /// The error, when the file could not be read (then all counts are 0)
    /// or was read only in part (then the counts are what was read).
    pub error: Option<String>,
}

impl FileSummary {
    /// An input that could not be read at all.
    pub fn unread(path: String, error: String) -> FileSummary {
        FileSummary {
            path,
            format: "unknown".into(),
            read: "none",
            bytes: 0,
            lines: 0,
            delivery_attempts: 0,
            unparsed_lines: 0,
            error: Some(error),
        }
    }
}

/// Scans `sources` in order and merges what they hold.
pub fn analyze(
    sources: &[Source],
    engine: &Engine,
    filter: &Filter,
    settings: InputSettings,
    events: Option<Arc<dyn EventWriter>>,
    journeys: Option<Arc<dyn JourneyWriter>>,
) -> Analysis {
    // Input sets the clock per file (from --year, the mtime or the rotation date).
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
    total.journeys.sink = journeys;
    let mut runs = Runs::new(ctx, total);
    let mut files = Vec::with_capacity(sources.len());
    let mut errors = Vec::new();
    for source in sources {
        let before = runs.total().counters;
        match input::feed(source, settings, &mut runs) {
            Ok(fed) => {
                let counters = runs.total().counters.since(&before);
                let mut summary = file_summary(source, &counters, fed.mode);
                let problem = fed.problem.or_else(|| not_a_mail_log(&counters));
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
    let mut total = runs.into_total();
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
    let (best, n) = LineFormat::ALL
        .iter()
        .map(|f| (*f, c.by_format[*f as usize]))
        .max_by_key(|(_, n)| *n)
        .unwrap_or((LineFormat::Syslog, 0));
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
