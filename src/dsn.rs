//! Enhanced status codes (RFC 3463, registry in RFC 5248): `class.subject.detail`.
//!
//! The class says whether a failure is transient (4) or permanent (5); the
//! subject says *where* it failed (addressing, mailbox, network, policy …).
//! Together they are the "code family" the report groups by.

use std::fmt;

/// An enhanced status code such as `4.7.0`, stored in 8 bytes and `Copy`.
///
/// Detail numbers go up to 3 digits (Microsoft uses `5.7.606`); subjects above
/// 7 are kept as written but have no registered name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dsn {
    /// 2 success, 4 persistent transient failure, 5 permanent failure.
    pub class: u8,
    /// 0 other, 1 addressing, 2 mailbox, 3 mail system, 4 network/routing,
    /// 5 protocol, 6 content, 7 security/policy.
    pub subject: u16,
    /// The registry's detail number (or a provider's own, e.g. 4.7.650).
    pub detail: u16,
}

impl Dsn {
    /// Parses `X.Y.Z` at the start of `s`; returns the code and bytes used.
    ///
    /// The code must end at a byte that is not a digit or dot, so `5.7.1.2`
    /// or `4.16.55.1` (Yahoo's internal counters) are not taken for codes.
    pub fn parse_prefix(s: &[u8]) -> Option<(Dsn, usize)> {
        let class = match s.first()? {
            b'2' => 2,
            b'4' => 4,
            b'5' => 5,
            _ => return None,
        };
        if s.get(1) != Some(&b'.') {
            return None;
        }
        let (subject, n1) = small_number(&s[2..])?;
        let at = 2 + n1;
        if s.get(at) != Some(&b'.') {
            return None;
        }
        let (detail, n2) = small_number(&s[at + 1..])?;
        let end = at + 1 + n2;
        if matches!(s.get(end), Some(b'0'..=b'9' | b'.')) && !is_sentence_end(s, end) {
            return None;
        }
        Some((
            Dsn {
                class,
                subject,
                detail,
            },
            end,
        ))
    }

    /// Parses a whole field value such as the `4.7.0` of Postfix's `dsn=4.7.0`.
    pub fn parse(s: &[u8]) -> Option<Dsn> {
        match Dsn::parse_prefix(s)? {
            (dsn, used) if used == s.len() => Some(dsn),
            _ => None,
        }
    }

    /// A compact integer key (class, subject, detail), monotone in each part.
    #[inline]
    pub fn key(self) -> u32 {
        (u32::from(self.class) << 24) | (u32::from(self.subject) << 12) | u32::from(self.detail)
    }

    /// The inverse of [`Dsn::key`].
    #[inline]
    pub fn from_key(key: u32) -> Dsn {
        Dsn {
            class: (key >> 24) as u8,
            subject: ((key >> 12) & 0xfff) as u16,
            detail: (key & 0xfff) as u16,
        }
    }

    /// The RFC 3463 name of this code's subject.
    pub fn subject_name(self) -> &'static str {
        subject_name(self.subject)
    }
}

/// The subject of a code key ([`Dsn::key`]; 0 is "no enhanced code"):
/// `None` without a code — the one definition every frame, export and
/// metric uses (the summary frame once said 0, the x.0 "other" subject,
/// and Prometheus then counted code-less failures as family `4.0`, where
/// the events export said null). Subjects past 255 are not RFC 3463's and
/// read as 255.
#[inline]
pub fn subject_of_key(key: u32) -> Option<u8> {
    (key != 0).then(|| u8::try_from(Dsn::from_key(key).subject).unwrap_or(u8::MAX))
}

/// A period ending a sentence right after the code (`... 5.7.1.`) is not part of it.
#[inline]
fn is_sentence_end(s: &[u8], end: usize) -> bool {
    s.get(end) == Some(&b'.') && !s.get(end + 1).is_some_and(u8::is_ascii_digit)
}

#[inline]
fn small_number(s: &[u8]) -> Option<(u16, usize)> {
    let n = s.iter().take(4).take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 3 {
        return None;
    }
    let v = s[..n]
        .iter()
        .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
    Some((v, n))
}

impl fmt::Display for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// RFC 3463 subject names (`X.n.X`), as the report labels code families.
pub fn subject_name(subject: u16) -> &'static str {
    match subject {
        0 => "other or undefined",
        1 => "addressing",
        2 => "mailbox",
        3 => "mail system",
        4 => "network and routing",
        5 => "mail delivery protocol",
        6 => "message content or media",
        7 => "security or policy",
        _ => "unregistered subject",
    }
}

/// Short column labels for the subjects, for the 100-column report.
pub fn subject_label(subject: u16) -> &'static str {
    match subject {
        0 => "x.0 other",
        1 => "x.1 addr",
        2 => "x.2 mbox",
        3 => "x.3 system",
        4 => "x.4 network",
        5 => "x.5 protocol",
        6 => "x.6 content",
        7 => "x.7 policy",
        _ => "x.? other",
    }
}

/// The title a provider gives a code where it differs from the registry's
/// (`../shared/FACTS.md`, "provider reuse conflicts"): Microsoft's 5.4.1 is a
/// rejected recipient, not "No answer from host"; Yahoo's 5.7.9 is a policy
/// block, not a weak authentication mechanism; Gmail's 5.7.26–5.7.40 name
/// its sender requirements. `provider` is mtastat's provider id.
pub fn provider_title(provider: &str, dsn: Dsn) -> Option<&'static str> {
    let t = match (provider, dsn.class, dsn.subject, dsn.detail) {
        ("microsoft", 5, 4, 1) => "Recipient address rejected: access denied (Microsoft)",
        ("microsoft", 5, 2, 2) => "Submission quota exceeded (Microsoft)",
        ("microsoft", 5, 5, 0) => "Mailbox unavailable: recipient not found (Microsoft)",
        ("yahoo", 5, 7, 9) => "Message not accepted for policy reasons (Yahoo)",
        ("yahoo", 5, 7, 2) => "Sending IP deferred permanently [TSS09] (Yahoo)",
        ("google", _, 7, 26) => "Sender unauthenticated: SPF/DKIM/DMARC (Gmail)",
        ("google", _, 7, 27) => "SPF authentication failed (Gmail)",
        ("google", _, 7, 28) => "Unusual rate of unsolicited mail from your IP (Gmail)",
        ("google", _, 7, 29) => "Not sent over TLS (Gmail)",
        ("google", _, 7, 30) => "DKIM authentication failed (Gmail)",
        ("google", _, 7, 32) => "From: not aligned with SPF or DKIM domain (Gmail)",
        ("google", 5, 7, 40) => "No DMARC record for the sending domain (Gmail)",
        _ => return None,
    };
    Some(t)
}

/// The IANA registry title of a detail code, where the registry has one:
/// the generic RFC text ([`provider_title`] first where a provider reuses a
/// code with its own meaning).
pub fn registry_title(dsn: Dsn) -> Option<&'static str> {
    let t = match (dsn.subject, dsn.detail) {
        (0, 0) => "Other undefined status",
        (1, 0) => "Other address status",
        (1, 1) => "Bad destination mailbox address",
        (1, 2) => "Bad destination system address",
        (1, 3) => "Bad destination mailbox address syntax",
        (1, 4) => "Destination mailbox address ambiguous",
        (1, 5) => "Destination address valid",
        (1, 6) => "Destination mailbox has moved",
        (1, 7) => "Bad sender's mailbox address syntax",
        (1, 8) => "Bad sender's system address",
        (1, 9) => "Message relayed to non-compliant mailer",
        (1, 10) => "Recipient address has null MX",
        (2, 0) => "Other or undefined mailbox status",
        (2, 1) => "Mailbox disabled, not accepting messages",
        (2, 2) => "Mailbox full",
        (2, 3) => "Message length exceeds administrative limit",
        (2, 4) => "Mailing list expansion problem",
        (3, 0) => "Other or undefined mail system status",
        (3, 1) => "Mail system full",
        (3, 2) => "System not accepting network messages",
        (3, 3) => "System not capable of selected features",
        (3, 4) => "Message too big for system",
        (3, 5) => "System incorrectly configured",
        (3, 6) => "Requested priority was changed",
        (4, 0) => "Other or undefined network or routing status",
        (4, 1) => "No answer from host",
        (4, 2) => "Bad connection",
        (4, 3) => "Directory server failure",
        (4, 4) => "Unable to route",
        (4, 5) => "Mail system congestion",
        (4, 6) => "Routing loop detected",
        (4, 7) => "Delivery time expired",
        (5, 0) => "Other or undefined protocol status",
        (5, 1) => "Invalid command",
        (5, 2) => "Syntax error",
        (5, 3) => "Too many recipients",
        (5, 4) => "Invalid command arguments",
        (5, 5) => "Wrong protocol version",
        (5, 6) => "Authentication exchange line is too long",
        (6, 0) => "Other or undefined media error",
        (6, 1) => "Media not supported",
        (6, 2) => "Conversion required and prohibited",
        (6, 3) => "Conversion required but not supported",
        (6, 4) => "Conversion with loss performed",
        (6, 5) => "Conversion failed",
        (6, 6) => "Message content not available",
        (6, 7) => "Non-ASCII addresses not permitted",
        (6, 8) => "UTF-8 string reply is required",
        (6, 9) => "UTF-8 header message cannot be transferred",
        (7, 0) => "Other or undefined security status",
        (7, 1) => "Delivery not authorized, message refused",
        (7, 2) => "Mailing list expansion prohibited",
        (7, 3) => "Security conversion required but not possible",
        (7, 4) => "Security features not supported",
        (7, 5) => "Cryptographic failure",
        (7, 6) => "Cryptographic algorithm not supported",
        (7, 7) => "Message integrity failure",
        (7, 8) => "Authentication credentials invalid",
        (7, 9) => "Authentication mechanism is too weak",
        (7, 10) => "Encryption needed",
        (7, 11) => "Encryption required for requested authentication mechanism",
        (7, 12) => "A password transition is needed",
        (7, 13) => "User account disabled",
        (7, 14) => "Trust relationship required",
        (7, 15) => "Priority level is too low",
        (7, 16) => "Message is too big for the specified priority",
        (7, 17) => "Mailbox owner has changed",
        (7, 18) => "Domain owner has changed",
        (7, 19) => "RRVS test cannot be completed",
        (7, 20) => "No passing DKIM signature found",
        (7, 21) => "No acceptable DKIM signature found",
        (7, 22) => "No valid author-matched DKIM signature found",
        (7, 23) => "SPF validation failed",
        (7, 24) => "SPF validation error",
        (7, 25) => "Reverse DNS validation failed",
        (7, 26) => "Multiple authentication checks failed",
        (7, 27) => "Sender address has null MX",
        (7, 28) => "Mail flood detected",
        (7, 29) => "ARC validation failure",
        (7, 30) => "REQUIRETLS support required",
        _ => return None,
    };
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(class: u8, subject: u16, detail: u16) -> Dsn {
        Dsn {
            class,
            subject,
            detail,
        }
    }

    #[test]
    fn parses_codes() {
        assert_eq!(Dsn::parse(b"4.7.0"), Some(d(4, 7, 0)));
        assert_eq!(Dsn::parse(b"5.7.606"), Some(d(5, 7, 606)));
        assert_eq!(Dsn::parse(b"5.1.10"), Some(d(5, 1, 10)));
        assert_eq!(Dsn::parse(b"2.0.0"), Some(d(2, 0, 0)));
        assert_eq!(Dsn::parse(b"3.0.0"), None);
        assert_eq!(Dsn::parse(b"4.7"), None);
        assert_eq!(Dsn::parse(b"4.7.0x"), None);
        assert_eq!(Dsn::parse(b"4.7.1234"), None);
        assert_eq!(Dsn::parse(b""), None);
    }

    #[test]
    fn prefix_stops_at_text_but_not_at_longer_numbers() {
        assert_eq!(Dsn::parse_prefix(b"5.7.1 Service"), Some((d(5, 7, 1), 5)));
        assert_eq!(Dsn::parse_prefix(b"5.7.1."), Some((d(5, 7, 1), 5)));
        assert_eq!(Dsn::parse_prefix(b"4.16.55.1"), None);
        assert_eq!(Dsn::parse_prefix(b"5.7.26\\n550"), Some((d(5, 7, 26), 6)));
    }

    #[test]
    fn key_round_trip_and_order() {
        for c in [d(2, 0, 0), d(4, 7, 650), d(5, 7, 999), d(5, 999, 0)] {
            assert_eq!(Dsn::from_key(c.key()), c);
        }
        assert!(d(4, 7, 0).key() < d(4, 7, 28).key());
        assert!(d(4, 7, 28).key() < d(5, 1, 1).key());
    }

    #[test]
    fn names() {
        assert_eq!(d(4, 7, 0).to_string(), "4.7.0");
        assert_eq!(d(5, 1, 1).subject_name(), "addressing");
        assert_eq!(
            registry_title(d(5, 7, 26)),
            Some("Multiple authentication checks failed")
        );
        assert_eq!(registry_title(d(4, 7, 650)), None);
    }
}
