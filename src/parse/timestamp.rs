//! Timestamps as MTAs write them, parsed from bytes into Unix seconds (UTC).
//!
//! Three shapes reach us:
//! * RFC 3164 syslog, `Nov 22 12:39:02` — no year and no zone. The year comes
//!   from a reference (the file's mtime), the zone from `--tz` (see
//!   [`Clock`]).
//! * RFC 3339 as rsyslog writes it, `2026-11-22T07:55:37.249744-05:00`.
//! * Exim's own, `2026-11-22 12:39:03` with optional `.mmm` and ` +0100`;
//!   without the offset it is wall-clock time in the `--tz` zone.
//!
//! Every function here returns the parsed time *and the bytes consumed*, so the
//! caller continues from there without re-scanning.

use crate::time::zone::Zone;

pub use crate::time::{Clock, UnixSeconds};
use crate::time::{days_from_civil, days_in_month};

#[inline]
fn digit(b: u8) -> Option<u32> {
    b.is_ascii_digit().then(|| u32::from(b - b'0'))
}

#[inline]
fn two(s: &[u8], at: usize) -> Option<u32> {
    Some(digit(*s.get(at)?)? * 10 + digit(*s.get(at + 1)?)?)
}

#[inline]
fn four(s: &[u8], at: usize) -> Option<u32> {
    Some(two(s, at)? * 100 + two(s, at + 2)?)
}

/// `HH:MM:SS` at `at`, as seconds of the day.
#[inline]
fn hms(s: &[u8], at: usize) -> Option<i64> {
    let h = two(s, at)?;
    let m = two(s, at + 3)?;
    let sec = two(s, at + 6)?;
    if s.get(at + 2) != Some(&b':') || s.get(at + 5) != Some(&b':') || h > 23 || m > 59 || sec > 60
    {
        return None;
    }
    Some(i64::from(h * 3600 + m * 60 + sec.min(59)))
}

#[inline]
fn valid_date(y: u32, mo: u32, d: u32) -> bool {
    (1900..=9999).contains(&y)
        && (1..=12).contains(&mo)
        && d >= 1
        && d <= days_in_month(y as i32, mo)
}

/// Month number from a three-letter English abbreviation.
#[inline]
fn month_abbrev(s: &[u8]) -> Option<u32> {
    let m = match s.get(..3)? {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    Some(m)
}

/// RFC 3164: `Nov 22 12:39:02`, `Nov  2 …`, `Nov 02 …`, `Nov 2 …`.
///
/// Returns the time and the length consumed (not including the space after).
pub fn parse_rfc3164(s: &[u8], hint: Clock) -> Option<(UnixSeconds, usize)> {
    let (wall, used) = rfc3164_wall(s, hint)?;
    Some((hint.zone.to_utc(wall), used))
}

/// [`parse_rfc3164`] before the zone: wall-clock seconds.
#[inline]
fn rfc3164_wall(s: &[u8], hint: Clock) -> Option<(UnixSeconds, usize)> {
    let month = month_abbrev(s)?;
    if s.get(3) != Some(&b' ') {
        return None;
    }
    let mut i = 4;
    if s.get(i) == Some(&b' ') {
        i += 1;
    }
    let d1 = digit(*s.get(i)?)?;
    i += 1;
    let day = match s.get(i).copied().and_then(digit) {
        Some(d2) => {
            i += 1;
            d1 * 10 + d2
        }
        None => d1,
    };
    if s.get(i) != Some(&b' ') || !(1..=31).contains(&day) {
        return None;
    }
    let secs = hms(s, i + 1)?;
    let year = hint.year_for(month, day);
    if day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + secs, i + 9))
}

/// Optional `.fraction` at `at`; returns the index after it.
#[inline]
fn skip_fraction(s: &[u8], mut at: usize) -> usize {
    if s.get(at) == Some(&b'.') {
        at += 1;
        while s.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
    }
    at
}

/// RFC 3339: `2026-11-22T07:55:37.249744-05:00`, `…Z`, `…+0000`.
pub fn parse_rfc3339(s: &[u8]) -> Option<(UnixSeconds, usize)> {
    let (date_secs, mut i) = ymd(s)?;
    if s.get(10) != Some(&b'T') {
        return None;
    }
    let secs = hms(s, 11)?;
    i = skip_fraction(s, i + 9);
    let (offset, used) = zone(s, i)?;
    Some((date_secs + secs - offset, i + used))
}

/// `YYYY-MM-DD` at the start: seconds of the day's midnight and index 10.
#[inline]
fn ymd(s: &[u8]) -> Option<(i64, usize)> {
    let y = four(s, 0)?;
    let mo = two(s, 5)?;
    let d = two(s, 8)?;
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') || !valid_date(y, mo, d) {
        return None;
    }
    Some((days_from_civil(y as i32, mo, d) * 86_400, 10))
}

/// A zone designator: `Z`, `±HH:MM` or `±HHMM`. Returns (offset seconds, length).
#[inline]
fn zone(s: &[u8], at: usize) -> Option<(i64, usize)> {
    match s.get(at)? {
        b'Z' | b'z' => Some((0, 1)),
        sign @ (b'+' | b'-') => {
            let h = two(s, at + 1)?;
            let (m, used) = if s.get(at + 3) == Some(&b':') {
                (two(s, at + 4)?, 6)
            } else {
                (two(s, at + 3)?, 5)
            };
            if h > 23 || m > 59 {
                return None;
            }
            let off = i64::from(h * 3600 + m * 60);
            Some((if *sign == b'-' { -off } else { off }, used))
        }
        _ => None,
    }
}

/// Exim: `2026-11-22 12:39:03`, optionally `.123` and ` +0100` (log_timezone);
/// without the offset, wall-clock time in `zone`.
pub fn parse_exim(s: &[u8], zone: Zone) -> Option<(UnixSeconds, usize)> {
    let (wall, offset, used) = exim_parts(s)?;
    Some((
        offset.map_or_else(|| zone.to_utc(wall), |off| wall - off),
        used,
    ))
}

/// Exim's stamp as wall-clock seconds, its explicit offset if any, and the
/// length consumed.
#[inline]
fn exim_parts(s: &[u8]) -> Option<(UnixSeconds, Option<i64>, usize)> {
    let (date_secs, _) = ymd(s)?;
    if s.get(10) != Some(&b' ') {
        return None;
    }
    let secs = hms(s, 11)?;
    let mut i = skip_fraction(s, 19);
    let mut offset = None;
    if s.get(i) == Some(&b' ')
        && matches!(s.get(i + 1), Some(b'+' | b'-'))
        && let Some((off, used)) = zone(s, i + 1)
        && used == 5
    {
        offset = Some(off);
        i += 1 + used;
    }
    Some((date_secs + secs, offset, i))
}

/// The minute of the last timestamp parsed, by its exact bytes: consecutive
/// lines share their minute, so most lines skip the date arithmetic and
/// read only the two digits of the second. Only the fixed-width forms are
/// cached (`Nov 22 12:39:02`, `2026-11-22 12:39:03`); a hit returns exactly
/// what parsing those bytes would. Valid for one [`Clock`].
#[derive(Clone, Copy, Debug)]
pub struct StampCache {
    prefix: [u8; 19],
    len: u8,
    minute: UnixSeconds,
    /// The wall-clock minute last converted to UTC, and its offset: stamps
    /// the byte cache does not hold (Exim with milliseconds) still convert
    /// each minute through the zone rules only once.
    wall_minute: UnixSeconds,
    wall_offset: UnixSeconds,
}

impl Default for StampCache {
    fn default() -> StampCache {
        StampCache {
            prefix: [0; 19],
            len: 0,
            minute: 0,
            wall_minute: UnixSeconds::MIN,
            wall_offset: 0,
        }
    }
}

impl StampCache {
    #[inline]
    fn hit(&self, s: &[u8], len: usize) -> Option<UnixSeconds> {
        if usize::from(self.len) != len || s.get(..len - 2) != self.prefix.get(..len - 2) {
            return None;
        }
        // `hms` accepts a leap second 60 and reads it as 59.
        let sec = two(s, len - 2).filter(|&sec| sec <= 60)?;
        Some(self.minute + i64::from(sec.min(59)))
    }

    #[inline]
    fn keep(&mut self, s: &[u8], len: usize, ts: UnixSeconds) {
        if let Some(bytes) = s.get(..len)
            && len <= self.prefix.len()
            && let Some(sec) = two(s, len - 2)
        {
            self.prefix[..len].copy_from_slice(bytes);
            self.len = len as u8;
            self.minute = ts - i64::from(sec.min(59));
        }
    }

    /// Wall-clock seconds in `zone` to UTC, through the per-minute memo.
    #[inline]
    fn wall_to_utc(&mut self, wall: UnixSeconds, zone: Zone) -> UnixSeconds {
        if zone.is_utc() {
            return wall;
        }
        let minute = wall.div_euclid(60);
        if minute != self.wall_minute {
            self.wall_minute = minute;
            self.wall_offset = wall - zone.to_utc(wall);
        }
        wall - self.wall_offset
    }

    /// [`parse_rfc3164`] through the cache.
    #[inline]
    pub fn rfc3164(&mut self, s: &[u8], hint: Clock) -> Option<(UnixSeconds, usize)> {
        if let Some(ts) = self.hit(s, 15) {
            return Some((ts, 15));
        }
        let (wall, used) = rfc3164_wall(s, hint)?;
        let ts = self.wall_to_utc(wall, hint.zone);
        if used == 15 {
            self.keep(s, 15, ts);
        }
        Some((ts, used))
    }

    /// [`parse_exim`] through the cache (plain `YYYY-MM-DD HH:MM:SS` only:
    /// milliseconds or a zone after it are parsed every time).
    #[inline]
    pub fn exim(&mut self, s: &[u8], zone: Zone) -> Option<(UnixSeconds, usize)> {
        let plain = s.get(19) != Some(&b'.')
            && !(s.get(19) == Some(&b' ') && matches!(s.get(20), Some(b'+' | b'-')));
        if plain && let Some(ts) = self.hit(s, 19) {
            return Some((ts, 19));
        }
        let (wall, offset, used) = exim_parts(s)?;
        let ts = match offset {
            Some(off) => wall - off,
            None => self.wall_to_utc(wall, zone),
        };
        if used == 19 {
            self.keep(s, 19, ts);
        }
        Some((ts, used))
    }
}

/// The year hint unit tests share: lines written in November 2026.
#[cfg(test)]
pub(crate) const TEST_HINT: Clock = Clock {
    year: 2026,
    month: 11,
    day: 30,
    fixed: false,
    zone: Zone::UTC,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::civil_from_days;

    const HINT: Clock = TEST_HINT;

    /// Issue 15 item 6: `Dec 11` in a file modified on 3 December 2026 is
    /// 2025-12-11, never a date in the future; a day of clock skew is
    /// allowed, across a month's end too.
    #[test]
    fn a_date_after_the_mtime_is_last_years() {
        let dec3 = Clock::from_reference(days_from_civil(2026, 12, 3) * 86_400 + 3600, Zone::UTC);
        let year = |line: &[u8], clock| {
            let (t, _) = parse_rfc3164(line, clock).unwrap();
            civil_from_days(t.div_euclid(86_400)).0
        };
        assert_eq!(year(b"Dec 11 10:00:00", dec3), 2025);
        assert_eq!(year(b"Dec  3 10:00:00", dec3), 2026);
        assert_eq!(year(b"Dec  4 00:10:00", dec3), 2026, "a day of skew");
        assert_eq!(year(b"Nov 11 10:00:00", dec3), 2026);
        let nov30 = Clock::from_reference(days_from_civil(2026, 11, 30) * 86_400, Zone::UTC);
        assert_eq!(
            year(b"Dec  1 00:01:00", nov30),
            2026,
            "skew across a month's end"
        );
        assert_eq!(year(b"Dec  2 00:01:00", nov30), 2025);
    }

    #[test]
    fn days_that_do_not_exist_are_not_dates() {
        let in_2026 = Clock::fixed(2026, Zone::UTC);
        assert!(parse_rfc3164(b"Feb 29 12:00:00", in_2026).is_none());
        assert!(parse_rfc3164(b"Apr 31 12:00:00", in_2026).is_none());
        assert!(parse_rfc3164(b"Feb 28 12:00:00", in_2026).is_some());
        assert!(parse_rfc3164(b"Feb 29 12:00:00", Clock::fixed(2028, Zone::UTC)).is_some());
        assert!(parse_rfc3339(b"2026-02-30T00:00:00Z").is_none());
        assert!(parse_rfc3339(b"2100-02-29T00:00:00Z").is_none());
        assert!(parse_rfc3339(b"2000-02-29T00:00:00Z").is_some());
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 60, 365, 10_957, 20_779, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn rfc3164_forms() {
        let base = days_from_civil(2026, 11, 22) * 86_400 + 12 * 3600 + 39 * 60 + 2;
        assert_eq!(
            parse_rfc3164(b"Nov 22 12:39:02 mx1", HINT),
            Some((base, 15))
        );
        let d2 = days_from_civil(2026, 11, 2) * 86_400;
        assert_eq!(parse_rfc3164(b"Nov  2 00:00:00 x", HINT), Some((d2, 15)));
        assert_eq!(parse_rfc3164(b"Nov 02 00:00:00 x", HINT), Some((d2, 15)));
        assert_eq!(parse_rfc3164(b"Nov 2 00:00:00 x", HINT), Some((d2, 14)));
        assert_eq!(parse_rfc3164(b"Nov 32 00:00:00 x", HINT), None);
        assert_eq!(parse_rfc3164(b"Foo 22 12:39:02", HINT), None);
        assert_eq!(parse_rfc3164(b"Nov 22 12:39", HINT), None);
        assert_eq!(parse_rfc3164(b"Nov 22 25:39:02 x", HINT), None);
    }

    #[test]
    fn rfc3164_year_rollover() {
        // A file modified in January: December lines belong to last year.
        let jan = Clock {
            year: 2027,
            month: 1,
            day: 2,
            fixed: false,
            zone: Zone::UTC,
        };
        let (dec, _) = parse_rfc3164(b"Dec 31 23:59:59", jan).unwrap();
        let (j, _) = parse_rfc3164(b"Jan  1 00:00:00", jan).unwrap();
        assert_eq!(j - dec, 1);
        // A file touched in November holds no December lines of this year.
        let nov = Clock::from_reference(days_from_civil(2026, 11, 23) * 86_400, Zone::UTC);
        let (d, _) = parse_rfc3164(b"Dec 30 18:19:15", nov).unwrap();
        assert_eq!(civil_from_days(d.div_euclid(86_400)), (2025, 12, 30));
        let (fixed, _) = parse_rfc3164(b"Dec 31 23:59:59", Clock::fixed(2027, Zone::UTC)).unwrap();
        assert_eq!(fixed - dec, 365 * 86_400);
    }

    #[test]
    fn rfc3339_forms() {
        let utc = days_from_civil(2026, 11, 22) * 86_400 + 12 * 3600 + 55 * 60 + 37;
        assert_eq!(
            parse_rfc3339(b"2026-11-22T07:55:37.249744-05:00 mx1"),
            Some((utc, 32))
        );
        assert_eq!(parse_rfc3339(b"2026-11-22T12:55:37Z"), Some((utc, 20)));
        assert_eq!(parse_rfc3339(b"2026-11-22T13:55:37+0100"), Some((utc, 24)));
        assert_eq!(parse_rfc3339(b"2026-11-22T12:55:37"), None);
        assert_eq!(parse_rfc3339(b"2026-13-22T12:55:37Z"), None);
    }

    #[test]
    fn exim_forms() {
        let t = days_from_civil(2026, 11, 22) * 86_400 + 12 * 3600 + 39 * 60 + 3;
        assert_eq!(
            parse_exim(b"2026-11-22 12:39:03 1xV6qi", Zone::UTC),
            Some((t, 19))
        );
        assert_eq!(
            parse_exim(b"2026-11-22 12:39:03.712 1x", Zone::UTC),
            Some((t, 23))
        );
        assert_eq!(
            parse_exim(b"2026-11-22 13:39:03 +0100 1x", Zone::UTC),
            Some((t, 25))
        );
        assert_eq!(parse_exim(b"2026-11-22T12:39:03", Zone::UTC), None);
    }

    #[test]
    fn zone_less_stamps_are_read_in_the_clock_zone() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let clock = Clock::fixed(2026, berlin);
        let utc = days_from_civil(2026, 11, 22) * 86_400 + 11 * 3600 + 39 * 60 + 2;
        assert_eq!(parse_rfc3164(b"Nov 22 12:39:02 mx", clock), Some((utc, 15)));
        assert_eq!(
            parse_exim(b"2026-11-22 12:39:02 1x", berlin),
            Some((utc, 19))
        );
        assert_eq!(
            parse_exim(b"2026-11-22 12:39:02.5 1x", berlin),
            Some((utc, 21))
        );
        // An explicit offset wins over the zone.
        assert_eq!(
            parse_exim(b"2026-11-22 11:39:02 +0000 1x", berlin),
            Some((utc, 25))
        );
        // Summer time: two hours.
        let july = days_from_civil(2026, 7, 1) * 86_400 + 10 * 3600;
        assert_eq!(
            parse_rfc3164(b"Jul  1 12:00:00 mx", clock),
            Some((july, 15))
        );
        // The cache agrees with the parser across a minute and a DST change
        // (Berlin, 2026-10-25 03:00 CEST -> 02:00 CET).
        let mut cache = StampCache::default();
        for line in [
            "Oct 25 01:59:59 a",
            "Oct 25 02:00:00 a",
            "Oct 25 02:59:59 a",
            "Oct 25 03:00:00 a",
            "Oct 25 03:00:01 a",
        ] {
            assert_eq!(
                cache.rfc3164(line.as_bytes(), clock),
                parse_rfc3164(line.as_bytes(), clock),
                "{line}"
            );
        }
        let mut cache = StampCache::default();
        for line in [
            "2026-03-29 01:59:59.9 x",
            "2026-03-29 03:00:00.1 x",
            "2026-03-29 03:00:59.1 x",
        ] {
            assert_eq!(
                cache.exim(line.as_bytes(), berlin),
                parse_exim(line.as_bytes(), berlin),
                "{line}"
            );
        }
    }

    #[test]
    fn year_from_mtime_in_the_zone() {
        // 2027-01-01 00:30 in Berlin is still 2026-12-31 in UTC.
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let mtime = days_from_civil(2026, 12, 31) * 86_400 + 23 * 3600 + 30 * 60;
        let c = Clock::from_reference(mtime, berlin);
        assert_eq!((c.year, c.month), (2027, 1));
        assert_eq!(Clock::from_reference(mtime, Zone::UTC).year, 2026);
    }

    #[test]
    fn format_is_utc() {
        use crate::time::zone::format_wall;
        assert_eq!(format_wall(0), "1970-01-01 00:00:00");
        let t = days_from_civil(2026, 11, 22) * 86_400 + 45_543;
        assert_eq!(format_wall(t), "2026-11-22 12:39:03");
    }
}
