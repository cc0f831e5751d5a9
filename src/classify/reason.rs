//! Reply texts → reasons: mask the variable parts so that the same cause
//! groups together across recipients, IPs, queue ids and timestamps.
//!
//! `550 5.1.1 <bob@x.example>: Recipient address rejected` and
//! `550 5.1.1 <amy@x.example>: Recipient address rejected` are one reason:
//! `<addr>: Recipient address rejected`.
//!
//! One multi-pattern regex does the work (this is where a regex earns its
//! place: nine alternatives, leftmost-first, one pass). Each worker keeps its
//! own [`Cache`] and searches with `search_with`, which skips the shared pool.

use crate::parse::reply::reply_text;
use regex_automata::meta::{Cache, Regex};
use regex_automata::util::syntax;
use regex_automata::{Input, PatternID};

/// Longest masked reason kept, in bytes; longer ones are cut at a char boundary.
pub const MAX_REASON_LEN: usize = 240;

/// The placeholder each pattern is replaced with, by pattern index.
const PLACEHOLDERS: &[&[u8]] = &[
    b"?<q>",   // 0 URL query string
    b"<addr>", // 1 e-mail address
    b"<time>", // 2 ISO timestamp
    b"<ip>",   // 3 IPv6
    b"<ip>",   // 4 IPv4
    b"",       // 5 word: masked only if it holds a digit (decided in code)
    b"<n>",    // 6 number
];

/// Masks reply texts. Build once; share across threads by reference.
#[derive(Clone, Debug)]
pub struct Masker {
    re: Regex,
}

impl Default for Masker {
    fn default() -> Self {
        Masker::new()
    }
}

impl Masker {
    /// Compiles the patterns.
    pub fn new() -> Masker {
        let patterns = [
            // 0: a URL's query string or fragment (keep scheme, host and path)
            r"[?#][A-Za-z0-9_=&%.+\-/;:~]+",
            // 1: an address, bare or in <>
            r"[A-Za-z0-9._%+\-=!#$&'*/^`{|}~]+@[A-Za-z0-9][A-Za-z0-9.\-]*",
            // 2: ISO date-time, as Microsoft puts in its bracketed trailer
            r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?Z?",
            // 3: IPv6, full or compressed (must contain 8 groups or a '::')
            r"(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?",
            // 4: IPv4
            r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b",
            // 5: a word of 6+ characters (ids such as 1786f9b0eb700-0a99fecf7b4si8752915qlc)
            r"[A-Za-z0-9][A-Za-z0-9_.\-]{5,}",
            // 6: a number standing alone (not the 04 of TSS04)
            r"\b\d+(?:[.,:]\d+)*\b",
        ];
        let re = Regex::builder()
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .build_many(&patterns)
            .unwrap_or_else(|e| unreachable!("masking patterns are constant and valid: {e}"));
        Masker { re }
    }

    /// A cache for one worker thread.
    pub fn cache(&self) -> Cache {
        self.re.create_cache()
    }

    /// Masks `reply` into `out` (cleared first). `scratch` is reused storage.
    pub fn mask(&self, cache: &mut Cache, reply: &[u8], scratch: &mut Vec<u8>, out: &mut Vec<u8>) {
        reply_text(reply, scratch);
        out.clear();
        let hay = scratch.as_slice();
        let mut at = 0;
        while at < hay.len() {
            let input = Input::new(hay).span(at..hay.len());
            let Some(m) = self.re.search_with(cache, &input) else {
                break;
            };
            out.extend_from_slice(&hay[at..m.start()]);
            let matched = &hay[m.start()..m.end()];
            let pid = m.pattern();
            if pid == PatternID::must(5) {
                if matched.iter().all(u8::is_ascii_digit) {
                    out.extend_from_slice(b"<n>");
                } else if matched.iter().any(u8::is_ascii_digit) {
                    out.extend_from_slice(b"<id>");
                } else {
                    out.extend_from_slice(matched);
                }
            } else {
                out.extend_from_slice(PLACEHOLDERS[pid.as_usize()]);
            }
            at = m.end().max(m.start() + 1);
        }
        if at < hay.len() {
            out.extend_from_slice(&hay[at..]);
        }
        collapse_spaces(out);
        truncate_at_char(out, MAX_REASON_LEN);
    }
}

/// Runs of spaces (and stray tabs) become one space; ends are trimmed.
fn collapse_spaces(s: &mut Vec<u8>) {
    let mut w = 0;
    let mut prev_space = true;
    for r in 0..s.len() {
        let b = if s[r] == b'\t' { b' ' } else { s[r] };
        if b == b' ' && prev_space {
            continue;
        }
        prev_space = b == b' ';
        s[w] = b;
        w += 1;
    }
    if w > 0 && s[w - 1] == b' ' {
        w -= 1;
    }
    s.truncate(w);
}

/// Cuts to at most `max` bytes without splitting a UTF-8 sequence.
fn truncate_at_char(s: &mut Vec<u8>, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut end = max;
    while end > 0 && (s[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    s.truncate(end);
    s.extend_from_slice("…".as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(s: &str) -> String {
        let m = Masker::new();
        let mut cache = m.cache();
        let (mut scratch, mut out) = (Vec::new(), Vec::new());
        m.mask(&mut cache, s.as_bytes(), &mut scratch, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn addresses_group() {
        let a = mask(
            "550 5.1.1 <bob@initech.example>: Recipient address rejected: User unknown in virtual mailbox table",
        );
        let b = mask(
            "550 5.1.1 <amy.x@initech.example>: Recipient address rejected: User unknown in virtual mailbox table",
        );
        assert_eq!(a, b);
        assert_eq!(
            a,
            "<<addr>>: Recipient address rejected: User unknown in virtual mailbox table"
        );
    }

    #[test]
    fn gmail_ids_and_urls() {
        let a = mask(
            "421-4.7.28 [198.51.100.23      15] Our system has detected an unusual rate 421 4.7.28  https://support.google.com/mail/?p=UnsolicitedRateLimitError 1786f9b0eb700-0a99fecf7b4si8752915qlc.707 - gsmtp",
        );
        assert_eq!(
            a,
            "[<ip> <n>] Our system has detected an unusual rate https://support.google.com/mail/?<q> <id> - gsmtp"
        );
    }

    #[test]
    fn microsoft_trailer() {
        let a = mask(
            "452 4.2.2 The recipient's mailbox is full. [CO1PEPF000044F1.eurprd04.prod.outlook.com 2026-11-22T12:47:37.032Z 08DDE60AD3A7E26A] (S2017)",
        );
        assert_eq!(
            a,
            "The recipient's mailbox is full. [<id> <time> <id>] (S2017)"
        );
    }

    #[test]
    fn ipv6_and_times_are_different_things() {
        assert_eq!(
            mask("connect to mx[2001:db8::1]:25: Connection refused"),
            "connect to mx[<ip>]:<n>: Connection refused"
        );
        assert_eq!(mask("at 12:47:37 today"), "at <n> today");
    }

    #[test]
    fn keeps_short_codes_and_words() {
        assert_eq!(
            mask("554 5.3.4 message size 12000475 exceeds size limit 10240000"),
            "message size <n> exceeds size limit <n>"
        );
        assert_eq!(
            mask("421 4.7.0 [TSS04] Messages from 198.51.100.24 temporarily deferred"),
            "[TSS04] Messages from <ip> temporarily deferred"
        );
    }

    #[test]
    fn long_and_invalid_input() {
        let long = "x ".repeat(1000);
        assert!(mask(&long).len() <= MAX_REASON_LEN + 3);
        let m = Masker::new();
        let mut cache = m.cache();
        let (mut scratch, mut out) = (Vec::new(), Vec::new());
        m.mask(
            &mut cache,
            b"550 bad \xff\xfe bytes\x1b[31m",
            &mut scratch,
            &mut out,
        );
        assert_eq!(out, b"bad \xff\xfe bytes\x1b[31m");
    }

    proptest::proptest! {
        /// Arbitrary bytes: no panic, and the reason stays bounded.
        #[test]
        fn arbitrary_texts(text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let m = Masker::new();
            let mut cache = m.cache();
            let (mut scratch, mut out) = (Vec::new(), Vec::new());
            m.mask(&mut cache, &text, &mut scratch, &mut out);
            proptest::prop_assert!(out.len() <= MAX_REASON_LEN + 3);
        }
    }
}
