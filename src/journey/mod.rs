//! Message journeys: what happened to each recipient of each message, from
//! arrival to its final disposition, and how long it took.
//!
//! Workers append rows ([`log`]); the merging thread joins them in polars
//! ([`join`]) whenever enough have gathered, keeping only the groups still
//! open (messages in the queue), and folds complete journeys into bounded
//! statistics ([`stats`]) and, when asked, the `--journeys` export. Memory
//! follows the queue and the batch size, not the log's length.

pub mod join;
pub mod log;
pub mod stats;

use crate::aggregate::batch::Interner;
use crate::classify::provider::{HANDOFF, ProviderId};
use crate::event::Status;
use crate::export::journeys::JourneySink;
use crate::filter::Filter;
use log::JourneyLog;
use polars::prelude::*;
use stats::{Disposition, JourneyStats, RecipientJourney};
use std::sync::Arc;

/// Rows gathered before a join runs (or the open rows' count, if larger:
/// the join's cost is then spread over at least as many new rows).
pub const SETTLE_ROWS: usize = 1 << 18;

/// A group whose newest row is this much older than the newest line is
/// completed as it stands (Postfix's default queue lifetime is 5 days).
pub const STALE_SECS: i64 = 7 * 86_400;

/// Open rows (messages still in the queue, with their attempts) kept between
/// joins. Past this the open groups are closed as they stand (pending), and
/// counted in [`JourneyStats::cut_short`]: a queue of a million messages, or
/// one message "retried" millions of times by a forged or repeated line,
/// cannot grow the memory without bound.
pub const OPEN_ROWS_CAP: usize = 1 << 20;

/// Interned strings the journeys name, for the export.
#[derive(Clone, Copy, Debug)]
pub struct Names<'a> {
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

/// Journey state of a batch: rows not yet joined, open groups, statistics.
#[derive(Clone, Debug, Default)]
pub struct Journeys {
    /// Rows appended since the last join.
    pub log: JourneyLog,
    open: Option<(DataFrame, DataFrame)>,
    /// What complete journeys add up to.
    pub stats: JourneyStats,
    /// Where complete journeys are exported.
    pub sink: Option<Arc<JourneySink>>,
    /// A join that failed (reported; the statistics are then partial).
    pub error: Option<String>,
}

impl Journeys {
    /// True when nothing was gathered.
    pub fn is_empty(&self) -> bool {
        self.log.is_empty() && self.open.is_none() && self.stats.messages == 0
    }

    /// Renames reason ids after the reason table was compacted
    /// (`map[old] = new`), in the rows gathered and the open groups.
    pub fn remap_reasons(&mut self, map: &[u32]) {
        self.log.remap_reasons(map);
        self.remap_open("reason", map);
    }

    /// Renames recipient-domain ids after the domain table was compacted,
    /// in the rows, the open groups and the per-domain statistics.
    pub fn remap_domains(&mut self, map: &[u32]) {
        self.log.remap_domains(map);
        self.remap_open("domain", map);
        self.stats.remap_domains(map);
    }

    /// Renames the ids in the open attempts' column `name`.
    fn remap_open(&mut self, name: &str, map: &[u32]) {
        let Some((_, attempts)) = &mut self.open else {
            return;
        };
        let renamed = attempts
            .column(name)
            .and_then(|c| Ok(c.u32()?.apply_values(|id| log::remap(map, id))));
        let done = renamed.and_then(|ca| {
            attempts.with_column(ca.into_series().into())?;
            Ok(())
        });
        if let Err(e) = done {
            self.error = Some(format!("renaming {name} ids: {e}"));
        }
    }

    /// Takes a worker batch's rows (which come after these in the log).
    /// Joins run only on the running total, so a worker's batch has rows
    /// and nothing else.
    pub fn absorb(&mut self, right: Journeys, maps: log::Remaps<'_>) {
        debug_assert!(right.open.is_none() && right.stats.messages == 0);
        self.log.append(right.log, maps);
        if self.sink.is_none() {
            self.sink = right.sink;
        }
        if self.error.is_none() {
            self.error = right.error;
        }
    }

    /// Rows held open (messages still in the queue).
    pub fn open_rows(&self) -> usize {
        self.open
            .as_ref()
            .map_or(0, |(m, a)| m.height() + a.height())
    }

    /// Joins the rows gathered so far, if there are enough of them (or
    /// all of them when `end`), keeping open groups for later. `newest`:
    /// the newest line time seen.
    pub fn settle(&mut self, names: Names<'_>, filter: &Filter, end: bool, newest: i64) {
        if self.error.is_some() {
            self.log = JourneyLog::default();
            return;
        }
        if !end && self.log.len() < SETTLE_ROWS.max(self.open_rows()) {
            return;
        }
        if self.log.is_empty() && self.open.is_none() {
            return;
        }
        if let Err(e) = self.try_settle(names, filter, end, newest) {
            self.error = Some(format!("joining message journeys failed: {e}"));
            self.open = None;
            self.log = JourneyLog::default();
        }
    }

    fn try_settle(
        &mut self,
        names: Names<'_>,
        filter: &Filter,
        end: bool,
        newest: i64,
    ) -> PolarsResult<()> {
        let (mut m, mut a) = self.log.take_frames()?;
        if let Some((om, oa)) = self.open.take() {
            let (mut om, mut oa) = (om, oa);
            om.vstack_mut(&m)?;
            oa.vstack_mut(&a)?;
            (m, a) = (om, oa);
        }
        let closed = join::close(m, a, end, newest.saturating_sub(STALE_SECS))?;
        let (om, oa) = (closed.open_messages, closed.open_attempts);
        if om.height() + oa.height() > OPEN_ROWS_CAP {
            // Over the bound: close what is open as it stands, and say so.
            let mut messages = std::collections::HashSet::new();
            for f in [&om, &oa] {
                messages.extend(f.column("msg")?.u64()?.into_no_null_iter());
            }
            self.stats.cut_short += messages.len() as u64;
            let forced = join::close(om, oa, true, newest)?;
            self.open = None;
            self.fold_closed(&closed.journeys, names, filter)?;
            return self.fold_closed(&forced.journeys, names, filter);
        }
        self.open = (om.height() + oa.height() > 0).then_some((om, oa));
        self.fold_closed(&closed.journeys, names, filter)
    }

    /// Folds complete journeys into the statistics and the export.
    fn fold_closed(
        &mut self,
        j: &DataFrame,
        names: Names<'_>,
        filter: &Filter,
    ) -> PolarsResult<()> {
        let rows = read_rows(j)?;
        let grp = j.column("grp")?.u32()?;
        let mut messages = std::collections::HashSet::new();
        let mut deferred = std::collections::HashSet::new();
        let mut kept = Vec::with_capacity(j.height());
        for i in 0..j.height() {
            let r = rows.get(i);
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
                continue;
            }
            let (Some(p), Some(d)) = (r.provider, r.domain) else {
                // No attempt: queued and removed without one (discarded,
                // deleted), or never queued at all.
                if r.queued {
                    self.stats.messages += 1;
                    self.stats.messages_without_attempts += 1;
                    self.stats
                        .message(r.client.is_some(), r.sender, r.sender_domain, r.size);
                    kept.push(i as IdxSize);
                } else {
                    self.stats.not_queued += 1;
                }
                continue;
            };
            kept.push(i as IdxSize);
            if messages.insert(grp.get(i)) {
                self.stats.messages += 1;
                self.stats
                    .message(r.client.is_some(), r.sender, r.sender_domain, r.size);
            }
            if r.journey.deferrals > 0 && deferred.insert(grp.get(i)) {
                self.stats.totals.deferred_messages += 1;
            }
            self.stats.add(p, d, &r.journey);
            self.stats.recipient(d, r.rcpt_name, r.size, &r.journey);
        }
        if let Some(sink) = &self.sink {
            let idx = IdxCa::from_vec("i".into(), kept);
            // A stable order run after run (group ids come from seeded
            // hashes): by first sighting, queue id, final attempt, recipient.
            let part = j.take(&idx)?.sort(
                ["first_seen", "queue_id", "final_seq", "recipient"],
                SortMultipleOptions::default()
                    .with_nulls_last(true)
                    .with_maintain_order(true),
            )?;
            sink.write(&part, names);
        }
        Ok(())
    }
}

/// Typed access to the joined frame's columns.
pub(crate) fn read_rows(j: &DataFrame) -> PolarsResult<Rows> {
    Rows::of(j)
}

/// The joined frame's columns, typed.
pub(crate) struct Rows {
    provider: Vec<Option<u16>>,
    domain: Vec<Option<u32>>,
    status: Vec<Option<u8>>,
    attempts: Vec<Option<u32>>,
    deferrals: Vec<Option<u32>>,
    final_ts: Vec<Option<i64>>,
    final_seq: Vec<Option<u64>>,
    first_seen: Vec<Option<i64>>,
    arrived: Vec<Option<i64>>,
    expired_at: Vec<Option<i64>>,
    expire_seq: Vec<Option<u64>>,
    removed: Vec<Option<bool>>,
    removed_r: Vec<Option<bool>>,
    delay_ms: Vec<Option<u32>>,
    sender_domain: Vec<Option<u32>>,
    size: Vec<Option<u64>>,
    sender: Vec<Option<u32>>,
    client: Vec<Option<u32>>,
    rcpt_name: Vec<Option<u32>>,
    split: [Vec<Option<u32>>; 4],
    stitched: Vec<Option<bool>>,
}

/// The value at `i`, if any.
#[inline]
fn at<T: Copy>(v: &[Option<T>], i: usize) -> Option<T> {
    v.get(i).copied().flatten()
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

impl Rows {
    fn of(j: &DataFrame) -> PolarsResult<Rows> {
        let c = |name: &str| j.column(name);
        // Sentinels (see `JourneyLog::take_frames`) read as none.
        let id = |name: &str| -> PolarsResult<Vec<Option<u32>>> {
            Ok(c(name)?
                .u32()?
                .iter()
                .map(|v| v.filter(|x| *x != u32::MAX))
                .collect())
        };
        Ok(Rows {
            provider: c("provider")?.u16()?.iter().collect(),
            domain: c("domain")?.u32()?.iter().collect(),
            status: c("status")?.u8()?.iter().collect(),
            attempts: c("attempts")?.u32()?.iter().collect(),
            deferrals: c("deferrals")?.u32()?.iter().collect(),
            final_ts: c("final_ts")?.i64()?.iter().collect(),
            final_seq: c("final_seq")?.u64()?.iter().collect(),
            first_seen: c("first_seen")?.i64()?.iter().collect(),
            arrived: c("arrived")?.i64()?.iter().collect(),
            expired_at: c("expired_at")?.i64()?.iter().collect(),
            expire_seq: c("expire_seq")?.u64()?.iter().collect(),
            removed: c("removed")?.bool()?.iter().collect(),
            removed_r: c("removed_r")?.bool()?.iter().collect(),
            stitched: c("stitched")?.bool()?.iter().collect(),
            delay_ms: id("delay_ms")?,
            split: [
                id("split_a")?,
                id("split_b")?,
                id("split_c")?,
                id("split_d")?,
            ],
            sender_domain: id("sender_domain")?,
            sender: id("sender")?,
            client: id("client")?,
            rcpt_name: id("rcpt_name")?,
            size: c("size")?
                .u64()?
                .iter()
                .map(|v| v.filter(|x| *x != u64::MAX))
                .collect(),
        })
    }

    pub(crate) fn get(&self, i: usize) -> Row {
        let status = at(&self.status, i);
        let final_ts = at(&self.final_ts, i);
        let first_seen = at(&self.first_seen, i);
        let arrived = at(&self.arrived, i).or(first_seen);
        let removed = at(&self.removed, i)
            .or(at(&self.removed_r, i))
            .unwrap_or(false);
        let expired_after = match (at(&self.expire_seq, i), at(&self.final_seq, i)) {
            (Some(e), Some(f)) => e > f,
            (Some(_), None) => true,
            _ => false,
        };
        let provider = at(&self.provider, i);
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
            Disposition::Expired if expired_after => at(&self.expired_at, i),
            Disposition::Delivered | Disposition::Bounced | Disposition::Expired => final_ts,
            Disposition::Pending | Disposition::Removed | Disposition::HandedOff => None,
        };
        // Postfix's delay= counts from the queue file's creation, to the
        // millisecond: better than the log's whole seconds when present —
        // but a stitched journey began in the first queue file, before the
        // content filter queued it again.
        let stitched = at(&self.stitched, i).unwrap_or(false);
        let logged = at(&self.delay_ms, i).filter(|_| {
            matches!(disposition, Disposition::Delivered | Disposition::Bounced)
                && !expired_after
                && !stitched
        });
        let time_ms = logged.or_else(|| {
            let (a, z) = (arrived?, ended?);
            u32::try_from((z - a).max(0).saturating_mul(1000)).ok()
        });
        let split = match self.split.each_ref().map(|c| at(c, i)) {
            [Some(a), Some(b), Some(c), Some(d)] => Some([a, b, c, d]),
            _ => None,
        };
        Row {
            provider,
            domain: at(&self.domain, i),
            sender_domain: at(&self.sender_domain, i),
            arrived: at(&self.arrived, i),
            ended,
            final_ts: ended.or(final_ts),
            first_seen,
            queued: at(&self.sender_domain, i).is_some() || at(&self.size, i).is_some(),
            sender: at(&self.sender, i),
            client: at(&self.client, i),
            size: at(&self.size, i),
            rcpt_name: at(&self.rcpt_name, i),
            journey: RecipientJourney {
                disposition,
                attempts: at(&self.attempts, i).unwrap_or(0),
                deferrals: at(&self.deferrals, i).unwrap_or(0),
                time_ms,
                split,
            },
        }
    }
}
