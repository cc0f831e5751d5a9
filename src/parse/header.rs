//! The part of a line before the message: timestamp, host and program.
//!
//! Recognised shapes, decided per line (so mixed and concatenated files work):
//!
//! ```text
//! Nov 22 12:39:02 mx1 postfix/smtp[123]: …              RFC 3164 (syslog, postlogd)
//! 2026-11-22T07:55:37.249744-05:00 mx1 postfix/smtp[123]: …   RFC 3339 (rsyslog)
//! 2026-11-22 12:39:03 1xV6qi-0004PA-2t => …            Exim mainlog
//! 2026-11-22 12:39:03.123 +0100 [4711] 1xV6qi-… => …   Exim with ms, zone, pid
//! Jun 29 16:04:19 mx1 exim[1234]: 1xV6qi-… => …        Exim through syslog
//! <22>1 2026-11-22T13:00:01.18+01:00 mx1 postfix/smtp 374 - - …   RFC 5424
//! ```

use super::find;
use super::timestamp::{Clock, StampCache, UnixSeconds, parse_exim, parse_rfc3339};
use memchr::memchr;

/// The timestamp style a line was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineFormat {
    /// `Nov 22 12:39:02 host tag[pid]: …` (syslog, postlogd, journalctl short).
    Syslog,
    /// `2026-11-22T07:55:37.249744-05:00 host tag[pid]: …` (rsyslog, short-iso).
    SyslogIso,
    /// `2026-11-22 12:39:03 …` (Exim's own mainlog).
    EximMainlog,
    /// `{"__REALTIME_TIMESTAMP":…,"MESSAGE":…}` (`journalctl -o json`).
    JournalJson,
    /// `<22>1 2026-11-22T13:00:01.185246+01:00 host app procid msgid sd msg`
    /// (RFC 5424: rsyslog's `RSYSLOG_SyslogProtocol23Format`, syslog-ng,
    /// many container runtimes).
    Syslog5424,
}

impl LineFormat {
    /// Name used in the report and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            LineFormat::Syslog => "syslog",
            LineFormat::SyslogIso => "syslog-iso",
            LineFormat::EximMainlog => "exim-mainlog",
            LineFormat::JournalJson => "journal-json",
            LineFormat::Syslog5424 => "syslog-5424",
        }
    }

    /// Every format, in index order.
    pub const ALL: [LineFormat; 5] = [
        LineFormat::Syslog,
        LineFormat::SyslogIso,
        LineFormat::EximMainlog,
        LineFormat::JournalJson,
        LineFormat::Syslog5424,
    ];
}

/// Which program wrote the message part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program<'a> {
    /// An MTA mtastat reads: a row of [`super::mta::READERS`] (Postfix,
    /// Exim's mainlog or syslog tag …).
    Mta {
        /// Its index in [`super::mta::READERS`].
        reader: u8,
        /// The service the tag names (`smtp` in `postfix-out/smtp`,
        /// `smtpd` in `postfix/submission/smtpd`; empty when none).
        service: &'a [u8],
    },
    /// Another MTA whose lines mtastat does not read (said in the report,
    /// never just "other programs").
    OtherMta(OtherMta),
    /// Anything else (dovecot, amavis, kernel …).
    Other,
}

/// MTAs other than Postfix and Exim, recognised by their syslog tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OtherMta {
    /// `sendmail`, `sm-mta`, `sm-msp-queue`.
    Sendmail,
    /// OpenSMTPD (`smtpd`).
    OpenSmtpd,
    /// qmail (`qmail`, `qmail-send` …).
    Qmail,
    /// Courier (`courieresmtp`, `courierd` …).
    Courier,
    /// Haraka.
    Haraka,
}

impl OtherMta {
    /// Every kind, in index order.
    pub const ALL: [OtherMta; 5] = [
        OtherMta::Sendmail,
        OtherMta::OpenSmtpd,
        OtherMta::Qmail,
        OtherMta::Courier,
        OtherMta::Haraka,
    ];

    /// Name used in the report and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            OtherMta::Sendmail => "sendmail",
            OtherMta::OpenSmtpd => "opensmtpd",
            OtherMta::Qmail => "qmail",
            OtherMta::Courier => "courier",
            OtherMta::Haraka => "haraka",
        }
    }

    /// The MTA a syslog tag names, if any.
    fn of_tag(tag: &[u8]) -> Option<OtherMta> {
        match tag {
            b"sendmail" | b"sm-mta" | b"sm-msp-queue" => Some(OtherMta::Sendmail),
            b"smtpd" => Some(OtherMta::OpenSmtpd),
            b"haraka" | b"Haraka" => Some(OtherMta::Haraka),
            t if t.starts_with(b"qmail") => Some(OtherMta::Qmail),
            t if t.starts_with(b"courier") => Some(OtherMta::Courier),
            _ => None,
        }
    }
}

/// A parsed line prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// The line's time, UTC seconds.
    pub ts: UnixSeconds,
    /// The syslog host; empty for Exim mainlog (which does not log it).
    pub host: &'a [u8],
    /// The program.
    pub program: Program<'a>,
    /// The timestamp style.
    pub format: LineFormat,
    /// Everything after the header (for Exim: after timestamp and `[pid]`).
    pub body: &'a [u8],
    /// The process id of the syslog tag (`smtp[4711]`), RFC 5424's PROCID
    /// or the journal's `_PID`; empty when the line has none. Postfix's
    /// TLS and session lines are joined to a message by it.
    pub pid: &'a [u8],
}

/// The time of `line`, if it has a header mtastat reads (input orders
/// rotated files by their first one).
pub fn line_time(line: &[u8], hint: Clock) -> Option<UnixSeconds> {
    parse_header(line, hint).map(|h| h.ts)
}

/// Parses the header of `line`; `None` when no known shape matches.
#[inline]
pub fn parse_header(line: &[u8], hint: Clock) -> Option<Header<'_>> {
    parse_header_cached(line, hint, &mut StampCache::default())
}

/// [`parse_header`] with a timestamp cache kept across the lines of a chunk.
#[inline]
pub fn parse_header_cached<'a>(
    line: &'a [u8],
    hint: Clock,
    stamps: &mut StampCache,
) -> Option<Header<'a>> {
    match line.first()? {
        b'<' => rfc5424(line),
        b'1'..=b'9' if line.get(1) == Some(&b' ') => rfc5424(line),
        b'A'..=b'Z' => {
            let (ts, used) = stamps.rfc3164(line, hint)?;
            syslog_rest(line, ts, used, LineFormat::Syslog)
        }
        b'0'..=b'9' => match line.get(10)? {
            b'T' => {
                let (ts, used) = parse_rfc3339(line)?;
                syslog_rest(line, ts, used, LineFormat::SyslogIso)
            }
            b' ' => {
                let (ts, used) = stamps.exim(line, hint.zone)?;
                let body = exim_body(line.get(used..)?)?;
                Some(Header {
                    ts,
                    host: b"",
                    program: Program::Mta {
                        reader: super::mta::EXIM,
                        service: b"",
                    },
                    format: LineFormat::EximMainlog,
                    body,
                    pid: b"",
                })
            }
            _ => None,
        },
        _ => None,
    }
}

/// RFC 5424: `[<PRI>]VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID
/// SP MSGID SP STRUCTURED-DATA [SP MSG]`. The program is APP-NAME (`postfix/smtp`,
/// `exim`); structured data (`-` or `[id k="v" …]…`, quotes may escape `]`)
/// is skipped; a BOM before the message is dropped. A NILVALUE timestamp
/// cannot be placed in time: the line is not understood.
fn rfc5424(line: &[u8]) -> Option<Header<'_>> {
    let mut rest = line;
    if rest.first() == Some(&b'<') {
        let close = memchr(b'>', rest)?;
        if !(2..=4).contains(&close) || !rest[1..close].iter().all(u8::is_ascii_digit) {
            return None;
        }
        rest = &rest[close + 1..];
    }
    let (version, r) = token(rest)?;
    if version.is_empty() || version.len() > 2 || !version.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (stamp, r) = token(r)?;
    let (ts, used) = parse_rfc3339(stamp)?;
    if used != stamp.len() {
        return None;
    }
    let (host, r) = token(r)?;
    let (app, r) = token(r)?;
    let (procid, r) = token(r)?;
    let (_msgid, r) = token(r)?;
    let msg = skip_structured_data(r)?;
    let msg = msg.strip_prefix(b" ").unwrap_or(msg);
    let msg = msg.strip_prefix(b"\xef\xbb\xbf").unwrap_or(msg);
    let host = if host == b"-" { &b""[..] } else { host };
    let (program, body) = classify_tag(if app == b"-" { b"" } else { app }, msg);
    Some(Header {
        ts,
        host,
        program,
        format: LineFormat::Syslog5424,
        body,
        pid: digits_or_empty(procid),
    })
}

/// The bytes up to the next space (not empty), and what follows the space.
#[inline]
fn token(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = find::byte(b' ', s)?;
    (end > 0).then(|| (&s[..end], &s[end + 1..]))
}

/// Past RFC 5424's STRUCTURED-DATA: `-`, or `[…]` elements back to back,
/// where a `]` inside a quoted value is escaped as `\]`.
fn skip_structured_data(s: &[u8]) -> Option<&[u8]> {
    if let Some(rest) = s.strip_prefix(b"-") {
        return Some(rest);
    }
    let mut i = 0;
    while s.get(i) == Some(&b'[') {
        let mut quoted = false;
        i += 1;
        loop {
            match *s.get(i)? {
                b'\\' if quoted => i += 2,
                b'"' => {
                    quoted = !quoted;
                    i += 1;
                }
                b']' if !quoted => {
                    i += 1;
                    break;
                }
                _ => i += 1,
            }
        }
    }
    (i > 0).then(|| &s[i..])
}

/// After an Exim timestamp: an optional `[pid]`, then the message.
#[inline]
fn exim_body(rest: &[u8]) -> Option<&[u8]> {
    let rest = rest.strip_prefix(b" ")?;
    if rest.first() == Some(&b'[') {
        let close = memchr(b']', rest)?;
        if close > 1 && rest[1..close].iter().all(u8::is_ascii_digit) {
            return rest
                .get(close + 1..)
                .map(|r| r.strip_prefix(b" ").unwrap_or(r));
        }
    }
    Some(rest)
}

/// After a syslog timestamp: ` host tag[pid]: message`.
#[inline]
fn syslog_rest(
    line: &[u8],
    ts: UnixSeconds,
    used: usize,
    format: LineFormat,
) -> Option<Header<'_>> {
    // journalctl -o short-precise adds microseconds to the RFC 3164 stamp.
    let mut at = used;
    if format == LineFormat::Syslog && line.get(at) == Some(&b'.') {
        at += 1;
        while line.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
    }
    let rest = line.get(at..)?.strip_prefix(b" ")?;
    let host_end = find::byte(b' ', rest)?;
    let host = &rest[..host_end];
    let rest = &rest[host_end + 1..];
    // The tag ends at `[pid]:` or `:`; a tag never contains a space.
    let colon = find::byte(b':', rest)?;
    let tag_part = &rest[..colon];
    if tag_part.is_empty() || find::byte(b' ', tag_part).is_some() {
        return None;
    }
    let (tag, pid) = match find::byte(b'[', tag_part) {
        Some(open) => (
            &tag_part[..open],
            digits_or_empty(tag_part[open + 1..].strip_suffix(b"]").unwrap_or_default()),
        ),
        None => (tag_part, &b""[..]),
    };
    let body = rest.get(colon + 1..)?;
    let body = body.strip_prefix(b" ").unwrap_or(body);
    let (program, body) = classify_tag(tag, body);
    Some(Header {
        ts,
        host,
        program,
        format,
        body,
        pid,
    })
}

/// A process id: decimal digits, else nothing (`-`, garbage).
#[inline]
pub(super) fn digits_or_empty(s: &[u8]) -> &[u8] {
    if !s.is_empty() && s.len() <= 10 && s.iter().all(u8::is_ascii_digit) {
        s
    } else {
        b""
    }
}

/// Exim through syslog may still carry its own timestamp inside the message.
#[inline]
pub(super) fn exim_body_in_syslog(body: &[u8]) -> &[u8] {
    if body.len() > 19
        && body[0].is_ascii_digit()
        && body.get(10) == Some(&b' ')
        && let Some((_, used)) = parse_exim(body, crate::time::zone::Zone::UTC)
        && let Some(rest) = exim_body(&body[used..])
    {
        return rest;
    }
    body
}

/// Always inlined: returned through memory from an out-of-line call, its
/// `(Program, body)` was read back before the stores could be forwarded —
/// two-thirds of the header parser's samples (issue 16).
#[inline(always)]
pub(super) fn classify_tag<'a>(tag: &'a [u8], body: &'a [u8]) -> (Program<'a>, &'a [u8]) {
    for (i, r) in super::mta::READERS.iter().enumerate() {
        if let Some(service) = (r.tag)(tag) {
            let reader = i as u8;
            return (Program::Mta { reader, service }, (r.body)(body));
        }
    }
    if let Some(mta) = OtherMta::of_tag(tag) {
        (Program::OtherMta(mta), body)
    } else {
        (Program::Other, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::mta::{EXIM, POSTFIX};

    const HINT: Clock = crate::parse::timestamp::TEST_HINT;

    fn h(line: &str) -> Option<Header<'_>> {
        parse_header(line.as_bytes(), HINT)
    }

    #[test]
    fn postfix_syslog() {
        let x = h("Nov 22 12:39:02 mx1 postfix/smtp[123]: ABC: to=<a@b>").unwrap();
        assert_eq!(x.host, b"mx1");
        assert_eq!(
            x.program,
            Program::Mta {
                reader: POSTFIX,
                service: b"smtp"
            }
        );
        assert_eq!(x.body, b"ABC: to=<a@b>");
        assert_eq!(x.format, LineFormat::Syslog);
    }

    #[test]
    fn postfix_iso_and_instances() {
        let x = h("2026-11-22T07:55:37.249744-05:00 mx1 postfix/submission/smtpd[9]: x").unwrap();
        assert_eq!(
            x.program,
            Program::Mta {
                reader: POSTFIX,
                service: b"smtpd"
            }
        );
        assert_eq!(x.format, LineFormat::SyslogIso);
        let x = h("Nov 22 12:39:02 mx1 postfix-out/smtp[123]: y").unwrap();
        assert_eq!(
            x.program,
            Program::Mta {
                reader: POSTFIX,
                service: b"smtp"
            }
        );
        let x = h("Nov 22 12:39:02 mx1 postfix[123]: y").unwrap();
        assert_eq!(
            x.program,
            Program::Mta {
                reader: POSTFIX,
                service: b""
            }
        );
    }

    #[test]
    fn short_precise_and_other_programs() {
        let x = h("Nov 22 12:39:02.123456 mx1 dovecot: imap-login: x").unwrap();
        assert_eq!(x.program, Program::Other);
        assert_eq!(x.body, b"imap-login: x");
    }

    #[test]
    fn exim_forms() {
        let x = h("2026-11-22 12:39:03 1xV6qi-0004PA-2t => a@b R=r T=t").unwrap();
        assert_eq!(
            x.program,
            Program::Mta {
                reader: EXIM,
                service: b""
            }
        );
        assert_eq!(x.body, b"1xV6qi-0004PA-2t => a@b R=r T=t");
        let y = h("2026-11-22 12:39:03.123 +0000 [4711] 1xV6qi-0004PA-2t => a@b").unwrap();
        assert_eq!(y.body, b"1xV6qi-0004PA-2t => a@b");
        assert_eq!(y.ts, x.ts);
        let z = h("Jun 29 16:04:19 server exim[1234]: 2026-06-29 16:04:19 1xV6qi-0004PA-2t => a@b")
            .unwrap();
        assert_eq!(
            z.program,
            Program::Mta {
                reader: EXIM,
                service: b""
            }
        );
        assert_eq!(z.body, b"1xV6qi-0004PA-2t => a@b");
        let w = h("Jun 29 16:04:19 server exim4[1234]: 1xV6qi-0004PA-2t == a@b").unwrap();
        assert_eq!(w.body, b"1xV6qi-0004PA-2t == a@b");
    }

    #[test]
    fn rfc5424() {
        let x = h("<22>1 2026-11-22T13:00:01.185246+01:00 mx1 postfix/smtp 374637 - - 4A1B2C3D4E: to=<a@b>, status=sent").unwrap();
        assert_eq!(x.format, LineFormat::Syslog5424);
        assert_eq!(x.host, b"mx1");
        assert_eq!(
            x.program,
            Program::Mta {
                reader: POSTFIX,
                service: b"smtp"
            }
        );
        assert_eq!(x.body, b"4A1B2C3D4E: to=<a@b>, status=sent");
        let iso =
            h("2026-11-22T13:00:01.185246+01:00 mx1 postfix/smtp[374637]: 4A1B2C3D4E: x").unwrap();
        assert_eq!(x.ts, iso.ts);
        // Structured data, with an escaped bracket inside a quoted value; a BOM.
        let y = h("<22>1 2026-11-22T12:00:01Z mx1 exim 99 - [meta a=\"x\\]y\"][o b=\"c\"] \u{feff}1xV6qi-0004PA-2t => a@b").unwrap();
        assert_eq!(
            y.program,
            Program::Mta {
                reader: EXIM,
                service: b""
            }
        );
        assert_eq!(y.body, b"1xV6qi-0004PA-2t => a@b");
        // Without PRI (some container runtimes), nil host.
        let z = h("1 2026-11-22T12:00:01Z - postfix/qmgr - - - ABC: removed").unwrap();
        assert_eq!(z.host, b"");
        assert_eq!(z.body, b"ABC: removed");
        for bad in [
            "<22>1 - mx1 postfix/smtp 1 - - x",
            "<22>1 2026-11-22T12:00:01Z mx1 postfix/smtp 1 - [unclosed x",
            "<2222>1 2026-11-22T12:00:01Z mx1 a 1 - - x",
            "<22> 2026-11-22T12:00:01Z mx1 a 1 - - x",
            "1 x",
        ] {
            assert!(h(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn other_mtas_are_named() {
        let x = h("Nov 22 12:39:02 mx1 sm-mta[123]: x1: to=<a@b>, stat=Sent").unwrap();
        assert_eq!(x.program, Program::OtherMta(OtherMta::Sendmail));
        let x = h("Nov 22 12:39:02 mx1 qmail-send: x").unwrap();
        assert_eq!(x.program, Program::OtherMta(OtherMta::Qmail));
        let x = h("Nov 22 12:39:02 mx1 dovecot: imap-login: x").unwrap();
        assert_eq!(x.program, Program::Other);
    }

    #[test]
    fn garbage() {
        for bad in [
            "",
            "hello world",
            "Nov 22 12:39:02",
            "Nov 22 12:39:02 host",
            "Nov 22 12:39:02 host tag with space: x",
            "2026-11-22X12:39:03 x",
            "\u{0}\u{1}binary",
            "******** SERVER ********",
        ] {
            assert!(h(bad).is_none(), "{bad:?}");
        }
    }
}
