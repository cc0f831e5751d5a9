//! Time, a leaf every stage reads: seconds since the epoch, civil dates,
//! time zones ([`zone`]) and the timeline's grid ([`grid`]). It imports
//! nothing of the crate: parsing, aggregation, detection and the report
//! all depend on it, never the other way round (zones and the timestamp
//! parser, the tallies and the detection once imported each other).

mod clock;
pub mod grid;
pub mod zone;

pub use clock::Clock;

/// Seconds since the Unix epoch, UTC.
pub type UnixSeconds = i64;

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
///
/// Howard Hinnant's `days_from_civil`; branch-light and exact for all i32 years.
#[inline]
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

/// Days in `month` of `year` (Gregorian): a `Feb 29` of a common year, or an
/// `Apr 31`, is not a date (it was read as the 1st of the next month).
#[inline]
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}
