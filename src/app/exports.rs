//! Every export: the ones made from the finished report, in one registry
//! (the option that asks for it and its writer: a new export is its writer
//! in `export/` and one row here, besides its option in `cli.rs`), and the
//! two the scan streams into (per-attempt events, journeys). Their
//! destinations are checked before anything is read.

use super::config;
use crate::aggregate::batch::{Batch, MAX_HOSTS};
use crate::aggregate::sinks::EventWriter;
use crate::app::cli::{Args, Common};
use crate::classify::Engine;
use crate::error::Error;
use crate::export::{self, events::EventSink, journeys::JourneySink};
use crate::input::Source;
use crate::journey::JourneyWriter;
use crate::model::Report;
use crate::render::{self, Render};
use polars::prelude::DataFrame;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The journeys export's format, by the file's extension (CSV for `.csv`).
fn export_format(path: &Path) -> export::Format {
    match path.extension() {
        Some(e) if e.eq_ignore_ascii_case("csv") => export::Format::Csv,
        _ => export::Format::Parquet,
    }
}

/// What the report's exports are made from.
pub(super) struct Made<'a> {
    /// The report.
    pub report: &'a Report,
    /// The summary frame (provider × domain × status × code).
    pub summary: &'a DataFrame,
    /// The newest log line's time (Prometheus says how stale it is).
    pub last_line: Option<i64>,
}

/// The options of the exports made from the finished report, flattened
/// into the command line's arguments: each is one field here and one row
/// of [`REPORT_EXPORTS`].
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ReportExportArgs {
    /// Write the summary frame as CSV to this file (atomically).
    #[arg(long, value_name = "PATH")]
    pub csv: Option<PathBuf>,

    /// Write the summary frame as Parquet (zstd) to this file (atomically).
    #[arg(long, value_name = "PATH")]
    pub parquet: Option<PathBuf>,

    /// Write the report as one self-contained HTML page (charts, no scripts,
    /// nothing fetched) to this file (atomically).
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,

    /// Write metrics for node_exporter's textfile collector to this file
    /// (atomically; e.g. /var/lib/prometheus/node-exporter/mtastat.prom).
    #[arg(long, value_name = "PATH")]
    pub prometheus: Option<PathBuf>,

    /// Write the findings as JSON Lines, one finding per line with the run
    /// it came from, for a SIEM or a log shipper (atomically; `-` for
    /// standard output).
    #[arg(long, value_name = "PATH")]
    pub findings_jsonl: Option<PathBuf>,
}

/// An export made from the finished report.
struct ReportExport {
    /// Where the arguments hold its path.
    path: fn(&ReportExportArgs) -> Option<&Path>,
    /// Writes it.
    write: fn(&Made<'_>, &export::Target) -> io::Result<()>,
}

/// The report's exports, in the order they are checked and written.
const REPORT_EXPORTS: [ReportExport; 5] = [
    // --csv: the summary frame.
    ReportExport {
        path: |a| a.csv.as_deref(),
        write: |m, t| export::write_frame(m.summary, t, export::Format::Csv),
    },
    // --parquet: the summary frame.
    ReportExport {
        path: |a| a.parquet.as_deref(),
        write: |m, t| export::write_frame(m.summary, t, export::Format::Parquet),
    },
    // --html: one self-contained page.
    ReportExport {
        path: |a| a.html.as_deref(),
        write: |m, t| export::write_to(t, |w| render::Html.render(m.report, w)),
    },
    // --prometheus: the node_exporter textfile.
    ReportExport {
        path: |a| a.prometheus.as_deref(),
        write: |m, t| export::prometheus::write(m.report, config::now(), m.last_line, t),
    },
    // --findings-jsonl: the findings for a SIEM.
    ReportExport {
        path: |a| a.findings_jsonl.as_deref(),
        write: |m, t| export::findings::write(m.report, config::now(), t),
    },
];

/// Where the journeys export's path is (it streams during the scan).
fn journeys_path(args: &Args) -> Option<&Path> {
    args.journeys.as_deref()
}

/// The exports' destinations, checked before anything is read.
#[derive(Debug, Default)]
pub(super) struct Targets {
    /// The report's exports asked for: registry index, path as given, target.
    report: Vec<(usize, PathBuf, export::Target)>,
    /// `--journeys`.
    journeys: Option<export::Target>,
}

impl Targets {
    /// Resolves every export path, and refuses (one line each) an export
    /// over any file the run reads (named, or found in a directory; by
    /// device and inode, so hard links and symlinks count), two exports to
    /// one file, and `--events` where it would replace whole partitions with
    /// a subset.
    pub fn check(args: &Args, common: &Common, sources: &[Source]) -> Result<Targets, Error> {
        use export::target::file_id;
        let resolve = |p: &Path| export::Target::resolve(p).map_err(Error::Usage);
        let mut t = Targets {
            journeys: journeys_path(args).map(resolve).transpose()?,
            ..Targets::default()
        };
        for (i, e) in REPORT_EXPORTS.iter().enumerate() {
            if let Some(path) = (e.path)(&args.exports) {
                t.report.push((i, path.to_path_buf(), resolve(path)?));
            }
        }
        let inputs: Vec<((u64, u64), &Path)> = sources
            .iter()
            .filter_map(|s| match s {
                Source::Path(p) => file_id(p).map(|id| (id, p.as_path())),
                Source::Stdin => None,
            })
            .collect();
        let mut seen: Vec<(String, &Path)> = Vec::new();
        for (path, target) in t.named(args) {
            if let Some(id) = target.identity()
                && let Some((_, input)) = inputs.iter().find(|(i, _)| *i == id)
                && !matches!(target, export::Target::Stream(_))
            {
                return Err(Error::Usage(format!(
                    "{}: refusing to export over an input file ({})",
                    path.display(),
                    input.display()
                )));
            }
            let key = target_key(target);
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                return Err(Error::Usage(if key == "-" {
                    format!(
                        "{} and {} both go to standard output: one export at most can",
                        first.display(),
                        path.display()
                    )
                } else {
                    format!(
                        "{} and {} are the same file: give each export its own",
                        first.display(),
                        path.display()
                    )
                }));
            }
            seen.push((key, path));
        }
        if let Some(dir) = &args.events {
            if dir.as_os_str() == "-" {
                return Err(Error::Usage(
                    "--events writes a directory, not standard output".into(),
                ));
            }
            if !common.provider.is_empty() || !common.sender_domain.is_empty() {
                return Err(Error::Usage(
                    "--events replaces whole (date, host) partitions: with --provider or \
                     --sender-domain it would replace them with a subset; filter when you query"
                        .into(),
                ));
            }
            // A partition switch removes the old partition directory: an
            // input inside one would go with it.
            let root = file_id(dir);
            let in_partition = |p: &Path| {
                p.ancestors().any(|a| {
                    let partition = a
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("date="));
                    partition && root.is_some() && a.parent().and_then(file_id) == root
                })
            };
            if let Some((_, input)) = inputs.iter().find(|(_, p)| in_partition(p)) {
                return Err(Error::Usage(format!(
                    "{}: refusing to write events over an input file ({})",
                    dir.display(),
                    input.display()
                )));
            }
        }
        Ok(t)
    }

    /// (the path as given, its target), for each export asked for.
    fn named<'a>(&'a self, args: &'a Args) -> Vec<(&'a Path, &'a export::Target)> {
        let report = self.report.iter().map(|(_, p, t)| (p.as_path(), t));
        let journeys = journeys_path(args).zip(self.journeys.as_ref());
        report.chain(journeys).collect()
    }

    /// Every export's target asked for.
    fn all(&self) -> impl Iterator<Item = &export::Target> {
        self.report.iter().map(|(_, _, t)| t).chain(&self.journeys)
    }

    /// Writes the report's exports, each on its own: one that fails is
    /// reported and the others are still written.
    pub fn write_all(&self, made: &Made<'_>, errors: &mut Vec<String>) {
        for (i, path, target) in &self.report {
            if let Err(e) = (REPORT_EXPORTS[*i].write)(made, target) {
                errors.push(Error::export(path)(e).to_string());
            }
        }
    }

    /// True when an export replaces a file (and so has a temp file).
    pub fn any_file(&self) -> bool {
        self.all().any(|t| matches!(t, export::Target::File(_)))
    }

    /// True when an export writes to standard output.
    pub fn stdout_taken(&self) -> bool {
        self.all().any(|t| t == &export::Target::Stdout)
    }
}

/// What makes two targets the same file: device and inode when it exists,
/// else the absolute path of its directory and its name.
fn target_key(t: &export::Target) -> String {
    match t {
        export::Target::Stdout => "-".into(),
        export::Target::File(p) | export::Target::Stream(p) => match t.identity() {
            Some((dev, ino)) => format!("{dev}:{ino}"),
            None => {
                let dir = p
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
                dir.join(p.file_name().unwrap_or_default())
                    .display()
                    .to_string()
            }
        },
    }
}

/// The exports the scan streams into, started before it: one that cannot
/// start is reported, and the scan and the report go on.
pub(super) struct Sinks {
    /// `--events DIR`.
    pub events: Option<Arc<EventSink>>,
    /// `--journeys FILE`.
    pub journeys: Option<Arc<JourneySink>>,
}

impl Sinks {
    /// The events export as the scan sees it (its own trait).
    pub fn event_writer(&self) -> Option<Arc<dyn EventWriter>> {
        self.events.clone().map(|e| e as _)
    }

    /// The journeys export as the scan sees it.
    pub fn journey_writer(&self) -> Option<Arc<dyn JourneyWriter>> {
        self.journeys.clone().map(|j| j as _)
    }

    /// Starts the streamed exports asked for.
    pub fn start(
        args: &Args,
        targets: &Targets,
        engine: &Engine,
        errors: &mut Vec<String>,
    ) -> Sinks {
        let names = || engine.providers.ids().map(str::to_string).collect();
        let events = args.events.as_ref().and_then(|dir| {
            let host = args
                .events_host
                .clone()
                .unwrap_or_else(super::config::this_host);
            EventSink::create(dir, names(), &host)
                .map_err(|e| errors.push(Error::export(dir)(e).to_string()))
                .ok()
                .map(Arc::new)
        });
        let journeys = match (journeys_path(args), &targets.journeys) {
            (Some(path), Some(target)) => JourneySink::create(target, export_format(path), names())
                .map_err(|e| errors.push(Error::export(path)(e).to_string()))
                .ok()
                .map(Arc::new),
            _ => None,
        };
        Sinks { events, journeys }
    }

    /// Commits what the scan streamed (partitions switched in, the journeys
    /// file renamed into place), naming the strings its rows hold by id.
    pub fn commit(&self, args: &Args, b: &Batch, errors: &mut Vec<String>) {
        if let (Some(sink), Some(dir)) = (&self.events, &args.events) {
            match sink.commit() {
                Ok(_) if sink.overflow_rows() > 0 => errors.push(format!(
                    "{}: more than {} hosts; {} rows written under host={}",
                    dir.display(),
                    MAX_HOSTS,
                    sink.overflow_rows(),
                    export::events::OVERFLOW_PARTITION
                )),
                Ok(_) => {}
                Err(e) => errors.push(Error::export(dir)(e).to_string()),
            }
        }
        if let (Some(sink), Some(path)) = (&self.journeys, journeys_path(args)) {
            let names = crate::journey::JourneyNames {
                delivered_to: &b.delivered_to,
                addresses: &b.addresses,
                senders: &b.senders,
                clients: &b.clients,
                domains: &b.domains,
                reasons: &b.reasons,
            };
            if let Err(e) = sink.commit(names) {
                errors.push(Error::export(path)(e).to_string());
            }
        }
    }
}
