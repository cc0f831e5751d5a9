//! What `mtastat trace WHAT` looks for, and whether a line is about it.
//!
//! A queue id, a Message-ID, an envelope address (`@domain` for a whole
//! domain), a client IP or a SASL user name: the kind is told from the
//! text's shape, or named with `--as`. Matching is by field, never by
//! substring: `1.2.3.4` does not match `11.2.3.45`, `bob@x.example` does
//! not match `jimbob@x.example`.

use crate::parse::Record;
use std::net::IpAddr;

/// The kinds of `WHAT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A Postfix queue id or an Exim message id (`4Ps9Pb5Bb5z2Bm0`,
    /// `1xV6qi-0004PA-2t`).
    QueueId,
    /// A `Message-ID` header (`<…@…>`; the brackets may be left off).
    MessageId,
    /// An envelope sender or recipient address.
    Address,
    /// Every address of a domain (`@example.com`).
    Domain,
    /// The client that submitted the message (IPv4 or IPv6).
    Ip,
    /// The SASL user that submitted it (Postfix `sasl_username=`, Exim `A=`).
    User,
}

impl Kind {
    /// Its name in the output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::QueueId => "queue id",
            Kind::MessageId => "Message-ID",
            Kind::Address => "address",
            Kind::Domain => "domain",
            Kind::Ip => "client IP",
            Kind::User => "SASL user",
        }
    }
}

/// A parsed `WHAT`.
#[derive(Clone, Debug)]
pub struct Query {
    /// What it is.
    pub kind: Kind,
    /// The text matched (lowercased for addresses and domains; without
    /// brackets for a Message-ID; `[ip]` for an IP).
    pub needle: Vec<u8>,
}

/// True for text shaped like a Postfix queue id: 6–15 letters and digits
/// with at least one digit and, for short ids, hex in upper case.
fn looks_like_postfix_id(s: &str) -> bool {
    let n = s.len();
    if !(6..=15).contains(&n) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    if n <= 12 {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    } else {
        // Long ids (`enable_long_queue_ids`): base-52 time, a `z`, inode.
        s.bytes().any(|b| b.is_ascii_digit()) && s.contains('z')
    }
}

impl Query {
    /// Reads `what`, as `kind` when given, else by its shape.
    pub fn parse(what: &str, kind: Option<Kind>) -> Result<Query, String> {
        let what = what.trim();
        if what.is_empty() {
            return Err("trace: nothing to look for".into());
        }
        let kind = match kind {
            Some(k) => k,
            None if what.starts_with('<') && what.ends_with('>') => Kind::MessageId,
            None if what.starts_with('@') => Kind::Domain,
            None if what.contains('@') => Kind::Address,
            None if what.parse::<IpAddr>().is_ok() => Kind::Ip,
            None if what.len() >= 16 && crate::parse::exim::is_message_id(what.as_bytes()) => {
                Kind::QueueId
            }
            None if looks_like_postfix_id(what) => Kind::QueueId,
            None => Kind::User,
        };
        let needle = match kind {
            Kind::MessageId => what
                .trim_start_matches('<')
                .trim_end_matches('>')
                .as_bytes()
                .to_vec(),
            Kind::Address => what
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_ascii_lowercase()
                .into_bytes(),
            Kind::Domain => {
                let d = what.trim_start_matches('@').to_ascii_lowercase();
                if d.is_empty() {
                    return Err("trace: @ needs a domain after it".into());
                }
                format!("@{d}").into_bytes()
            }
            Kind::Ip => {
                let ip: IpAddr = what
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse()
                    .map_err(|_| format!("trace: {what:?} is not an IP address"))?;
                format!("[{ip}]").into_bytes()
            }
            Kind::QueueId | Kind::User => what.as_bytes().to_vec(),
        };
        Ok(Query { kind, needle })
    }

    /// Whether a line (its message id `id`, its parsed `record`, the raw
    /// `line`) is about what the query names.
    pub fn matches(&self, id: &[u8], record: &Record<'_>, line: &[u8]) -> bool {
        match self.kind {
            Kind::QueueId => id == self.needle.as_slice(),
            Kind::MessageId => match record {
                Record::Queued(q) => trim_brackets(q.message_id) == self.needle.as_slice(),
                _ => false,
            },
            Kind::Address | Kind::Domain => addresses(record)
                .into_iter()
                .flatten()
                .any(|a| self.address_matches(trim_brackets(a))),
            Kind::Ip => match record {
                Record::Queued(q) => {
                    memchr::memmem::find(q.client, &self.needle).is_some()
                        || (q.client.is_empty() && client_ip_in(line, &self.needle))
                }
                _ => false,
            },
            Kind::User => match record {
                Record::Queued(q) => {
                    !q.sasl_user.is_empty() && q.sasl_user == self.needle.as_slice()
                }
                _ => false,
            },
        }
    }

    fn address_matches(&self, address: &[u8]) -> bool {
        if address.is_empty() {
            return false;
        }
        match self.kind {
            Kind::Domain => {
                address.len() >= self.needle.len()
                    && address[address.len() - self.needle.len()..]
                        .eq_ignore_ascii_case(&self.needle)
            }
            _ => address.eq_ignore_ascii_case(&self.needle),
        }
    }
}

fn trim_brackets(s: &[u8]) -> &[u8] {
    let s = s.strip_prefix(b"<").unwrap_or(s);
    s.strip_suffix(b">").unwrap_or(s)
}

/// The envelope addresses a record names.
fn addresses<'a>(record: &Record<'a>) -> [Option<&'a [u8]>; 2] {
    match record {
        Record::Delivery(d) | Record::HostError(d) | Record::Callout(d, _) => {
            [Some(d.recipient), Some(d.orig_recipient)]
        }
        Record::Queued(q) => [q.sender, None],
        Record::Expired { sender, .. } => [Some(*sender), None],
        _ => [None, None],
    }
}

/// Postfix smtpd's `client=host[ip]` line names the client at the end of a
/// `client=` field; the parser keeps it in `Queued::client`, so this is
/// only for lines it left without one.
fn client_ip_in(line: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find_iter(line, b"client=").any(|at| {
        let rest = &line[at..];
        let end = memchr::memchr2(b',', b' ', rest).unwrap_or(rest.len());
        memchr::memmem::find(&rest[..end], needle).is_some()
    })
}

/// The SASL user that submitted a message: Postfix smtpd's
#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_line;
    use crate::parse::timestamp::TEST_HINT;

    fn kind(what: &str) -> Kind {
        Query::parse(what, None).map(|q| q.kind).unwrap()
    }

    #[test]
    fn the_kind_is_told_from_the_shape() {
        assert_eq!(kind("ABCDEF1234"), Kind::QueueId);
        assert_eq!(kind("4Ps9Pb5Bb5z2Bm0"), Kind::QueueId);
        assert_eq!(kind("1xV6qi-0004PA-2t"), Kind::QueueId);
        assert_eq!(kind("1rHNMn-00000000C-0001"), Kind::QueueId);
        assert_eq!(kind("<abc.123@mail.example>"), Kind::MessageId);
        assert_eq!(kind("Bob@Example.COM"), Kind::Address);
        assert_eq!(kind("@gmail.com"), Kind::Domain);
        assert_eq!(kind("192.0.2.7"), Kind::Ip);
        assert_eq!(kind("2001:db8::1"), Kind::Ip);
        assert_eq!(kind("deadbeef"), Kind::User, "lower-case hex is a name");
        assert_eq!(kind("alice"), Kind::User);
        assert!(Query::parse("  ", None).is_err());
        assert!(Query::parse("@", None).is_err());
        assert!(Query::parse("x", Some(Kind::Ip)).is_err());
    }

    fn matches(what: &str, line: &str) -> bool {
        let q = Query::parse(what, None).unwrap();
        let (h, r) = parse_line(line.as_bytes(), TEST_HINT);
        let id = h
            .and_then(|h| match h.program {
                crate::parse::header::Program::Mta { reader, .. } => {
                    (crate::parse::mta::READERS[usize::from(reader)].message)(h.body)
                }
                _ => None,
            })
            .unwrap_or_default();
        q.matches(id, &r, line.as_bytes())
    }

    #[test]
    fn fields_match_exactly_not_as_substrings() {
        let smtpd = "Nov 22 12:00:00 mx1 postfix/smtpd[7]: 1A2B3C4D5E: client=relay.example[192.0.2.7], sasl_method=PLAIN, sasl_username=bob";
        assert!(matches("192.0.2.7", smtpd));
        assert!(!matches("192.0.2.70", smtpd));
        assert!(!matches("92.0.2.7", smtpd));
        assert!(matches("bob", smtpd));
        assert!(!matches("bo", smtpd));
        assert!(matches("1A2B3C4D5E", smtpd));
        let to = "Nov 22 12:00:01 mx1 postfix/smtp[8]: 1A2B3C4D5E: to=<Jim@Gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)";
        assert!(matches("jim@gmail.com", to));
        assert!(!matches("im@gmail.com", to));
        assert!(matches("@GMAIL.com", to));
        assert!(!matches("@mail.com", to));
        let exim = "2026-11-22 12:00:00 1xV6qi-0004PA-2t <= alice@corp.example H=laptop (helo) [198.51.100.4] P=esmtpsa A=dovecot_plain:alice@corp.example S=1234 id=abc@corp.example";
        assert!(matches("198.51.100.4", exim));
        assert!(matches("alice@corp.example", exim));
        assert!(matches("<abc@corp.example>", exim));
        assert!(matches("1xV6qi-0004PA-2t", exim));
        let q = Query::parse("alice@corp.example", Some(Kind::User)).unwrap();
        let (_, r) = parse_line(exim.as_bytes(), TEST_HINT);
        assert!(q.matches(b"", &r, exim.as_bytes()));
    }
}
