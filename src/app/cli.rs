//! Command-line arguments. The help text is the spec: keep it true.

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  mtastat                                  report on this host's mail log (see below)
  mtastat mail.log mail.log.1 exim/mainlog several files, mixed MTAs, one report
  mtastat --json mail.log > report.json    the whole report as JSON
  mtastat --csv summary.csv --parquet summary.parquet mail.log
  mtastat --since 1h --provider google     the last hour, Gmail only
  mtastat --since '2026-11-22 14:00' --until '2026-11-22 15:00' mail.log
  mtastat --sender-domain promo-blast.example mail.log
  mtastat --fail-on warning mail.log       exit 1 when a warning is found (cron)
  mtastat compare google microsoft mail.log
  mtastat --events /data/mail-events mail.log   each host, nightly, then
  mtastat fleet /data/mail-events --since 1d    one report of all hosts
  journalctl -u postfix -o short-iso | mtastat -

Exit status: 0 success; 1 a finding at or above --fail-on; 2 an input could
not be read (the others are still reported) or the arguments were wrong.";

/// Mail-server log analytics: what is failing, at which provider, since when, and why.
#[derive(Debug, Parser)]
#[command(
    name = "mtastat",
    version,
    about,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
pub struct Args {
    /// Log files (Postfix or Exim, any mix); `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Options shared with `compare`.
    #[command(flatten)]
    pub common: Common,

    /// The exports made from the finished report (their options live with
    /// their registry, `app::exports`).
    #[command(flatten)]
    pub exports: super::exports::ReportExportArgs,

    /// Write one row per delivery attempt as Parquet under this directory,
    /// partitioned date=YYYY-MM-DD/host=NAME/ (replaces the partitions it writes).
    #[arg(long, value_name = "DIR")]
    pub events: Option<PathBuf>,

    /// The host partition of --events rows whose log names no host (an
    /// Exim mainlog) [default: this machine's name].
    #[arg(long, value_name = "NAME", requires = "events")]
    pub events_host: Option<String>,

    /// Write one row per recipient per message (arrival, attempts, codes on
    /// the way, final disposition, time taken) to this file: CSV when it ends
    /// in .csv, else Parquet (zstd). Streamed, written atomically.
    #[arg(long, value_name = "PATH")]
    pub journeys: Option<PathBuf>,

    /// Subcommands.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Moves a subcommand named after options to the front, so that
/// `mtastat --tz UTC summary FILE` means `mtastat summary --tz UTC FILE`
/// (clap reads a token after an option as a file once an option was given:
/// `summary` was "no such file"). Only when every token before the name is
/// an option or an option's value; a file named `summary` after a file is
/// still a file, and `./summary` always is.
pub fn subcommand_first(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let cmd = Args::command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let takes_value = |token: &str| -> bool {
        cmd.get_arguments().any(|a| {
            let named = match token.strip_prefix("--") {
                Some(long) => a.get_long() == Some(long),
                None => token
                    .strip_prefix('-')
                    .and_then(|s| s.chars().last())
                    .is_some_and(|c| a.get_short() == Some(c)),
            };
            named && a.get_action().takes_values()
        })
    };
    let mut i = 1;
    while i < args.len() {
        let Some(token) = args[i].to_str() else {
            return args;
        };
        if token == "--" || token == "-" {
            return args;
        }
        if names.iter().any(|n| n == token) {
            if i == 1 {
                return args;
            }
            let mut moved = args;
            let sub = moved.remove(i);
            moved.insert(1, sub);
            return moved;
        }
        if !token.starts_with('-') {
            return args; // a file: no subcommand after it
        }
        // `--tz UTC`: the value is the next token (not with `--tz=UTC`, `-j4`).
        let inline = token.contains('=') || (!token.starts_with("--") && token.len() > 2);
        i += if !inline && takes_value(token) { 2 } else { 1 };
    }
    args
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Two providers side by side: shares by status, code families, top codes,
    /// top replies and the findings of each.
    Compare(Box<CompareArgs>),
    /// Every section of pflogsumm (and eximstats where they apply): grand
    /// totals, per-day and per-hour traffic, host/domain summaries for
    /// delivery and reception, senders and recipients by count and size,
    /// deferral/bounce/reject detail by masked reason, smtpd connections,
    /// warnings, fatal errors, panics, postscreen.
    Summary(Box<SummaryArgs>),
    /// What happened to a message: its journey (arrival, hand-offs through
    /// content filters and relays, every attempt, each recipient's end)
    /// and its log lines, found by queue id, Message-ID, address
    /// (`@domain` for a whole domain), client IP or SASL user.
    Trace(Box<TraceArgs>),
    /// Follow a live log: per provider the last 5 and 60 minutes, the
    /// current findings (new ones marked), the top replies of the last 5
    /// minutes; a full-screen view, or one JSON object per refresh.
    Watch(Box<WatchArgs>),
    /// The report of many hosts from the events their `--events` runs
    /// wrote (a local or mounted directory): the same report, findings and
    /// exports, each finding with the hosts it is seen on, and each host's
    /// findings (the same as `mtastat --from-events DIR`).
    Fleet(Box<FleetArgs>),
    /// Print a shell completion script, e.g.
    /// `mtastat completions bash > /etc/bash_completion.d/mtastat`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `mtastat man | man -l -`.
    Man,
}

/// `mtastat compare A B [FILE]...`
#[derive(Debug, ClapArgs)]
pub struct CompareArgs {
    /// First provider id (e.g. google).
    #[arg(value_name = "A")]
    pub a: String,
    /// Second provider id (e.g. microsoft).
    #[arg(value_name = "B")]
    pub b: String,
    /// Log files; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Options shared with the report.
    #[command(flatten)]
    pub common: Common,
}

/// `mtastat fleet DIR`
#[derive(Debug, ClapArgs)]
pub struct FleetArgs {
    /// The events dataset: `date=YYYY-MM-DD/host=NAME/*.parquet` under it.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Options shared with the report.
    #[command(flatten)]
    pub common: Common,
    /// The exports made from the report.
    #[command(flatten)]
    pub exports: super::exports::ReportExportArgs,
}

/// `mtastat trace WHAT [FILE]...`
#[derive(Debug, ClapArgs)]
pub struct TraceArgs {
    /// What to look for: a queue id, a Message-ID (`<…>`), an address
    /// (`@example.com` for a whole domain), a client IP or a SASL user.
    #[arg(value_name = "WHAT")]
    pub what: String,
    /// Log files, directories, rotated and compressed; `-` reads standard
    /// input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// How to read WHAT when its shape could be two things (a SASL user
    /// named like a queue id).
    #[arg(long = "as", value_enum, value_name = "KIND")]
    pub kind: Option<crate::trace::query::Kind>,
    /// Messages shown at most; how many matched in all is always said.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub limit: usize,
    /// Only the journeys, without each message's log lines.
    #[arg(long)]
    pub no_lines: bool,
    /// Options shared with the report (--since, --until, --json, --tz …).
    #[command(flatten)]
    pub common: Common,
}

/// `mtastat watch [FILE]`
#[derive(Debug, ClapArgs)]
pub struct WatchArgs {
    /// The log to follow (default: this host's mail log). It is followed
    /// through logrotate's rename and copytruncate.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// How much of the log the view covers (`1h`, `30m`, at most `1d`);
    /// that much of the file's end is read first, so the view starts full.
    #[arg(long, default_value = "1h", value_name = "DURATION", value_parser = window_minutes)]
    pub window: i64,
    /// Seconds between refreshes.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub interval: f64,
    /// One JSON object per refresh on standard output, instead of the
    /// full-screen view (for scripts).
    #[arg(long)]
    pub json_lines: bool,
    /// Rewrite this node_exporter textfile at every refresh (atomically).
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,
    /// Stop after this many refreshes.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Options shared with the report (--tz, --provider, --year …).
    #[command(flatten)]
    pub common: Common,
}

fn window_minutes(s: &str) -> Result<i64, String> {
    match crate::filter::parse_duration(s) {
        Some(secs) if (60..=86_400).contains(&secs) => Ok(secs / 60),
        _ => Err(format!(
            "{s:?}: a duration from 1m to 1d, such as 1h or 30m"
        )),
    }
}

/// `mtastat summary [--top N] [FILE]...`
#[derive(Debug, ClapArgs)]
pub struct SummaryArgs {
    /// Rows per table (pflogsumm's -h/-u and --*-detail).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// Log files or directories; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Options shared with the report.
    #[command(flatten)]
    pub common: Common,
}

/// Options of both the report and `compare`.
#[derive(Debug, Clone, ClapArgs)]
pub struct Common {
    /// Print JSON instead of text (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// How to print the report.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,

    /// Only attempts at or after this time: now, today, yesterday, 1h, 30m,
    /// 2d (ago), 2026-11-22, "2026-11-22 14:05", RFC 3339, or 14:05 (today).
    /// Times without a zone are in --tz.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only attempts before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Read the delivery attempts from an events dataset (what `--events`
    /// wrote, on one host or many) instead of logs: the same report,
    /// findings, compare and exports, each finding with the hosts it is
    /// seen on. Message journeys, inbound and logins are not in it.
    #[arg(long, value_name = "DIR")]
    pub from_events: Option<PathBuf>,

    /// With --from-events: only these hosts (repeat or separate with commas).
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub host: Vec<String>,

    /// Only these providers (ids such as google, microsoft, yahoo, other;
    /// repeat or separate with commas).
    #[arg(long, value_name = "ID", value_delimiter = ',')]
    pub provider: Vec<String>,

    /// Only messages from these sender domains or their subdomains (repeat
    /// or separate with commas).
    #[arg(long, value_name = "DOMAIN", value_delimiter = ',')]
    pub sender_domain: Vec<String>,

    /// Skip message journeys and delivery-time statistics: the fastest
    /// scan (with journeys a run takes about three times as long).
    #[arg(long)]
    pub no_journeys: bool,

    /// For cron: print only the findings at warning or worse (at --fail-on's
    /// level when given) and nothing at all when there are none.
    #[arg(long, short = 'q', conflicts_with = "json")]
    pub quiet: bool,

    /// Exit with status 1 when a finding of this severity or worse is found
    /// (`new`: a warning or worse that the days stored with --state have
    /// not seen).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,

    /// Remember this server's days in DIR (one Parquet file per day and
    /// host; a day run again replaces its file) and compare each run's
    /// findings with them: new here, usual here, rising; a trend per
    /// provider.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,

    /// The host name the --state files are kept under (default: this
    /// machine's).
    #[arg(long, value_name = "NAME", requires = "state")]
    pub state_host: Option<String>,

    /// Add or rename providers from this TOML file [default:
    /// $XDG_CONFIG_HOME/mtastat/providers.toml when it exists; see docs/guide.md].
    #[arg(long, value_name = "PATH")]
    pub providers: Option<PathBuf>,

    /// Read finding thresholds from this file (`key = value` lines; see docs/findings.md).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// A finding needs at least this many failures [default: 10].
    #[arg(long, value_name = "N")]
    pub min_count: Option<u64>,

    /// A finding also needs this share of the provider's attempts (0.02 or
    /// 2%), or --dominance [default: 2%].
    #[arg(long, value_name = "SHARE", allow_negative_numbers = true)]
    pub min_share: Option<String>,

    /// Or this share of the provider's failures, instead of --min-share
    /// [default: 50%].
    #[arg(long, value_name = "SHARE", allow_negative_numbers = true)]
    pub dominance: Option<String>,

    /// Share of attempts for a warning [default: 5%].
    #[arg(long, value_name = "SHARE", allow_negative_numbers = true)]
    pub warning_share: Option<String>,

    /// Share of attempts for a critical finding [default: 25%].
    #[arg(long, value_name = "SHARE", allow_negative_numbers = true)]
    pub critical_share: Option<String>,

    /// Year for syslog timestamps that have none (default: from each file's mtime).
    #[arg(long, value_name = "YEAR", value_parser = clap::value_parser!(i32).range(1970..=9999))]
    pub year: Option<i32>,

    /// Time zone of log timestamps written without one (syslog's
    /// `Nov 22 12:39:02`, Exim's without log_timezone), of --since/--until
    /// times without one, and of the report: an IANA name (Europe/Berlin),
    /// UTC, local, an offset (+01:00), or a POSIX TZ string read as TZ reads
    /// it (UTC+5 is five hours west of UTC) [default: the system's zone, TZ].
    #[arg(long, value_name = "ZONE", allow_hyphen_values = true)]
    pub tz: Option<String>,

    /// Show times in UTC in the report (the logs are still read in --tz).
    #[arg(long)]
    pub utc: bool,

    /// Worker threads, 1 to 1024 (default: all cores, or RAYON_NUM_THREADS).
    #[arg(long, short = 'j', value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// When to use colour in the terminal report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// `--format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// The terminal report.
    Text,
    /// One JSON document (what `--json` prints).
    Json,
    /// GitHub-flavoured Markdown, for pasting into a ticket.
    Markdown,
}

impl Common {
    /// True when the report is printed as JSON (`--json` or `--format json`).
    pub fn wants_json(&self) -> bool {
        self.json || self.format == Some(OutputFormat::Json)
    }
}

/// `--fail-on` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any warning or critical finding.
    Warning,
    /// Only critical findings.
    Critical,
    /// A warning or worse that the stored days (--state) have not seen.
    New,
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

    fn moved(args: &[&str]) -> Vec<String> {
        let v = args.iter().map(std::ffi::OsString::from).collect();
        subcommand_first(v)
            .into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }

    /// Issue 15 item 6: options before the subcommand.
    #[test]
    fn options_before_a_subcommand() {
        assert_eq!(
            moved(&["mtastat", "--tz", "UTC", "summary", "f"]),
            ["mtastat", "summary", "--tz", "UTC", "f"]
        );
        assert_eq!(
            moved(&[
                "mtastat", "--utc", "-j", "2", "compare", "google", "yahoo", "f"
            ]),
            [
                "mtastat", "compare", "--utc", "-j", "2", "google", "yahoo", "f"
            ]
        );
        assert_eq!(
            moved(&["mtastat", "--tz=UTC", "-j2", "summary"]),
            ["mtastat", "summary", "--tz=UTC", "-j2"]
        );
        // A file before it, a `--`, or a file really named so: untouched.
        for keep in [
            &["mtastat", "a.log", "summary"][..],
            &["mtastat", "--", "summary"],
            &["mtastat", "--tz", "summary"],
            &["mtastat", "summary", "--tz", "UTC"],
        ] {
            assert_eq!(moved(keep), keep, "{keep:?}");
        }
        let a = Args::parse_from(subcommand_first(
            ["mtastat", "--utc", "compare", "google", "yahoo", "f"]
                .map(std::ffi::OsString::from)
                .to_vec(),
        ));
        assert!(matches!(a.command, Some(Command::Compare(ref c)) if c.common.utc));
    }

    #[test]
    fn defaults() {
        let a = Args::parse_from(["mtastat"]);
        assert!(a.files.is_empty(), "the default log is found at run time");
        assert!(!a.common.json && a.command.is_none());
        let b = Args::parse_from(["mtastat", "-", "x.log", "--json"]);
        assert_eq!(b.files.len(), 2);
        assert!(b.common.json);
    }

    #[test]
    fn filters_and_compare() {
        let a = Args::parse_from([
            "mtastat",
            "--provider",
            "google,yahoo",
            "--provider",
            "apple",
            "--since",
            "1h",
            "--fail-on",
            "warning",
            "x.log",
        ]);
        assert_eq!(a.common.provider, ["google", "yahoo", "apple"]);
        assert_eq!(a.common.fail_on, Some(FailOn::Warning));
        let c = Args::parse_from([
            "mtastat",
            "compare",
            "google",
            "microsoft",
            "m.log",
            "--json",
        ]);
        match c.command {
            Some(Command::Compare(c)) => {
                assert_eq!((c.a.as_str(), c.b.as_str()), ("google", "microsoft"));
                assert_eq!(c.files, [PathBuf::from("m.log")]);
                assert!(c.common.json);
            }
            other => panic!("compare not parsed: {other:?}"),
        }
        let m = Args::parse_from(["mtastat", "man"]);
        assert!(matches!(m.command, Some(Command::Man)));
        let z = Args::parse_from(["mtastat", "completions", "zsh"]);
        assert!(matches!(
            z.command,
            Some(Command::Completions {
                shell: clap_complete::Shell::Zsh
            })
        ));
    }
}
