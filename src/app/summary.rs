//! `mtastat summary [FILE]…`: every pflogsumm section, as text or JSON.

use super::config::{Config, Format};
use crate::analysis::Analysis;
use crate::app::cli::SummaryArgs;
use crate::error::Error;
use crate::model::{self, Report};
use crate::render;
use std::io::Write;

/// Prints the summary (its header is the report's).
pub(super) fn print(
    config: &Config,
    analysis: &Analysis,
    report: &Report,
    args: &SummaryArgs,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let sum = model::summary::build(
        &analysis.batch,
        report,
        config.shown_in,
        args.top,
        config.settings.journeys,
    );
    if config.format == Format::Json {
        serde_json::to_writer_pretty(&mut *out, &sum).map_err(|e| Error::Output(e.into()))?;
        writeln!(out).map_err(Error::Output)
    } else {
        let style = render::style::Style::new(config.colour);
        let mut text = String::new();
        render::terminal::header_only(&mut text, report, style);
        render::summary::render(&mut text, &sum, style);
        out.write_all(text.as_bytes()).map_err(Error::Output)
    }
}
