//! Time buckets and episodes: *when* did a problem start and stop.
//!
//! A series is one provider's attempts and one category's failures per
//! bucket. Buckets are one minute wide until the log spans more than
//! [`crate::time::grid::MAX_BUCKETS`] minutes, then wider (2, 10, 30 minutes, 1, 2, 6, 12
//! hours, 1 day), so a month of logs still gives a few hundred buckets.
//!
//! An episode is a run of buckets whose failure rate departs from the
//! baseline (the median rate over all buckets with traffic): at least
//! `factor` × the baseline *and* `min_share` above it, with at least two
//! failures, in a bucket with at least a quarter of the typical bucket's
//! attempts (so the thin tail of a log, where only retries of failing mail
//! remain, does not pass for an outbreak). Runs separated by one quiet bucket
//! are one episode; runs with fewer than `min_count` failures are noise. When no
//! bucket departs (the problem is there all along, e.g. a sender that always
//! fails SPF), the finding is *steady*: it spans the first to the last failure.

pub use crate::time::grid::Grid;
use crate::time::zone::Zone;
use serde::Serialize;

/// The bucket volume the typical *attempt* sits in (attempt-weighted
/// median), so a long thin tail of retries does not make busy hours look
/// typical-small.
pub fn typical_volume(attempts: &[u64]) -> u64 {
    let mut volumes: Vec<u64> = attempts.iter().copied().filter(|a| *a > 0).collect();
    volumes.sort_unstable();
    let total: u64 = volumes.iter().sum();
    let mut seen = 0;
    for v in &volumes {
        seen += v;
        if seen * 2 >= total {
            return *v;
        }
    }
    0
}

/// Attempts a typical bucket should hold for its rate to mean something.
pub const MIN_BUCKET_ATTEMPTS: u64 = 20;

/// Coarsens a grid and its series until the typical bucket (median over
/// buckets with traffic) holds [`MIN_BUCKET_ATTEMPTS`]: a provider sending two
/// messages a minute is judged in ten-minute buckets, not one-minute noise.
pub fn coarsen(grid: &Grid, attempts: &[u64], fails: &[u64]) -> (Grid, Vec<u64>, Vec<u64>) {
    let typical = typical_volume(attempts);
    let k = if typical == 0 {
        1
    } else {
        let want = MIN_BUCKET_ATTEMPTS.div_ceil(typical);
        [1u64, 2, 3, 5, 10, 15, 30, 60, 120, 240, 720, 1440]
            .into_iter()
            .find(|k| *k >= want)
            .unwrap_or(1440)
    };
    if k == 1 {
        return (*grid, attempts.to_vec(), fails.to_vec());
    }
    let k = usize::try_from(k).unwrap_or(1);
    let sum = |v: &[u64]| v.chunks(k).map(|c| c.iter().sum()).collect::<Vec<u64>>();
    let coarse = Grid {
        start: grid.start,
        width: grid.width * k as i64,
        len: grid.len.div_ceil(k),
    };
    (coarse, sum(attempts), sum(fails))
}

/// The minute an episode began, finer than the bucket it was found in.
///
/// Episodes are found in buckets wide enough for a rate to mean something
/// (ten minutes for a provider sending two messages a minute), so a storm
/// that began at 13:00 is found in the bucket 12:55–13:04, or in 12:50–12:59
/// when two background failures happen to fall there. The onset is then
/// placed at the change point of the per-minute series around those buckets:
/// the minute that best splits it into a lower rate before and a higher one
/// after (the most likely single change of a Bernoulli rate). `since` and
/// `until` are the episode's first and last minute (minutes since the
/// epoch), `width` its bucket width in minutes; `grid` is the fine series'
/// grid.
pub fn refine_onset(
    grid: &Grid,
    attempts: &[u64],
    fails: &[u64],
    (since, until): (i64, i64),
    width: i64,
) -> i64 {
    if width <= grid.width || attempts.is_empty() {
        return since;
    }
    let at = |minute: i64| -> Option<usize> {
        let i = (minute - grid.start).div_euclid(grid.width);
        usize::try_from(i).ok().filter(|i| *i < attempts.len())
    };
    // From the bucket before the episode into its first buckets: the first
    // buckets, flagged by a little background noise, may hold no part of the
    // change (a thin provider's episode can start two buckets early).
    let reach = until.min(since + 4 * width - 1);
    let (Some(lo), Some(hi)) = (
        at((since - 2 * width).max(grid.start)),
        at(until.min(since + 6 * width - 1)).or(Some(attempts.len() - 1)),
    ) else {
        return since;
    };
    let ll = |f: u64, a: u64| -> f64 {
        if a == 0 || f == 0 || f >= a {
            return 0.0;
        }
        let (f, a) = (f as f64, a as f64);
        let p = f / a;
        f * p.ln() + (a - f) * (1.0 - p).ln()
    };
    let total = |v: &[u64], r: std::ops::Range<usize>| -> u64 { v[r].iter().sum() };
    let (first_candidate, last_candidate) = (
        at(since - width).unwrap_or(lo).max(lo + 1),
        // … leaving a bucket's width after the change to measure it on.
        at(reach)
            .unwrap_or(hi)
            .min((hi + 1).saturating_sub(usize::try_from(width / grid.width).unwrap_or(1))),
    );
    let mut best: Option<(f64, usize)> = None;
    for m in first_candidate..=last_candidate {
        let (fb, ab) = (total(fails, lo..m), total(attempts, lo..m));
        let (fa, aa) = (total(fails, m..hi + 1), total(attempts, m..hi + 1));
        // A change up, and a failure at the change (not a quiet minute).
        if aa == 0 || fails[m] == 0 || (fa as f64) * (ab as f64) <= (fb as f64) * (aa as f64) {
            continue;
        }
        let score = ll(fb, ab) + ll(fa, aa);
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, m));
        }
    }
    best.map_or(since, |(_, m)| grid.minute_of(m))
}

/// One run of departing buckets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Episode {
    /// First minute, UTC seconds.
    #[serde(skip)]
    pub since: i64,
    /// Last minute, UTC seconds.
    #[serde(skip)]
    pub until: i64,
    /// `YYYY-MM-DD HH:MM` in the report's zone.
    pub since_time: String,
    /// `YYYY-MM-DD HH:MM` in the report's zone (the last minute of the episode).
    pub until_time: String,
    /// Failures in the episode.
    pub count: u64,
    /// Attempts in the episode.
    pub attempts: u64,
    /// count / attempts.
    pub share: f64,
}

/// What the episode search found.
#[derive(Clone, Debug, PartialEq)]
pub struct Episodes {
    /// Median failure rate over buckets with traffic.
    pub baseline: f64,
    /// Departing runs, in time order (empty when steady).
    pub runs: Vec<Episode>,
    /// First and last minute (UTC seconds) with a failure.
    pub span: Option<(i64, i64)>,
}

/// Finds the episodes of a series (`attempts[i]`, `fails[i]` per bucket);
/// their times are labelled in `zone`.
pub fn find_episodes(
    grid: &Grid,
    attempts: &[u64],
    fails: &[u64],
    factor: f64,
    min_share: f64,
    min_count: u64,
    zone: Zone,
) -> Episodes {
    let rate = |i: usize| {
        if attempts[i] == 0 {
            0.0
        } else {
            fails[i] as f64 / attempts[i] as f64
        }
    };
    let mut rates: Vec<f64> = (0..attempts.len())
        .filter(|i| attempts[*i] > 0)
        .map(rate)
        .collect();
    rates.sort_by(f64::total_cmp);
    let baseline = if rates.is_empty() {
        0.0
    } else {
        rates[(rates.len() - 1) / 2]
    };
    let threshold = (baseline * factor).max(baseline + min_share);
    let typical = typical_volume(attempts);
    let departs = |i: usize| fails[i] >= 2 && attempts[i] * 4 >= typical && rate(i) >= threshold;
    let first = fails.iter().position(|f| *f > 0);
    let last = fails.iter().rposition(|f| *f > 0);
    let span = first.zip(last).map(|(a, b)| {
        (
            grid.minute_of(a) * 60,
            (grid.minute_of(b) + grid.width - 1) * 60,
        )
    });
    let mut runs = Vec::new();
    let mut i = 0;
    while i < fails.len() {
        if !departs(i) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i;
        let mut j = i + 1;
        // Extend across single quiet buckets.
        while j < fails.len() {
            if departs(j) {
                end = j;
                j += 1;
            } else if j + 1 < fails.len() && departs(j + 1) {
                j += 1;
            } else {
                break;
            }
        }
        let count: u64 = fails[start..=end].iter().sum();
        let tried: u64 = attempts[start..=end].iter().sum();
        i = end + 1;
        if count < min_count {
            continue;
        }
        let since = grid.minute_of(start) * 60;
        let until = (grid.minute_of(end) + grid.width - 1) * 60;
        runs.push(Episode {
            since,
            until,
            since_time: zone.format_minute(since),
            until_time: zone.format_minute(until),
            count,
            attempts: tried,
            share: if tried == 0 {
                0.0
            } else {
                count as f64 / tried as f64
            },
        });
    }
    Episodes {
        baseline,
        runs,
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::grid::bucket_minutes;

    #[test]
    fn bucket_widths_adapt_to_the_span() {
        assert_eq!(bucket_minutes(16), 1);
        assert_eq!(bucket_minutes(720), 1);
        assert_eq!(bucket_minutes(1440), 2);
        assert_eq!(bucket_minutes(7 * 1440), 30);
        assert_eq!(bucket_minutes(30 * 1440), 60);
        assert_eq!(bucket_minutes(10_000 * 1440), 1440);
        let g = Grid::covering(100, 115);
        assert_eq!((g.start, g.width, g.len), (100, 1, 16));
        assert_eq!(g.index(107), 7);
        assert_eq!(g.index(99), 0);
        assert_eq!(g.index(500), 15);
    }

    #[test]
    fn a_storm_is_an_episode_with_its_start_and_end() {
        // 15 minutes of ~100 attempts; 1% throttled, 30% in minutes 3..=5.
        let grid = Grid::covering(0, 14);
        let attempts = vec![100u64; 15];
        let mut fails = vec![1u64; 15];
        fails[3] = 30;
        fails[4] = 28;
        fails[5] = 25;
        fails[9] = 0;
        let e = find_episodes(&grid, &attempts, &fails, 2.0, 0.02, 10, Zone::UTC);
        assert_eq!(e.runs.len(), 1);
        assert_eq!((e.runs[0].since, e.runs[0].until), (180, 300));
        assert_eq!(e.runs[0].count, 83);
        assert!((e.baseline - 0.01).abs() < 1e-9);
        assert_eq!(e.span, Some((0, 14 * 60)));
    }

    #[test]
    fn one_quiet_bucket_does_not_split_an_episode() {
        let grid = Grid::covering(0, 9);
        let attempts = vec![50u64; 10];
        let fails = vec![0, 0, 20, 0, 20, 0, 0, 20, 0, 0];
        let e = find_episodes(&grid, &attempts, &fails, 2.0, 0.02, 10, Zone::UTC);
        assert_eq!(e.runs.len(), 2, "a gap of two buckets splits");
        assert_eq!((e.runs[0].since, e.runs[0].until), (120, 240));
    }

    #[test]
    fn a_thin_tail_is_not_an_episode() {
        // Traffic stops at minute 6; only failing retries remain.
        let grid = Grid::covering(0, 9);
        let attempts = vec![100, 100, 100, 100, 100, 100, 10, 8, 6, 4];
        let fails = vec![5, 5, 5, 5, 5, 5, 8, 7, 6, 4];
        let e = find_episodes(&grid, &attempts, &fails, 2.0, 0.02, 5, Zone::UTC);
        assert!(e.runs.is_empty(), "{:?}", e.runs);
    }

    #[test]
    fn small_runs_are_noise() {
        let grid = Grid::covering(0, 9);
        let attempts = vec![100u64; 10];
        let mut fails = vec![0u64; 10];
        fails[4] = 3;
        let e = find_episodes(&grid, &attempts, &fails, 2.0, 0.02, 10, Zone::UTC);
        assert!(e.runs.is_empty());
    }

    #[test]
    fn a_steady_problem_has_no_departure() {
        let grid = Grid::covering(0, 9);
        let attempts = vec![50u64; 10];
        let fails = vec![35u64; 10];
        let e = find_episodes(&grid, &attempts, &fails, 2.0, 0.02, 10, Zone::UTC);
        assert!(e.runs.is_empty());
        assert_eq!(e.span, Some((0, 540)));
    }

    #[test]
    fn thin_traffic_is_judged_in_wider_buckets() {
        let grid = Grid::covering(0, 99);
        let attempts = vec![2u64; 100];
        let fails = vec![1u64; 100];
        let (g, a, f) = coarsen(&grid, &attempts, &fails);
        assert_eq!((g.width, g.len), (10, 10));
        assert_eq!((a[0], f[0]), (20, 10));
        let busy = vec![50u64; 100];
        assert_eq!(coarsen(&grid, &busy, &fails).0, grid);
    }

    #[test]
    fn empty_series_are_fine() {
        let grid = Grid::covering(0, 0);
        let e = find_episodes(&grid, &[0], &[0], 2.0, 0.02, 10, Zone::UTC);
        assert!(e.runs.is_empty() && e.span.is_none());
    }
}
