//! Command-line arguments. The help text is the spec: keep it true.

use clap::{Parser, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  mtastat                                  report on /var/log/mail.log
  mtastat mail.log mail.log.1 exim/mainlog several files, mixed MTAs, one report
  mtastat --json mail.log > report.json    the whole report as JSON
  mtastat --csv summary.csv --parquet summary.parquet mail.log
  journalctl -u postfix -o short-iso | mtastat -

Exit status: 0 success; 2 an input could not be read (the others are still
reported) or the arguments were wrong.";

/// Mail-server log analytics: what is failing, at which provider, and why.
#[derive(Debug, Parser)]
#[command(name = "mtastat", version, about, after_help = EXAMPLES)]
pub struct Args {
    /// Log files (Postfix or Exim, any mix); `-` reads standard input.
    #[arg(value_name = "FILE", default_value = "/var/log/mail.log")]
    pub files: Vec<PathBuf>,

    /// Print the whole report as one JSON document instead of text.
    #[arg(long)]
    pub json: bool,

    /// Write the summary frame as CSV to this file (atomically).
    #[arg(long, value_name = "PATH")]
    pub csv: Option<PathBuf>,

    /// Write the summary frame as Parquet (zstd) to this file (atomically).
    #[arg(long, value_name = "PATH")]
    pub parquet: Option<PathBuf>,

    /// Year for syslog timestamps that have none (default: from each file's mtime).
    #[arg(long, value_name = "YEAR", value_parser = clap::value_parser!(i32).range(1970..=9999))]
    pub year: Option<i32>,

    /// Worker threads (default: all cores, or RAYON_NUM_THREADS).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,

    /// When to use colour in the terminal report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// `--color` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let a = Args::parse_from(["mtastat"]);
        assert_eq!(a.files, vec![PathBuf::from("/var/log/mail.log")]);
        assert!(!a.json);
        let b = Args::parse_from(["mtastat", "-", "x.log", "--json"]);
        assert_eq!(b.files.len(), 2);
        assert!(b.json);
    }
}
