//! Per-worker accumulators: what one worker learns from its run of the input.
//!
//! A `Batch` is small and bounded by what is *distinct* in the input
//! (providers × domains × statuses × codes, masked reasons), never by its
//! size. Workers fold lines into their own batch; a merging thread merges
//! the batches in input order (`input::scan_pieces_in_runs`), which is what
//! lets a Postfix `status=expired` line find its recipient in an earlier run.

use crate::aggregate::auth::Auth;
use crate::aggregate::deliveries::{Deliveries, add_reason};
use crate::aggregate::distinct::ReachOf;
use crate::aggregate::inbound::Inbound;
use crate::aggregate::joins::Joins;
use crate::aggregate::sessions::Sessions;
use crate::aggregate::sinks::{EventBuffer, EventNames, FLUSH_ROWS};
use crate::aggregate::tally::Tally;
use crate::aggregate::tls::{TlsTables, Waiting};
use crate::aggregate::traffic::TrafficTable;
use crate::classify::category::{Blocklist, Category};
use crate::classify::provider::ProviderId;
use crate::event::{Status, Tls};
use crate::filter::Filter;
use crate::intern::Ids;
use crate::journey::log::{AttemptRow, MessageRow};
use crate::journey::{JourneyNames, Journeys};
use crate::parse::Unparsed;
use crate::parse::header::LineFormat;
use crate::parse::reject::RejectKind;
use hashbrown::HashMap;
use std::hash::BuildHasher;

type Fast = crate::hashing::Seeded;

/// The interned strings a batch's journeys name ([`JourneyNames`]), borrowed
/// field by field so that `journeys` itself stays free to borrow mutably.
macro_rules! journey_names {
    ($b:expr) => {
        JourneyNames {
            delivered_to: &$b.delivered_to,
            addresses: &$b.addresses,
            senders: &$b.senders,
            clients: &$b.clients,
            domains: &$b.domains,
            reasons: &$b.reasons,
        }
    };
}

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
const DEFERRAL_TABLE_SOFT_LIMIT: usize = 1 << 15;

/// One row of the inbound-reject table: what the server refused, to whom,
/// and why (masked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RejectKey {
    /// Refused, refused for now, or warned.
    pub kind: RejectKind,
    /// Interned SMTP stage (`RCPT`, `MAIL`, `header` …).
    pub stage: u32,
    /// Basic reply code, 0 when not logged.
    pub basic: u16,
    /// `Dsn::key()` or 0.
    pub dsn: u32,
    /// Interned masked reply text.
    pub reason: u32,
    /// Interned client (`host[ip]`).
    pub client: u32,
}

/// Clients kept by name in the reject table; past this they are counted
/// under [`OVERFLOW_CLIENT`].
pub const MAX_CLIENTS: usize = 1 << 16;
/// Client label once [`MAX_CLIENTS`] is reached.
pub const OVERFLOW_CLIENT: &[u8] = b"(more clients than the table holds)";

/// Syslog hosts kept by name for the events export.
pub const MAX_HOSTS: usize = 1 << 12;
/// The host label once [`MAX_HOSTS`] is reached: the events export writes
/// those rows under its own partition (`host=~overflow`), never a host's.
pub const OVERFLOW_HOST: &[u8] = b"(more hosts than the table holds)";
/// Relay hosts kept by name for the events export.
pub const MAX_RELAYS: usize = 1 << 18;

use crate::intern::remap;
pub use crate::intern::{Interner, NO_ID};

/// How many attempts name each id of an interner, for keeping the heavy
/// hitters when it is compacted.
struct Weights(Vec<u64>);

impl Weights {
    fn new(ids: usize) -> Weights {
        Weights(vec![0; ids])
    }

    fn add(&mut self, id: u32, n: u64) {
        if let Some(w) = self.0.get_mut(id as usize) {
            *w = w.saturating_add(n);
        }
    }

    /// Compacts `table` to its `budget` heaviest ids (among equals the
    /// earlier: an incident's first lines are not displaced by later
    /// noise); returns the id map `old → new`.
    fn keep_heaviest(&self, table: &mut Interner, budget: usize) -> Vec<u32> {
        let w = &self.0;
        let mut order: Vec<u32> = (0..w.len() as u32).collect();
        order.sort_unstable_by_key(|&id| (std::cmp::Reverse(w[id as usize]), id));
        let mut keep = vec![false; w.len()];
        for &id in order.iter().take(budget) {
            keep[id as usize] = true;
        }
        table.compact(|id| keep.get(id as usize).copied().unwrap_or(false))
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
    /// Interned origin (see [`Batch::origins`]).
    pub origin: u32,
}

/// One row of the outcomes table: what the findings engine works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutcomeKey {
    /// Provider id.
    pub provider: ProviderId,
    /// Delivery status.
    pub status: Status,
    /// `Dsn::key()` or 0.
    pub dsn: u32,
    /// Class as in [`SummaryKey`].
    pub class: u8,
    /// What the failure means.
    pub category: Category,
    /// Blocklist named in the reply.
    pub blocklist: Blocklist,
    /// Interned sender domain (empty: unknown, `<>`: null sender).
    pub sender: u32,
    /// False for deferrals the MTA logged without trying.
    pub attempted: bool,
    /// An Exim per-host error: one MX's reply, not a recipient's outcome.
    pub per_host: bool,
}

/// One cell of the timeline: minute × provider × status × code family × category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeKey {
    /// Minutes since the epoch (UTC).
    pub minute: i64,
    /// Provider id.
    pub provider: ProviderId,
    /// Delivery status.
    pub status: Status,
    /// Class (2/4/5).
    pub class: u8,
    /// Subject of the code, `None` when there was none.
    pub subject: Option<u8>,
    /// Category.
    pub category: Category,
    /// False for deferrals the MTA logged without trying.
    pub attempted: bool,
    /// An Exim per-host error: one MX's reply, not a recipient's outcome.
    pub per_host: bool,
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
    /// Category of the reply.
    pub category: Category,
    /// Interned masked reason.
    pub reason: u32,
    /// An Exim per-host error: one MX's reply, not a recipient's outcome.
    pub per_host: bool,
}

/// Count and time span of one reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReasonStats {
    /// Attempts with this reason.
    pub count: u64,
    /// Of those, attempts actually tried (and expiries): the rest are
    /// deferrals logged without trying, repeating an earlier failure.
    pub tried: u64,
    /// First time seen (UTC seconds).
    pub first: i64,
    /// Last time seen.
    pub last: i64,
}

/// A queue id copied inline (no allocation); longer ids are cut.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct QueueId {
    len: u8,
    bytes: [u8; 23],
}

impl QueueId {
    /// Copies up to 23 bytes of `id`.
    pub fn new(id: &[u8]) -> QueueId {
        let mut q = QueueId::default();
        let n = id.len().min(q.bytes.len());
        q.bytes[..n].copy_from_slice(&id[..n]);
        q.len = n as u8;
        q
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl AsRef<[u8]> for QueueId {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::fmt::Debug for QueueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// Everything one delivery attempt adds to the tables, once its sender is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// When (UTC seconds).
    pub ts: i64,
    /// Hash of host + queue id.
    pub message: u64,
    /// [`crate::hashing::stable`] hash of the recipient address (0: none
    /// logged, as on a Postfix expiry): the findings' distinct recipients.
    pub recipient: u64,
    /// Queue id, for evidence samples.
    pub queue_id: QueueId,
    /// Provider id.
    pub provider: ProviderId,
    /// Interned recipient domain.
    pub domain: u32,
    /// Status.
    pub status: Status,
    /// `Dsn::key()` or 0.
    pub dsn: u32,
    /// Class.
    pub class: u8,
    /// Category.
    pub category: Category,
    /// Blocklist named.
    pub blocklist: Blocklist,
    /// Interned masked reason (failures only).
    pub reason: Option<u32>,
    /// False for deferrals the MTA logged without trying.
    pub attempted: bool,
    /// An Exim host-level error (no recipient): counted in the findings'
    /// tables, not in the per-recipient summary.
    pub host_error: bool,
    /// An expiry that says nothing of its cause (Exim "retry timeout
    /// exceeded") whose last deferral was not in this batch: it takes the
    /// category of the message's last deferral at the merge.
    pub needs_cause: bool,
    /// Interned syslog host ([`NO_ID`] unless events are exported).
    pub host: u32,
    /// Interned relay host ([`NO_ID`] unless events are exported, or none).
    pub relay: u32,
    /// `delay=` in milliseconds, [`NO_DELAY`] when not logged.
    pub delay_ms: u32,
    /// How the connection was protected; `None` when no connection to a
    /// host over the network is known (local, a content filter, no relay).
    pub tls: Option<Tls>,
    /// A [`Tls::INHERIT`]'s question to the runs before
    /// ([`crate::aggregate::tls::OutAsk`]), settled at the merge.
    pub ask: u32,
}

/// [`Attempt::delay_ms`] when no delay was logged.
pub const NO_DELAY: u32 = u32::MAX;

/// An attempt whose message's sender was not seen (yet) in this batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingAttempt {
    /// The attempt.
    pub attempt: Attempt,
    /// Its sender, when known already (an expiry waiting only for its cause).
    pub sender: Option<u32>,
    /// Its origin and SASL user, when known already.
    pub origin: Option<Origin>,
    /// The recipient of a failure, which findings may name.
    pub recipient: Option<Box<[u8]>>,
    /// The message was removed earlier in this batch (its queue id is being
    /// reused): what the batches on the left know of it is another message's.
    pub after_removal: bool,
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
    /// Category of the deferral.
    pub category: Category,
    /// Blocklist of the deferral.
    pub blocklist: Blocklist,
    /// Hash of the deferred recipient (an expiry line may not name one).
    pub recipient: u64,
    /// When.
    pub ts: i64,
}

/// A Postfix expiry whose deferrals were not (yet) seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingExpiry {
    /// Hash of host + queue id.
    pub message: u64,
    /// Queue id.
    pub queue_id: QueueId,
    /// Interned sender domain (from the expiry line itself).
    pub sender: u32,
    /// When.
    pub ts: i64,
    /// As [`PendingAttempt::after_removal`]: do not look left.
    pub after_removal: bool,
    /// Interned syslog host ([`NO_ID`] unless events are exported).
    pub host: u32,
    /// The message's last deferral, when found in a batch that did not
    /// know the message's origin: the expiry waits for the merge with it.
    pub last: Option<LastDeferral>,
    /// The message's origin, once known.
    pub origin: Option<Origin>,
}

/// Who handed a message to us: an id of [`Batch::origins`] (client and
/// SASL user) and the SASL user's id in [`Batch::auth_names`] ([`NO_ID`]
/// when it did not authenticate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// Interned `name[ip]` NUL `user` (empty: not in the input).
    pub origin: u32,
    /// The SASL user in `auth_names`, or [`NO_ID`].
    pub user: u32,
}

/// The sender domain of a message, as last seen, and its origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderSeen {
    /// Interned sender domain.
    pub domain: u32,
    /// Its origin; `None` when the line naming it (Postfix smtpd's
    /// `client=`, before the sender line) is not in this batch: attempts
    /// then wait for the merge, which looks left.
    pub origin: Option<Origin>,
    /// When the sender line was seen.
    pub ts: i64,
}

/// A content filter's hand-off, as its copy will need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handed {
    /// The origin of the message handed over.
    Known(Origin),
    /// The key of the message handed over, whose origin is further left.
    Via(u64),
}

/// A copy re-injected from loopback, its origin not settled in its batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reinjected {
    /// The origin its own arrival line gives (the filter on loopback).
    pub own: Origin,
    /// The message it was handed as, when the hand-off was in this batch
    /// but that message's origin was not.
    pub via: Option<u64>,
}

/// A message's origin seen before its sender line (Postfix smtpd).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OriginSeen {
    /// The origin.
    pub origin: Origin,
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
    /// Exim address-verification callouts that failed (probes, not mail),
    /// besides the line's own count (a refusal, or another mail line).
    pub callouts: u64,
    /// Lines from programs other than Postfix and Exim.
    pub other_program: u64,
    /// Of those, lines of other MTAs, by [`crate::parse::header::OtherMta`].
    pub other_mta: [u64; crate::parse::header::OtherMta::ALL.len()],
    /// Postfix/Exim lines that are not deliveries (connects, queue, cleanup …).
    pub mail_other: u64,
    /// Delivery attempts (one per recipient per attempt), expiries included,
    /// before filters.
    pub deliveries: u64,
    /// Delivery attempts by status, before filters.
    pub by_status: [u64; 6],
    /// Deferrals the MTA logged without trying ("temporarily suspended",
    /// "retry time not reached").
    pub not_attempted: u64,
    /// Attempts left out by `--since/--until/--provider/--sender-domain`.
    pub filtered_out: u64,
    /// Exim `*>` lines (delivery suppressed with -N).
    pub fake_deliveries: u64,
    /// Exim host-level errors (`<id> H=host [ip]: …`) before trying the next host.
    pub host_errors: u64,
    /// Inbound commands the server refused or warned about (reject lines).
    pub rejects: u64,
    /// Envelope-sender lines (qmgr `from=`, Exim `<=`).
    pub senders: u64,
    /// Messages received (smtpd/postscreen `client=`, pickup `uid=`, Exim `<=`).
    pub received: u64,
    /// Sent lines that forwarded the message (`forwarded as …`).
    pub forwarded: u64,
    /// smtpd connections (`connect from`).
    pub connections: u64,
    /// Daemon notices (warning, error, fatal, panic, master).
    pub notices: u64,
    /// postscreen events other than its rejects.
    pub postscreen: u64,
    /// Failed SMTP AUTH lines (also counted as notices or mail lines).
    pub auth_failures: u64,
    /// Attempts whose message's sender line was not in the input.
    pub sender_unknown: u64,
    /// Lines not understood, by reason.
    pub unparsed: [u64; Unparsed::ALL.len()],
    /// Lines whose text had invalid UTF-8 (kept as bytes, escaped on output).
    pub invalid_utf8: u64,
    /// Lines by timestamp format.
    pub by_format: [u64; LineFormat::ALL.len()],
}

impl Counters {
    /// Total lines not understood.
    pub fn unparsed_total(&self) -> u64 {
        self.unparsed.iter().sum()
    }

    /// What was counted since `before` (an earlier copy of these counters).
    pub fn since(&self, before: &Counters) -> Counters {
        let mut d = *self;
        d.lines -= before.lines;
        d.bytes -= before.bytes;
        d.blank -= before.blank;
        d.callouts -= before.callouts;
        d.other_program -= before.other_program;
        for (a, b) in d.other_mta.iter_mut().zip(before.other_mta) {
            *a -= b;
        }
        d.mail_other -= before.mail_other;
        d.deliveries -= before.deliveries;
        d.not_attempted -= before.not_attempted;
        d.filtered_out -= before.filtered_out;
        d.fake_deliveries -= before.fake_deliveries;
        d.host_errors -= before.host_errors;
        d.rejects -= before.rejects;
        d.senders -= before.senders;
        d.received -= before.received;
        d.forwarded -= before.forwarded;
        d.connections -= before.connections;
        d.notices -= before.notices;
        d.postscreen -= before.postscreen;
        d.auth_failures -= before.auth_failures;
        d.sender_unknown -= before.sender_unknown;
        d.invalid_utf8 -= before.invalid_utf8;
        for (a, b) in d.by_status.iter_mut().zip(before.by_status) {
            *a -= b;
        }
        for (a, b) in d.unparsed.iter_mut().zip(before.unparsed) {
            *a -= b;
        }
        for (a, b) in d.by_format.iter_mut().zip(before.by_format) {
            *a -= b;
        }
        d
    }

    fn add(&mut self, o: &Counters) {
        self.lines += o.lines;
        self.bytes += o.bytes;
        self.blank += o.blank;
        self.callouts += o.callouts;
        self.other_program += o.other_program;
        for (a, b) in self.other_mta.iter_mut().zip(o.other_mta) {
            *a += b;
        }
        self.mail_other += o.mail_other;
        self.deliveries += o.deliveries;
        self.not_attempted += o.not_attempted;
        self.filtered_out += o.filtered_out;
        self.fake_deliveries += o.fake_deliveries;
        self.host_errors += o.host_errors;
        self.rejects += o.rejects;
        self.senders += o.senders;
        self.received += o.received;
        self.forwarded += o.forwarded;
        self.connections += o.connections;
        self.notices += o.notices;
        self.postscreen += o.postscreen;
        self.auth_failures += o.auth_failures;
        self.sender_unknown += o.sender_unknown;
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
/// Queue ids kept per provider × category, as evidence.
pub const QUEUE_ID_SAMPLES: usize = 3;
/// At most this many distinct recipients are kept (hygiene, mailbox full).
pub const MAX_RECIPIENTS: usize = 1 << 14;
/// Recipient label used once [`MAX_RECIPIENTS`] is reached.
pub const OVERFLOW_RECIPIENT: &[u8] = b"(more recipients than the table holds)";
/// At most this many distinct sender domains are kept.
pub const MAX_SENDERS: usize = 1 << 16;
/// Sender label used once [`MAX_SENDERS`] is reached.
pub const OVERFLOW_SENDER: &[u8] = b"(more sender domains than the table holds)";
/// Columns of the per-quarter-hour traffic counts (pflogsumm's per-day and
/// per-hour tables, plus expiries and smtpd connections).
pub struct Traffic;

impl Traffic {
    /// Messages received (smtpd/postscreen `client=`, pickup, Exim `<=`).
    pub const RECEIVED: usize = 0;
    /// Recipients delivered (sent, not forwarded).
    pub const DELIVERED: usize = 1;
    /// Deferral lines.
    pub const DEFERRED: usize = 2;
    /// Bounce lines.
    pub const BOUNCED: usize = 3;
    /// Refusals of every kind (reject, reject warning, hold, discard).
    pub const REJECTED: usize = 4;
    /// smtpd connections.
    pub const CONNECTIONS: usize = 5;
    /// Expiries.
    pub const EXPIRED: usize = 6;
    /// Number of columns.
    pub const COLUMNS: usize = 7;
    /// Bucket width, seconds (15 minutes: every UTC offset in use is a
    /// multiple of it, so local hours and days come out exact).
    pub const BUCKET: i64 = 900;
}

/// smtpd sessions paired from `connect from` to `disconnect from` (by
/// host and smtpd pid): how many, their total and longest time, seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionTime {
    /// Sessions.
    pub sessions: u64,
    /// Total seconds.
    pub secs: u64,
    /// Longest, seconds.
    pub max: u64,
}

impl SessionTime {
    /// Adds one session, or another total.
    pub fn add(&mut self, o: SessionTime) {
        self.sessions += o.sessions;
        self.secs += o.secs;
        self.max = self.max.max(o.max);
    }
}

/// An open smtpd session older than this is dropped unpaired (smtpd's
/// own limits end sessions long before).
pub const SESSION_HORIZON_SECS: i64 = 86_400;

/// At most this many distinct sender addresses are kept (journeys).
pub const MAX_ADDRESSES: usize = 1 << 18;
/// Sender label used once [`MAX_ADDRESSES`] is reached.
pub const OVERFLOW_ADDRESS: &[u8] = b"(more sender addresses than the table holds)";
/// The sender-domain label of the null sender `<>` (bounces, DSNs).
pub const NULL_SENDER: &[u8] = b"<>";

/// The sender-domain label of a sender without a domain (`root`).
pub const UNQUALIFIED_SENDER: &[u8] = b"(unqualified)";

pub use crate::time::grid::TIMELINE_WIDTHS;
/// The timeline holds at most about this many cells; past it, buckets get
/// wider (see [`TIMELINE_WIDTHS`]), so memory follows the summary, not the
/// log's length.
pub const TIMELINE_CAP: usize = 1 << 15;

/// Removals kept for the merge, per batch.
pub const PENDING_REMOVALS_CAP: usize = 1 << 16;

/// Content-filter hops kept apart (a server has one or two).
pub const MAX_HANDOFF_HOPS: usize = 16;

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
    /// Interned sender domains.
    pub senders: Interner,
    /// Interned recipients (hygiene and mailbox-full failures only).
    pub recipients: Interner,
    /// Delivery tallies: summary, outcomes, timeline, reasons, evidence.
    pub deliveries: Deliveries,
    /// Per-message state of the sender and expiry joins.
    pub joins: Joins,
    /// A few sample lines per unparsed reason (raw bytes, escaped on output).
    pub samples: [Vec<Box<[u8]>>; Unparsed::ALL.len()],
    /// Syslog hosts (interned only when events are exported).
    pub hosts: Interner,
    /// Relay hosts (interned only when events are exported).
    pub relays: Interner,
    /// Rows for `--events`, when exported.
    pub events: Option<EventBuffer>,
    /// Inbound refusals, daemon notices and postscreen events.
    pub inbound: Inbound,
    /// SMTP stages named by rejects.
    pub stages: Interner,
    /// Clients named by rejects and by message arrivals.
    pub clients: Interner,
    /// Envelope sender addresses (journeys).
    pub addresses: Interner,
    /// Delivered recipients' addresses (journeys: the top-recipient tables).
    pub delivered_to: Interner,
    /// pflogsumm's per-quarter-hour traffic.
    pub traffic: TrafficTable,
    /// Postfix services and postscreen actions named by notices and events.
    pub services: Interner,
    /// smtpd connections and sessions.
    pub sessions: Sessions,
    /// Message journeys: rows not yet joined, open messages, statistics.
    pub journeys: Journeys,
    /// Who handed each message over: the client (`name[ip]`, `local`) and
    /// the SASL user, NUL between; empty when the input does not say.
    pub origins: Interner,
    /// Clients, user names, networks and recipient domains of [`Auth`].
    pub auth_names: Interner,
    /// Logins, failed logins and each SASL user's mail.
    pub auth: Auth,
    /// TLS: the Postfix process joins and the posture tallies.
    pub tls: TlsTables,
}

/// (client, SASL user) pairs the tallies keep apart; the rest are
/// [`OVERFLOW_ORIGIN`]. Each batch and the merged total keep the first this
/// many they see, so past this many in one run (32 MB) which ones are named
/// may change with the thread count (the counts never do). The frames name
/// only the busiest (`frame::NAMED_ORIGINS`). Kept apart up to 65,536, the
/// bench log (a random client address per message) took twice the memory
/// (131 against 67 MiB for 1 GiB, 161 for 4 GiB) and 32 % longer; at 4,096,
/// 70 and 76 MiB and 11 %.
pub const MAX_ORIGINS: usize = 4096;
/// The origin once [`MAX_ORIGINS`] is reached, and the frames' fold.
pub const OVERFLOW_ORIGIN: &[u8] = b"(other clients)\0";
/// Names [`Batch::auth_names`] holds at most.
pub const MAX_AUTH_NAMES: usize = 1 << 20;

impl Default for Batch {
    fn default() -> Self {
        Batch {
            counters: Counters::default(),
            span: None,
            domains: Interner::with_limit(MAX_DOMAINS, OVERFLOW_DOMAIN),
            reasons: Interner::with_limit(MAX_REASONS, OVERFLOW_REASON),
            senders: Interner::with_limit(MAX_SENDERS, OVERFLOW_SENDER),
            recipients: Interner::with_limit(MAX_RECIPIENTS, OVERFLOW_RECIPIENT),
            deliveries: Deliveries::default(),
            joins: Joins::default(),
            samples: Default::default(),
            hosts: Interner::with_limit(MAX_HOSTS, OVERFLOW_HOST),
            relays: Interner::with_limit(MAX_RELAYS, b"(more relays than the table holds)"),
            events: None,
            inbound: Inbound::default(),
            stages: Interner::with_limit(64, b"(other)"),
            clients: Interner::with_limit(MAX_CLIENTS, OVERFLOW_CLIENT),
            addresses: Interner::with_limit(MAX_ADDRESSES, OVERFLOW_ADDRESS),
            delivered_to: Interner::with_limit(
                MAX_ADDRESSES,
                b"(more recipients than the table holds)",
            ),
            traffic: TrafficTable::default(),
            services: Interner::with_limit(256, b"(other)"),
            sessions: Sessions::default(),
            journeys: Journeys::default(),
            origins: Interner::with_limit(MAX_ORIGINS, OVERFLOW_ORIGIN),
            auth_names: Interner::with_limit(MAX_AUTH_NAMES, b"(more names than the table holds)"),
            auth: Auth::default(),
            tls: TlsTables::default(),
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

/// Keeps, sorted, the `limit` earliest distinct keys by (time, key bytes),
/// each at its earliest time, whatever order they come in (so chunking does
/// not change them). `make` builds the stored key, only when it is kept.
pub fn keep_earliest<K: AsRef<[u8]>>(
    kept: &mut Vec<(i64, K)>,
    limit: usize,
    ts: i64,
    key: &[u8],
    make: impl FnOnce() -> K,
) {
    if let Some(at) = kept.iter().position(|(_, k)| k.as_ref() == key) {
        if ts >= kept[at].0 {
            return;
        }
        kept.remove(at);
    } else if kept.len() >= limit {
        match kept.last() {
            Some(last) if (ts, key) < (last.0, last.1.as_ref()) => {
                kept.pop();
            }
            _ => return,
        }
    }
    let at = kept.partition_point(|(t, k)| (*t, k.as_ref()) < (ts, key));
    kept.insert(at, (ts, make()));
}

impl ReasonStats {
    /// Adds another tally of the same key.
    pub fn add(&mut self, s: &ReasonStats) {
        self.count += s.count;
        self.tried += s.tried;
        self.first = self.first.min(s.first);
        self.last = self.last.max(s.last);
    }
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

    /// Counts one line in the per-quarter-hour traffic table. Lines come
    /// in time order, so the current quarter hour is counted aside and
    /// added to the table when the next one starts.
    #[inline]
    pub fn traffic(&mut self, ts: i64, column: usize) {
        self.traffic.count(ts, column);
    }

    /// Adds the quarter hour being counted to the traffic table.
    pub fn flush_traffic(&mut self) {
        self.traffic.flush();
    }

    /// Counts hand-off attempts and failures to one next hop (see
    /// [`Deliveries::see_hop`]).
    pub fn see_hop(&mut self, hop: &[u8], attempts: u64, failures: u64) {
        self.deliveries.see_hop(hop, attempts, failures);
    }

    /// Counts a line by its timestamp format.
    #[inline]
    pub fn see_format(&mut self, f: LineFormat) {
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

    /// Counts a delivery record at line level (before joins and filters).
    #[inline]
    pub fn see_delivery(&mut self, status: Status, attempted: bool) {
        self.counters.deliveries += 1;
        self.counters.by_status[status.index()] += 1;
        if !attempted {
            self.counters.not_attempted += 1;
        }
    }

    /// Remembers a message's sender domain (`sender` is the whole address).
    /// Returns the interned sender domain.
    /// `named`: the origin this same line gives (Exim's `<=`; `Some(None)`
    /// when it is not settled yet), else it is looked up.
    pub fn see_sender(
        &mut self,
        message: u64,
        sender: &[u8],
        named: Option<Option<Origin>>,
        scratch: &mut Vec<u8>,
        ts: i64,
    ) -> u32 {
        self.counters.senders += 1;
        let domain = sender_domain(sender, scratch);
        let domain = self.senders.intern(domain);
        // The origin came on an earlier line (smtpd), or with an earlier
        // sender line of the same message (qmgr logs one per retry).
        let origin = match named {
            Some(origin) => origin,
            None => match self.joins.origin_of.remove(&message) {
                Some(o) => Some(o.origin),
                None => self.joins.sender_of.get(&message).and_then(|s| s.origin),
            },
        };
        self.joins
            .sender_of
            .insert(message, SenderSeen { domain, origin, ts });
        domain
    }

    /// Remembers who handed a message over (before its sender line).
    pub fn see_origin(&mut self, message: u64, origin: Origin, ts: i64) {
        self.joins
            .origin_of
            .insert(message, OriginSeen { origin, ts });
    }

    /// A content filter on loopback took `original` and queued it again
    /// as `copy` (the hand-off line's `queued as`).
    pub fn handed_off(&mut self, original: u64, copy: u64) {
        let handed = match self.joins.origin(original) {
            Some(origin) => Handed::Known(origin),
            None => Handed::Via(original),
        };
        self.joins.handed.insert(copy, handed);
    }

    /// A message a client on loopback handed over (`own` its origin): a
    /// content filter's copy takes the origin of the message it was handed,
    /// if a hand-off line named it before. `None`: not known in this batch,
    /// settled at the merge (its attempts wait).
    pub fn reinjected_origin(&mut self, message: u64, own: Origin) -> Option<Origin> {
        let via = match self.joins.handed.get(&message) {
            Some(&Handed::Known(origin)) => return Some(origin),
            Some(&Handed::Via(original)) => Some(original),
            None => None,
        };
        self.joins
            .reinjected
            .insert(message, Reinjected { own, via });
        None
    }

    /// Settles the copies this batch could not, with nothing to its left:
    /// the hand-off was not before them, so each keeps its own origin.
    fn settle_reinjected_alone(&mut self) {
        if self.joins.reinjected.is_empty() {
            return;
        }
        let ts = self.span.map_or(0, |(_, z)| z);
        for (&copy, r) in &self.joins.reinjected {
            match self.joins.sender_of.get_mut(&copy) {
                Some(s) => s.origin = Some(r.own),
                // Its sender line is to come, in a batch on the right.
                None => {
                    self.joins
                        .origin_of
                        .insert(copy, OriginSeen { origin: r.own, ts });
                }
            }
        }
        // Only attempts whose sender line came before them: a copy's
        // arrival logged after its attempt (Exim's test suite does that)
        // names no origin for it, wherever the input is cut.
        for p in &mut self.joins.pending {
            if p.origin.is_none()
                && p.sender.is_some()
                && let Some(r) = self.joins.reinjected.get(&p.attempt.message)
            {
                p.origin = Some(r.own);
            }
        }
        for p in &mut self.joins.pending_expiries {
            if p.origin.is_none()
                && let Some(r) = self.joins.reinjected.get(&p.message)
            {
                p.origin = Some(r.own);
            }
        }
        self.joins.reinjected.clear();
        // A hand-off whose original's origin is nowhere before names none.
        self.joins
            .handed
            .retain(|_, h| matches!(h, Handed::Known(_)));
    }

    /// The origin of unknown origin.
    pub fn no_origin(&mut self) -> Origin {
        Origin {
            origin: self.origins.intern(b""),
            user: NO_ID,
        }
    }

    /// Joins an attempt to its sender, or keeps it pending; counts it once joined.
    #[inline]
    pub fn attempt(&mut self, a: Attempt, recipient: &[u8], filter: &Filter) {
        let seen = self.joins.sender_of.get(&a.message);
        let sender = seen.map(|s| s.domain);
        let origin = seen.and_then(|s| s.origin);
        match (sender, origin) {
            (Some(sender), Some(origin)) if !a.needs_cause => {
                self.contribute(&a, sender, origin, recipient, filter)
            }
            _ => self.joins.pending.push(PendingAttempt {
                attempt: a,
                sender,
                origin,
                recipient: (a.category != Category::Delivered).then(|| recipient.into()),
                after_removal: self.joins.pending_removals.contains(&a.message),
            }),
        }
    }

    /// Adds one attempt whose sender is known to every table, if the filter keeps it.
    pub fn contribute(
        &mut self,
        a: &Attempt,
        sender: u32,
        origin: Origin,
        recipient: &[u8],
        filter: &Filter,
    ) {
        if !filter.keeps(a.ts, a.provider) || !filter.keeps_sender(self.senders.get(sender)) {
            self.counters.filtered_out += 1;
            return;
        }
        if self.senders.get(sender).is_empty() {
            self.counters.sender_unknown += 1;
        }
        if a.tls == Some(Tls::INHERIT) && (self.events.is_some() || a.status == Status::Sent) {
            // Its connection began in an earlier run: exported and counted
            // in the TLS tables once the merge knows how it was protected.
            self.tls.waiting.push(Waiting {
                attempt: *a,
                sender,
                origin: origin.origin,
                recipient: if a.status == Status::Sent {
                    Box::default()
                } else {
                    recipient.into()
                },
            });
        } else {
            self.export_and_count_tls(a, sender, origin.origin, recipient);
        }
        if !a.host_error {
            *self
                .deliveries
                .summary
                .entry(SummaryKey {
                    provider: a.provider,
                    domain: a.domain,
                    status: a.status,
                    dsn: a.dsn,
                    class: a.class,
                    origin: origin.origin,
                })
                .or_insert(0) += 1;
        }
        if origin.user != NO_ID && a.attempted && !a.host_error {
            let domain = self.auth_names.intern(self.domains.get(a.domain));
            self.auth.recipient_domain(origin.user, domain, a.ts);
        }
        if a.status.is_probe() {
            // A probe tests an address: in the summary (and the probes
            // section built from it), never in what findings read.
            return;
        }

        *self
            .deliveries
            .outcomes
            .entry(OutcomeKey {
                provider: a.provider,
                status: a.status,
                dsn: a.dsn,
                class: a.class,
                category: a.category,
                blocklist: a.blocklist,
                sender,
                attempted: a.attempted,
                per_host: a.host_error,
            })
            .or_insert(0) += 1;
        // Who sent the failures (findings' evidence): failures only, so
        // the table stays small whatever the number of clients.
        if a.attempted && !a.host_error && a.category != Category::Delivered {
            *self
                .deliveries
                .failed_by_origin
                .entry((a.provider, a.category, origin.origin))
                .or_insert(0) += 1;
        }
        *self
            .deliveries
            .timeline
            .entry(TimeKey {
                minute: {
                    let m = a.ts.div_euclid(60);
                    m - m.rem_euclid(self.deliveries.timeline_width)
                },
                provider: a.provider,
                status: a.status,
                class: a.class,
                subject: crate::dsn::subject_of_key(a.dsn),
                category: a.category,
                attempted: a.attempted,
                per_host: a.host_error,
            })
            .or_insert(0) += 1;
        if self.deliveries.timeline.len() > TIMELINE_CAP {
            self.widen_timeline(self.deliveries.timeline_width + 1);
        }
        // Exim's per-host errors are no recipient's outcome: not in the reach.
        if (a.attempted || a.status == Status::Expired) && !a.host_error {
            // The same key in every run (the estimates must not follow the
            // per-process seed of `a.message`).
            let message = crate::hashing::stable(a.queue_id.as_bytes());
            self.deliveries
                .reach
                .entry((a.provider, ReachOf::Attempts))
                .or_default()
                .add(message, a.recipient, a.ts, None);
            if a.category != Category::Delivered {
                self.deliveries
                    .reach
                    .entry((a.provider, ReachOf::Failures(a.category)))
                    .or_default()
                    .add(message, a.recipient, a.ts, Some(recipient));
            }
            if a.status == Status::Expired {
                self.deliveries
                    .reach
                    .entry((a.provider, ReachOf::Expiries))
                    .or_default()
                    .add(message, a.recipient, a.ts, Some(recipient));
            }
        }
        let Some(reason) = a.reason else {
            return;
        };
        add_reason(
            &mut self.deliveries.reason_counts,
            ReasonKey {
                provider: a.provider,
                status: a.status,
                dsn: a.dsn,
                class: a.class,
                category: a.category,
                reason,
                per_host: a.host_error,
            },
            ReasonStats {
                count: 1,
                tried: u64::from(a.attempted || a.status == Status::Expired),
                first: a.ts,
                last: a.ts,
            },
        );
        if a.attempted || a.status == Status::Expired {
            let samples = self
                .deliveries
                .queue_samples
                .entry((a.provider, a.category))
                .or_default();
            keep_earliest(
                samples,
                QUEUE_ID_SAMPLES,
                a.ts,
                a.queue_id.as_bytes(),
                || a.queue_id,
            );
            if a.category.spec().lists_recipients && !recipient.is_empty() {
                let r = self.recipients.intern(recipient);
                *self
                    .deliveries
                    .recipient_counts
                    .entry((a.provider, a.category, r))
                    .or_insert(0) += 1;
            }
        }
    }

    /// What the runs before said of this batch's connections that began
    /// there: its attempts waiting for a sender take it, those that waited
    /// only for it are exported and counted.
    fn take_tls_answers(&mut self, answers: &crate::aggregate::tls::Answers) {
        for p in &mut self.joins.pending {
            answers.fix(&mut p.attempt);
        }
        for w in &answers.waiting {
            self.export_and_count_tls(&w.attempt, w.sender, w.origin, &w.recipient);
        }
    }

    /// The events export's row of an attempt, and its TLS tally.
    fn export_and_count_tls(&mut self, a: &Attempt, sender: u32, origin: u32, recipient: &[u8]) {
        if a.host_error {
            return;
        }
        if let Some(events) = &mut self.events {
            events.push(a, sender, origin, recipient);
            if events.len() >= FLUSH_ROWS {
                self.flush_events();
            }
        }
        if a.status == Status::Sent
            && let Some(tls) = a.tls
        {
            self.tls.count_out(a, tls);
        }
    }

    /// Joins an expiry to the message's last deferral, if seen; else keeps it pending.
    pub fn expire(&mut self, mut p: PendingExpiry, filter: &Filter) {
        let origin = self.joins.sender_of.get(&p.message).and_then(|s| s.origin);
        match (self.joins.deferrals.remove(&p.message), origin) {
            (Some(last), Some(origin)) => self.count_expiry(last, p, origin, filter),
            (last, origin) => {
                p.last = last;
                p.origin = origin;
                p.after_removal = self.joins.pending_removals.contains(&p.message);
                self.joins.pending_expiries.push(p);
            }
        }
    }

    fn count_expiry(
        &mut self,
        last: LastDeferral,
        p: PendingExpiry,
        origin: Origin,
        filter: &Filter,
    ) {
        let a = Attempt {
            ts: p.ts,
            message: p.message,
            recipient: last.recipient,
            queue_id: p.queue_id,
            provider: last.provider,
            domain: last.domain,
            status: Status::Expired,
            dsn: 0,
            class: Status::Expired.implied_class(),
            category: last.category,
            blocklist: last.blocklist,
            reason: Some(last.reason),
            attempted: true,
            host_error: false,
            needs_cause: false,
            host: p.host,
            relay: NO_ID,
            delay_ms: NO_DELAY,
            tls: None,
            ask: crate::aggregate::tls::NO_ASK,
        };
        self.contribute(&a, p.sender, origin, b"", filter);
    }

    /// Merges `right` (which comes *after* `self` in the input) into `self`,
    /// then joins the message journeys gathered, if there are enough rows.
    /// (Journeys are joined only here, so `self` must hold everything before
    /// `right`: the running total of the whole input.)
    pub fn merge(mut self, mut right: Batch, filter: &Filter) -> Batch {
        self.merge_from(&mut right, filter);
        self
    }

    /// [`Batch::merge`] in place: `right` is left drained, its tables'
    /// allocations kept, for [`Batch::reset`] and another run (a batch's
    /// tables allocated afresh for every run, and freed on the merging
    /// thread, had the kernel zero new pages for each).
    pub fn merge_from(&mut self, right: &mut Batch, filter: &Filter) {
        self.merge_tables(right, filter);
        self.settle_journeys(filter, false);
    }

    /// Empties the batch for another run, keeping its tables' allocations
    /// (and its event buffer's sink). Every field is named: a new one must
    /// say how it is emptied.
    pub fn reset(&mut self) {
        let Batch {
            counters,
            span,
            domains,
            reasons,
            senders,
            recipients,
            deliveries,
            joins,
            samples,
            hosts,
            relays,
            events,
            inbound,
            stages,
            clients,
            addresses,
            delivered_to,
            traffic,
            services,
            sessions,
            journeys,
            origins,
            auth_names,
            auth,
            tls,
        } = self;
        *counters = Counters::default();
        *span = None;
        for t in [
            domains,
            reasons,
            senders,
            recipients,
            hosts,
            relays,
            stages,
            clients,
            addresses,
            delivered_to,
            services,
            origins,
            auth_names,
        ] {
            t.clear();
        }
        auth.reset();
        tls.reset();
        deliveries.reset();
        joins.reset();
        for s in samples.iter_mut() {
            s.clear();
        }
        if let Some(e) = events {
            *e = EventBuffer::new(e.sink());
        }
        inbound.reset();
        traffic.reset();
        sessions.reset();
        journeys.reset();
    }

    /// Joins the journey rows gathered (all of them when `end`).
    pub fn settle_journeys(&mut self, filter: &Filter, end: bool) {
        let newest = self.span.map_or(0, |(_, z)| z);
        let names = journey_names!(self);
        self.journeys.settle(names, filter, end, newest);
    }

    /// A worker's journey row of a message ([`crate::journey::live`]).
    pub fn live_message(&mut self, row: MessageRow, filter: &Filter) {
        let names = journey_names!(self);
        self.journeys.live_message(row, names, filter);
    }

    /// A worker's journey row of an attempt.
    pub fn live_attempt(&mut self, row: &AttemptRow, filter: &Filter) {
        let names = journey_names!(self);
        self.journeys.live_attempt(row, names, filter);
    }

    /// Absorbs every interned string of `right` (which comes after this
    /// batch): the maps from its ids to this batch's, for every piece.
    fn absorb_names(&mut self, right: &Batch) -> Ids {
        Ids {
            hosts: self.hosts.absorb(&right.hosts),
            relays: self.relays.absorb(&right.relays),
            domains: self.domains.absorb(&right.domains),
            reasons: self.reasons.absorb(&right.reasons),
            senders: self.senders.absorb(&right.senders),
            recipients: self.recipients.absorb(&right.recipients),
            stages: self.stages.absorb(&right.stages),
            clients: self.clients.absorb(&right.clients),
            addresses: self.addresses.absorb(&right.addresses),
            delivered_to: self.delivered_to.absorb(&right.delivered_to),
            services: self.services.absorb(&right.services),
            origins: self.origins.absorb(&right.origins),
            auth_names: self.auth_names.absorb(&right.auth_names),
            newest: self.span.or(right.span).map(|(_, z)| z),
        }
    }

    /// The sender, deferral and expiry joins of `right`'s pending attempts
    /// and expiries against this batch, which holds everything before it;
    /// then `right`'s per-message tables join this batch's. The one merge
    /// that crosses pieces: a joined attempt is counted into the deliveries.
    fn merge_joins(&mut self, right: &mut Batch, ids: &Ids, filter: &Filter) {
        let Ids {
            hosts: hst,
            relays: rly,
            domains: dom,
            reasons: rea,
            senders: snd,
            origins: org,
            auth_names: aun,
            ..
        } = ids;
        let map_origin = |o: Origin| Origin {
            origin: remap(org, o.origin),
            user: remap(aun, o.user),
        };
        // The right's messages whose sender line came without their origin
        // (Postfix smtpd's `client=` in a batch before): the left knows it.
        for s in right.joins.sender_of.values_mut() {
            s.origin = s.origin.map(map_origin);
        }
        for o in right.joins.origin_of.values_mut() {
            o.origin = map_origin(o.origin);
        }
        // Copies re-injected from loopback whose hand-off or original was
        // on the left: the original's origin, or their own.
        let mut settled: HashMap<u64, Origin, Fast> = HashMap::default();
        for h in right.joins.handed.values_mut() {
            if let Handed::Known(o) = h {
                *o = map_origin(*o);
            }
        }
        for (copy, r) in right.joins.reinjected.drain() {
            let from_left = match r.via {
                Some(original) => self.joins.origin(original),
                None => match self.joins.handed.get(&copy) {
                    Some(&Handed::Known(o)) => Some(o),
                    _ => None,
                },
            };
            let origin = from_left.unwrap_or_else(|| map_origin(r.own));
            match right.joins.sender_of.get_mut(&copy) {
                Some(s) => s.origin = Some(origin),
                None => {
                    let ts = right.span.map_or(0, |(_, z)| z);
                    right
                        .joins
                        .origin_of
                        .insert(copy, OriginSeen { origin, ts });
                }
            }
            settled.insert(copy, origin);
        }
        for (copy, h) in right.joins.handed.drain() {
            let origin = match h {
                Handed::Known(o) => Some(o),
                Handed::Via(original) => self.joins.origin(original),
            };
            if let Some(o) = origin {
                self.joins.handed.insert(copy, Handed::Known(o));
            }
        }
        // Expiries on the right look back into deferrals on the left.
        for mut p in right.joins.pending_expiries.drain(..) {
            p.sender = remap(snd, p.sender);
            p.host = remap(hst, p.host);
            if let Some(last) = &mut p.last {
                last.domain = remap(dom, last.domain);
                last.reason = remap(rea, last.reason);
            }
            let last = if p.after_removal {
                p.last
            } else {
                p.last.or_else(|| self.joins.deferrals.remove(&p.message))
            };
            p.origin = p.origin.map(map_origin);
            let origin = if p.after_removal {
                p.origin
            } else {
                p.origin
                    .or_else(|| settled.get(&p.message).copied())
                    .or_else(|| self.joins.origin(p.message))
            };
            match last {
                Some(last) => {
                    let origin = origin.unwrap_or_else(|| self.no_origin());
                    self.count_expiry(last, p, origin, filter);
                }
                None => self.joins.pending_expiries.push(p),
            }
        }
        // Attempts on the right look back for their sender on the left,
        // before the right's own senders (later in time) are added.
        for mut p in right.joins.pending.drain(..) {
            p.attempt.domain = remap(dom, p.attempt.domain);
            p.attempt.reason = p.attempt.reason.map(|r| remap(rea, r));
            p.attempt.host = remap(hst, p.attempt.host);
            p.attempt.relay = remap(rly, p.attempt.relay);
            p.sender = p.sender.map(|x| remap(snd, x));
            p.origin = p.origin.map(map_origin);
            if p.after_removal {
                // Nothing on the left is about this message: final as it is.
                p.attempt.needs_cause = false;
                match p.sender {
                    Some(sender) => {
                        let rcpt = p.recipient.as_deref().unwrap_or_default();
                        let origin = p.origin.unwrap_or_else(|| self.no_origin());
                        self.contribute(&p.attempt, sender, origin, rcpt, filter);
                    }
                    None => self.joins.pending.push(p),
                }
                continue;
            }
            if p.attempt.needs_cause {
                // Everything before the right batch is on the left now.
                if let Some(last) = self.joins.deferrals.get(&p.attempt.message) {
                    p.attempt.category = last.category;
                    p.attempt.blocklist = last.blocklist;
                }
                p.attempt.needs_cause = false;
            }
            let sender = p.sender.or_else(|| {
                self.joins
                    .sender_of
                    .get(&p.attempt.message)
                    .map(|s| s.domain)
            });
            // Everything before is on the left: an origin not found there
            // is not in the input.
            let origin = p
                .origin
                .or_else(|| {
                    // (As in `settle_reinjected_alone`: only after its sender line.)
                    p.sender
                        .and_then(|_| settled.get(&p.attempt.message).copied())
                })
                .or_else(|| self.joins.origin(p.attempt.message));
            match sender {
                Some(sender) => {
                    let rcpt = p.recipient.as_deref().unwrap_or_default();
                    let origin = origin.unwrap_or_else(|| self.no_origin());
                    self.contribute(&p.attempt, sender, origin, rcpt, filter);
                }
                None => {
                    p.origin = origin;
                    self.joins.pending.push(p);
                }
            }
        }
        // Right's removals of messages that started on the left (after the
        // joins above, which needed those entries).
        for m in right.joins.pending_removals.drain() {
            self.forget(m);
        }
        for (m, mut d) in right.joins.deferrals.drain() {
            d.domain = remap(dom, d.domain);
            d.reason = remap(rea, d.reason);
            self.joins.deferrals.insert(m, d);
        }
        for (m, mut s) in right.joins.sender_of.drain() {
            s.domain = remap(snd, s.domain);
            if s.origin.is_none() {
                s.origin = Some(self.joins.origin(m).unwrap_or_else(|| self.no_origin()));
            }
            self.joins.sender_of.insert(m, s);
        }
        for (m, o) in right.joins.origin_of.drain() {
            self.joins.origin_of.insert(m, o);
        }
    }

    fn merge_tables(&mut self, right: &mut Batch, filter: &Filter) {
        // Postfix connections that began on the left: how they were
        // protected, before the right's rows are written.
        let first = self.span.map(|(a, _)| a);
        let answers = self.tls.settle(&mut right.tls, first);
        right.take_tls_answers(&answers);
        // The right's rows name its own interned ids: out before they change.
        right.flush_events();
        right.flush_traffic();
        self.flush_traffic();
        if self.counters.lines == 0
            && self.inbound.rejects.is_empty()
            && self.deliveries.summary.is_empty()
            && self.joins.deferrals.is_empty()
            && self.joins.sender_of.is_empty()
            && self.joins.pending.is_empty()
            && self.joins.pending_expiries.is_empty()
            && self.journeys.is_empty()
        {
            // Nothing here yet: the right's tables become the total, and
            // this one's empty tables go back in its place.
            std::mem::swap(self, right);
            if self.journeys.sink.is_none() {
                self.journeys.sink = right.journeys.sink.take();
            }
            if self.journeys.settle_rows == 0 {
                self.journeys.settle_rows = right.journeys.settle_rows;
            }
            return;
        }
        self.counters.add(&right.counters);
        if self.events.is_none() {
            self.events = right.events.take();
        }
        if let Some((a, b)) = right.span {
            self.see_time(a);
            self.see_time(b);
        }
        if self.domains.len() + right.domains.len() >= MAX_DOMAINS {
            self.compact_domains(right.domains.len(), MAX_DOMAINS / 2);
            right.compact_domains(self.domains.len(), MAX_DOMAINS / 2 - 1);
        }
        // Both tables keep their heavy hitters when together they would
        // not fit (the right's rows are flushed, its ids free to change).
        if self.reasons.len() + right.reasons.len() >= MAX_REASONS {
            self.compact_reasons(right.reasons.len(), MAX_REASONS / 2);
            right.compact_reasons(self.reasons.len(), MAX_REASONS / 2 - 1);
        }
        // What the left could not settle alone is final now: nothing
        // comes before it (the right's joins below look into it).
        self.settle_reinjected_alone();
        let ids = self.absorb_names(right);
        // Each piece adds the right's, its ids renamed.
        self.deliveries.merge(&mut right.deliveries, &ids);
        self.traffic.merge(&mut right.traffic, &ids);
        self.sessions.merge(&mut right.sessions, &ids);
        self.inbound.merge(&mut right.inbound, &ids);
        self.journeys.absorb(&mut right.journeys, &ids);
        self.auth.merge(&mut right.auth, &ids.auth_names);
        let newest = self.span.map(|(_, z)| z);
        self.tls.merge(&mut right.tls, &ids, newest);
        // Then the joins: what the right's attempts and expiries waited for
        // is on the left now, and they count into the deliveries.
        self.merge_joins(right, &ids, filter);
        for (mine, theirs) in self.samples.iter_mut().zip(&mut right.samples) {
            for s in theirs.drain(..) {
                if mine.len() < SAMPLES_PER_REASON {
                    mine.push(s);
                }
            }
        }
        self.evict_old_messages();
    }

    /// When the reason table is close to full, keeps the half of it that
    /// counts the most attempts and folds the rest into [`OVERFLOW_REASON`],
    /// counts kept. First come first kept let 70 k unique replies from one
    /// hostile MX, logged before a real incident, turn all of that
    /// incident's evidence into the overflow label; heavy hitters now stay. Returns true when it ran (the
    /// caller's raw-reply memo then holds stale ids).
    ///
    /// `room`: the ids about to be added (1 for a line); the table keeps at
    /// most `budget` reasons after.
    pub fn compact_reasons(&mut self, room: usize, budget: usize) -> bool {
        if self.reasons.len() + room < MAX_REASONS || self.reasons.len() <= budget {
            return false;
        }
        // Rows still to be written name reason ids: out before they change.
        self.flush_events();
        let mut weight = Weights::new(self.reasons.len());
        for (k, s) in &self.deliveries.reason_counts {
            weight.add(k.reason, s.count);
        }
        for (r, n) in self.inbound.reason_weights() {
            weight.add(r, n);
        }
        for d in self.joins.deferrals.values() {
            weight.add(d.reason, 1);
        }
        // Attempts still waiting for their sender are attempts too.
        for p in &self.joins.pending {
            if let Some(r) = p.attempt.reason {
                weight.add(r, 1);
            }
        }
        for last in self.joins.pending_expiries.iter().filter_map(|p| p.last) {
            weight.add(last.reason, 1);
        }
        let map = weight.keep_heaviest(&mut self.reasons, budget);
        let m = |id: u32| remap(&map, id);
        for (mut k, s) in std::mem::take(&mut self.deliveries.reason_counts) {
            k.reason = m(k.reason);
            add_reason(&mut self.deliveries.reason_counts, k, s);
        }
        self.inbound.remap_reasons(&map);
        for d in self.joins.deferrals.values_mut() {
            d.reason = m(d.reason);
        }
        for p in &mut self.joins.pending {
            p.attempt.reason = p.attempt.reason.map(m);
        }
        for last in self
            .joins
            .pending_expiries
            .iter_mut()
            .filter_map(|p| p.last.as_mut())
        {
            last.reason = m(last.reason);
        }
        self.journeys.remap_reasons(&map);
        self.tls.remap_reasons(&map);
        true
    }

    /// [`Batch::compact_reasons`] for recipient domains: when the table is
    /// close to full, keeps the half with the most attempts and folds the
    /// rest into [`OVERFLOW_DOMAIN`], counts kept, so a million one-off
    /// domains logged first cannot push the real ones out of the table.
    pub fn compact_domains(&mut self, room: usize, budget: usize) -> bool {
        if self.domains.len() + room < MAX_DOMAINS || self.domains.len() <= budget {
            return false;
        }
        self.flush_events();
        let mut weight = Weights::new(self.domains.len());
        for (k, n) in &self.deliveries.summary {
            weight.add(k.domain, *n);
        }
        for d in self.joins.deferrals.values() {
            weight.add(d.domain, 1);
        }
        for p in &self.joins.pending {
            weight.add(p.attempt.domain, 1);
        }
        for last in self.joins.pending_expiries.iter().filter_map(|p| p.last) {
            weight.add(last.domain, 1);
        }
        let map = weight.keep_heaviest(&mut self.domains, budget);
        let m = |id: u32| remap(&map, id);
        for (mut k, n) in std::mem::take(&mut self.deliveries.summary) {
            k.domain = m(k.domain);
            *self.deliveries.summary.entry(k).or_insert(0) += n;
        }
        for d in self.joins.deferrals.values_mut() {
            d.domain = m(d.domain);
        }
        for p in &mut self.joins.pending {
            p.attempt.domain = m(p.attempt.domain);
        }
        for last in self
            .joins
            .pending_expiries
            .iter_mut()
            .filter_map(|p| p.last.as_mut())
        {
            last.domain = m(last.domain);
        }
        self.journeys.remap_domains(&map);
        self.tls.remap_domains(&map);
        true
    }

    /// A message left the queue: drop its sender and last deferral, so these
    /// tables hold the queue, not the log. A removal whose message started in
    /// an earlier batch — its sender is not here, whatever else is — is kept
    /// for the merge (up to [`PENDING_REMOVALS_CAP`]; past that, the
    /// time-based eviction still bounds the tables). A deferral here once
    /// counted as "started here": the sender stayed in the merged total, and
    /// attempts logged after the removal found it or not depending on where
    /// the input was cut.
    pub fn forget(&mut self, message: u64) {
        self.joins.origin_of.remove(&message);
        self.joins.handed.remove(&message);
        let seen = self.joins.sender_of.remove(&message);
        if let Some(user) = seen.and_then(|s| s.origin).map(|o| o.user)
            && user != NO_ID
        {
            self.auth.removed(user, message);
        }
        // A sender line here without the message's origin (a retry's
        // qmgr `from=`): its origin, on the left, must go too.
        let started_here = seen.is_some_and(|s| s.origin.is_some());
        self.joins.deferrals.remove(&message);
        if !started_here && self.joins.pending_removals.len() < PENDING_REMOVALS_CAP {
            self.joins.pending_removals.insert(message);
        }
    }

    /// Writes out the event rows held (`--events`).
    pub fn flush_events(&mut self) {
        if let Some(events) = &mut self.events {
            events.flush(&EventNames {
                hosts: &self.hosts,
                senders: &self.senders,
                domains: &self.domains,
                relays: &self.relays,
                reasons: &self.reasons,
                origins: &self.origins,
            });
        }
    }

    /// Re-buckets the timeline (see [`Deliveries::widen_timeline`]).
    pub fn widen_timeline(&mut self, at_least: i64) {
        self.deliveries.widen_timeline(at_least);
    }

    /// Keeps the per-message tables bounded by queue lifetime, not input size.
    pub fn evict_old_messages(&mut self) {
        let Some((_, newest)) = self.span else {
            return;
        };
        let horizon = newest - DEFERRAL_HORIZON_SECS;
        if self.joins.deferrals.len() >= DEFERRAL_TABLE_SOFT_LIMIT {
            self.joins.deferrals.retain(|_, d| d.ts >= horizon);
        }
        if self.joins.sender_of.len() >= DEFERRAL_TABLE_SOFT_LIMIT {
            self.joins.sender_of.retain(|_, s| s.ts >= horizon);
        }
        // Messages refused after smtpd took them (a milter, cleanup) never
        // reach the sender line that would take their origin.
        if self.joins.origin_of.len() >= DEFERRAL_TABLE_SOFT_LIMIT {
            self.joins.origin_of.retain(|_, o| o.ts >= horizon);
        }
        // Hand-offs whose copy never showed (the filter lost or refused it).
        if self.joins.handed.len() >= 4 * DEFERRAL_TABLE_SOFT_LIMIT {
            self.joins.handed.clear();
        }
    }

    /// Counts what never found its partner: expiries without a deferral
    /// (under `unknown_provider`, empty domain) and attempts without a sender
    /// line (sender unknown), so that nothing is lost.
    pub fn finish(&mut self, unknown_provider: ProviderId, filter: &Filter) {
        // A batch never merged (one run read alone): nothing before it.
        let answers = TlsTables::default().settle(&mut self.tls, None);
        self.take_tls_answers(&answers);
        self.flush_traffic();
        self.settle_journeys(filter, true);
        self.settle_unjoined(unknown_provider, filter);
        self.flush_events();
        self.joins.deferrals = HashMap::default();
        self.joins.sender_of = HashMap::default();
        self.joins.origin_of = HashMap::default();
        self.joins.handed = HashMap::default();
    }

    /// Counts the attempts still waiting for their sender and the expiries
    /// still waiting for their deferral. In the running total (the left of
    /// every merge, everything before the next batch) they are final: a
    /// sender or a deferral is logged before the lines that need it, so
    /// nothing later can complete them. Counting them after each merge keeps
    /// the total's memory flat on input that never names a sender (a `grep
    /// status=` excerpt, one delivery line repeated).
    pub fn settle_unjoined(&mut self, unknown_provider: ProviderId, filter: &Filter) {
        self.settle_reinjected_alone();
        if self.joins.pending.is_empty() && self.joins.pending_expiries.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.joins.pending_expiries);
        let empty = self.domains.intern(b"");
        let reason = self
            .reasons
            .intern(b"(expired; no earlier deferral of this message in the input)");
        let none = self.no_origin();
        for p in pending {
            if let Some(last) = p.last {
                let origin = p.origin.unwrap_or(none);
                self.count_expiry(last, p, origin, filter);
                continue;
            }
            let last = LastDeferral {
                provider: unknown_provider,
                domain: empty,
                reason,
                category: Category::Other,
                blocklist: Blocklist::None,
                recipient: 0,
                ts: p.ts,
            };
            self.count_expiry(last, p, none, filter);
        }
        let unknown = self.senders.intern(b"");
        for p in std::mem::take(&mut self.joins.pending) {
            let rcpt = p.recipient.as_deref().unwrap_or_default();
            let origin = p.origin.unwrap_or(none);
            self.contribute(
                &p.attempt,
                p.sender.unwrap_or(unknown),
                origin,
                rcpt,
                filter,
            );
        }
    }
}

/// An address with its domain part lowercased (the local part's case is
/// the mailbox's business, RFC 5321 §2.4): `Kdent@SEAGLASS.COM` →
/// `Kdent@seaglass.com`. Returns `address` itself when already so.
pub fn fold_domain<'s>(address: &'s [u8], scratch: &'s mut Vec<u8>) -> &'s [u8] {
    match memchr::memrchr(b'@', address) {
        Some(at) if address[at..].iter().any(u8::is_ascii_uppercase) => {
            scratch.clear();
            scratch.extend_from_slice(&address[..at]);
            scratch.extend(address[at..].iter().map(u8::to_ascii_lowercase));
            scratch
        }
        _ => address,
    }
}

/// The lowercase domain of a sender address into `scratch`; `<>` for the null sender.
pub fn sender_domain<'s>(sender: &[u8], scratch: &'s mut Vec<u8>) -> &'s [u8] {
    scratch.clear();
    let domain = crate::classify::provider::domain_of(sender);
    if sender.is_empty() {
        scratch.extend_from_slice(NULL_SENDER);
    } else if domain.is_empty() {
        scratch.extend_from_slice(UNQUALIFIED_SENDER);
    } else {
        crate::classify::provider::lowercase_into(domain, scratch);
    }
    scratch
}

#[cfg(test)]
mod tests {
    /// An origin for tests (its id need not be interned).
    const NONE: Origin = Origin {
        origin: 0,
        user: NO_ID,
    };
    use super::*;

    const ALL: Filter = Filter {
        since: None,
        until: None,
        providers: None,
        sender_domains: Vec::new(),
    };

    fn attempt(message: u64, provider: ProviderId, domain: u32, status: Status) -> Attempt {
        Attempt {
            ts: 60,
            message,
            recipient: message ^ 1,
            queue_id: QueueId::new(b"ABCDEF"),
            provider,
            domain,
            status,
            dsn: 0,
            class: status.implied_class(),
            category: if status == Status::Sent {
                Category::Delivered
            } else {
                Category::Hygiene
            },
            blocklist: Blocklist::None,
            reason: (status != Status::Sent).then_some(0),
            attempted: true,
            host_error: false,
            needs_cause: false,
            host: NO_ID,
            relay: NO_ID,
            delay_ms: NO_DELAY,
            tls: None,
            ask: crate::aggregate::tls::NO_ASK,
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
        let s = a.senders.intern(b"s.example");
        a.contribute(&attempt(1, 1, da, Status::Sent), s, NONE, b"", &ALL);
        let mut b = Batch::default();
        b.domains.intern(b"other.example");
        let db = b.domains.intern(b"x.example");
        let s = b.senders.intern(b"s.example");
        b.contribute(&attempt(2, 1, db, Status::Sent), s, NONE, b"", &ALL);
        let m = a.merge(b, &ALL);
        assert_eq!(m.deliveries.summary.len(), 1);
        assert_eq!(m.deliveries.summary.values().sum::<u64>(), 2);
        assert_eq!(m.deliveries.outcomes.len(), 1);
        assert_eq!(m.deliveries.timeline.values().sum::<u64>(), 2);
    }

    #[test]
    fn attempts_find_their_sender_in_an_earlier_batch() {
        let msg = message_key(b"mx1", b"ABCDEF");
        let mut scratch = Vec::new();
        let mut left = Batch::default();
        left.counters.lines = 1;
        left.see_sender(msg, b"offers@Promo-Blast.example", None, &mut scratch, 0);
        let mut right = Batch::default();
        right.counters.lines = 1;
        let d = right.domains.intern(b"gmail.com");
        right.attempt(attempt(msg, 3, d, Status::Bounced), b"a@gmail.com", &ALL);
        assert_eq!(right.joins.pending.len(), 1, "sender not in this batch");
        // A later sender line for the same queue id must not be used.
        right.see_sender(msg, b"x@later.example", None, &mut scratch, 99);
        let mut m = left.merge(right, &ALL);
        m.finish(99, &ALL);
        let (k, n) = m.deliveries.outcomes.iter().next().unwrap();
        assert_eq!(*n, 1);
        assert_eq!(m.senders.get(k.sender), b"promo-blast.example");
        assert_eq!(m.counters.sender_unknown, 0);
        let ((_, c, r), n) = m.deliveries.recipient_counts.iter().next().unwrap();
        assert_eq!(
            (*c, m.recipients.get(*r), *n),
            (Category::Hygiene, &b"a@gmail.com"[..], 1)
        );
    }

    #[test]
    fn unjoined_attempts_count_with_unknown_sender() {
        let mut b = Batch::default();
        b.attempt(attempt(5, 1, 0, Status::Sent), b"", &ALL);
        b.finish(9, &ALL);
        assert_eq!(b.deliveries.summary.values().sum::<u64>(), 1);
        assert_eq!(b.counters.sender_unknown, 1);
    }

    #[test]
    fn sender_filter_applies_after_the_join() {
        let f = Filter {
            sender_domains: vec![b"promo-blast.example".to_vec()],
            ..Filter::default()
        };
        let mut scratch = Vec::new();
        let mut b = Batch::default();
        b.see_sender(1, b"a@promo-blast.example", None, &mut scratch, 0);
        b.see_sender(2, b"a@shop.example", None, &mut scratch, 0);
        b.attempt(attempt(1, 1, 0, Status::Sent), b"", &f);
        b.attempt(attempt(2, 1, 0, Status::Sent), b"", &f);
        b.finish(9, &f);
        assert_eq!(b.deliveries.summary.values().sum::<u64>(), 1);
        assert_eq!(b.counters.filtered_out, 1);
    }

    #[test]
    fn expiry_joins_across_batches_in_order() {
        let msg = message_key(b"mx1", b"ABCDEF");
        let mut left = Batch::default();
        left.counters.lines = 1;
        let d = left.domains.intern(b"gmail.com");
        let r = left.reasons.intern(b"try later");
        left.joins.deferrals.insert(
            msg,
            LastDeferral {
                provider: 3,
                domain: d,
                reason: r,
                category: Category::MailboxFull,
                blocklist: Blocklist::None,
                recipient: 7,
                ts: 10,
            },
        );
        let mut right = Batch::default();
        right.counters.lines = 1;
        let sender = right.senders.intern(b"shop.example");
        right.expire(
            PendingExpiry {
                last: None,
                origin: None,
                message: msg,
                queue_id: QueueId::new(b"ABCDEF"),
                sender,
                ts: 20,
                after_removal: false,
                host: NO_ID,
            },
            &ALL,
        );
        assert_eq!(right.joins.pending_expiries.len(), 1);
        let mut m = left.merge(right, &ALL);
        m.finish(99, &ALL);
        let (k, n) = m.deliveries.summary.iter().next().unwrap();
        assert_eq!((k.provider, k.status, *n), (3, Status::Expired, 1));
        assert_eq!(m.domains.get(k.domain), b"gmail.com");
        let (o, _) = m.deliveries.outcomes.iter().next().unwrap();
        assert_eq!(o.category, Category::MailboxFull);
        assert_eq!(m.senders.get(o.sender), b"shop.example");
    }

    #[test]
    fn unjoined_expiry_is_still_counted() {
        let mut b = Batch::default();
        b.expire(
            PendingExpiry {
                last: None,
                origin: None,
                message: 7,
                queue_id: QueueId::default(),
                sender: 0,
                ts: 5,
                after_removal: false,
                host: NO_ID,
            },
            &ALL,
        );
        b.finish(42, &ALL);
        let (k, n) = b.deliveries.summary.iter().next().unwrap();
        assert_eq!((k.provider, k.status, *n), (42, Status::Expired, 1));
        assert_eq!(b.domains.get(k.domain), b"");
    }

    #[test]
    fn queue_ids_are_inline_and_cut() {
        let long = [b'A'; 40];
        assert_eq!(QueueId::new(&long).as_bytes().len(), 23);
        assert_eq!(
            QueueId::new(b"1xV6qi-0004PA-2t").as_bytes(),
            b"1xV6qi-0004PA-2t"
        );
    }

    #[test]
    fn timeline_widens_instead_of_growing() {
        let mut b = Batch::default();
        let mut a = attempt(1, 1, 0, Status::Sent);
        for minute in 0..(TIMELINE_CAP as i64 + 10) {
            a.ts = minute * 60;
            b.contribute(&a, 0, NONE, b"", &ALL);
        }
        assert_eq!(b.deliveries.timeline_width, 2);
        assert!(b.deliveries.timeline.len() <= TIMELINE_CAP);
        assert_eq!(
            b.deliveries.timeline.values().sum::<u64>(),
            TIMELINE_CAP as u64 + 10
        );
        assert!(b.deliveries.timeline.keys().all(|k| k.minute % 2 == 0));
        // Merging a finer batch re-buckets it to the coarser width.
        let mut fine = Batch::default();
        fine.counters.lines = 1;
        a.ts = 61;
        fine.contribute(&a, 0, NONE, b"", &ALL);
        b.counters.lines = 1;
        let m = b.merge(fine, &ALL);
        assert_eq!(m.deliveries.timeline_width, 2);
        assert_eq!(
            m.deliveries.timeline.values().sum::<u64>(),
            TIMELINE_CAP as u64 + 11
        );
    }
}
