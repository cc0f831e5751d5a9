//! The command line resolved: the filter, the thresholds, the provider
//! table, colour and `--fail-on`, each from the arguments once, with the
//! one-line usage error a bad value deserves.

use crate::app::cli::{Args, ColorChoice, Command, Common, FailOn, OutputFormat};
use crate::classify::Engine;
use crate::classify::{self, provider::ProviderMap};
use crate::detect::{Finding, Severity, Thresholds};
use crate::error::Error;
use crate::filter::{self, Filter};
use crate::input::{self, InputSettings};
use crate::time::UnixSeconds;
use crate::time::zone::Zone;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Everything a run needs from its arguments, resolved and checked before
/// any input is read (like ripgrep's `HiArgs`): a bad value is one line and
/// exit 2, not a scan of gigabytes followed by an error.
pub(crate) struct Config {
    /// Provider table, classifier, masker.
    pub engine: Engine,
    /// Which attempts count.
    pub filter: Filter,
    /// The rules' knobs.
    pub thresholds: Thresholds,
    /// The zone the report shows times in (`--utc`, else the logs' zone).
    pub shown_in: Zone,
    /// What the input stage needs (journeys, `summary`, year, zone, threads).
    pub settings: InputSettings,
    /// Colour the terminal output.
    pub colour: bool,
    /// `--fail-on`.
    pub fail_on: Option<FailOn>,
    /// `--quiet`.
    pub quiet: bool,
    /// `--format`, `--json`.
    pub format: Format,
    /// `compare A B`: the two provider ids.
    pub compared: Option<[u16; 2]>,
    /// `--state DIR` and the host its files are kept under.
    pub state: Option<(PathBuf, String)>,
}

/// What the report is printed as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// The terminal report.
    Text,
    /// `--json`, `--format json`.
    Json,
    /// `--format markdown`.
    Markdown,
}

impl Config {
    /// Checks the options against each other, resolves the zone, the
    /// provider table, the filter and the thresholds, and starts the worker
    /// pool.
    pub fn resolve(args: &Args, common: &Common) -> Result<Config, Error> {
        let format = if common.wants_json() {
            Format::Json
        } else if common.format == Some(OutputFormat::Markdown) {
            Format::Markdown
        } else {
            Format::Text
        };
        if common.quiet && format != Format::Text {
            return Err(Error::Usage(
                "--quiet prints text: use it without --format json/markdown".into(),
            ));
        }
        if common.fail_on == Some(FailOn::New) && common.state.is_none() {
            return Err(Error::Usage(
                "--fail-on new needs --state DIR (the days it compares with)".into(),
            ));
        }
        if matches!(&common.state_host, Some(h) if h.is_empty() || h.len() > 253) {
            return Err(Error::Usage("--state-host: 1 to 253 characters".into()));
        }
        let summary = matches!(args.command, Some(Command::Summary(_)));
        if summary && format == Format::Markdown {
            return Err(Error::Usage(
                "summary prints text or JSON (--format text|json)".into(),
            ));
        }
        if matches!(args.command, Some(Command::Trace(_))) && format == Format::Markdown {
            return Err(Error::Usage(
                "trace prints text or JSON (--format text|json)".into(),
            ));
        }
        if common.no_journeys && args.journeys.is_some() {
            return Err(Error::Usage(
                "--journeys exports what --no-journeys turns off: use one of them".into(),
            ));
        }
        let log_zone = match &common.tz {
            Some(spec) => Zone::parse(spec).map_err(|e| Error::Usage(format!("--tz: {e}")))?,
            None => Zone::system(),
        };
        let engine = Engine::new(provider_map(common)?);
        let filter = filter_from(common, &engine.providers, log_zone)?;
        let thresholds = thresholds_from(common)?;
        let compared = match &args.command {
            Some(Command::Compare(c)) => {
                match provider_ids(&[c.a.clone(), c.b.clone()], &engine.providers)?[..] {
                    [a, b] => Some([a, b]),
                    _ => None,
                }
            }
            _ => None,
        };
        start_pool(common.threads)?;
        Ok(Config {
            engine,
            filter,
            thresholds,
            shown_in: if common.utc { Zone::UTC } else { log_zone },
            settings: InputSettings {
                journeys: !common.no_journeys,
                summary,
                year: common.year,
                zone: log_zone,
                threads: rayon::current_num_threads(),
            },
            colour: colour(common.color),
            fail_on: common.fail_on,
            quiet: common.quiet,
            state: common.state.clone().map(|dir| {
                let host = common.state_host.clone().unwrap_or_else(this_host);
                (dir, host)
            }),
            format,
            compared,
        })
    }
}

/// The worker pool, built here rather than lazily: a pool the system will
/// not give (a process or thread limit) is then one line and exit 2, where
/// rayon's lazy start panics.
fn start_pool(threads: Option<u16>) -> Result<(), Error> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.map_or(0, usize::from))
        .build_global()
        .map_err(|e| {
            Error::Usage(match threads {
                Some(n) => format!("-j {n}: cannot start {n} threads: {e}"),
                None => format!("cannot start the worker threads: {e}"),
            })
        })
}

/// Seconds since the epoch, now.
pub(crate) fn now() -> UnixSeconds {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as UnixSeconds)
}

/// Builds the filter from the shared options.
/// `zone` reads times given without one.
pub fn filter_from(common: &Common, providers: &ProviderMap, zone: Zone) -> Result<Filter, Error> {
    let now = now();
    let time = |spec: &Option<String>, flag: &str| -> Result<Option<UnixSeconds>, Error> {
        spec.as_deref()
            .map(|s| {
                filter::parse_time_spec(s, now, zone)
                    .map_err(|e| Error::Usage(format!("{flag}: {e}")))
            })
            .transpose()
    };
    let since = time(&common.since, "--since")?;
    let until = time(&common.until, "--until")?;
    if let (Some(s), Some(u)) = (since, until)
        && u <= s
    {
        return Err(Error::Usage(format!(
            "--until ({}) is not after --since ({})",
            zone.format(u),
            zone.format(s)
        )));
    }
    let ids = provider_ids(&common.provider, providers)?;
    let provider_mask = (!ids.is_empty()).then(|| {
        let mut mask = vec![false; providers.len()];
        for id in ids {
            mask[usize::from(id)] = true;
        }
        mask
    });
    Ok(Filter {
        since,
        until,
        providers: provider_mask,
        sender_domains: common
            .sender_domain
            .iter()
            .map(|d| {
                d.trim()
                    .trim_start_matches('@')
                    .to_ascii_lowercase()
                    .into_bytes()
            })
            .filter(|d| !d.is_empty())
            .collect(),
    })
}

/// Resolves provider ids given on the command line.
pub fn provider_ids(names: &[String], providers: &ProviderMap) -> Result<Vec<u16>, Error> {
    names
        .iter()
        .map(|name| {
            let want = name.trim().to_ascii_lowercase();
            providers.id_of(&want).ok_or_else(|| {
                Error::Usage(format!(
                    "unknown provider {name:?}; known: {}",
                    providers.ids().collect::<Vec<_>>().join(", ")
                ))
            })
        })
        .collect()
}

/// Defaults, then `--config`, then threshold flags.
pub fn thresholds_from(common: &Common) -> Result<Thresholds, Error> {
    let mut t = Thresholds::default();
    if let Some(path) = &common.config {
        let text = input::read_small_file(path)
            .map_err(|e| Error::Usage(format!("{}: cannot read config: {e}", path.display())))?;
        t.apply_config(&text)
            .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    }
    if let Some(n) = common.min_count {
        t.min_count = n;
    }
    let shares = [
        ("min_share", &common.min_share),
        ("dominance", &common.dominance),
        ("warning_share", &common.warning_share),
        ("critical_share", &common.critical_share),
    ];
    for (key, value) in shares {
        if let Some(v) = value {
            t.set(key, v).map_err(|e| {
                // The message names the config key; the flag is named instead.
                let e = e.strip_prefix(&format!("{key}: ")).unwrap_or(&e);
                Error::Usage(format!("--{}: {e}", key.replace('_', "-")))
            })?;
        }
    }
    Ok(t)
}

/// Whether the terminal report is coloured.
pub(crate) fn colour(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// The built-in provider table plus the user's provider file: `--providers`,
/// else the default path when that file exists.
pub(crate) fn provider_map(common: &Common) -> Result<ProviderMap, Error> {
    let mut map = ProviderMap::builtin();
    let path = match &common.providers {
        Some(p) => Some(p.clone()),
        None => classify::overrides::default_path().filter(|p| p.is_file()),
    };
    if let Some(path) = path {
        classify::overrides::load(&mut map, &path)
            .map_err(|e| Error::Usage(format!("providers file {e}")))?;
    }
    Ok(map)
}

/// The least severity `--fail-on` (and `--quiet`) care about.
pub(crate) fn severity_floor(fail_on: Option<FailOn>) -> Severity {
    match fail_on {
        Some(FailOn::Critical) => Severity::Critical,
        Some(FailOn::Warning | FailOn::New) | None => Severity::Warning,
    }
}

/// True when `--fail-on` was given and a finding reached its severity.
pub(crate) fn fails(findings: &[Finding], fail_on: Option<FailOn>) -> bool {
    let new_only = fail_on == Some(FailOn::New);
    fail_on.is_some()
        && findings.iter().any(|f| {
            f.severity >= severity_floor(fail_on)
                && (!new_only || f.history.as_ref().is_some_and(|h| h.verdict == "new"))
        })
}

/// This machine's host name (the default `--state-host`; the kernel's,
/// as `hostname` prints it), `localhost` when it has none.
pub(super) fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
