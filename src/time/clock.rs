//! How a log's year-less and zone-less timestamps are read: the
//! reference an input gives (its mtime, a rotation's date, `--year`) and
//! the zone (`--tz`). Input sets it per file; the timestamp parser reads it.

use super::zone::Zone;
use super::{UnixSeconds, civil_from_days, days_from_civil};

/// How to read a timestamp that lacks a year or a zone: RFC 3164 has
/// neither, Exim's own stamp has no zone unless `log_timezone` is set.
///
/// The year: a log is written before its mtime, so a line whose date lies
/// after the reference date (by more than a day, for clock skew) belongs to
/// the previous year: `Dec 11` in a file modified on 3 December is last
/// year's, never a date in the future. This is how a
/// file that spans Dec → Jan gets both years right without any per-line
/// state, which matters because chunks are scanned in parallel.
///
/// The zone: the server's wall clock (`--tz`, default the local zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// The year of the reference time.
    pub year: i32,
    /// The month (1–12) of the reference time.
    pub month: u32,
    /// The day of the month of the reference time.
    pub day: u32,
    /// When true, `year` is used as-is for every line (`--year`).
    pub fixed: bool,
    /// The zone wall-clock times are in.
    pub zone: Zone,
}

impl Clock {
    /// A clock whose year comes from a reference time such as a file's
    /// mtime (taken in `zone`: a file touched at 00:30 on 1 January in
    /// Berlin was written in the new year there).
    pub fn from_reference(ts: UnixSeconds, zone: Zone) -> Clock {
        let (year, month, day) = civil_from_days(zone.to_wall(ts).div_euclid(86_400));
        Clock {
            year,
            month,
            day,
            fixed: false,
            zone,
        }
    }

    /// A clock that forces one year for every line.
    pub fn fixed(year: i32, zone: Zone) -> Clock {
        Clock {
            year,
            month: 12,
            day: 31,
            fixed: true,
            zone,
        }
    }

    /// The year of a line dated `month`/`day`.
    #[inline]
    pub fn year_for(self, month: u32, day: u32) -> i32 {
        // A line cannot be written after its file's mtime: a date more than
        // a day (clock skew) after the mtime's can only be last year's.
        let later = month > self.month || (month == self.month && day > self.day + 1);
        if self.fixed || !later {
            return self.year;
        }
        // The last day of a month, a line of the 1st of the next: skew.
        let next_day = days_from_civil(self.year, self.month, self.day) + 1;
        if days_from_civil(self.year, month, day) <= next_day {
            return self.year;
        }
        self.year - 1
    }
}
