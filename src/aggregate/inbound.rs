//! What the server said to clients and to itself: refused commands, daemon
//! notices (warnings, errors, panics) and postscreen's actions.

use super::batch::RejectKey;
use super::tally::Tally;
use crate::event::Level;
use crate::intern::Ids;
use crate::intern::remap;
use hashbrown::HashMap;

type Fast = crate::hashing::Seeded;

/// Inbound refusals, notices and postscreen events of one batch.
#[derive(Clone, Debug, Default)]
pub struct Inbound {
    /// Refused commands by what, where, why and who.
    pub rejects: HashMap<RejectKey, u64, Fast>,
    /// Daemon notices by (interned service, level, interned masked text).
    pub notices: HashMap<(u32, Level, u32), u64, Fast>,
    /// postscreen events by interned action.
    pub postscreen: HashMap<u32, u64, Fast>,
}

impl Inbound {
    /// Renames reason ids after the reason table was compacted
    /// (`map[old] = new`); rows folded into one id have their counts added.
    pub fn remap_reasons(&mut self, map: &[u32]) {
        for ((svc, level, r), n) in std::mem::take(&mut self.notices) {
            *self.notices.entry((svc, level, remap(map, r))).or_insert(0) += n;
        }
        for (mut k, n) in std::mem::take(&mut self.rejects) {
            k.reason = remap(map, k.reason);
            *self.rejects.entry(k).or_insert(0) += n;
        }
    }

    /// Attempts (counts) per reason id, for the reason table's compaction.
    pub fn reason_weights(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        let notices = self.notices.iter().map(|((_, _, r), n)| (*r, *n));
        notices.chain(self.rejects.iter().map(|(k, n)| (k.reason, *n)))
    }
}

impl Tally for Inbound {
    fn merge(&mut self, right: &mut Inbound, ids: &Ids) {
        for (mut k, n) in right.rejects.drain() {
            k.stage = remap(&ids.stages, k.stage);
            k.reason = remap(&ids.reasons, k.reason);
            k.client = remap(&ids.clients, k.client);
            *self.rejects.entry(k).or_insert(0) += n;
        }
        for ((service, level, reason), n) in right.notices.drain() {
            let key = (
                remap(&ids.services, service),
                level,
                remap(&ids.reasons, reason),
            );
            *self.notices.entry(key).or_insert(0) += n;
        }
        for (action, n) in right.postscreen.drain() {
            *self
                .postscreen
                .entry(remap(&ids.services, action))
                .or_insert(0) += n;
        }
    }

    fn reset(&mut self) {
        self.rejects.clear();
        self.notices.clear();
        self.postscreen.clear();
    }
}
