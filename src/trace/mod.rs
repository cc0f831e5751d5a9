//! `mtastat trace WHAT`: what happened to a message, from the log itself.
//!
//! One pass over every input, as input feeds it (mapped, streamed,
//! decompressed, rotated files oldest first): each mail line is filed under
//! its message (host and queue id). A message stays in the table while it
//! is in the queue, with its first lines kept in case a later line makes it
//! match (the recipient of its third attempt); when it leaves the queue
//! unmatched, it goes. A matched message keeps all its lines, and pulls in
//! the messages it is linked to: the copy a content filter re-queued
//! (`queued as ID`), the one it was re-queued from, and those with its
//! Message-ID (the next hop's queue id, on another host in the same input).
//! So memory is bounded by the queue, not the input, and the lines never
//! need a second pass.
//!
//! The journey of each message is then read from its own lines
//! ([`journey`]).

pub mod journey;
pub mod query;

use crate::classify::Engine;
use crate::classify::provider::{ProviderId, ProviderMap, domain_of, lowercase_into};
use crate::event::{Delivery, Status};
use crate::filter::Filter;
use crate::input::Sink;
use crate::parse::header::{Program, parse_header_cached};
use crate::parse::mta::READERS;
use crate::parse::reply::requeued_id;
use crate::parse::timestamp::StampCache;
use crate::parse::{Record, parse_body};
use crate::time::Clock;
use hashbrown::HashMap;
use query::Query;

/// Lines of a message kept while it does not match (its arrival, sender,
/// first attempts): a later match shows them; more are counted, not kept.
const HEAD_LINES: usize = 24;
/// Lines kept of a matched message (one retried every few minutes for
/// five days has ~3000); more are counted.
const MAX_LINES: usize = 10_000;
/// Links (queue ids and Message-IDs of traces) kept at most: past it, new
/// traces beyond the shown ones are counted without their links, and a
/// message with two queue ids may count twice.
const MAX_LINKS: usize = 1 << 18;
/// An unmatched message silent this long (log time) has left the queue
/// without a `removed` line (a milter reject, a lost line): it is let go.
/// Postfix retries a deferred message at least every 4000 s by default.
const SILENT_SECS: i64 = 6 * 3600;
/// Lines between two sweeps for such messages.
const SWEEP_LINES: u64 = 1 << 21;

/// Messages kept after they left the queue unmatched, waiting for the copy
/// a content filter queued (logged later, sometimes): the oldest go first.
const MAX_PARKED: usize = 1 << 13;
/// Messages in the queue at once that the table follows; past it the
/// oldest unmatched ones are let go (a queue this large is an incident of
/// its own).
const MAX_OPEN: usize = 1 << 20;

/// A host and a queue id.
type Key = (Box<[u8]>, Box<[u8]>);

/// A [`Key`] borrowed from a line: looked up without allocating (a line
/// that opens no message costs no allocation). Hashes as the tuple does.
#[derive(Hash)]
struct KeyRef<'a>(&'a [u8], &'a [u8]);

impl hashbrown::Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.0 == key.0.as_ref() && self.1 == key.1.as_ref()
    }
}

type Table<K, V> = HashMap<K, V, crate::hashing::Seeded>;

/// One message's lines, as kept.
#[derive(Debug, Default)]
pub struct Message {
    /// Syslog host (empty for Exim's own log).
    pub host: Vec<u8>,
    /// Queue (or Exim message) id.
    pub queue_id: Vec<u8>,
    /// Its lines' bytes, end to end.
    text: Vec<u8>,
    /// (time, input order, start, length) of each kept line.
    lines: Vec<(i64, u64, u32, u32)>,
    /// Lines not kept (past [`HEAD_LINES`] before a match, or [`MAX_LINES`]).
    pub not_kept: u64,
    /// Its Message-ID, once logged.
    message_id: Option<Box<[u8]>>,
    /// Queue ids a content filter or relay re-queued it as.
    queued_as: Vec<Box<[u8]>>,
    /// The trace it belongs to, once it matches or is linked to one that does.
    group: Option<usize>,
    /// Messages that left the queue before it, linked to it by `queued as`.
    before: Vec<Message>,
    /// Input order of its first line.
    first: u64,
    /// Time of its newest line.
    last: i64,
}

impl Message {
    /// Keeps a line; `shown`: its trace is among those printed (the
    /// others are only counted, and keep no more than an unmatched one).
    fn keep(&mut self, ts: i64, seq: u64, line: &[u8], limit: usize) {
        self.last = self.last.max(ts);
        let room = match self.group {
            Some(g) if g < limit => MAX_LINES,
            _ => HEAD_LINES,
        };
        if self.lines.len() >= room || self.text.len() + line.len() > u32::MAX as usize {
            self.not_kept += 1;
            return;
        }
        self.lines
            .push((ts, seq, self.text.len() as u32, line.len() as u32));
        self.text.extend_from_slice(line);
    }

    /// Its kept lines: (time, input order, bytes).
    pub fn lines(&self) -> impl Iterator<Item = (i64, u64, &[u8])> {
        self.lines.iter().map(|&(ts, seq, start, len)| {
            let (start, len) = (start as usize, len as usize);
            (ts, seq, &self.text[start..start + len])
        })
    }
}

/// One trace: the messages a match pulled together.
#[derive(Debug, Default)]
pub struct Traced {
    /// Its messages (queue ids), in the order they were first seen.
    pub messages: Vec<Message>,
}

/// What the scan found.
#[derive(Debug)]
pub struct Found {
    /// The first `limit` traces, in the order they matched.
    pub traces: Vec<Traced>,
    /// Traces that matched in all.
    pub matched: u64,
    /// Lines read.
    pub lines: u64,
}

/// What a Postfix bounce daemon logs when it queues a notification about
/// a message: `QID: sender non-delivery notification: NEWQID` (or
/// `delivery status notification` for delay warnings and DSN successes).
const NOTIFICATION: &[u8] = b" notification: ";

/// A message another line says this one is related to.
enum Related<'a> {
    /// A notification about this message, queued as this id.
    Child(&'a [u8]),
    /// This message is a notification about that one (Exim `<= <> R=ID`).
    Parent(&'a [u8]),
}

/// The notification a line links its message to, if any.
fn related<'a>(record: &Record<'a>, body: &'a [u8]) -> Option<Related<'a>> {
    match record {
        Record::MailOther => {
            let at = memchr::memmem::find(body, NOTIFICATION)? + NOTIFICATION.len();
            let id = body[at..].trim_ascii_end();
            (id.len() >= 5 && id.iter().all(u8::is_ascii_alphanumeric))
                .then_some(Related::Child(id))
        }
        Record::Queued(q) if q.arrival && q.sender == Some(b"") => {
            let at = memchr::memmem::find(body, b" R=")? + 3;
            let rest = &body[at..];
            let id = &rest[..memchr::memchr(b' ', rest).unwrap_or(rest.len())];
            (id.len() >= 16 && crate::parse::exim::is_message_id(id)).then_some(Related::Parent(id))
        }
        _ => None,
    }
}

/// Whether delivery `d` (of `provider`) handed the message to a content
/// filter on this host, which accepted it: its `queued as` is then a local
/// queue id (a remote server's is its own). The report's journeys decide the
/// same way.
pub(crate) fn handed_off(d: &Delivery<'_>, provider: ProviderId, providers: &ProviderMap) -> bool {
    provider == providers.handoff() && matches!(d.status, Status::Sent)
}

/// What one mail line says, read off it without the table (in parallel,
/// a piece per task); the table then only files it.
struct Said<'a> {
    /// The line's index in its piece.
    index: u32,
    line: &'a [u8],
    ts: i64,
    host: &'a [u8],
    id: &'a [u8],
    /// The Message-ID it logs.
    message_id: Option<&'a [u8]>,
    /// The queue id a content filter on this host queued the message as.
    handoff: Option<&'a [u8]>,
    /// A bounce it links to.
    related: Option<Related<'a>>,
    /// It is about what is traced.
    matches: bool,
    /// The message left the queue.
    removed: bool,
}

impl Said<'_> {
    /// Whether it can change anything beyond being kept.
    fn links(&self) -> bool {
        self.message_id.is_some()
            || self.handoff.is_some()
            || self.related.is_some()
            || self.matches
            || self.removed
    }
}

/// What reading a line needs, shared by the tasks.
#[derive(Clone, Copy)]
struct Reader<'a> {
    query: &'a Query,
    providers: &'a ProviderMap,
    filter: &'a Filter,
    clock: Clock,
}

impl Reader<'_> {
    /// A piece's line count and what its mail lines say.
    fn piece<'p>(&self, piece: &'p [u8]) -> (u64, Vec<Said<'p>>) {
        let mut stamps = StampCache::default();
        let (mut domain, mut relay) = (Vec::new(), Vec::new());
        let mut said = Vec::new();
        let mut index = 0u32;
        crate::scan::for_each_line(piece, |line| {
            if let Some(s) = self.line(index, line, &mut stamps, &mut domain, &mut relay) {
                said.push(s);
            }
            index = index.wrapping_add(1);
        });
        (u64::from(index), said)
    }

    fn line<'p>(
        &self,
        index: u32,
        line: &'p [u8],
        stamps: &mut StampCache,
        domain: &mut Vec<u8>,
        relay: &mut Vec<u8>,
    ) -> Option<Said<'p>> {
        let crate::scan::Line::Text(line) = crate::scan::line(line) else {
            return None;
        };
        let h = parse_header_cached(line, self.clock, stamps)?;
        let Program::Mta { reader, .. } = h.program else {
            return None;
        };
        if !self.filter.keeps_time(h.ts) {
            return None;
        }
        let id = (READERS.get(usize::from(reader))?.message)(h.body)?;
        let record = parse_body(&h);
        let message_id = match &record {
            Record::Queued(q) if q.message_id.iter().any(|b| !matches!(b, b'<' | b'>')) => {
                Some(q.message_id)
            }
            _ => None,
        };
        // A content filter on this host queued it again (a loopback relay,
        // as the report's journeys tell it): its `queued as` is a local
        // queue id; a remote server's is its own.
        let handoff = match &record {
            Record::Delivery(d) => requeued_id(d.reply).filter(|_| {
                lowercase_into(domain_of(d.recipient), domain);
                lowercase_into(d.relay, relay);
                handed_off(
                    d,
                    self.providers.of_delivery(d, domain, relay),
                    self.providers,
                )
            }),
            _ => None,
        };
        Some(Said {
            index,
            line,
            ts: h.ts,
            host: h.host,
            id,
            message_id,
            handoff,
            related: related(&record, h.body),
            matches: self.query.matches(id, &record, line),
            removed: matches!(record, Record::Removed { .. }),
        })
    }
}

/// Bytes of a piece read as one task: a group of them is what is held
/// at once (about 130 bytes per mail line), whatever the input's size.
const SUB_PIECE: usize = 4 << 20;

/// Reads a group of pieces in parallel.
fn read_group<'p, P: AsRef<[u8]> + Sync>(
    reader: &Reader<'_>,
    group: &'p [P],
    count_progress: bool,
) -> Vec<(u64, Vec<Said<'p>>)> {
    use rayon::prelude::*;
    group
        .par_iter()
        .map(|p| {
            let said = reader.piece(p.as_ref());
            if count_progress {
                crate::input::progress::advance(p.as_ref().len());
            }
            said
        })
        .collect()
}

/// The trace scan: an [`input::Sink`](crate::input::Sink).
pub struct Tracer<'a> {
    query: &'a Query,
    providers: &'a ProviderMap,
    filter: &'a Filter,
    clock: Clock,
    limit: usize,
    open: Table<Key, Message>,
    /// Queue ids (any host) of traces: a `queued as` naming one links.
    by_queue_id: Table<Box<[u8]>, usize>,
    /// Message-IDs of traces: a message logging one joins.
    by_message_id: Table<Box<[u8]>, usize>,
    /// Open messages by Message-ID (to join a trace that starts later).
    open_by_message_id: Table<Box<[u8]>, Vec<Key>>,
    /// Messages that left the queue handed to a content filter whose copy
    /// was not logged yet, by the copy's queue id (and in the order parked).
    parked: Table<Box<[u8]>, Message>,
    parked_order: std::collections::VecDeque<Box<[u8]>>,
    /// Union-find over trace numbers (links can join two traces).
    parent: Vec<usize>,
    /// Finished messages of traces, by trace number.
    done: Vec<Vec<Message>>,
    seq: u64,
    bytes: u64,
    /// The newest line time, and the line count at the last sweep.
    newest: i64,
    swept: u64,
    /// Messages whose group is beyond `limit`: counted, lines not kept.
    matched: u64,
}

impl<'a> Tracer<'a> {
    /// A scan for `query`, keeping the first `limit` traces.
    pub fn new(
        query: &'a Query,
        providers: &'a ProviderMap,
        filter: &'a Filter,
        clock: Clock,
        limit: usize,
    ) -> Tracer<'a> {
        Tracer {
            query,
            providers,
            filter,
            clock,
            limit,
            open: Table::default(),
            by_queue_id: Table::default(),
            by_message_id: Table::default(),
            open_by_message_id: Table::default(),
            parked: Table::default(),
            parked_order: std::collections::VecDeque::new(),
            parent: Vec::new(),
            done: Vec::new(),
            seq: 0,
            bytes: 0,
            newest: i64::MIN,
            swept: 0,
            matched: 0,
        }
    }

    fn root(&mut self, mut g: usize) -> usize {
        while self.parent[g] != g {
            self.parent[g] = self.parent[self.parent[g]];
            g = self.parent[g];
        }
        g
    }

    fn new_group(&mut self) -> usize {
        let g = self.parent.len();
        self.parent.push(g);
        // Only shown traces keep their messages.
        if g < self.limit {
            self.done.push(Vec::new());
        }
        self.matched += 1;
        g
    }

    /// Joins two traces (a link found between them): one trace then.
    fn union(&mut self, a: usize, b: usize) -> usize {
        let (a, b) = (self.root(a), self.root(b));
        if a == b {
            return a;
        }
        let (keep, gone) = (a.min(b), a.max(b));
        self.parent[gone] = keep;
        if let Some(moved) = self.done.get_mut(gone).map(std::mem::take)
            && let Some(kept) = self.done.get_mut(keep)
        {
            kept.extend(moved);
        }
        self.matched = self.matched.saturating_sub(1);
        keep
    }

    /// Puts the open message `key` in trace `g` (and what it links to).
    fn join(&mut self, key: &Key, g: usize) {
        let Some(current) = self.open.get(key).map(|m| m.group) else {
            return;
        };
        let g = match current {
            Some(old) if self.root(old) == self.root(g) => return,
            Some(old) => self.union(old, g),
            None => g,
        };
        let Some(m) = self.open.get_mut(key) else {
            return;
        };
        m.group = Some(g);
        let queue_id = m.queue_id.clone().into_boxed_slice();
        let message_id = m.message_id.clone();
        let queued_as = m.queued_as.clone();
        let before = std::mem::take(&mut m.before);
        for b in before {
            self.finish(b, Some(g));
        }
        if !self.may_link(g) {
            return;
        }
        self.by_queue_id.insert(queue_id, g);
        for q in queued_as {
            // A copy or a bounce already in the queue joins now, a later
            // one when it is logged.
            let child = (key.0.clone(), q.clone());
            self.by_queue_id.insert(q, g);
            if self.open.contains_key(&child) {
                self.join(&child, g);
            }
        }
        if let Some(mid) = message_id {
            self.link_message_id(mid, g);
        }
    }

    /// `key` made `child` (a content filter's copy, a bounce): one joins
    /// the other's trace, whichever has one, now or when it gets one.
    fn link_child(&mut self, key: &Key, child: Box<[u8]>) {
        let child_key = (key.0.clone(), child.clone());
        let parent_group = self.open.get(key).and_then(|m| m.group);
        let child_group = self.open.get(&child_key).and_then(|m| m.group);
        match (parent_group, child_group) {
            (Some(g), _) => {
                if self.may_link(g) {
                    self.by_queue_id.insert(child, g);
                }
                if self.open.contains_key(&child_key) {
                    self.join(&child_key, g);
                }
            }
            (None, Some(g)) => self.join(key, g),
            (None, None) => {
                if let Some(m) = self.open.get_mut(key) {
                    m.queued_as.push(child);
                }
            }
        }
    }

    /// Whether trace `g`'s links are kept: always for the shown ones, for
    /// the others while there is room.
    fn may_link(&mut self, g: usize) -> bool {
        self.root(g) < self.limit || self.by_queue_id.len() + self.by_message_id.len() < MAX_LINKS
    }

    /// Trace `g` has this Message-ID: open messages with it join.
    fn link_message_id(&mut self, mid: Box<[u8]>, g: usize) {
        if self.by_message_id.contains_key(&mid) {
            return;
        }
        self.by_message_id.insert(mid.clone(), g);
        if let Some(keys) = self.open_by_message_id.get(&mid).cloned() {
            for k in keys {
                if self.open.get(&k).is_some_and(|m| m.group.is_none()) {
                    self.join(&k, g);
                }
            }
        }
    }

    /// A message left the queue: it is no longer found by its Message-ID.
    fn forget_message_id(&mut self, m: &Message) {
        if let Some(mid) = &m.message_id
            && let Some(keys) = self.open_by_message_id.get_mut(mid)
        {
            keys.retain(|(h, q)| {
                !(h.as_ref() == m.host.as_slice() && q.as_ref() == m.queue_id.as_slice())
            });
            if keys.is_empty() {
                self.open_by_message_id.remove(mid);
            }
        }
    }

    /// A message is done with: kept in its trace, or let go.
    fn finish(&mut self, mut m: Message, group: Option<usize>) {
        self.forget_message_id(&m);
        let Some(g) = group.or(m.group) else {
            return;
        };
        let g = self.root(g);
        if g < self.limit {
            m.group = Some(g);
            let before = std::mem::take(&mut m.before);
            self.done[g].push(m);
            for b in before {
                self.finish(b, Some(g));
            }
        }
    }

    /// Keeps a message that left the queue until its copy `next` is logged.
    fn park(&mut self, next: Box<[u8]>, m: Message) {
        self.forget_message_id(&m);
        while self.parked.len() >= MAX_PARKED {
            let Some(old) = self.parked_order.pop_front() else {
                break;
            };
            if let Some(gone) = self.parked.remove(&old) {
                self.finish(gone, None);
            }
        }
        self.parked_order.push_back(next.clone());
        if let Some(older) = self.parked.insert(next, m) {
            self.finish(older, None);
        }
    }

    /// Lets the oldest unmatched open message go when the table is full.
    fn make_room(&mut self) {
        if self.open.len() < MAX_OPEN {
            return;
        }
        let oldest = self
            .open
            .iter()
            .filter(|(_, m)| m.group.is_none())
            .min_by_key(|(_, m)| m.first)
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest
            && let Some(m) = self.open.remove(&k)
        {
            self.finish(m, None);
        }
    }

    /// Files one mail line (`seq` in input order) and makes its links.
    fn apply(&mut self, seq: u64, said: &Said<'_>) {
        let (host, id, line) = (said.host, said.id, said.line);
        if let Some(m) = self.open.get_mut(&KeyRef(host, id)) {
            m.keep(said.ts, seq, line, self.limit);
            if !said.links() {
                return;
            }
        }
        let key: Key = (host.into(), id.into());
        if !self.open.contains_key(&key) {
            self.make_room();
            let mut m = Message {
                host: host.to_vec(),
                queue_id: id.to_vec(),
                first: seq,
                // A message's first lines fit without regrowing.
                text: Vec::with_capacity(1024),
                lines: Vec::with_capacity(8),
                ..Message::default()
            };
            // The copy of a message that left the queue before it was logged.
            if let Some(p) = self.parked.remove(id) {
                m.before.push(p);
            }
            m.keep(said.ts, seq, line, self.limit);
            self.open.insert(key.clone(), m);
            // A re-queued copy, or the next hop, of a traced message.
            if let Some(&g) = self.by_queue_id.get(id) {
                self.join(&key, g);
            }
        }
        // Links this line makes.
        if let Some(mid) = said.message_id {
            let mid: Box<[u8]> = mid.into();
            if let Some(m) = self.open.get_mut(&key)
                && m.message_id.is_none()
            {
                m.message_id = Some(mid.clone());
                self.open_by_message_id
                    .entry(mid.clone())
                    .or_default()
                    .push(key.clone());
            }
            if let Some(&g) = self.by_message_id.get(&mid) {
                self.join(&key, g);
            }
        }
        if let Some(next) = said.handoff {
            self.link_child(&key, next.into());
        }
        match said.related {
            Some(Related::Child(child)) => self.link_child(&key, child.into()),
            Some(Related::Parent(parent)) => {
                let parent_key = (key.0.clone(), parent.into());
                if self.open.contains_key(&parent_key) {
                    self.link_child(&parent_key, key.1.clone());
                } else if let Some(&g) = self.by_queue_id.get(parent) {
                    self.join(&key, g);
                }
            }
            None => {}
        }
        if said.matches {
            let g = match self.open.get(&key).and_then(|m| m.group) {
                Some(g) => g,
                None => self.new_group(),
            };
            self.join(&key, g);
        }
        if said.removed
            && let Some(m) = self.open.remove(&key)
        {
            if m.group.is_none() && !m.queued_as.is_empty() {
                // Kept with its copy until that leaves the queue.
                let copy = (key.0.clone(), m.queued_as[0].clone());
                if let Some(c) = self.open.get_mut(&copy) {
                    c.before.push(m);
                    return;
                }
                self.park(copy.1, m);
                return;
            }
            self.finish(m, None);
        }
    }

    /// Files a piece's lines, read before.
    fn apply_piece(&mut self, (lines, said): &(u64, Vec<Said<'_>>)) {
        let base = self.seq;
        for s in said {
            self.newest = self.newest.max(s.ts);
            self.apply(base + u64::from(s.index) + 1, s);
        }
        self.seq = base + lines;
        if self.seq - self.swept >= SWEEP_LINES {
            self.swept = self.seq;
            self.sweep();
        }
    }

    /// Lets go of unmatched messages silent for [`SILENT_SECS`]: they left
    /// the queue without saying so, and would hold memory to the end.
    fn sweep(&mut self) {
        let before = self.newest - SILENT_SECS;
        let gone: Vec<Key> = self
            .open
            .iter()
            .filter(|(_, m)| m.group.is_none() && m.last < before)
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            if let Some(m) = self.open.remove(&k) {
                self.finish(m, None);
            }
        }
        // Copies that were never logged (a notification the log does not
        // show) are not waited for any longer.
        let stale: Vec<Box<[u8]>> = self
            .parked
            .iter()
            .filter(|(_, m)| m.last < before)
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            if let Some(m) = self.parked.remove(&k) {
                self.finish(m, None);
            }
        }
        self.parked_order.retain(|k| self.parked.contains_key(k));
    }

    /// The traces, once the inputs are read: messages still in the queue
    /// at the end of the log are kept as they are.
    pub fn finish_all(mut self) -> Found {
        let open: Vec<Message> = self.open.drain().map(|(_, m)| m).collect();
        for m in open {
            self.finish(m, None);
        }
        let mut traces = Vec::new();
        for g in 0..self.done.len().min(self.limit) {
            if self.parent[g] != g || self.done[g].is_empty() {
                continue;
            }
            let mut messages = std::mem::take(&mut self.done[g]);
            messages.sort_by_key(|m| m.first);
            traces.push(Traced { messages });
        }
        traces.sort_by_key(|t| t.messages.first().map_or(0, |m| m.first));
        Found {
            traces,
            matched: self.matched,
            lines: self.seq,
        }
    }
}

impl Sink for Tracer<'_> {
    fn begin(&mut self, clock: Clock) {
        self.clock = clock;
    }

    fn pieces<P: AsRef<[u8]> + Sync>(&mut self, pieces: &[P], count_progress: bool) {
        let reader = Reader {
            query: self.query,
            providers: self.providers,
            filter: self.filter,
            clock: self.clock,
        };
        // Pieces cut small (a mapped file comes in a few large ones): a
        // group's readings are what is held at once.
        let small: Vec<&[u8]> = pieces
            .iter()
            .flat_map(|p| crate::input::chunk::line_aligned(p.as_ref(), SUB_PIECE))
            .collect();
        let pieces = &small[..];
        let read = |group| read_group(&reader, group, count_progress);
        // Pieces are read in parallel a group at a time, and a group is
        // filed (in order, on one thread: the table is one) while the next
        // is read.
        let group = 2 * rayon::current_num_threads().max(1);
        let mut groups = pieces.chunks(group);
        let mut pending = groups.next().map(read);
        for next in groups {
            let (said, ()) = rayon::join(
                || read(next),
                || {
                    for p in pending.iter().flatten() {
                        self.apply_piece(p);
                    }
                },
            );
            pending = Some(said);
        }
        for p in pending.iter().flatten() {
            self.apply_piece(p);
        }
        self.bytes += pieces.iter().map(|p| p.len() as u64).sum::<u64>();
    }

    fn overlong(&mut self, _sample: &[u8], len: u64) {
        self.seq += 1;
        self.bytes += len;
    }

    fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// Traces `query` through `sources` (in order): the first `limit` traces
/// and how many matched, with each message's journey.
pub fn trace(
    sources: &[crate::input::Source],
    settings: crate::input::InputSettings,
    engine: &Engine,
    filter: &Filter,
    query: &Query,
    limit: usize,
    shown_in: crate::time::zone::Zone,
) -> (journey::TraceReport, Vec<String>) {
    let mut tracer = Tracer::new(query, &engine.providers, filter, settings.clock(0), limit);
    let mut errors = Vec::new();
    for source in sources {
        match crate::input::feed(source, settings, &mut tracer) {
            Ok(fed) => {
                if let Some(p) = fed.problem {
                    errors.push(format!("{}: {p}", source.label()));
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    let found = tracer.finish_all();
    (journey::report(query, &found, engine, shown_in), errors)
}
