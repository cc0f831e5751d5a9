//! From one line of bytes to one [`Record`]: header first, then the
//! MTA-specific body parser. Pure functions over `&[u8]`, no allocation.

/// `memmem::find` with the needle's searcher built once per call site (a
/// `memmem::find` call builds a new searcher every time: 6 % of a run).
macro_rules! memfind {
    ($hay:expr, $needle:literal) => {{
        static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new($needle));
        FINDER.find($hay)
    }};
}

/// `memmem::rfind` with a searcher built once per call site.
macro_rules! memrfind {
    ($hay:expr, $needle:literal) => {{
        static FINDER: std::sync::LazyLock<memchr::memmem::FinderRev<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::FinderRev::new($needle));
        FINDER.rfind($hay)
    }};
}

/// `memmem::find_iter` with a searcher built once per call site.
macro_rules! memfind_iter {
    ($hay:expr, $needle:literal) => {{
        static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new($needle));
        FINDER.find_iter($hay)
    }};
}

pub mod client;
pub mod exim;
pub mod find;
pub mod header;
pub mod journal;
pub mod mta;
pub mod postfix;
pub mod reject;
pub mod reply;
pub mod timestamp;

use crate::event::{Delivery, Queued};
use header::{Header, Program, parse_header_cached};
use timestamp::Clock;
use timestamp::StampCache;

/// Why a line was not understood. Every such line is counted under one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Unparsed {
    /// No timestamp/host/program prefix in any known shape.
    NoHeader = 0,
    /// Longer than the line limit; skipped without parsing.
    TooLong = 1,
    /// A delivery line without a recipient address.
    NoRecipient = 2,
    /// A `to=` line without `status=`.
    NoStatus = 3,
    /// A `status=` word mtastat does not know.
    UnknownStatus = 4,
    /// A line with `to=` and `status=` that is not in Postfix's field order.
    StatusLineShape = 5,
    /// A line starting with `{` that is not a journal entry (invalid JSON,
    /// or no `MESSAGE` or `__REALTIME_TIMESTAMP`).
    JournalEntry = 6,
}

impl Unparsed {
    /// Every reason, in report order.
    pub const ALL: [Unparsed; 7] = [
        Unparsed::NoHeader,
        Unparsed::TooLong,
        Unparsed::NoRecipient,
        Unparsed::NoStatus,
        Unparsed::UnknownStatus,
        Unparsed::StatusLineShape,
        Unparsed::JournalEntry,
    ];

    /// A short machine-readable name (JSON key).
    pub fn as_str(self) -> &'static str {
        match self {
            Unparsed::NoHeader => "no_header",
            Unparsed::TooLong => "too_long",
            Unparsed::NoRecipient => "no_recipient",
            Unparsed::NoStatus => "no_status",
            Unparsed::UnknownStatus => "unknown_status",
            Unparsed::StatusLineShape => "status_line_shape",
            Unparsed::JournalEntry => "journal_entry",
        }
    }

    /// A sentence for the terminal report.
    pub fn describe(self) -> &'static str {
        match self {
            Unparsed::NoHeader => "no timestamp/host/program prefix in a known format",
            Unparsed::TooLong => "line longer than the limit (skipped)",
            Unparsed::NoRecipient => "delivery line without a recipient",
            Unparsed::NoStatus => "to= line without status=",
            Unparsed::UnknownStatus => "unknown status word",
            Unparsed::StatusLineShape => "status= line in an unknown shape",
            Unparsed::JournalEntry => {
                "JSON line that is not a journal entry with MESSAGE and __REALTIME_TIMESTAMP"
            }
        }
    }

    /// Index into per-reason arrays.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What one line amounts to.
#[derive(Clone, Debug, PartialEq)]
pub enum Record<'a> {
    /// A delivery attempt (Postfix `to=… status=`, Exim `=> -> ** ==`).
    Delivery(Delivery<'a>),
    /// A message's envelope sender (Postfix qmgr `from=`, Exim `<=`), or
    /// another fact logged as it entered the queue (Postfix smtpd `client=`,
    /// cleanup `message-id=`, pickup `uid=`).
    Queued(Queued<'a>),
    /// Postfix qmgr `status=expired, returned to sender`: no recipient on the
    /// line; it is joined to the message's last deferral by queue id.
    Expired {
        /// Queue id.
        queue_id: &'a [u8],
        /// The envelope sender on the expiry line (empty for `<>`).
        sender: &'a [u8],
    },
    /// The message left the queue (Postfix qmgr `removed`, Exim `Completed`):
    /// its per-message state can go.
    Removed {
        /// Queue or message id.
        queue_id: &'a [u8],
    },
    /// Exim `<id> H=host [ip]: …`: one MX host failed before Exim tried the
    /// next; a failed attempt without a recipient.
    HostError(Delivery<'a>),
    /// The server refused a command from a client (inbound).
    Reject(reject::Reject<'a>),
    /// An Exim address-verification callout that failed: a probe (status
    /// `Undeliverable`), with the refusal it caused when the line was one.
    Callout(Delivery<'a>, Option<reject::Reject<'a>>),
    /// A daemon's own warning, error, fatal error or panic, or a master
    /// daemon message: (level, text).
    Notice(crate::event::Level, &'a [u8]),
    /// An SMTP client connected (Postfix smtpd `connect from`).
    Connect(&'a [u8]),
    /// An SMTP client's session ended (Postfix smtpd `disconnect from`);
    /// `authenticated`: its statistics say an AUTH succeeded (`auth=1`).
    Disconnect {
        /// The client as logged.
        client: &'a [u8],
        /// An AUTH command succeeded in the session.
        authenticated: bool,
    },
    /// A client's failed SMTP AUTH (password guessing, or a dead backend).
    AuthFailure(crate::event::AuthFailure<'a>),
    /// A postscreen event (`PASS NEW`, `DNSBL`, `PREGREET` …).
    Postscreen(&'a [u8]),
    /// Postfix smtp's or smtpd's TLS handshake summary (no queue id).
    Tls(crate::event::TlsSession<'a>),
    /// Exim `*>`: a delivery suppressed by `-N`.
    FakeDelivery,
    /// A Postfix or Exim line mtastat does not model (connects, cleanup …).
    MailOther,
    /// A line that continues the one above (it starts with a space and has
    /// no header of its own); counted with the mail lines.
    Continuation,
    /// A line from another program (dovecot, amavis …).
    OtherProgram,
    /// A line of another MTA (sendmail, OpenSMTPD …) mtastat does not read.
    OtherMta(header::OtherMta),
    /// A line that could not be understood.
    Unparsed(Unparsed),
}

/// Parses one line (without its terminator) into its header and record.
#[inline]
pub fn parse_line(line: &[u8], hint: Clock) -> (Option<Header<'_>>, Record<'_>) {
    parse_line_cached(line, hint, &mut StampCache::default())
}

/// [`parse_line`] with a timestamp cache kept across the lines of a chunk.
#[inline]
pub fn parse_line_cached<'a>(
    line: &'a [u8],
    hint: Clock,
    stamps: &mut StampCache,
) -> (Option<Header<'a>>, Record<'a>) {
    match parse_header_cached(line, hint, stamps) {
        Some(header) => {
            let record = parse_body(&header);
            (Some(header), record)
        }
        None => (None, headerless(line)),
    }
}

/// The record of a line without a header of its own.
#[inline]
pub fn headerless(line: &[u8]) -> Record<'static> {
    // Exim continues a long message on lines that start with a space
    // (` Suggested action: …` after a TLS error, on every queue run of
    // 4.86–4.92): they belong to the line above.
    if line.first() == Some(&b' ')
        && line.iter().any(|b| !b.is_ascii_whitespace())
        && !carries_a_tag(line.trim_ascii_start())
    {
        Record::Continuation
    } else {
        Record::Unparsed(Unparsed::NoHeader)
    }
}

/// True when `text` starts like a log line's message (`postfix/smtp[8909]:`,
/// a queue id `552B6C20E:`) or a field (`to=<…>`): a line that lost its
/// timestamp and host is damaged, not the continuation of the line above.
fn carries_a_tag(text: &[u8]) -> bool {
    let token = &text[..memchr::memchr(b' ', text).unwrap_or(text.len())];
    token.ends_with(b":") || token.contains(&b'=')
}

/// The record in a parsed header's message, by the program that wrote it.
#[inline(always)]
pub fn parse_body<'a>(header: &Header<'a>) -> Record<'a> {
    match header.program {
        Program::Mta { reader, service } => match mta::READERS.get(usize::from(reader)) {
            Some(r) => (r.parse)(service, header.body),
            None => Record::OtherProgram,
        },
        Program::OtherMta(mta) => Record::OtherMta(mta),
        Program::Other => Record::OtherProgram,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn continuations_and_damaged_lines() {
        use super::{Record, Unparsed, parse_line};
        let hint = super::timestamp::TEST_HINT;
        let (_, r) = parse_line(
            b" Suggested action: either install a certificate or change tls_advertise_hosts option",
            hint,
        );
        assert!(matches!(r, Record::Continuation), "{r:?}");
        let (_, r) = parse_line(
            b" postfix/smtp[8909]: 774C14AEF2: to=<a@b>, relay=x, delay=1, status=deferred (x)",
            hint,
        );
        assert!(matches!(r, Record::Unparsed(Unparsed::NoHeader)), "{r:?}");
        let (_, r) = parse_line(b" 552B6C20E: to=<a@b>, relay=x, status=sent (ok)", hint);
        assert!(matches!(r, Record::Unparsed(Unparsed::NoHeader)), "{r:?}");
        let (_, r) = parse_line(b"\t\tto=<a@b>, relay=none, status=deferred (x)", hint);
        assert!(matches!(r, Record::Unparsed(Unparsed::NoHeader)), "{r:?}");
        let (_, r) = parse_line(b"no header at all", hint);
        assert!(matches!(r, Record::Unparsed(Unparsed::NoHeader)), "{r:?}");
    }

    use super::*;
    use proptest::prelude::*;

    const HINT: Clock = super::timestamp::TEST_HINT;

    /// Real line shapes the property tests mutate.
    const SEEDS: &[&str] = &[
        "Nov 22 12:39:02 mx1 postfix/smtp[1]: 64591B40D0: to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com[1.2.3.4]:25, delay=0.4, delays=0/0/0.1/0.3, dsn=4.7.0, status=deferred (host gmail-smtp-in.l.google.com[1.2.3.4] said: 421-4.7.0 x 421 4.7.0 y (in reply to end of DATA command))",
        "2026-11-22T07:55:37.249744-05:00 mx1 postfix/qmgr[2]: 64591B40D0: from=<s@x>, status=expired, returned to sender",
        "2026-11-22 12:39:03 1xV6qi-0004PA-2t ** a@x R=r T=t H=mx [1.2.3.4] X=TLS:x CV=yes: SMTP error from remote mail server after RCPT TO:<a@x>: 550-5.1.1 a\\n550 5.1.1 b",
        "2026-11-22 12:39:03 1xV6qi-0004PA-2t == a@x R=r T=t defer (-44) H=mx [1.2.3.4]: SMTP error from remote mail server after end of data: 451 4.3.0 x",
        "Jun 29 16:04:19 server exim[1234]: 1xV6qi-0004PA-2t => a@b R=r T=t H=h [1.1.1.1] C=\"250 2.0.0 OK\"",
        "2026-11-22 13:16:01 1xV7QH-0005he-2J H=gmail-smtp-in.l.google.com [127.0.0.10]: SMTP error from remote mail server after end of data: 421-4.7.0 x\\n421 4.7.0 y - gsmtp",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Arbitrary bytes never panic, and a record is always produced.
        #[test]
        fn arbitrary_bytes_never_panic(line in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_line(&line, HINT);
        }

        /// Real lines cut at any point, or with one byte replaced, never panic;
        /// a delivery parsed from them borrows only from the line.
        #[test]
        fn mutated_real_lines_never_panic(
            seed in 0..SEEDS.len(),
            cut in 0usize..400,
            at in 0usize..400,
            byte in any::<u8>(),
        ) {
            let mut line = SEEDS[seed].as_bytes().to_vec();
            if !line.is_empty() {
                let i = at % line.len();
                line[i] = byte;
            }
            line.truncate(cut.min(line.len()));
            if let (_, Record::Delivery(d)) = parse_line(&line, HINT) {
                let range = line.as_ptr_range();
                for field in [d.recipient, d.relay, d.reply, d.queue_id] {
                    if !field.is_empty() {
                        prop_assert!(range.contains(&field.as_ptr()));
                    }
                }
            }
        }

        /// The timestamp cache never changes an answer: a run of lines
        /// parsed with one cache equals the same lines parsed alone.
        #[test]
        fn cached_parsing_equals_plain_parsing(
            picks in proptest::collection::vec((0..SEEDS.len(), 0usize..400, any::<u8>()), 1..12),
        ) {
            let mut stamps = StampCache::default();
            for (seed, at, byte) in picks {
                let mut line = SEEDS[seed].as_bytes().to_vec();
                let i = at % line.len();
                line[i] = byte;
                let cached = parse_line_cached(&line, HINT, &mut stamps);
                let plain = parse_line(&line, HINT);
                prop_assert_eq!(cached, plain);
            }
        }

        /// Timestamps: parse what we format, for any time from 1970 to 2200.
        #[test]
        fn exim_timestamps_round_trip(t in 0i64..7_258_118_400) {
            let text = crate::time::zone::format_wall(t);
            prop_assert_eq!(timestamp::parse_exim(text.as_bytes(), crate::time::zone::Zone::UTC), Some((t, 19)));
        }
    }
}
