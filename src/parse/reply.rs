//! SMTP reply texts: finding the codes of the reply's *last* line.
//!
//! A multi-line reply's authoritative code is on its last line (RFC 5321
//! §4.2.1), and providers do send continuation lines with a different code
//! (`550-5.7.26 …` then `450 4.7.26 …`). MTAs flatten such replies:
//!
//! * Exim keeps the line breaks as the two characters `\n`:
//!   `550-5.1.1 The email account…\n550 5.1.1 https://…`
//! * Postfix joins the lines with spaces:
//!   `550-5.7.26 This mail… 550-5.7.26 Gmail requires… 550 5.7.26 https://…`

use crate::dsn::Dsn;

/// The codes found at the start of a reply's last line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplyCodes {
    /// Basic reply code such as 550, if the line starts with one.
    pub basic: Option<u16>,
    /// Enhanced status code after the basic code, if present.
    pub dsn: Option<Dsn>,
}

/// Reads `NNN` (2xx–5xx) followed by a space, a dash or the end.
#[inline]
fn basic_code(s: &[u8]) -> Option<(u16, usize)> {
    let d = s.get(..3)?;
    if !matches!(d[0], b'2'..=b'5') || !d[1].is_ascii_digit() || !d[2].is_ascii_digit() {
        return None;
    }
    match s.get(3) {
        None | Some(b' ' | b'-') => {}
        _ => return None,
    }
    let v = u16::from(d[0] - b'0') * 100 + u16::from(d[1] - b'0') * 10 + u16::from(d[2] - b'0');
    Some((v, 3))
}

/// Codes at the start of one reply line: `550 5.1.1 …`, `550-5.1.1 …`, `421 …`.
pub fn line_codes(line: &[u8]) -> ReplyCodes {
    let Some((basic, used)) = basic_code(line) else {
        return ReplyCodes::default();
    };
    let rest = line.get(used + 1..).unwrap_or_default();
    // Gmail pads with two spaces in places ("550 5.1.1  https://…").
    let rest = trim_start_spaces(rest);
    let dsn = Dsn::parse_prefix(rest).map(|(d, _)| d);
    ReplyCodes {
        basic: Some(basic),
        dsn,
    }
}

#[inline]
fn trim_start_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| **b == b' ').count();
    &s[n..]
}

/// The last line of a flattened multi-line reply (see the module docs).
pub fn last_line(reply: &[u8]) -> &[u8] {
    // Exim: literal backslash-n between lines. Most replies hold no
    // backslash at all: a forward byte search rules that out cheaply.
    if crate::parse::find::byte(b'\\', reply).is_some()
        && let Some(pos) = memrfind!(reply, b"\\n")
    {
        return &reply[pos + 2..];
    }
    // Postfix: only a reply that starts as a continuation (`NNN-`) is multi-line;
    // its last line starts at the last ` NNN ` (space after the code).
    if reply.len() > 4 && reply[3] == b'-' && basic_code(reply).is_some() {
        let mut best = None;
        let mut i = 4;
        while let Some(off) = memchr::memchr(b' ', &reply[i..]) {
            let at = i + off + 1;
            if let Some((_, used)) = basic_code(&reply[at..])
                && reply.get(at + used) == Some(&b' ')
            {
                best = Some(at);
            }
            i = at;
            if i >= reply.len() {
                break;
            }
        }
        if let Some(at) = best {
            return &reply[at..];
        }
    }
    reply
}

/// The codes of a reply's last line, falling back to the first line's codes
/// when the last line has none (some servers end with a bare text line).
pub fn reply_codes(reply: &[u8]) -> ReplyCodes {
    let last = line_codes(last_line(reply));
    if last.basic.is_some() {
        return last;
    }
    line_codes(reply)
}

/// The human text of a reply: without the leading codes, continuation
/// markers (`550-5.7.26`) and Exim's `\n` separators.
///
/// Writes into `out` (cleared first) so callers can reuse one buffer.
pub fn reply_text(reply: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut first = true;
    for line in LineSplit::new(reply) {
        let mut s = line;
        if let Some((_, used)) = basic_code(s) {
            s = trim_start_spaces(s.get(used + 1..).unwrap_or_default());
            if let Some((_, n)) = Dsn::parse_prefix(s) {
                s = s.get(n..).unwrap_or_default();
            }
        }
        let s = trim_start_spaces(s);
        if s.is_empty() {
            continue;
        }
        if !first {
            out.push(b' ');
        }
        out.extend_from_slice(s);
        first = false;
    }
}

/// Splits a flattened reply into its original lines.
struct LineSplit<'a> {
    rest: &'a [u8],
    exim: bool,
    done: bool,
}

impl<'a> LineSplit<'a> {
    fn new(reply: &'a [u8]) -> Self {
        LineSplit {
            rest: reply,
            exim: memfind!(reply, b"\\n").is_some(),
            done: false,
        }
    }
}

impl<'a> Iterator for LineSplit<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.done {
            return None;
        }
        let s = self.rest;
        let cut = if self.exim {
            memfind!(s, b"\\n").map(|p| (p, p + 2))
        } else if s.len() > 4 && s[3] == b'-' && basic_code(s).is_some() {
            // Postfix-joined: the next line starts at the next ` NNN-` / ` NNN `.
            let mut i = 4;
            let mut found = None;
            while let Some(off) = memchr::memchr(b' ', &s[i..]) {
                let at = i + off + 1;
                if basic_code(&s[at..]).is_some() && at + 4 <= s.len() {
                    found = Some((at - 1, at));
                    break;
                }
                i = at;
            }
            found
        } else {
            None
        };
        match cut {
            Some((end, next)) => {
                self.rest = &s[next..];
                Some(&s[..end])
            }
            None => {
                self.done = true;
                Some(s)
            }
        }
    }
}

/// The queue id an MTA gave a message it accepted, from its reply: Postfix
/// (and amavis relaying Postfix's words) `queued as 5B2C3D4E5F`, Exim
/// `250 OK id=1xV6qi-0004PA-2t`. A content filter's acceptance names the
/// message it queued again, which continues the same journey. The last
/// mention wins (amavis quotes the re-injecting MTA's reply at the end).
pub fn requeued_id(reply: &[u8]) -> Option<&[u8]> {
    let after = |needle: &[u8]| -> Option<&[u8]> {
        let at = memchr::memmem::rfind(reply, needle)? + needle.len();
        let rest = &reply[at..];
        let len = rest
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-'))
            .unwrap_or(rest.len());
        let id = rest[..len].trim_ascii_end();
        (4..=32).contains(&id.len()).then_some(id)
    };
    // Exim's acceptance is `250 OK id=<message id>`; other `id=` (amavis's
    // own `Ok, discarded, id=01626-01 - INFECTED`) name no queued message.
    after(b"queued as ").or_else(|| after(b"OK id=").filter(|id| super::exim::is_message_id(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(s: &str) -> (Option<u16>, Option<String>) {
        let c = reply_codes(s.as_bytes());
        (c.basic, c.dsn.map(|d| d.to_string()))
    }

    fn text(s: &str) -> String {
        let mut out = Vec::new();
        reply_text(s.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn single_line() {
        assert_eq!(
            codes("550 5.1.1 <a@b>: User unknown"),
            (Some(550), Some("5.1.1".into()))
        );
        assert_eq!(codes("421 Service shutting down"), (Some(421), None));
        assert_eq!(codes("Unrouteable address"), (None, None));
        assert_eq!(codes("250 ok dirdel"), (Some(250), None));
    }

    #[test]
    fn postfix_joined_takes_last_line() {
        let r = "550-5.7.26 Unauthenticated email 550-5.7.26 is not accepted 450 4.7.26 https://x - gsmtp";
        assert_eq!(codes(r), (Some(450), Some("4.7.26".into())));
        assert_eq!(
            text(r),
            "Unauthenticated email is not accepted https://x - gsmtp"
        );
        let g = "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking. For more information, go to 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser 83c6a - gsmtp";
        assert_eq!(codes(g), (Some(550), Some("5.1.1".into())));
        assert!(text(g).starts_with(
            "The email account that you tried to reach does not exist. Please try double-checking."
        ));
    }

    #[test]
    fn exim_backslash_n_takes_last_line() {
        let r = r"452-4.2.2 The recipient's inbox is out of storage space.\n452-4.2.2 recipient to\n452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp 608f - gsmtp";
        assert_eq!(codes(r), (Some(452), Some("4.2.2".into())));
        assert_eq!(
            text(r),
            "The recipient's inbox is out of storage space. recipient to https://support.google.com/mail/?p=OverQuotaTemp 608f - gsmtp"
        );
        let m = r"550-5.7.26 blocked\n550-5.7.26\n550 5.7.26  https://x";
        assert_eq!(codes(m), (Some(550), Some("5.7.26".into())));
        assert_eq!(text(m), "blocked https://x");
    }

    #[test]
    fn numbers_in_text_are_not_lines_of_single_line_replies() {
        let r = "250 2.6.0 <x@y> 1400 bytes in 0.371, Queued mail for delivery -> 250 2.1.5";
        assert_eq!(codes(r), (Some(250), Some("2.6.0".into())));
    }

    #[test]
    fn yahoo_counters_are_not_codes() {
        let r = "421 4.7.0 [TSS04] Messages from 198.51.100.24 temporarily deferred - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes";
        assert_eq!(codes(r), (Some(421), Some("4.7.0".into())));
    }

    proptest::proptest! {
        /// Arbitrary bytes: no panic; the text never grows beyond the input.
        #[test]
        fn arbitrary_replies(reply in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = reply_codes(&reply);
            let mut out = Vec::new();
            reply_text(&reply, &mut out);
            proptest::prop_assert!(out.len() <= reply.len());
        }
    }

    #[test]
    fn the_queue_id_a_filter_gave_is_read_from_its_reply() {
        assert_eq!(
            requeued_id(
                b"250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 5B2C3D4E5F"
            ),
            Some(&b"5B2C3D4E5F"[..])
        );
        assert_eq!(
            requeued_id(b"250 OK id=1xV6qi-0004PA-2t"),
            Some(&b"1xV6qi-0004PA-2t"[..])
        );
        assert_eq!(requeued_id(b"250 2.0.0 Ok"), None);
        // amavis discarding a virus names its own id, not a queued message
        // (a real log: dmlinarr-SecurePostfix).
        assert_eq!(
            requeued_id(b"250 2.7.0 Ok, discarded, id=01626-01 - INFECTED: Win.Test.EICAR_HDB-1"),
            None
        );
        assert_eq!(requeued_id(b"250 queued as "), None);
        assert_eq!(requeued_id(b"250 queued as \xff\xfe"), None);
    }
}
