//! The hasher of every table keyed by log content: foldhash (fast, what
//! hashbrown and polars use) seeded once per process from the operating
//! system's randomness.
//!
//! With foldhash's fixed, public seed a crafted log (remote syslog, `logger
//! -p mail.info`, journald) could give 100 k recipient domains one hash and
//! turn a 0.5 s run into 55 s; with a per-process seed nobody writing the log
//! can predict a hash. One seed for the whole process, not one per table:
//! message keys are hashes compared across the workers' batches.

use foldhash::SharedSeed;
use foldhash::fast::FoldHasher;
use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;

/// `BuildHasher` for foldhash with this process's random seed.
#[derive(Clone, Copy, Debug, Default)]
pub struct Seeded;

static SEED: OnceLock<(u64, &'static SharedSeed)> = OnceLock::new();

#[inline]
fn seed() -> (u64, &'static SharedSeed) {
    *SEED.get_or_init(|| {
        // std's RandomState draws its keys from the OS (getrandom).
        let per_hasher = RandomState::new().hash_one(0x6d74_6173_7461_7421_u64);
        (per_hasher, SharedSeed::global_random())
    })
}

impl BuildHasher for Seeded {
    type Hasher = FoldHasher<'static>;

    #[inline]
    fn build_hasher(&self) -> FoldHasher<'static> {
        let (per_hasher, shared) = seed();
        FoldHasher::with_seed(per_hasher, shared)
    }
}

/// A hash that is the same in every run, for what must not change from run
/// to run: the distinct counts of findings ([`crate::aggregate::distinct`]),
/// whose estimates would otherwise differ with the seed. Never a table's
/// hasher (a fixed hash can be flooded); its outputs are stored in seeded
/// tables or HyperLogLog registers.
pub fn stable(bytes: &[u8]) -> u64 {
    foldhash::quality::FixedState::with_seed(0x6d74_6173_7461_7432).hash_one(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seed_per_process_not_the_public_one() {
        let key = b"gmail.com";
        assert_eq!(Seeded.hash_one(key), Seeded.hash_one(key));
        assert_ne!(
            Seeded.hash_one(key),
            foldhash::fast::FixedState::default().hash_one(key),
            "the fixed, public seed"
        );
    }

    /// The flood of issue 14: 12-byte keys whose first 8 bytes cancel
    /// foldhash's public seed all hash alike (the seed is foldhash's
    /// `ARBITRARY3`, rotated by the length, as its `write` does); under this
    /// process's seed the same keys spread.
    #[test]
    fn crafted_keys_collide_only_under_the_public_seed() {
        let prefix = 0x082e_fa98_ec4e_6c89_u64.rotate_right(12).to_ne_bytes();
        let keys: Vec<Box<[u8]>> = (0u32..10_000)
            .map(|i| {
                let mut k = [0u8; 12];
                k[..8].copy_from_slice(&prefix);
                k[8..].copy_from_slice(&i.to_le_bytes());
                Box::from(&k[..])
            })
            .collect();
        let distinct = |hash: &dyn Fn(&Box<[u8]>) -> u64| {
            keys.iter()
                .map(hash)
                .collect::<std::collections::HashSet<u64>>()
                .len()
        };
        let fixed = foldhash::fast::FixedState::default();
        assert_eq!(distinct(&|k| fixed.hash_one(k)), 1, "the attack");
        assert_eq!(distinct(&|k| Seeded.hash_one(k)), keys.len());
    }
}
