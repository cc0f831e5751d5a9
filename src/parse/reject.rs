//! What the server itself refused: inbound rejects.
//!
//! ```text
//! postfix/smtpd:      NOQUEUE: reject: RCPT from host[1.2.3.4]: 550 5.1.1 <a@b>: Recipient address rejected: …; from=<…> to=<…> proto=ESMTP helo=<…>
//! postfix/smtpd:      4Ps9Pb5Bb5z2Bm0: reject: DATA from host[1.2.3.4]: 554 5.7.1 …; from=<…> …
//! postfix/smtpd:      NOQUEUE: warn: RCPT from host[1.2.3.4]: Client host rejected: …; from=<…> …
//! postfix/postscreen: NOQUEUE: reject: RCPT from [1.2.3.4]:51234: 550 5.7.1 Service unavailable; client [1.2.3.4] blocked using zen.spamhaus.org; from=<…>, to=<…>, proto=ESMTP, helo=<…>
//! postfix/cleanup:    4Ps9Pb5Bb5z2Bm0: reject: header Subject: win from host[1.2.3.4]; from=<…> to=<…> proto=ESMTP helo=<…>: 5.7.1 No spam
//! exim:               H=(helo) [1.2.3.4] F=<s@x> rejected RCPT <a@b>: relay not permitted
//! exim:               H=host [1.2.3.4] F=<s@x> temporarily rejected RCPT <a@b>: greylisted
//! ```

use super::reply;
use crate::dsn::Dsn;

/// Refused, refused for now, or only warned about (`warn_if_reject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectKind {
    /// A permanent refusal (5xx).
    Reject,
    /// A temporary refusal (4xx, Exim "temporarily rejected").
    TempReject,
    /// Postfix `reject_warning:` (`warn_if_reject`: would have been
    /// refused), `warn:` (an access table's WARN) and cleanup's `warning:`
    /// header/body checks.
    Warn,
    /// Postfix `hold:`: put on hold (access table or header/body check).
    Hold,
    /// Postfix `discard:`: accepted and thrown away.
    Discard,
}

impl RejectKind {
    /// Name used in the report and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectKind::Reject => "reject",
            RejectKind::TempReject => "temporary reject",
            RejectKind::Warn => "reject warning",
            RejectKind::Hold => "hold",
            RejectKind::Discard => "discard",
        }
    }
}

/// One refused command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reject<'a> {
    /// Refused, refused for now, or warned.
    pub kind: RejectKind,
    /// The SMTP stage: `RCPT`, `MAIL`, `DATA`, `CONNECT`, `EHLO`, `header`,
    /// `body` …
    pub stage: &'a [u8],
    /// The client: `host[1.2.3.4]` and `[1.2.3.4]:51234` (Postfix) or
    /// `host [1.2.3.4]` and `[1.2.3.4]` (Exim, without the HELO name, which
    /// the client chooses and a spammer varies per connection).
    pub client: &'a [u8],
    /// Enhanced status code, when the reply carried one.
    pub dsn: Option<Dsn>,
    /// Basic reply code (550), when logged.
    pub basic: Option<u16>,
    /// The reply text (after the codes), for masking.
    pub text: &'a [u8],
}

/// Postfix: `rest` is what follows `NOQUEUE: ` or `QUEUEID: ` on an smtpd,
/// postscreen or cleanup line. A `reject:` in a shape not known here is
/// still a refusal: it is kept whole as the text, with no stage or client.
pub fn postfix(rest: &[u8]) -> Option<Reject<'_>> {
    let (kind, rest) = action(rest)?;
    Some(postfix_fields(kind, rest).unwrap_or(Reject {
        kind,
        stage: b"",
        client: b"",
        dsn: None,
        basic: None,
        text: rest,
    }))
}

/// The action word a Postfix refusal line starts with, and what follows.
#[inline]
pub fn action(rest: &[u8]) -> Option<(RejectKind, &[u8])> {
    const ACTIONS: [(&[u8], RejectKind); 7] = [
        (b"reject: ", RejectKind::Reject),
        (b"milter-reject: ", RejectKind::Reject),
        (b"reject_warning: ", RejectKind::Warn),
        (b"warn: ", RejectKind::Warn),
        (b"hold: ", RejectKind::Hold),
        (b"discard: ", RejectKind::Discard),
        (b"milter-discard: ", RejectKind::Discard),
    ];
    if let Some(after) = rest.strip_prefix(b"warning: ") {
        // cleanup's header/body checks with WARN; other warnings are notices.
        if after.starts_with(b"header ") || after.starts_with(b"body ") {
            return Some((RejectKind::Warn, after));
        }
        return None;
    }
    ACTIONS
        .iter()
        .find_map(|(word, kind)| rest.strip_prefix(*word).map(|r| (*kind, r)))
}

fn postfix_fields(kind: RejectKind, rest: &[u8]) -> Option<Reject<'_>> {
    let sp = memchr::memchr(b' ', rest)?;
    let stage = &rest[..sp];
    let rest = &rest[sp + 1..];
    if stage == b"header" || stage == b"body" {
        return cleanup(kind, stage, rest);
    }
    let rest = rest.strip_prefix(b"from ")?;
    // The client ends at the first ": " (`host[ip]: ` or `[ip]:port: `).
    let colon = memchr::memmem::find(rest, b": ")?;
    let client = &rest[..colon];
    let mut text = &rest[colon + 2..];
    // Envelope details follow the reply after the last "; from=".
    if let Some(at) = memchr::memmem::rfind(text, b"; from=") {
        text = &text[..at];
    }
    let (basic, dsn, text) = codes(text);
    let kind = match (kind, basic) {
        (RejectKind::Reject, Some(c)) if (400..500).contains(&c) => RejectKind::TempReject,
        (k, _) => k,
    };
    Some(Reject {
        kind,
        stage,
        client,
        dsn,
        basic,
        text,
    })
}

/// cleanup's header/body checks: `Subject: … from host[ip]; from=<…> … helo=<…>: 5.7.1 text`.
fn cleanup<'a>(kind: RejectKind, stage: &'a [u8], rest: &'a [u8]) -> Option<Reject<'a>> {
    let semi = memchr::memmem::rfind(rest, b"; from=")?;
    let head = &rest[..semi];
    let client = memchr::memmem::rfind(head, b" from ").map_or(&b""[..], |at| &head[at + 6..]);
    let after = &rest[semi..];
    let text = memchr::memmem::rfind(after, b">: ").map_or(&b""[..], |at| &after[at + 3..]);
    let (basic, dsn, text) = codes(text);
    Some(Reject {
        kind,
        stage,
        client,
        dsn,
        basic,
        text,
    })
}

/// Leading `550 5.1.1 ` / `5.7.1 ` off a reply text (the codes read as
/// delivery replies are, by [`reply::line_codes`]).
fn codes(text: &[u8]) -> (Option<u16>, Option<Dsn>, &[u8]) {
    let found = reply::line_codes(text);
    let mut rest = text;
    if found.basic.is_some() {
        rest = rest.get(4..).unwrap_or(b"");
    }
    let rest_trim = rest.trim_ascii_start();
    match Dsn::parse_prefix(rest_trim) {
        Some((dsn, used)) if rest_trim.get(used).is_none_or(|b| *b == b' ') => (
            found.basic,
            Some(dsn),
            rest_trim.get(used + 1..).unwrap_or(b""),
        ),
        _ => (found.basic, None, rest),
    }
}

/// Exim: a mainlog line without a message id that refuses a command.
pub fn exim(body: &[u8]) -> Option<Reject<'_>> {
    let at = memchr::memmem::find(body, b"rejected ")?;
    let (kind, client_end) = if body[..at].ends_with(b"temporarily ") {
        (RejectKind::TempReject, at - "temporarily ".len())
    } else {
        (RejectKind::Reject, at)
    };
    let head = body[..client_end]
        .strip_suffix(b" ")
        .unwrap_or(&body[..client_end]);
    // The client is the H= part up to its `[ip]` (and `:port`), without
    // the fields that may follow (`X=TLS1.2:…`, `CV=no`, `F=<sender>`); it
    // may come after `F=<sender>` (local_scan refusals).
    let head = match memchr::memmem::find(head, b" H=") {
        Some(at) if !head.starts_with(b"H=") => &head[at + 1..],
        _ => head,
    };
    let client = head
        .strip_prefix(b"H=")
        .map_or(head, |h| match memchr::memchr(b']', h) {
            Some(close) => {
                let port = h[close + 1..].strip_prefix(b":").map_or(0, |p| {
                    1 + p.iter().take_while(|b| b.is_ascii_digit()).count()
                });
                &h[..close + 1 + port]
            }
            None => memchr::memmem::find(h, b" F=<").map_or(h, |f| &h[..f]),
        });
    // `(helo) [ip]` and `host (helo) [ip]` come down to the address (joining
    // the host name to it would need a copy; the address identifies it).
    let client = match memchr::memchr(b'[', client) {
        Some(ip) if memchr::memchr(b'(', client).is_some() => &client[ip..],
        _ => client,
    };
    let rest = &body[at + "rejected ".len()..];
    // `rejected after DATA: …`: the stage is DATA; so is `rejected by
    // local_scan(): …`, which runs once the message is in.
    if let Some(text) = rest.strip_prefix(b"by local_scan()") {
        return Some(Reject {
            kind,
            stage: b"DATA",
            client,
            dsn: None,
            basic: None,
            text: text.strip_prefix(b": ").unwrap_or(text),
        });
    }
    let rest = rest.strip_prefix(b"after ").unwrap_or(rest);
    let sp = memchr::memchr2(b' ', b':', rest).unwrap_or(rest.len());
    let stage = &rest[..sp];
    let text = memchr::memmem::find(rest, b": ").map_or(&b""[..], |c| &rest[c + 2..]);
    Some(Reject {
        kind,
        stage,
        client,
        dsn: None,
        basic: None,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postfix_smtpd_and_postscreen() {
        let r = postfix(b"reject: RCPT from localhost[127.0.0.1]: 550 5.1.2 <s@retired.example>: Recipient address rejected: This domain has been retired; from=<n@shop.example> to=<s@retired.example> proto=ESMTP helo=<app>").unwrap();
        assert_eq!(r.kind, RejectKind::Reject);
        assert_eq!(r.stage, b"RCPT");
        assert_eq!(r.client, b"localhost[127.0.0.1]");
        assert_eq!(r.basic, Some(550));
        assert_eq!(r.dsn.map(|d| d.to_string()), Some("5.1.2".into()));
        assert_eq!(
            r.text,
            b"<s@retired.example>: Recipient address rejected: This domain has been retired"
        );
        let t = postfix(b"reject: RCPT from x[1.2.3.4]: 450 4.7.1 <h>: Helo command rejected: Host not found; from=<a@b> to=<c@d> proto=SMTP helo=<h>").unwrap();
        assert_eq!(t.kind, RejectKind::TempReject);
        let p = postfix(b"reject: RCPT from [192.0.2.7]:51234: 550 5.7.1 Service unavailable; client [192.0.2.7] blocked using zen.spamhaus.org; from=<a@b>, to=<c@d>, proto=ESMTP, helo=<x>").unwrap();
        assert_eq!(p.client, b"[192.0.2.7]:51234");
        assert_eq!(
            p.text,
            b"Service unavailable; client [192.0.2.7] blocked using zen.spamhaus.org"
        );
        let w = postfix(b"warn: RCPT from x[1.2.3.4]: Client host rejected: cannot find your hostname; from=<a@b> to=<c@d> proto=ESMTP helo=<h>").unwrap();
        assert_eq!((w.kind, w.basic, w.dsn), (RejectKind::Warn, None, None));
        assert_eq!(w.text, b"Client host rejected: cannot find your hostname");
        assert!(postfix(b"connect from x[1.2.3.4]").is_none());
        assert!(postfix(b"reject:").is_none());
        // A shape not known here is still counted, whole.
        let odd = postfix(b"reject: Unsupported").unwrap();
        assert_eq!(
            (odd.stage, odd.client, odd.text),
            (&b""[..], &b""[..], &b"Unsupported"[..])
        );
    }

    #[test]
    fn postfix_cleanup_checks() {
        let r = postfix(b"reject: header Subject: You won from x.example[192.0.2.1]; from=<a@b> to=<c@d> proto=ESMTP helo=<x.example>: 5.7.1 Spam subject").unwrap();
        assert_eq!(r.stage, b"header");
        assert_eq!(r.client, b"x.example[192.0.2.1]");
        assert_eq!(r.dsn.map(|d| d.to_string()), Some("5.7.1".into()));
        assert_eq!(r.text, b"Spam subject");
    }

    #[test]
    fn exim_rejects() {
        let r = exim(b"H=(app02.example) [127.0.0.1] F=<b@saasly.example> rejected RCPT <s@retired.example>: This domain has been retired").unwrap();
        assert_eq!(r.kind, RejectKind::Reject);
        assert_eq!(r.stage, b"RCPT");
        assert_eq!(r.client, b"[127.0.0.1]");
        assert_eq!(r.text, b"This domain has been retired");
        let t = exim(b"H=(a) [127.0.0.1] F=<x@y> temporarily rejected RCPT <s@z>: lowest numbered MX record points to local host").unwrap();
        assert_eq!(t.kind, RejectKind::TempReject);
        assert_eq!(t.client, b"[127.0.0.1]");
        let m =
            exim(b"H=mx.example [192.0.2.1] rejected MAIL <spam@x>: sender verify failed").unwrap();
        assert_eq!(m.stage, b"MAIL");
        assert_eq!(m.client, b"mx.example [192.0.2.1]");
        assert!(exim(b"SMTP connection from [1.2.3.4] closed by QUIT").is_none());
        // Issue 15 item 5: the TLS fields are not part of the client.
        let x = exim(b"H=mail.bad.example [192.0.2.6] X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no F=<b@bad.example> rejected RCPT <c@ours.example>: relay not permitted").unwrap();
        assert_eq!(x.client, b"mail.bad.example [192.0.2.6]");
        assert_eq!(x.text, b"relay not permitted");
        let d = exim(b"H=mail.spammer.example [192.0.2.5]:4711 X=TLS1.2:ECDHE:256 CV=no F=<a@s.example> rejected after DATA: Your message scored 15.2 spam points").unwrap();
        assert_eq!(d.stage, b"DATA");
        assert_eq!(d.client, b"mail.spammer.example [192.0.2.5]:4711");
    }
}
