//! A traced message's journey, read from its own kept lines: arrival,
//! hand-offs to content filters and relays, every attempt with its relay,
//! code and masked reply, and each recipient's final disposition. Values
//! only: `render::trace` prints them, serde makes the JSON.

use super::query::Query;
use super::{Found, Message, Traced};
use crate::classify::Engine;
use crate::classify::provider::{domain_of, lowercase_into};
use crate::event::Status;
use crate::parse::header::parse_header;
use crate::parse::reply::requeued_id;
use crate::parse::timestamp::Clock;
use crate::parse::{Record, parse_body};
use crate::time::zone::Zone;
use serde::Serialize;

/// Everything `trace` prints.
#[derive(Debug, Serialize)]
pub struct TraceReport {
    /// What was looked for.
    pub query: String,
    /// How it was read (`queue id`, `address` …).
    pub kind: &'static str,
    /// Traces that matched in all.
    pub matched: u64,
    /// The traces shown (at most `--limit`).
    pub traces: Vec<TracedMessage>,
    /// Lines read.
    pub lines_read: u64,
    /// The zone times are written in.
    pub time_zone: String,
}

/// One message, followed through its queue ids.
#[derive(Debug, Serialize)]
pub struct TracedMessage {
    /// Its queue ids, in the order they appeared, with their hosts.
    pub queue_ids: Vec<QueueId>,
    /// The Message-ID header.
    pub message_id: Option<String>,
    /// The envelope sender (`<>` for a bounce).
    pub sender: Option<String>,
    /// The client that submitted it.
    pub client: Option<String>,
    /// The SASL user that submitted it.
    pub sasl_user: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// First line's time.
    pub first_seen: String,
    /// Last line's time.
    pub last_seen: String,
    /// What happened, in time order.
    pub events: Vec<Event>,
    /// Each recipient's final disposition.
    pub recipients: Vec<Recipient>,
    /// The log lines of the message, in time order (escaped when printed).
    pub lines: Vec<String>,
    /// Lines of the message seen but not kept (before it matched, or past
    /// the per-message bound).
    pub lines_not_kept: u64,
}

/// A queue id and the host that logged it.
#[derive(Debug, Serialize)]
pub struct QueueId {
    /// Syslog host (empty for Exim's own log).
    pub host: String,
    /// The id.
    pub id: String,
}

/// A step of the journey.
#[derive(Debug, Serialize)]
pub struct Event {
    /// When.
    pub time: String,
    /// `arrival`, `handoff`, `attempt`, `host error`, `expired`, `removed`.
    pub kind: &'static str,
    /// The queue id it was logged under.
    pub queue_id: String,
    /// Recipient, for attempts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// The recipient's provider, for attempts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Relay (`host[ip]:port`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay: Option<String>,
    /// Status (`sent`, `deferred`, `bounced` …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    /// Enhanced status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsn: Option<String>,
    /// The reply, masked (addresses, ids, numbers replaced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// The queue id a hand-off re-queued the message as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued_as: Option<String>,
}

/// Where a recipient's journey ended.
#[derive(Debug, Serialize)]
pub struct Recipient {
    /// The address.
    pub address: String,
    /// `delivered`, `bounced`, `expired`, `deferred (still queued)`,
    /// `handed off`.
    pub disposition: &'static str,
    /// Attempts, hand-offs included.
    pub attempts: u32,
    /// When it ended (or its last attempt).
    pub time: String,
    /// The last code.
    pub dsn: Option<String>,
    /// A delivery status notification (a bounce, `<>` sender) about the
    /// message, not the message itself.
    pub notification: bool,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The report of what the scan found.
pub(crate) fn report(query: &Query, found: &Found, engine: &Engine, zone: Zone) -> TraceReport {
    TraceReport {
        query: text(&query.needle),
        kind: query.kind.as_str(),
        matched: found.matched,
        traces: found
            .traces
            .iter()
            .map(|t| traced(t, engine, zone))
            .collect(),
        lines_read: found.lines,
        time_zone: zone.name(),
    }
}

fn traced(t: &Traced, engine: &Engine, zone: Zone) -> TracedMessage {
    // Every kept line of every message, in time order (input order among
    // equal times: rotated files are read oldest first).
    let mut lines: Vec<(i64, u64, &Message, &[u8])> = t
        .messages
        .iter()
        .flat_map(|m| m.lines().map(move |(ts, seq, l)| (ts, seq, m, l)))
        .collect();
    lines.sort_by_key(|(ts, seq, _, _)| (*ts, *seq));
    let mut out = TracedMessage {
        queue_ids: t
            .messages
            .iter()
            .map(|m| QueueId {
                host: text(&m.host),
                id: text(&m.queue_id),
            })
            .collect(),
        message_id: None,
        sender: None,
        client: None,
        sasl_user: None,
        size: None,
        first_seen: lines.first().map_or_else(String::new, |l| zone.format(l.0)),
        last_seen: lines.last().map_or_else(String::new, |l| zone.format(l.0)),
        events: Vec::new(),
        recipients: Vec::new(),
        lines: lines.iter().map(|l| text(l.3)).collect(),
        lines_not_kept: t.messages.iter().map(|m| m.not_kept).sum(),
    };
    let mut cache = engine.masker.cache();
    let (mut scratch, mut masked, mut domain) = (Vec::new(), Vec::new(), Vec::new());
    // The lines' own times are known: the clock only has to parse them.
    let clock = Clock::fixed(1970, Zone::UTC);
    // Queue ids whose envelope sender is `<>`: notifications.
    let notices: Vec<&[u8]> = lines
        .iter()
        .filter_map(|&(_, _, m, line)| {
            let h = parse_header(line, clock)?;
            match parse_body(&h) {
                Record::Queued(q) if q.sender == Some(b"") => Some(m.queue_id.as_slice()),
                _ => None,
            }
        })
        .collect();
    for &(ts, _, m, line) in &lines {
        let Some(h) = parse_header(line, clock) else {
            continue;
        };
        let time = zone.format(ts);
        let event = |kind: &'static str| Event {
            time: time.clone(),
            kind,
            queue_id: text(&m.queue_id),
            recipient: None,
            provider: None,
            relay: None,
            status: None,
            dsn: None,
            reply: None,
            queued_as: None,
        };
        match parse_body(&h) {
            Record::Queued(q) => {
                if !q.message_id.is_empty() && out.message_id.is_none() {
                    out.message_id = Some(text(q.message_id));
                }
                if let Some(s) = q.sender
                    && out.sender.is_none()
                    && !notices.contains(&m.queue_id.as_slice())
                {
                    out.sender = Some(if s.is_empty() { "<>".into() } else { text(s) });
                }
                if !q.client.is_empty() && out.client.is_none() {
                    out.client = Some(text(q.client));
                }
                if !q.sasl_user.is_empty() && out.sasl_user.is_none() {
                    out.sasl_user = Some(text(q.sasl_user));
                }
                if q.size.is_some() && out.size.is_none() {
                    out.size = q.size;
                }
                if q.arrival {
                    out.events.push(event("arrival"));
                }
            }
            Record::Delivery(d) | Record::HostError(d) => {
                lowercase_into(domain_of(d.recipient), &mut domain);
                let mut relay = Vec::new();
                lowercase_into(d.relay, &mut relay);
                let p = engine.providers.of_delivery(&d, &domain, &relay);
                let handoff =
                    requeued_id(d.reply).filter(|_| super::handed_off(&d, p, &engine.providers));
                let kind = match (handoff, d.recipient.is_empty()) {
                    (Some(_), _) => "handoff",
                    (None, true) => "host error",
                    (None, false) => "attempt",
                };
                let mut e = event(kind);
                if !d.reply.is_empty() {
                    engine
                        .masker
                        .mask(&mut cache, d.reply, &mut scratch, &mut masked);
                    e.reply = Some(text(&masked));
                }
                if !d.recipient.is_empty() {
                    e.provider = Some(engine.providers.info(p).id.clone());
                    e.recipient = Some(text(d.recipient));
                }
                e.relay = (!d.relay.is_empty()).then(|| text(d.relay));
                e.status = Some(d.status.as_str());
                e.dsn = d.dsn.map(|c| c.to_string());
                e.queued_as = handoff.map(text);
                if !d.recipient.is_empty() {
                    let notice = notices.contains(&m.queue_id.as_slice());
                    disposition(
                        &mut out.recipients,
                        d.recipient,
                        d.status,
                        &e,
                        handoff,
                        notice,
                    );
                }
                out.events.push(e);
            }
            Record::Expired { .. } => {
                out.events.push(event("expired"));
                for r in &mut out.recipients {
                    if r.disposition == DEFERRED {
                        r.disposition = "expired";
                        r.time = time.clone();
                    }
                }
            }
            Record::Removed { .. } => out.events.push(event("removed")),
            _ => {}
        }
    }
    out
}

const DEFERRED: &str = "deferred (still queued)";

/// Updates a recipient's disposition with an attempt.
fn disposition(
    recipients: &mut Vec<Recipient>,
    address: &[u8],
    status: Status,
    e: &Event,
    handoff: Option<&[u8]>,
    notification: bool,
) {
    let address = text(address);
    let i = match recipients
        .iter()
        .position(|r| r.notification == notification && r.address.eq_ignore_ascii_case(&address))
    {
        Some(i) => i,
        None => {
            recipients.push(Recipient {
                address,
                disposition: DEFERRED,
                attempts: 0,
                time: String::new(),
                dsn: None,
                notification,
            });
            recipients.len() - 1
        }
    };
    let r = &mut recipients[i];
    r.attempts += 1;
    r.time = e.time.clone();
    r.dsn = e.dsn.clone();
    // A hand-off is not the end: the re-queued copy's attempts are.
    let final_already = matches!(r.disposition, "delivered" | "bounced" | "expired");
    r.disposition = match (handoff, status) {
        (Some(_), _) if final_already => r.disposition,
        (Some(_), _) => "handed off",
        (None, Status::Sent | Status::Deliverable) => "delivered",
        (None, Status::Bounced | Status::Undeliverable) => "bounced",
        (None, Status::Expired) => "expired",
        (None, Status::Deferred) => DEFERRED,
    };
}
