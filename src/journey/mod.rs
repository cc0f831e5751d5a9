//! Message journeys: what happened to each recipient of each message, from
//! arrival to its final disposition, and how long it took.
//!
//! A worker follows each message of its run as the lines come ([`live`])
//! and counts a journey into bounded statistics ([`stats`]) the moment the
//! message leaves the queue. What it cannot finish alone (messages still
//! queued when its run ends, begun in an earlier run, or passed through a
//! content filter) goes to the merging thread as rows ([`log`]), which joins
//! them ([`join`]) whenever enough have gathered, keeping only the groups
//! still open. With the `--journeys` export every row goes to the merge, so
//! the export's rows come out in one order. Memory follows the queue and the
//! run size, not the log's length.

pub mod join;
pub mod live;
pub mod log;
pub mod stats;

use crate::classify::provider::{HANDOFF, ProviderId};
use crate::event::Status;
use crate::filter::Filter;
use crate::intern::Interner;
use live::Live;
use log::{AttemptRow, AttemptRows, JourneyLog, MessageRow, MessageRows, StoredAttempt};
use stats::{Disposition, JourneyStats, RecipientJourney};
use std::sync::Arc;

/// Rows gathered before a join runs (or the open rows' count, if larger:
/// the join's cost is then spread over at least as many new rows).
///
/// What reaches the merge is what a worker's run could not finish alone —
/// mostly retries of messages that arrived in an earlier run, a few
/// thousand rows per run — so this bounds the merge's row buffers more
/// than it paces the join: 2^18 rows held ~50 MiB of them on the 1 GiB
/// bench log, 2^16 a quarter, at the same run time (reports identical;
/// 2^15 costs 10 % in open rows cut again at every join).
pub const SETTLE_ROWS: usize = 1 << 16;

/// A group whose newest row is this much older than the newest line is
/// completed as it stands (Postfix's default queue lifetime is 5 days).
pub const STALE_SECS: i64 = 7 * 86_400;

/// How long a message re-injected by a content filter stays open after its
/// last line, for the filter's reply that names it: Postfix waits up to
/// `smtp_data_done_timeout` (600 s) for that reply.
pub const REINJECTION_QUIET_SECS: i64 = 900;

/// Open rows (messages still in the queue, with their attempts) kept between
/// joins. Past this the open groups are closed as they stand (pending), and
/// counted in [`JourneyStats::cut_short`]: a queue of a million messages, or
/// one message "retried" millions of times by a forged or repeated line,
/// cannot grow the memory without bound.
pub const OPEN_ROWS_CAP: usize = 1 << 20;

/// Interned strings the journeys name, for the export.
#[derive(Clone, Copy, Debug)]
pub struct JourneyNames<'a> {
    /// Delivered recipients' addresses.
    pub delivered_to: &'a Interner,
    /// Sender addresses.
    pub addresses: &'a Interner,
    /// Sender domains.
    pub senders: &'a Interner,
    /// Clients.
    pub clients: &'a Interner,
    /// Recipient domains.
    pub domains: &'a Interner,
    /// Masked reasons.
    pub reasons: &'a Interner,
}

impl JourneyNames<'_> {
    /// Whether an interned client is one a content filter on this host
    /// re-injects from (loopback): its message may be named by a hand-off.
    pub fn reinjected(&self, client: u32) -> bool {
        crate::parse::postfix::is_loopback_client(self.clients.get(client))
    }
}

/// Takes complete journeys (`--journeys`): the trait an export implements
/// (`export::journeys::JourneySink`), so the engine never imports it.
pub trait JourneyWriter: Send + Sync + std::fmt::Debug {
    /// Appends complete journeys, in the order given; their ids name strings
    /// in `names`.
    fn write(&self, rows: &[&join::Joined], names: JourneyNames<'_>);
}

/// Journey state of a batch: rows not yet joined, open groups, statistics.
#[derive(Clone, Debug, Default)]
pub struct Journeys {
    /// Rows appended since the last join.
    pub log: JourneyLog,
    /// Rows of messages still open after the last join (in log order).
    open: (MessageRows, AttemptRows),
    /// A worker's messages while it scans its run (empty between runs).
    pub live: Live,
    /// The join's working tables, reused from join to join.
    scratch: join::Scratch,
    /// What complete journeys add up to.
    pub stats: JourneyStats,
    /// Where complete journeys are exported.
    pub sink: Option<Arc<dyn JourneyWriter>>,
    /// A join that failed (reported; the statistics are then partial).
    pub error: Option<String>,
    /// Rows gathered before a join runs; 0: [`SETTLE_ROWS`] (tests join
    /// more often, to see open messages carried from join to join).
    pub settle_rows: usize,
}

impl Journeys {
    /// Empties the journeys for a worker's next run, keeping the row
    /// tables' and the join's buffers (the export's sink and settings stay).
    pub fn reset(&mut self) {
        self.log.messages.clear();
        self.log.attempts.clear();
        self.log.restarts.clear();
        self.log.next_seq = 0;
        self.open.0.clear();
        self.open.1.clear();
        self.stats.clear();
        self.error = None;
    }

    /// True when nothing was gathered.
    pub fn is_empty(&self) -> bool {
        self.log.is_empty() && self.open_rows() == 0 && self.stats.messages == 0
    }

    /// Renames reason ids after the reason table was compacted
    /// (`map[old] = new`), in the rows gathered and the open groups.
    pub fn remap_reasons(&mut self, map: &[u32]) {
        self.log.remap_reasons(map);
        self.live.remap_reasons(map);
        for r in &mut self.open.1.reason {
            *r = crate::intern::remap(map, *r);
        }
    }

    /// Renames recipient-domain ids after the domain table was compacted,
    /// in the rows, the open groups and the per-domain statistics.
    pub fn remap_domains(&mut self, map: &[u32]) {
        self.log.remap_domains(map);
        self.live.remap_domains(map);
        for d in &mut self.open.1.domain {
            *d = crate::intern::remap(map, *d);
        }
        self.stats.remap_domains(map);
    }

    /// Takes a worker batch's journeys (which come after these in the
    /// log): the rows it left open and the statistics of the messages it
    /// completed.
    /// Its tables are left empty with their memory, for the batch's reuse.
    pub fn absorb(&mut self, right: &mut Journeys, maps: &crate::intern::Ids) {
        debug_assert!(right.open_rows() == 0 && right.live.is_empty());
        self.log.append(std::mem::take(&mut right.log), maps);
        self.stats.absorb(&mut right.stats, maps);
        if self.sink.is_none() {
            self.sink = right.sink.take();
        }
        if self.error.is_none() {
            self.error = right.error.take();
        }
    }

    /// Rows held open (messages still in the queue).
    pub fn open_rows(&self) -> usize {
        self.open.0.len() + self.open.1.len()
    }

    /// A worker's message row: into its message's journey
    /// ([`live::Live`]), which is counted here if it completes.
    pub fn live_message(&mut self, row: MessageRow, names: JourneyNames<'_>, filter: &Filter) {
        self.live_row(names, filter, |live, seq, restarts, fold| {
            let reinjected = |client| names.reinjected(client);
            live.message(seq, row, reinjected, restarts, fold);
        });
    }

    /// A worker's attempt row: into its recipient's journey.
    pub fn live_attempt(&mut self, row: &AttemptRow, names: JourneyNames<'_>, filter: &Filter) {
        self.live_row(names, filter, |live, seq, restarts, fold| {
            live.attempt(StoredAttempt::of(seq, row), restarts, fold);
        });
    }

    /// Numbers a worker's next row (log order) and gives `add` the live
    /// journeys, the row's number, the restarts, and the statistics a
    /// completed journey is counted into.
    fn live_row<'a>(
        &'a mut self,
        names: JourneyNames<'a>,
        filter: &'a Filter,
        add: impl FnOnce(&mut Live, u64, &mut Vec<log::Restart>, &mut Fold<'a>),
    ) {
        let seq = self.log.next_seq;
        self.log.next_seq += 1;
        let mut fold = Fold {
            stats: &mut self.stats,
            names,
            filter,
        };
        add(&mut self.live, seq, &mut self.log.restarts, &mut fold);
    }

    /// A worker's run has ended: the messages it could not finish go to
    /// the merge as rows ([`live::Live::close`]).
    pub fn end_run(&mut self) {
        self.live.close(&mut self.log);
    }

    /// Joins the rows gathered so far, if there are enough of them (or
    /// all of them when `end`), keeping open groups for later. `newest`:
    /// the newest line time seen.
    pub fn settle(&mut self, names: JourneyNames<'_>, filter: &Filter, end: bool, newest: i64) {
        if self.error.is_some() {
            self.log = JourneyLog::default();
            return;
        }
        let gathered = self.log.len().max(self.log.restarts.len());
        let every = if self.settle_rows == 0 {
            SETTLE_ROWS
        } else {
            self.settle_rows
        };
        if !end && gathered < every.max(self.open_rows()) {
            return;
        }
        if self.log.is_empty() && self.open_rows() == 0 {
            // Restarts only end open messages: there are none.
            self.log.restarts.clear();
            return;
        }
        self.join_and_fold(names, filter, end, newest);
    }

    fn join_and_fold(&mut self, names: JourneyNames<'_>, filter: &Filter, end: bool, newest: i64) {
        let (mut om, mut oa) = std::mem::take(&mut self.open);
        self.log.drain_into(&mut om, &mut oa);
        let restarts = std::mem::take(&mut self.log.restarts);
        let mut scratch = std::mem::take(&mut self.scratch);
        let reinjected = |client| names.reinjected(client);
        let total = |everything, stale_before| join::Scope {
            everything,
            stale_before,
            quiet_before: newest.saturating_sub(REINJECTION_QUIET_SECS),
            reinjected: &reinjected,
        };
        let scope = total(end, newest.saturating_sub(STALE_SECS));
        let closed = join::close(&mut scratch, &mut om, &mut oa, &restarts, scope);
        self.fold_closed(&mut scratch, names, filter);
        self.recycle(om, oa);
        let (mut om, mut oa) = (closed.open_messages, closed.open_attempts);
        if om.len() + oa.len() > OPEN_ROWS_CAP {
            // Over the bound: close what is open as it stands, and say so.
            let mut messages = hashbrown::HashSet::with_hasher(crate::hashing::Seeded);
            messages.extend(om.msg.iter().chain(&oa.msg).copied());
            self.stats.cut_short += messages.len() as u64;
            let forced = join::close(&mut scratch, &mut om, &mut oa, &[], total(true, newest));
            self.fold_closed(&mut scratch, names, filter);
            self.open = (forced.open_messages, forced.open_attempts);
        } else {
            join::fold_open(&mut scratch, &mut om, &mut oa, &reinjected);
            self.open = (om, oa);
        }
        // The buffer goes back for the next restarts.
        let mut restarts = restarts;
        restarts.clear();
        self.log.restarts = restarts;
        self.scratch = scratch;
    }

    /// Keeps the larger of a joined table and the log's (emptied) as the
    /// log's buffer: the next rows then need no fresh allocation.
    fn recycle(&mut self, mut m: MessageRows, mut a: AttemptRows) {
        m.clear();
        a.clear();
        let (lm, la) = (&mut self.log.messages, &mut self.log.attempts);
        if m.seq.capacity() > lm.seq.capacity()
            && lm.is_empty()
            && m.text.is_some() == lm.text.is_some()
        {
            *lm = m;
        }
        if a.seq.capacity() > la.seq.capacity()
            && la.is_empty()
            && a.text.is_some() == la.text.is_some()
        {
            *la = a;
        }
    }

    /// Folds the complete journeys of the last join into the statistics
    /// and the export.
    fn fold_closed(&mut self, x: &mut join::Scratch, names: JourneyNames<'_>, filter: &Filter) {
        let j = &x.rows;
        // Per message (`grp`, dense): counted, and counted as deferred.
        let counted = &mut x.counted;
        let groups = j.iter().map(|r| r.grp as usize + 1).max().unwrap_or(0);
        counted.clear();
        counted.resize(2 * groups, false);
        let (messages, deferred) = counted.split_at_mut(groups);
        let mut kept: Vec<&join::Joined> =
            Vec::with_capacity(if self.sink.is_some() { j.len() } else { 0 });
        let exporting = self.sink.is_some();
        for joined in j {
            let g = joined.grp as usize;
            if fold_row(
                &mut self.stats,
                joined,
                names,
                filter,
                &mut messages[g],
                &mut deferred[g],
            ) && exporting
            {
                kept.push(joined);
            }
        }
        if let Some(sink) = &self.sink {
            // A stable order run after run (group ids come from seeded
            // hashes): by first sighting, queue id, final attempt, recipient,
            // what is missing last.
            fn last<T: Ord>(v: Option<T>) -> (bool, Option<T>) {
                (v.is_none(), v)
            }
            let key = |x: &join::Joined| {
                let t = x.text.as_deref();
                (
                    last(x.first_seen),
                    last(t.and_then(|t| t.queue_id.clone())),
                    last(x.recipient.as_ref().map(|r| r.final_seq)),
                    last(t.and_then(|t| t.recipient.clone())),
                )
            };
            kept.sort_by_cached_key(|x| key(x));
            sink.write(&kept, names);
        }
    }
}

/// Counts the complete journeys of a worker's run as they complete.
struct Fold<'a> {
    stats: &'a mut JourneyStats,
    names: JourneyNames<'a>,
    filter: &'a Filter,
}

impl live::Finish for Fold<'_> {
    fn finish(&mut self, rows: &[join::Joined]) {
        let (mut counted, mut deferred) = (false, false);
        for joined in rows {
            fold_row(
                self.stats,
                joined,
                self.names,
                self.filter,
                &mut counted,
                &mut deferred,
            );
        }
    }
}

/// Counts one recipient's complete journey (`joined`) in `stats`, unless
/// the filter leaves it out; `counted` and `deferred` are its message's
/// (counted once as a message, and once as deferred). Returns whether it
/// was kept.
fn fold_row(
    stats: &mut JourneyStats,
    joined: &join::Joined,
    names: JourneyNames<'_>,
    filter: &Filter,
    counted: &mut bool,
    deferred: &mut bool,
) -> bool {
    let r = Row::of(joined);
    let keep_sender = r
        .sender_domain
        .is_none_or(|d| filter.keeps_sender(names.senders.get(d)));
    let when = r.final_ts.or(r.first_seen).unwrap_or(0);
    let keep = keep_sender
        && match r.provider {
            Some(p) => filter.keeps(when, p),
            None => filter.keeps_time(when),
        };
    if !keep {
        return false;
    }
    let (Some(p), Some(d)) = (r.provider, r.domain) else {
        // No attempt: queued and removed without one (discarded, deleted),
        // or never queued at all.
        if r.queued {
            stats.messages += 1;
            stats.messages_without_attempts += 1;
            stats.message(r.client.is_some(), r.sender, r.sender_domain, r.size);
            return true;
        }
        stats.not_queued += 1;
        return false;
    };
    if !std::mem::replace(counted, true) {
        stats.messages += 1;
        stats.message(r.client.is_some(), r.sender, r.sender_domain, r.size);
    }
    if r.journey.deferrals > 0 && !std::mem::replace(deferred, true) {
        stats.totals.deferred_messages += 1;
    }
    stats.add(p, d, &r.journey);
    stats.recipient(d, r.rcpt_name, r.size, &r.journey);
    true
}

/// One joined row, read.
pub(crate) struct Row {
    pub provider: Option<ProviderId>,
    pub domain: Option<u32>,
    pub sender_domain: Option<u32>,
    /// Arrival (or first sight) time.
    pub arrived: Option<i64>,
    /// When the final disposition was logged (delivered, bounced, expired).
    pub ended: Option<i64>,
    pub final_ts: Option<i64>,
    pub first_seen: Option<i64>,
    /// The queue manager saw the message (a sender or size was logged).
    pub queued: bool,
    /// Interned sender address.
    pub sender: Option<u32>,
    /// Interned client (smtpd `client=`, pickup, Exim `H=`): received here.
    pub client: Option<u32>,
    /// Message size.
    pub size: Option<u64>,
    /// Interned address of a delivered recipient.
    pub rcpt_name: Option<u32>,
    pub journey: RecipientJourney,
}

impl Row {
    /// Reads a joined row: its disposition, times and delays.
    pub(crate) fn of(j: &join::Joined) -> Row {
        let r = j.recipient.as_ref();
        let status = r.map(|r| r.status);
        let final_ts = r.map(|r| r.final_ts);
        let final_seq = r.map(|r| r.final_seq);
        let first_seen = j.first_seen;
        let arrived = j.arrived.or(first_seen);
        let removed = j.removed;
        let expired_after = match (j.expire_seq, final_seq) {
            (Some(e), Some(f)) => e > f,
            (Some(_), None) => true,
            _ => false,
        };
        let provider = r.map(|r| r.provider);
        let disposition = match status {
            // Accepted by a content filter, and what became of it is not
            // in the log (the filter's reply named no new queue id, or the
            // re-injection is elsewhere): not a delivery.
            Some(s) if s == Status::Sent as u8 && provider == Some(HANDOFF) => {
                Disposition::HandedOff
            }
            Some(s) if s == Status::Sent as u8 => Disposition::Delivered,
            Some(s) if s == Status::Bounced as u8 => Disposition::Bounced,
            Some(s) if s == Status::Expired as u8 => Disposition::Expired,
            _ if expired_after => Disposition::Expired,
            _ if removed => Disposition::Removed,
            _ => Disposition::Pending,
        };
        let ended = match disposition {
            Disposition::Expired if expired_after => j.expired_at,
            Disposition::Delivered | Disposition::Bounced | Disposition::Expired => final_ts,
            Disposition::Pending | Disposition::Removed | Disposition::HandedOff => None,
        };
        // Postfix's delay= counts from the queue file's creation, to the
        // millisecond: better than the log's whole seconds when present —
        // but a stitched journey began in the first queue file, before the
        // content filter queued it again.
        let logged = r.and_then(|r| r.delay_ms).filter(|_| {
            matches!(disposition, Disposition::Delivered | Disposition::Bounced)
                && !expired_after
                && !j.stitched
        });
        let time_ms = logged.or_else(|| {
            let (a, z) = (arrived?, ended?);
            u32::try_from((z - a).max(0).saturating_mul(1000)).ok()
        });
        let split = match r.map(|r| r.split) {
            Some([Some(a), Some(b), Some(c), Some(d)]) => Some([a, b, c, d]),
            _ => None,
        };
        Row {
            provider,
            domain: r.map(|r| r.domain),
            sender_domain: j.sender_domain,
            arrived: j.arrived,
            ended,
            final_ts: ended.or(final_ts),
            first_seen,
            queued: j.sender_domain.is_some() || j.size.is_some(),
            sender: j.sender,
            client: j.client,
            size: j.size,
            rcpt_name: r.and_then(|r| r.rcpt_name),
            journey: RecipientJourney {
                disposition,
                attempts: r.map_or(0, |r| r.attempts),
                deferrals: r.map_or(0, |r| r.deferrals),
                time_ms,
                split,
            },
        }
    }
}
