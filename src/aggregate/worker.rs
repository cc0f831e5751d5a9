//! A worker's fold: each line of its run, parsed, classified and counted
//! into its [`Batch`].
//!
//! One [`Worker`] per rayon task ([`super::runs`]). It owns the scratch
//! buffers (lowercased domain and relay, masked reason) and the regex caches,
//! so a line costs no heap allocation unless it introduces a new domain,
//! reason or sender, or its sender line is in another chunk.

use crate::aggregate::batch::{
    Attempt, Batch, LastDeferral, NO_DELAY, NO_ID, Origin, PendingExpiry, QueueId, RejectKey,
    Traffic, fold_domain, message_key, sender_domain,
};
use crate::aggregate::sinks::{EventBuffer, EventWriter};
use crate::classify::Engine;
use crate::classify::category::{Answer, Blocklist, Category};
use crate::classify::provider::{HANDOFF, ProviderId, domain_of, lowercase_into};
use crate::event::{AuthFailure, Delivery, Level, Queued, Status, Tls, TlsLevel, TlsSession};
use crate::filter::Filter;
use crate::journey::log::{AttemptRow, JourneyLog, Kind, MessageRow};
use crate::parse::header::Program;
use crate::parse::header::{Header, parse_header_cached};
use crate::parse::journal;
use crate::parse::reject::Reject;
use crate::parse::reply::requeued_id;
use crate::parse::timestamp::Clock;
use crate::parse::timestamp::StampCache;
use crate::parse::{Record, Unparsed, headerless, parse_body};
use crate::scan::{self, Line};
use hashbrown::HashMap;
use regex_automata::meta::Cache;
use std::sync::Arc;

/// What every worker shares: read-only tables and settings.
#[derive(Clone, Copy, Debug)]
pub struct ScanContext<'a> {
    /// Tables.
    pub engine: &'a Engine,
    /// Which attempts count.
    pub filter: &'a Filter,
    /// How to read timestamps without a year or zone.
    pub clock: Clock,
    /// Where `--events` rows go, when exported.
    pub events: Option<&'a Arc<dyn EventWriter>>,
    /// Gather message journeys (off with `--no-journeys`).
    pub journeys: bool,
    /// Keep the strings the `--journeys` export shows (queue ids, hosts,
    /// addresses, Message-IDs) in the journey rows.
    pub journey_text: bool,
    /// Intern every sender and delivered recipient address: only the
    /// `summary` tables (top senders and recipients) and the `--journeys`
    /// export show them. Off, the default report skips a string lookup
    /// per delivery and the merge re-interns no address.
    pub per_address: bool,
    /// Gather what only `summary` shows: pflogsumm's per-quarter-hour
    /// traffic and its smtpd sessions per client.
    pub summary_tables: bool,
}

/// Distinct reply shapes whose category a worker remembers.
const CATEGORY_MEMO: usize = 1 << 16;

/// Raw bytes → a small value, for keys seen lately (raw replies → masked
/// reason; recipient domain and relay → provider and interned domain).
/// The keys' bytes live in one arena that is cleared, never freed, when
/// full: no allocation per line once warm.
#[derive(Debug)]
struct BytesMemo<V> {
    index: HashMap<u64, (u32, u32, V), crate::hashing::Seeded>,
    arena: Vec<u8>,
}

impl<V: Copy> BytesMemo<V> {
    /// Arena bytes; keys longer than [`BytesMemo::LONGEST`] are not kept.
    const ARENA: usize = 256 << 10;
    const LONGEST: usize = 512;
    const ENTRIES: usize = 1 << 12;

    fn new() -> BytesMemo<V> {
        BytesMemo {
            index: HashMap::default(),
            arena: Vec::with_capacity(Self::ARENA),
        }
    }

    fn hash(key: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        crate::hashing::Seeded.hash_one(key)
    }

    fn get(&self, key: &[u8]) -> Option<V> {
        let (at, len, value) = *self.index.get(&Self::hash(key))?;
        let kept = self.arena.get(at as usize..(at + len) as usize)?;
        (kept == key).then_some(value)
    }

    fn insert(&mut self, key: &[u8], value: V) {
        if key.len() > Self::LONGEST {
            return;
        }
        if self.arena.len() + key.len() > Self::ARENA || self.index.len() >= Self::ENTRIES {
            self.clear();
        }
        let at = self.arena.len() as u32;
        self.arena.extend_from_slice(key);
        self.index
            .insert(Self::hash(key), (at, key.len() as u32, value));
    }

    fn clear(&mut self) {
        self.index.clear();
        self.arena.clear();
    }
}

/// Memo key: masked reason, provider, status, code, basic code, greeting.
type CategoryKey = (u32, ProviderId, Status, u32, Option<u16>, bool);

/// Per-thread state: the batch being built plus reusable buffers.
#[derive(Debug)]
pub struct Worker {
    /// What this worker has accumulated.
    pub batch: Batch,
    cache: Cache,
    categories: HashMap<CategoryKey, (Category, Blocklist), crate::hashing::Seeded>,
    masks: BytesMemo<u32>,
    /// Raw recipient domain, relay and local flag → provider and domain id:
    /// lowercasing, the provider lookups and interning, once per pair.
    destinations: BytesMemo<(ProviderId, u32)>,
    stamps: StampCache,
    domain: Vec<u8>,
    relay: Vec<u8>,
    scratch: Vec<u8>,
    /// A client's one spelling (`name[ip]`) and its network.
    client: Vec<u8>,
    network: Vec<u8>,
    masked: Vec<u8>,
    /// A journal entry's decoded host, tag and message.
    journal: Vec<u8>,
    /// Gather journeys ([`ScanContext::journeys`]).
    journeys: bool,
    /// Keep every journey row for the merge, with its strings
    /// ([`ScanContext::journey_text`]), rather than finish journeys here.
    journey_text: bool,
    /// Intern addresses ([`ScanContext::per_address`]).
    per_address: bool,
    /// Count traffic and sessions ([`ScanContext::summary_tables`]).
    summary_tables: bool,
    /// The last syslog host seen and its id in the batch (hosts rarely
    /// change from one line to the next).
    host: Option<(Vec<u8>, u32)>,
}

impl Worker {
    /// A fresh worker.
    pub fn new(ctx: &ScanContext<'_>) -> Worker {
        let mut batch = Batch {
            events: ctx.events.map(|sink| EventBuffer::new(sink.clone())),
            ..Batch::default()
        };
        if ctx.journey_text {
            batch.journeys.log = JourneyLog::with_text();
        }
        Worker {
            batch,
            cache: ctx.engine.masker.cache(),
            categories: HashMap::default(),
            masks: BytesMemo::new(),
            destinations: BytesMemo::new(),
            stamps: StampCache::default(),
            domain: Vec::with_capacity(256),
            relay: Vec::with_capacity(256),
            scratch: Vec::with_capacity(1024),
            client: Vec::with_capacity(128),
            network: Vec::with_capacity(64),
            masked: Vec::with_capacity(512),
            journal: Vec::new(),
            journeys: ctx.journeys,
            journey_text: ctx.journey_text,
            per_address: ctx.per_address,
            summary_tables: ctx.summary_tables,
            host: None,
        }
    }

    /// Counts a line in pflogsumm's traffic table, when `summary` runs.
    #[inline]
    fn traffic(&mut self, ts: i64, column: usize) {
        if self.summary_tables {
            self.batch.traffic(ts, column);
        }
    }

    /// Hands over what this worker has accumulated and starts a new batch.
    /// The memos hold the batch's reason ids, so they go too.
    pub fn take_batch(&mut self) -> Batch {
        self.take_batch_reusing(None)
    }

    /// [`Worker::take_batch`], starting the new batch in `spare` (a merged
    /// batch, emptied here) rather than in freshly allocated tables.
    pub fn take_batch_reusing(&mut self, spare: Option<Batch>) -> Batch {
        self.categories.clear();
        self.masks.clear();
        self.destinations.clear();
        self.host = None;
        let mut fresh = match spare {
            Some(mut b) => {
                b.reset();
                b
            }
            None => Batch::default(),
        };
        fresh.events = self
            .batch
            .events
            .as_ref()
            .map(|e| EventBuffer::new(e.sink()));
        // A worker's batch exports nothing itself and joins only its run.
        fresh.journeys.sink = None;
        fresh.journeys.settle_rows = 0;
        if self.journey_text {
            fresh.journeys.log = JourneyLog::with_text();
        }
        // A batch leaves with its open messages as rows; their tables stay.
        self.batch.journeys.end_run();
        std::mem::swap(&mut fresh.journeys.live, &mut self.batch.journeys.live);
        std::mem::replace(&mut self.batch, fresh)
    }

    /// The worker's run of the input has ended: the journeys it saw begin
    /// and end were counted as they ended; the others go to the merge as
    /// rows.
    pub fn end_run(&mut self) {
        self.batch.journeys.end_run();
    }

    /// Scans a line-aligned chunk (the last line may lack its newline).
    pub fn scan_chunk(&mut self, ctx: &ScanContext<'_>, chunk: &[u8]) {
        self.batch.counters.bytes += chunk.len() as u64;
        // Room for the chunk's journey rows at busy-log densities (a message
        // row per ~250 bytes, an attempt per ~600), instead of doubling.
        if ctx.journeys && ctx.journey_text {
            self.batch
                .journeys
                .log
                .reserve(chunk.len() / 250, chunk.len() / 600);
        }
        scan::for_each_line(chunk, |line| self.scan_line(ctx, line));
        // A worker may scan many pieces before its batch is merged.
        self.batch.evict_old_messages();
    }

    /// Scans one line (without its `\n`).
    #[inline]
    pub fn scan_line(&mut self, ctx: &ScanContext<'_>, line: &[u8]) {
        self.batch.counters.lines += 1;
        let line = match scan::line(line) {
            Line::Text(line) => line,
            Line::Blank => {
                self.batch.counters.blank += 1;
                return;
            }
            Line::TooLong(line) => {
                self.batch.unparsed(Unparsed::TooLong, line);
                return;
            }
        };
        if journal::is_journal_line(line) {
            // The entry's fields are decoded into the worker's buffer, which
            // is moved out while the header borrows it.
            let mut buf = std::mem::take(&mut self.journal);
            match journal::parse(line, &mut buf) {
                Ok(h) => {
                    let record = parse_body(&h);
                    self.fold(ctx, line, Some(&h), &record);
                }
                Err(why) => self.fold(ctx, line, None, &Record::Unparsed(why)),
            }
            self.journal = buf;
            return;
        }
        // Header and record stay where they were parsed (no tuple to move
        // them through: copying a freshly written struct stalls the CPU's
        // store forwarding, measured at 7 % of the scan).
        let header = parse_header_cached(line, ctx.clock, &mut self.stamps);
        let record = match &header {
            Some(h) => parse_body(h),
            None => headerless(line),
        };
        self.fold(ctx, line, header.as_ref(), &record);
    }

    /// Counts one parsed line and hands its record on.
    #[inline]
    fn fold(
        &mut self,
        ctx: &ScanContext<'_>,
        line: &[u8],
        header: Option<&Header<'_>>,
        record: &Record<'_>,
    ) {
        if let Some(h) = header {
            self.batch.see_time(h.ts);
            self.batch.see_format(h.format);
        }
        match record {
            Record::Delivery(d) => {
                if let Some(h) = header {
                    self.batch.see_delivery(d.status, d.attempted);
                    let forwarded =
                        d.status == Status::Sent && d.reply.starts_with(b"forwarded as ");
                    self.batch.counters.forwarded += u64::from(forwarded);
                    let column = match d.status {
                        Status::Sent if !forwarded => Some(Traffic::DELIVERED),
                        Status::Deferred => Some(Traffic::DEFERRED),
                        Status::Bounced => Some(Traffic::BOUNCED),
                        Status::Expired => Some(Traffic::EXPIRED),
                        _ => None,
                    };
                    if let Some(c) = column
                        && ctx.filter.keeps_time(h.ts)
                    {
                        self.traffic(h.ts, c);
                    }
                    self.delivery(ctx, h, d, false);
                }
                let text = header.map_or(line, |h| h.body);
                if !text.is_ascii() && std::str::from_utf8(text).is_err() {
                    self.batch.counters.invalid_utf8 += 1;
                }
            }
            &Record::Expired { queue_id, sender } => {
                if let Some(h) = header {
                    let sender_address = sender;
                    self.batch.see_delivery(Status::Expired, true);
                    if ctx.filter.keeps_time(h.ts) {
                        self.traffic(h.ts, Traffic::EXPIRED);
                    }
                    let sender = sender_domain(sender, &mut self.scratch);
                    let sender = self.batch.senders.intern(sender);
                    let p = PendingExpiry {
                        message: message_key(h.host, queue_id),
                        queue_id: QueueId::new(queue_id),
                        sender,
                        ts: h.ts,
                        after_removal: false,
                        host: if ctx.events.is_some() {
                            self.batch.hosts.intern(h.host)
                        } else {
                            NO_ID
                        },
                        last: None,
                        origin: None,
                    };
                    if self.journeys {
                        let mut row = MessageRow::bare(p.message, Kind::Expire, h.ts);
                        if self.per_address {
                            let name = fold_domain(sender_address, &mut self.scratch);
                            row.sender = self.batch.addresses.intern(name);
                        }
                        row.sender_domain = sender;
                        self.journey_message(h, queue_id, row, b"", ctx.filter);
                    }
                    self.batch.expire(p, ctx.filter);
                }
            }
            Record::Queued(q) => match header {
                Some(h) => self.queued(h, q, ctx.filter),
                None if q.sender.is_some() => self.batch.counters.senders += 1,
                None => self.batch.counters.mail_other += 1,
            },
            Record::HostError(d) => {
                self.batch.counters.host_errors += 1;
                if let Some(h) = header {
                    self.delivery(ctx, h, d, true);
                }
            }
            &Record::Removed { queue_id } => {
                self.batch.counters.mail_other += 1;
                if let Some(h) = header {
                    let message = message_key(h.host, queue_id);
                    let row = MessageRow::bare(message, Kind::Remove, h.ts);
                    self.journey_message(h, queue_id, row, b"", ctx.filter);
                    self.batch.forget(message);
                }
            }
            Record::Callout(d, r) => {
                // The line is a refusal, or another mail line; the probe is
                // counted besides (`callouts`).
                match r {
                    Some(r) => self.reject_line(ctx, header, r),
                    None => self.batch.counters.mail_other += 1,
                }
                // A probe of the address at its MX: the probes section and
                // the provider's probe count, never an attempt or a finding.
                self.batch.counters.callouts += 1;
                if let Some(h) = header {
                    self.delivery(ctx, h, d, false);
                }
            }
            Record::Reject(r) => self.reject_line(ctx, header, r),
            &Record::Notice(level, text) => match header {
                Some(h) => self.notice(ctx, h, level, text),
                None => self.batch.counters.notices += 1,
            },
            &Record::Connect(client) => {
                self.batch.counters.connections += 1;
                if let Some(h) = header
                    && ctx.filter.keeps_time(h.ts)
                    && self.summary_tables
                {
                    self.batch.traffic(h.ts, Traffic::CONNECTIONS);
                    let client = self.batch.clients.intern(client);
                    let session = (!h.pid.is_empty()).then(|| message_key(h.host, h.pid));
                    self.batch.sessions.connect(client, session, h.ts);
                }
                if let Some(h) = header
                    && !h.pid.is_empty()
                {
                    let conn = message_key(h.host, h.pid);
                    self.batch.tls.connect(conn, client_hash(client), h.ts);
                }
            }
            &Record::Disconnect {
                client,
                authenticated,
            } => {
                self.batch.counters.mail_other += 1;
                if authenticated
                    && let Some(h) = header
                    && ctx.filter.keeps_time(h.ts)
                    && let Some(client) = self.auth_client(client)
                {
                    self.batch.auth.login(client, None, h.ts);
                }
                if let Some(h) = header
                    && !h.pid.is_empty()
                {
                    let session = message_key(h.host, h.pid);
                    self.batch.tls.disconnect(session, h.ts);
                    if self.summary_tables && ctx.filter.keeps_time(h.ts) {
                        self.batch.sessions.disconnect(session, h.ts);
                    }
                }
            }
            Record::AuthFailure(f) => {
                self.batch.counters.auth_failures += 1;
                let Some(h) = header else {
                    self.batch.counters.mail_other += 1;
                    return;
                };
                // Postfix logs it as smtpd's warning: still one in the
                // warnings table, as pflogsumm counts it.
                if f.warning {
                    self.notice(ctx, h, Level::Warning, f.text);
                } else {
                    self.batch.counters.mail_other += 1;
                }
                if ctx.filter.keeps_time(h.ts) {
                    self.auth_failure(h, f);
                }
            }
            Record::Tls(t) => {
                self.batch.counters.mail_other += 1;
                if let Some(h) = header {
                    self.tls_session(h, t);
                }
            }
            &Record::Postscreen(action) => {
                self.batch.counters.postscreen += 1;
                if header.is_some_and(|h| ctx.filter.keeps_time(h.ts)) {
                    let action = self.batch.services.intern(action);
                    *self.batch.inbound.postscreen.entry(action).or_insert(0) += 1;
                }
            }
            Record::FakeDelivery => self.batch.counters.fake_deliveries += 1,
            Record::MailOther | Record::Continuation => self.batch.counters.mail_other += 1,
            Record::OtherProgram => self.batch.counters.other_program += 1,
            &Record::OtherMta(mta) => {
                self.batch.counters.other_program += 1;
                self.batch.counters.other_mta[mta as usize] += 1;
            }
            &Record::Unparsed(why) => self.batch.unparsed(why, line),
        }
    }

    /// A message's arrival facts: the sender join's table and a journey row.
    fn queued(&mut self, h: &Header<'_>, q: &Queued<'_>, filter: &Filter) {
        // Received: a client handed it over (pflogsumm's count), or Exim's `<=`.
        let received = if q.arrival {
            q.sender.is_some()
        } else {
            q.sender.is_none() && !q.client.is_empty()
        };
        if received {
            self.batch.counters.received += 1;
            if filter.keeps_time(h.ts) {
                self.traffic(h.ts, Traffic::RECEIVED);
            }
        }
        let message = message_key(h.host, q.queue_id);
        // Who handed it over: smtpd's `client=` (before the sender line),
        // Exim's `<=` (with it; no `H=` is local or unknown).
        let mut named = None;
        if !q.client.is_empty() || (q.arrival && q.sender.is_some()) {
            let own = self.origin(h, q, message, filter);
            let loopback = crate::parse::postfix::is_loopback_client(q.client);
            if !loopback {
                self.received_tls(h, q, own.origin, filter);
            }
            // A content filter's copy, re-injected from loopback, was
            // submitted by whoever submitted the message it was handed.
            // (A client on loopback that authenticated is a webmail, not a
            // filter: its user is the origin.)
            let origin = if q.sasl_user.is_empty() && loopback {
                self.batch.reinjected_origin(message, own)
            } else {
                Some(own)
            };
            match (q.sender, origin) {
                // The sender is on this line too (Exim): no table between.
                (Some(_), origin) => named = Some(origin),
                (None, Some(origin)) => self.batch.see_origin(message, origin, h.ts),
                (None, None) => {}
            }
        }
        let sender_domain = match q.sender {
            Some(sender) => {
                Some(
                    self.batch
                        .see_sender(message, sender, named, &mut self.scratch, h.ts),
                )
            }
            None => {
                self.batch.counters.mail_other += 1;
                None
            }
        };
        if !self.journeys {
            return;
        }
        let kind = if q.arrival && q.sender.is_some() {
            Kind::Accept
        } else if q.arrival {
            Kind::Arrive
        } else if q.sender.is_none() && !q.client.is_empty() {
            Kind::Client
        } else {
            Kind::Queued
        };
        let mut row = MessageRow::bare(message, kind, h.ts);
        if let (Some(sender), Some(domain)) = (q.sender, sender_domain) {
            row.sender_domain = domain;
            if self.per_address {
                row.sender = self
                    .batch
                    .addresses
                    .intern(fold_domain(sender, &mut self.scratch));
            }
        }
        if let Some(size) = q.size {
            row.size = size;
        }
        if let Some(n) = q.nrcpt {
            row.nrcpt = n;
        }
        if !q.client.is_empty() {
            row.client = self.batch.clients.intern(q.client);
        }
        self.journey_message(h, q.queue_id, row, q.message_id, filter);
    }

    /// A Postfix TLS line: the connection the process's next message is on.
    fn tls_session(&mut self, h: &Header<'_>, t: &TlsSession<'_>) {
        let host = self.host_id(h.host);
        self.batch.tls.logged(host, t.inbound, h.ts);
        if h.pid.is_empty() {
            return;
        }
        let conn = message_key(h.host, h.pid);
        if t.inbound {
            self.batch
                .tls
                .handshake_in(conn, client_hash(t.peer), t.tls, h.ts);
        } else {
            let peer = seeded(t.peer);
            self.batch.tls.handshake_out(conn, peer, t.tls, h.ts);
        }
    }

    /// How a message received from a network client came in: counted per
    /// host and origin. Local submission is not the network's, nor are
    /// loopback clients (a content filter's copy, a webmail: the caller
    /// leaves them out).
    fn received_tls(&mut self, h: &Header<'_>, q: &Queued<'_>, origin: u32, filter: &Filter) {
        let postfix = q.sender.is_none() && !q.arrival;
        if q.client.is_empty() || q.client == b"pickup" || q.client == b"local" {
            return;
        }
        let tls = match q.tls {
            Some(t) => {
                if t.level.is_tls() {
                    let host = self.host_id(h.host);
                    self.batch.tls.logged(host, true, h.ts);
                }
                t
            }
            None if postfix && !h.pid.is_empty() => {
                let conn = message_key(h.host, h.pid);
                self.batch.tls.received(conn, client_hash(q.client), h.ts)
            }
            None if postfix => Tls::UNKNOWN,
            None => return,
        };
        if !filter.keeps_time(h.ts) {
            return;
        }
        let host = self.host_id(h.host);
        if tls == Tls::INHERIT {
            self.batch
                .tls
                .in_waiting
                .push(crate::aggregate::tls::InWaiting {
                    host,
                    origin,
                    conn: message_key(h.host, h.pid),
                    ts: h.ts,
                });
        } else {
            self.batch.tls.count_in(host, origin, tls, h.ts);
        }
    }

    /// The batch's id of a syslog host.
    #[inline]
    fn host_id(&mut self, host: &[u8]) -> u32 {
        if let Some((name, id)) = &self.host
            && name.len() == host.len()
            && (host.is_empty() || name.as_slice() == host)
        {
            return *id;
        }
        let id = self.batch.hosts.intern(host);
        self.host = Some((host.to_vec(), id));
        id
    }

    /// A message's origin (client and SASL user, interned); a message
    /// submitted by a SASL user counts towards that user's mail.
    fn origin(&mut self, h: &Header<'_>, q: &Queued<'_>, message: u64, filter: &Filter) -> Origin {
        let client = crate::parse::client::client(q.client);
        match client {
            Some(c) => c.write(&mut self.client),
            None => {
                self.client.clear();
                self.client.extend_from_slice(q.client);
            }
        }
        let spelled = self.client.len();
        self.client.push(0);
        self.client.extend_from_slice(q.sasl_user);
        let origin = self.batch.origins.intern(&self.client);
        if q.sasl_user.is_empty() {
            return Origin {
                origin,
                user: NO_ID,
            };
        }
        let names = &mut self.batch.auth_names;
        let user = names.intern(q.sasl_user);
        if !filter.keeps_time(h.ts) {
            return Origin { origin, user };
        }
        let client_id = names.intern(&self.client[..spelled]);
        crate::parse::client::network(client.map_or(&b""[..], |c| c.ip), &mut self.network);
        let network = names.intern(&self.network);
        let host = names.intern(h.host);
        self.batch.auth.login(client_id, Some(user), h.ts);
        self.batch.auth.submission(
            user,
            client_id,
            network,
            h.ts,
            crate::aggregate::auth::Queued {
                message,
                queue_id: QueueId::new(q.queue_id),
                host,
            },
        );
        Origin { origin, user }
    }

    /// A client's one spelling in the authentication tables.
    fn auth_client(&mut self, logged: &[u8]) -> Option<u32> {
        crate::parse::client::client(logged)?.write(&mut self.client);
        Some(self.batch.auth_names.intern(&self.client))
    }

    /// A failed login: the client's and the user name's, or the server's.
    fn auth_failure(&mut self, h: &Header<'_>, f: &AuthFailure<'_>) {
        let client = match self.auth_client(f.client) {
            Some(c) => c,
            None => self.batch.auth_names.intern(b"(unknown client)"),
        };
        if f.server_side() {
            let reason = self.batch.auth_names.intern(f.reason);
            self.batch.auth.server_failure(client, reason, h.ts);
            return;
        }
        let user = (!f.user.is_empty()).then(|| self.batch.auth_names.intern(f.user));
        self.batch.auth.failure(client, user, h.ts);
    }

    /// A message-level journey row (when journeys are gathered): into
    /// its message's journey, or kept for the export.
    #[inline]
    fn journey_message(
        &mut self,
        h: &Header<'_>,
        queue_id: &[u8],
        row: MessageRow,
        message_id: &[u8],
        filter: &Filter,
    ) {
        if !self.journeys {
            return;
        }
        if !self.journey_text {
            self.batch.live_message(row, filter);
            return;
        }
        self.batch.journeys.log.message(row, || {
            (
                String::from_utf8_lossy(queue_id).into_owned(),
                String::from_utf8_lossy(h.host).into_owned(),
                String::from_utf8_lossy(message_id).into_owned(),
            )
        });
    }

    /// The interned masked form of a reply text. Identical reply bytes
    /// (Yahoo's `[TSS04]`, Microsoft's 4.7.650 …) are masked once; the regex
    /// runs only for replies not seen lately.
    #[inline]
    fn masked_reason(&mut self, ctx: &ScanContext<'_>, reply: &[u8]) -> u32 {
        if let Some(r) = self.masks.get(reply) {
            return r;
        }
        ctx.engine
            .masker
            .mask(&mut self.cache, reply, &mut self.scratch, &mut self.masked);
        if self
            .batch
            .compact_reasons(1, crate::aggregate::batch::MAX_REASONS / 2)
        {
            // The memos name reason ids that changed.
            self.masks.clear();
            self.categories.clear();
        }
        let r = self.batch.reasons.intern(&self.masked);
        self.masks.insert(reply, r);
        r
    }

    /// Counts a daemon's notice by service, level and masked text.
    fn notice(&mut self, ctx: &ScanContext<'_>, h: &Header<'_>, level: Level, text: &[u8]) {
        self.batch.counters.notices += 1;
        if !ctx.filter.keeps_time(h.ts) {
            return;
        }
        let service = match h.program {
            Program::Mta { service, .. } => service,
            _ => b"",
        };
        let service = self.batch.services.intern(service);
        let reason = self.masked_reason(ctx, text);
        *self
            .batch
            .inbound
            .notices
            .entry((service, level, reason))
            .or_insert(0) += 1;
    }

    /// A refusal line: tallied with its header, else only counted.
    fn reject_line(&mut self, ctx: &ScanContext<'_>, h: Option<&Header<'_>>, r: &Reject<'_>) {
        match h {
            Some(h) => self.reject(ctx, h, r),
            None => self.batch.counters.rejects += 1,
        }
    }

    /// Counts one refused inbound command.
    fn reject(&mut self, ctx: &ScanContext<'_>, h: &Header<'_>, r: &Reject<'_>) {
        self.batch.counters.rejects += 1;
        if !ctx.filter.keeps_time(h.ts) {
            return;
        }
        self.traffic(h.ts, Traffic::REJECTED);
        let key = RejectKey {
            kind: r.kind,
            stage: self.batch.stages.intern(r.stage),
            basic: r.basic.unwrap_or(0),
            dsn: r.dsn.map_or(0, |x| x.key()),
            reason: self.masked_reason(ctx, r.text),
            client: self.batch.clients.intern(r.client),
        };
        *self.batch.inbound.rejects.entry(key).or_insert(0) += 1;
    }

    /// Classifies one attempt and hands it to the batch. `host_error`: an Exim
    /// per-host failure, which feeds the findings but not the summary.
    fn delivery(
        &mut self,
        ctx: &ScanContext<'_>,
        h: &Header<'_>,
        d: &Delivery<'_>,
        host_error: bool,
    ) {
        let engine = ctx.engine;
        let raw_domain = domain_of(d.recipient);
        self.scratch.clear();
        self.scratch.extend_from_slice(raw_domain);
        self.scratch.push(0xff);
        self.scratch.extend_from_slice(d.relay);
        self.scratch
            .push(u8::from(d.local) | (u8::from(d.loopback) << 1));
        let (provider, domain) = match self.destinations.get(&self.scratch) {
            Some(known) => known,
            None => {
                lowercase_into(raw_domain, &mut self.domain);
                lowercase_into(d.relay, &mut self.relay);
                let provider = engine.providers.of_delivery(d, &self.domain, &self.relay);
                if self
                    .batch
                    .compact_domains(1, crate::aggregate::batch::MAX_DOMAINS / 2)
                {
                    // The memo names domain ids that changed.
                    self.destinations.clear();
                }
                let domain = self.batch.domains.intern(&self.domain);
                self.destinations.insert(&self.scratch, (provider, domain));
                (provider, domain)
            }
        };
        if provider == HANDOFF && !host_error {
            hop_label(d.hop, d.relay, &mut self.scratch);
            let failed = u64::from(d.status != Status::Sent);
            self.batch.see_hop(&self.scratch, 1, failed);
        }
        let message = message_key(h.host, d.queue_id);
        let recipient = if d.recipient.is_empty() {
            0
        } else {
            crate::hashing::stable(d.recipient)
        };
        let mut attempt = Attempt {
            ts: h.ts,
            message,
            recipient,
            queue_id: QueueId::new(d.queue_id),
            provider,
            domain,
            status: d.status,
            dsn: d.dsn.map_or(0, |x| x.key()),
            class: d.class(),
            category: Category::Delivered,
            blocklist: Blocklist::None,
            reason: None,
            attempted: d.attempted,
            host_error,
            needs_cause: false,
            host: NO_ID,
            relay: NO_ID,
            delay_ms: d.delay.map_or(NO_DELAY, seconds_to_ms),
            tls: None,
            ask: crate::aggregate::tls::NO_ASK,
        };
        attempt.host = self.host_id(h.host);
        if provider != HANDOFF && !d.local && !d.loopback && !host_error {
            attempt.tls = match d.tls {
                Some(t) => {
                    if t.level.is_tls() {
                        self.batch.tls.logged(attempt.host, false, h.ts);
                    }
                    Some(t)
                }
                // Postfix: the smtp process's last TLS line, if on this
                // connection.
                None if !d.hop.is_empty() && d.attempted && !h.pid.is_empty() => {
                    let run_first = self.batch.span.map_or(h.ts, |(a, _)| a);
                    let (tls, ask) = self.batch.tls.delivered(
                        message_key(h.host, h.pid),
                        seeded(d.hop),
                        seeded(d.queue_id),
                        h.ts,
                        run_first,
                    );
                    attempt.ask = ask;
                    Some(tls)
                }
                None => None,
            };
        }
        let clear_or_unsettled = d.status == Status::Sent
            && attempt
                .tls
                .is_some_and(|t| matches!(t.level, TlsLevel::Clear | TlsLevel::Inherit));
        if (ctx.events.is_some() || clear_or_unsettled) && !d.relay.is_empty() {
            attempt.relay = self.batch.relays.intern(d.relay);
        }
        if !matches!(d.status, Status::Sent | Status::Deliverable) {
            let outcome = Answer {
                provider,
                status: d.status,
                dsn: d.dsn,
                basic: d.basic,
                reply: d.reply,
                at_greeting: d.at_greeting,
            };
            // Identical reply bytes (Yahoo's [TSS04], Microsoft's 4.7.650 …)
            // are masked once; the regex runs only for replies not seen lately.
            let reason = self.masked_reason(ctx, d.reply);
            attempt.reason = Some(reason);
            // Replies that mask to the same reason mean the same thing: the
            // marker search runs once per distinct reply shape, not per line.
            let key = (
                reason,
                provider,
                d.status,
                attempt.dsn,
                d.basic,
                d.at_greeting,
            );
            (attempt.category, attempt.blocklist) = match self.categories.get(&key) {
                Some(known) => *known,
                None => {
                    let decided = engine.classifier.classify(&outcome);
                    if self.categories.len() >= CATEGORY_MEMO {
                        self.categories.clear();
                    }
                    self.categories.insert(key, decided);
                    decided
                }
            };
            match d.status {
                Status::Deferred
                    if !host_error && (d.attempted || attempt.category != Category::Other) =>
                {
                    self.batch.joins.deferrals.insert(
                        message,
                        LastDeferral {
                            provider,
                            domain,
                            reason,
                            category: attempt.category,
                            blocklist: attempt.blocklist,
                            recipient,
                            ts: h.ts,
                        },
                    );
                }
                // Exim's "retry timeout exceeded" says nothing of the cause:
                // the message's last real deferral does.
                Status::Expired if attempt.category == Category::Other => {
                    match self.batch.joins.deferrals.get(&message) {
                        Some(last) => {
                            attempt.category = last.category;
                            attempt.blocklist = last.blocklist;
                        }
                        None => attempt.needs_cause = true,
                    }
                }
                _ => {}
            }
        }
        if self.journeys
            && !host_error
            && !matches!(d.status, Status::Deliverable | Status::Undeliverable)
        {
            // Accepted by a content filter: a hop of the journey, not its
            // end nor one of its delivery attempts.
            let handed_off = provider == HANDOFF && d.status == Status::Sent;
            let row = AttemptRow {
                msg: message,
                ts: h.ts,
                rcpt: BytesMemo::<u32>::hash(d.recipient),
                rcpt_name: if self.per_address && d.status == Status::Sent && !handed_off {
                    let name = fold_domain(d.recipient, &mut self.scratch);
                    self.batch.delivered_to.intern(name)
                } else {
                    NO_ID
                },
                provider,
                domain,
                status: d.status,
                attempted: d.attempted && !handed_off,
                dsn: attempt.dsn,
                basic: d.basic.unwrap_or(0),
                reason: attempt.reason.unwrap_or(NO_ID),
                delay_ms: attempt.delay_ms,
                split: crate::parse::postfix::parse_delays_as(d.delays, seconds_to_ms)
                    .unwrap_or([u32::MAX; 4]),
            };
            if self.journey_text {
                self.batch.journeys.log.attempt(row, || {
                    (
                        String::from_utf8_lossy(d.queue_id).into_owned(),
                        String::from_utf8_lossy(h.host).into_owned(),
                        String::from_utf8_lossy(d.recipient).into_owned(),
                        String::from_utf8_lossy(d.relay).into_owned(),
                    )
                });
            } else {
                self.batch.live_attempt(&row, ctx.filter);
            }
            // The filter queued it again: that message continues this one.
            if let Some(id) = handed_off.then(|| requeued_id(d.reply)).flatten() {
                let mut link = MessageRow::bare(message, Kind::Link, h.ts);
                link.child = message_key(h.host, id);
                self.journey_message(h, d.queue_id, link, b"", ctx.filter);
            }
        }
        // A content filter on loopback queued it again: the copy was
        // submitted by whoever submitted this one, not by the filter.
        if provider == HANDOFF
            && d.status == Status::Sent
            && let Some(id) = requeued_id(d.reply)
        {
            self.batch.handed_off(message, message_key(h.host, id));
        }
        self.batch.attempt(attempt, d.recipient, ctx.filter);
    }
}

/// A client's `host[ip]` as a hash, without the `:port` some logs add.
fn client_hash(client: &[u8]) -> u64 {
    let end = memchr::memchr(b']', client).map_or(client.len(), |c| c + 1);
    seeded(&client[..end])
}

/// Log text as a hash with the process's seed: compared, never a key
/// anyone outside can aim at.
#[inline]
fn seeded(bytes: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    crate::hashing::Seeded.hash_one(bytes)
}

/// `127.0.0.1:10024` from a next hop as logged (`amavis[127.0.0.1]:10024`),
/// else the relay's name: only address and port characters, so the label
/// is safe to print anywhere.
fn hop_label(hop: &[u8], relay: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let safe = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'-');
    match crate::parse::postfix::address_and_port(hop) {
        Some((address, port)) => {
            let v6 = address.contains(&b':');
            if v6 {
                out.push(b'[');
            }
            out.extend(address.iter().filter(|b| safe(b)).take(64));
            if v6 {
                out.push(b']');
            }
            if let Some(port) = port {
                out.push(b':');
                out.extend(port.iter().take_while(|b| b.is_ascii_digit()).take(5));
            }
        }
        None => out.extend(relay.iter().filter(|b| safe(b)).take(64)),
    }
}

/// Seconds as logged (`delay=`, `delays=`) to whole milliseconds.
#[inline]
fn seconds_to_ms(s: f32) -> u32 {
    (s * 1000.0).clamp(0.0, (NO_DELAY - 1) as f32) as u32
}

#[cfg(test)]
mod tests {
    use super::BytesMemo;

    #[test]
    fn mask_memo_returns_only_exact_replies_and_stays_bounded() {
        let mut m = BytesMemo::<u32>::new();
        m.insert(b"421 4.7.0 [TSS04] try later", 7);
        assert_eq!(m.get(b"421 4.7.0 [TSS04] try later"), Some(7));
        assert_eq!(m.get(b"421 4.7.0 [TSS04] try later!"), None);
        m.insert(&[b'x'; BytesMemo::<u32>::LONGEST + 1], 9);
        assert_eq!(
            m.get(&[b'x'; BytesMemo::<u32>::LONGEST + 1]),
            None,
            "long replies are not kept"
        );
        // Filling the arena clears it instead of growing it.
        let capacity = m.arena.capacity();
        for i in 0..(BytesMemo::<u32>::ARENA / 100 + 10) {
            let reply = format!("{i:0>100}");
            m.insert(reply.as_bytes(), i as u32);
        }
        assert!(m.arena.len() <= BytesMemo::<u32>::ARENA);
        assert_eq!(m.arena.capacity(), capacity);
        assert_eq!(m.get(b"421 4.7.0 [TSS04] try later"), None);
    }
}
