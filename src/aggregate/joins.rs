//! Per-message state that joins lines logged apart: a delivery to its
//! message's sender (qmgr `from=`), an expiry to the message's last
//! deferral, and what a batch could not join because the line it needs is
//! in the batch before (joined at the merge, `Batch::merge_joins`). Kept
//! only while the message is in the queue.

use super::batch::{
    Handed, LastDeferral, Origin, OriginSeen, PendingAttempt, PendingExpiry, Reinjected, SenderSeen,
};
use hashbrown::{HashMap, HashSet};

type Fast = crate::hashing::Seeded;

/// The joins' per-message tables of one batch.
#[derive(Clone, Debug, Default)]
pub struct Joins {
    /// Last deferral per message (host + queue id hash).
    pub deferrals: HashMap<u64, LastDeferral, Fast>,
    /// Sender domain per message (host + queue id hash).
    pub sender_of: HashMap<u64, SenderSeen, Fast>,
    /// Origin per message, seen before its sender line (Postfix smtpd);
    /// moved into `sender_of` by the sender line.
    pub origin_of: HashMap<u64, OriginSeen, Fast>,
    /// Content-filter hand-offs by the copy's key: the origin of the
    /// message handed over, or its key when this batch does not know it.
    pub handed: HashMap<u64, Handed, Fast>,
    /// Copies re-injected from loopback whose origin this batch could not
    /// settle (their hand-off, or the original's origin, is further left).
    pub reinjected: HashMap<u64, Reinjected, Fast>,
    /// Expiries not yet joined to a deferral.
    pub pending_expiries: Vec<PendingExpiry>,
    /// Attempts not yet joined to their sender.
    pub pending: Vec<PendingAttempt>,
    /// Messages removed from the queue whose state was not in this batch:
    /// applied to the batch on the left at the merge.
    pub pending_removals: HashSet<u64, Fast>,
}

impl Joins {
    /// A message's origin as this batch knows it: with its sender line,
    /// or seen before it.
    pub fn origin(&self, message: u64) -> Option<Origin> {
        self.sender_of
            .get(&message)
            .and_then(|s| s.origin)
            .or_else(|| self.origin_of.get(&message).map(|o| o.origin))
    }

    /// True when no message state is held.
    pub fn is_empty(&self) -> bool {
        self.deferrals.is_empty()
            && self.sender_of.is_empty()
            && self.origin_of.is_empty()
            && self.handed.is_empty()
            && self.reinjected.is_empty()
            && self.pending_expiries.is_empty()
            && self.pending.is_empty()
            && self.pending_removals.is_empty()
    }

    /// Empties the tables for another run, keeping their allocations.
    pub fn reset(&mut self) {
        self.deferrals.clear();
        self.sender_of.clear();
        self.origin_of.clear();
        self.handed.clear();
        self.reinjected.clear();
        self.pending_expiries.clear();
        self.pending.clear();
        self.pending_removals.clear();
    }
}
