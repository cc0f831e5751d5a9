//! How many distinct messages and recipients a finding concerns, in bounded
//! memory.
//!
//! One message retried sixty times is sixty failed attempts but one message:
//! findings count both, and decide their severity on the distinct ones. A
//! count stays exact while it is small (where one more message changes the
//! verdict) and becomes a HyperLogLog estimate past [`EXACT_CAP`], so memory
//! stays at a few KiB per provider × category however long the log is.
//! Both forms merge (a union), so workers' batches combine in any order.

use std::collections::HashSet;

/// Distinct keys held exactly; past this the count is estimated.
pub const EXACT_CAP: usize = 512;
/// HyperLogLog precision: 2^11 registers, a standard error of about 2.3 %.
const PRECISION: u32 = 11;
const REGISTERS: usize = 1 << PRECISION;

/// A distinct count of 64-bit keys (already hashes of the message or the
/// recipient).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Distinct {
    /// Up to [`EXACT_CAP`] keys, exactly.
    Exact(HashSet<u64, crate::hashing::Seeded>),
    /// HyperLogLog registers.
    Estimate(Box<[u8; REGISTERS]>),
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::Exact(HashSet::default())
    }
}

/// A bijective 64-bit finaliser (splitmix64's): the register index and the
/// run of zeros must come from well-mixed bits whatever hashed the key.
#[inline]
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[inline]
fn register_add(r: &mut [u8; REGISTERS], key: u64) {
    let h = mix(key);
    let index = (h >> (64 - PRECISION)) as usize;
    // The guard bit bounds the run at 64 - PRECISION + 1.
    let rest = (h << PRECISION) | (1 << (PRECISION - 1));
    let rank = rest.leading_zeros() as u8 + 1;
    if r[index] < rank {
        r[index] = rank;
    }
}

impl Distinct {
    /// Adds one key.
    #[inline]
    pub fn insert(&mut self, key: u64) {
        match self {
            Distinct::Exact(set) => {
                set.insert(key);
                if set.len() > EXACT_CAP {
                    self.switch_to_estimate();
                }
            }
            Distinct::Estimate(r) => register_add(r, key),
        }
    }

    fn switch_to_estimate(&mut self) {
        if let Distinct::Exact(set) = self {
            let mut r = Box::new([0u8; REGISTERS]);
            for k in set.iter() {
                register_add(&mut r, *k);
            }
            *self = Distinct::Estimate(r);
        }
    }

    /// Adds every key of `other` (a set union).
    pub fn merge(&mut self, other: &Distinct) {
        match other {
            Distinct::Exact(theirs) => {
                for k in theirs {
                    self.insert(*k);
                }
            }
            Distinct::Estimate(theirs) => {
                self.switch_to_estimate();
                if let Distinct::Estimate(mine) = self {
                    for (m, t) in mine.iter_mut().zip(theirs.iter()) {
                        *m = (*m).max(*t);
                    }
                }
            }
        }
    }

    /// True while the count is exact.
    pub fn is_exact(&self) -> bool {
        matches!(self, Distinct::Exact(_))
    }

    /// The number of distinct keys (exact, or the HyperLogLog estimate with
    /// linear counting for small cardinalities).
    pub fn count(&self) -> u64 {
        match self {
            Distinct::Exact(set) => set.len() as u64,
            Distinct::Estimate(r) => {
                let m = REGISTERS as f64;
                let alpha = 0.7213 / (1.0 + 1.079 / m);
                let (sum, zeros) = r.iter().fold((0.0f64, 0usize), |(s, z), v| {
                    (s + (-f64::from(*v)).exp2(), z + usize::from(*v == 0))
                });
                let raw = alpha * m * m / sum;
                let e = if raw <= 2.5 * m && zeros > 0 {
                    m * (m / zeros as f64).ln()
                } else {
                    raw
                };
                // Never below what was held exactly before the switch.
                (e.round() as u64).max(EXACT_CAP as u64 + 1)
            }
        }
    }
}

/// What a [`Reach`] counts, per provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReachOf {
    /// Every attempt the findings count (the denominator of their shares).
    Attempts,
    /// Failures of one category.
    Failures(crate::classify::category::Category),
    /// Expiries.
    Expiries,
}

/// Distinct messages and recipients of one provider (× category), and the
/// first few recipients, to name them when they are few.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reach {
    /// Messages (queue id keys).
    pub messages: Distinct,
    /// Recipients (address hashes).
    pub recipients: Distinct,
    /// The earliest recipients by time, then bytes (so chunking does not
    /// change them), up to [`NAMED_RECIPIENTS`].
    pub named: Vec<(i64, Box<[u8]>)>,
}

/// Recipients kept by name per [`Reach`].
pub const NAMED_RECIPIENTS: usize = 3;

impl Reach {
    /// Counts one attempt. `recipient` is the address hash (0: not logged);
    /// `name`, when given, may be kept to be quoted.
    #[inline]
    pub fn add(&mut self, message: u64, recipient: u64, ts: i64, name: Option<&[u8]>) {
        self.messages.insert(message);
        if recipient != 0 {
            self.recipients.insert(recipient);
        }
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            self.keep_name(ts, name);
        }
    }

    fn keep_name(&mut self, ts: i64, name: &[u8]) {
        super::batch::keep_earliest(&mut self.named, NAMED_RECIPIENTS, ts, name, || name.into());
    }

    /// Adds `other` (a union).
    pub fn merge(&mut self, other: &Reach) {
        self.messages.merge(&other.messages);
        self.recipients.merge(&other.recipients);
        for (ts, name) in &other.named {
            self.keep_name(*ts, name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(range: std::ops::Range<u64>) -> impl Iterator<Item = u64> {
        range.map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    #[test]
    fn exact_while_small_and_repeats_count_once() {
        let mut d = Distinct::default();
        for _ in 0..60 {
            d.insert(42);
        }
        assert_eq!(d.count(), 1);
        for k in keys(1..EXACT_CAP as u64) {
            d.insert(k);
        }
        assert!(d.is_exact());
        assert_eq!(d.count(), EXACT_CAP as u64);
        d.insert(u64::MAX);
        assert!(!d.is_exact());
        assert_eq!(
            d.count(),
            EXACT_CAP as u64 + 1,
            "never below the exact count"
        );
    }

    #[test]
    fn estimates_within_a_few_percent_and_merges_as_a_union() {
        for n in [600u64, 5_000, 100_000, 2_000_000] {
            let mut d = Distinct::default();
            for k in keys(0..n) {
                d.insert(k);
                d.insert(k);
            }
            let e = d.count() as f64;
            assert!((e - n as f64).abs() / (n as f64) < 0.07, "{n}: {e}");
        }
        // Two halves that overlap by a third merge to the union, whichever
        // form each half is in.
        let (mut a, mut b, mut small) = (
            Distinct::default(),
            Distinct::default(),
            Distinct::default(),
        );
        keys(0..40_000).for_each(|k| a.insert(k));
        keys(26_667..66_667).for_each(|k| b.insert(k));
        keys(66_667..66_767).for_each(|k| small.insert(k));
        a.merge(&b);
        a.merge(&small);
        let e = a.count() as f64;
        assert!((e - 66_767.0).abs() / 66_767.0 < 0.07, "{e}");
        let mut s = Distinct::default();
        s.merge(&small);
        assert_eq!(s.count(), 100);
        s.merge(&b);
        assert!(!s.is_exact());
    }

    #[test]
    fn named_recipients_are_the_earliest_whatever_the_order() {
        let adds = [
            (5, "e@x"),
            (1, "a@x"),
            (3, "c@x"),
            (2, "b@x"),
            (4, "d@x"),
            (1, "a@x"),
        ];
        let mut one = Reach::default();
        for (ts, r) in adds {
            one.add(1, ts as u64 + 1, ts, Some(r.as_bytes()));
        }
        let (mut left, mut right) = (Reach::default(), Reach::default());
        for (i, (ts, r)) in adds.iter().enumerate() {
            let side = if i % 2 == 0 { &mut left } else { &mut right };
            side.add(1, *ts as u64 + 1, *ts, Some(r.as_bytes()));
        }
        right.merge(&left);
        let names = |r: &Reach| {
            r.named
                .iter()
                .map(|(_, n)| String::from_utf8_lossy(n).into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&one), ["a@x", "b@x", "c@x"]);
        assert_eq!(names(&right), names(&one));
        assert_eq!(one.recipients.count(), 5);
        assert_eq!(one.messages.count(), 1);
    }
}
