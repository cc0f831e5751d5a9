//! Where attempt rows leave the engine: a buffer per batch and the trait an
//! export implements to take them (`export::events::EventSink`). Data flows
//! one way — scan → aggregate → export — so the engine defines the trait
//! and never imports the export.

use super::batch::{Attempt, QueueId};
use crate::classify::category::{Blocklist, Category};
use crate::classify::provider::ProviderId;
use crate::event::{Status, Tls};
use crate::intern::Interner;
use std::sync::Arc;

/// Rows a batch holds before it writes them out.
pub const FLUSH_ROWS: usize = 1 << 18;

/// Takes a batch's attempt rows (`--events`).
pub trait EventWriter: Send + Sync + std::fmt::Debug {
    /// Writes the buffer's rows, whose ids name strings in `names`.
    fn write(&self, rows: &EventBuffer, names: &EventNames<'_>);
}

/// One batch's rows, as interned ids of that batch (resolved when written).
/// (Clone because batches are; a clone would write its rows again.)
#[derive(Clone, Debug)]
pub struct EventBuffer {
    sink: Arc<dyn EventWriter>,
    /// A column of the rows held.
    pub ts: Vec<i64>,
    /// A column of the rows held.
    pub host: Vec<u32>,
    /// A column of the rows held.
    pub queue_id: Vec<QueueId>,
    /// A column of the rows held.
    pub sender: Vec<u32>,
    /// A column of the rows held.
    pub domain: Vec<u32>,
    /// A column of the rows held.
    pub provider: Vec<ProviderId>,
    /// A column of the rows held.
    pub relay: Vec<u32>,
    /// A column of the rows held.
    pub status: Vec<Status>,
    /// A column of the rows held.
    pub dsn: Vec<u32>,
    /// A column of the rows held.
    pub class: Vec<u8>,
    /// A column of the rows held.
    pub delay_ms: Vec<u32>,
    /// A column of the rows held.
    pub reason: Vec<Option<u32>>,
    /// A column of the rows held: who handed the message over.
    pub origin: Vec<u32>,
    /// A column of the rows held: how the connection was protected.
    pub tls: Vec<Option<Tls>>,
    /// A column of the rows held.
    pub category: Vec<Category>,
    /// A column of the rows held.
    pub blocklist: Vec<Blocklist>,
    /// A column of the rows held.
    pub attempted: Vec<bool>,
    /// A column of the rows held: [`Attempt::recipient`].
    pub recipient_key: Vec<u64>,
    /// A column of the rows held: the failed recipient's address, as a
    /// range of [`EventBuffer::recipient_bytes`] (empty: none).
    pub recipient: Vec<(u32, u32)>,
    /// The bytes of [`EventBuffer::recipient`].
    pub recipient_bytes: Vec<u8>,
}

/// The interners a buffer's ids refer to.
pub struct EventNames<'a> {
    /// Syslog hosts.
    pub hosts: &'a Interner,
    /// Sender domains.
    pub senders: &'a Interner,
    /// Recipient domains.
    pub domains: &'a Interner,
    /// Relay hosts.
    pub relays: &'a Interner,
    /// Masked reasons.
    pub reasons: &'a Interner,
    /// Origins: client NUL SASL user.
    pub origins: &'a Interner,
}

impl EventBuffer {
    /// An empty buffer writing to `sink`.
    pub fn new(sink: Arc<dyn EventWriter>) -> EventBuffer {
        EventBuffer {
            sink,
            ts: Vec::new(),
            host: Vec::new(),
            queue_id: Vec::new(),
            sender: Vec::new(),
            domain: Vec::new(),
            provider: Vec::new(),
            relay: Vec::new(),
            status: Vec::new(),
            dsn: Vec::new(),
            class: Vec::new(),
            delay_ms: Vec::new(),
            reason: Vec::new(),
            origin: Vec::new(),
            tls: Vec::new(),
            category: Vec::new(),
            blocklist: Vec::new(),
            attempted: Vec::new(),
            recipient_key: Vec::new(),
            recipient: Vec::new(),
            recipient_bytes: Vec::new(),
        }
    }

    /// The sink this buffer writes to.
    pub fn sink(&self) -> Arc<dyn EventWriter> {
        self.sink.clone()
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// True when no rows are held.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Adds one attempt (its sender and origin already joined); `recipient`
    /// is kept for failures (the findings name failed recipients).
    #[inline]
    pub fn push(&mut self, a: &Attempt, sender: u32, origin: u32, recipient: &[u8]) {
        self.category.push(a.category);
        self.blocklist.push(a.blocklist);
        self.attempted.push(a.attempted);
        self.recipient_key.push(a.recipient);
        let at = self.recipient_bytes.len() as u32;
        if a.status != Status::Sent && recipient.len() <= 1024 {
            self.recipient_bytes.extend_from_slice(recipient);
        }
        self.recipient
            .push((at, self.recipient_bytes.len() as u32 - at));
        self.origin.push(origin);
        self.ts.push(a.ts);
        self.host.push(a.host);
        self.queue_id.push(a.queue_id);
        self.sender.push(sender);
        self.domain.push(a.domain);
        self.provider.push(a.provider);
        self.relay.push(a.relay);
        self.status.push(a.status);
        self.dsn.push(a.dsn);
        self.class.push(a.class);
        self.delay_ms.push(a.delay_ms);
        self.reason.push(a.reason);
        self.tls.push(a.tls);
    }

    /// Hands the rows held to the sink and empties the buffer.
    pub fn flush(&mut self, names: &EventNames<'_>) {
        if self.is_empty() {
            return;
        }
        let sink = self.sink.clone();
        sink.write(self, names);
        for v in [
            &mut self.host,
            &mut self.sender,
            &mut self.domain,
            &mut self.relay,
            &mut self.origin,
        ] {
            v.clear();
        }
        self.ts.clear();
        self.queue_id.clear();
        self.provider.clear();
        self.status.clear();
        self.dsn.clear();
        self.class.clear();
        self.delay_ms.clear();
        self.reason.clear();
        self.tls.clear();
        self.category.clear();
        self.blocklist.clear();
        self.attempted.clear();
        self.recipient_key.clear();
        self.recipient.clear();
        self.recipient_bytes.clear();
    }

    /// Row `i`'s failed recipient, empty when none was kept.
    pub fn recipient_of(&self, i: usize) -> &[u8] {
        let (at, len) = self.recipient[i];
        self.recipient_bytes
            .get(at as usize..(at + len) as usize)
            .unwrap_or_default()
    }
}
