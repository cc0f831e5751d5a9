//! The timeline's grid: minutes since the epoch cut into buckets whose
//! width grows with the span of the log (1 minute up to a day), the same
//! widths for the tallies that collect the timeline and for the detection
//! that reads it, so their buckets stay aligned.

/// Timeline bucket widths in minutes; each divides the next, so re-bucketing
/// to the next width is exact.
pub const TIMELINE_WIDTHS: [i64; 9] = [1, 2, 10, 30, 60, 120, 360, 720, 1440];

/// At most this many buckets per series.
pub const MAX_BUCKETS: i64 = 720;

/// The bucket width (minutes) for a span of minutes: one of the widths the
/// aggregate timeline itself widens through, so buckets stay aligned.
pub fn bucket_minutes(span_minutes: i64) -> i64 {
    TIMELINE_WIDTHS
        .into_iter()
        .find(|w| (span_minutes + w - 1) / w <= MAX_BUCKETS)
        .unwrap_or(1440)
}

/// Buckets over a time range: `start` minute and width in minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    /// First minute (minutes since the epoch).
    pub start: i64,
    /// Width of a bucket in minutes.
    pub width: i64,
    /// Number of buckets.
    pub len: usize,
}

impl Grid {
    /// A grid covering minutes `first..=last`.
    pub fn covering(first: i64, last: i64) -> Grid {
        Grid::covering_at_least(first, last, 1)
    }

    /// A grid covering minutes `first..=last` with buckets at least
    /// `min_width` minutes wide (the width the data was collected at).
    pub fn covering_at_least(first: i64, last: i64, min_width: i64) -> Grid {
        let span = (last - first + 1).max(1);
        let width = bucket_minutes(span).max(min_width);
        let start = first - first.rem_euclid(width);
        let len = usize::try_from((last - start) / width + 1).unwrap_or(1);
        Grid { start, width, len }
    }

    /// The bucket of a minute (clamped into the grid).
    pub fn index(&self, minute: i64) -> usize {
        let i = (minute - self.start).div_euclid(self.width).max(0);
        usize::try_from(i)
            .unwrap_or(0)
            .min(self.len.saturating_sub(1))
    }

    /// First minute of bucket `i`.
    pub fn minute_of(&self, i: usize) -> i64 {
        self.start + i as i64 * self.width
    }
}
