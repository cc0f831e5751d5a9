//! Postfix message bodies (what follows `postfix/<service>[pid]: `).
//!
//! ```text
//! 64591B40D0: to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com[1.2.3.4]:25, delay=0.4,
//!     delays=0/0/0.1/0.3, dsn=4.7.0, status=deferred (host … said: 421-4.7.0 … (in reply to end of DATA command))
//! 64591B40D0: to=<a@x>, orig_to=<b@y>, relay=local, …, dsn=2.0.0, status=sent (delivered to mailbox)
//! 64591B40D0: to=<a@x>, relay=none, …, dsn=4.4.1, status=deferred (connect to mx.x[1.2.3.4]:25: Connection timed out)
//! 64591B40D0: from=<s@x>, size=1234, nrcpt=1 (queue active)
//! 64591B40D0: from=<s@x>, status=expired, returned to sender
//! 64591B40D0: removed
//! ```

use super::find;
use super::reject;
use super::reply::reply_codes;
use super::{Record, Unparsed};
use crate::dsn::Dsn;
use crate::event::{
    AuthFailure, Delivery, Level, Queued, Status, Tls, TlsLevel, TlsProtocol, TlsSession,
};
use memchr::memchr;

/// Parses one Postfix message body; `service` is the daemon (`smtp`, `qmgr` …).
pub fn parse<'a>(service: &'a [u8], body: &'a [u8]) -> Record<'a> {
    if let Some(n) = notice(service, body) {
        return n;
    }
    if !logs_queue_events(service) {
        return inbound(service, body);
    }
    let Some((queue_id, rest)) = split_queue_id(body) else {
        if let Some(t) = tls_session(body) {
            return Record::Tls(t);
        }
        return other_or_malformed(body);
    };
    if let Some(fields) = rest.strip_prefix(b"to=") {
        return match delivery(service, queue_id, fields) {
            Ok(d) => Record::Delivery(d),
            Err(why) => Record::Unparsed(why),
        };
    }
    if rest == b"removed" {
        return Record::Removed { queue_id };
    }
    if let Some(fields) = rest.strip_prefix(b"from=") {
        let (sender, after) = address(fields);
        if let Some(after) = after.strip_prefix(b", size=") {
            return Record::Queued(queued(queue_id, sender, after));
        }
        if let Some(st) = after.strip_prefix(b", status=") {
            return if st.starts_with(b"expired") || st.starts_with(b"force-expired") {
                Record::Expired { queue_id, sender }
            } else {
                Record::Unparsed(Unparsed::UnknownStatus)
            };
        }
    }
    other_or_malformed(rest)
}

/// `warning: …`, `error: …`, `fatal: …`, `panic: …` from any daemon, and
/// whatever the master daemon says. One byte is tested on other lines.
#[inline]
fn notice<'a>(service: &[u8], body: &'a [u8]) -> Option<Record<'a>> {
    if service == b"master" {
        return Some(Record::Notice(Level::Master, body));
    }
    let level = match body.first()? {
        b'w' => (Level::Warning, &b"warning: "[..]),
        b'e' => (Level::Error, &b"error: "[..]),
        b'f' => (Level::Fatal, &b"fatal: "[..]),
        b'p' => (Level::Panic, &b"panic: "[..]),
        _ => return None,
    };
    let text = body.strip_prefix(level.1)?;
    if level.0 == Level::Warning
        && service == b"smtpd"
        && let Some(failure) = sasl_failure(text)
    {
        return Some(Record::AuthFailure(failure));
    }
    Some(Record::Notice(level.0, text))
}

/// smtpd's `host[ip]: SASL LOGIN authentication failed: reason` (Postfix
/// 3.x adds `, sasl_username=user` when the client sent one). The
/// client-side `SASL authentication failed; server … said` of smtp is
/// our own relay login failing, not this.
fn sasl_failure(text: &[u8]) -> Option<AuthFailure<'_>> {
    let at = memchr::memmem::find(text, b"]: SASL ")?;
    let client = &text[..=at];
    let rest = &text[at + b"]: SASL ".len()..];
    let mechanism_end = memchr(b' ', rest)?;
    let reason = rest[mechanism_end + 1..].strip_prefix(b"authentication failed")?;
    let reason = reason
        .strip_prefix(b":")
        .unwrap_or(reason)
        .trim_ascii_start();
    let (reason, user) = match memchr::memmem::rfind(reason, b", sasl_username=") {
        Some(u) => (&reason[..u], &reason[u + b", sasl_username=".len()..]),
        None => (reason, &b""[..]),
    };
    Some(AuthFailure {
        client,
        user,
        reason,
        text,
        warning: true,
    })
}

/// True when smtpd's `disconnect from` statistics say an AUTH succeeded:
/// `auth=1` (all of them) or `auth=1/2` (one of two); `auth=0/1` failed.
fn authenticated(stats: &[u8]) -> bool {
    memchr::memmem::find(stats, b" auth=")
        .is_some_and(|at| matches!(stats.get(at + 6), Some(b'1'..=b'9')))
}

/// A postscreen event's name: its leading upper-case words (`PASS NEW`,
/// `DNSBL`, `COMMAND PIPELINING`), or `None` for other lines.
fn postscreen_action(body: &[u8]) -> Option<&[u8]> {
    let mut end = 0;
    for word in body.split(|b| *b == b' ') {
        let upper = !word.is_empty() && word.iter().all(|b| b.is_ascii_uppercase() || *b == b'-');
        if !upper {
            break;
        }
        end += word.len() + 1;
    }
    (end > 0).then(|| &body[..end - 1])
}

/// The rest of a qmgr `from=<…>, size=` line: `1234, nrcpt=2 (queue active)`.
fn queued<'a>(queue_id: &'a [u8], sender: &'a [u8], after_size: &'a [u8]) -> Queued<'a> {
    let (size, rest) = leading_number(after_size);
    let nrcpt = rest
        .strip_prefix(b", nrcpt=")
        .and_then(|r| leading_number(r).0)
        .and_then(|n| u32::try_from(n).ok());
    Queued {
        queue_id,
        sender: Some(sender),
        size,
        nrcpt,
        ..Queued::default()
    }
}

/// The decimal number at the start of `s` (at most 19 digits) and what follows.
fn leading_number(s: &[u8]) -> (Option<u64>, &[u8]) {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 19 {
        return (None, &s[n..]);
    }
    let value = s[..n]
        .iter()
        .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
    (Some(value), &s[n..])
}

/// smtpd, postscreen, cleanup and pickup lines: a refusal, a message's
/// arrival (smtpd `client=`, cleanup `message-id=`, pickup `uid=`), or
/// nothing we count. These all start with a queue id (or NOQUEUE) and
/// `: `, so a line that does not is answered by one byte search.
#[inline]
fn inbound<'a>(service: &[u8], body: &'a [u8]) -> Record<'a> {
    if !matches!(service, b"smtpd" | b"postscreen" | b"cleanup" | b"pickup") {
        return Record::MailOther;
    }
    if service == b"smtpd" {
        if let Some(t) = tls_session(body) {
            return Record::Tls(t);
        }
        if let Some(client) = body.strip_prefix(b"connect from ") {
            return Record::Connect(client);
        }
        if let Some(rest) = body.strip_prefix(b"disconnect from ") {
            // `host[ip] ehlo=1 mail=1 … commands=6`: the client is the first word.
            let end = memchr(b' ', rest).unwrap_or(rest.len());
            return Record::Disconnect {
                client: &rest[..end],
                authenticated: authenticated(&rest[end..]),
            };
        }
    }
    if service == b"postscreen"
        && let Some(action) = postscreen_action(body)
        && action != b"NOQUEUE"
    {
        return Record::Postscreen(action);
    }
    // The queue id (or NOQUEUE) is at most 15 characters: look no further.
    let head = body.get(..17).unwrap_or(body);
    let (queue_id, rest) = match find::byte(b':', head) {
        Some(colon) if body.get(colon + 1) == Some(&b' ') => (&body[..colon], &body[colon + 2..]),
        _ => return Record::MailOther,
    };
    if reject::action(rest).is_none() {
        return arrival(service, queue_id, rest);
    }
    match reject::postfix(rest) {
        Some(r) => Record::Reject(r),
        None => Record::MailOther,
    }
}

/// `Trusted TLS connection established to host[ip]:25: TLSv1.3 with
/// cipher …` (smtp), `Anonymous TLS connection established from host[ip]:
/// TLSv1.2 with cipher …` (smtpd); `reused` for a cached connection
/// (Postfix 3.4's `smtp_tls_connection_reuse`).
#[inline]
fn tls_session(body: &[u8]) -> Option<TlsSession<'_>> {
    if !matches!(body.first(), Some(b'A' | b'T' | b'U' | b'V')) {
        return None;
    }
    let space = find::byte(b' ', body)?;
    let level = TlsLevel::from_postfix(&body[..space])?;
    let rest = body[space + 1..]
        .strip_prefix(b"TLS connection ")
        .and_then(|r| {
            r.strip_prefix(b"established ")
                .or_else(|| r.strip_prefix(b"reused "))
        })?;
    let (inbound, rest) = match rest.strip_prefix(b"to ") {
        Some(r) => (false, r),
        None => (true, rest.strip_prefix(b"from ")?),
    };
    // The peer ends at its `]`, and an optional `:port`.
    let close = find::byte(b']', rest)?;
    let mut end = close + 1;
    if rest.get(end) == Some(&b':') && rest.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end += 1 + rest[end + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
    }
    let peer = &rest[..end];
    let after = rest[end..].strip_prefix(b": ").unwrap_or_default();
    let version = &after[..find::byte(b' ', after).unwrap_or(after.len())];
    Some(TlsSession {
        inbound,
        peer,
        tls: Tls {
            level,
            protocol: TlsProtocol::parse(version),
        },
    })
}

/// smtpd `QID: client=host[ip]`, cleanup `QID: message-id=<…>`, pickup
/// `QID: uid=0 from=<…>`: what the journey of a message starts with.
#[inline]
fn arrival<'a>(service: &[u8], queue_id: &'a [u8], rest: &'a [u8]) -> Record<'a> {
    if queue_id.len() < 5 || queue_id == b"NOQUEUE" || !find::all_alphanumeric(queue_id) {
        return Record::MailOther;
    }
    let q = match service {
        b"smtpd" => match rest.strip_prefix(b"client=") {
            // `client=host[ip]:port, sasl_method=…`: the client is the first field.
            Some(c) => Queued {
                queue_id,
                client: &c[..find::byte(b',', c).unwrap_or(c.len())],
                sasl_user: memchr::memmem::find(c, b", sasl_username=").map_or(&b""[..], |at| {
                    let u = &c[at + b", sasl_username=".len()..];
                    &u[..find::byte(b',', u).unwrap_or(u.len())]
                }),
                ..Queued::default()
            },
            None => return Record::MailOther,
        },
        b"cleanup" => match rest.strip_prefix(b"message-id=") {
            Some(m) => Queued {
                queue_id,
                message_id: m
                    .strip_prefix(b"<")
                    .and_then(|m| m.strip_suffix(b">"))
                    .unwrap_or(m),
                arrival: true,
                ..Queued::default()
            },
            None => return Record::MailOther,
        },
        // The `from=` here is the submitting user's; qmgr logs the
        // envelope sender next, which is what the sender join uses.
        b"pickup" if rest.starts_with(b"uid=") => Queued {
            queue_id,
            client: b"pickup",
            ..Queued::default()
        },
        _ => return Record::MailOther,
    };
    Record::Queued(q)
}

/// Daemons that never log a delivery, a queue sender or a removal: half
/// of a busy log (smtpd, cleanup …) is answered without looking further.
/// Unknown names (custom `syslog_name`s, new daemons) are parsed in full.
#[inline]
fn logs_queue_events(service: &[u8]) -> bool {
    !matches!(
        service,
        b"smtpd"
            | b"cleanup"
            | b"anvil"
            | b"postscreen"
            | b"dnsblog"
            | b"tlsproxy"
            | b"tlsmgr"
            | b"pickup"
            | b"master"
            | b"scache"
            | b"trivial-rewrite"
            | b"proxymap"
            | b"postdrop"
            | b"postlogd"
            | b"verify"
    )
}

/// A line we do not model is fine, unless it claims a delivery status
/// (`status=` followed by a word; smtpd's debug `status=0` is not one).
#[inline]
fn other_or_malformed(rest: &[u8]) -> Record<'_> {
    let claims_status = memfind_iter!(rest, b"status=")
        .any(|at| rest.get(at + 7).is_some_and(u8::is_ascii_alphabetic));
    if claims_status {
        Record::Unparsed(Unparsed::StatusLineShape)
    } else {
        Record::MailOther
    }
}

/// The queue id a Postfix line is about (`NOQUEUE` is none).
pub fn queue_id_of(body: &[u8]) -> Option<&[u8]> {
    split_queue_id(body)
        .map(|(id, _)| id)
        .filter(|id| *id != b"NOQUEUE")
}

/// `QUEUEID: rest` — short hex ids, long ids (`4Ps9Pb5Bb5z2Bm0`), `NOQUEUE`.
#[inline]
fn split_queue_id(body: &[u8]) -> Option<(&[u8], &[u8])> {
    // Classic ids are 10–12 hex digits, long ids 15: try the colon where it
    // usually is before walking the bytes (the walk's exit mispredicts).
    let n = match [10, 12, 11, 15]
        .into_iter()
        .find(|&n| body.get(n) == Some(&b':'))
    {
        Some(n) if find::all_alphanumeric(&body[..n]) => n,
        _ => body
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count(),
    };
    if n < 5 || body.get(n..n + 2) != Some(b": ") {
        return None;
    }
    Some((&body[..n], &body[n + 2..]))
}

/// An address field value: `<a@b>` (possibly `<>`), or bare up to `,`.
/// Returns the address and what follows it.
#[inline]
fn address(s: &[u8]) -> (&[u8], &[u8]) {
    if let Some(inner) = s.strip_prefix(b"<") {
        // Quoted local parts may hold `>`; the field ends at `>,` or `>` at the end.
        let mut from = 0;
        while let Some(k) = find::byte(b'>', &inner[from..]) {
            let end = from + k;
            if inner.get(end + 1) == Some(&b',') {
                return (&inner[..end], &inner[end + 1..]);
            }
            from = end + 1;
        }
        if let Some(stripped) = inner.strip_suffix(b">") {
            return (stripped, b"");
        }
        let end = memchr(b'>', inner).unwrap_or(inner.len());
        return (&inner[..end], inner.get(end + 1..).unwrap_or_default());
    }
    let end = find::byte(b',', s).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// The end of a `key=value` value: the next `, `.
#[inline]
fn value_end(s: &[u8]) -> usize {
    let mut from = 0;
    while let Some(k) = find::byte(b',', &s[from..]) {
        let at = from + k;
        if s.get(at + 1) == Some(&b' ') {
            return at;
        }
        from = at + 1;
    }
    s.len()
}

fn delivery<'a>(
    service: &'a [u8],
    queue_id: &'a [u8],
    fields: &'a [u8],
) -> Result<Delivery<'a>, Unparsed> {
    let (recipient, mut rest) = address(fields);
    if recipient.is_empty() {
        return Err(Unparsed::NoRecipient);
    }
    let mut d = Delivery {
        transport: service,
        ..Delivery::new(queue_id, recipient, Status::Sent)
    };
    let mut relay_field: &[u8] = b"";
    let mut status = None;
    // `, key=value` pairs until `status=`, whose value runs to the end.
    while let Some(after) = rest.strip_prefix(b", ") {
        let eq = find::byte(b'=', after).ok_or(Unparsed::StatusLineShape)?;
        let key = &after[..eq];
        let value_start = &after[eq + 1..];
        if key == b"status" {
            status = Some(value_start);
            break;
        }
        let (value, next) = if key == b"orig_to" {
            address(value_start)
        } else {
            let end = value_end(value_start);
            (&value_start[..end], &value_start[end..])
        };
        match key {
            b"orig_to" => d.orig_recipient = value,
            b"relay" => relay_field = value,
            b"delay" => d.delay = parse_delay(value),
            b"delays" => d.delays = value,
            b"dsn" => d.dsn = Dsn::parse(value),
            _ => {}
        }
        rest = next;
    }
    let status = status.ok_or(Unparsed::NoStatus)?;
    let word_len = status
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
        .count();
    d.status = status_word(&status[..word_len]).ok_or(Unparsed::UnknownStatus)?;
    let text = status_text(&status[word_len..]);
    classify_text(&mut d, relay_field, text);
    Ok(d)
}

/// Postfix's status words, including the rarer ones seen in real logs.
fn status_word(word: &[u8]) -> Option<Status> {
    Status::from_postfix(word).or(match word {
        b"force-expired" => Some(Status::Expired),
        b"undeliverable-but-not-cached" => Some(Status::Undeliverable),
        // soft_bounce=yes turns would-be bounces into deferrals.
        b"SOFTBOUNCE" => Some(Status::Deferred),
        _ => None,
    })
}

/// The parenthesised text after the status word: ` (text)` → `text`.
#[inline]
fn status_text(s: &[u8]) -> &[u8] {
    let s = s.strip_prefix(b" ").unwrap_or(s);
    let Some(inner) = s.strip_prefix(b"(") else {
        return s;
    };
    // Export artefacts such as a trailing ",,,,," follow the closing paren.
    if let Some(text) = inner.strip_suffix(b")") {
        return text;
    }
    match memchr::memrchr(b')', inner) {
        Some(end) => &inner[..end],
        None => inner,
    }
}

/// Fills relay, reply, codes, `local` and `attempted` from the relay field and text.
fn classify_text<'a>(d: &mut Delivery<'a>, relay_field: &'a [u8], text: &'a [u8]) {
    let mut text = text;
    if let Some(rest) = text.strip_prefix(b"delivery temporarily suspended: ") {
        // The destination was marked dead earlier; no connection was made now.
        d.attempted = false;
        text = rest;
    }
    let relay_host = host_of(relay_field);
    let (ip, port) = address_and_port(relay_field).unwrap_or((b"", None));
    d.local = is_local(d.transport, relay_field, ip);
    // A hand-off by its address: `relay=amavis[127.0.0.1]:10024`, loopback
    // on a port other than SMTP's (content filters listen on 10024, 10026,
    // 11332 …; a relay to a smarthost or partner gateway on 25/587 is a
    // delivery, and so is a test rig's "remote" MX on 127.0.0.x:25). A
    // loopback *name* (`127.0.0.1[…]`, `localhost[…]`, also in relay=none
    // errors) is the provider table's to see: [`ProviderMap::classify`].
    let filter_port =
        port.is_some_and(|p| !p.is_empty() && !matches!(p, b"25" | b"587" | b"465" | b"2525"));
    d.loopback = !d.local && is_loopback(ip) && filter_port;
    if !relay_host.is_empty() && relay_field != b"none" {
        d.relay = relay_host;
        d.hop = relay_field;
    }
    // "host X[ip] said: REPLY (in reply to … command)", or a greeting
    // refusal "host X[ip] refused to talk to me: REPLY".
    if let Some(after_host) = text.strip_prefix(b"host ")
        && let Some((at, len)) = memfind!(after_host, b" said: ")
            .map(|p| (p, 7))
            .or_else(|| memfind!(after_host, b" refused to talk to me: ").map(|p| (p, 24)))
    {
        if d.relay.is_empty() {
            d.relay = host_of(&after_host[..at]);
        }
        d.at_greeting = len == 24;
        let reply = &after_host[at + len..];
        let reply = match memrfind!(reply, b" (in reply to ") {
            Some(end) => &reply[..end],
            None => reply,
        };
        d.reply = reply;
        let codes = reply_codes(reply);
        d.basic = codes.basic;
        // The last line's enhanced code wins over dsn= when they differ.
        if codes.dsn.is_some() {
            d.dsn = codes.dsn;
        }
        return;
    }
    d.reply = text;
    if d.relay.is_empty() {
        d.relay = host_in_error(text);
        d.hop = hop_in_error(text);
    }
    let codes = reply_codes(text);
    if codes.basic.is_some() {
        d.basic = codes.basic;
        if d.dsn.is_none() {
            d.dsn = codes.dsn;
        }
    }
}

/// `gmail-smtp-in.l.google.com[1.2.3.4]:25` → `gmail-smtp-in.l.google.com`.
#[inline]
fn host_of(field: &[u8]) -> &[u8] {
    match find::byte(b'[', field) {
        Some(open) => &field[..open],
        None => field,
    }
}

/// The host in Postfix's connection-error texts, when `relay=none`.
fn host_in_error(text: &[u8]) -> &[u8] {
    for prefix in [
        &b"connect to "[..],
        b"conversation with ",
        b"lost connection with ",
        b"host ",
    ] {
        if let Some(rest) = text.strip_prefix(prefix) {
            let end = rest
                .iter()
                .position(|b| matches!(b, b'[' | b' ' | b':' | b','))
                .unwrap_or(rest.len());
            return &rest[..end];
        }
    }
    b""
}

/// `name[address]:port` of `connect to name[address]:port: …`.
fn hop_in_error(text: &[u8]) -> &[u8] {
    let Some(rest) = text.strip_prefix(b"connect to ") else {
        return b"";
    };
    let Some(close) = memchr::memmem::find(rest, b"]:") else {
        return b"";
    };
    let digits = rest[close + 2..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    &rest[..close + 2 + digits]
}

/// A loopback address or name: `127.0.0.0/8`, `::1`, `localhost`.
pub(crate) fn is_loopback(host: &[u8]) -> bool {
    let host = host.strip_prefix(b"[").unwrap_or(host);
    let host = host.strip_suffix(b"]").unwrap_or(host);
    let host = host.strip_prefix(b"ipv6:").unwrap_or(host);
    host.eq_ignore_ascii_case(b"localhost")
        || host.eq_ignore_ascii_case(b"localhost.localdomain")
        || host.eq_ignore_ascii_case(b"ip6-localhost")
        || host == b"::1"
        || (host.starts_with(b"127.")
            && host.len() <= 15
            && host[4..].iter().all(|b| b.is_ascii_digit() || *b == b'.'))
}

/// A client as logged (Postfix `name[address]`, Exim `name [address]`)
/// on loopback: where a content filter on this host re-injects from.
pub(crate) fn is_loopback_client(client: &[u8]) -> bool {
    address_and_port(client).is_some_and(|(address, _)| {
        let address = address.strip_prefix(b"ipv6:").unwrap_or(address);
        let v4 = address.strip_prefix(b"::ffff:").unwrap_or(address);
        is_loopback(address) || is_loopback(v4)
    })
}

/// The `[address]` of a relay field (`name[address]:port`) and the `port`
/// after it, when given; `None` without a bracketed address.
pub(crate) fn address_and_port(relay_field: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let open = memchr::memchr(b'[', relay_field)?;
    let inner = &relay_field[open + 1..];
    let close = memchr::memchr(b']', inner)?;
    Some((&inner[..close], inner[close + 1..].strip_prefix(b":")))
}

/// Local delivery: the local/virtual/pipe agents, or LMTP over a unix
/// socket or to the mailbox store on loopback (dovecot-lmtp on
/// 127.0.0.1:24: a local delivery, not a hand-off). `address`: the relay's
/// `[…]` part.
fn is_local(service: &[u8], relay_field: &[u8], address: &[u8]) -> bool {
    match service {
        b"local" | b"virtual" | b"pipe" => true,
        b"lmtp" => {
            address.starts_with(b"private/")
                || address.starts_with(b"public/")
                || address.starts_with(b"/")
                || is_loopback(address)
        }
        _ => matches!(relay_field, b"local" | b"virtual"),
    }
}

/// Postfix's `delay=` value: `12`, `0.4`, `1234.5` (seconds, no sign or
/// exponent). Parsed by hand: `str::parse::<f32>` cost 3 % of a scan.
#[inline]
fn parse_delay(s: &[u8]) -> Option<f32> {
    let (int, frac) = match find::byte(b'.', s) {
        Some(dot) => (&s[..dot], &s[dot + 1..]),
        None => (s, &b""[..]),
    };
    if int.is_empty() || int.len() > 9 || frac.len() > 6 {
        return None;
    }
    let digits = |d: &[u8]| {
        d.iter().try_fold(0u32, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    let whole = digits(int)?;
    let part = digits(frac)?;
    let scale = 10u32.pow(frac.len() as u32);
    Some((f64::from(whole) + f64::from(part) / f64::from(scale)) as f32)
}

/// Postfix's `delays=a/b/c/d` (seconds; a tiny value is logged as `0.01`
/// or `0`): before qmgr, in qmgr, connection setup, transmission.
#[inline]
pub fn parse_delays(s: &[u8]) -> Option<[f32; 4]> {
    parse_delays_as(s, |x| x)
}

/// [`parse_delays`], each value converted by `f` as it is parsed: the
/// scanner's milliseconds. (Converting the finished `[f32; 4]` read it back
/// from memory just after it was written element by element, a store the
/// CPU cannot forward to the wider load: 2 % of the scan.)
#[inline]
pub fn parse_delays_as<T: Copy>(s: &[u8], f: impl Fn(f32) -> T) -> Option<[T; 4]> {
    // Four values, then the array (no `Default` needed for a placeholder).
    let mut parts = s.split(|b| *b == b'/');
    let mut next = || parts.next().and_then(parse_delay).map(&f);
    let (a, b, c, d) = (next()?, next()?, next()?, next()?);
    parts.next().is_none().then_some([a, b, c, d])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn del(service: &str, body: &str) -> Delivery<'static> {
        let body: &'static str = Box::leak(body.to_string().into_boxed_str());
        let service: &'static str = Box::leak(service.to_string().into_boxed_str());
        match parse(service.as_bytes(), body.as_bytes()) {
            Record::Delivery(d) => d,
            other => panic!("not a delivery: {other:?}"),
        }
    }

    fn s(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    #[test]
    fn smtp_sent() {
        let d = del(
            "smtp",
            "F0F57B420C: to=<eric1975@gmail.com>, relay=alt2.gmail-smtp-in.l.google.com[127.0.0.12]:25, delay=0.05, delays=0/0/0.04/0, dsn=2.0.0, status=sent (250 2.0.0 OK  1795351224 1786f - gsmtp)",
        );
        assert_eq!(s(d.queue_id), "F0F57B420C");
        assert_eq!(s(d.recipient), "eric1975@gmail.com");
        assert_eq!(s(d.relay), "alt2.gmail-smtp-in.l.google.com");
        assert_eq!(d.status, Status::Sent);
        assert_eq!(d.dsn.unwrap().to_string(), "2.0.0");
        assert_eq!(d.basic, Some(250));
        assert_eq!(d.delay, Some(0.05));
        assert!(!d.local && d.attempted);
    }

    #[test]
    fn smtp_deferred_multiline() {
        let d = del(
            "smtp",
            "9E6A1B2C3: to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com[127.0.0.10]:25, delay=1, delays=0/0/0/1, dsn=4.7.28, status=deferred (host gmail-smtp-in.l.google.com[127.0.0.10] said: 421-4.7.28 [198.51.100.23      15] Our system has detected 421-4.7.28 an unusual rate 421 4.7.28  https://support.google.com/mail/?p=UnsolicitedRateLimitError x - gsmtp (in reply to end of DATA command))",
        );
        assert_eq!(d.status, Status::Deferred);
        assert_eq!(d.dsn.unwrap().to_string(), "4.7.28");
        assert_eq!(d.basic, Some(421));
        assert!(s(d.reply).starts_with("421-4.7.28 [198.51.100.23"));
        assert!(s(d.reply).ends_with("- gsmtp"));
    }

    #[test]
    fn last_line_code_wins_over_dsn_field() {
        let d = del(
            "smtp",
            "AB12C: to=<a@x.example>, relay=mx.x.example[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.7.26, status=deferred (host mx.x.example[192.0.2.1] said: 550-5.7.26 Unauthenticated 450 4.7.26 try later (in reply to end of DATA command))",
        );
        assert_eq!(d.dsn.unwrap().to_string(), "4.7.26");
        assert_eq!(d.basic, Some(450));
    }

    #[test]
    fn relay_none_connection_failures() {
        let d = del(
            "smtp",
            "B1A2C3D4E5: to=<x@slowcorp.example>, relay=none, delay=20, delays=0/0/20/0, dsn=4.4.1, status=deferred (connect to mx.slowcorp.example[127.0.0.60]:25: Connection timed out)",
        );
        assert_eq!(s(d.relay), "mx.slowcorp.example");
        assert_eq!(d.dsn.unwrap().to_string(), "4.4.1");
        assert_eq!(d.basic, None);
        assert_eq!(
            s(d.reply),
            "connect to mx.slowcorp.example[127.0.0.60]:25: Connection timed out"
        );
        let e = del(
            "error",
            "C2A3B4D5E6: to=<y@yahoo.com>, relay=none, delay=40, delays=40/0/0/0, dsn=4.7.0, status=deferred (delivery temporarily suspended: host mta5.am0.yahoodns.net[127.0.0.30] refused to talk to me: 421 4.7.0 [TSS04] Messages from 198.51.100.23 temporarily deferred)",
        );
        assert!(!e.attempted);
        assert_eq!(s(e.relay), "mta5.am0.yahoodns.net");
        assert_eq!(e.basic, Some(421));
        assert!(s(e.reply).starts_with("421 4.7.0 [TSS04]"));
        assert_eq!(d.status, Status::Deferred);
        let n = del(
            "smtp",
            "C3F4A5B6C7: to=<g@gmial.com>, relay=none, delay=0.01, delays=0/0/0/0, dsn=5.4.4, status=bounced (Host or domain name not found. Name service error for name=gmial.com type=A: Host not found)",
        );
        assert_eq!(s(n.relay), "");
        assert_eq!(n.status, Status::Bounced);
    }

    #[test]
    fn local_and_orig_to() {
        let d = del(
            "local",
            "C0D08B40F1: to=<root@acme-mailer.example>, orig_to=<abuse@acme-mailer.example>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)",
        );
        assert!(d.local);
        assert_eq!(s(d.orig_recipient), "abuse@acme-mailer.example");
        assert_eq!(s(d.reply), "delivered to mailbox");
        let l = del(
            "lmtp",
            "D1E2F3A4B5: to=<u@example.org>, relay=mail.example.org[private/dovecot-lmtp], delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 <u@example.org> Saved)",
        );
        assert!(l.local);
    }

    #[test]
    fn rare_forms() {
        let d = del(
            "smtp",
            "B465B110313B: to=<senderror@OURDOMAIN.com>, relay=aspmx.l.google.com[74.125.31.26]:25, delay=80212, delays=71229/8979/2.4/0.75, dsn=2.0.0, status=sent (250 2.0.0 OK 1418252401 tb3si8932467pab.14 - gsmtp),,,,,,,",
        );
        assert_eq!(
            s(d.reply),
            "250 2.0.0 OK 1418252401 tb3si8932467pab.14 - gsmtp"
        );
        let b = del(
            "smtp",
            "ABCDE: to=user@example.com, relay=none, delay=1, dsn=4.4.1, status=deferred (connect to x[1.2.3.4]:25: No route to host)",
        );
        assert_eq!(s(b.recipient), "user@example.com");
        let v6 = del(
            "smtp",
            "ABCDE: to=<u@x.example>, relay=mx.x.example[2001:db8::1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)",
        );
        assert_eq!(s(v6.relay), "mx.x.example");
        let sb = del(
            "smtp",
            "ABCDE: to=<u@x.example>, relay=none, delay=1, dsn=5.1.1, status=SOFTBOUNCE (unknown user)",
        );
        assert_eq!(sb.status, Status::Deferred);
        let v = del(
            "smtp",
            "3E29030F8637E: to=<user@yahoo.com>, relay=none, delay=0.01, delays=0.01/0/0/0, dsn=5.1.1, status=undeliverable-but-not-cached (User unknown in virtual alias table)",
        );
        assert_eq!(v.status, Status::Undeliverable);
    }

    #[test]
    fn qmgr_lines() {
        assert_eq!(
            parse(b"qmgr", b"9DF7FB422B: from=<alerts@acme-mailer.example>, status=expired, returned to sender"),
            Record::Expired {
                queue_id: b"9DF7FB422B",
                sender: b"alerts@acme-mailer.example"
            }
        );
        assert_eq!(
            parse(
                b"qmgr",
                b"C7EBEB41B4: from=<>, size=22082, nrcpt=1 (queue active)"
            ),
            Record::Queued(Queued {
                queue_id: b"C7EBEB41B4",
                sender: Some(b""),
                size: Some(22082),
                nrcpt: Some(1),
                ..Queued::default()
            })
        );
        assert_eq!(
            parse(b"qmgr", b"C7EBEB41B4: removed"),
            Record::Removed {
                queue_id: b"C7EBEB41B4"
            }
        );
    }

    #[test]
    fn sasl_failures_and_logins() {
        let fail = |service: &'static [u8], body: &'static [u8]| match parse(service, body) {
            Record::AuthFailure(f) => (f.client, f.user, f.reason, f.server_side()),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            fail(
                b"smtpd",
                b"warning: unknown[203.0.113.10]: SASL LOGIN authentication failed: (reason unavailable), sasl_username=postmaster@example.org"
            ),
            (
                &b"unknown[203.0.113.10]"[..],
                &b"postmaster@example.org"[..],
                &b"(reason unavailable)"[..],
                false
            )
        );
        assert_eq!(
            fail(
                b"smtpd",
                b"warning: ec2-3-84-57-208.compute-1.amazonaws.com[3.84.57.208]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"
            ),
            (
                &b"ec2-3-84-57-208.compute-1.amazonaws.com[3.84.57.208]"[..],
                &b""[..],
                &b"UGFzc3dvcmQ6"[..],
                false
            )
        );
        // The backend died: the server's fault, whoever the client is.
        assert!(
            fail(
                b"smtpd",
                b"warning: localhost[127.0.0.1]: SASL PLAIN authentication failed: Connection lost to authentication server"
            )
            .3
        );
        // Our own relay login failing (smtp, the client side) is no attack on us.
        assert!(matches!(
            parse(
                b"smtp",
                b"warning: SASL authentication failed; server example.com[10.0.0.1] said: 535 Error: authentication failed"
            ),
            Record::Notice(Level::Warning, _)
        ));
        assert!(matches!(
            parse(
                b"smtpd",
                b"warning: hostname x does not resolve to address 1.2.3.4"
            ),
            Record::Notice(Level::Warning, _)
        ));
        let login = |body: &'static [u8]| match parse(b"smtpd", body) {
            Record::Disconnect {
                client,
                authenticated,
            } => (client, authenticated),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            login(b"disconnect from unknown[192.0.2.9] ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6"),
            (&b"unknown[192.0.2.9]"[..], true)
        );
        assert!(
            !login(b"disconnect from unknown[192.0.2.9] ehlo=1 auth=0/1 quit=1 commands=2/3").1
        );
        assert!(login(b"disconnect from unknown[192.0.2.9] ehlo=1 auth=1/3 commands=2/4").1);
        assert!(!login(b"disconnect from unknown[192.0.2.9]").1);
    }

    #[test]
    fn arrival_lines() {
        let q = |service: &str, body: &'static str| match parse(
            Box::leak(service.to_string().into_boxed_str()).as_bytes(),
            body.as_bytes(),
        ) {
            Record::Queued(q) => q,
            other => panic!("{body}: {other:?}"),
        };
        let c = q("smtpd", "DAE08B40D4: client=localhost[127.0.0.1]");
        assert_eq!(
            (c.queue_id, c.client),
            (&b"DAE08B40D4"[..], &b"localhost[127.0.0.1]"[..])
        );
        assert!(!c.arrival);
        let c = q(
            "smtpd",
            "4Ps9Pb5Bb5z2Bm0: client=mail.x.example[192.0.2.1]:41234, sasl_method=PLAIN, sasl_username=u",
        );
        assert_eq!(c.client, b"mail.x.example[192.0.2.1]:41234");
        assert_eq!(c.sasl_user, b"u");
        let m = q("cleanup", "DAE08B40D4: message-id=<2026.1@shop.example>");
        assert_eq!(m.message_id, b"2026.1@shop.example");
        assert!(m.arrival);
        let p = q("pickup", "8B186B40F2: uid=0 from=<billing@saasly.example>");
        assert_eq!((p.sender, p.client), (None, &b"pickup"[..]));
        for other in [
            ("smtpd", "NOQUEUE: client=x[1.2.3.4]"),
            ("smtpd", "DAE08B40D4: lost connection"),
            ("cleanup", "DAE08B40D4: milter-something: END-OF-MESSAGE"),
        ] {
            let service = Box::leak(other.0.to_string().into_boxed_str());
            assert_eq!(
                parse(service.as_bytes(), other.1.as_bytes()),
                Record::MailOther,
                "{other:?}"
            );
        }
    }

    #[test]
    fn notices_and_postscreen_events() {
        assert_eq!(
            parse(b"pickup", b"warning: x: y"),
            Record::Notice(Level::Warning, b"x: y")
        );
        assert_eq!(
            parse(b"smtpd", b"fatal: no SASL authentication mechanisms"),
            Record::Notice(Level::Fatal, b"no SASL authentication mechanisms")
        );
        assert_eq!(
            parse(
                b"qmgr",
                b"panic: myfree: corrupt or unallocated memory block"
            ),
            Record::Notice(Level::Panic, b"myfree: corrupt or unallocated memory block")
        );
        assert_eq!(
            parse(
                b"master",
                b"daemon started -- version 3.7.11, configuration /etc/postfix"
            ),
            Record::Notice(
                Level::Master,
                b"daemon started -- version 3.7.11, configuration /etc/postfix"
            )
        );
        for (line, action) in [
            ("PASS NEW [192.0.2.1]:54321", "PASS NEW"),
            ("DNSBL rank 3 for [192.0.2.1]:54321", "DNSBL"),
            (
                "PREGREET 11 after 0.1 from [192.0.2.1]:54321: EHLO x\\r\\n",
                "PREGREET",
            ),
            (
                "COMMAND PIPELINING from [192.0.2.1]:54321 after DATA",
                "COMMAND PIPELINING",
            ),
            (
                "CONNECT from [192.0.2.1]:54321 to [192.0.2.2]:25",
                "CONNECT",
            ),
        ] {
            assert_eq!(
                parse(b"postscreen", line.as_bytes()),
                Record::Postscreen(action.as_bytes()),
                "{line}"
            );
        }
        // postscreen's refusals stay refusals.
        assert!(matches!(
            parse(b"postscreen", b"NOQUEUE: reject: RCPT from [192.0.2.1]:1: 550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org; from=<a@b>, to=<c@d>, proto=ESMTP, helo=<x>"),
            Record::Reject(_)
        ));
        // A queue id is never a level word.
        assert!(!matches!(
            parse(b"smtp", b"F00D1234AB: to=<a@b.example>, relay=none, delay=1, dsn=4.4.1, status=deferred (x)"),
            Record::Notice(..)
        ));
    }

    #[test]
    fn delays_split() {
        let d = del(
            "smtp",
            "ABCDE: to=<a@b.example>, relay=mx[1.2.3.4]:25, delay=80212, delays=71229/8979/2.4/0.75, dsn=2.0.0, status=sent (250 ok)",
        );
        assert_eq!(parse_delays(d.delays), Some([71229.0, 8979.0, 2.4, 0.75]));
        assert_eq!(parse_delays(b"0/0/0"), None);
        assert_eq!(parse_delays(b"0/0/0/1/2"), None);
        assert_eq!(parse_delays(b"0/x/0/1"), None);
    }

    #[test]
    fn malformed_status_lines_are_reported() {
        assert_eq!(
            parse(
                b"smtp",
                b"ABCDE: to=<a@b>, relay=none, dsn=2.0.0, status=failed (x)"
            ),
            Record::Unparsed(Unparsed::UnknownStatus)
        );
        assert_eq!(
            parse(b"smtp", b"ABCDE: to=<a@b>, relay=none, dsn=2.0.0"),
            Record::Unparsed(Unparsed::NoStatus)
        );
        assert_eq!(
            parse(b"smtp", b"ABCDE: to=<>, relay=none, status=sent (x)"),
            Record::Unparsed(Unparsed::NoRecipient)
        );
        assert_eq!(
            parse(b"smtpd", b"connect from unknown[1.2.3.4]"),
            Record::Connect(b"unknown[1.2.3.4]")
        );
        // sergeymakinen/postfix_exporter testdata: `to=` missing.
        assert_eq!(
            parse(b"smtp", b"123456789AB: user@example.com, relay=x[1.2.3.4]:25, dsn=1.2.3, status=deferred (x)"),
            Record::Unparsed(Unparsed::StatusLineShape)
        );
        assert_eq!(
            parse(
                b"smtpd",
                b"dict_proxy_open: connect to map=unix:passwd.byname status=0 server_flags=fixed"
            ),
            Record::MailOther
        );
    }

    #[test]
    fn delays() {
        assert_eq!(parse_delay(b"0.05"), Some(0.05));
        assert_eq!(parse_delay(b"12"), Some(12.0));
        assert_eq!(parse_delay(b"1234.5"), Some(1234.5));
        assert_eq!(parse_delay(b"3."), Some(3.0));
        for bad in [
            &b""[..],
            b".5",
            b"1.2.3",
            b"-1",
            b"1e3",
            b"12345678901",
            b"0.1234567",
        ] {
            assert_eq!(parse_delay(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn removed() {
        assert_eq!(
            parse(b"qmgr", b"9DF7FB422B: removed"),
            Record::Removed {
                queue_id: b"9DF7FB422B"
            }
        );
        assert_eq!(
            parse(b"qmgr", b"9DF7FB422B: removed twice"),
            Record::MailOther
        );
    }

    #[test]
    fn tls_lines_of_smtp_and_smtpd() {
        let t = |service: &'static [u8], body: &'static [u8]| match parse(service, body) {
            Record::Tls(t) => t,
            other => panic!("{other:?}"),
        };
        let out = t(
            b"smtp",
            b"Trusted TLS connection established to gmail-smtp-in.l.google.com[192.0.2.10]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519",
        );
        assert!(!out.inbound);
        assert_eq!(out.peer, b"gmail-smtp-in.l.google.com[192.0.2.10]:25");
        assert_eq!(out.tls.level, TlsLevel::Trusted);
        assert_eq!(out.tls.protocol, TlsProtocol::Tls13);
        let ipv6 = t(
            b"smtp",
            b"Verified TLS connection reused to mx.example[2001:db8::1]:25: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
        );
        assert_eq!(ipv6.peer, b"mx.example[2001:db8::1]:25");
        assert_eq!(ipv6.tls.level, TlsLevel::Verified);
        let inb = t(
            b"smtpd",
            b"Anonymous TLS connection established from unknown[198.51.100.9]: TLSv1 with cipher ECDHE-RSA-AES256-SHA (256/256 bits)",
        );
        assert!(inb.inbound);
        assert_eq!(inb.peer, b"unknown[198.51.100.9]");
        assert_eq!(inb.tls.level, TlsLevel::Anonymous);
        assert_eq!(inb.tls.protocol, TlsProtocol::Tls10);
        let old = t(
            b"smtp",
            b"Untrusted TLS connection established to mx.example[192.0.2.1]:25: SSLv3 with cipher RC4-SHA (128/128 bits)",
        );
        assert_eq!(old.tls.level, TlsLevel::Untrusted);
        assert!(old.tls.protocol.is_deprecated());
        // Not a summary line: the TLS library's chatter, a queue id line.
        for (service, body) in [
            (
                &b"smtp"[..],
                &b"SSL_connect error to mx.example[192.0.2.1]:25: -1"[..],
            ),
            (b"smtpd", b"Trusted TLS connection"),
            (b"smtp", b"Trusted TLS connection established to nowhere"),
            (
                b"smtp",
                b"setting up TLS connection to mx.example[192.0.2.1]:25",
            ),
        ] {
            assert!(!matches!(parse(service, body), Record::Tls(_)), "{body:?}");
        }
    }
}
