//! What complete journeys add up to, in memory that does not grow with the
//! log: counts per disposition, and delay distributions per provider and
//! per recipient domain kept as [`Sketch`]es.

use crate::classify::provider::ProviderId;
// foldhash, seeded per process (crate::hashing): these tables are updated
// once per recipient journey, where std's SipHash showed in the profile.
type HashMap<K, V> = hashbrown::HashMap<K, V, crate::hashing::Seeded>;
type HashSet<K> = hashbrown::HashSet<K, crate::hashing::Seeded>;

/// How a recipient's journey ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Disposition {
    /// Delivered (the last attempt was accepted).
    Delivered = 0,
    /// Bounced (permanent failure).
    Bounced = 1,
    /// Expired: still deferred when the queue lifetime ran out.
    Expired = 2,
    /// Still in the queue when the log ends.
    Pending = 3,
    /// Left the queue without a final delivery status (deleted by the
    /// administrator, discarded, or delivered without a logged attempt).
    Removed = 4,
    /// Accepted by a content filter on loopback, and the log does not say
    /// what became of it (no `queued as` to follow): not a delivery.
    HandedOff = 5,
}

impl Disposition {
    /// Every disposition, in report order.
    pub const ALL: [Disposition; 6] = [
        Disposition::Delivered,
        Disposition::Bounced,
        Disposition::Expired,
        Disposition::Pending,
        Disposition::Removed,
        Disposition::HandedOff,
    ];

    /// The name used in JSON, exports and the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Delivered => "delivered",
            Disposition::Bounced => "bounced",
            Disposition::Expired => "expired",
            Disposition::Pending => "pending",
            Disposition::Removed => "removed",
            Disposition::HandedOff => "handed_off",
        }
    }
}

/// A distribution of millisecond values: exact while small, then
/// logarithmic buckets 2 % wide, so percentiles of a month of mail cost a
/// few kilobytes per key. The maximum is always exact.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sketch {
    exact: Vec<u32>,
    /// Values per bucket, [`BUCKETS`] of them, once past [`EXACT`] values
    /// (empty before): a counter per bucket rather than a map, which
    /// hashed every delay of every delivery three times.
    buckets: Vec<u64>,
    count: u64,
    max: u32,
    sum: u64,
}

/// Values kept exactly before a sketch switches to buckets.
const EXACT: usize = 4096;
/// Bucket growth factor.
const GROWTH: f64 = 1.02;
/// Buckets a `u32` needs: `bucket_of(u32::MAX) + 1`.
const BUCKETS: usize = 1122;

/// The bucket of `v`, by its definition: 0 for 0, else
/// `1 + floor(ln v / ln 1.02)`.
fn bucket_by_log(v: u32) -> u16 {
    if v == 0 {
        0
    } else {
        1 + (f64::from(v).ln() / GROWTH.ln()) as u16
    }
}

/// Per bucket, the least value in it (`bucket_by_log` never decreases, so
/// a value's bucket is the last whose least value is not above it); per
/// power of two `2^e`, the bucket of `2^e`.
struct BucketTable {
    least: Vec<u32>,
    octave: [u16; 33],
}

static BUCKET_TABLE: std::sync::LazyLock<BucketTable> = std::sync::LazyLock::new(|| {
    let mut least = vec![0u32; BUCKETS];
    for (b, slot) in least.iter_mut().enumerate().skip(1) {
        // The least v with bucket_by_log(v) >= b.
        let (mut lo, mut hi) = (1u64, u64::from(u32::MAX) + 1);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if u64::from(bucket_by_log(mid as u32)) >= b as u64 {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        *slot = lo.min(u64::from(u32::MAX)) as u32;
    }
    let mut octave = [0u16; 33];
    for (e, slot) in octave.iter_mut().enumerate().take(32) {
        *slot = bucket_by_log(1u32 << e);
    }
    octave[32] = (BUCKETS - 1) as u16;
    BucketTable { least, octave }
});

/// [`bucket_by_log`] without a logarithm: a few comparisons within the
/// value's power of two. Computed for every delay of every delivery.
#[inline]
fn bucket_of(v: u32) -> u16 {
    if v == 0 {
        return 0;
    }
    let t = &*BUCKET_TABLE;
    let e = (31 - v.leading_zeros()) as usize;
    let (lo, hi) = (usize::from(t.octave[e]), usize::from(t.octave[e + 1]));
    let within = &t.least[lo..=hi];
    (lo + within.partition_point(|&least| least <= v) - 1) as u16
}

/// A value representing bucket `b` (its geometric middle).
fn bucket_value(b: u16) -> f64 {
    if b == 0 {
        0.0
    } else {
        GROWTH.powf(f64::from(b - 1) + 0.5)
    }
}

/// A value and its bucket, found once for the several sketches it goes to.
#[derive(Clone, Copy, Debug)]
pub struct Bucketed {
    value: u32,
    bucket: u16,
}

impl Bucketed {
    /// `v` with its bucket.
    pub fn of(v: u32) -> Bucketed {
        Bucketed {
            value: v,
            bucket: bucket_of(v),
        }
    }
}

impl Sketch {
    /// Adds one value.
    pub fn add(&mut self, v: u32) {
        self.add_bucketed(Bucketed::of(v));
    }

    /// Adds one value whose bucket is known.
    pub fn add_bucketed(&mut self, v: Bucketed) {
        self.count += 1;
        self.sum += u64::from(v.value);
        self.max = self.max.max(v.value);
        if self.buckets.is_empty() {
            self.exact.push(v.value);
            if self.exact.len() > EXACT {
                self.switch_to_buckets();
            }
        } else {
            self.buckets[usize::from(v.bucket)] += 1;
        }
    }

    fn switch_to_buckets(&mut self) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; BUCKETS];
        }
        for v in self.exact.drain(..) {
            self.buckets[usize::from(bucket_of(v))] += 1;
        }
        self.exact = Vec::new();
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Sketch) {
        self.count += other.count;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
        if self.buckets.is_empty() && other.buckets.is_empty() {
            self.exact.extend_from_slice(&other.exact);
            if self.exact.len() > EXACT {
                self.switch_to_buckets();
            }
            return;
        }
        self.switch_to_buckets();
        for v in &other.exact {
            self.buckets[usize::from(bucket_of(*v))] += 1;
        }
        for (mine, n) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += n;
        }
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Largest value.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// Mean, or 0 when empty.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The `q` quantile (0..=1) by nearest rank: exact while the sketch is
    /// exact, else within 1 % (the bucket's middle, never above the max).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        if !self.buckets.is_empty() {
            let mut seen = 0;
            for (k, n) in self.buckets.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return Some(bucket_value(k as u16).min(f64::from(self.max)));
                }
            }
            return Some(f64::from(self.max));
        }
        let mut v = self.exact.clone();
        v.sort_unstable();
        v.get(rank as usize - 1).map(|x| f64::from(*x))
    }
}

/// The journeys of one provider or recipient domain.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DelayStats {
    /// Recipients by [`Disposition`].
    pub by_disposition: [u64; Disposition::ALL.len()],
    /// Delivered at the first attempt (no deferral before).
    pub first_attempt: u64,
    /// Delivered after one or more deferrals.
    pub after_deferral: u64,
    /// Deferrals logged before the delivery, summed over delivered recipients.
    pub deferrals_before_delivery: u64,
    /// Attempts per recipient (all dispositions): 1, 2, … 9, 10 or more.
    pub attempts: [u64; 10],
    /// Arrival to delivery, ms (delivered recipients).
    pub time_to_deliver: Sketch,
    /// Arrival to bounce or expiry, ms.
    pub time_to_fail: Sketch,
    /// Postfix `delays=a/b/c/d` of the delivering attempt, ms: before
    /// qmgr, in qmgr, connection setup, transmission.
    pub split: [Sketch; 4],
}

impl DelayStats {
    /// Adds `other`.
    pub fn merge(&mut self, other: &DelayStats) {
        for (a, b) in self.by_disposition.iter_mut().zip(other.by_disposition) {
            *a += b;
        }
        self.first_attempt += other.first_attempt;
        self.after_deferral += other.after_deferral;
        self.deferrals_before_delivery += other.deferrals_before_delivery;
        for (a, b) in self.attempts.iter_mut().zip(other.attempts) {
            *a += b;
        }
        self.time_to_deliver.merge(&other.time_to_deliver);
        self.time_to_fail.merge(&other.time_to_fail);
        for (a, b) in self.split.iter_mut().zip(&other.split) {
            a.merge(b);
        }
    }

    /// Recipients counted.
    pub fn recipients(&self) -> u64 {
        self.by_disposition.iter().sum()
    }

    /// Delivered recipients.
    pub fn delivered(&self) -> u64 {
        self.by_disposition[Disposition::Delivered as usize]
    }

    /// Adds one recipient's journey.
    pub fn add(&mut self, j: &RecipientJourney) {
        self.add_with(j, &Delays::of(j));
    }

    /// [`DelayStats::add`] with the journey's delays bucketed once for the
    /// total, its provider and its domain.
    fn add_with(&mut self, j: &RecipientJourney, d: &Delays) {
        self.by_disposition[j.disposition as usize] += 1;
        if j.attempts > 0 {
            self.attempts[(j.attempts as usize).min(10) - 1] += 1;
        }
        match j.disposition {
            Disposition::Delivered => {
                if j.deferrals == 0 {
                    self.first_attempt += 1;
                } else {
                    self.after_deferral += 1;
                }
                self.deferrals_before_delivery += u64::from(j.deferrals);
                if let Some(ms) = d.time {
                    self.time_to_deliver.add_bucketed(ms);
                }
                if let Some(split) = d.split {
                    for (s, v) in self.split.iter_mut().zip(split) {
                        s.add_bucketed(v);
                    }
                }
            }
            Disposition::Bounced | Disposition::Expired => {
                if let Some(ms) = d.time {
                    self.time_to_fail.add_bucketed(ms);
                }
            }
            Disposition::Pending | Disposition::Removed | Disposition::HandedOff => {}
        }
    }
}

/// A journey's delays with their buckets.
struct Delays {
    time: Option<Bucketed>,
    split: Option<[Bucketed; 4]>,
}

impl Delays {
    fn of(j: &RecipientJourney) -> Delays {
        Delays {
            time: j.time_ms.map(Bucketed::of),
            split: j.split.map(|s| s.map(Bucketed::of)),
        }
    }
}

/// What [`DelayStats::add`] needs of one recipient's journey.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecipientJourney {
    /// How it ended.
    pub disposition: Disposition,
    /// Attempts made (deferrals logged without a try not counted).
    pub attempts: u32,
    /// Deferrals logged.
    pub deferrals: u32,
    /// Arrival to the final disposition, ms, when known.
    pub time_ms: Option<u32>,
    /// `delays=a/b/c/d` of the final attempt, ms.
    pub split: Option<[u32; 4]>,
}

/// The provider a recipient domain is shown under when its journeys ended
/// at two (mail to it handed to a content filter, then delivered): the
/// destination rather than the filter, then the lower id — never the order
/// the journeys were counted in, which depends on how the input was split.
fn domain_provider(a: ProviderId, b: ProviderId) -> ProviderId {
    use crate::classify::provider::HANDOFF;
    match (a == HANDOFF, b == HANDOFF) {
        (true, false) => b,
        (false, true) => a,
        _ => a.min(b),
    }
}

/// Domains whose delay statistics are kept (between this and twice this).
pub const DOMAIN_STATS: usize = 1 << 14;

/// Messages and bytes, the way pflogsumm totals them: what came in
/// (messages a client handed over: smtpd, pickup, Exim `<=`) and what was
/// delivered (recipients × message size).
#[derive(Clone, Debug, Default)]
pub struct Totals {
    /// Messages received here (with a client).
    pub received: u64,
    /// Their bytes.
    pub bytes_received: u64,
    /// Messages with at least one deferral.
    pub deferred_messages: u64,
    /// Bytes delivered (each delivered recipient counts its message's size).
    pub bytes_delivered: u64,
    /// Received messages per interned sender address: (messages, bytes).
    pub senders: HashMap<u32, (u64, u64)>,
    /// Received messages per interned sender domain: (messages, bytes).
    pub sending_domains: HashMap<u32, (u64, u64)>,
    /// Deliveries per interned recipient address: (deliveries, bytes).
    pub recipients: HashMap<u32, (u64, u64)>,
    /// Per interned recipient domain: (delivered, bytes, deferrals).
    pub recipient_domains: HashMap<u32, (u64, u64, u64)>,
}

/// Journeys in total, per provider and per recipient domain.
#[derive(Clone, Debug, Default)]
pub struct JourneyStats {
    /// pflogsumm's message and byte totals.
    pub totals: Totals,
    /// Messages whose journey is known (complete or pending at the end).
    pub messages: u64,
    /// Messages that left the queue without any logged attempt.
    pub messages_without_attempts: u64,
    /// Messages that arrived but were never queued (the client went away
    /// or was refused after DATA): they have no journey.
    pub not_queued: u64,
    /// Messages closed as pending before their end because the open
    /// journeys passed [`super::OPEN_ROWS_CAP`] rows.
    pub cut_short: u64,
    /// Per provider.
    pub by_provider: HashMap<ProviderId, DelayStats>,
    /// Per interned recipient domain (with its provider).
    /// Bounded: see [`JourneyStats::add`].
    pub by_domain: HashMap<u32, (ProviderId, DelayStats)>,
    /// True once [`JourneyStats::by_domain`] dropped its quietest domains
    /// (the busiest ones' rows are then counted from when they were kept).
    pub domains_dropped: bool,
    /// All recipients.
    pub total: DelayStats,
}

impl JourneyStats {
    /// Counts a message once: received here, its sender and size.
    pub fn message(
        &mut self,
        client: bool,
        sender: Option<u32>,
        domain: Option<u32>,
        size: Option<u64>,
    ) {
        if !client {
            return;
        }
        let t = &mut self.totals;
        let size = size.unwrap_or(0);
        t.received += 1;
        t.bytes_received += size;
        if let Some(s) = sender {
            let e = t.senders.entry(s).or_default();
            e.0 += 1;
            e.1 += size;
        }
        if let Some(d) = domain {
            let e = t.sending_domains.entry(d).or_default();
            e.0 += 1;
            e.1 += size;
        }
    }

    /// Counts a recipient's delivery and deferrals for the per-domain and
    /// per-recipient tables.
    pub fn recipient(
        &mut self,
        domain: u32,
        name: Option<u32>,
        size: Option<u64>,
        j: &RecipientJourney,
    ) {
        let t = &mut self.totals;
        let d = t.recipient_domains.entry(domain).or_default();
        d.2 += u64::from(j.deferrals);
        if j.disposition != Disposition::Delivered {
            return;
        }
        let size = size.unwrap_or(0);
        d.0 += 1;
        d.1 += size;
        t.bytes_delivered += size;
        if let Some(n) = name {
            let e = t.recipients.entry(n).or_default();
            e.0 += 1;
            e.1 += size;
        }
    }

    /// Adds one recipient's journey.
    pub fn add(&mut self, provider: ProviderId, domain: u32, j: &RecipientJourney) {
        let d = Delays::of(j);
        self.total.add_with(j, &d);
        self.by_provider
            .entry(provider)
            .or_default()
            .add_with(j, &d);
        if self.by_domain.len() >= 2 * DOMAIN_STATS {
            self.keep_busiest_domains();
        }
        let e = self
            .by_domain
            .entry(domain)
            .or_insert_with(|| (provider, DelayStats::default()));
        e.0 = domain_provider(e.0, provider);
        e.1.add_with(j, &d);
    }

    /// Adds a worker's statistics, whose interned ids `maps` renames to
    /// these.
    pub fn absorb(&mut self, other: &mut JourneyStats, maps: &crate::intern::Ids) {
        use crate::intern::remap;
        let (t, o) = (&mut self.totals, &mut other.totals);
        t.received += o.received;
        t.bytes_received += o.bytes_received;
        t.deferred_messages += o.deferred_messages;
        t.bytes_delivered += o.bytes_delivered;
        let add2 = |mine: &mut HashMap<u32, (u64, u64)>,
                    theirs: &mut HashMap<u32, (u64, u64)>,
                    map: &[u32]| {
            for (k, (a, b)) in theirs.drain() {
                let e = mine.entry(remap(map, k)).or_default();
                e.0 += a;
                e.1 += b;
            }
        };
        add2(&mut t.senders, &mut o.senders, &maps.addresses);
        add2(
            &mut t.sending_domains,
            &mut o.sending_domains,
            &maps.senders,
        );
        add2(&mut t.recipients, &mut o.recipients, &maps.delivered_to);
        for (k, (a, b, c)) in o.recipient_domains.drain() {
            let e = t
                .recipient_domains
                .entry(remap(&maps.domains, k))
                .or_default();
            e.0 += a;
            e.1 += b;
            e.2 += c;
        }
        self.messages += other.messages;
        self.messages_without_attempts += other.messages_without_attempts;
        self.not_queued += other.not_queued;
        self.cut_short += other.cut_short;
        for (p, d) in other.by_provider.drain() {
            self.by_provider.entry(p).or_default().merge(&d);
        }
        for (k, (p, d)) in other.by_domain.drain() {
            let e = self
                .by_domain
                .entry(remap(&maps.domains, k))
                .or_insert_with(|| (p, DelayStats::default()));
            e.0 = domain_provider(e.0, p);
            e.1.merge(&d);
        }
        self.domains_dropped |= other.domains_dropped;
        if self.by_domain.len() >= 2 * DOMAIN_STATS {
            self.keep_busiest_domains();
        }
        self.total.merge(&other.total);
        other.clear();
    }

    /// Empties the statistics, keeping the tables' memory. (Every field is
    /// named: a new one must say how it empties.)
    pub fn clear(&mut self) {
        let JourneyStats {
            totals,
            messages,
            messages_without_attempts,
            not_queued,
            cut_short,
            by_provider,
            by_domain,
            domains_dropped,
            total,
        } = self;
        let Totals {
            received,
            bytes_received,
            deferred_messages,
            bytes_delivered,
            senders,
            sending_domains,
            recipients,
            recipient_domains,
        } = totals;
        for n in [
            received,
            bytes_received,
            deferred_messages,
            bytes_delivered,
            messages,
            messages_without_attempts,
            not_queued,
            cut_short,
        ] {
            *n = 0;
        }
        senders.clear();
        sending_domains.clear();
        recipients.clear();
        recipient_domains.clear();
        by_provider.clear();
        by_domain.clear();
        *domains_dropped = false;
        *total = DelayStats::default();
    }

    /// Renames recipient-domain ids (`map[old] = new`); domains folded
    /// into one id have their numbers added.
    pub fn remap_domains(&mut self, map: &[u32]) {
        let m = |id: u32| crate::intern::remap(map, id);
        for (d, v) in std::mem::take(&mut self.totals.recipient_domains) {
            let e = self.totals.recipient_domains.entry(m(d)).or_default();
            e.0 += v.0;
            e.1 += v.1;
            e.2 += v.2;
        }
        for (d, (p, stats)) in std::mem::take(&mut self.by_domain) {
            let e = self
                .by_domain
                .entry(m(d))
                .or_insert_with(|| (p, DelayStats::default()));
            e.0 = domain_provider(e.0, p);
            e.1.merge(&stats);
        }
    }

    /// Keeps the [`DOMAIN_STATS`] domains with the most recipients (the
    /// report shows the busiest few). A million one-off domains cost 3 GiB
    /// of delay statistics; the providers' and the total's stay exact.
    fn keep_busiest_domains(&mut self) {
        let mut counts: Vec<(u64, u32)> = self
            .by_domain
            .iter()
            .map(|(d, (_, s))| (s.recipients(), *d))
            .collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let keep: HashSet<u32> = counts.iter().take(DOMAIN_STATS).map(|(_, d)| *d).collect();
        self.by_domain.retain(|d, _| keep.contains(d));
        self.domains_dropped = true;
    }
}

impl JourneyStats {
    /// What two scans' journeys must agree on (sketches compared by what they
    /// answer: their values' order depends on the merge order).
    pub(crate) fn fingerprint(&self) -> String {
        let st = self;
        let sketch = |s: &Sketch| {
            format!(
                "{}/{}/{:?}/{:?}",
                s.count(),
                s.max(),
                s.quantile(0.5),
                s.quantile(0.9)
            )
        };
        let delays = |d: &DelayStats| {
            format!(
                "{:?} {} {} {} {:?} {} {} {:?}",
                d.by_disposition,
                d.first_attempt,
                d.after_deferral,
                d.deferrals_before_delivery,
                d.attempts,
                sketch(&d.time_to_deliver),
                sketch(&d.time_to_fail),
                d.split.iter().map(sketch).collect::<Vec<_>>()
            )
        };
        let mut providers: Vec<String> = st
            .by_provider
            .iter()
            .map(|(p, d)| format!("{p}: {}", delays(d)))
            .collect();
        providers.sort();
        let t = &st.totals;
        format!(
            "messages {} without attempts {} not queued {} cut short {}; received {} ({} B), deferred {}, delivered {} B, {} senders {} sender domains {} recipients {} domains; total {}; {providers:?}",
            st.messages,
            st.messages_without_attempts,
            st.not_queued,
            st.cut_short,
            t.received,
            t.bytes_received,
            t.deferred_messages,
            t.bytes_delivered,
            t.senders.len(),
            t.sending_domains.len(),
            t.recipients.len(),
            t.recipient_domains.len(),
            delays(&st.total),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table finds every value's bucket as the logarithm does: every
    /// value below 2^22, each bucket's edges, and the largest.
    #[test]
    fn buckets_without_a_logarithm_equal_the_definition() {
        assert_eq!(usize::from(bucket_by_log(u32::MAX)) + 1, BUCKETS);
        for v in 0..(1u32 << 22) {
            assert_eq!(bucket_of(v), bucket_by_log(v), "{v}");
        }
        for &least in &BUCKET_TABLE.least {
            for v in [least.saturating_sub(1), least, least.saturating_add(1)] {
                assert_eq!(bucket_of(v), bucket_by_log(v), "{v}");
            }
        }
        for v in [u32::MAX, u32::MAX - 1, 1 << 31, (1 << 31) - 1] {
            assert_eq!(bucket_of(v), bucket_by_log(v), "{v}");
        }
    }

    #[test]
    fn exact_quantiles_by_nearest_rank() {
        let mut s = Sketch::default();
        for v in 1..=100 {
            s.add(v);
        }
        assert_eq!(s.quantile(0.5), Some(50.0));
        assert_eq!(s.quantile(0.9), Some(90.0));
        assert_eq!(s.quantile(0.99), Some(99.0));
        assert_eq!(s.quantile(1.0), Some(100.0));
        assert_eq!(s.max(), 100);
        assert_eq!(Sketch::default().quantile(0.5), None);
    }

    #[test]
    fn bucketed_quantiles_stay_within_two_percent() {
        let mut a = Sketch::default();
        let mut b = Sketch::default();
        let mut all: Vec<u32> = Vec::new();
        for i in 0..20_000u32 {
            let v = (i * 7919) % 3_600_000;
            all.push(v);
            if i % 2 == 0 { a.add(v) } else { b.add(v) }
        }
        a.merge(&b);
        all.sort_unstable();
        assert_eq!(a.count(), 20_000);
        for q in [0.5, 0.9, 0.99] {
            let exact = f64::from(all[(q * 20_000.0) as usize - 1]);
            let got = a.quantile(q).unwrap_or_default();
            assert!(
                (got - exact).abs() <= exact * 0.02 + 1.0,
                "q{q}: {got} vs {exact}"
            );
        }
        assert_eq!(a.max(), *all.last().unwrap_or(&0));
    }

    /// A million one-off domains held 3 GiB of delay statistics: the busiest
    /// stay, exact totals and providers too.
    #[test]
    fn domain_statistics_keep_the_busiest() {
        let one = RecipientJourney {
            disposition: Disposition::Delivered,
            attempts: 1,
            deferrals: 0,
            time_ms: Some(1000),
            split: None,
        };
        let mut st = JourneyStats::default();
        for _ in 0..50 {
            st.add(0, 7, &one);
        }
        for d in 100..(100 + 3 * DOMAIN_STATS as u32) {
            st.add(0, d, &one);
        }
        assert!(st.by_domain.len() <= 2 * DOMAIN_STATS);
        assert!(st.domains_dropped);
        assert_eq!(st.by_domain[&7].1.recipients(), 50);
        assert_eq!(st.total.recipients(), 50 + 3 * DOMAIN_STATS as u64);
        assert_eq!(st.by_provider[&0].recipients(), st.total.recipients());
    }

    #[test]
    fn delay_stats_count_each_recipient_once() {
        let mut s = DelayStats::default();
        let j = |d, attempts, deferrals, ms| RecipientJourney {
            disposition: d,
            attempts,
            deferrals,
            time_ms: Some(ms),
            split: None,
        };
        s.add(&j(Disposition::Delivered, 1, 0, 1000));
        s.add(&j(Disposition::Delivered, 4, 3, 2_400_000));
        s.add(&j(Disposition::Bounced, 1, 0, 500));
        s.add(&j(Disposition::Pending, 2, 2, 0));
        assert_eq!(s.delivered(), 2);
        assert_eq!((s.first_attempt, s.after_deferral), (1, 1));
        assert_eq!(s.deferrals_before_delivery, 3);
        assert_eq!(s.time_to_deliver.count(), 2);
        assert_eq!(s.time_to_deliver.max(), 2_400_000);
        assert_eq!(s.attempts[..4], [2, 1, 0, 1]);
        assert_eq!(s.recipients(), 4);
    }
}
