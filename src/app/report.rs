//! `mtastat [FILE]…`: the report as text (or `--quiet`'s findings alone),
//! JSON or Markdown.

use super::config::{Config, Format, severity_floor};
use crate::error::Error;
use crate::model::Report;
use crate::report;
use std::io::Write;

/// Prints the report in the format asked for.
pub(super) fn print(config: &Config, report: &Report, out: &mut dyn Write) -> Result<(), Error> {
    let style = report::terminal::Style::new(config.colour);
    match config.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, report).map_err(|e| Error::Output(e.into()))?;
            writeln!(out).map_err(Error::Output)
        }
        Format::Markdown => out
            .write_all(report::markdown::render(report).as_bytes())
            .map_err(Error::Output),
        Format::Text if config.quiet => {
            let text =
                report::terminal::render_quiet(report, severity_floor(config.fail_on), style);
            out.write_all(text.as_bytes()).map_err(Error::Output)
        }
        Format::Text => report::terminal::write(report, style, out).map_err(Error::Output),
    }
}
