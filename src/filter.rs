//! `--since`, `--until`, `--provider`, `--sender-domain`: which attempts count.
//!
//! Filters apply where an attempt is *counted*, after every join: a deferral
//! outside the time window still lets an expiry inside it find its provider,
//! and a delivery is matched to its sender before `--sender-domain` decides.

use crate::classify::provider::ProviderId;
use crate::parse::timestamp::parse_rfc3339;
use crate::time::UnixSeconds;
use crate::time::days_from_civil;
use crate::time::zone::Zone;

/// What to keep. The default keeps everything.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Keep attempts at or after this time.
    pub since: Option<UnixSeconds>,
    /// Keep attempts before this time.
    pub until: Option<UnixSeconds>,
    /// Keep only these providers (indexed by id); `None` keeps all.
    pub providers: Option<Vec<bool>>,
    /// Keep only messages from these sender domains (lowercase) or their
    /// subdomains; empty keeps all.
    pub sender_domains: Vec<Vec<u8>>,
}

impl Filter {
    /// True when nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.since.is_none()
            && self.until.is_none()
            && self.providers.is_none()
            && self.sender_domains.is_empty()
    }

    /// Time and provider test.
    #[inline]
    pub fn keeps(&self, ts: UnixSeconds, provider: ProviderId) -> bool {
        self.since.is_none_or(|s| ts >= s)
            && self.until.is_none_or(|u| ts < u)
            && self
                .providers
                .as_ref()
                .is_none_or(|p| p.get(usize::from(provider)).copied().unwrap_or(false))
    }

    /// True when `ts` is inside `--since`/`--until` (for lines that belong
    /// to no provider, such as inbound rejects).
    #[inline]
    pub fn keeps_time(&self, ts: UnixSeconds) -> bool {
        self.since.is_none_or(|s| ts >= s) && self.until.is_none_or(|u| ts < u)
    }

    /// True when `sender` (the message's sender domain, lowercase) passes
    /// `--sender-domain` (always, without it).
    pub fn keeps_sender(&self, sender: &[u8]) -> bool {
        self.sender_domains.is_empty()
            || self
                .sender_domains
                .iter()
                .any(|d| is_domain_or_sub(sender, d))
    }
}

/// `mailer.saasly.example` is within `saasly.example`; `xsaasly.example` is not.
pub fn is_domain_or_sub(domain: &[u8], parent: &[u8]) -> bool {
    domain == parent
        || (domain.len() > parent.len()
            && domain.ends_with(parent)
            && domain[domain.len() - parent.len() - 1] == b'.')
}

/// Parses a `--since`/`--until` value relative to `now` (UTC seconds).
///
/// Accepted: `now`, `today`, `yesterday` (midnight); a duration ago
/// (`90s`, `15m`, `1h`, `2d`, `1w`, optionally followed by ` ago`); a date
/// `2026-11-22`; a date and time `2026-11-22 14:05[:30]` or RFC 3339
/// (`2026-11-22T14:05:00Z`, `…+01:00`); a time of day `14:05[:30]` (today).
/// Times without a zone are wall-clock times in `zone` (`--tz`), like log
/// timestamps without one.
pub fn parse_time_spec(spec: &str, now: UnixSeconds, zone: Zone) -> Result<UnixSeconds, String> {
    let s = spec.trim();
    let midnight = zone.start_of_day(now);
    match s {
        "now" => return Ok(now),
        "today" => return Ok(midnight),
        // Not midnight - 24 h: a day with a clock change is 23 or 25 hours.
        "yesterday" => return Ok(zone.start_of_day(midnight - 1)),
        _ => {}
    }
    let bare = s.strip_suffix(" ago").unwrap_or(s).trim();
    if let Some(secs) = parse_duration(bare) {
        return Ok(now - secs);
    }
    if let Some(t) = parse_date_time(s, zone) {
        return Ok(t);
    }
    if let Some(secs) = parse_clock(s) {
        let wall = zone.to_wall(midnight);
        return Ok(zone.to_utc(wall - wall.rem_euclid(86_400) + secs));
    }
    Err(format!(
        "cannot read time {spec:?}: use now, today, yesterday, 1h, 30m, 2d, \
         2026-11-22, \"2026-11-22 14:05\", 2026-11-22T14:05:00Z or 14:05"
    ))
}

/// `90s`, `30m`, `1h`, `2d`, `1w` in seconds.
pub(crate) fn parse_duration(s: &str) -> Option<i64> {
    let unit_at = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(unit_at);
    let n: i64 = n.parse().ok()?;
    let mult = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn parse_clock(s: &str) -> Option<i64> {
    let mut parts = s.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let sec: i64 = match parts.next() {
        Some(x) => x.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() || !(0..24).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    if !(0..61).contains(&sec) {
        return None;
    }
    Some(h * 3600 + m * 60 + sec)
}

fn parse_date_time(s: &str, zone: Zone) -> Option<UnixSeconds> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i32 = s.get(0..4)?.parse().ok()?;
    let month: u32 = s.get(5..7)?.parse().ok()?;
    let day: u32 = s.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&month) || day < 1 || day > crate::time::days_in_month(year, month) {
        return None;
    }
    let date = days_from_civil(year, month, day) * 86_400;
    let rest = s.get(10..)?;
    if rest.is_empty() {
        return Some(zone.to_utc(date));
    }
    // Full RFC 3339 (with seconds and zone) goes to the log parser.
    if let Some((t, used)) = parse_rfc3339(b)
        && used == b.len()
    {
        return Some(t);
    }
    let time = rest.strip_prefix(' ').or_else(|| rest.strip_prefix('T'))?;
    match time.strip_suffix('Z') {
        Some(utc) => Some(date + parse_clock(utc)?),
        None => Some(zone.to_utc(date + parse_clock(time)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_351_137; // 2026-11-22 12:38:57 UTC

    fn parse_time_spec_utc(spec: &str, now: UnixSeconds) -> Result<UnixSeconds, String> {
        parse_time_spec(spec, now, Zone::UTC)
    }

    #[test]
    fn times_in_a_zone() {
        let ny = Zone::parse("America/New_York").unwrap();
        // 12:38:57 UTC is 07:38:57 in New York (EST, UTC-5).
        assert_eq!(parse_time_spec("07:38:57", NOW, ny), Ok(NOW));
        assert_eq!(parse_time_spec("2026-11-22 07:38:57", NOW, ny), Ok(NOW));
        assert_eq!(parse_time_spec("2026-11-22T12:38:57Z", NOW, ny), Ok(NOW));
        assert_eq!(parse_time_spec("2026-11-22T12:38Z", NOW, ny), Ok(NOW - 57));
        let midnight_ny = NOW - (7 * 3600 + 38 * 60 + 57);
        assert_eq!(parse_time_spec("today", NOW, ny), Ok(midnight_ny));
        assert_eq!(parse_time_spec("2026-11-22", NOW, ny), Ok(midnight_ny));
        assert_eq!(
            parse_time_spec("yesterday", NOW, ny),
            Ok(midnight_ny - 86_400)
        );
    }
    const MIDNIGHT: i64 = NOW - NOW % 86_400;

    #[test]
    fn relative_and_named_times() {
        assert_eq!(parse_time_spec_utc("now", NOW), Ok(NOW));
        assert_eq!(parse_time_spec_utc("today", NOW), Ok(MIDNIGHT));
        assert_eq!(parse_time_spec_utc("yesterday", NOW), Ok(MIDNIGHT - 86_400));
        assert_eq!(parse_time_spec_utc("1h", NOW), Ok(NOW - 3600));
        assert_eq!(parse_time_spec_utc("30m", NOW), Ok(NOW - 1800));
        assert_eq!(parse_time_spec_utc("2d ago", NOW), Ok(NOW - 2 * 86_400));
        assert_eq!(parse_time_spec_utc("1w", NOW), Ok(NOW - 7 * 86_400));
    }

    #[test]
    fn absolute_times() {
        assert_eq!(parse_time_spec_utc("2026-11-22", NOW), Ok(MIDNIGHT));
        assert_eq!(
            parse_time_spec_utc("2026-11-22 12:38:57", NOW),
            Ok(NOW),
            "date and time, UTC"
        );
        assert_eq!(parse_time_spec_utc("2026-11-22T12:38", NOW), Ok(NOW - 57));
        assert_eq!(parse_time_spec_utc("2026-11-22T12:38:57Z", NOW), Ok(NOW));
        assert_eq!(
            parse_time_spec_utc("2026-11-22T13:38:57+01:00", NOW),
            Ok(NOW),
            "offsets are honoured"
        );
        assert_eq!(parse_time_spec_utc("12:38:57", NOW), Ok(NOW));
        assert_eq!(parse_time_spec_utc("12:38", NOW), Ok(NOW - 57));
    }

    #[test]
    fn nonsense_is_an_error() {
        for bad in [
            "",
            "soon",
            "25:00",
            "2026-13-01",
            "2026-02-30",
            "2026-02-29 10:00",
            "2026-04-31",
            "12:61",
            "1y",
            "-1h",
            "2026-11-22 x",
        ] {
            assert!(parse_time_spec(bad, NOW, Zone::UTC).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters() {
        let f = Filter {
            since: Some(100),
            until: Some(200),
            providers: Some(vec![false, true]),
            sender_domains: vec![b"saasly.example".to_vec()],
        };
        assert!(f.keeps(100, 1) && f.keeps(199, 1));
        assert!(!f.keeps(200, 1) && !f.keeps(99, 1) && !f.keeps(150, 0) && !f.keeps(150, 9));
        assert!(f.keeps_sender(b"saasly.example"));
        assert!(f.keeps_sender(b"mailer.saasly.example"));
        assert!(!f.keeps_sender(b"xsaasly.example"));
        assert!(!f.keeps_sender(b""));
        assert!(Filter::default().is_empty() && Filter::default().keeps_sender(b""));
    }
}
