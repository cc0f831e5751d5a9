//! The delivery tallies the report and the findings are built from: counts
//! by provider × status × code (summary), by category and sender
//! (outcomes), per time bucket (timeline), per masked reason, and the
//! evidence findings quote (queue ids, recipients, hand-off hops, distinct
//! messages and recipients).

use super::batch::{
    MAX_HANDOFF_HOPS, OutcomeKey, QUEUE_ID_SAMPLES, QueueId, ReasonKey, ReasonStats, SummaryKey,
    TIMELINE_CAP, TIMELINE_WIDTHS, TimeKey, keep_earliest,
};
use super::distinct::{Reach, ReachOf};
use super::tally::Tally;
use crate::classify::category::Category;
use crate::classify::provider::ProviderId;
use crate::intern::Ids;
use crate::intern::remap;
use hashbrown::HashMap;

type Fast = crate::hashing::Seeded;

/// The delivery tallies of one batch.
#[derive(Clone, Debug)]
pub struct Deliveries {
    /// Summary counts.
    pub summary: HashMap<SummaryKey, u64, Fast>,
    /// Outcome counts (with category and sender).
    pub outcomes: HashMap<OutcomeKey, u64, Fast>,
    /// Failed attempts per provider × category × origin (client and SASL
    /// user): who sent what failed.
    pub failed_by_origin: HashMap<(ProviderId, Category, u32), u64, Fast>,
    /// Per-bucket counts (`TimeKey::minute` is the bucket's first minute).
    pub timeline: HashMap<TimeKey, u64, Fast>,
    /// Width of the timeline buckets in minutes (one of [`TIMELINE_WIDTHS`]).
    pub timeline_width: i64,
    /// Reason counts.
    pub reason_counts: HashMap<ReasonKey, ReasonStats, Fast>,
    /// A few queue ids per provider × category.
    /// (the earliest, by time then id, so chunking does not change them).
    pub queue_samples: HashMap<(ProviderId, Category), Vec<(i64, QueueId)>, Fast>,
    /// Failures per provider × category × recipient (hygiene, mailbox full).
    pub recipient_counts: HashMap<(ProviderId, Category, u32), u64, Fast>,
    /// Hand-offs by next hop (`127.0.0.1:10024`): attempts and failures, for
    /// the content filter's own finding. At most [`MAX_HANDOFF_HOPS`].
    pub handoff_hops: HashMap<Box<[u8]>, [u64; 2], Fast>,
    /// Distinct messages and recipients the findings count, per provider.
    pub reach: HashMap<(ProviderId, ReachOf), Reach, Fast>,
}

impl Default for Deliveries {
    fn default() -> Deliveries {
        Deliveries {
            summary: HashMap::default(),
            outcomes: HashMap::default(),
            failed_by_origin: HashMap::default(),
            timeline: HashMap::default(),
            timeline_width: 1,
            reason_counts: HashMap::default(),
            queue_samples: HashMap::default(),
            recipient_counts: HashMap::default(),
            handoff_hops: HashMap::default(),
            reach: HashMap::default(),
        }
    }
}

/// Adds a reason's tally to the table.
pub(crate) fn add_reason(
    map: &mut HashMap<ReasonKey, ReasonStats, Fast>,
    key: ReasonKey,
    s: ReasonStats,
) {
    map.entry(key).and_modify(|t| t.add(&s)).or_insert(s);
}

impl Deliveries {
    /// Counts hand-off attempts and failures to one next hop (a label of
    /// address and port characters only, see `scan::hop_label`).
    pub fn see_hop(&mut self, hop: &[u8], attempts: u64, failures: u64) {
        if let Some(c) = self.handoff_hops.get_mut(hop) {
            c[0] += attempts;
            c[1] += failures;
        } else if self.handoff_hops.len() < MAX_HANDOFF_HOPS {
            self.handoff_hops.insert(hop.into(), [attempts, failures]);
        }
    }

    /// Re-buckets the timeline to the first width of [`TIMELINE_WIDTHS`] at
    /// least `at_least` minutes wide.
    pub fn widen_timeline(&mut self, at_least: i64) {
        if at_least <= self.timeline_width {
            return;
        }
        let width = TIMELINE_WIDTHS
            .into_iter()
            .find(|w| *w >= at_least)
            .unwrap_or(TIMELINE_WIDTHS[TIMELINE_WIDTHS.len() - 1]);
        if width == self.timeline_width {
            return;
        }
        self.timeline_width = width;
        let old = std::mem::take(&mut self.timeline);
        for (mut k, n) in old {
            k.minute -= k.minute.rem_euclid(width);
            *self.timeline.entry(k).or_insert(0) += n;
        }
    }
}

impl Tally for Deliveries {
    fn merge(&mut self, right: &mut Deliveries, ids: &Ids) {
        for (mut k, n) in right.summary.drain() {
            k.domain = remap(&ids.domains, k.domain);
            k.origin = remap(&ids.origins, k.origin);
            *self.summary.entry(k).or_insert(0) += n;
        }
        for (mut k, n) in right.outcomes.drain() {
            k.sender = remap(&ids.senders, k.sender);
            *self.outcomes.entry(k).or_insert(0) += n;
        }
        for ((p, c, o), n) in right.failed_by_origin.drain() {
            *self
                .failed_by_origin
                .entry((p, c, remap(&ids.origins, o)))
                .or_insert(0) += n;
        }
        self.widen_timeline(right.timeline_width);
        let width = self.timeline_width;
        for (mut k, n) in right.timeline.drain() {
            k.minute -= k.minute.rem_euclid(width);
            *self.timeline.entry(k).or_insert(0) += n;
        }
        if self.timeline.len() > TIMELINE_CAP {
            self.widen_timeline(width + 1);
        }
        for (mut k, s) in right.reason_counts.drain() {
            k.reason = remap(&ids.reasons, k.reason);
            add_reason(&mut self.reason_counts, k, s);
        }
        for (k, samples) in right.queue_samples.drain() {
            let mine = self.queue_samples.entry(k).or_default();
            for id in samples {
                keep_earliest(mine, QUEUE_ID_SAMPLES, id.0, id.1.as_bytes(), || id.1);
            }
        }
        for ((p, c, r), n) in right.recipient_counts.drain() {
            *self
                .recipient_counts
                .entry((p, c, remap(&ids.recipients, r)))
                .or_insert(0) += n;
        }
        for (hop, [n, f]) in right.handoff_hops.drain() {
            self.see_hop(&hop, n, f);
        }
        for (k, r) in right.reach.drain() {
            match self.reach.entry(k) {
                hashbrown::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(&r),
                hashbrown::hash_map::Entry::Vacant(e) => {
                    e.insert(r);
                }
            }
        }
    }

    fn reset(&mut self) {
        self.summary.clear();
        self.outcomes.clear();
        self.failed_by_origin.clear();
        self.timeline.clear();
        self.timeline_width = 1;
        self.reason_counts.clear();
        self.queue_samples.clear();
        self.recipient_counts.clear();
        self.handoff_hops.clear();
        self.reach.clear();
    }
}
