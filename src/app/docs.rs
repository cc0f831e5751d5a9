//! `mtastat completions SHELL` and `mtastat man`: both generated from the
//! argument parser's own definition, so they never drift from it.

use super::Outcome;
use crate::app::cli::Args;
use crate::error::Error;
use std::io::Write;

/// The completion script for `shell`.
pub(super) fn completions(
    shell: clap_complete::Shell,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    // clap_complete panics when its writer fails (a closed pipe, a full
    // disk): it writes to memory, and the error is ours to say.
    let mut cmd = <Args as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "mtastat", &mut script);
    out.write_all(&script).map_err(Error::Output)?;
    Ok(Outcome::default())
}

/// The roff man page.
pub(super) fn man(out: &mut dyn Write) -> Result<Outcome, Error> {
    let cmd = <Args as clap::CommandFactory>::command();
    clap_mangen::Man::new(cmd)
        .render(out)
        .map_err(Error::Output)?;
    Ok(Outcome::default())
}
