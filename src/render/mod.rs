//! The renderers, one file per format behind one [`Render`] trait: the
//! terminal report (findings and sparklines in `findings.rs`, journeys,
//! `summary`, `compare`), JSON, Markdown and HTML with inline SVG charts,
//! the tables Markdown and HTML share (`table.rs`) and the terminal's look
//! (`style.rs`). They read the values of
//! [`crate::model`] and nothing earlier in the flow.

pub mod compare;
pub mod findings;
pub mod html;
pub mod journeys;
pub mod markdown;
pub mod style;
pub mod summary;
pub mod table;
pub mod terminal;
pub mod tls;
pub mod trace;
pub mod watch;

use crate::model::{Report, Severity};
use std::io::{self, Write};

/// A format the report is written in.
pub trait Render {
    /// Writes `report` to `out`.
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()>;
}

/// The terminal report; `quiet`: only the findings at or above a severity
/// (`--quiet`).
pub struct Terminal {
    /// Colour or not.
    pub style: style::Style,
    /// `--quiet`'s floor.
    pub quiet: Option<Severity>,
}

impl Render for Terminal {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        match self.quiet {
            Some(floor) => {
                out.write_all(terminal::render_quiet(report, floor, self.style).as_bytes())
            }
            None => terminal::write(report, self.style, out),
        }
    }
}

/// The whole report as pretty-printed JSON (serde escapes what JSON must).
pub struct Json;

impl Render for Json {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
        writeln!(out)
    }
}

/// GitHub-flavoured Markdown, for tickets and chat.
pub struct Markdown;

impl Render for Markdown {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(markdown::render(report).as_bytes())
    }
}

/// One self-contained HTML page.
pub struct Html;

impl Render for Html {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(html::render(report).as_bytes())
    }
}
