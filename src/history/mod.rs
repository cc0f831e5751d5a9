//! `--state DIR`: what is normal on this server.
//!
//! Every run stores its attempts per local day × hour × provider × status ×
//! code class × category as one Parquet file per day and host
//! (`DIR/day=YYYY-MM-DD/HOST.parquet`, Hive-style, readable by DuckDB and
//! polars like the events export); running a day again replaces its file.
//! The next run reads the stored days before its own and says of each
//! finding whether this server has seen it before: *new* (on none of the
//! stored days), *usual* (on most of them, at about today's level: its
//! severity drops one step), *rising* (well above its 7-day median) or
//! *returning*; and per provider, how attempts and failures moved over the
//! stored days.

use crate::aggregate::batch::Batch;
use crate::classify::category::Category;
use crate::classify::provider::ProviderMap;
use crate::detect::{Baseline, Finding, Severity, median};
use crate::event::Status;
use crate::time::zone::Zone;
use crate::time::{civil_from_days, days_from_civil};
use polars::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The stored file's columns.
pub const COLUMNS: [&str; 8] = [
    "day", "host", "hour", "provider", "status", "class", "category", "attempts",
];

/// Stored days a run compares with.
pub const DAYS_COMPARED: i64 = 30;
/// Days the median is taken over.
const MEDIAN_DAYS: usize = 7;
/// A finding this many times its median per day is rising.
const RISING: f64 = 3.0;

/// `YYYY-MM-DD` of a day number.
pub fn day_name(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The name of a day directory's file for `host`: `HOST.parquet`, or
/// `HOST.journeys.parquet` for its journey statistics (HOST encoded like
/// the events' host partitions). The writer and [`History::load`] share it.
pub fn state_file_name(host: &str, journeys: bool) -> String {
    let kind = if journeys { ".journeys" } else { "" };
    format!(
        "{}{kind}.parquet",
        crate::escape::partition_value(host.as_bytes())
    )
}

/// The day number of `YYYY-MM-DD`, if it is one.
pub fn day_number(name: &str) -> Option<i64> {
    let b = name.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i32 = name[..4].parse().ok()?;
    let m: u32 = name[5..7].parse().ok()?;
    let d: u32 = name[8..].parse().ok()?;
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || d == 0
        || d > crate::time::days_in_month(y, m)
    {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// A stored frame's column cast to `t` (a file written by another version
/// or by hand may hold other widths); one line when it cannot be.
fn column_as(df: &DataFrame, name: &str, t: &DataType) -> Result<Column, String> {
    df.column(name)
        .and_then(|c| c.cast(t))
        .map_err(|e| e.to_string())
}

/// A stored frame's text column.
fn texts(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>, String> {
    let c = column_as(df, name, &DataType::String)?;
    let ca = c.str().map_err(|e| e.to_string())?;
    Ok(ca.iter().map(|v| v.map(str::to_string)).collect())
}

/// A stored frame's integer column.
fn numbers(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>, String> {
    let c = column_as(df, name, &DataType::Int64)?;
    Ok(c.i64().map_err(|e| e.to_string())?.iter().collect())
}

/// A stored frame's float column.
fn floats(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>, String> {
    let c = column_as(df, name, &DataType::Float64)?;
    Ok(c.f64().map_err(|e| e.to_string())?.iter().collect())
}

/// One stored cell.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Cell {
    day: i64,
    hour: i32,
    provider: String,
    status: &'static str,
    class: u8,
    category: &'static str,
}

/// The stored journey file's columns (one row per provider of the run's
/// main day).
pub const JOURNEY_COLUMNS: [&str; 10] = [
    "day",
    "host",
    "provider",
    "recipients",
    "delivered",
    "bounced",
    "expired",
    "first_attempt_share",
    "p50_delivery_seconds",
    "p90_delivery_seconds",
];

/// A provider's message journeys on a day.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct JourneyDay {
    /// Recipients whose journey was in the log.
    pub recipients: u64,
    /// Of those, delivered.
    pub delivered: u64,
    /// Bounced.
    pub bounced: u64,
    /// Expired.
    pub expired: u64,
    /// Delivered at the first attempt / delivered.
    pub first_attempt_share: Option<f64>,
    /// Median time to deliver, seconds.
    pub p50: Option<f64>,
    /// 90th percentile time to deliver, seconds.
    pub p90: Option<f64>,
}

/// Attempts per day of one host: this run's, or the stored ones.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Days (numbers) it holds.
    pub days: BTreeSet<i64>,
    cells: BTreeMap<Cell, u64>,
    /// Journeys per (day, provider), where stored.
    journeys: BTreeMap<(i64, String), JourneyDay>,
}

fn status_name(s: &str) -> Option<&'static str> {
    Status::ALL.iter().map(|s| s.as_str()).find(|n| *n == s)
}

fn category_name(s: &str) -> Option<&'static str> {
    Category::ALL.iter().map(|c| c.as_str()).find(|n| *n == s)
}

impl History {
    /// This run's attempts (as the findings count them: attempted or
    /// expired, not Exim's per-host errors), by day and hour in `zone`.
    pub fn of_run(batch: &Batch, providers: &ProviderMap, zone: Zone) -> History {
        let mut h = History::default();
        for (k, n) in &batch.deliveries.timeline {
            if k.per_host || !(k.attempted || k.status == Status::Expired) {
                continue;
            }
            let wall = zone.to_wall(k.minute * 60);
            let cell = Cell {
                day: wall.div_euclid(86_400),
                hour: (wall.rem_euclid(86_400) / 3600) as i32,
                provider: providers.info(k.provider).id.clone(),
                status: k.status.as_str(),
                class: k.class,
                category: k.category.as_str(),
            };
            h.days.insert(cell.day);
            *h.cells.entry(cell).or_default() += n;
        }
        h
    }

    /// The day holding most of the run's attempts: its journey statistics
    /// are stored under it (journeys are counted per run, not per day; a
    /// nightly run over yesterday's log is one day).
    pub fn main_day(&self) -> Option<i64> {
        let mut per_day: BTreeMap<i64, u64> = BTreeMap::new();
        for (c, n) in &self.cells {
            *per_day.entry(c.day).or_default() += n;
        }
        per_day
            .into_iter()
            .max_by_key(|(d, n)| (*n, std::cmp::Reverse(*d)))
            .map(|(d, _)| d)
    }

    /// Sets a provider's journeys on `day` (this run's, from the report).
    pub fn set_journeys(&mut self, day: i64, provider: &str, j: JourneyDay) {
        self.journeys.insert((day, provider.to_string()), j);
    }

    /// The run's journeys as the stored frame (rows for `day`).
    pub fn journey_frame(&self, day: i64, host: &str) -> PolarsResult<DataFrame> {
        let rows: Vec<(&String, &JourneyDay)> = self
            .journeys
            .iter()
            .filter(|((d, _), _)| *d == day)
            .map(|((_, p), j)| (p, j))
            .collect();
        let n = rows.len();
        let name = day_name(day);
        let c = JOURNEY_COLUMNS;
        DataFrame::new(
            n,
            vec![
                Column::new(c[0].into(), vec![name.as_str(); n]),
                Column::new(c[1].into(), vec![host; n]),
                Column::new(
                    c[2].into(),
                    rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
                ),
                Column::new(
                    c[3].into(),
                    rows.iter().map(|r| r.1.recipients).collect::<Vec<_>>(),
                ),
                Column::new(
                    c[4].into(),
                    rows.iter().map(|r| r.1.delivered).collect::<Vec<_>>(),
                ),
                Column::new(
                    c[5].into(),
                    rows.iter().map(|r| r.1.bounced).collect::<Vec<_>>(),
                ),
                Column::new(
                    c[6].into(),
                    rows.iter().map(|r| r.1.expired).collect::<Vec<_>>(),
                ),
                Column::new(
                    c[7].into(),
                    rows.iter()
                        .map(|r| r.1.first_attempt_share)
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    c[8].into(),
                    rows.iter().map(|r| r.1.p50).collect::<Vec<_>>(),
                ),
                Column::new(
                    c[9].into(),
                    rows.iter().map(|r| r.1.p90).collect::<Vec<_>>(),
                ),
            ],
        )
    }

    /// Adds a stored day's journeys frame (as read back).
    fn absorb_journeys(&mut self, day: i64, df: &DataFrame) -> Result<(), String> {
        let provider = texts(df, "provider")?;
        let (rc, dc) = (numbers(df, "recipients")?, numbers(df, "delivered")?);
        let (bc, ec) = (numbers(df, "bounced")?, numbers(df, "expired")?);
        let (fa, p50, p90) = (
            floats(df, "first_attempt_share")?,
            floats(df, "p50_delivery_seconds")?,
            floats(df, "p90_delivery_seconds")?,
        );
        let finite = |x: Option<f64>| x.filter(|v| v.is_finite() && *v >= 0.0);
        let count = |v: &[Option<i64>], i: usize| v[i].unwrap_or(0).max(0) as u64;
        for i in 0..df.height() {
            let Some(p) = &provider[i] else { continue };
            self.journeys.insert(
                (day, p.chars().take(64).collect()),
                JourneyDay {
                    recipients: count(&rc, i),
                    delivered: count(&dc, i),
                    bounced: count(&bc, i),
                    expired: count(&ec, i),
                    first_attempt_share: finite(fa[i]).map(|x| x.min(1.0)),
                    p50: finite(p50[i]),
                    p90: finite(p90[i]),
                },
            );
        }
        Ok(())
    }

    /// One day's cells as the stored frame.
    pub fn day_frame(&self, day: i64, host: &str) -> PolarsResult<DataFrame> {
        let rows: Vec<(&Cell, &u64)> = self.cells.iter().filter(|(c, _)| c.day == day).collect();
        let n = rows.len();
        let name = day_name(day);
        let c = COLUMNS;
        DataFrame::new(
            n,
            vec![
                Column::new(c[0].into(), vec![name.as_str(); n]),
                Column::new(c[1].into(), vec![host; n]),
                Column::new(
                    c[2].into(),
                    rows.iter().map(|r| r.0.hour).collect::<Vec<_>>(),
                ),
                Column::new(
                    c[3].into(),
                    rows.iter()
                        .map(|r| r.0.provider.as_str())
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    c[4].into(),
                    rows.iter().map(|r| r.0.status).collect::<Vec<_>>(),
                ),
                Column::new(
                    c[5].into(),
                    rows.iter().map(|r| r.0.class).collect::<Vec<_>>(),
                ),
                Column::new(
                    c[6].into(),
                    rows.iter().map(|r| r.0.category).collect::<Vec<_>>(),
                ),
                Column::new(c[7].into(), rows.iter().map(|r| *r.1).collect::<Vec<_>>()),
            ],
        )
    }

    /// Adds a stored day's frame (as read back).
    fn absorb(&mut self, day: i64, df: &DataFrame) -> Result<(), String> {
        let (hour, provider, status, class, category, attempts) = (
            numbers(df, "hour")?,
            texts(df, "provider")?,
            texts(df, "status")?,
            numbers(df, "class")?,
            texts(df, "category")?,
            numbers(df, "attempts")?,
        );
        self.days.insert(day);
        for i in 0..df.height() {
            let (Some(p), Some(s), Some(c)) = (&provider[i], &status[i], &category[i]) else {
                continue;
            };
            let (Some(status), Some(category)) = (status_name(s), category_name(c)) else {
                continue;
            };
            let cell = Cell {
                day,
                hour: hour[i].unwrap_or(0).clamp(0, 23) as i32,
                provider: p.chars().take(64).collect(),
                status,
                class: class[i].unwrap_or(0).clamp(0, 9) as u8,
                category,
            };
            let n = attempts[i].unwrap_or(0).max(0) as u64;
            *self.cells.entry(cell).or_default() += n;
        }
        Ok(())
    }

    /// The days stored in `dir` for `host`, from `DAYS_COMPARED` days
    /// before `before` up to the day before it. A file that cannot be read
    /// is said (in the returned list), not fatal.
    pub fn load(dir: &Path, host: &str, before: i64) -> (History, Vec<String>) {
        let mut h = History::default();
        let mut problems = Vec::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return (h, problems);
        };
        let file = state_file_name(host, false);
        let journey_file = state_file_name(host, true);
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(day) = name
                .to_str()
                .and_then(|n| n.strip_prefix("day="))
                .and_then(day_number)
            else {
                continue;
            };
            if day >= before || day < before - DAYS_COMPARED {
                continue;
            }
            // A day directory that is a symlink is not one of ours.
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let journeys = entry.path().join(&journey_file);
            if let Ok(f) = std::fs::File::open(&journeys) {
                let read = ParquetReader::new(f)
                    .finish()
                    .map_err(|e| e.to_string())
                    .and_then(|df| h.absorb_journeys(day, &df));
                if let Err(e) = read {
                    problems.push(format!("{}: {e}", journeys.display()));
                }
            }
            let path = entry.path().join(&file);
            let Ok(f) = std::fs::File::open(&path) else {
                continue;
            };
            match ParquetReader::new(f).finish() {
                Ok(df) => {
                    if let Err(e) = h.absorb(day, &df) {
                        problems.push(format!("{}: {e}", path.display()));
                    }
                }
                Err(e) => problems.push(format!("{}: {e}", path.display())),
            }
        }
        (h, problems)
    }

    /// Per day: (attempts, deferred, failed) of `provider` (`all`: every
    /// provider).
    fn totals(&self, provider: &str) -> BTreeMap<i64, [u64; 3]> {
        let mut out: BTreeMap<i64, [u64; 3]> = self.days.iter().map(|d| (*d, [0; 3])).collect();
        for (c, n) in &self.cells {
            if provider != "all" && c.provider != provider {
                continue;
            }
            let t = out.entry(c.day).or_default();
            t[0] += n;
            match c.status {
                "deferred" => t[1] += n,
                "bounced" | "expired" => t[2] += n,
                _ => {}
            }
        }
        out
    }

    /// Per day: failures of `category` at `provider` in hour `hour` (every
    /// hour when `None`).
    fn failures(&self, provider: &str, category: &str) -> BTreeMap<i64, u64> {
        self.failures_at(provider, category, None)
    }

    /// [`History::failures`] in one hour of the day.
    fn failures_at(&self, provider: &str, category: &str, hour: Option<i32>) -> BTreeMap<i64, u64> {
        let mut out: BTreeMap<i64, u64> = self.days.iter().map(|d| (*d, 0)).collect();
        for (c, n) in &self.cells {
            if (provider != "all" && c.provider != provider) || hour.is_some_and(|h| h != c.hour) {
                continue;
            }
            let hit = if category == "expired" {
                c.status == "expired"
            } else {
                c.category == category && c.status != "sent"
            };
            if hit {
                *out.entry(c.day).or_default() += n;
            }
        }
        out
    }
}

fn lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::Warning,
        _ => Severity::Info,
    }
}

fn noun(f: &Finding) -> String {
    match f.codes.first() {
        Some(c) if !c.name.is_empty() && c.name != "(none)" => {
            format!("{} {}", c.name, f.category.replace('_', " "))
        }
        _ => f.category.replace('_', " "),
    }
}

fn per_day(n: f64) -> String {
    if n >= 10.0 || n == 0.0 {
        format!("{n:.0}")
    } else {
        format!("{n:.1}")
    }
}

/// The onset hour against the same hour of the stored days: `; 12× the
/// 7-day median for 14:00 (3 then, 36 now)`, or nothing to add.
fn this_hour(f: &Finding, past: &History, run: &History) -> String {
    // `since` is `YYYY-MM-DD HH:MM` in the zone the days are kept in.
    let (Some(day), Some(hour)) = (
        f.since.get(..10).and_then(day_number),
        f.since.get(11..13).and_then(|h| h.parse::<i32>().ok()),
    ) else {
        return String::new();
    };
    let now = run
        .failures_at(&f.provider, f.category, Some(hour))
        .get(&day)
        .copied()
        .unwrap_or(0);
    let before: Vec<u64> = past
        .failures_at(&f.provider, f.category, Some(hour))
        .values()
        .rev()
        .take(MEDIAN_DAYS)
        .copied()
        .collect();
    let med = median(before.clone());
    if now == 0 || before.is_empty() {
        String::new()
    } else if med == 0.0 {
        format!("; none at {hour:02}:00 on the stored days, {now} now")
    } else {
        format!(
            "; {:.0}× the {}-day median for {hour:02}:00 ({} then, {now} now)",
            now as f64 / med,
            before.len(),
            per_day(med)
        )
    }
}

/// Says of each finding what the stored days say; lowers a usual one's
/// severity a step.
pub fn judge(findings: &mut [Finding], past: &History, run: &History) {
    let observed = past.days.len() as u32;
    let run_days = run.days.len().max(1) as f64;
    for f in findings {
        let at = if f.provider == "all" {
            "everywhere".to_string()
        } else {
            format!("at {}", f.provider)
        };
        if observed == 0 {
            f.history = Some(Baseline {
                verdict: "no history",
                days_observed: 0,
                days_seen: 0,
                median_per_day: 0.0,
                per_day_now: f.count as f64 / run_days,
                severity_before: None,
                said: "no stored day to compare with yet (--state keeps one per run)".into(),
            });
            continue;
        }
        let daily = past.failures(&f.provider, f.category);
        let seen = daily.values().filter(|n| **n > 0).count() as u32;
        let recent: Vec<u64> = daily.values().rev().take(MEDIAN_DAYS).copied().collect();
        let med = median(recent.clone());
        let now = f.count as f64 / run_days;
        let what = noun(f);
        let (verdict, said) = if seen == 0 {
            (
                "new",
                format!("first {what} {at} in {observed} stored days"),
            )
        } else if seen * 2 >= observed && now <= RISING * med.max(1.0) {
            (
                "usual",
                format!(
                    "usual here: {what} {at} on {seen} of {observed} stored days, median {}/day (now {}/day)",
                    per_day(med),
                    per_day(now)
                ),
            )
        } else if med > 0.0 {
            (
                "rising",
                format!(
                    "{what} {at} {:.0}× the {}-day median ({}/day, now {}/day){}",
                    now / med,
                    recent.len(),
                    per_day(med),
                    per_day(now),
                    this_hour(f, past, run)
                ),
            )
        } else {
            (
                "returning",
                format!(
                    "{what} {at} on {seen} of {observed} stored days, none in the last {}",
                    recent.len()
                ),
            )
        };
        let before = f.severity;
        if verdict == "usual" {
            f.severity = lower(f.severity);
        }
        f.history = Some(Baseline {
            verdict,
            days_observed: observed,
            days_seen: seen,
            median_per_day: med,
            per_day_now: now,
            severity_before: (f.severity != before).then_some(before),
            said,
        });
    }
}

/// One provider's days.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderTrend {
    /// Provider id.
    pub provider: String,
    /// Stored days then this run's, oldest first.
    pub days: Vec<DayPoint>,
    /// The movement in one sentence.
    pub said: String,
}

/// A provider's day.
#[derive(Clone, Debug, Serialize)]
pub struct DayPoint {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// From this run (not stored before it).
    pub this_run: bool,
    /// Attempts.
    pub attempts: u64,
    /// Deferred / attempts.
    pub deferred_rate: f64,
    /// (Bounced + expired) / attempts.
    pub failed_rate: f64,
    /// 90th percentile time to deliver (seconds), where journeys were
    /// stored for the day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90_delivery_seconds: Option<f64>,
}

fn rate(n: u64, d: u64) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

/// Per provider of this run (busiest first), its stored days and this
/// run's, and how its failure rate moved against the stored week.
pub fn trend(past: &History, run: &History, providers: &[String]) -> Vec<ProviderTrend> {
    let mut out = Vec::new();
    for p in providers {
        let (before, now) = (past.totals(p), run.totals(p));
        let point = |(d, t): (&i64, &[u64; 3]), this_run, h: &History| DayPoint {
            day: day_name(*d),
            this_run,
            attempts: t[0],
            deferred_rate: rate(t[1], t[0]),
            failed_rate: rate(t[2], t[0]),
            p90_delivery_seconds: h.journeys.get(&(*d, p.clone())).and_then(|j| j.p90),
        };
        let mut days: Vec<DayPoint> = before.iter().map(|x| point(x, false, past)).collect();
        days.extend(now.iter().map(|x| point(x, true, run)));
        let week: Vec<&[u64; 3]> = before.values().rev().take(MEDIAN_DAYS).collect();
        let (wa, wf) = week.iter().fold((0, 0), |(a, f), t| (a + t[0], f + t[2]));
        let (na, nf) = now.values().fold((0, 0), |(a, f), t| (a + t[0], f + t[2]));
        let stored_p90: Vec<u64> = days
            .iter()
            .rev()
            .filter(|d| !d.this_run)
            .take(MEDIAN_DAYS)
            .filter_map(|d| d.p90_delivery_seconds.map(|s| (s * 1000.0) as u64))
            .collect();
        let now_p90 = days
            .iter()
            .rev()
            .find_map(|d| d.this_run.then_some(d.p90_delivery_seconds).flatten());
        let delivery = match (now_p90, stored_p90.is_empty()) {
            (Some(n), false) => format!(
                "; p90 delivery {:.1}s against {:.1}s",
                n,
                median(stored_p90) / 1000.0
            ),
            _ => String::new(),
        };
        let said = if week.is_empty() {
            "no stored days yet".to_string()
        } else {
            format!(
                "failed {:.1} % against {:.1} % over the last {} stored days; {} attempts/day against {}",
                100.0 * rate(nf, na),
                100.0 * rate(wf, wa),
                week.len(),
                na / (now.len().max(1) as u64),
                wa / (week.len() as u64)
            ) + &delivery
        };
        out.push(ProviderTrend {
            provider: p.clone(),
            days,
            said,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_names_round_trip_and_garbage_is_not_a_day() {
        let d = days_from_civil(2026, 11, 22);
        assert_eq!(day_name(d), "2026-11-22");
        assert_eq!(day_number("2026-11-22"), Some(d));
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "../../etc",
            "2026-1-01",
            "20261122",
            "",
        ] {
            assert_eq!(day_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_median_of_even_and_odd_counts() {
        assert_eq!(median(vec![]), 0.0);
        assert_eq!(median(vec![5, 1, 3]), 3.0);
        assert_eq!(median(vec![4, 1, 3, 2]), 2.5);
    }
}
