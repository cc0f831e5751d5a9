//! Byte strings → dense `u32` ids, so hot keys are small and `Copy`; and
//! the id maps of a merge. A leaf: the workers' tallies, the journeys and
//! the exports all name log strings by these ids.
//!
//! The strings live end to end in one buffer and each one's hash is kept
//! beside it: a new string costs no allocation of its own (two boxed copies
//! per string, freed on another thread after every merge, were a visible
//! share of the run), the table grows without hashing its strings again,
//! and [`Interner::absorb`] — every worker batch's strings into the running
//! total — reuses the worker's hashes (one hasher, seeded once per process:
//! [`crate::hashing::Seeded`]).

use crate::hashing::Seeded;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// Bytes of strings an interner holds at most; past this it maps new
/// strings to its overflow label, like past its count limit.
const MAX_BYTES: usize = 1 << 30;

/// A table entry: an id and its string's place in the buffer (which holds
/// at most [`MAX_BYTES`], so `u32` offsets).
#[derive(Clone, Copy, Debug)]
struct Slot {
    id: u32,
    start: u32,
    len: u32,
}

/// Interns byte strings to dense `u32` ids.
#[derive(Clone, Default)]
pub struct Interner {
    /// Ids, found by hash, each with where its string lies in `bytes`: a
    /// lookup reads the string straight from the slot it probes (through
    /// `ends` it missed the cache once more per lookup).
    table: HashTable<Slot>,
    /// Per id: its string's hash, and where it ends in `bytes`.
    hashes: Vec<u64>,
    ends: Vec<usize>,
    bytes: Vec<u8>,
    limit: usize,
    overflow: &'static [u8],
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("len", &self.len())
            .field("bytes", &self.bytes.len())
            .field("limit", &self.limit)
            .finish()
    }
}

impl Interner {
    /// An interner that keeps at most `limit` strings, then maps to `overflow`.
    pub fn with_limit(limit: usize, overflow: &'static [u8]) -> Interner {
        Interner {
            limit,
            overflow,
            ..Interner::default()
        }
    }

    /// The id of `s`, adding it if new. Allocates only when a buffer grows.
    #[inline]
    pub fn intern(&mut self, s: &[u8]) -> u32 {
        self.intern_hashed(s, Seeded.hash_one(s))
    }

    /// [`Interner::intern`] with the string's hash already known.
    #[inline]
    fn intern_hashed(&mut self, s: &[u8], hash: u64) -> u32 {
        if let Some(id) = self.find(s, hash) {
            return id;
        }
        if self.ends.len() >= self.limit || self.bytes.len() + s.len() > MAX_BYTES {
            let overflow = self.overflow;
            let hash = Seeded.hash_one(overflow);
            return match self.find(overflow, hash) {
                Some(id) => id,
                None => self.push(overflow, hash),
            };
        }
        self.push(s, hash)
    }

    fn find(&self, s: &[u8], hash: u64) -> Option<u32> {
        let bytes = &self.bytes;
        self.table
            .find(hash, |slot| {
                slot.len as usize == s.len()
                    && bytes.get(slot.start as usize..(slot.start + slot.len) as usize) == Some(s)
            })
            .map(|slot| slot.id)
    }

    fn push(&mut self, s: &[u8], hash: u64) -> u32 {
        let id = self.ends.len() as u32;
        let slot = Slot {
            id,
            start: self.bytes.len() as u32,
            len: s.len() as u32,
        };
        self.bytes.extend_from_slice(s);
        self.ends.push(self.bytes.len());
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.table
            .insert_unique(hash, slot, |slot| hashes[slot.id as usize]);
        id
    }

    /// The string of an id.
    pub fn get(&self, id: u32) -> &[u8] {
        let id = id as usize;
        let Some(&end) = self.ends.get(id) else {
            return &[];
        };
        let start = if id == 0 { 0 } else { self.ends[id - 1] };
        &self.bytes[start..end]
    }

    /// Number of strings held.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Forgets every string, keeping the buffers for the next ones.
    pub fn clear(&mut self) {
        self.table.clear();
        self.hashes.clear();
        self.ends.clear();
        self.bytes.clear();
    }

    /// Keeps the strings `keep` accepts (and the overflow label), in their
    /// order, and drops the rest; returns the id map `old id → new id`, where
    /// a dropped string maps to the overflow label's id.
    pub fn compact(&mut self, keep: impl Fn(u32) -> bool) -> Vec<u32> {
        let old = std::mem::replace(self, Interner::with_limit(self.limit, self.overflow));
        let overflow = self.overflow;
        (0..old.len() as u32)
            .map(|id| {
                if keep(id) {
                    self.intern_hashed(old.get(id), old.hashes[id as usize])
                } else {
                    self.intern(overflow)
                }
            })
            .collect()
    }

    /// Interns every string of `other`; returns the id map `other id → self id`.
    pub fn absorb(&mut self, other: &Interner) -> Vec<u32> {
        (0..other.len() as u32)
            .map(|id| self.intern_hashed(other.get(id), other.hashes[id as usize]))
            .collect()
    }
}

/// An interned id that names nothing (reads as the empty string).
pub const NO_ID: u32 = u32::MAX;

/// Maps an id through an [`Interner::absorb`] table.
#[inline]
pub(crate) fn remap(map: &[u32], id: u32) -> u32 {
    map.get(id as usize).copied().unwrap_or(id)
}

/// Maps from a right batch's interned ids to the merged batch's (`map[old]
/// = new`, read with [`remap`]), and what else a merge knows.
#[derive(Clone, Debug, Default)]
pub struct Ids {
    /// Syslog hosts.
    pub hosts: Vec<u32>,
    /// Relays.
    pub relays: Vec<u32>,
    /// Recipient domains.
    pub domains: Vec<u32>,
    /// Masked reasons.
    pub reasons: Vec<u32>,
    /// Sender domains.
    pub senders: Vec<u32>,
    /// Sampled recipients.
    pub recipients: Vec<u32>,
    /// Reject stages.
    pub stages: Vec<u32>,
    /// Clients.
    pub clients: Vec<u32>,
    /// Sender addresses.
    pub addresses: Vec<u32>,
    /// Delivered recipients' addresses.
    pub delivered_to: Vec<u32>,
    /// Postfix services and postscreen actions.
    pub services: Vec<u32>,
    /// Origins (client and SASL user).
    pub origins: Vec<u32>,
    /// The authentication tables' names.
    pub auth_names: Vec<u32>,
    /// The newest line time of both batches.
    pub newest: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::Interner;

    #[test]
    fn ids_are_dense_stable_and_absorbed() {
        let mut a = Interner::with_limit(1 << 20, b"(overflow)");
        assert_eq!(a.intern(b"gmail.com"), 0);
        assert_eq!(a.intern(b""), 1);
        assert_eq!(a.intern(b"gmail.com"), 0);
        assert_eq!(a.get(1), b"");
        assert_eq!(a.get(7), b"");
        let mut b = Interner::with_limit(100, b"(overflow)");
        b.intern(b"outlook.com");
        b.intern(b"gmail.com");
        assert_eq!(a.absorb(&b), vec![2, 0]);
        assert_eq!(a.get(2), b"outlook.com");
        // Growing past its first capacity keeps every id.
        for i in 0..10_000 {
            a.intern(format!("d{i}.example").as_bytes());
        }
        assert_eq!(a.intern(b"outlook.com"), 2);
        assert_eq!(a.intern(b"d9999.example"), 10_002);
    }

    #[test]
    fn compaction_keeps_order_and_maps_the_rest_to_overflow() {
        let mut a = Interner::with_limit(100, b"(overflow)");
        for s in ["a", "b", "c", "d"] {
            a.intern(s.as_bytes());
        }
        let map = a.compact(|id| id % 2 == 0);
        assert_eq!(map, vec![0, 1, 2, 1]);
        assert_eq!(a.get(0), b"a");
        assert_eq!(a.get(1), b"(overflow)");
        assert_eq!(a.get(2), b"c");
        assert_eq!(a.intern(b"c"), 2);
    }
}
