//! Journeys a worker finishes itself, line by line.
//!
//! A worker keeps one entry per message of its run, holding the message's
//! rows folded the way the join reads them: its qmgr lines as their first
//! and last, each recipient's attempts as one row at the last attempt that
//! counts ([`StoredAttempt::add`]). A message the run saw begin at its
//! client (smtpd `client=`, pickup, Exim `<=`) and leave the queue is
//! complete the moment it leaves: it is joined and counted there, and
//! nothing of it is kept but a [`Restart`] (which ends an older message
//! with its queue id at the merge).
//!
//! Everything else goes to the merge as rows when the run ends: messages
//! still in the queue, begun in an earlier run, re-injected by a content
//! filter on loopback, handed to one (`queued as`), or named by such a
//! hand-off. The merge's join ([`super::join`]) reads the folded rows as it
//! would the rows they stand for ([`super::join::fold_open`] folds its open
//! rows the same way).
//!
//! A plain message (received from a client that is not a content
//! filter's re-injection) is never stitched to a hand-off, so the worker
//! finishes it whatever comes later; the join follows the same rule
//! ([`super::join`]), and a journey does not depend on where the input was
//! cut into runs.

use super::join::{Joined, MessagePart, RecipientPart};
use super::log::{JourneyLog, Kind, MessageRow, Restart, StoredAttempt};

type Map<K, V> = hashbrown::HashMap<K, V, crate::hashing::Seeded>;
type Set<K> = hashbrown::HashSet<K, crate::hashing::Seeded>;

/// No entry (end of a chain, no row).
const NIL: u32 = u32::MAX;

/// The message a queue id names now, and the kind of its last row.
#[derive(Clone, Copy, Debug)]
struct Current {
    message: u32,
    last: Kind,
}

/// One message of the run.
#[derive(Clone, Copy, Debug)]
struct Message {
    /// Hash of host + queue id.
    key: u64,
    /// Log order of its first row.
    start: u64,
    /// It left the queue (removed, or its queue id taken by another).
    gone: bool,
    /// Its first row begins a message: its client, not one a content filter
    /// re-injects from.
    begins: bool,
    /// A content filter is involved (a hand-off, or a hand-off named it):
    /// the merge joins it, with the other queue file's rows.
    held: bool,
    /// First of its message rows (a chain through [`RowNode::next`]).
    rows: u32,
    /// Its first and last qmgr rows (the ones between are folded into the
    /// first).
    first_queued: u32,
    last_queued: u32,
    /// First of its recipients (a chain through [`Recipient::next`]).
    recipients: u32,
}

/// A message row and its number.
#[derive(Clone, Copy, Debug)]
struct RowNode {
    next: u32,
    seq: u64,
    row: MessageRow,
}

/// A recipient's attempts, folded.
#[derive(Clone, Copy, Debug)]
struct Recipient {
    next: u32,
    attempt: StoredAttempt,
}

/// Per-message journey state of a worker's run. Its tables are cleared,
/// not freed, from run to run.
#[derive(Clone, Debug, Default)]
pub struct Live {
    current: Map<u64, Current>,
    messages: Vec<Message>,
    free_messages: Vec<u32>,
    rows: Vec<RowNode>,
    free_rows: Vec<u32>,
    recipients: Vec<Recipient>,
    free_recipients: Vec<u32>,
    /// (message, recipient hash) → its [`Recipient`].
    by_recipient: Map<(u32, u64), u32>,
    /// Queue ids a hand-off named (`queued as`) before their message began.
    linked: Set<u64>,
    /// Messages open (allocated in `messages`).
    open: usize,
    /// The joined rows of the message being finished.
    joined: Vec<Joined>,
    /// Where the open messages' rows are put in order at the run's end.
    order: Vec<(u64, u32)>,
    /// Per message slot at the run's end: free.
    freed: Vec<bool>,
}

/// Takes each complete message's joined rows (one per recipient; one
/// without recipient fields for a message without attempts).
pub trait Finish {
    /// The rows of one complete message.
    fn finish(&mut self, rows: &[Joined]);
}

impl Live {
    /// True when no message is open.
    pub fn is_empty(&self) -> bool {
        self.open == 0
    }

    /// A message row, numbered `seq`. `reinjected`: whether an interned
    /// client is one a content filter re-injects from. A message it
    /// completes is joined into `done`'s rows, and its start recorded in
    /// `restarts`.
    pub fn message(
        &mut self,
        seq: u64,
        row: MessageRow,
        reinjected: impl Fn(u32) -> bool,
        restarts: &mut Vec<Restart>,
        done: &mut impl Finish,
    ) {
        let m = self.message_of(
            seq, row.msg, row.kind, row.client, reinjected, restarts, done,
        );
        self.add_row(m, seq, row);
        if row.kind == Kind::Remove {
            self.messages[m as usize].gone = true;
        }
        if row.kind == Kind::Link && row.child != 0 && row.child != row.msg {
            self.link(m, row.child);
        }
        if self.finishes(m) {
            self.finish(m, restarts, done);
        }
    }

    /// An attempt row (its `seq` set).
    pub fn attempt(
        &mut self,
        a: StoredAttempt,
        restarts: &mut Vec<Restart>,
        done: &mut impl Finish,
    ) {
        let m = self.message_of(
            a.seq,
            a.msg,
            Kind::Attempt,
            crate::intern::NO_ID,
            |_| false,
            restarts,
            done,
        );
        match self.by_recipient.get(&(m, a.rcpt)) {
            Some(&r) => {
                self.recipients[r as usize].attempt.add(&a);
            }
            None => {
                let head = self.messages[m as usize].recipients;
                let r = alloc(
                    &mut self.recipients,
                    &mut self.free_recipients,
                    Recipient {
                        next: head,
                        attempt: a,
                    },
                );
                self.messages[m as usize].recipients = r;
                self.by_recipient.insert((m, a.rcpt), r);
            }
        }
    }

    /// The message a row of queue id `key` belongs to, as the join cuts
    /// them ([`super::join`]): a client, an Exim arrival, an arrival not
    /// preceded by its client, or any row after a removal begins a new
    /// one; the one it follows has then left the queue.
    #[allow(clippy::too_many_arguments)]
    fn message_of(
        &mut self,
        seq: u64,
        key: u64,
        kind: Kind,
        client: u32,
        reinjected: impl Fn(u32) -> bool,
        restarts: &mut Vec<Restart>,
        done: &mut impl Finish,
    ) -> u32 {
        let before = match self.current.get_mut(&key) {
            Some(c) if !begins_another(kind, c.last) => {
                c.last = kind;
                return c.message;
            }
            before => before.map(|c| c.message),
        };
        if let Some(old) = before {
            self.messages[old as usize].gone = true;
            if self.finishes(old) {
                self.finish(old, restarts, done);
            }
        }
        let opens = kind == Kind::Client || kind == Kind::Accept;
        let begins = opens && !reinjected(client);
        // A hand-off named this id: a copy the filter queued again, unless
        // the message is plain (the join stitches none of those, and the
        // hand-off still waits for a copy).
        let held = if begins {
            self.linked.contains(&key)
        } else {
            self.linked.remove(&key)
        };
        let m = alloc(
            &mut self.messages,
            &mut self.free_messages,
            Message {
                key,
                start: seq,
                gone: false,
                begins,
                held,
                rows: NIL,
                first_queued: NIL,
                last_queued: NIL,
                recipients: NIL,
            },
        );
        self.open += 1;
        self.current.insert(
            key,
            Current {
                message: m,
                last: kind,
            },
        );
        m
    }

    /// Keeps a message row: a qmgr row after the second replaces the last
    /// one, whose fields fold into the first (the least of each, as the join
    /// keeps them).
    fn add_row(&mut self, m: u32, seq: u64, row: MessageRow) {
        let msg = self.messages[m as usize];
        if row.kind == Kind::Queued && msg.last_queued != NIL {
            let last = self.rows[msg.last_queued as usize];
            let first = &mut self.rows[msg.first_queued as usize].row;
            first.ts = first.ts.min(last.row.ts);
            first.sender = first.sender.min(last.row.sender);
            first.sender_domain = first.sender_domain.min(last.row.sender_domain);
            first.size = first.size.min(last.row.size);
            first.nrcpt = first.nrcpt.min(last.row.nrcpt);
            first.client = first.client.min(last.row.client);
            let node = &mut self.rows[msg.last_queued as usize];
            node.seq = seq;
            node.row = row;
            return;
        }
        let r = alloc(
            &mut self.rows,
            &mut self.free_rows,
            RowNode {
                next: msg.rows,
                seq,
                row,
            },
        );
        let msg = &mut self.messages[m as usize];
        msg.rows = r;
        if row.kind == Kind::Queued {
            if msg.first_queued == NIL {
                msg.first_queued = r;
            } else {
                msg.last_queued = r;
            }
        }
    }

    /// Message `m` handed its mail to a content filter, which queued it
    /// again as `child`: it goes to the merge, which stitches it to the
    /// copy — the message `child` names now if that one is not plain (a
    /// copy logged before the filter's reply), or the next one.
    fn link(&mut self, m: u32, child: u64) {
        self.messages[m as usize].held = true;
        match self.current.get(&child) {
            Some(c) if c.message == m => return,
            Some(c) if !self.messages[c.message as usize].begins => {
                self.messages[c.message as usize].held = true;
            }
            _ => {}
        }
        self.linked.insert(child);
    }

    /// Whether message `m` is complete here.
    fn finishes(&self, m: u32) -> bool {
        let msg = &self.messages[m as usize];
        msg.gone && msg.begins && !msg.held
    }

    /// Joins complete message `m` into `done`, and forgets it.
    fn finish(&mut self, m: u32, restarts: &mut Vec<Restart>, done: &mut impl Finish) {
        let msg = self.messages[m as usize];
        let mut part: Option<MessagePart> = None;
        let mut r = msg.rows;
        while r != NIL {
            let node = self.rows[r as usize];
            part.get_or_insert_with(|| MessagePart::new(true, node.row.ts))
                .add(node.seq, node.row.kind as u8, &node.row);
            r = node.next;
        }
        let mut joined = std::mem::take(&mut self.joined);
        joined.clear();
        let mut r = msg.recipients;
        while r != NIL {
            let node = self.recipients[r as usize];
            let mut row = Joined {
                removed: true,
                recipient: Some(RecipientPart::from(&node.attempt)),
                ..Joined::default()
            };
            if let Some(p) = &part {
                p.fill(&mut row);
            }
            joined.push(row);
            r = node.next;
        }
        if joined.is_empty()
            && let Some(p) = &part
        {
            let mut row = Joined::default();
            p.fill(&mut row);
            joined.push(row);
        }
        done.finish(&joined);
        self.joined = joined;
        restarts.push(Restart {
            msg: msg.key,
            seq: msg.start,
        });
        self.forget(m);
    }

    /// Frees message `m`'s entries.
    fn forget(&mut self, m: u32) {
        let msg = self.messages[m as usize];
        let mut r = msg.rows;
        while r != NIL {
            self.free_rows.push(r);
            r = self.rows[r as usize].next;
        }
        let mut r = msg.recipients;
        while r != NIL {
            let node = self.recipients[r as usize];
            self.by_recipient.remove(&(m, node.attempt.rcpt));
            self.free_recipients.push(r);
            r = node.next;
        }
        if self.current.get(&msg.key).is_some_and(|c| c.message == m) {
            self.current.remove(&msg.key);
        }
        self.free_messages.push(m);
        self.open -= 1;
    }

    /// The run has ended: the rows of every message still open go to
    /// `log` (in log order, as the join reads them), and `restarts` are
    /// put in order. The tables are emptied, keeping their memory.
    pub fn close(&mut self, log: &mut JourneyLog) {
        log.restarts.sort_unstable_by_key(|r| r.seq);
        if self.open == 0 {
            self.clear();
            return;
        }
        let freed = &mut self.freed;
        freed.clear();
        freed.resize(self.messages.len(), false);
        for &f in &self.free_messages {
            freed[f as usize] = true;
        }
        let order = &mut self.order;
        order.clear();
        for (m, msg) in self.messages.iter().enumerate() {
            let mut r = if freed[m] { NIL } else { msg.rows };
            while r != NIL {
                order.push((self.rows[r as usize].seq, r));
                r = self.rows[r as usize].next;
            }
        }
        order.sort_unstable();
        for &(seq, r) in order.iter() {
            log.messages.push(seq, &self.rows[r as usize].row);
        }
        order.clear();
        for (m, msg) in self.messages.iter().enumerate() {
            let mut r = if freed[m] { NIL } else { msg.recipients };
            while r != NIL {
                order.push((self.recipients[r as usize].attempt.seq, r));
                r = self.recipients[r as usize].next;
            }
        }
        order.sort_unstable();
        for &(_, r) in order.iter() {
            log.attempts.push(&self.recipients[r as usize].attempt);
        }
        self.clear();
    }

    /// Empties the tables, keeping their memory.
    fn clear(&mut self) {
        self.current.clear();
        self.messages.clear();
        self.free_messages.clear();
        self.rows.clear();
        self.free_rows.clear();
        self.recipients.clear();
        self.free_recipients.clear();
        self.by_recipient.clear();
        self.linked.clear();
        self.open = 0;
    }

    /// Renames reason ids after the reason table was compacted.
    pub fn remap_reasons(&mut self, map: &[u32]) {
        for r in &mut self.recipients {
            r.attempt.reason = crate::intern::remap(map, r.attempt.reason);
        }
    }

    /// Renames recipient-domain ids after the domain table was compacted.
    pub fn remap_domains(&mut self, map: &[u32]) {
        for r in &mut self.recipients {
            r.attempt.domain = crate::intern::remap(map, r.attempt.domain);
        }
    }
}

/// Whether a row of `kind` after one of kind `last` (same queue id) begins
/// another message: the join's rule ([`super::join`]). A second Message-ID
/// of the same message (cleanup logs each Message-ID header) does not.
fn begins_another(kind: Kind, last: Kind) -> bool {
    kind == Kind::Client
        || kind == Kind::Accept
        || (kind == Kind::Arrive && !matches!(last, Kind::Client | Kind::Arrive | Kind::Accept))
        || last == Kind::Remove
}

/// Stores `value` in a free slot of `table`, or a new one.
fn alloc<T>(table: &mut Vec<T>, free: &mut Vec<u32>, value: T) -> u32 {
    match free.pop() {
        Some(i) => {
            table[i as usize] = value;
            i
        }
        None => {
            table.push(value);
            (table.len() - 1) as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::provider::HANDOFF;
    use crate::event::Status;
    use crate::intern::NO_ID;
    use crate::journey::Row;
    use crate::journey::log::AttemptRow;
    use crate::journey::stats::Disposition;

    /// The interned client a content filter re-injects from, and another.
    const LOOPBACK: u32 = 7;
    const CLIENT: u32 = 1;

    /// Complete messages, as handed over.
    #[derive(Default)]
    struct Done(Vec<Vec<Joined>>);

    impl Finish for Done {
        fn finish(&mut self, rows: &[Joined]) {
            self.0.push(rows.to_vec());
        }
    }

    /// One worker's run, fed row by row.
    #[derive(Default)]
    struct Run {
        live: Live,
        log: JourneyLog,
        done: Done,
    }

    impl Run {
        fn next_seq(&mut self) -> u64 {
            self.log.next_seq += 1;
            self.log.next_seq - 1
        }

        fn row(&mut self, row: MessageRow) {
            let seq = self.next_seq();
            let reinjected = |c| c == LOOPBACK;
            self.live
                .message(seq, row, reinjected, &mut self.log.restarts, &mut self.done);
        }

        fn message(&mut self, key: u64, kind: Kind, ts: i64) {
            self.row(MessageRow::bare(key, kind, ts));
        }

        fn client(&mut self, key: u64, client: u32, ts: i64) {
            let mut row = MessageRow::bare(key, Kind::Client, ts);
            row.client = client;
            self.row(row);
        }

        fn link(&mut self, key: u64, child: u64, ts: i64) {
            let mut row = MessageRow::bare(key, Kind::Link, ts);
            row.child = child;
            self.row(row);
        }

        fn attempt(&mut self, key: u64, rcpt: u64, status: Status, provider: u16, ts: i64) {
            let row = AttemptRow {
                msg: key,
                ts,
                rcpt,
                rcpt_name: NO_ID,
                provider,
                domain: 3,
                status,
                attempted: provider != HANDOFF,
                dsn: 0,
                basic: 0,
                reason: NO_ID,
                delay_ms: u32::MAX,
                split: [u32::MAX; 4],
            };
            let seq = self.next_seq();
            self.live.attempt(
                StoredAttempt::of(seq, &row),
                &mut self.log.restarts,
                &mut self.done,
            );
        }

        /// A whole Postfix message from `client`, delivered to one recipient.
        fn delivered(&mut self, key: u64, client: u32, provider: u16, ts: i64) {
            self.client(key, client, ts);
            self.message(key, Kind::Arrive, ts);
            self.message(key, Kind::Queued, ts);
            self.attempt(key, 11, Status::Sent, provider, ts + 1);
            self.message(key, Kind::Remove, ts + 1);
        }
    }

    fn disposition(rows: &[Joined]) -> Vec<Disposition> {
        rows.iter()
            .map(|j| Row::of(j).journey.disposition)
            .collect()
    }

    #[test]
    fn a_message_seen_to_begin_and_leave_is_counted_as_it_leaves() {
        let mut run = Run::default();
        run.delivered(42, CLIENT, 2, 100);
        assert_eq!(run.done.0.len(), 1);
        assert_eq!(disposition(&run.done.0[0]), [Disposition::Delivered]);
        assert_eq!(run.done.0[0][0].first_seen, Some(100));
        assert!(run.live.is_empty(), "nothing of it is kept");
        assert_eq!(run.log.restarts, [Restart { msg: 42, seq: 0 }]);
        run.live.close(&mut run.log);
        assert!(run.log.is_empty(), "no rows go to the merge");
    }

    /// One message retried sixty times, begun before the run: not complete
    /// here, and its rows reach the merge folded, in log order.
    #[test]
    fn a_message_retried_sixty_times_goes_to_the_merge_as_a_few_rows() {
        let mut run = Run::default();
        for i in 0..60 {
            run.message(9, Kind::Queued, 1_000 + i);
            run.attempt(9, 11, Status::Deferred, 2, 1_000 + i);
        }
        // Another message begins and ends meanwhile.
        run.delivered(5, CLIENT, 2, 2_000);
        run.message(9, Kind::Remove, 3_000);
        assert_eq!(run.done.0.len(), 1, "only the message seen to begin");
        run.live.close(&mut run.log);
        let (m, a) = (&run.log.messages, &run.log.attempts);
        assert_eq!(
            m.kind,
            [Kind::Queued as u8, Kind::Queued as u8, Kind::Remove as u8]
        );
        assert_eq!(m.seq, [0, 118, 125]);
        assert_eq!(
            (a.len(), a.tries[0], a.defers[0], a.rows[0]),
            (1, 60, 60, 60)
        );
        assert_eq!(a.seq, [119]);
        assert!(run.live.is_empty());
    }

    /// A hand-off to a content filter, whether its copy's lines come before
    /// the filter's reply or after: both messages go to the merge, which
    /// stitches them; a plain message sent meanwhile is counted here.
    #[test]
    fn a_filter_hand_off_and_its_copy_go_to_the_merge() {
        for copy_first in [false, true] {
            let mut run = Run::default();
            run.client(1, CLIENT, 10);
            run.message(1, Kind::Queued, 10);
            if copy_first {
                run.delivered(2, LOOPBACK, 2, 11);
            }
            run.attempt(1, 11, Status::Sent, HANDOFF, 12);
            run.link(1, 2, 12);
            run.message(1, Kind::Remove, 12);
            if !copy_first {
                run.delivered(2, LOOPBACK, 2, 13);
            }
            run.delivered(3, CLIENT, 2, 14);
            assert_eq!(run.done.0.len(), 1, "copy first: {copy_first}");
            run.live.close(&mut run.log);
            let mut keys = run.log.messages.msg.clone();
            keys.dedup();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys, [1, 2], "copy first: {copy_first}");
            assert!(run.log.messages.seq.is_sorted());
            assert!(run.log.attempts.seq.is_sorted());
        }
    }

    /// A queue id taken again while its message is still open (its removal
    /// line lost): that message ends there.
    #[test]
    fn a_reused_queue_id_ends_the_message_it_follows() {
        let mut run = Run::default();
        run.client(4, CLIENT, 10);
        run.message(4, Kind::Queued, 10);
        run.attempt(4, 11, Status::Deferred, 2, 11);
        assert!(run.done.0.is_empty());
        run.delivered(4, CLIENT, 2, 50);
        assert_eq!(run.done.0.len(), 2);
        assert_eq!(disposition(&run.done.0[0]), [Disposition::Removed]);
        assert_eq!(disposition(&run.done.0[1]), [Disposition::Delivered]);
        assert!(run.live.is_empty());
    }
}
