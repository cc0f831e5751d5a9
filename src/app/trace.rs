//! `mtastat trace WHAT [FILE]…`: each matching message's journey and log
//! lines, as text or as JSON (one object per message per line).

use super::Outcome;
use super::config::{Config, Format};
use crate::app::cli::TraceArgs;
use crate::error::Error;
use crate::input::{InputError, Source};
use crate::render;
use crate::trace::{self, query::Query};
use std::io::Write;

/// Runs the trace and prints it.
pub(super) fn run(
    config: &Config,
    args: &TraceArgs,
    sources: &[Source],
    missing: Vec<InputError>,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    let query = Query::parse(&args.what, args.kind).map_err(Error::Usage)?;
    super::start_progress(sources);
    let (report, mut errors) = trace::trace(
        sources,
        config.settings,
        &config.engine,
        &config.filter,
        &query,
        args.limit,
        config.shown_in,
    );
    crate::input::progress::finish();
    errors.extend(missing.iter().map(|e| e.to_string()));
    if config.format == Format::Json {
        // One object per message, a line each (for jq and SIEMs).
        for t in &report.traces {
            serde_json::to_writer(&mut *out, t).map_err(|e| Error::Output(e.into()))?;
            writeln!(out).map_err(Error::Output)?;
        }
        if report.matched > report.traces.len() as u64 {
            // Said, not an error: the exit status stays 0.
            eprintln!(
                "mtastat: trace: {} messages matched; the first {} are printed (--limit)",
                report.matched,
                report.traces.len()
            );
        }
    } else {
        let style = render::style::Style::new(config.colour);
        out.write_all(render::trace::render(&report, !args.no_lines, style).as_bytes())
            .map_err(Error::Output)?;
    }
    Ok(Outcome {
        input_errors: errors,
        export_errors: Vec::new(),
        findings_failed: false,
    })
}
