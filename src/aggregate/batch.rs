//! Per-worker accumulators: what one rayon worker learns from its chunks.
//!
//! A `Batch` is small and bounded by what is *distinct* in the input
//! (providers × domains × statuses × codes, masked reasons), never by its
//! size. Workers fold lines into their own batch; batches are merged in file
//! order (rayon's `reduce` keeps adjacent pieces in order), which is what
//! lets a Postfix `status=expired` line find its recipient in an earlier chunk.

use crate::classify::provider::ProviderId;
use crate::event::Status;
use crate::parse::Unparsed;
use crate::parse::header::Format;
use hashbrown::HashMap;
use std::hash::BuildHasher;

type Fast = foldhash::fast::FixedState;

/// At most this many distinct domains are kept per batch; the rest are
/// counted under [`OVERFLOW_DOMAIN`] (never dropped).
pub const MAX_DOMAINS: usize = 1 << 20;
/// Domain label used once [`MAX_DOMAINS`] is reached.
pub const OVERFLOW_DOMAIN: &[u8] = b"(more domains than the table holds)";
/// At most this many distinct masked reasons are kept per batch.
pub const MAX_REASONS: usize = 1 << 16;
/// Reason label used once [`MAX_REASONS`] is reached.
pub const OVERFLOW_REASON: &[u8] = b"(more distinct reasons than the table holds)";
/// Deferral memory kept for joining expiries: entries older than this
/// (relative to the newest line) are dropped once the table is large.
/// Postfix's default maximal_queue_lifetime is 5 days.
pub const DEFERRAL_HORIZON_SECS: i64 = 6 * 86_400;
const DEFERRAL_TABLE_SOFT_LIMIT: usize = 1 << 18;

/// Interns byte strings to dense `u32` ids, so hot keys are small and `Copy`.
#[derive(Clone, Debug, Default)]
pub struct Interner {
    map: HashMap<Box<[u8]>, u32, Fast>,
    items: Vec<Box<[u8]>>,
    limit: usize,
    overflow: &'static [u8],
}

impl Interner {
    /// An interner that keeps at most `limit` strings, then maps to `overflow`.
    pub fn with_limit(limit: usize, overflow: &'static [u8]) -> Interner {
        Interner {
            map: HashMap::default(),
            items: Vec::new(),
            limit,
            overflow,
        }
    }

    /// The id of `s`, adding it if new. Allocates only for new strings.
    #[inline]
    pub fn intern(&mut self, s: &[u8]) -> u32 {
        if let Some(id) = self.map.get(s) {
            return *id;
        }
        let s = if self.items.len() >= self.limit {
            self.overflow
        } else {
            s
        };
        if let Some(id) = self.map.get(s) {
            return *id;
        }
        let id = self.items.len() as u32;
        self.items.push(s.into());
        self.map.insert(s.into(), id);
        id
    }

    /// The string of an id.
    pub fn get(&self, id: u32) -> &[u8] {
        self.items.get(id as usize).map_or(&[][..], |b| &b[..])
    }

    /// Number of strings held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// One row of the summary: provider × domain × status × code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SummaryKey {
    /// Provider id.
    pub provider: ProviderId,
    /// Interned recipient domain.
    pub domain: u32,
    /// Delivery status.
    pub status: Status,
    /// `Dsn::key()`, or 0 when the line had no enhanced code.
    pub dsn: u32,
    /// Class (2/4/5): from the code, else the basic reply code, else the status.
    pub class: u8,
}

/// One row of the reasons table: provider × status × code × masked text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReasonKey {
    /// Provider id.
    pub provider: ProviderId,
    /// Delivery status.
    pub status: Status,
    /// `Dsn::key()` or 0.
    pub dsn: u32,
    /// Class as in [`SummaryKey`].
    pub class: u8,
    /// Interned masked reason.
    pub reason: u32,
}

/// Count and time span of one reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReasonStats {
    /// Attempts with this reason.
    pub count: u64,
    /// First time seen (UTC seconds).
    pub first: i64,
    /// Last time seen.
    pub last: i64,
}

/// The last deferral of a message, remembered to place its expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastDeferral {
    /// Provider of the deferred recipient.
    pub provider: ProviderId,
    /// Interned domain.
    pub domain: u32,
    /// Interned masked reason of the deferral.
    pub reason: u32,
    /// When.
    pub ts: i64,
}

/// A Postfix expiry whose deferrals were not (yet) seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingExpiry {
    /// Hash of host + queue id.
    pub message: u64,
    /// When.
    pub ts: i64,
}

/// Line-level counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Lines read (a final line without newline counts).
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Empty lines.
    pub blank: u64,
    /// Lines from programs other than Postfix and Exim.
    pub other_program: u64,
    /// Postfix/Exim lines that are not deliveries (connects, queue, cleanup …).
    pub mail_other: u64,
    /// Delivery attempts (one per recipient per attempt), expiries included.
    pub deliveries: u64,
    /// Delivery attempts by status.
    pub by_status: [u64; 6],
    /// Deferrals the MTA logged without trying ("temporarily suspended",
    /// "retry time not reached").
    pub not_attempted: u64,
    /// Exim `*>` lines (delivery suppressed with -N).
    pub fake_deliveries: u64,
    /// Envelope-sender lines (qmgr `from=`, Exim `<=`).
    pub senders: u64,
    /// Lines not understood, by reason.
    pub unparsed: [u64; 6],
    /// Lines whose text had invalid UTF-8 (kept as bytes, escaped on output).
    pub invalid_utf8: u64,
    /// Lines by timestamp format.
    pub by_format: [u64; 3],
}

impl Counters {
    /// Total lines not understood.
    pub fn unparsed_total(&self) -> u64 {
        self.unparsed.iter().sum()
    }

    fn add(&mut self, o: &Counters) {
        self.lines += o.lines;
        self.bytes += o.bytes;
        self.blank += o.blank;
        self.other_program += o.other_program;
        self.mail_other += o.mail_other;
        self.deliveries += o.deliveries;
        self.not_attempted += o.not_attempted;
        self.fake_deliveries += o.fake_deliveries;
        self.senders += o.senders;
        self.invalid_utf8 += o.invalid_utf8;
        for (a, b) in self.by_status.iter_mut().zip(o.by_status) {
            *a += b;
        }
        for (a, b) in self.unparsed.iter_mut().zip(o.unparsed) {
            *a += b;
        }
        for (a, b) in self.by_format.iter_mut().zip(o.by_format) {
            *a += b;
        }
    }
}

/// At most this many sample lines are kept per unparsed reason.
pub const SAMPLES_PER_REASON: usize = 3;
/// Sample lines are cut to this many bytes.
pub const SAMPLE_LEN: usize = 200;

/// Everything a worker accumulates.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Line counters.
    pub counters: Counters,
    /// Earliest and latest line time seen.
    pub span: Option<(i64, i64)>,
    /// Interned recipient domains.
    pub domains: Interner,
    /// Interned masked reasons.
    pub reasons: Interner,
    /// Summary counts.
    pub summary: HashMap<SummaryKey, u64, Fast>,
    /// Reason counts.
    pub reason_counts: HashMap<ReasonKey, ReasonStats, Fast>,
    /// Last deferral per message (host + queue id hash).
    pub deferrals: HashMap<u64, LastDeferral, Fast>,
    /// Expiries not yet joined to a deferral.
    pub pending_expiries: Vec<PendingExpiry>,
    /// A few sample lines per unparsed reason (raw bytes, escaped on output).
    pub samples: [Vec<Box<[u8]>>; 6],
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            counters: Counters::default(),
            span: None,
            domains: Interner::with_limit(MAX_DOMAINS, OVERFLOW_DOMAIN),
            reasons: Interner::with_limit(MAX_REASONS, OVERFLOW_REASON),
            summary: HashMap::default(),
            reason_counts: HashMap::default(),
            deferrals: HashMap::default(),
            pending_expiries: Vec::new(),
            samples: Default::default(),
        }
    }
}

/// Hash identifying a message: MTA host plus queue id.
#[inline]
pub fn message_key(host: &[u8], queue_id: &[u8]) -> u64 {
    let state = Fast::default();
    let mut h = state.build_hasher();
    std::hash::Hasher::write(&mut h, host);
    std::hash::Hasher::write_u8(&mut h, 0xff);
    std::hash::Hasher::write(&mut h, queue_id);
    std::hash::Hasher::finish(&h)
}

impl Batch {
    /// Records a line's time.
    #[inline]
    pub fn see_time(&mut self, ts: i64) {
        self.span = Some(match self.span {
            None => (ts, ts),
            Some((a, b)) => (a.min(ts), b.max(ts)),
        });
    }

    /// Counts a line by its timestamp format.
    #[inline]
    pub fn see_format(&mut self, f: Format) {
        self.counters.by_format[f as usize] += 1;
    }

    /// Counts a line that was not understood, keeping a few samples.
    #[cold]
    pub fn unparsed(&mut self, why: Unparsed, line: &[u8]) {
        self.counters.unparsed[why.index()] += 1;
        let samples = &mut self.samples[why.index()];
        if samples.len() < SAMPLES_PER_REASON {
            samples.push(line[..line.len().min(SAMPLE_LEN)].into());
        }
    }

    /// Adds one summary row.
    #[inline]
    pub fn count(&mut self, key: SummaryKey) {
        *self.summary.entry(key).or_insert(0) += 1;
        self.counters.deliveries += 1;
        self.counters.by_status[key.status.index()] += 1;
    }

    /// Adds one reason observation.
    #[inline]
    pub fn count_reason(&mut self, key: ReasonKey, ts: i64) {
        self.reason_counts
            .entry(key)
            .and_modify(|s| {
                s.count += 1;
                s.first = s.first.min(ts);
                s.last = s.last.max(ts);
            })
            .or_insert(ReasonStats {
                count: 1,
                first: ts,
                last: ts,
            });
    }

    /// Joins an expiry to the message's last deferral, if seen; else keeps it pending.
    pub fn expire(&mut self, message: u64, ts: i64) {
        match self.deferrals.remove(&message) {
            Some(last) => self.count_expiry(last, ts),
            None => self.pending_expiries.push(PendingExpiry { message, ts }),
        }
    }

    fn count_expiry(&mut self, last: LastDeferral, ts: i64) {
        self.count(SummaryKey {
            provider: last.provider,
            domain: last.domain,
            status: Status::Expired,
            dsn: 0,
            class: Status::Expired.implied_class(),
        });
        self.count_reason(
            ReasonKey {
                provider: last.provider,
                status: Status::Expired,
                dsn: 0,
                class: Status::Expired.implied_class(),
                reason: last.reason,
            },
            ts,
        );
    }

    /// Merges `right` (which comes *after* `self` in the input) into `self`.
    pub fn merge(mut self, right: Batch) -> Batch {
        if self.counters.lines == 0 && self.summary.is_empty() && self.deferrals.is_empty() {
            return right;
        }
        self.counters.add(&right.counters);
        if let Some((a, b)) = right.span {
            self.see_time(a);
            self.see_time(b);
        }
        let dom: Vec<u32> = right
            .domains
            .items
            .iter()
            .map(|d| self.domains.intern(d))
            .collect();
        let rea: Vec<u32> = right
            .reasons
            .items
            .iter()
            .map(|r| self.reasons.intern(r))
            .collect();
        for (mut k, n) in right.summary {
            k.domain = dom[k.domain as usize];
            *self.summary.entry(k).or_insert(0) += n;
        }
        for (mut k, s) in right.reason_counts {
            k.reason = rea[k.reason as usize];
            self.reason_counts
                .entry(k)
                .and_modify(|t| {
                    t.count += s.count;
                    t.first = t.first.min(s.first);
                    t.last = t.last.max(s.last);
                })
                .or_insert(s);
        }
        // Expiries on the right look back into deferrals on the left.
        for p in right.pending_expiries {
            // Pending expiries were not counted yet; they are counted once, here or in finish().
            match self.deferrals.remove(&p.message) {
                Some(last) => self.count_expiry(last, p.ts),
                None => self.pending_expiries.push(p),
            }
        }
        for (m, mut d) in right.deferrals {
            d.domain = dom[d.domain as usize];
            d.reason = rea[d.reason as usize];
            self.deferrals.insert(m, d);
        }
        for (mine, theirs) in self.samples.iter_mut().zip(right.samples) {
            for s in theirs {
                if mine.len() < SAMPLES_PER_REASON {
                    mine.push(s);
                }
            }
        }
        self.evict_old_deferrals();
        self
    }

    /// Keeps the deferral table bounded by queue lifetime, not input size.
    fn evict_old_deferrals(&mut self) {
        if self.deferrals.len() < DEFERRAL_TABLE_SOFT_LIMIT {
            return;
        }
        if let Some((_, newest)) = self.span {
            let horizon = newest - DEFERRAL_HORIZON_SECS;
            self.deferrals.retain(|_, d| d.ts >= horizon);
        }
    }

    /// Counts expiries that never found their deferral, under `provider`
    /// with an empty domain, so that no expiry is lost.
    pub fn finish(&mut self, unknown_provider: ProviderId) {
        let pending = std::mem::take(&mut self.pending_expiries);
        let empty = self.domains.intern(b"");
        let reason = self
            .reasons
            .intern(b"(expired; no earlier deferral of this message in the input)");
        for p in pending {
            self.count_expiry(
                LastDeferral {
                    provider: unknown_provider,
                    domain: empty,
                    reason,
                    ts: p.ts,
                },
                p.ts,
            );
        }
        self.deferrals = HashMap::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(provider: ProviderId, domain: u32, status: Status) -> SummaryKey {
        SummaryKey {
            provider,
            domain,
            status,
            dsn: 0,
            class: status.implied_class(),
        }
    }

    #[test]
    fn interner_is_bounded_and_stable() {
        let mut i = Interner::with_limit(2, b"(overflow)");
        assert_eq!(i.intern(b"a"), 0);
        assert_eq!(i.intern(b"b"), 1);
        assert_eq!(i.intern(b"a"), 0);
        let c = i.intern(b"c");
        assert_eq!(i.get(c), b"(overflow)");
        assert_eq!(i.intern(b"d"), c);
        assert_eq!(i.len(), 3);
    }

    #[test]
    fn merge_remaps_domains_and_sums() {
        let mut a = Batch::default();
        let da = a.domains.intern(b"x.example");
        a.counters.lines = 1;
        a.count(key(1, da, Status::Sent));
        let mut b = Batch::default();
        b.domains.intern(b"other.example");
        let db = b.domains.intern(b"x.example");
        b.count(key(1, db, Status::Sent));
        let m = a.merge(b);
        assert_eq!(m.summary.len(), 1);
        assert_eq!(m.summary.values().sum::<u64>(), 2);
        assert_eq!(m.counters.deliveries, 2);
    }

    #[test]
    fn expiry_joins_across_batches_in_order() {
        let msg = message_key(b"mx1", b"ABCDEF");
        let mut left = Batch::default();
        left.counters.lines = 1;
        let d = left.domains.intern(b"gmail.com");
        let r = left.reasons.intern(b"try later");
        left.deferrals.insert(
            msg,
            LastDeferral {
                provider: 3,
                domain: d,
                reason: r,
                ts: 10,
            },
        );
        let mut right = Batch::default();
        right.counters.lines = 1;
        right.expire(msg, 20);
        assert_eq!(right.pending_expiries.len(), 1);
        let mut m = left.merge(right);
        m.finish(99);
        let (k, n) = m.summary.iter().next().unwrap();
        assert_eq!((k.provider, k.status, *n), (3, Status::Expired, 1));
        assert_eq!(m.domains.get(k.domain), b"gmail.com");
        assert_eq!(m.counters.by_status[Status::Expired.index()], 1);
    }

    #[test]
    fn unjoined_expiry_is_still_counted() {
        let mut b = Batch::default();
        b.expire(7, 5);
        b.finish(42);
        let (k, n) = b.summary.iter().next().unwrap();
        assert_eq!((k.provider, k.status, *n), (42, Status::Expired, 1));
        assert_eq!(b.domains.get(k.domain), b"");
    }
}
