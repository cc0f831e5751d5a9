//! The journey join: message rows and attempt rows (log order, see
//! [`super::log`]) become one row per recipient per message.
//!
//! A Postfix queue id is reused once its message is removed, so a queue id
//! alone does not name a message. Rows are ordered by (queue id, log order)
//! and cut into messages where one starts: at its client (smtpd `client=`,
//! pickup), at an arrival not preceded by its client or another arrival
//! (bounces, Exim `<=`),
//! and after a removal (a message abandoned before it was queued, "lost
//! connection after DATA", is never removed). A message is complete once
//! it holds its removal, or another message took its queue id; complete
//! messages are aggregated and joined here, the others stay open for rows
//! still to come (the next chunk or file). At the end of the input every
//! message is complete.
//!
//! The aggregation is a plain pass over the rows with two hash tables (one
//! per message, one per recipient of a message), not a dataframe group-by:
//! it runs on the merging thread, whose pace the whole run follows, and a
//! polars group-by and join here spent a third of the run's cycles having
//! the kernel zero freshly allocated pages.

use super::log::{AttemptRows, Kind, MessageRow, MessageRows, Restart, StoredAttempt};
use crate::intern::NO_ID;

/// Rows of one [`close`] call (its complete journeys are in
/// [`Scratch::rows`]: one row per recipient of each complete message; a
/// message without any attempt has one row without recipient fields).
pub struct Closed {
    /// Message rows of messages still open.
    pub open_messages: MessageRows,
    /// Attempt rows of messages still open.
    pub open_attempts: AttemptRows,
}

/// Which messages a [`close`] may complete. Every row before these is in
/// the running total (or was joined), so a message is complete once it left
/// the queue; with `everything` (the input ended) every message is, and so
/// is one whose newest row is older than `stale_before` (UTC seconds).
///
/// A message from a client a content filter re-injects from (the interned
/// id given to `reinjected`) is complete only once quiet since
/// `quiet_before` too: the filter's reply naming it (`250 … queued as`) may
/// come after its delivery and removal, and would then find it joined
/// already, as a message of its own.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// The input has ended.
    pub everything: bool,
    /// Messages quiet since before this are complete.
    pub stale_before: i64,
    /// Re-injected messages quiet since before this are complete.
    pub quiet_before: i64,
    /// Whether an interned client is one a content filter re-injects from.
    pub reinjected: &'a dyn Fn(u32) -> bool,
}

impl std::fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Scope {
            everything,
            stale_before,
            quiet_before,
            ..
        } = self;
        write!(f, "Scope({everything}, {stale_before}, {quiet_before})")
    }
}

/// What a complete message's rows say, per recipient. `None`: not logged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Joined {
    /// The message's number in this [`close`] call.
    pub grp: u32,
    /// Left the queue (removed, or its queue id taken by another message).
    pub removed: bool,
    /// First message row's time.
    pub first_seen: Option<i64>,
    /// Arrival time (cleanup `message-id=`, Exim `<=`).
    pub arrived: Option<i64>,
    /// Interned sender address.
    pub sender: Option<u32>,
    /// Interned sender domain.
    pub sender_domain: Option<u32>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Recipients, as qmgr logged.
    pub nrcpt: Option<u32>,
    /// Interned client.
    pub client: Option<u32>,
    /// The qmgr expiry's time and row number.
    pub expired_at: Option<i64>,
    /// Row number of the expiry (log order).
    pub expire_seq: Option<u64>,
    /// A content filter queued it again: the journey spans two queue files.
    pub stitched: bool,
    /// The recipient's part, when it had an attempt.
    pub recipient: Option<RecipientPart>,
    /// Strings for the export.
    pub text: Option<Box<JoinedText>>,
}

/// One recipient's attempts, aggregated.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecipientPart {
    /// Attempts made (deferrals logged without a try and hand-offs are not).
    pub attempts: u32,
    /// Deferrals.
    pub deferrals: u32,
    /// The last attempt's time.
    pub final_ts: i64,
    /// The last attempt's row number.
    pub final_seq: u64,
    /// The last attempt's status (a [`Status`](crate::event::Status) byte).
    pub status: u8,
    /// The last attempt's provider.
    pub provider: u16,
    /// The last attempt's interned recipient domain.
    pub domain: u32,
    /// Interned address of a delivered recipient.
    pub rcpt_name: Option<u32>,
    /// The last attempt's interned masked reason.
    pub reason: Option<u32>,
    /// The last attempt's `delay=` in ms.
    pub delay_ms: Option<u32>,
    /// The last attempt's `delays=a/b/c/d` in ms.
    pub split: [Option<u32>; 4],
    /// Rows aggregated (attempts, deferrals and hand-offs).
    pub rows: u32,
}

/// Folds the rows of messages still open (a message deferred for days has
/// a qmgr line and an attempt per retry, and each join would cut them all
/// again): each recipient's attempts become one row that counts them, at
/// its last attempt's place, and a message's repeated qmgr lines keep only
/// their first and last. [`close`] then joins them as it would have joined
/// the rows they stand for. Not with the export's strings (its rows list
/// every attempt's code).
pub fn fold_open(
    x: &mut Scratch,
    m: &mut MessageRows,
    a: &mut AttemptRows,
    reinjected: &dyn Fn(u32) -> bool,
) {
    if m.text.is_some() || a.text.is_some() || m.len() + a.len() == 0 {
        return;
    }
    // The messages are cut as the join cuts them (which clients are a
    // filter's re-injection decides which messages a hand-off stitches).
    let scope = Scope {
        everything: false,
        stale_before: i64::MIN,
        quiet_before: i64::MIN,
        reinjected,
    };
    cut(x, m, a, &[], scope);
    let m_rows = m.len();
    let grp = &x.grp;

    // Attempts: one row per (message, recipient), its rows folded as a
    // worker folds them ([`StoredAttempt::add`]).
    let index = &mut x.index;
    index.clear();
    let folded = &mut x.folded;
    folded.clear();
    for i in 0..a.len() {
        let row = a.get(i);
        match index.entry((grp[m_rows + i], row.rcpt)) {
            hashbrown::hash_map::Entry::Occupied(at) => {
                folded[*at.get()].add(&row);
            }
            hashbrown::hash_map::Entry::Vacant(at) => {
                at.insert(folded.len());
                folded.push(row);
            }
        }
    }
    if folded.len() < a.len() {
        // Each recipient's row at its last attempt's place (table order is
        // log order).
        folded.sort_unstable_by_key(|f| f.seq);
        a.clear();
        for f in folded.iter() {
            a.push(f);
        }
    }

    // Message rows: a message's qmgr lines after its first fold into it
    // (the join keeps the least of each field), but for the last, whose
    // time says how recent the message is.
    let queued = Kind::Queued as u8;
    let mut first: hashbrown::HashMap<u32, usize, crate::hashing::Seeded> =
        hashbrown::HashMap::default();
    let mut last: hashbrown::HashMap<u32, usize, crate::hashing::Seeded> =
        hashbrown::HashMap::default();
    for (i, &g) in grp.iter().enumerate().take(m_rows) {
        if m.kind[i] == queued {
            first.entry(g).or_insert(i);
            last.insert(g, i);
        }
    }
    let mut keep = vec![true; m_rows];
    for i in 0..m_rows {
        let g = grp[i];
        if m.kind[i] != queued || first.get(&g) == Some(&i) || last.get(&g) == Some(&i) {
            continue;
        }
        keep[i] = false;
        if let Some(&f) = first.get(&g) {
            m.sender[f] = m.sender[f].min(m.sender[i]);
            m.sender_domain[f] = m.sender_domain[f].min(m.sender_domain[i]);
            m.size[f] = m.size[f].min(m.size[i]);
            m.nrcpt[f] = m.nrcpt[f].min(m.nrcpt[i]);
            m.client[f] = m.client[f].min(m.client[i]);
        }
    }
    if keep.iter().all(|&k| k) {
        return;
    }
    let rows: Vec<u32> = (0..m_rows as u32).filter(|&i| keep[i as usize]).collect();
    *m = m.take_rows(&rows);
}

/// Export strings of a joined row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JoinedText {
    /// Queue id (the message's, else the attempts').
    pub queue_id: Option<String>,
    /// MTA host (the message's, else the attempts').
    pub host: Option<String>,
    /// Message-ID.
    pub message_id: Option<String>,
    /// Recipient address as logged (last attempt).
    pub recipient: Option<String>,
    /// Relay of the last attempt.
    pub relay: Option<String>,
    /// Every attempt's (code key, basic code), in order.
    pub codes: Vec<(u32, u16)>,
}

/// The join's working tables, kept from one [`close`] to the next (cleared,
/// not freed): a join runs every few hundred thousand rows, and tables
/// allocated afresh each time had the kernel zero their pages again.
#[derive(Default)]
pub struct Scratch {
    /// Row indices of both tables in log order.
    order: Vec<u32>,
    /// Per row of both tables (messages first, then attempts): its message
    /// number, whether that message is complete, and whether it was removed.
    grp: Vec<u32>,
    done: Vec<bool>,
    removed: Vec<bool>,
    groups: Vec<Group>,
    /// Queue id → its message's group, last row kind, and whether it is
    /// plain (see [`cut`]).
    current: hashbrown::HashMap<u64, (u32, u8, bool), crate::hashing::Seeded>,
    links: hashbrown::HashMap<u64, u32, crate::hashing::Seeded>,
    parts: Vec<Option<MessagePart>>,
    has_recipient: Vec<bool>,
    index: hashbrown::HashMap<(u32, u64), usize, crate::hashing::Seeded>,
    /// Per recipient of a message: its attempts folded into one row.
    folded: Vec<StoredAttempt>,
    /// The complete journeys of the last [`close`].
    pub rows: Vec<Joined>,
    /// Per message of the last [`close`] (by `grp`): counted already.
    pub counted: Vec<bool>,
    /// Indices of open rows.
    keep: Vec<u32>,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch")
            .field("rows", &self.rows.len())
            .finish()
    }
}

impl Clone for Scratch {
    /// Working tables are not state: a clone starts empty.
    fn clone(&self) -> Scratch {
        Scratch::default()
    }
}

/// One journey group while cutting.
struct Group {
    /// Messages in it: the first, and each one a content filter queued
    /// again for it (stitched by a [`Kind::Link`] row).
    members: u32,
    /// Removals seen: complete when every member left the queue.
    /// (A member whose queue id another message took without its removal
    /// logged counts as removed: one member, not the whole group, which may
    /// still wait for a filter's copy.)
    removals: u32,
    /// Newest row time.
    newest: i64,
    /// The group it was merged into (itself while it stands alone): a
    /// re-injected message logged before the hand-off that names it.
    into: u32,
    /// Log order of its first row.
    start: u64,
    /// It began at a client a content filter re-injects from.
    reinjection: bool,
}

/// The group `g` stands in now.
fn root(groups: &[Group], mut g: u32) -> u32 {
    while groups[g as usize].into != g {
        g = groups[g as usize].into;
    }
    g
}

/// Cuts the rows into messages: one pass in log order, remembering per
/// queue id only its current message and the kind of its last row. A
/// message a content filter queued again (its key named by a link row of
/// the message handed over) joins the group of the message it came from.
///
/// A message is *plain* when its first row is its client (smtpd `client=`,
/// pickup, Exim `<=`) and that client is not one a content filter
/// re-injects from: it is never a filter's re-injected copy, so no hand-off
/// (`queued as`) stitches it to another message, whichever comes first and
/// however the input is split into runs.
fn cut(x: &mut Scratch, m: &MessageRows, a: &AttemptRows, restarts: &[Restart], scope: Scope<'_>) {
    let (split_at, n) = (m.len(), m.len() + a.len());
    let total = n + restarts.len();
    // Row `i` of both tables: messages first, then attempts.
    let msg = |i: usize| {
        if i < split_at {
            m.msg[i]
        } else {
            a.msg[i - split_at]
        }
    };
    // Restarts come after both tables (index `n` on).
    let seq = |i: usize| {
        if i < split_at {
            m.seq[i]
        } else if i < n {
            a.seq[i - split_at]
        } else {
            restarts[i - n].seq
        }
    };
    let ts = |i: usize| {
        if i < split_at {
            m.ts[i]
        } else {
            a.ts[i - split_at]
        }
    };
    let kind = |i: usize| {
        if i < split_at {
            m.kind[i]
        } else {
            Kind::Attempt as u8
        }
    };
    let child = |i: usize| if i < split_at { m.child[i] } else { 0 };
    // Log order over both tables and the restarts: each is in order
    // already, so the runs are merged rather than sorted.
    let (mut i, mut j, mut r) = (0, split_at, n);
    let order = &mut x.order;
    order.clear();
    order.reserve(total);
    let at = |k: usize, end: usize| if k < end { seq(k) } else { u64::MAX };
    while i < split_at || j < n || r < total {
        let (si, sj, sr) = (at(i, split_at), at(j, n), at(r, total));
        if i < split_at && si <= sj && si <= sr {
            order.push(i as u32);
            i += 1;
        } else if j < n && sj <= sr {
            order.push(j as u32);
            j += 1;
        } else {
            order.push(r as u32);
            r += 1;
        }
    }
    let grp = &mut x.grp;
    grp.clear();
    grp.resize(n, 0);
    let groups = &mut x.groups;
    groups.clear();
    let current = &mut x.current;
    current.clear();
    // Re-injected messages not yet seen → the group they continue.
    let links = &mut x.links;
    links.clear();
    let (client, arrive, accept, remove, link) = (
        Kind::Client as u8,
        Kind::Arrive as u8,
        Kind::Accept as u8,
        Kind::Remove as u8,
        Kind::Link as u8,
    );
    let reinjected = scope.reinjected;
    for &i in order.iter() {
        let i = i as usize;
        if i >= n {
            // A message a worker completed began here: the older one with
            // its queue id, if still queued, left.
            if let Some((g, p, _)) = current.remove(&restarts[i - n].msg)
                && p != remove
            {
                let r = root(groups, g);
                groups[r as usize].removals += 1;
            }
            continue;
        }
        let (k, key) = (kind(i), msg(i));
        let (g, plain) = match current.get(&key).copied() {
            // A second Message-ID of the same message (cleanup logs each
            // Message-ID header) does not start another.
            Some((g, p, plain))
                if !(k == client
                    || k == accept
                    || (k == arrive && p != client && p != arrive && p != accept)
                    || p == remove) =>
            {
                (root(groups, g), plain)
            }
            before => {
                // Another message took the id: the one it named left.
                if let Some((g, p, _)) = before
                    && p != remove
                {
                    let r = root(groups, g);
                    groups[r as usize].removals += 1;
                }
                let opens = k == client || k == accept;
                let reinjection = opens && reinjected(m.client[i]);
                let plain = opens && !reinjection;
                // A plain message is never a content filter's copy.
                let linked = if plain { None } else { links.remove(&key) };
                let g = match linked {
                    Some(g) => root(groups, g),
                    None => {
                        let id = groups.len() as u32;
                        groups.push(Group {
                            members: 1,
                            removals: 0,
                            newest: i64::MIN,
                            into: id,
                            start: seq(i),
                            reinjection,
                        });
                        id
                    }
                };
                (g, plain)
            }
        };
        current.insert(key, (g, k, plain));
        grp[i] = g;
        if k == remove {
            groups[g as usize].removals += 1;
        }
        let next = child(i);
        if k == link && next != 0 && next != key {
            match current.get(&next).copied() {
                // Its own message: nothing to stitch.
                Some((b, _, _)) if root(groups, b) == g => {}
                // The filter queued it again and its lines came before the
                // hand-off's reply (amavis re-injects, and the message may be
                // delivered and removed, before it answers): the two groups
                // become one. A message that began before this one is an
                // older one that had the same queue id.
                Some((b, _, false))
                    if groups[root(groups, b) as usize].start > groups[g as usize].start =>
                {
                    let b = root(groups, b);
                    let moved = std::mem::replace(
                        &mut groups[b as usize],
                        Group {
                            members: 0,
                            removals: 0,
                            newest: i64::MIN,
                            into: g,
                            start: u64::MAX,
                            reinjection: false,
                        },
                    );
                    let entry = &mut groups[g as usize];
                    entry.members += moved.members;
                    entry.removals += moved.removals;
                    entry.newest = entry.newest.max(moved.newest);
                }
                // An older copy still in the queue under that id: the id
                // cannot name a new one yet.
                Some((_, p, false)) if p != remove => {}
                // Not seen yet, an older message that has left the queue
                // (Postfix and Exim reuse ids), or a plain one (received
                // from a client, never a filter's copy): the next
                // re-injected message with that id continues this one.
                _ if !links.contains_key(&next) => {
                    groups[g as usize].members += 1;
                    links.insert(next, g);
                }
                _ => {}
            }
        }
        let entry = &mut groups[g as usize];
        entry.newest = entry.newest.max(ts(i));
    }
    // Rows of a group merged into another belong to that one.
    for g in grp.iter_mut() {
        *g = root(groups, *g);
    }
    let gone = |g: &Group| g.removals >= g.members;
    let complete = |g: &Group| {
        (gone(g) && (!g.reinjection || g.newest < scope.quiet_before))
            || scope.everything
            || g.newest < scope.stale_before
    };
    x.done.clear();
    x.removed.clear();
    for &g in grp.iter() {
        let group = &groups[g as usize];
        x.done.push(complete(group));
        x.removed.push(gone(group));
    }
}

/// A message's rows, aggregated (sentinels still in: `u32::MAX`, [`NO_ID`],
/// `u64::MAX` are "none" and lose every `min`).
pub(crate) struct MessagePart {
    removed: bool,
    first_seen: i64,
    arrived: Option<i64>,
    sender: u32,
    sender_domain: u32,
    size: u64,
    nrcpt: u32,
    client: u32,
    expired_at: Option<i64>,
    expire_seq: Option<u64>,
    stitched: bool,
    queue_id: Option<String>,
    host: Option<String>,
    message_id: Option<String>,
}

impl MessagePart {
    /// A message whose first row was logged at `ts`; `removed`: it left
    /// the queue.
    pub(crate) fn new(removed: bool, ts: i64) -> MessagePart {
        MessagePart {
            removed,
            first_seen: ts,
            arrived: None,
            sender: NO_ID,
            sender_domain: NO_ID,
            size: u64::MAX,
            nrcpt: u32::MAX,
            client: NO_ID,
            expired_at: None,
            expire_seq: None,
            stitched: false,
            queue_id: None,
            host: None,
            message_id: None,
        }
    }

    /// Adds one of the message's rows (`kind` as a byte, numbered `seq`).
    pub(crate) fn add(&mut self, seq: u64, kind: u8, r: &MessageRow) {
        let t = r.ts;
        self.first_seen = self.first_seen.min(t);
        if kind == Kind::Arrive as u8 || kind == Kind::Accept as u8 {
            self.arrived = Some(self.arrived.map_or(t, |a| a.min(t)));
        }
        if kind == Kind::Expire as u8 {
            self.expired_at = Some(self.expired_at.map_or(t, |a| a.max(t)));
            self.expire_seq = Some(self.expire_seq.map_or(seq, |a| a.max(seq)));
        }
        self.sender = self.sender.min(r.sender);
        self.sender_domain = self.sender_domain.min(r.sender_domain);
        self.size = self.size.min(r.size);
        self.nrcpt = self.nrcpt.min(r.nrcpt);
        self.client = self.client.min(r.client);
        self.stitched |= r.child != 0;
    }

    /// Gives a recipient's row (or the message's only one) its message's
    /// facts.
    pub(crate) fn fill(&self, row: &mut Joined) {
        row.removed = self.removed;
        row.first_seen = Some(self.first_seen);
        row.arrived = self.arrived;
        row.sender = some_id(self.sender);
        row.sender_domain = some_id(self.sender_domain);
        row.size = (self.size != u64::MAX).then_some(self.size);
        row.nrcpt = (self.nrcpt != u32::MAX).then_some(self.nrcpt);
        row.client = some_id(self.client);
        row.expired_at = self.expired_at;
        row.expire_seq = self.expire_seq;
        row.stitched = self.stitched;
        if let Some(t) = row.text.as_mut() {
            if self.queue_id.is_some() {
                t.queue_id.clone_from(&self.queue_id);
                t.host.clone_from(&self.host);
            }
            t.message_id.clone_from(&self.message_id);
        }
    }
}

impl From<&StoredAttempt> for RecipientPart {
    /// A recipient's part from its attempts folded into one row
    /// ([`StoredAttempt::add`]).
    fn from(a: &StoredAttempt) -> RecipientPart {
        RecipientPart {
            attempts: a.tries,
            deferrals: a.defers,
            final_ts: a.ts,
            final_seq: a.seq,
            status: a.status,
            provider: a.provider,
            domain: a.domain,
            rcpt_name: some_id(a.rcpt_name),
            reason: Some(a.reason),
            delay_ms: some_id(a.delay_ms),
            split: a.split.map(some_id),
            rows: a.rows,
        }
    }
}

fn some_id(id: u32) -> Option<u32> {
    (id != NO_ID).then_some(id)
}

/// The complete rows of one table (`done`, found at `offset` in the cut's
/// per-row tables): each one's index, group and whether it was removed.
fn complete<'a>(
    grp: &'a [u32],
    gone: &'a [bool],
    offset: usize,
    done: &'a [bool],
) -> impl Iterator<Item = (usize, u32, bool)> + 'a {
    (0..done.len())
        .filter(move |&i| done[i])
        .map(move |i| (i, grp[offset + i], gone[offset + i]))
}

/// Splits the rows into complete journeys and open rows; which messages
/// are complete is the [`Scope`]'s to say (a stale one: no MTA keeps a
/// message that long, and it bounds what stays open). `restarts`: messages
/// joined elsewhere, in `seq` order, which end an open one with their
/// queue id.
///
/// The open rows come out as new tables (most rows are complete: copying
/// the few open ones beats compacting every column in place), and the
/// strings of the export are moved out of `messages` and `attempts`, which
/// the caller clears and reuses.
pub fn close(
    x: &mut Scratch,
    messages: &mut MessageRows,
    attempts: &mut AttemptRows,
    restarts: &[Restart],
    scope: Scope<'_>,
) -> Closed {
    let m_rows = messages.len();
    cut(x, messages, attempts, restarts, scope);
    let (m_done, a_done) = x.done.split_at(m_rows);
    // The complete rows are read where they are; the open ones are kept by
    // compacting the tables in place afterwards (no copy of either).
    let done_m = &*messages;
    let done_a = &*attempts;
    let (grp, gone) = (&x.grp, &x.removed);

    // Per message.
    let parts = &mut x.parts;
    parts.clear();
    parts.resize_with(x.groups.len(), || None);
    let m_text = done_m.text.as_ref();
    for (i, g, removed) in complete(grp, gone, 0, m_done) {
        let row = done_m.get(i);
        let p = parts[g as usize].get_or_insert_with(|| {
            let mut p = MessagePart::new(removed, row.ts);
            p.queue_id = m_text.and_then(|x| x.queue_id.get(i).cloned());
            p.host = m_text.and_then(|x| x.host.get(i).cloned());
            p
        });
        p.add(done_m.seq[i], done_m.kind[i], &row);
        if let Some(id) = m_text.and_then(|x| x.message_id.get(i)) {
            if p.message_id.as_ref().is_none_or(|m| id > m) {
                p.message_id = Some(id.clone());
            }
        }
    }

    // Per recipient of a message, in the order first seen: its attempts
    // folded as a worker folds them ([`StoredAttempt::add`]).
    let index = &mut x.index;
    index.clear();
    let folded = &mut x.folded;
    folded.clear();
    let rows = &mut x.rows;
    rows.clear();
    let has_recipient = &mut x.has_recipient;
    has_recipient.clear();
    has_recipient.resize(x.groups.len(), false);
    let a_text = done_a.text.as_ref();
    for (i, g, removed) in complete(grp, gone, m_rows, a_done) {
        let attempt = done_a.get(i);
        let at = match index.entry((g, attempt.rcpt)) {
            hashbrown::hash_map::Entry::Occupied(at) => {
                let at = *at.get();
                if !folded[at].add(&attempt) {
                    continue;
                }
                at
            }
            hashbrown::hash_map::Entry::Vacant(at) => {
                has_recipient[g as usize] = true;
                let mut row = Joined {
                    grp: g,
                    removed,
                    text: a_text.map(|x| {
                        Box::new(JoinedText {
                            queue_id: x.queue_id.get(i).cloned(),
                            host: x.host.get(i).cloned(),
                            ..JoinedText::default()
                        })
                    }),
                    ..Joined::default()
                };
                if let Some(p) = &parts[g as usize] {
                    p.fill(&mut row);
                }
                at.insert(rows.len());
                rows.push(row);
                folded.push(attempt);
                rows.len() - 1
            }
        };
        if let (Some(t), Some(x)) = (rows[at].text.as_mut(), a_text) {
            t.recipient = x.recipient.get(i).cloned();
            t.relay = x.relay.get(i).cloned();
            t.codes.push((done_a.dsn[i], done_a.basic[i]));
        }
    }
    // Each recipient's row gets its folded attempts (rows and folds were
    // made together, in the same order).
    for (row, f) in rows.iter_mut().zip(folded.iter()) {
        row.recipient = Some(RecipientPart::from(f));
    }
    // Messages without any attempt, on their own.
    for (g, p) in parts.iter().enumerate() {
        let Some(p) = p else { continue };
        if has_recipient[g] {
            continue;
        }
        let mut row = Joined {
            grp: g as u32,
            text: m_text.map(|_| Box::default()),
            ..Joined::default()
        };
        p.fill(&mut row);
        rows.push(row);
    }
    let keep = &mut x.keep;
    keep.clear();
    keep.extend((0..m_rows as u32).filter(|&i| !m_done[i as usize]));
    let open_messages = messages.take_rows(keep);
    keep.clear();
    keep.extend((0..a_done.len() as u32).filter(|&i| !a_done[i as usize]));
    let open_attempts = attempts.take_rows(keep);
    Closed {
        open_messages,
        open_attempts,
    }
}
