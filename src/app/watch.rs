//! `mtastat watch [FILE]`: the incident responder's screen. The log is
//! followed (input's `Follower`), its lines go into a window of per-minute
//! batches (aggregate's `Window`), and every `--interval` the last 5 and
//! 60 minutes become reports, a live view, and then the full-screen view,
//! a JSON line and/or the Prometheus textfile.

use super::Outcome;
use super::config::Config;
use crate::aggregate::window::Window;
use crate::analysis::{Analysis, ScanContext};
use crate::app::cli::WatchArgs;
use crate::error::Error;
use crate::input::follow::Follower;
use crate::model::build_report;
use crate::model::live::{LiveView, Seen, live_view};
use crate::parse::header::line_time;
use crate::render::watch::{UiState, draw};
use crate::time::Clock;
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The minutes of the short span.
const RECENT: i64 = 5;
/// Bytes looked at around an offset when searching the file by time.
const PROBE: usize = 64 << 10;

/// The newest line time in the last bytes of `path`.
fn last_time(path: &Path, clock: Clock) -> Option<i64> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(PROBE as u64)))
        .ok()?;
    let mut buf = Vec::with_capacity(PROBE);
    f.take(PROBE as u64).read_to_end(&mut buf).ok()?;
    buf.split(|&b| b == b'\n')
        .rev()
        .find_map(|l| line_time(l, clock))
}

/// The first line time at or after byte `at` (the line it cuts skipped).
fn time_at(f: &mut std::fs::File, at: u64, clock: Clock) -> Option<i64> {
    f.seek(SeekFrom::Start(at)).ok()?;
    let mut buf = Vec::with_capacity(PROBE);
    f.take(PROBE as u64).read_to_end(&mut buf).ok()?;
    let mut lines = buf.split(|&b| b == b'\n');
    if at > 0 {
        lines.next();
    }
    lines.find_map(|l| line_time(l, clock))
}

/// Where the window starts in `path`: a binary search by line time for the
/// first byte of the last `minutes`, so a gigabyte log is not read whole
/// to fill an hour (lines are in time order but for a little jitter, which
/// the margin covers).
fn window_start(path: &Path, clock: Clock, minutes: i64) -> u64 {
    let Some(newest) = last_time(path, clock) else {
        return 0;
    };
    let since = newest - minutes * 60 - 120;
    let Ok(mut f) = std::fs::File::open(path) else {
        return 0;
    };
    let Ok(len) = f.metadata().map(|m| m.len()) else {
        return 0;
    };
    let (mut lo, mut hi) = (0u64, len);
    while hi - lo > PROBE as u64 {
        let mid = lo + (hi - lo) / 2;
        match time_at(&mut f, mid, clock) {
            Some(t) if t < since => lo = mid,
            _ => hi = mid,
        }
    }
    lo
}

/// The reports of the last 5 minutes and of the window, as a live view.
fn refresh(
    config: &Config,
    window: &Window<'_>,
    minutes: i64,
    seen: &mut Seen,
    rate: f64,
) -> Result<(LiveView, crate::model::Report), Error> {
    let report = |batch| -> Result<crate::model::Report, Error> {
        let analysis = Analysis {
            batch,
            files: Vec::new(),
            errors: Vec::new(),
        };
        Ok(build_report(
            &analysis,
            &config.engine.providers,
            &config.thresholds,
            config.shown_in,
        )?
        .0)
    };
    let long = report(window.last(minutes))?;
    let short = report(window.last(RECENT))?;
    let view = live_view(&long, &short, seen, window.lines, rate, minutes);
    Ok((view, long))
}

/// Follows the log until `q`, a signal or `--count` refreshes.
pub(super) fn run(
    config: &Config,
    args: &WatchArgs,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    let path: PathBuf = match &args.file {
        Some(p) => p.clone(),
        None => crate::input::discover::default_log().ok_or_else(|| {
            Error::Usage(format!(
                "watch: no mail log found (looked for {}); name the file",
                crate::input::discover::DEFAULT_LOGS.join(", ")
            ))
        })?,
    };
    let shown = path.display().to_string();
    let input_error = |e: std::io::Error| Error::Usage(format!("{shown}: {e}"));
    let meta = std::fs::metadata(&path).map_err(input_error)?;
    if !meta.is_file() {
        return Err(Error::Usage(format!(
            "{shown}: watch follows a regular file"
        )));
    }
    let mut head = [0u8; 8];
    let n = std::fs::File::open(&path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(input_error)?;
    if crate::input::decode::Compression::sniff(&head[..n]).is_some() {
        return Err(Error::Usage(format!(
            "{shown}: compressed; watch follows the live (plain) log"
        )));
    }
    if !args.interval.is_finite() || args.interval < 0.05 {
        return Err(Error::Usage("--interval: at least 0.05 seconds".into()));
    }
    let prometheus = match &args.prometheus {
        Some(p) => Some(crate::export::target::Target::resolve(p).map_err(Error::Usage)?),
        None => None,
    };
    if prometheus.is_some() {
        let _ = crate::export::target::cleanup::on_signals();
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or_else(super::config::now, |d| d.as_secs() as i64);
    let clock = config
        .settings
        .clock(crate::input::discover::year_reference(
            &path,
            mtime,
            config.settings.zone,
        ));
    let ctx = ScanContext {
        engine: &config.engine,
        filter: &config.filter,
        clock,
        events: None,
        journeys: false,
        journey_text: false,
        per_address: false,
        summary_tables: false,
    };
    let minutes = args.window;
    let mut window = Window::new(ctx, minutes);
    let mut follower =
        Follower::open(&path, window_start(&path, clock, minutes)).map_err(input_error)?;

    let screen = !args.json_lines && std::io::stdout().is_terminal();
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let _ = signal_hook::flag::register(signal, Arc::clone(&stop));
    }
    let mut terminal = screen.then(ratatui::init);
    let mut ui = UiState {
        file: shown.clone(),
        ..UiState::default()
    };
    let mut seen = Seen::default();
    let mut errors = Vec::new();
    let mut refreshes = 0u64;
    let mut last: Option<LiveView> = None;
    let mut buf = Vec::new();
    let (mut then, mut lines_then) = (Instant::now(), 0u64);
    let mut due = Instant::now();
    let result = (|| -> Result<(), Error> {
        loop {
            buf.clear();
            match follower.poll(&mut buf) {
                Ok(_) => window.feed(&buf),
                Err(e) => errors.push(format!("{shown}: {e}")),
            }
            if Instant::now() >= due {
                let elapsed = then.elapsed().as_secs_f64().max(1e-3);
                let rate = (window.lines - lines_then) as f64 / elapsed;
                (then, lines_then) = (Instant::now(), window.lines);
                let (view, report) = refresh(config, &window, minutes, &mut seen, rate)?;
                if let Some(t) = &prometheus {
                    let newest = window.now().map(|m| m * 60 + 59);
                    if let Err(e) =
                        crate::export::prometheus::write(&report, super::config::now(), newest, t)
                    {
                        errors.push(format!("--prometheus: {e}"));
                    }
                }
                if !screen {
                    serde_json::to_writer(&mut *out, &view).map_err(|e| Error::Output(e.into()))?;
                    writeln!(out).map_err(Error::Output)?;
                    out.flush().map_err(Error::Output)?;
                }
                if !ui.paused {
                    last = Some(view);
                }
                refreshes += 1;
                due = Instant::now() + Duration::from_secs_f64(args.interval);
                if args.count.is_some_and(|n| refreshes >= n) {
                    return Ok(());
                }
            }
            if let (Some(term), Some(view)) = (terminal.as_mut(), last.as_ref()) {
                term.draw(|f| draw(f, view, &ui)).map_err(Error::Output)?;
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let wait = due
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(200));
            if screen {
                if event::poll(wait).map_err(Error::Output)?
                    && let Event::Key(k) = event::read().map_err(Error::Output)?
                    && k.kind == KeyEventKind::Press
                {
                    let n = last.as_ref().map_or(0, |v| v.providers.len().min(10));
                    match k.code {
                        KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
                        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                            return Ok(());
                        }
                        KeyCode::Down | KeyCode::Char('j') if n > 0 => {
                            ui.selected = (ui.selected + 1) % n;
                        }
                        KeyCode::Up | KeyCode::Char('k') if n > 0 => {
                            ui.selected = (ui.selected + n - 1) % n;
                        }
                        KeyCode::Char('c') => {
                            let name = last
                                .as_ref()
                                .and_then(|v| v.providers.get(ui.selected))
                                .map(|p| p.provider.clone());
                            ui.compare = if ui.compare == name { None } else { name };
                        }
                        KeyCode::Char('p') | KeyCode::Char(' ') => ui.paused = !ui.paused,
                        _ => {}
                    }
                }
            } else {
                std::thread::sleep(wait);
            }
        }
    })();
    if terminal.is_some() {
        ratatui::restore();
    }
    result?;
    Ok(Outcome {
        input_errors: errors,
        export_errors: Vec::new(),
        findings_failed: false,
    })
}
