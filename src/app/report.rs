//! `mtastat [FILE]…`: the report as text (or `--quiet`'s findings alone),
//! JSON or Markdown.

use super::config::{Config, Format, severity_floor};
use crate::error::Error;
use crate::model::Report;
use crate::render::{self, Render};
use std::io::Write;

/// Prints the report in the format asked for.
pub(super) fn print(config: &Config, report: &Report, out: &mut dyn Write) -> Result<(), Error> {
    let renderer: Box<dyn Render> = match config.format {
        Format::Json => Box::new(render::Json),
        Format::Markdown => Box::new(render::Markdown),
        Format::Text => Box::new(render::Terminal {
            style: render::style::Style::new(config.colour),
            quiet: config.quiet.then(|| severity_floor(config.fail_on)),
        }),
    };
    renderer.render(report, out).map_err(Error::Output)
}
