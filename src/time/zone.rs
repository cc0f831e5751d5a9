//! Time zones, at the two ends of the pipeline: reading the wall-clock times
//! syslog and Exim write without a zone, and showing times to the reader.
//!
//! Everything in between (frames, exports, the timeline) is UTC seconds.
//! Zone rules come from jiff: the system's tz database when there is one,
//! the copy compiled in otherwise (slim containers ship without tzdata).

use super::{UnixSeconds, civil_from_days, days_from_civil};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use std::fmt;

/// A time zone that is cheap to copy into every worker: named zones are
/// leaked once per run (a process holds one or two).
#[derive(Clone, Copy)]
pub struct Zone(Kind);

#[derive(Clone, Copy)]
enum Kind {
    Utc,
    /// A fixed offset east of UTC, in seconds.
    Fixed(i32),
    /// A zone with rules (daylight saving time, history).
    Rules(&'static TimeZone, &'static str),
}

impl Zone {
    /// Coordinated Universal Time.
    pub const UTC: Zone = Zone(Kind::Utc);

    /// The zone of the machine mtastat runs on (`TZ`, then `/etc/localtime`);
    /// UTC when neither says.
    pub fn system() -> Zone {
        match TimeZone::try_system() {
            Ok(tz) => {
                let name = tz.iana_name().map_or_else(
                    || std::env::var("TZ").unwrap_or_else(|_| "local time".into()),
                    str::to_string,
                );
                Zone::from_rules(tz, name)
            }
            Err(_) => Zone::UTC,
        }
    }

    /// Parses `--tz`: `UTC`, `local`, an IANA name (`Europe/Berlin`) or a
    /// fixed offset (`+01:00`, `-0500`), or a POSIX TZ string (`UTC+2`,
    /// `EST5EDT,M3.2.0,M11.1.0`), read as `TZ=` reads it.
    pub fn parse(spec: &str) -> Result<Zone, String> {
        let s = spec.trim();
        if s.eq_ignore_ascii_case("utc") || s == "Z" || s.eq_ignore_ascii_case("gmt") {
            return Ok(Zone::UTC);
        }
        if s.eq_ignore_ascii_case("local") {
            return Ok(Zone::system());
        }
        if s.starts_with(['+', '-']) {
            return fixed_offset(s)
                .map(|secs| {
                    if secs == 0 {
                        Zone::UTC
                    } else {
                        Zone(Kind::Fixed(secs))
                    }
                })
                .ok_or_else(|| {
                    format!("{spec:?} is not an offset (use +HH:MM, -HHMM or +H, up to ±18 hours)")
                });
        }
        // A POSIX TZ string (`UTC+5`, `EST5EDT,M3.2.0,M11.1.0`) means what it
        // means in TZ=…: the offset is hours *west* of UTC, so `UTC+5` is
        // UTC−05:00, and `--tz X` always agrees with `TZ=X`.
        if s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '<')
            && s.contains(|c: char| c.is_ascii_digit())
            && !s.contains('/')
            && let Ok(tz) = TimeZone::posix(s)
        {
            return Ok(Zone::from_rules(tz, s.to_string()));
        }
        match TimeZone::get(s) {
            Ok(tz) => Ok(Zone::from_rules(tz, s.to_string())),
            Err(_) => Err(format!(
                "unknown time zone {spec:?} (use an IANA name such as Europe/Berlin, UTC, local or an offset such as +01:00)"
            )),
        }
    }

    fn from_rules(tz: TimeZone, name: String) -> Zone {
        if matches!(
            name.as_str(),
            "UTC" | "Etc/UTC" | "Etc/UCT" | "UCT" | "Zulu" | "Etc/Zulu"
        ) {
            return Zone::UTC;
        }
        let tz: &'static TimeZone = Box::leak(Box::new(tz));
        let name: &'static str = Box::leak(name.into_boxed_str());
        Zone(Kind::Rules(tz, name))
    }

    /// True for UTC (no conversion at all).
    pub fn is_utc(self) -> bool {
        matches!(self.0, Kind::Utc)
    }

    /// The name to print: `UTC`, `Europe/Berlin`, `+01:00`.
    pub fn name(self) -> String {
        match self.0 {
            Kind::Utc => "UTC".into(),
            Kind::Fixed(secs) => format_offset(secs),
            Kind::Rules(_, name) => name.into(),
        }
    }

    /// The offset from UTC at `utc`, in seconds east.
    pub fn offset_at(self, utc: UnixSeconds) -> i32 {
        match self.0 {
            Kind::Utc => 0,
            Kind::Fixed(secs) => secs,
            Kind::Rules(tz, _) => Timestamp::from_second(utc)
                .map(|t| tz.to_offset(t).seconds())
                .unwrap_or(0),
        }
    }

    /// `+01:00` for the offset at `utc`.
    pub fn offset_label(self, utc: UnixSeconds) -> String {
        format_offset(self.offset_at(utc))
    }

    /// A wall-clock time in this zone, given as seconds since the epoch *as
    /// if it were UTC*, to true UTC. In the hour repeated when clocks go back
    /// the earlier instant is taken; a time in the hour skipped when they go
    /// forward is read with the offset before the gap (RFC 5545 "compatible").
    pub fn to_utc(self, wall: UnixSeconds) -> UnixSeconds {
        match self.0 {
            Kind::Utc => wall,
            Kind::Fixed(secs) => wall - i64::from(secs),
            Kind::Rules(tz, _) => {
                let exact = civil_datetime(wall).and_then(|dt| {
                    tz.to_ambiguous_timestamp(dt)
                        .compatible()
                        .ok()
                        .map(|t| t.as_second())
                });
                exact.unwrap_or_else(|| wall - i64::from(self.offset_at(wall)))
            }
        }
    }

    /// UTC to wall-clock seconds in this zone (seconds since the epoch as if
    /// the wall-clock time were UTC): the inverse of [`Zone::to_utc`].
    pub fn to_wall(self, utc: UnixSeconds) -> UnixSeconds {
        utc + i64::from(self.offset_at(utc))
    }

    /// `YYYY-MM-DD HH:MM:SS` in this zone.
    pub fn format(self, utc: UnixSeconds) -> String {
        format_wall(self.to_wall(utc))
    }

    /// `YYYY-MM-DD HH:MM` in this zone.
    pub fn format_minute(self, utc: UnixSeconds) -> String {
        let mut s = self.format(utc);
        s.truncate(16);
        s
    }

    /// Midnight starting the day that holds `utc`, in this zone, as UTC.
    pub fn start_of_day(self, utc: UnixSeconds) -> UnixSeconds {
        let wall = self.to_wall(utc);
        self.to_utc(wall - wall.rem_euclid(86_400))
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        match (self.0, other.0) {
            (Kind::Utc, Kind::Utc) => true,
            (Kind::Fixed(a), Kind::Fixed(b)) => a == b,
            (Kind::Rules(a, n), Kind::Rules(b, m)) => std::ptr::eq(a, b) || n == m,
            _ => false,
        }
    }
}

impl Eq for Zone {}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zone({})", self.name())
    }
}

/// The end of a time range as shown after its start: the time alone when
/// both are on one day (`12:10 to 17:19`), the date too when not
/// (`2026-05-27 16:00 → 2026-05-28 14:59`), so a range over midnight never
/// reads as running backwards. Both are `YYYY-MM-DD HH:MM…` strings.
pub fn range_end<'a>(start: &str, end: &'a str) -> &'a str {
    match (start.get(..10), end.get(..10), end.get(11..)) {
        (Some(a), Some(b), Some(time)) if a == b => time,
        _ => end,
    }
}

/// `YYYY-MM-DD HH:MM:SS` of wall-clock seconds.
pub fn format_wall(wall: UnixSeconds) -> String {
    let (y, mo, d) = civil_from_days(wall.div_euclid(86_400));
    let secs = wall.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

fn civil_datetime(wall: UnixSeconds) -> Option<DateTime> {
    let (y, mo, d) = civil_from_days(wall.div_euclid(86_400));
    let secs = wall.rem_euclid(86_400);
    DateTime::new(
        i16::try_from(y).ok()?,
        mo as i8,
        d as i8,
        (secs / 3600) as i8,
        ((secs / 60) % 60) as i8,
        (secs % 60) as i8,
        0,
    )
    .ok()
}

/// `+01:00`, `-05:30`, `+00:00`.
fn format_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3600, (a / 60) % 60)
}

/// `+HH:MM`, `+H:MM`, `+HHMM`, `+HH`, `+H` → seconds east of UTC (up to ±18 h).
fn fixed_offset(s: &str) -> Option<i32> {
    let sign = if s.starts_with('-') { -1 } else { 1 };
    let rest = s.get(1..).filter(|r| r.is_ascii())?;
    let number = |t: &str| {
        (!t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<i32>().ok())
            .flatten()
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) if m.len() == 2 => (number(h)?, number(m)?),
        Some(_) => return None,
        None if rest.len() > 2 && rest.len() <= 4 => {
            let (h, m) = rest.split_at(rest.len() - 2);
            (number(h)?, number(m)?)
        }
        None => (number(rest)?, 0),
    };
    if h > 18 || m > 59 || (h == 18 && m > 0) {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

/// Wall-clock seconds of a civil date and a second of that day.
pub fn wall_of(year: i32, month: u32, day: u32, secs_of_day: i64) -> UnixSeconds {
    days_from_civil(year, month, day) * 86_400 + secs_of_day
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: i64, mi: i64) -> UnixSeconds {
        wall_of(y, mo, d, h * 3600 + mi * 60)
    }

    #[test]
    fn ranges_over_midnight_show_both_dates() {
        assert_eq!(range_end("2026-11-22 12:10", "2026-11-22 17:19"), "17:19");
        assert_eq!(
            range_end("2026-05-27 16:00", "2026-05-28 14:59"),
            "2026-05-28 14:59"
        );
        assert_eq!(range_end("", "17:19"), "17:19");
    }

    #[test]
    fn utc_and_offsets() {
        assert!(Zone::parse("UTC").unwrap().is_utc());
        assert!(Zone::parse("utc").unwrap().is_utc());
        assert!(Zone::parse("+00:00").unwrap().is_utc());
        let z = Zone::parse("+01:00").unwrap();
        assert_eq!(z.name(), "+01:00");
        assert_eq!(z.to_utc(at(2026, 11, 22, 13, 0)), at(2026, 11, 22, 12, 0));
        assert_eq!(z.format(at(2026, 11, 22, 12, 0)), "2026-11-22 13:00:00");
        for (spec, secs) in [
            ("-0500", -18_000),
            ("+5", 18_000),
            ("UTC+2", -7_200), // POSIX, as TZ=UTC+2 reads it: west of UTC
            ("UTC-3", 10_800),
            ("EST5", -18_000),
            ("+05:30", 19_800),
            ("-9:30", -34_200),
            ("+1800", 64_800),
        ] {
            assert_eq!(Zone::parse(spec).unwrap().offset_at(0), secs, "{spec}");
        }
        for bad in [
            "+25",
            "+01:60",
            "+1:2:3",
            "+",
            "+ab",
            "Mars/Olympus_Mons",
            "+123456",
        ] {
            assert!(Zone::parse(bad).is_err(), "{bad}");
        }
    }

    /// `--tz X` and `TZ=X` must agree: they differed by 10 hours for UTC+5.
    #[test]
    fn posix_strings_read_as_tz_reads_them() {
        let posix = Zone::parse("EST5EDT,M3.2.0,M11.1.0").unwrap();
        assert_eq!(posix.offset_at(at(2026, 1, 15, 12, 0)), -18_000);
        assert_eq!(posix.offset_at(at(2026, 7, 15, 12, 0)), -14_400);
        let tz = TimeZone::posix("UTC+5").unwrap();
        let offset = tz.to_offset(jiff::Timestamp::UNIX_EPOCH).seconds();
        assert_eq!(Zone::parse("UTC+5").unwrap().offset_at(0), offset);
        assert_eq!(offset, -18_000);
    }

    #[test]
    fn named_zone_with_daylight_saving() {
        let z = Zone::parse("Europe/Berlin").unwrap();
        assert_eq!(z.name(), "Europe/Berlin");
        // Winter: UTC+1; summer: UTC+2.
        assert_eq!(z.to_utc(at(2026, 11, 22, 13, 39)), at(2026, 11, 22, 12, 39));
        assert_eq!(z.to_utc(at(2026, 7, 1, 14, 0)), at(2026, 7, 1, 12, 0));
        assert_eq!(z.offset_label(at(2026, 7, 1, 12, 0)), "+02:00");
        // 2026-10-25 02:30 happens twice in Berlin: the first (CEST) is taken.
        assert_eq!(z.to_utc(at(2026, 10, 25, 2, 30)), at(2026, 10, 25, 0, 30));
        // 2026-03-29 02:30 does not exist: read with the offset before the gap.
        assert_eq!(z.to_utc(at(2026, 3, 29, 2, 30)), at(2026, 3, 29, 1, 30));
        // Round trip away from transitions.
        for utc in [0, 1_795_351_137, 1_782_900_000] {
            assert_eq!(z.to_utc(z.to_wall(utc)), utc);
        }
        let ny = Zone::parse("America/New_York").unwrap();
        assert_eq!(
            ny.format_minute(at(2026, 11, 22, 12, 39)),
            "2026-11-22 07:39"
        );
        assert_eq!(
            ny.start_of_day(at(2026, 11, 22, 3, 0)),
            at(2026, 11, 21, 5, 0)
        );
    }

    #[test]
    fn equality() {
        assert_eq!(Zone::parse("Europe/Paris"), Zone::parse("Europe/Paris"));
        assert_ne!(Zone::parse("Europe/Paris"), Zone::parse("Europe/Berlin"));
        assert_ne!(Zone::UTC, Zone::parse("+01:00").unwrap());
    }
}
