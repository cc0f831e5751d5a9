//! The `mtastat` binary: arguments in, report out, exit status.

use clap::Parser;
use mtastat::cli::Args;
use std::io::{self, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = mtastat::run(&args, &mut out).and_then(|o| {
        out.flush().map_err(mtastat::error::Error::Output)?;
        Ok(o)
    });
    match result {
        Ok(outcome) => {
            for e in &outcome.input_errors {
                eprintln!("mtastat: {e}");
            }
            if !outcome.input_errors.is_empty() {
                ExitCode::from(2)
            } else if outcome.findings_failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        // A closed pipe (`mtastat … | head`) is not an error.
        Err(mtastat::error::Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mtastat: {e}");
            ExitCode::from(2)
        }
    }
}
