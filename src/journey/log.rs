//! Journey rows: one per message event, in log order, in plain column
//! `Vec`s. The merge joins them ([`super::join`]): every row with the
//! `--journeys` export, else only what a worker could not finish itself
//! ([`super::live`], whose folded rows stand for several). Rows name
//! strings by the batch's interned ids; a merge remaps the right batch's
//! ids and appends its rows after the left's, so row order stays log order
//! across chunks and files.

use crate::classify::provider::ProviderId;
use crate::event::Status;
use crate::intern::Ids;
use crate::intern::{NO_ID, remap};

/// What a row records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// The message entered the queue (Postfix cleanup `message-id=`, Exim `<=`).
    Arrive = 0,
    /// The client that handed it over (smtpd `client=`, pickup).
    Client = 1,
    /// qmgr `from=<…>, size=…, nrcpt=…` (again at every retry).
    Queued = 2,
    /// A delivery attempt for one recipient.
    Attempt = 3,
    /// qmgr gave up: recipients still deferred have expired.
    Expire = 4,
    /// The message left the queue: its journey is complete.
    Remove = 5,
    /// The message was handed to a content filter, which queued it again
    /// under another id (`queued as NEWID`): the new message's rows belong
    /// to this message's journey ([`MessageRow::child`]).
    Link = 6,
    /// Exim's `<=`: the message entered the queue, and the line names its
    /// sender. Always a new message (Exim does not reuse ids), unlike
    /// Postfix's cleanup `message-id=`, which continues its client's.
    Accept = 7,
}

impl Kind {
    /// The kind a table's byte holds (every byte written is a [`Kind`]).
    pub fn of(byte: u8) -> Kind {
        match byte {
            0 => Kind::Arrive,
            1 => Kind::Client,
            3 => Kind::Attempt,
            4 => Kind::Expire,
            5 => Kind::Remove,
            6 => Kind::Link,
            7 => Kind::Accept,
            _ => Kind::Queued,
        }
    }
}

/// Message-level rows: arrival, client, sender, expiry, removal.
#[derive(Clone, Debug, Default)]
pub struct MessageRows {
    /// Order of the row among all rows of both tables (log order).
    pub seq: Vec<u64>,
    /// Hash of host + queue id.
    pub msg: Vec<u64>,
    /// [`Kind`] as a byte.
    pub kind: Vec<u8>,
    /// UTC seconds.
    pub ts: Vec<i64>,
    /// Interned envelope sender address ([`NO_ID`] when the row has none).
    pub sender: Vec<u32>,
    /// Interned sender domain ([`NO_ID`] when the row has none).
    pub sender_domain: Vec<u32>,
    /// Message size in bytes (`u64::MAX` when not logged).
    pub size: Vec<u64>,
    /// Recipient count (`u32::MAX` when not logged).
    pub nrcpt: Vec<u32>,
    /// Interned client ([`NO_ID`] when none).
    pub client: Vec<u32>,
    /// [`Kind::Link`] rows: the re-injected message's key (0 otherwise).
    pub child: Vec<u64>,
    /// Queue id, Message-ID and host, kept only for the journeys export.
    pub text: Option<MessageText>,
}

/// Strings the journeys export shows and the statistics do not need.
#[derive(Clone, Debug, Default)]
pub struct MessageText {
    /// Queue id.
    pub queue_id: Vec<String>,
    /// The MTA host the line came from.
    pub host: Vec<String>,
    /// Message-ID (arrival rows; empty otherwise).
    pub message_id: Vec<String>,
}

/// Attempt rows: one per recipient per delivery attempt.
#[derive(Clone, Debug, Default)]
pub struct AttemptRows {
    /// Order among all rows (log order).
    pub seq: Vec<u64>,
    /// Hash of host + queue id.
    pub msg: Vec<u64>,
    /// UTC seconds.
    pub ts: Vec<i64>,
    /// Hash of the recipient address (the journey is per recipient).
    pub rcpt: Vec<u64>,
    /// Interned recipient address of deliveries, for the top-recipient
    /// tables ([`NO_ID`] for other attempts).
    pub rcpt_name: Vec<u32>,
    /// Provider id.
    pub provider: Vec<u16>,
    /// Interned recipient domain.
    pub domain: Vec<u32>,
    /// [`Status`] as a byte.
    pub status: Vec<u8>,
    /// Attempts the row stands for: 1, or 0 for deferrals logged without a
    /// try ("delivery temporarily suspended") and hand-offs; more for a row
    /// that folds a recipient's earlier rows ([`super::join::fold_open`]).
    pub tries: Vec<u32>,
    /// Deferrals the row stands for (1 for a deferral; folded rows: more).
    pub defers: Vec<u32>,
    /// Rows the row stands for (1; folded rows: more).
    pub rows: Vec<u32>,
    /// `Dsn::key()` or 0.
    pub dsn: Vec<u32>,
    /// Basic reply code or 0 (shown when there is no enhanced code).
    pub basic: Vec<u16>,
    /// Interned masked reason of failures ([`NO_ID`] for deliveries).
    pub reason: Vec<u32>,
    /// `delay=` in ms (`u32::MAX` when not logged).
    pub delay_ms: Vec<u32>,
    /// `delays=a/b/c/d` in ms (`u32::MAX` when not logged).
    pub split: [Vec<u32>; 4],
    /// Recipient address and relay, kept only for the journeys export.
    pub text: Option<AttemptText>,
}

/// Attempt strings for the journeys export (queue id and host too: a
/// message's own rows may be before the input's start).
#[derive(Clone, Debug, Default)]
pub struct AttemptText {
    /// Queue id.
    pub queue_id: Vec<String>,
    /// The MTA host.
    pub host: Vec<String>,
    /// Recipient address.
    pub recipient: Vec<String>,
    /// Relay host.
    pub relay: Vec<String>,
}

/// One attempt row, as the worker knows it.
#[derive(Clone, Copy, Debug)]
pub struct AttemptRow {
    /// Hash of host + queue id.
    pub msg: u64,
    /// UTC seconds.
    pub ts: i64,
    /// Recipient hash.
    pub rcpt: u64,
    /// Interned recipient address (deliveries) or [`NO_ID`].
    pub rcpt_name: u32,
    /// Provider.
    pub provider: ProviderId,
    /// Interned domain.
    pub domain: u32,
    /// Status.
    pub status: Status,
    /// Tried.
    pub attempted: bool,
    /// Code key.
    pub dsn: u32,
    /// Basic code.
    pub basic: u16,
    /// Masked reason id.
    pub reason: u32,
    /// Delay in ms.
    pub delay_ms: u32,
    /// Split in ms.
    pub split: [u32; 4],
}

/// One message row, as the worker knows it.
#[derive(Clone, Copy, Debug)]
pub struct MessageRow {
    /// Hash of host + queue id.
    pub msg: u64,
    /// What.
    pub kind: Kind,
    /// UTC seconds.
    pub ts: i64,
    /// Interned sender address or [`NO_ID`].
    pub sender: u32,
    /// Interned sender domain or [`NO_ID`].
    pub sender_domain: u32,
    /// Size or `u64::MAX`.
    pub size: u64,
    /// Recipients or `u32::MAX`.
    pub nrcpt: u32,
    /// Interned client or [`NO_ID`].
    pub client: u32,
    /// [`Kind::Link`]: the key of the message the filter queued (0 otherwise).
    pub child: u64,
}

impl MessageRow {
    /// A row with nothing but its kind and time.
    pub fn bare(msg: u64, kind: Kind, ts: i64) -> MessageRow {
        MessageRow {
            msg,
            kind,
            ts,
            sender: NO_ID,
            sender_domain: NO_ID,
            size: u64::MAX,
            nrcpt: u32::MAX,
            client: NO_ID,
            child: 0,
        }
    }
}

/// An attempt row as the tables hold it: one attempt, or a recipient's
/// attempts folded into the last that counts ([`StoredAttempt::add`]),
/// with how many rows, tries and deferrals it stands for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StoredAttempt {
    /// Log order.
    pub seq: u64,
    /// Hash of host + queue id.
    pub msg: u64,
    /// UTC seconds.
    pub ts: i64,
    /// Recipient hash.
    pub rcpt: u64,
    /// Interned delivered recipient address, or [`NO_ID`].
    pub rcpt_name: u32,
    /// Provider id.
    pub provider: u16,
    /// Interned recipient domain.
    pub domain: u32,
    /// [`Status`] as a byte.
    pub status: u8,
    /// Attempts it stands for.
    pub tries: u32,
    /// Deferrals it stands for.
    pub defers: u32,
    /// Rows it stands for.
    pub rows: u32,
    /// `Dsn::key()` or 0.
    pub dsn: u32,
    /// Basic reply code or 0.
    pub basic: u16,
    /// Interned masked reason or [`NO_ID`].
    pub reason: u32,
    /// `delay=` in ms (`u32::MAX`: not logged).
    pub delay_ms: u32,
    /// `delays=a/b/c/d` in ms (`u32::MAX`: not logged).
    pub split: [u32; 4],
}

impl StoredAttempt {
    /// Attempt `r`, the row numbered `seq`.
    pub fn of(seq: u64, r: &AttemptRow) -> StoredAttempt {
        StoredAttempt {
            seq,
            msg: r.msg,
            ts: r.ts,
            rcpt: r.rcpt,
            rcpt_name: r.rcpt_name,
            provider: r.provider,
            domain: r.domain,
            status: r.status as u8,
            tries: u32::from(r.attempted),
            defers: u32::from(r.status == Status::Deferred),
            rows: 1,
            dsn: r.dsn,
            basic: r.basic,
            reason: r.reason,
            delay_ms: r.delay_ms,
            split: r.split,
        }
    }

    /// Folds `next` (a later row of the same recipient) into this one:
    /// the counts add up, and `next` becomes the row unless
    /// [`replaces`] says the recipient's journey had ended before it.
    /// Returns whether it did.
    pub fn add(&mut self, next: &StoredAttempt) -> bool {
        let before = self.rows;
        // Saturating: one forged line repeated billions of times stays a
        // count, never a wrap or a panic.
        self.tries = self.tries.saturating_add(next.tries);
        self.defers = self.defers.saturating_add(next.defers);
        self.rows = self.rows.saturating_add(next.rows);
        if !replaces(before, self.status, self.provider, next) {
            return false;
        }
        let (tries, defers, rows) = (self.tries, self.defers, self.rows);
        let name = self.rcpt_name.min(next.rcpt_name);
        *self = StoredAttempt {
            tries,
            defers,
            rows,
            rcpt_name: if before == 0 { next.rcpt_name } else { name },
            ..*next
        };
        true
    }
}

/// Whether a recipient's row `next` becomes its last attempt, after `rows`
/// rows whose last had `status` at `provider`. A hand-off to a content
/// filter logged after the re-injected copy was delivered or bounced
/// (amavis answers once its re-injection is done) does not end the journey:
/// that delivery or bounce does.
fn replaces(rows: u32, status: u8, provider: u16, next: &StoredAttempt) -> bool {
    let sent = Status::Sent as u8;
    let ended = rows > 0
        && (status == Status::Bounced as u8
            || status == Status::Expired as u8
            || (status == sent && provider != crate::classify::provider::HANDOFF));
    !(ended && next.provider == crate::classify::provider::HANDOFF && next.status == sent)
}

/// A batch's journey rows.
#[derive(Clone, Debug, Default)]
pub struct JourneyLog {
    /// Message-level rows.
    pub messages: MessageRows,
    /// Attempt rows.
    pub attempts: AttemptRows,
    /// The next row's `seq`.
    pub next_seq: u64,
    /// Messages a worker joined and counted itself ([`super::live`]), by
    /// key and the `seq` their first row had: the merge's join needs
    /// only to know that they began there (an older message with the same
    /// queue id, still open, ended then), not their rows. In `seq` order.
    pub restarts: Vec<Restart>,
}

/// A message that began at `seq` and was joined by the worker that saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restart {
    /// Hash of host + queue id.
    pub msg: u64,
    /// Log order of its first row.
    pub seq: u64,
}

impl JourneyLog {
    /// Renames reason ids (`map[old] = new`) after the reason table shrank.
    pub fn remap_reasons(&mut self, map: &[u32]) {
        for r in &mut self.attempts.reason {
            *r = remap(map, *r);
        }
    }

    /// Renames recipient-domain ids after the domain table shrank.
    pub fn remap_domains(&mut self, map: &[u32]) {
        for d in &mut self.attempts.domain {
            *d = remap(map, *d);
        }
    }
}

impl JourneyLog {
    /// A log that also keeps the export's strings.
    pub fn with_text() -> JourneyLog {
        let mut log = JourneyLog::default();
        log.messages.text = Some(MessageText::default());
        log.attempts.text = Some(AttemptText::default());
        log
    }

    /// Makes room for `messages` more message rows and `attempts` more
    /// attempt rows.
    pub fn reserve(&mut self, messages: usize, attempts: usize) {
        let m = &mut self.messages;
        m.seq.reserve(messages);
        m.msg.reserve(messages);
        m.kind.reserve(messages);
        m.ts.reserve(messages);
        m.sender.reserve(messages);
        m.sender_domain.reserve(messages);
        m.size.reserve(messages);
        m.nrcpt.reserve(messages);
        m.client.reserve(messages);
        m.child.reserve(messages);
        let a = &mut self.attempts;
        a.seq.reserve(attempts);
        a.msg.reserve(attempts);
        a.ts.reserve(attempts);
        a.rcpt.reserve(attempts);
        a.rcpt_name.reserve(attempts);
        a.provider.reserve(attempts);
        a.domain.reserve(attempts);
        a.status.reserve(attempts);
        a.tries.reserve(attempts);
        a.defers.reserve(attempts);
        a.rows.reserve(attempts);
        a.dsn.reserve(attempts);
        a.basic.reserve(attempts);
        a.reason.reserve(attempts);
        a.delay_ms.reserve(attempts);
        for col in &mut a.split {
            col.reserve(attempts);
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.messages.seq.len() + self.attempts.seq.len()
    }

    /// True when no rows are held (restarts alone end nothing here).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a message row; `text` is (queue id, host, Message-ID).
    pub fn message(&mut self, r: MessageRow, text: impl FnOnce() -> (String, String, String)) {
        let m = &mut self.messages;
        m.push(self.next_seq, &r);
        self.next_seq += 1;
        if let Some(t) = &mut m.text {
            let (q, h, id) = text();
            t.queue_id.push(q);
            t.host.push(h);
            t.message_id.push(id);
        }
    }

    /// Appends an attempt row; `text` is (queue id, host, recipient, relay).
    pub fn attempt(
        &mut self,
        r: AttemptRow,
        text: impl FnOnce() -> (String, String, String, String),
    ) {
        let a = &mut self.attempts;
        a.push(&StoredAttempt::of(self.next_seq, &r));
        self.next_seq += 1;
        if let Some(t) = &mut a.text {
            let (q, h, rcpt, relay) = text();
            t.queue_id.push(q);
            t.host.push(h);
            t.recipient.push(rcpt);
            t.relay.push(relay);
        }
    }

    /// Appends `right`'s rows (which come after these in the log), with its
    /// interned ids remapped to this batch's.
    pub fn append(&mut self, right: JourneyLog, maps: &Ids) {
        let offset = self.next_seq;
        self.next_seq += right.next_seq;
        self.restarts.extend(right.restarts.iter().map(|r| Restart {
            msg: r.msg,
            seq: r.seq + offset,
        }));
        let (m, rm) = (&mut self.messages, right.messages);
        m.seq.extend(rm.seq.iter().map(|s| s + offset));
        m.msg.extend(rm.msg);
        m.kind.extend(rm.kind);
        m.ts.extend(rm.ts);
        m.sender
            .extend(rm.sender.iter().map(|&x| remap(&maps.addresses, x)));
        m.sender_domain
            .extend(rm.sender_domain.iter().map(|&x| remap(&maps.senders, x)));
        m.size.extend(rm.size);
        m.nrcpt.extend(rm.nrcpt);
        m.client
            .extend(rm.client.iter().map(|&x| remap(&maps.clients, x)));
        m.child.extend(rm.child);
        if let (Some(t), Some(rt)) = (&mut m.text, rm.text) {
            t.queue_id.extend(rt.queue_id);
            t.host.extend(rt.host);
            t.message_id.extend(rt.message_id);
        }
        let (a, ra) = (&mut self.attempts, right.attempts);
        a.seq.extend(ra.seq.iter().map(|s| s + offset));
        a.msg.extend(ra.msg);
        a.ts.extend(ra.ts);
        a.rcpt.extend(ra.rcpt);
        a.rcpt_name
            .extend(ra.rcpt_name.iter().map(|&x| remap(&maps.delivered_to, x)));
        a.provider.extend(ra.provider);
        a.domain
            .extend(ra.domain.iter().map(|&x| remap(&maps.domains, x)));
        a.status.extend(ra.status);
        a.tries.extend(ra.tries);
        a.defers.extend(ra.defers);
        a.rows.extend(ra.rows);
        a.dsn.extend(ra.dsn);
        a.basic.extend(ra.basic);
        a.reason
            .extend(ra.reason.iter().map(|&x| remap(&maps.reasons, x)));
        a.delay_ms.extend(ra.delay_ms);
        for (col, rc) in a.split.iter_mut().zip(ra.split) {
            col.extend(rc);
        }
        if let (Some(t), Some(rt)) = (&mut a.text, ra.text) {
            t.queue_id.extend(rt.queue_id);
            t.host.extend(rt.host);
            t.recipient.extend(rt.recipient);
            t.relay.extend(rt.relay);
        }
    }

    /// Moves the rows to the end of `messages` and `attempts`, leaving the
    /// log empty with its buffers (and `seq` counting on: rows kept open
    /// keep theirs), so the next rows need no fresh allocation.
    pub fn drain_into(&mut self, messages: &mut MessageRows, attempts: &mut AttemptRows) {
        messages.append(&mut self.messages);
        attempts.append(&mut self.attempts);
    }
}

/// The values of `v` at `keep` (ascending indices), for a new table.
fn gather<T: Copy>(v: &[T], keep: &[u32]) -> Vec<T> {
    keep.iter()
        .filter_map(|&i| v.get(i as usize).copied())
        .collect()
}

/// The strings of `v` at `keep`, moved out (the table is cleared after).
fn gather_text(v: &mut [String], keep: &[u32]) -> Vec<String> {
    keep.iter()
        .filter_map(|&i| v.get_mut(i as usize).map(std::mem::take))
        .collect()
}

impl MessageRows {
    /// Appends row `r`, numbered `seq`.
    pub fn push(&mut self, seq: u64, r: &MessageRow) {
        self.seq.push(seq);
        self.msg.push(r.msg);
        self.kind.push(r.kind as u8);
        self.ts.push(r.ts);
        self.sender.push(r.sender);
        self.sender_domain.push(r.sender_domain);
        self.size.push(r.size);
        self.nrcpt.push(r.nrcpt);
        self.client.push(r.client);
        self.child.push(r.child);
    }

    /// Row `i`.
    pub fn get(&self, i: usize) -> MessageRow {
        MessageRow {
            msg: self.msg[i],
            kind: Kind::of(self.kind[i]),
            ts: self.ts[i],
            sender: self.sender[i],
            sender_domain: self.sender_domain[i],
            size: self.size[i],
            nrcpt: self.nrcpt[i],
            client: self.client[i],
            child: self.child[i],
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.seq.len()
    }

    /// True when no rows are held.
    pub fn is_empty(&self) -> bool {
        self.seq.is_empty()
    }

    /// Moves `other`'s rows (already numbered and remapped) after these,
    /// leaving `other` empty with its buffers.
    pub fn append(&mut self, other: &mut MessageRows) {
        self.seq.append(&mut other.seq);
        self.msg.append(&mut other.msg);
        self.kind.append(&mut other.kind);
        self.ts.append(&mut other.ts);
        self.sender.append(&mut other.sender);
        self.sender_domain.append(&mut other.sender_domain);
        self.size.append(&mut other.size);
        self.nrcpt.append(&mut other.nrcpt);
        self.client.append(&mut other.client);
        self.child.append(&mut other.child);
        if let Some(o) = &mut other.text {
            let t = self.text.get_or_insert_with(MessageText::default);
            t.queue_id.append(&mut o.queue_id);
            t.host.append(&mut o.host);
            t.message_id.append(&mut o.message_id);
        }
    }

    /// The rows at `keep` (ascending), in a new table; their strings are
    /// moved out of this one, which the caller clears and reuses.
    pub fn take_rows(&mut self, keep: &[u32]) -> MessageRows {
        MessageRows {
            seq: gather(&self.seq, keep),
            msg: gather(&self.msg, keep),
            kind: gather(&self.kind, keep),
            ts: gather(&self.ts, keep),
            sender: gather(&self.sender, keep),
            sender_domain: gather(&self.sender_domain, keep),
            size: gather(&self.size, keep),
            nrcpt: gather(&self.nrcpt, keep),
            client: gather(&self.client, keep),
            child: gather(&self.child, keep),
            text: self.text.as_mut().map(|t| MessageText {
                queue_id: gather_text(&mut t.queue_id, keep),
                host: gather_text(&mut t.host, keep),
                message_id: gather_text(&mut t.message_id, keep),
            }),
        }
    }

    /// Empties the table, keeping its buffers.
    pub fn clear(&mut self) {
        self.seq.clear();
        self.msg.clear();
        self.kind.clear();
        self.ts.clear();
        self.sender.clear();
        self.sender_domain.clear();
        self.size.clear();
        self.nrcpt.clear();
        self.client.clear();
        self.child.clear();
        if let Some(t) = &mut self.text {
            t.queue_id.clear();
            t.host.clear();
            t.message_id.clear();
        }
    }
}

impl AttemptRows {
    /// Appends `a`.
    pub fn push(&mut self, a: &StoredAttempt) {
        self.seq.push(a.seq);
        self.msg.push(a.msg);
        self.ts.push(a.ts);
        self.rcpt.push(a.rcpt);
        self.rcpt_name.push(a.rcpt_name);
        self.provider.push(a.provider);
        self.domain.push(a.domain);
        self.status.push(a.status);
        self.tries.push(a.tries);
        self.defers.push(a.defers);
        self.rows.push(a.rows);
        self.dsn.push(a.dsn);
        self.basic.push(a.basic);
        self.reason.push(a.reason);
        self.delay_ms.push(a.delay_ms);
        for (col, v) in self.split.iter_mut().zip(a.split) {
            col.push(v);
        }
    }

    /// Row `i`.
    pub fn get(&self, i: usize) -> StoredAttempt {
        StoredAttempt {
            seq: self.seq[i],
            msg: self.msg[i],
            ts: self.ts[i],
            rcpt: self.rcpt[i],
            rcpt_name: self.rcpt_name[i],
            provider: self.provider[i],
            domain: self.domain[i],
            status: self.status[i],
            tries: self.tries[i],
            defers: self.defers[i],
            rows: self.rows[i],
            dsn: self.dsn[i],
            basic: self.basic[i],
            reason: self.reason[i],
            delay_ms: self.delay_ms[i],
            split: [
                self.split[0][i],
                self.split[1][i],
                self.split[2][i],
                self.split[3][i],
            ],
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.seq.len()
    }

    /// True when no rows are held.
    pub fn is_empty(&self) -> bool {
        self.seq.is_empty()
    }

    /// Moves `other`'s rows (already numbered and remapped) after these,
    /// leaving `other` empty with its buffers.
    pub fn append(&mut self, other: &mut AttemptRows) {
        self.seq.append(&mut other.seq);
        self.msg.append(&mut other.msg);
        self.ts.append(&mut other.ts);
        self.rcpt.append(&mut other.rcpt);
        self.rcpt_name.append(&mut other.rcpt_name);
        self.provider.append(&mut other.provider);
        self.domain.append(&mut other.domain);
        self.status.append(&mut other.status);
        self.tries.append(&mut other.tries);
        self.defers.append(&mut other.defers);
        self.rows.append(&mut other.rows);
        self.dsn.append(&mut other.dsn);
        self.basic.append(&mut other.basic);
        self.reason.append(&mut other.reason);
        self.delay_ms.append(&mut other.delay_ms);
        for (c, o) in self.split.iter_mut().zip(&mut other.split) {
            c.append(o);
        }
        if let Some(o) = &mut other.text {
            let t = self.text.get_or_insert_with(AttemptText::default);
            t.queue_id.append(&mut o.queue_id);
            t.host.append(&mut o.host);
            t.recipient.append(&mut o.recipient);
            t.relay.append(&mut o.relay);
        }
    }

    /// The rows at `keep` (ascending), in a new table; their strings are
    /// moved out of this one, which the caller clears and reuses.
    pub fn take_rows(&mut self, keep: &[u32]) -> AttemptRows {
        AttemptRows {
            seq: gather(&self.seq, keep),
            msg: gather(&self.msg, keep),
            ts: gather(&self.ts, keep),
            rcpt: gather(&self.rcpt, keep),
            rcpt_name: gather(&self.rcpt_name, keep),
            provider: gather(&self.provider, keep),
            domain: gather(&self.domain, keep),
            status: gather(&self.status, keep),
            tries: gather(&self.tries, keep),
            defers: gather(&self.defers, keep),
            rows: gather(&self.rows, keep),
            dsn: gather(&self.dsn, keep),
            basic: gather(&self.basic, keep),
            reason: gather(&self.reason, keep),
            delay_ms: gather(&self.delay_ms, keep),
            split: [
                gather(&self.split[0], keep),
                gather(&self.split[1], keep),
                gather(&self.split[2], keep),
                gather(&self.split[3], keep),
            ],
            text: self.text.as_mut().map(|t| AttemptText {
                queue_id: gather_text(&mut t.queue_id, keep),
                host: gather_text(&mut t.host, keep),
                recipient: gather_text(&mut t.recipient, keep),
                relay: gather_text(&mut t.relay, keep),
            }),
        }
    }

    /// Empties the table, keeping its buffers.
    pub fn clear(&mut self) {
        self.seq.clear();
        self.msg.clear();
        self.ts.clear();
        self.rcpt.clear();
        self.rcpt_name.clear();
        self.provider.clear();
        self.domain.clear();
        self.status.clear();
        self.tries.clear();
        self.defers.clear();
        self.rows.clear();
        self.dsn.clear();
        self.basic.clear();
        self.reason.clear();
        self.delay_ms.clear();
        for c in &mut self.split {
            c.clear();
        }
        if let Some(t) = &mut self.text {
            t.queue_id.clear();
            t.host.clear();
            t.recipient.clear();
            t.relay.clear();
        }
    }
}
