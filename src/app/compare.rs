//! `mtastat compare A B [FILE]…`: two providers side by side, as text or
//! JSON.

use super::config::{Config, Format};
use crate::error::Error;
use crate::model::Report;
use crate::model::compare::Comparison;
use crate::render;
use std::io::Write;

/// Prints the comparison of the two providers the command named.
pub(super) fn print(config: &Config, report: &Report, out: &mut dyn Write) -> Result<(), Error> {
    let Some([a, b]) = config.compared else {
        return Err(Error::Usage("compare needs two providers".into()));
    };
    let name = |id: u16| config.engine.providers.info(id).id.clone();
    let cmp = Comparison::new(report, &name(a), &name(b));
    if config.format == Format::Json {
        serde_json::to_writer_pretty(&mut *out, &cmp).map_err(|e| Error::Output(e.into()))?;
        writeln!(out).map_err(Error::Output)
    } else {
        let style = render::style::Style::new(config.colour);
        out.write_all(render::compare::render(&cmp, style).as_bytes())
            .map_err(Error::Output)
    }
}
