//! pflogsumm's per-quarter-hour traffic: lines received, delivered,
//! deferred, bounced, rejected … counted per 15-minute bucket, from which
//! the report derives per-hour and per-day tables in any time zone.

use super::batch::Traffic;
use super::tally::Tally;
use crate::intern::Ids;
use hashbrown::HashMap;

type Fast = crate::hashing::Seeded;

/// Counts per bucket (see [`Traffic`] for the columns and the width).
#[derive(Clone, Debug)]
pub struct TrafficTable {
    /// Counts by bucket (UTC seconds / [`Traffic::BUCKET`]).
    pub by_bucket: HashMap<i64, [u64; Traffic::COLUMNS], Fast>,
    /// The bucket being counted (lines come in time order): added to
    /// `by_bucket` when the next one starts, not a hash probe per line.
    now: (i64, [u64; Traffic::COLUMNS]),
}

impl Default for TrafficTable {
    fn default() -> TrafficTable {
        TrafficTable {
            by_bucket: HashMap::default(),
            now: (i64::MIN, [0; Traffic::COLUMNS]),
        }
    }
}

impl TrafficTable {
    /// Counts one line at `ts` in `column`.
    #[inline]
    pub fn count(&mut self, ts: i64, column: usize) {
        let bucket = ts.div_euclid(Traffic::BUCKET);
        if self.now.0 != bucket {
            self.flush();
            self.now.0 = bucket;
        }
        self.now.1[column] += 1;
    }

    /// Adds the bucket being counted to the table.
    pub fn flush(&mut self) {
        let (bucket, counts) = std::mem::replace(&mut self.now, (i64::MIN, [0; Traffic::COLUMNS]));
        if counts.iter().any(|n| *n > 0) {
            add(&mut self.by_bucket, bucket, counts);
        }
    }
}

fn add(
    table: &mut HashMap<i64, [u64; Traffic::COLUMNS], Fast>,
    bucket: i64,
    counts: [u64; Traffic::COLUMNS],
) {
    let mine = table.entry(bucket).or_insert([0; Traffic::COLUMNS]);
    for (a, b) in mine.iter_mut().zip(counts) {
        *a += b;
    }
}

impl Tally for TrafficTable {
    fn merge(&mut self, right: &mut TrafficTable, _: &Ids) {
        self.flush();
        right.flush();
        for (bucket, counts) in right.by_bucket.drain() {
            add(&mut self.by_bucket, bucket, counts);
        }
    }

    fn reset(&mut self) {
        self.by_bucket.clear();
        self.now = (i64::MIN, [0; Traffic::COLUMNS]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_add_up_across_batches_and_the_one_being_counted() {
        let mut a = TrafficTable::default();
        a.count(0, Traffic::DELIVERED);
        a.count(10, Traffic::DELIVERED);
        let mut b = TrafficTable::default();
        b.count(20, Traffic::DELIVERED);
        b.count(Traffic::BUCKET, Traffic::DEFERRED);
        a.merge(&mut b, &Ids::default());
        a.flush();
        assert_eq!(a.by_bucket[&0][Traffic::DELIVERED], 3);
        assert_eq!(a.by_bucket[&1][Traffic::DEFERRED], 1);
        assert!(b.by_bucket.is_empty());
    }
}
