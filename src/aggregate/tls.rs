//! TLS posture: how each delivery and each received message was
//! protected, per syslog host, provider and recipient domain (outbound)
//! and per client (inbound), with the ten minutes the findings place
//! a downgrade in.
//!
//! Exim says it on the line (`X=… CV=…`). Postfix logs a TLS handshake on
//! a line of its own with no queue id (`smtp[pid]: Trusted TLS connection
//! established to host[ip]:25: TLSv1.3 …`), so the smtp or smtpd process's
//! next line about a message is joined to it by process id ([`Conns`]).
//! A run of the input that did not see a process's connection begin asks
//! the runs before it at the merge ([`TlsTables::settle`]): the answer
//! never depends on where the input was cut.

use super::auth::Span;
use super::batch::{Attempt, NO_ID};
use crate::classify::provider::ProviderId;
use crate::event::{Tls, TlsLevel, TlsProtocol};
use crate::intern::{Ids, remap};
use hashbrown::HashMap;

type Fast = crate::hashing::Seeded;

/// How long after its handshake a connection still carries deliveries: a
/// Postfix smtp line about a message this long after the process's last
/// TLS line is on another connection. (One message per TLS connection
/// before Postfix 3.4; a transfer slower than this is rare.)
pub const WINDOW: i64 = 1200;

/// Inbound sessions whose `disconnect` was never logged are forgotten
/// after this long.
const SESSION_HORIZON: i64 = 86_400;

/// An smtp process's connection as last seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutConn {
    /// Hash of the peer as logged (`host[ip]:port`).
    pub peer: u64,
    /// Hash of the first message delivered on it (0: none yet).
    pub queue: u64,
    /// Its protection ([`Tls::INHERIT`]: began before this run).
    pub tls: Tls,
    /// When it began (its TLS line, or its first delivery when none).
    pub ts: i64,
    /// Its question to the runs before, when it began there
    /// ([`TlsTables::out_asks`]).
    pub ask: u32,
}

impl OutConn {
    /// A delivery of message `queue` to `peer` is on this connection: the
    /// same peer, and the message it was first used for (one message per
    /// TLS connection).
    fn carries(&self, peer: u64, queue: u64) -> bool {
        self.peer == peer && (self.queue == 0 || self.queue == queue)
    }
}

/// An smtpd process's session as last seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InConn {
    /// Hash of the client's `host[ip]`.
    pub client: u64,
    /// Its protection (clear from `connect` until a TLS line).
    pub tls: Tls,
    /// The session ended (`disconnect`): the runs before forget it.
    pub closed: bool,
    /// Last line of the session.
    pub ts: i64,
}

/// What a delivery whose connection this run did not see begin asks of
/// the runs before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutAsk {
    /// The smtp process.
    pub conn: u64,
    /// As [`OutConn::peer`].
    pub peer: u64,
    /// As [`OutConn::queue`].
    pub queue: u64,
    /// When.
    pub ts: i64,
    /// The earliest time in the run up to this line.
    pub first: i64,
    /// The run has no line of the process at all: its last connection
    /// before is on the left. (Otherwise the run's own line of it was too
    /// long ago, and the left's are older still.)
    pub look_left: bool,
}

impl OutAsk {
    /// No connection of the process within the window: clear, unless the
    /// input began less than a window before (`first`: the earliest time
    /// before this line).
    fn by_time(&self, first: i64) -> Tls {
        if self.ts >= first.saturating_add(WINDOW) {
            Tls::CLEAR
        } else {
            Tls::UNKNOWN
        }
    }
}

/// An attempt counted everywhere but here and in the events export: its
/// connection began in an earlier run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    /// The attempt (its `tls` is [`Tls::INHERIT`], `ask` its question).
    pub attempt: Attempt,
    /// Its sender domain id.
    pub sender: u32,
    /// Its origin id.
    pub origin: u32,
    /// A failure's recipient, for the events export.
    pub recipient: Box<[u8]>,
}

/// A received message whose session began in an earlier run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InWaiting {
    /// Syslog host id.
    pub host: u32,
    /// Origin id (client NUL SASL user).
    pub origin: u32,
    /// The smtpd process.
    pub conn: u64,
    /// When.
    pub ts: i64,
}

/// [`OutConn::ask`] of a connection that began in this run.
pub const NO_ASK: u32 = u32::MAX;

/// A cell of the outbound table: deliveries by host, provider, recipient
/// domain, level and protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OutKey {
    /// Syslog host id.
    pub host: u32,
    /// Provider.
    pub provider: ProviderId,
    /// Recipient domain id.
    pub domain: u32,
    /// Level.
    pub level: TlsLevel,
    /// Protocol.
    pub protocol: TlsProtocol,
}

/// A cell of the inbound table: received messages by host, origin, level
/// and protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InKey {
    /// Syslog host id.
    pub host: u32,
    /// Origin id (client NUL SASL user).
    pub origin: u32,
    /// Level.
    pub level: TlsLevel,
    /// Protocol.
    pub protocol: TlsProtocol,
}

/// Deliveries per [`BUCKET`] of one host and provider: clear, unverified
/// TLS, verified TLS, TLS whose certificate was not logged.
pub type Bucket = [u64; 4];

/// Seconds per [`Bucket`] at first: fine enough to see what came before
/// an onset in a log of an hour, 4,320 buckets per host and provider in a
/// month.
pub const BUCKET: i64 = 600;

/// Buckets per host and provider at most: when the time counted spans
/// more, their width doubles, so a log of years costs what a log of a
/// month does. (By the time span, not by the table's size: the width is
/// then the same however the input was cut.)
const BUCKETS_PER_PATH: i64 = 4608;

/// The bucket width for deliveries spanning `span` seconds.
fn width_for(span: i64) -> i64 {
    let mut width = BUCKET;
    while span / width >= BUCKETS_PER_PATH {
        width *= 2;
    }
    width
}

/// The bucket column of a level ([`Bucket`]); `None` for unknown.
pub fn bucket_column(level: TlsLevel) -> Option<usize> {
    match level {
        TlsLevel::Clear => Some(0),
        TlsLevel::Anonymous | TlsLevel::Untrusted => Some(1),
        TlsLevel::Trusted | TlsLevel::Verified => Some(2),
        TlsLevel::Encrypted => Some(3),
        TlsLevel::Unknown | TlsLevel::Inherit => None,
    }
}

/// Whether a host's log says anything of TLS at all: Postfix logs its
/// handshakes only with `smtp_tls_loglevel` ≥ 1, Exim `X=` only with its
/// `tls_cipher` log selector. A host that logged none has no clear-text
/// deliveries to report, only unknown ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Logged {
    /// Outbound TLS lines (Postfix smtp) or `X=` deliveries (Exim).
    pub outbound: Span,
    /// Inbound TLS lines (Postfix smtpd) or `X=` arrivals (Exim).
    pub inbound: Span,
}

/// A batch's TLS joins and tallies.
#[derive(Clone, Debug, Default)]
pub struct TlsTables {
    /// smtp processes (host + pid) → connection.
    pub out_conns: HashMap<u64, OutConn, Fast>,
    /// Deliveries whose connection began before this run, by
    /// [`Attempt::ask`].
    pub out_asks: Vec<OutAsk>,
    /// smtpd processes → session.
    pub in_conns: HashMap<u64, InConn, Fast>,
    /// smtpd processes whose first line here needs the runs before: the
    /// client's hash.
    pub in_asks: HashMap<u64, u64, Fast>,
    /// Attempts waiting for [`TlsTables::settle`].
    pub waiting: Vec<Waiting>,
    /// Received messages waiting for [`TlsTables::settle`].
    pub in_waiting: Vec<InWaiting>,
    /// Deliveries (status sent, to a host over the network).
    pub outbound: HashMap<OutKey, Span, Fast>,
    /// Clear-text deliveries per (host, domain, relay): which MX took them.
    pub clear_relays: HashMap<(u32, u32, u32), Span, Fast>,
    /// Deliveries per (host, provider, bucket start).
    pub buckets: HashMap<(u32, ProviderId, i64), Bucket, Fast>,
    /// Their width in seconds (0: [`BUCKET`]).
    pub bucket_width: i64,
    /// The first and last delivery counted (their span sets the width).
    pub counted: Option<(i64, i64)>,
    /// Messages received from network clients.
    pub inbound: HashMap<InKey, Span, Fast>,
    /// Per host id: did its log say anything of TLS (hosts are few; a
    /// vector spares a hash per line).
    pub logged: Vec<Logged>,
}

impl TlsTables {
    /// An smtp process's TLS line: the connection it will deliver on.
    pub fn handshake_out(&mut self, conn: u64, peer: u64, tls: Tls, ts: i64) {
        self.out_conns.insert(
            conn,
            OutConn {
                peer,
                queue: 0,
                tls,
                ts,
                ask: NO_ASK,
            },
        );
    }

    /// The protection of a Postfix delivery by process `conn` to `peer`
    /// of message `queue` at `ts`, in a run whose earliest time so far is
    /// `run_first`, and the question it asks the runs before
    /// ([`NO_ASK`]: none).
    pub fn delivered(
        &mut self,
        conn: u64,
        peer: u64,
        queue: u64,
        ts: i64,
        run_first: i64,
    ) -> (Tls, u32) {
        let seen = match self.out_conns.get_mut(&conn) {
            Some(c) if c.ts + WINDOW >= ts => {
                if c.carries(peer, queue) {
                    c.queue = queue;
                    return (c.tls, c.ask);
                }
                // Another connection, with no TLS line before it.
                *c = OutConn {
                    peer,
                    queue,
                    tls: Tls::CLEAR,
                    ts,
                    ask: NO_ASK,
                };
                return (Tls::CLEAR, NO_ASK);
            }
            seen => seen.is_some(),
        };
        // No line of this process within the window in this run: whether
        // one came before it (and how long the input had run) is the
        // runs before's to say, even when this run is long: a log's times
        // need not rise line by line.
        let ask = u32::try_from(self.out_asks.len()).unwrap_or(NO_ASK - 1);
        self.out_asks.push(OutAsk {
            conn,
            peer,
            queue,
            ts,
            first: run_first,
            look_left: !seen,
        });
        self.out_conns.insert(
            conn,
            OutConn {
                peer,
                queue,
                tls: Tls::INHERIT,
                ts,
                ask,
            },
        );
        (Tls::INHERIT, ask)
    }

    /// smtpd's `connect from`: a session in clear until a TLS line.
    pub fn connect(&mut self, conn: u64, client: u64, ts: i64) {
        self.handshake_in(conn, client, Tls::CLEAR, ts);
    }

    /// smtpd's TLS line.
    pub fn handshake_in(&mut self, conn: u64, client: u64, tls: Tls, ts: i64) {
        self.in_conns.insert(
            conn,
            InConn {
                client,
                tls,
                closed: false,
                ts,
            },
        );
    }

    /// smtpd's `disconnect from`.
    pub fn disconnect(&mut self, conn: u64, ts: i64) {
        self.in_conns.insert(
            conn,
            InConn {
                client: 0,
                tls: Tls::UNKNOWN,
                closed: true,
                ts,
            },
        );
    }

    /// The protection of the session a Postfix `client=` line is in.
    pub fn received(&mut self, conn: u64, client: u64, ts: i64) -> Tls {
        match self.in_conns.get_mut(&conn) {
            Some(c) if !c.closed && c.client == client => {
                c.ts = ts;
                c.tls
            }
            // A message outside a session it names: not known.
            Some(_) => Tls::UNKNOWN,
            None => {
                self.in_asks.entry(conn).or_insert(client);
                self.in_conns.insert(
                    conn,
                    InConn {
                        client,
                        tls: Tls::INHERIT,
                        closed: false,
                        ts,
                    },
                );
                Tls::INHERIT
            }
        }
    }

    /// Counts a delivery (status sent) over the network.
    pub fn count_out(&mut self, a: &Attempt, tls: Tls) {
        self.outbound
            .entry(OutKey {
                host: a.host,
                provider: a.provider,
                domain: a.domain,
                level: tls.level,
                protocol: tls.protocol,
            })
            .or_default()
            .see(a.ts);
        if let Some(col) = bucket_column(tls.level) {
            let (first, last) = match self.counted {
                Some((f, l)) => (f.min(a.ts), l.max(a.ts)),
                None => (a.ts, a.ts),
            };
            self.counted = Some((first, last));
            self.widen(width_for(last - first));
            let width = self.width();
            self.buckets
                .entry((a.host, a.provider, a.ts - a.ts.rem_euclid(width)))
                .or_default()[col] += 1;
        }
        if tls.level == TlsLevel::Clear && a.relay != NO_ID {
            self.clear_relays
                .entry((a.host, a.domain, a.relay))
                .or_default()
                .see(a.ts);
        }
    }

    /// Counts a message received from a network client.
    pub fn count_in(&mut self, host: u32, origin: u32, tls: Tls, ts: i64) {
        self.inbound
            .entry(InKey {
                host,
                origin,
                level: tls.level,
                protocol: tls.protocol,
            })
            .or_default()
            .see(ts);
    }

    /// Seconds per bucket.
    pub fn width(&self) -> i64 {
        if self.bucket_width > 0 {
            self.bucket_width
        } else {
            BUCKET
        }
    }

    /// Re-buckets to `width` seconds (a multiple of the present width).
    fn widen(&mut self, width: i64) {
        if width <= self.width() {
            return;
        }
        self.bucket_width = width;
        for ((h, p, start), n) in std::mem::take(&mut self.buckets) {
            let mine = self
                .buckets
                .entry((h, p, start - start.rem_euclid(width)))
                .or_default();
            for (m, x) in mine.iter_mut().zip(n) {
                *m += x;
            }
        }
    }

    /// A line that shows the host logs TLS.
    pub fn logged(&mut self, host: u32, inbound: bool, ts: i64) {
        let i = host as usize;
        if i >= self.logged.len() {
            self.logged.resize(i + 1, Logged::default());
        }
        let l = &mut self.logged[i];
        if inbound {
            &mut l.inbound
        } else {
            &mut l.outbound
        }
        .see(ts);
    }

    /// What host `host`'s log said of TLS.
    pub fn logged_by(&self, host: u32) -> Logged {
        self.logged.get(host as usize).copied().unwrap_or_default()
    }

    /// The answers of this table (everything before `right`, whose first
    /// line was at `first`) to `right`'s questions: `right`'s connections
    /// and waiting messages that began here take their protection; the
    /// attempts that waited are returned with theirs, and the answers are
    /// kept for `right`'s attempts still waiting for their sender.
    pub fn settle(&self, right: &mut TlsTables, first: Option<i64>) -> Answers {
        let outbound: Vec<Tls> = right
            .out_asks
            .iter()
            .map(|ask| {
                let first = first.map_or(ask.first, |f| f.min(ask.first));
                match self.out_conns.get(&ask.conn) {
                    Some(c) if ask.look_left && c.ts + WINDOW >= ask.ts => {
                        if c.carries(ask.peer, ask.queue) {
                            c.tls
                        } else {
                            Tls::CLEAR
                        }
                    }
                    _ => ask.by_time(first),
                }
            })
            .collect();
        let mut inbound: HashMap<u64, Tls, Fast> = HashMap::default();
        for (&conn, &client) in &right.in_asks {
            let tls = match self.in_conns.get(&conn) {
                Some(c) if !c.closed && c.client == client => c.tls,
                _ => Tls::UNKNOWN,
            };
            inbound.insert(conn, tls);
        }
        right.out_asks.clear();
        right.in_asks.clear();
        let answer = |map: &HashMap<u64, Tls, Fast>, conn: u64| {
            map.get(&conn).copied().unwrap_or(Tls::UNKNOWN)
        };
        let asked = |ask: u32| outbound.get(ask as usize).copied().unwrap_or(Tls::UNKNOWN);
        for c in right.out_conns.values_mut() {
            if c.tls == Tls::INHERIT {
                c.tls = asked(c.ask);
            }
            c.ask = NO_ASK;
        }
        for (&conn, c) in right.in_conns.iter_mut() {
            if c.tls == Tls::INHERIT {
                c.tls = answer(&inbound, conn);
            }
        }
        for w in std::mem::take(&mut right.in_waiting) {
            right.count_in(w.host, w.origin, answer(&inbound, w.conn), w.ts);
        }
        let mut waiting = std::mem::take(&mut right.waiting);
        for w in &mut waiting {
            w.attempt.tls = Some(asked(w.attempt.ask));
        }
        Answers { outbound, waiting }
    }

    /// Adds `right` (after this table in the input): its connections
    /// replace this one's, its tallies add up. `newest`: the latest time
    /// seen, to forget connections no later line can be on.
    pub fn merge(&mut self, right: &mut TlsTables, ids: &Ids, newest: Option<i64>) {
        self.out_conns.extend(right.out_conns.drain());
        for (conn, c) in right.in_conns.drain() {
            if c.closed {
                self.in_conns.remove(&conn);
            } else {
                self.in_conns.insert(conn, c);
            }
        }
        if let Some(newest) = newest {
            if self.out_conns.len() > 4096 {
                self.out_conns.retain(|_, c| c.ts + WINDOW >= newest);
            }
            if self.in_conns.len() > 4096 {
                self.in_conns
                    .retain(|_, c| c.ts + SESSION_HORIZON >= newest);
            }
        }
        let host = |h: u32| remap(&ids.hosts, h);
        for (mut k, s) in right.outbound.drain() {
            k.host = host(k.host);
            k.domain = remap(&ids.domains, k.domain);
            self.outbound.entry(k).or_default().absorb(&s);
        }
        for ((h, d, r), s) in right.clear_relays.drain() {
            let k = (host(h), remap(&ids.domains, d), remap(&ids.relays, r));
            self.clear_relays.entry(k).or_default().absorb(&s);
        }
        self.counted = match (self.counted, right.counted) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (a, b) => a.or(b),
        };
        let span = self.counted.map_or(0, |(f, l)| l - f);
        let width = self.width().max(right.width()).max(width_for(span));
        self.widen(width);
        for ((h, p, start), n) in right.buckets.drain() {
            let start = start - start.rem_euclid(width);
            let mine = self.buckets.entry((host(h), p, start)).or_default();
            for (m, x) in mine.iter_mut().zip(n) {
                *m += x;
            }
        }
        for (mut k, s) in right.inbound.drain() {
            k.host = host(k.host);
            k.origin = remap(&ids.origins, k.origin);
            self.inbound.entry(k).or_default().absorb(&s);
        }
        for (h, l) in right.logged.drain(..).enumerate() {
            if l == Logged::default() {
                continue;
            }
            let h = host(h as u32) as usize;
            if h >= self.logged.len() {
                self.logged.resize(h + 1, Logged::default());
            }
            self.logged[h].outbound.absorb(&l.outbound);
            self.logged[h].inbound.absorb(&l.inbound);
        }
    }

    /// New recipient domain ids (a batch's compaction).
    pub fn remap_domains(&mut self, map: &[u32]) {
        for (mut k, s) in std::mem::take(&mut self.outbound) {
            k.domain = remap(map, k.domain);
            self.outbound.entry(k).or_default().absorb(&s);
        }
        for ((h, d, r), s) in std::mem::take(&mut self.clear_relays) {
            self.clear_relays
                .entry((h, remap(map, d), r))
                .or_default()
                .absorb(&s);
        }
        for w in &mut self.waiting {
            w.attempt.domain = remap(map, w.attempt.domain);
        }
    }

    /// New reason ids (a batch's compaction).
    pub fn remap_reasons(&mut self, map: &[u32]) {
        for w in &mut self.waiting {
            w.attempt.reason = w.attempt.reason.map(|r| remap(map, r));
        }
    }

    /// Empties the tables, keeping their allocations.
    pub fn reset(&mut self) {
        self.out_conns.clear();
        self.out_asks.clear();
        self.in_conns.clear();
        self.in_asks.clear();
        self.waiting.clear();
        self.in_waiting.clear();
        self.outbound.clear();
        self.clear_relays.clear();
        self.buckets.clear();
        self.bucket_width = 0;
        self.counted = None;
        self.inbound.clear();
        self.logged.clear();
    }
}

/// What [`TlsTables::settle`] found.
#[derive(Debug, Default)]
pub struct Answers {
    /// Per [`OutAsk`], the protection of its connection.
    outbound: Vec<Tls>,
    /// The attempts that waited, their protection set.
    pub waiting: Vec<Waiting>,
}

impl Answers {
    /// Sets an attempt's protection if it waited for the runs before.
    pub fn fix(&self, a: &mut Attempt) {
        if a.tls == Some(Tls::INHERIT) {
            a.tls = Some(
                self.outbound
                    .get(a.ask as usize)
                    .copied()
                    .unwrap_or(Tls::UNKNOWN),
            );
        }
    }
}
