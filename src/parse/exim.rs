//! Exim main-log messages (what follows the timestamp and optional `[pid]`).
//!
//! ```text
//! 1xV6qi-0004PA-2t <= sender@x H=… P=esmtps S=1234 id=…
//! 1xV6qi-0004PA-2t => a@gmail.com R=dnslookup T=remote_smtp H=gmail-smtp-in.l.google.com [1.2.3.4] X=… C="250 2.0.0 OK …"
//! 1xV6qi-0004PA-2t -> b@gmail.com R=… (additional address in the same delivery)
//! 1xV6qi-0004PA-2t ** a@x R=… T=… H=mx.x [1.2.3.4] X=…: SMTP error from remote mail server after RCPT TO:<a@x>: 550 5.1.1 …
//! 1xV6qi-0004PA-2t == a@x R=… T=… defer (-44) H=mx.x [1.2.3.4]: SMTP error from remote mail server after end of data: 451 …
//! 1xV6qi-0004PA-2t ** a@x: retry timeout exceeded
//! 1xV6qi-0004PA-2t *> a@x R=… (fake delivery, -N)
//! ```
//!
//! Exim logs no `dsn=`: the codes come from the remote reply inside the text.

use super::find;
use super::reject::{self, Reject};
use super::reply::reply_codes;
use super::{Record, Unparsed};
use crate::event::{AuthFailure, Delivery, Queued, Status, Tls, TlsLevel, TlsProtocol};

/// The message id an Exim line is about: its first word, when it is one.
pub fn message_id_of(body: &[u8]) -> Option<&[u8]> {
    let end = memchr::memchr(b' ', body).unwrap_or(body.len());
    let id = &body[..end];
    (id.len() >= 16 && is_message_id(id)).then_some(id)
}

/// True for Exim message ids: `1xV6qi-0004PA-2t` (≤ 4.96) and
/// `1rHNMn-00000000C-0001` style (4.97+: 6-11-4).
#[inline]
pub fn is_message_id(s: &[u8]) -> bool {
    // The two fixed shapes first, without a branch per byte.
    let fixed = |second: usize| {
        s[6] == b'-'
            && s[7 + second] == b'-'
            && find::all_alphanumeric(&s[..6])
            && find::all_alphanumeric(&s[7..7 + second])
            && find::all_alphanumeric(&s[8 + second..])
    };
    match s.len() {
        16 if fixed(6) => return true,
        23 if fixed(11) => return true,
        _ => {}
    }
    let mut parts = s.split(|b| *b == b'-');
    let ok = |p: Option<&[u8]>, lo: usize, hi: usize| {
        p.is_some_and(|p| (lo..=hi).contains(&p.len()) && p.iter().all(u8::is_ascii_alphanumeric))
    };
    ok(parts.next(), 6, 6)
        && ok(parts.next(), 6, 11)
        && ok(parts.next(), 2, 4)
        && parts.next().is_none()
}

/// Parses one Exim message (body of a mainlog line).
pub fn parse(body: &[u8]) -> Record<'_> {
    let Some(sp) = find::byte(b' ', body) else {
        return Record::MailOther;
    };
    let msg_id = &body[..sp];
    if !is_message_id(msg_id) {
        // Refusals come before a message exists: no id, `H=` (or `U=`, a
        // local submission) first.
        if (body.starts_with(b"H=") || body.starts_with(b"U="))
            && let Some(r) = reject::exim(body)
        {
            return match recipient_callout(body, &r) {
                Some(probe) => Record::Callout(probe, Some(r)),
                None => Record::Reject(r),
            };
        }
        if let Some(probe) = sender_callout(body) {
            return Record::Callout(probe, None);
        }
        if let Some(failure) = auth_failure(body) {
            return Record::AuthFailure(failure);
        }
        return Record::MailOther;
    }
    let rest = &body[sp + 1..];
    // `<id> F=<sender> H=… P=smtp rejected by local_scan(): …` (sa-exim and
    // other local_scan hooks): a message refused after DATA.
    if rest.starts_with(b"F=")
        && memchr::memmem::find(rest, b" rejected ").is_some()
        && let Some(r) = reject::exim(rest)
    {
        return Record::Reject(r);
    }
    if let Some(h) = rest.strip_prefix(b"H=") {
        // `<id> H=client [ip] … rejected after DATA: …` refuses an inbound
        // message (it has an id by then): a reject, not a deferral of ours.
        if is_inbound_reject(h)
            && let Some(r) = reject::exim(rest)
        {
            return Record::Reject(r);
        }
        return host_error(msg_id, h);
    }
    if rest == b"Completed" {
        return Record::Removed { queue_id: msg_id };
    }
    let Some(flag) = rest.get(..3) else {
        return Record::MailOther;
    };
    let fields = &rest[3..];
    let status = match flag {
        b"=> " | b"-> " => Status::Sent,
        b"** " => Status::Bounced,
        b"== " => Status::Deferred,
        b"*> " => return Record::FakeDelivery,
        b"<= " => {
            return Record::Queued(received(msg_id, fields));
        }
        _ => return Record::MailOther,
    };
    match delivery(msg_id, status, fields) {
        Ok(d) => Record::Delivery(d),
        Err(why) => Record::Unparsed(why),
    }
}

/// `plain_login authenticator failed for host (helo) [ip]:port: 535
/// Incorrect authentication data (set_id=user)`; the client may also be
/// `(helo) [ip]` or `H=(helo) [ip] U=user`.
fn auth_failure(body: &[u8]) -> Option<AuthFailure<'_>> {
    let at = memfind!(body, b" authenticator failed for ")?;
    let rest = &body[at + b" authenticator failed for ".len()..];
    let rest = rest.strip_prefix(b"H=").unwrap_or(rest);
    // The reply (`: 535 …`) ends the client, whose helo may hold `[ip]`
    // itself: the client's address is the last bracket before it.
    let reply = memchr::memmem::find_iter(rest, b": ")
        .find(|&at| rest.get(at + 2).is_some_and(u8::is_ascii_digit))?;
    let close = memchr::memrchr(b']', &rest[..reply])?;
    let client = &rest[..=close];
    let reason = &rest[reply + 2..];
    let set_id = memchr::memmem::rfind(reason, b" (set_id=");
    let user = set_id
        .and_then(|u| reason[u + 9..].strip_suffix(b")"))
        .unwrap_or_default();
    // The reason without the user name (it is in `user`).
    let reason = match set_id {
        Some(u) if !user.is_empty() => &reason[..u],
        _ => reason,
    };
    Some(AuthFailure {
        client,
        user,
        reason,
        text: body,
        warning: false,
    })
}

/// The fields of a `<=` line: `sender H=(helo) [ip] P=esmtp S=1234 id=…`.
/// `H=` may hold spaces (`host (helo) [ip]`), so fields are found by their
/// ` X=` markers, not by splitting.
fn received<'a>(msg_id: &'a [u8], fields: &'a [u8]) -> Queued<'a> {
    let end = memchr::memchr(b' ', fields).unwrap_or(fields.len());
    let sender = &fields[..end];
    let sender = if sender == b"<>" { &b""[..] } else { sender };
    let rest = &fields[end..];
    let value = |at: Option<usize>, skip: usize| -> &'a [u8] {
        at.map_or(&b""[..], |at| {
            let v = &rest[at + skip..];
            &v[..memchr::memchr(b' ', v).unwrap_or(v.len())]
        })
    };
    let size = value(memfind!(rest, b" S="), 3);
    let size = (!size.is_empty() && size.len() < 20 && size.iter().all(u8::is_ascii_digit))
        .then(|| size.iter().fold(0u64, |a, b| a * 10 + u64::from(b - b'0')));
    let client = match memfind!(rest, b" H=") {
        // The host part runs to the end of its `[ip]`, or to the next field.
        Some(at) => {
            let h = &rest[at + 3..];
            match memchr::memchr(b']', h) {
                Some(close) if !h[..close].contains(&b'=') => &h[..=close],
                _ => &h[..memchr::memchr(b' ', h).unwrap_or(h.len())],
            }
        }
        None if memfind!(rest, b" U=").is_some() => &b"local"[..],
        None => &b""[..],
    };
    // `X=TLS1.3:cipher:256 CV=no`; without `X=`, `P=esmtps` still says TLS.
    let tls = (!client.is_empty() && client != b"local").then(|| {
        let x = value(memfind!(rest, b" X="), 3);
        let protocol = value(memfind!(rest, b" P="), 3);
        if !x.is_empty() {
            Tls::exim(x, value(memfind!(rest, b" CV="), 4))
        } else if memfind!(protocol, b"smtps").is_some() || protocol.ends_with(b"sa") {
            Tls {
                level: TlsLevel::Encrypted,
                protocol: TlsProtocol::None,
            }
        } else {
            Tls::CLEAR
        }
    });
    // `A=authenticator:user` (or `A=authenticator` when it set no id).
    let sasl_user = value(memfind!(rest, b" A="), 3);
    let sasl_user = match memchr::memchr(b':', sasl_user) {
        Some(colon) => &sasl_user[colon + 1..],
        None => &b""[..],
    };
    Queued {
        queue_id: msg_id,
        sender: Some(sender),
        size,
        nrcpt: None,
        client,
        sasl_user,
        message_id: value(memfind!(rest, b" id="), 4),
        arrival: true,
        tls,
    }
}

/// What a failed callout says, from the text after the address: the host
/// asked and its reply. `None` for texts that are no callout made now (a
/// cached failure, the refusal a sender callout already logged).
fn callout_result(text: &[u8], sender: bool) -> Option<(&[u8], &[u8])> {
    fn host_before(t: &[u8]) -> &[u8] {
        let end = memchr::memmem::find(t, b" [").unwrap_or(0);
        &t[..end]
    }
    let incomplete: &[u8] = if sender {
        b"Could not complete sender verify callout"
    } else {
        b"Could not complete recipient verify callout"
    };
    if let Some(rest) = text.strip_prefix(incomplete) {
        // `: host [ip] : Connection refused`, or nothing more.
        let rest = rest.strip_prefix(b": ")?;
        return Some(match memchr::memmem::find(rest, b" : ") {
            Some(at) => (host_before(rest), &rest[at + 3..]),
            None => (b"", rest),
        });
    }
    if let Some(at) = memchr::memmem::find(text, b"response to \"") {
        let reply = memchr::memmem::find(&text[at..], b" was: ").map(|w| &text[at + w + 6..])?;
        // Newer: `response to "…" from host [ip] was:`; older: `host [ip] :
        // response to "…" was:`.
        let between = &text[at..];
        let host = match memchr::memmem::find(between, b"\" from ") {
            Some(f) => host_before(&between[f + 7..]),
            None => host_before(text),
        };
        return Some((host, reply));
    }
    if let Some(at) = memchr::memmem::find(text, b" : SMTP error from remote mail server after ") {
        let after = &text[at + 3..];
        let reply = memchr::memmem::find(after, b": ").map(|c| &after[c + 2..])?;
        return Some((host_before(text), reply));
    }
    None
}

/// A probe from a failed callout: the verified address at `host`.
fn probe<'a>(address: &'a [u8], host: &'a [u8], reply: &'a [u8]) -> Delivery<'a> {
    let codes = reply_codes(reply);
    Delivery {
        relay: host,
        dsn: codes.dsn,
        basic: codes.basic,
        reply,
        ..Delivery::new(b"", address, Status::Undeliverable)
    }
}

/// `… rejected RCPT <addr>: <a recipient callout's result>`.
fn recipient_callout<'a>(body: &'a [u8], r: &Reject<'a>) -> Option<Delivery<'a>> {
    if r.stage != b"RCPT" {
        return None;
    }
    let (host, reply) = callout_result(r.text, false)?;
    let at = memchr::memmem::find(body, b"rejected RCPT ")? + "rejected RCPT ".len();
    let rest = &body[at..];
    let end = memchr::memmem::find(rest, b": ").unwrap_or(rest.len());
    let address = rest[..end].trim_ascii();
    let address = address
        .strip_prefix(b"<")
        .and_then(|a| a.strip_suffix(b">"))
        .unwrap_or(address);
    (!address.is_empty()).then(|| probe(address, host, reply))
}

/// `sender verify fail for <addr>: …` / `sender verify defer for <addr>: …`.
fn sender_callout(body: &[u8]) -> Option<Delivery<'_>> {
    let at = memchr::memmem::find(body, b"sender verify fail for <")
        .map(|a| a + "sender verify fail for <".len())
        .or_else(|| {
            memchr::memmem::find(body, b"sender verify defer for <")
                .map(|a| a + "sender verify defer for <".len())
        })?;
    let rest = &body[at..];
    let close = memchr::memmem::find(rest, b">: ")?;
    let (host, reply) = callout_result(&rest[close + 3..], true)?;
    Some(probe(&rest[..close], host, reply))
}

/// After `H=`: true when the line refuses an inbound message. A host error
/// goes on after the host's `[ip]` (and `:port`) with `: ` or a bare reason;
/// an inbound refusal with the session's fields (`X=`, `P=`, `F=<`, `CV=`,
/// `A=`, `U=`, `S=`, `I=`) and then `rejected` or `temporarily rejected`.
fn is_inbound_reject(h: &[u8]) -> bool {
    let Some(close) = memchr::memchr(b']', h) else {
        return false;
    };
    let mut rest = &h[close + 1..];
    while let Some(r) = rest.strip_prefix(b" ") {
        if r.starts_with(b"rejected ") || r.starts_with(b"temporarily rejected ") {
            return true;
        }
        let field = [
            b"X=" as &[u8],
            b"P=",
            b"F=<",
            b"CV=",
            b"A=",
            b"U=",
            b"S=",
            b"I=",
        ]
        .iter()
        .any(|f| r.starts_with(f));
        if !field {
            return false;
        }
        rest = &r[memchr::memchr(b' ', r).unwrap_or(r.len())..];
    }
    false
}

/// `gmail-smtp-in.l.google.com [1.2.3.4]: SMTP error from remote mail server
/// after end of data: 421-4.7.0 …`, or `mx [1.2.3.4] Connection refused`.
fn host_error<'a>(msg_id: &'a [u8], h: &'a [u8]) -> Record<'a> {
    let Some(sp) = memchr::memchr(b' ', h) else {
        return Record::MailOther;
    };
    let host = &h[..sp];
    let after = &h[sp + 1..];
    let Some(rest) = after
        .strip_prefix(b"[")
        .and_then(|a| memchr::memchr(b']', a).map(|end| &a[end + 1..]))
    else {
        return Record::MailOther;
    };
    // An optional :port, then ": " or " ".
    let rest = match rest.strip_prefix(b":") {
        Some(r) if r.first().is_some_and(u8::is_ascii_digit) => {
            let digits = r.iter().take_while(|b| b.is_ascii_digit()).count();
            &r[digits..]
        }
        _ => rest,
    };
    let reason = rest
        .strip_prefix(b": ")
        .or_else(|| rest.strip_prefix(b" "))
        .unwrap_or(rest);
    if reason.is_empty() {
        return Record::MailOther;
    }
    let (reply, _) = remote_reply(reason);
    let codes = reply_codes(reply);
    Record::HostError(Delivery {
        relay: host,
        dsn: codes.dsn,
        basic: codes.basic,
        reply,
        at_greeting: at_greeting(reason),
        ..Delivery::new(msg_id, b"", Status::Deferred)
    })
}

/// True when the reply came at the greeting or EHLO.
fn at_greeting(reason: &[u8]) -> bool {
    memfind!(reason, b"after initial connection").is_some()
        || memfind!(reason, b"in response to initial connection").is_some()
        || memfind!(reason, b"after EHLO").is_some()
        || memfind!(reason, b"in response to EHLO").is_some()
}

/// Splits off the next space-separated token, keeping `"…"` (with `\"`) whole.
///
/// Jumps from one interesting byte to the next with memchr: the long `C="…"`
/// confirmation of every delivery was walked a byte at a time before (a
/// quarter of an Exim scan).
#[inline]
fn next_token(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let start = s.iter().position(|b| *b != b' ')?;
    let s = &s[start..];
    let mut i = 0;
    loop {
        // Outside quotes: the token ends at a space; a quote opens a string.
        match find::byte2(b' ', b'"', &s[i..]) {
            None => return Some((s, &[])),
            Some(at) if s[i + at] == b' ' => {
                let end = i + at;
                return Some((&s[..end], &s[end..]));
            }
            Some(at) => i += at + 1,
        }
        // Inside quotes: skip to the closing quote, stepping over `\x`.
        loop {
            match find::byte2(b'"', b'\\', &s[i..]) {
                None => return Some((s, &[])),
                Some(at) if s[i + at] == b'\\' => i += at + 2,
                Some(at) => {
                    i += at + 1;
                    break;
                }
            }
            if i >= s.len() {
                return Some((s, &[]));
            }
        }
    }
}

/// A field value with surrounding quotes removed.
#[inline]
fn unquote(v: &[u8]) -> &[u8] {
    v.strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .unwrap_or(v)
}

fn delivery<'a>(
    msg_id: &'a [u8],
    status: Status,
    fields: &'a [u8],
) -> Result<Delivery<'a>, Unparsed> {
    let (first, mut rest) = next_token(fields).ok_or(Unparsed::NoRecipient)?;
    let mut reason: &[u8] = b"";
    let mut has_reason = false;
    let (first, ends) = strip_colon(first);
    if ends {
        reason = rest;
        has_reason = true;
    }
    let mut angle: &[u8] = b"";
    let mut paren: &[u8] = b"";
    let mut transport: &[u8] = b"";
    let mut host: &[u8] = b"";
    let mut confirmation: &[u8] = b"";
    let mut cipher: Option<&[u8]> = None;
    let mut verified: &[u8] = b"";
    while !has_reason {
        let Some((tok, after)) = next_token(rest) else {
            break;
        };
        rest = after;
        let (tok, ends) = strip_colon(tok);
        if let Some(a) = tok.strip_prefix(b"<") {
            angle = a.strip_suffix(b">").unwrap_or(a);
        } else if let Some(p) = tok.strip_prefix(b"(") {
            if angle.is_empty() && paren.is_empty() && memchr::memchr(b'@', p).is_some() {
                paren = p.strip_suffix(b")").unwrap_or(p);
            }
        } else if let Some(v) = tok.strip_prefix(b"T=") {
            transport = v;
        } else if let Some(v) = tok.strip_prefix(b"H=") {
            host = v;
        } else if let Some(v) = tok.strip_prefix(b"C=") {
            confirmation = unquote(v);
        } else if let Some(v) = tok.strip_prefix(b"X=") {
            cipher = Some(v);
        } else if let Some(v) = tok.strip_prefix(b"CV=") {
            verified = v;
        }
        if ends {
            reason = rest;
            has_reason = true;
        }
    }
    let reason = trim(reason);
    let recipient = pick_recipient(first, angle, paren);
    if recipient.is_empty() {
        return Err(Unparsed::NoRecipient);
    }
    let orig = if recipient == first { angle } else { b"" };
    let mut d = Delivery {
        orig_recipient: orig,
        relay: host,
        transport,
        tls: cipher.map(|x| Tls::exim(x, verified)),
        ..Delivery::new(msg_id, recipient, status)
    };
    if status == Status::Sent {
        // A delivery to a host without `X=` went in clear text (the report
        // says so only for hosts whose log shows `X=` at all).
        if !host.is_empty() && d.tls.is_none() {
            d.tls = Some(Tls::CLEAR);
        }
        d.reply = confirmation;
        let codes = reply_codes(confirmation);
        d.basic = codes.basic;
        d.dsn = codes.dsn;
        d.local = host.is_empty();
        return Ok(d);
    }
    d.local = host.is_empty() && !transport.is_empty() && memfind!(transport, b"smtp").is_none();
    if status == Status::Bounced
        && (memfind!(reason, b"retry timeout exceeded").is_some()
            || memfind!(reason, b"have been failing for a long time").is_some())
    {
        d.status = Status::Expired;
    }
    if memfind!(reason, b"retry time not reached").is_some() {
        d.attempted = false;
    }
    let (reply, reply_host) = remote_reply(reason);
    d.at_greeting = at_greeting(reason);
    if d.relay.is_empty() {
        d.relay = reply_host;
    }
    d.reply = reply;
    let codes = reply_codes(reply);
    d.basic = codes.basic;
    d.dsn = codes.dsn;
    Ok(d)
}

/// The delivered-to address: a real address in the first token, else the
/// original `<addr>` (file, pipe and local-user deliveries), else `(parent)`.
#[inline]
fn pick_recipient<'a>(first: &'a [u8], angle: &'a [u8], paren: &'a [u8]) -> &'a [u8] {
    let looks_like_address =
        memchr::memchr(b'@', first).is_some() && !matches!(first.first(), Some(b'/' | b'|' | b':'));
    if looks_like_address {
        first
    } else if !angle.is_empty() {
        angle
    } else if !paren.is_empty() {
        paren
    } else {
        first
    }
}

/// `tok:` → (`tok`, true). A lone `:` is an empty token that ends the fields.
#[inline]
fn strip_colon(tok: &[u8]) -> (&[u8], bool) {
    match tok.strip_suffix(b":") {
        // `:blackhole:` and `:fail:` are Exim's special addresses, not a
        // token ending the fields.
        Some(t) if t.is_empty() || !(t.ends_with(b":") || t.starts_with(b":")) => (t, true),
        _ => (tok, false),
    }
}

#[inline]
fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| *b != b' ').unwrap_or(s.len());
    let end = s.iter().rposition(|b| *b != b' ').map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// From `SMTP error from remote mail server after RCPT TO:<a@x>: 550 …`
/// take the reply (and the host, for the older `…: host mx [ip]: 550 …`).
fn remote_reply(reason: &[u8]) -> (&[u8], &[u8]) {
    const SMTP_ERROR: &[u8] = b"SMTP error from remote mail server after ";
    let Some(pos) = memfind!(reason, b"SMTP error from remote mail server after ") else {
        return (reason, b"");
    };
    let after = &reason[pos + SMTP_ERROR.len()..];
    let Some(colon) = memfind!(after, b": ") else {
        return (reason, b"");
    };
    let mut reply = &after[colon + 2..];
    let mut host: &[u8] = b"";
    if let Some(h) = reply.strip_prefix(b"host ")
        && let Some(end) = memfind!(h, b"]: ")
    {
        host = &h[..memchr::memchr(b' ', h).unwrap_or(0)];
        reply = &h[end + 3..];
    }
    (reply, host)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15 item 5: an inbound refusal after DATA carries a message id;
    /// it was taken for a host error (a phantom deferral under "other").
    #[test]
    fn rejected_after_data_is_an_inbound_reject() {
        let r = parse(b"1xV6qi-0004PA-2t H=mail.spammer.example [192.0.2.5] X=TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256 CV=no F=<a@spammer.example> rejected after DATA: Your message scored 15.2 spam points");
        let Record::Reject(r) = r else {
            panic!("{r:?}")
        };
        assert_eq!(r.stage, b"DATA");
        assert_eq!(r.client, b"mail.spammer.example [192.0.2.5]");
        let t = parse(b"1xV6qi-0004PA-2t H=(helo) [192.0.2.5] P=esmtp temporarily rejected after DATA: try later");
        assert!(matches!(t, Record::Reject(_)), "{t:?}");
        // Host errors stay host errors, whatever their text says.
        for host_error in [
            &b"1xV6qi-0004PA-2t H=mx.example [192.0.2.1]: SMTP error from remote mail server after RCPT TO:<a@b>: 550 5.7.1 rejected by policy"[..],
            b"1xV6qi-0004PA-2t H=mx.example [192.0.2.1] Connection refused",
        ] {
            assert!(matches!(parse(host_error), Record::HostError(_)));
        }
    }

    fn del(body: &'static str) -> Delivery<'static> {
        match parse(body.as_bytes()) {
            Record::Delivery(d) => d,
            other => panic!("not a delivery: {other:?}"),
        }
    }

    fn s(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    #[test]
    fn message_ids() {
        assert!(is_message_id(b"1xV6qi-0004PA-2t"));
        assert!(is_message_id(b"10HmaX-000000005vi-0000"));
        assert!(!is_message_id(b"1xV6qi-0004PA"));
        assert!(!is_message_id(b"SMTP"));
        assert!(!is_message_id(b"1xV6qi-0004PA-2t-x"));
        // Right length, wrong shape: the fixed-shape fast path must not pass these.
        assert!(!is_message_id(b"1xV6qi-0004PA:2t"));
        assert!(!is_message_id(b"1xV6qi-0004P!-2t"));
        assert!(!is_message_id(b"1xV6q--0004PA-2t"));
        assert!(!is_message_id(b"10HmaX-000000005vi_0000"));
        // Lengths the fast path does not know still go through the parts.
        assert!(is_message_id(b"1xV6qi-0004PAB-2t"));
    }

    proptest::proptest! {
        /// The fixed-shape fast path agrees with a plain reading of the parts.
        #[test]
        fn message_id_fast_path_agrees(id in "[0-9A-Za-z!:_-]{6}-[0-9A-Za-z!-]{6,11}-[0-9A-Za-z!-]{2,4}") {
            let parts: Vec<&str> = id.split('-').collect();
            let plain = parts.len() == 3
                && parts[0].len() == 6
                && (6..=11).contains(&parts[1].len())
                && (2..=4).contains(&parts[2].len())
                && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric()));
            proptest::prop_assert_eq!(is_message_id(id.as_bytes()), plain);
        }
    }

    #[test]
    fn sent_remote() {
        let d = del(
            "1xV6qY-0004Hm-2F => jamesadams@gmail.com R=dnslookup T=remote_smtp H=gmail-smtp-in.l.google.com [127.0.0.10] X=TLS1.3:ECDHE_SECP256R1__RSA_PSS_RSAE_SHA256__AES_256_GCM:256 CV=yes C=\"250 2.0.0 OK  1795351146 1ec0f - gsmtp\"",
        );
        assert_eq!(s(d.recipient), "jamesadams@gmail.com");
        assert_eq!(s(d.relay), "gmail-smtp-in.l.google.com");
        assert_eq!(s(d.transport), "remote_smtp");
        assert_eq!(d.status, Status::Sent);
        assert_eq!(d.dsn.unwrap().to_string(), "2.0.0");
        assert_eq!(d.basic, Some(250));
        assert!(!d.local);
    }

    #[test]
    fn sent_local_forms() {
        let d = del(
            "1xV760-00050c-05 => mailadmin <alerts@acme-mailer.example> R=local_user T=local_delivery",
        );
        assert_eq!(s(d.recipient), "alerts@acme-mailer.example");
        assert!(d.local);
        let f = del(
            "1ka91r-00067j-8P => /var/mail/mail (root@debian.up) <root@debian.up> R=mail4root T=address_file",
        );
        assert_eq!(s(f.recipient), "root@debian.up");
        let p = del("1xV760-00050c-05 -> newr1@myhost.test.ex <r1@test.ex> R=ok T=t1");
        assert_eq!(s(p.recipient), "newr1@myhost.test.ex");
        assert_eq!(s(p.orig_recipient), "r1@test.ex");
    }

    #[test]
    fn bounced_with_multiline_reply() {
        let d = del(
            r"1xV6qq-0004WJ-0i ** amy2009@gmail.com R=dnslookup T=remote_smtp H=gmail-smtp-in.l.google.com [127.0.0.10] X=TLS1.3:ECDHE:256 CV=yes: SMTP error from remote mail server after end of data: 550-5.7.26 This mail has been blocked.\n550-5.7.26 Gmail requires\n550 5.7.26  https://support.google.com/mail/answer/81126 916 - gsmtp",
        );
        assert_eq!(d.status, Status::Bounced);
        assert_eq!(d.dsn.unwrap().to_string(), "5.7.26");
        assert_eq!(d.basic, Some(550));
        assert!(s(d.reply).starts_with("550-5.7.26 This mail"));
        assert_eq!(s(d.relay), "gmail-smtp-in.l.google.com");
    }

    #[test]
    fn deferred_forms() {
        let d = del(
            "1xV6qq-0004Wf-1c == garyanderson@hotmail.com R=dnslookup T=remote_smtp defer (-45) H=hotmail-com.olc.protection.outlook.com [127.0.0.22]: SMTP error from remote mail server after pipelined MAIL FROM:<noreply@shopmart.example> SIZE=9081: 451 4.7.650 The mail server [198.51.100.24] has been temporarily rate limited (S775)",
        );
        assert_eq!(d.status, Status::Deferred);
        assert_eq!(d.dsn.unwrap().to_string(), "4.7.650");
        assert_eq!(s(d.relay), "hotmail-com.olc.protection.outlook.com");
        assert!(d.attempted);
        let r = del(
            "1xV6qn-0004UN-2o == nicole_michel@gmail.com routing defer (-52): retry time not reached",
        );
        assert!(!r.attempted);
        assert_eq!(s(r.reply), "retry time not reached");
        assert_eq!(r.dsn, None);
        let c = del(
            "1xV6qt-0004YG-2k == mmitchell@flaky-isp.example R=dnslookup T=remote_smtp defer (-18) H=mx.flaky-isp.example [127.0.0.63]: Remote host closed connection in response to initial connection",
        );
        assert_eq!(
            s(c.reply),
            "Remote host closed connection in response to initial connection"
        );
        let g = del(
            "1xV6r5-0004di-1c == m@aol.com R=dnslookup T=remote_smtp defer (0) H=mx-aol.mail.gm0.yahoodns.net [127.0.0.33]: SMTP error from remote mail server after initial connection: 421 4.7.0 [TSS04] Messages from 198.51.100.24 temporarily deferred - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
        );
        assert_eq!(g.dsn.unwrap().to_string(), "4.7.0");
        assert_eq!(g.basic, Some(421));
        let t = del(
            "1xV72q-0002rK-2i == john.doe@acme-mailer.example R=local_user T=local_delivery defer (-1): Tainted '/srv/x' not permitted",
        );
        assert!(t.local);
    }

    #[test]
    fn basic_code_only_and_old_host_form() {
        let d = del(
            "1xV6qq-0004Wf-1c == a@x.example R=dnslookup T=remote_smtp defer (-44): SMTP error from remote mail server after RCPT TO:<a@x.example>: host mx.x.example [192.0.2.1]: 421 Service shutting down",
        );
        assert_eq!(d.basic, Some(421));
        assert_eq!(d.dsn, None);
        assert_eq!(d.class(), 4);
        assert_eq!(s(d.relay), "mx.x.example");
    }

    #[test]
    fn expired_forms() {
        let d = del("1xV6qn-0004UN-2o ** nicole_michel@gmail.com: retry timeout exceeded");
        assert_eq!(d.status, Status::Expired);
        assert_eq!(s(d.recipient), "nicole_michel@gmail.com");
        let a = del(
            "1xV6qn-0004UN-2o ** pamela.russo@tarpit-isp.example R=dnslookup T=remote_smtp: all hosts for 'tarpit-isp.example' have been failing for a long time (and retry time not reached)",
        );
        assert_eq!(a.status, Status::Expired);
        let u = del("1WWJ6N-000159-1G ** pi@raspberrypi <root@raspberrypi>: Unrouteable address");
        assert_eq!(u.status, Status::Bounced);
        assert_eq!(s(u.reply), "Unrouteable address");
        let p =
            del("10HmaX-000000005vi-0000 ** pipe@test.ex R=pipe T=pipe : return message generated");
        assert_eq!(s(p.reply), "return message generated");
    }

    #[test]
    fn tls_of_deliveries_and_arrivals() {
        let d = del(
            "1xV6qX-0004Gw-0M => a@contoso.com R=dnslookup T=remote_smtp H=mx.contoso.com [192.0.2.26] X=TLS1.3:ECDHE_SECP256R1__RSA_PSS_RSAE_SHA256__AES_256_GCM:256 CV=yes C=\"250 2.6.0 ok\"",
        );
        assert_eq!(
            d.tls,
            Some(Tls {
                level: TlsLevel::Trusted,
                protocol: TlsProtocol::Tls13
            })
        );
        let d = del(
            "1xV6qX-0004Gw-0M => a@x.example R=dnslookup T=remote_smtp H=mx.x.example [192.0.2.1] X=TLSv1:AES256-SHA:256 CV=dane C=\"250 ok\"",
        );
        assert_eq!(d.tls.map(|t| t.level), Some(TlsLevel::Verified));
        assert_eq!(d.tls.map(|t| t.protocol), Some(TlsProtocol::Tls10));
        let d = del(
            "1xV6qX-0004Gw-0M => a@x.example R=dnslookup T=remote_smtp H=mx.x.example [192.0.2.1] X=TLS1.2:ECDHE:256 CV=no C=\"250 ok\"",
        );
        assert_eq!(d.tls.map(|t| t.level), Some(TlsLevel::Untrusted));
        // A remote delivery without X= went in clear text; a local one is
        // no network's.
        let d = del(
            "1xV6qX-0004Gw-0M => a@x.example R=dnslookup T=remote_smtp H=mx.x.example [192.0.2.1] C=\"250 ok\"",
        );
        assert_eq!(d.tls, Some(Tls::CLEAR));
        let d = del("1xV6qX-0004Gw-0M => bob <bob@here.example> R=local_user T=mail_spool");
        assert_eq!(d.tls, None);
        // A deferral says nothing of it.
        let d = del(
            "1xV6qX-0004Gw-0M == a@x.example R=dnslookup T=remote_smtp defer (-44) H=mx.x.example [192.0.2.1]: SMTP error from remote mail server after RCPT TO:<a@x.example>: 450 4.2.0 busy",
        );
        assert_eq!(d.tls, None);
        let q = |line: &'static [u8]| match parse(line) {
            Record::Queued(q) => q.tls,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            q(b"1xV6qX-0004Gw-0M <= a@b.example H=mail.b.example [192.0.2.7] P=esmtps X=TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256 CV=no S=100 id=x@y"),
            Some(Tls {
                level: TlsLevel::Untrusted,
                protocol: TlsProtocol::Tls12
            })
        );
        assert_eq!(
            q(b"1xV6qX-0004Gw-0M <= a@b.example H=mail.b.example [192.0.2.7] P=esmtp S=100 id=x@y"),
            Some(Tls::CLEAR)
        );
        assert_eq!(
            q(b"1xV6qX-0004Gw-0M <= a@b.example U=bob P=local S=100 id=x@y"),
            None
        );
    }

    #[test]
    fn other_records() {
        assert_eq!(
            parse(b"1xV6qi-0004PA-2t <= news@shopmart.example H=(app02) [127.0.0.1] P=esmtps S=1"),
            Record::Queued(Queued {
                queue_id: b"1xV6qi-0004PA-2t",
                sender: Some(b"news@shopmart.example"),
                size: Some(1),
                client: b"(app02) [127.0.0.1]",
                arrival: true,
                // `P=esmtps`: TLS, the cipher not logged.
                tls: Some(Tls {
                    level: TlsLevel::Encrypted,
                    protocol: TlsProtocol::None,
                }),
                ..Queued::default()
            })
        );
        let full = parse(
            b"1xV6qX-0004Gw-0M <= <> H=mx.x.example (helo.example) [192.0.2.7]:4123 I=[10.0.0.1]:25 P=esmtps X=TLS1.3 S=8766 id=2026.1@saasly.example",
        );
        let Record::Queued(q) = full else {
            panic!("{full:?}")
        };
        assert_eq!(q.sender, Some(&b""[..]));
        assert_eq!(q.client, b"mx.x.example (helo.example) [192.0.2.7]");
        assert_eq!(
            (q.size, q.message_id),
            (Some(8766), &b"2026.1@saasly.example"[..])
        );
        let local = parse(b"1xV6qX-0004Gw-0M <= root@x U=root P=local S=12");
        let Record::Queued(q) = local else {
            panic!("{local:?}")
        };
        assert_eq!(
            (q.client, q.size, q.message_id),
            (&b"local"[..], Some(12), &b""[..])
        );
        assert_eq!(
            parse(b"1xV6qi-0004PA-2t Completed"),
            Record::Removed {
                queue_id: b"1xV6qi-0004PA-2t"
            }
        );
        assert_eq!(parse(b"1xV6qi-0004PA-2t *> a@b R=r"), Record::FakeDelivery);
        assert_eq!(parse(b"Start queue run: pid=1"), Record::MailOther);
        assert_eq!(
            parse(b"1xV6qi-0004PA-2t => "),
            Record::Unparsed(Unparsed::NoRecipient)
        );
    }

    #[test]
    fn logins_and_failed_logins() {
        let q = parse(b"10HmaY-000000005vi-0000 <= u@x H=localhost (x) [127.0.0.1] P=esmtpsa X=TLS1.3 A=plain:userx S=3 id=1@x");
        let Record::Queued(q) = q else {
            panic!("{q:?}")
        };
        assert_eq!(q.sasl_user, b"userx");
        let q = parse(b"10HmaY-000000005vi-0000 <= u@x H=[192.0.2.1] P=esmtpa A=fixed_cram S=3");
        let Record::Queued(q) = q else {
            panic!("{q:?}")
        };
        assert_eq!(
            q.sasl_user, b"",
            "an authenticator that set no id names no user"
        );
        let fail = |body: &'static [u8]| match parse(body) {
            Record::AuthFailure(f) => (f.client, f.user, f.server_side()),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            fail(b"auth_login authenticator failed for (User) [45.129.14.179]: 535 Incorrect authentication data (set_id=sales@fvds.ru)"),
            (&b"(User) [45.129.14.179]"[..], &b"sales@fvds.ru"[..], false)
        );
        assert_eq!(
            fail(b"fixed_login authenticator failed for ppp-1-2-3-4.test.example ([1.2.3.4]) [1.2.3.4]:51451: 535 Incorrect authentication data"),
            (&b"ppp-1-2-3-4.test.example ([1.2.3.4]) [1.2.3.4]"[..], &b""[..], false)
        );
        assert_eq!(
            fail(b"plain authenticator failed for H=(x) [10.0.0.5] U=CALLER: 535 Incorrect authentication data (set_id=bob)"),
            (&b"(x) [10.0.0.5]"[..], &b"bob"[..], false)
        );
        assert!(fail(b"dovecot_plain authenticator failed for (x) [10.0.0.5]: 435 Unable to authenticate at present (set_id=bob)").2);
        assert_eq!(
            parse(b"plain authenticator failed for nothing"),
            Record::MailOther
        );
    }

    #[test]
    fn host_errors_before_the_next_mx() {
        let r = parse(b"1xV7QH-0005he-2J H=gmail-smtp-in.l.google.com [127.0.0.10]: SMTP error from remote mail server after end of data: 421-4.7.0 [198.51.100.24      15] Our system has detected\\n421 4.7.0 review our Bulk Email Senders Guidelines. x - gsmtp");
        let Record::HostError(d) = r else {
            panic!("not a host error: {r:?}")
        };
        assert_eq!(s(d.relay), "gmail-smtp-in.l.google.com");
        assert_eq!(d.dsn.map(|x| x.to_string()).as_deref(), Some("4.7.0"));
        assert_eq!((d.status, d.recipient), (Status::Deferred, &b""[..]));
        let r =
            parse(b"1xV7QH-0005he-2J H=mail.oldcompany.example [192.0.2.62] Connection refused");
        let Record::HostError(d) = r else {
            panic!("not a host error: {r:?}")
        };
        assert_eq!(s(d.reply), "Connection refused");
        let r = parse(b"1xV7QH-0005he-2J H=mx.slowcorp.example [192.0.2.9]:25: SMTP timeout after initial connection: Connection timed out");
        let Record::HostError(d) = r else {
            panic!("not a host error: {r:?}")
        };
        assert!(d.at_greeting);
        assert!(matches!(
            parse(b"1xV7QH-0005he-2J H=broken"),
            Record::MailOther
        ));
    }

    #[test]
    fn completed() {
        assert_eq!(
            parse(b"1xV7QH-0005he-2J Completed"),
            Record::Removed {
                queue_id: b"1xV7QH-0005he-2J"
            }
        );
    }

    #[test]
    fn tokens_keep_quoted_strings_whole() {
        let t = |x: &'static [u8]| next_token(x).map(|(a, b)| (s(a), s(b)));
        assert_eq!(t(b"  a b"), Some(("a", " b")));
        assert_eq!(
            t(b"C=\"250 OK \\\" x\" H=h"),
            Some(("C=\"250 OK \\\" x\"", " H=h"))
        );
        assert_eq!(
            t(b"C=\"unterminated here"),
            Some(("C=\"unterminated here", ""))
        );
        assert_eq!(
            t(b"C=\"ends in backslash\\"),
            Some(("C=\"ends in backslash\\", ""))
        );
        assert_eq!(t(b"last"), Some(("last", "")));
        assert_eq!(t(b"   "), None);
    }

    /// Issue 15 item 2: Exim's callouts are probes (lines as in Exim's own
    /// test suite, 0413 and 0473, and 4.9x's `from host [ip] was:` form).
    #[test]
    fn failed_callouts_are_probes() {
        // (line, verified address, host asked, the line is a refusal too)
        type Case = (&'static [u8], &'static [u8], &'static [u8], bool);
        let lines: [Case; 5] = [
            (
                b"H=(helo) [192.0.2.7] F=<a@shop.example> rejected RCPT <bob@gmail.com>: response to \"RCPT TO:<bob@gmail.com>\" from gmail-smtp-in.l.google.com [142.250.1.27] was: 550-5.1.1 The email account that you tried to reach does not exist",
                b"bob@gmail.com",
                b"gmail-smtp-in.l.google.com",
                true,
            ),
            (
                b"U=CALLER F=<s4@other.ex> temporarily rejected RCPT r4@other.ex: Could not complete recipient verify callout: 127.0.0.1 [127.0.0.1] : Connection refused",
                b"r4@other.ex",
                b"127.0.0.1",
                true,
            ),
            (
                b"U=CALLER F=<x9@test.ex> rejected RCPT <r9@test.ex>: 127.0.0.1 [127.0.0.1] : SMTP error from remote mail server after RCPT TO:<r9@test.ex>: 550 NO",
                b"r9@test.ex",
                b"127.0.0.1",
                true,
            ),
            (
                b"U=CALLER sender verify defer for <r1@domain1>: Could not complete sender verify callout: 127.0.0.1 [127.0.0.1] : SMTP error from remote mail server after RCPT TO:<r1@domain1>: 450 Temporary error",
                b"r1@domain1",
                b"127.0.0.1",
                false,
            ),
            (
                b"H=mx.example [192.0.2.1] sender verify fail for <x@dead.example>: response to \"RCPT TO:<x@dead.example>\" from mx.dead.example [192.0.2.9] was: 550 5.1.1 no such user",
                b"x@dead.example",
                b"mx.dead.example",
                false,
            ),
        ];
        for (line, address, host, with_reject) in lines {
            let Record::Callout(d, r) = parse(line) else {
                panic!("{}: {:?}", String::from_utf8_lossy(line), parse(line))
            };
            assert_eq!(d.status, Status::Undeliverable);
            assert_eq!(d.recipient, address, "{}", String::from_utf8_lossy(line));
            assert_eq!(d.relay, host, "{}", String::from_utf8_lossy(line));
            assert_eq!(r.is_some(), with_reject);
        }
        // Cached results and the refusal a sender callout already logged
        // are no new probe.
        for line in [
            &b"H=(x) [193.31.117.203] F=<k@ejectfox.icu> rejected RCPT <a@rosnix.net>: Previous (cached) callout verification failure"[..],
            b"U=CALLER temporarily rejected MAIL <r1@domain1>: Could not complete sender verify callout",
        ] {
            assert!(matches!(parse(line), Record::Reject(_)), "{:?}", parse(line));
        }
    }

    /// A local_scan refusal (sa-exim) starts with `F=`, not `H=`: counted as
    /// a refusal at DATA with its client, as eximstats counts it.
    #[test]
    fn local_scan_refusals_are_rejects() {
        let r = parse(b"1j5IBw-00064P-De F=toyaedypo@evowpmy.com H=xdsl-178-35-123-109.soes.su (evowpmy.com) [178.35.123.109] P=smtp rejected by local_scan(): Rejected");
        let Record::Reject(r) = r else {
            panic!("{r:?}")
        };
        assert_eq!(r.stage, b"DATA");
        assert_eq!(r.client, b"[178.35.123.109]");
        assert_eq!(r.text, b"Rejected");
    }
}
