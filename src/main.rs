//! The `mtastat` binary: arguments in, report out, exit status.

use clap::Parser;
use mtastat::cli::Args;
use mtastat::escape::terminal;
use std::io::{self, Write};
use std::process::ExitCode;

/// A usage error as one line: clap's first line, the accepted values when it
/// knows them, and where to look for more.
fn usage_error(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    let mut line = first.strip_prefix("error: ").unwrap_or(first).to_string();
    if line.ends_with(':') {
        // "the following required arguments were not provided:" lists them
        // on the lines below, indented.
        let listed: Vec<&str> = text
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(str::trim)
            .collect();
        line.push(' ');
        line.push_str(&listed.join(", "));
    }
    if let Some(ContextValue::Strings(valid)) = e.get(ContextKind::ValidValue)
        && !valid.is_empty()
    {
        line.push_str(&format!(" (possible values: {})", valid.join(", ")));
    }
    line.push_str("; see mtastat --help");
    line
}

/// One line on stderr. File names and argument values can hold escape
/// sequences (a file in a scanned directory is named by whoever wrote it), so
/// they are escaped like log text.
fn say(message: &str) {
    eprintln!("mtastat: {}", terminal(message));
}

/// False when the report has nowhere to go because stdout was closed
/// (`mtastat … >&-`). Rust's runtime reopens a closed descriptor 1 on
/// /dev/null before `main` (so no file we open can take its place), which
/// would make the report vanish with exit 0. It opens it read-write, which a
/// shell's `> /dev/null` never does: that is how the two are told apart.
fn stdout_is_open() -> bool {
    // SAFETY: fstat and fcntl only read the descriptor's state.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(libc::STDOUT_FILENO, &mut st) != 0 {
            return false;
        }
        let flags = libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFL);
        let dev_null = (st.st_mode & libc::S_IFMT) == libc::S_IFCHR
            && libc::major(st.st_rdev) == 1
            && libc::minor(st.st_rdev) == 3;
        !(dev_null && flags != -1 && (flags & libc::O_ACCMODE) == libc::O_RDWR)
    }
}

fn main() -> ExitCode {
    if !stdout_is_open() {
        say(
            "standard output is closed: nowhere to write the report (redirect it, e.g. > /dev/null)",
        );
        return ExitCode::from(2);
    }
    let argv = mtastat::cli::subcommand_first(std::env::args_os().collect());
    let args = match Args::try_parse_from(argv) {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            say(&usage_error(&e));
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = mtastat::run(&args, &mut out).and_then(|o| {
        out.flush().map_err(mtastat::error::Error::Output)?;
        Ok(o)
    });
    match result {
        Ok(outcome) => {
            for e in outcome.input_errors.iter().chain(&outcome.export_errors) {
                say(e);
            }
            if !outcome.input_errors.is_empty() || !outcome.export_errors.is_empty() {
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
            say(&e.to_string());
            ExitCode::from(2)
        }
    }
}
