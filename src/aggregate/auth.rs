//! Authentication and authenticated submission: failed SMTP AUTH per
//! client and per user name tried (password guessing, sprays, a dead
//! authentication backend), successful logins per client, and each SASL
//! user's mail (per hour, from which clients and networks, to which
//! recipient domains, what of it is still queued). The findings engine
//! reads these for brute force and compromised accounts.
//!
//! Everything is keyed by ids of one interner (`Batch::auth_names`: client
//! `name[ip]`, user names, networks, recipient domains) and bounded: sets
//! keep their first few members and say when there were more, so an
//! attacker with a million addresses costs a table, not the machine.

use super::batch::QueueId;
use crate::intern::remap;
use hashbrown::HashMap;
use std::collections::BTreeMap;

type Fast = crate::hashing::Seeded;

/// User names remembered per failing client.
pub const USERS_PER_CLIENT: usize = 32;
/// Clients remembered per user name tried, or per SASL user.
pub const CLIENTS_PER_USER: usize = 64;
/// Networks remembered per SASL user and hour.
pub const NETWORKS_PER_HOUR: usize = 16;
/// Recipient domains remembered per SASL user.
pub const DOMAINS_PER_USER: usize = 4096;
/// Queue ids of a SASL user's mail still in the queue, remembered.
pub const QUEUED_PER_USER: usize = 256;
/// (client, hour) cells of failed logins kept: the hours of a long attack
/// by a few clients, not one cell per address of a botnet.
pub const FAILURE_CELLS: usize = 1 << 16;

/// A small set of ids that keeps its first `cap` members and counts the
/// rest as `more`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Few {
    /// The members kept, in the order first seen.
    pub ids: Vec<u32>,
    /// True when members beyond the cap were seen.
    pub more: bool,
}

impl Few {
    /// Adds `id` unless present; past `cap`, only notes there were more.
    #[inline]
    pub fn add(&mut self, id: u32, cap: usize) {
        if self.ids.contains(&id) {
            return;
        }
        if self.ids.len() < cap {
            self.ids.push(id);
        } else {
            self.more = true;
        }
    }

    fn absorb(&mut self, right: &Few, map: &[u32], cap: usize) {
        for &id in &right.ids {
            self.add(remap(map, id), cap);
        }
        self.more |= right.more;
    }
}

/// First and last time, and how often.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Occurrences.
    pub count: u64,
    /// First time (UTC seconds).
    pub first: i64,
    /// Last time.
    pub last: i64,
}

impl Default for Span {
    fn default() -> Span {
        Span {
            count: 0,
            first: i64::MAX,
            last: i64::MIN,
        }
    }
}

impl Span {
    /// One more at `ts`.
    #[inline]
    pub fn see(&mut self, ts: i64) {
        self.count += 1;
        self.first = self.first.min(ts);
        self.last = self.last.max(ts);
    }

    pub(crate) fn absorb(&mut self, right: &Span) {
        self.count += right.count;
        self.first = self.first.min(right.first);
        self.last = self.last.max(right.last);
    }
}

/// A client's failed logins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientFailures {
    /// Failures the client caused (bad password, unknown user, cancelled).
    pub failed: Span,
    /// The user names it tried.
    pub users: Few,
}

/// One user name's failed logins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserFailures {
    /// Failures.
    pub failed: Span,
    /// The clients that tried it.
    pub clients: Few,
}

/// A client's successful logins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientLogins {
    /// Logins (a submission as a SASL user, or a session whose statistics
    /// say an AUTH succeeded).
    pub logins: Span,
    /// The users it logged in as, when the line names them.
    pub users: Few,
}

/// One hour of a SASL user's mail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserHour {
    /// Messages submitted.
    pub messages: u64,
    /// The first of them (UTC seconds; 0 before any).
    pub first: i64,
    /// The networks they came from.
    pub networks: Few,
}

/// A message of a SASL user's still in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queued {
    /// Host + queue id hash (`message_key`).
    pub message: u64,
    /// Its queue id, for the purge command.
    pub queue_id: QueueId,
    /// The syslog host it is queued on (an `auth_names` id, remapped with
    /// the rest at a merge).
    pub host: u32,
}

/// One SASL user's mail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserMail {
    /// Messages submitted.
    pub messages: Span,
    /// Per hour (UTC hours since the epoch).
    pub hours: BTreeMap<i64, UserHour>,
    /// The clients it submitted from.
    pub clients: Few,
    /// The networks it submitted from.
    pub networks: Few,
    /// Each of those networks' first message (UTC seconds).
    pub network_firsts: HashMap<u32, i64, Fast>,
    /// Recipient domains it sent to, each with its first attempt.
    pub domains: HashMap<u32, i64, Fast>,
    /// More recipient domains than [`DOMAINS_PER_USER`] were seen.
    pub more_domains: bool,
    /// Its messages not removed from the queue (yet).
    pub queued: Vec<Queued>,
    /// More queued messages than [`QUEUED_PER_USER`] were seen.
    pub more_queued: bool,
}

/// Keeps `key`'s earliest time in `firsts`, which holds at most `cap`
/// keys; false when a new key found it full.
fn first_seen(firsts: &mut HashMap<u32, i64, Fast>, key: u32, ts: i64, cap: usize) -> bool {
    let full = firsts.len() >= cap;
    match firsts.entry(key) {
        hashbrown::hash_map::Entry::Occupied(mut e) => {
            let first = e.get_mut();
            *first = (*first).min(ts);
            true
        }
        hashbrown::hash_map::Entry::Vacant(e) if !full => {
            e.insert(ts);
            true
        }
        hashbrown::hash_map::Entry::Vacant(_) => false,
    }
}

impl UserMail {
    /// A recipient domain at `ts`: its first time kept, past the cap noted.
    fn add_domain(&mut self, domain: u32, ts: i64) {
        if !first_seen(&mut self.domains, domain, ts, DOMAINS_PER_USER) {
            self.more_domains = true;
        }
    }
}

/// Failed logins the server caused (its authentication backend).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerFailures {
    /// Failures.
    pub failed: Span,
    /// The clients that met them.
    pub clients: Few,
    /// The first reason text logged (an `auth_names` id).
    pub reason: Option<u32>,
}

/// One batch's authentication tables.
#[derive(Clone, Debug, Default)]
pub struct Auth {
    /// Failed logins per client (`name[ip]`).
    pub failures: HashMap<u32, ClientFailures, Fast>,
    /// Failed logins per user name tried.
    pub tried: HashMap<u32, UserFailures, Fast>,
    /// Failed logins per (client, UTC hour): the attack over time.
    pub failure_hours: HashMap<(u32, i64), u64, Fast>,
    /// Failures past [`FAILURE_CELLS`] (counted, not placed in time).
    pub failure_hours_overflow: u64,
    /// Successful logins per client.
    pub logins: HashMap<u32, ClientLogins, Fast>,
    /// Mail per SASL user.
    pub users: HashMap<u32, UserMail, Fast>,
    /// Failures that were the server's.
    pub server: ServerFailures,
}

impl Auth {
    /// A failed login by `client` (as `user`, or `NO_ID` when not logged).
    pub fn failure(&mut self, client: u32, user: Option<u32>, ts: i64) {
        let c = self.failures.entry(client).or_default();
        c.failed.see(ts);
        if let Some(user) = user {
            c.users.add(user, USERS_PER_CLIENT);
            let u = self.tried.entry(user).or_default();
            u.failed.see(ts);
            u.clients.add(client, CLIENTS_PER_USER);
        }
        let hour = ts.div_euclid(3600);
        if self.failure_hours.len() < FAILURE_CELLS
            || self.failure_hours.contains_key(&(client, hour))
        {
            *self.failure_hours.entry((client, hour)).or_insert(0) += 1;
        } else {
            self.failure_hours_overflow += 1;
        }
    }

    /// A failed login the server caused.
    pub fn server_failure(&mut self, client: u32, reason: u32, ts: i64) {
        self.server.failed.see(ts);
        self.server.clients.add(client, CLIENTS_PER_USER);
        self.server.reason.get_or_insert(reason);
    }

    /// A successful login by `client`, as `user` when known.
    pub fn login(&mut self, client: u32, user: Option<u32>, ts: i64) {
        let c = self.logins.entry(client).or_default();
        c.logins.see(ts);
        if let Some(user) = user {
            c.users.add(user, 8);
        }
    }

    /// A message submitted by SASL user `user` from `client` in `network`.
    pub fn submission(&mut self, user: u32, client: u32, network: u32, ts: i64, queued: Queued) {
        let u = self.users.entry(user).or_default();
        u.messages.see(ts);
        let hour = u.hours.entry(ts.div_euclid(3600)).or_default();
        hour.first = if hour.messages == 0 {
            ts
        } else {
            hour.first.min(ts)
        };
        hour.messages += 1;
        hour.networks.add(network, NETWORKS_PER_HOUR);
        u.clients.add(client, CLIENTS_PER_USER);
        u.networks.add(network, CLIENTS_PER_USER);
        first_seen(&mut u.network_firsts, network, ts, CLIENTS_PER_USER);
        if u.queued.len() < QUEUED_PER_USER {
            u.queued.push(queued);
        } else {
            u.more_queued = true;
        }
    }

    /// A delivery attempt of `user`'s mail to recipient domain `domain`.
    #[inline]
    pub fn recipient_domain(&mut self, user: u32, domain: u32, ts: i64) {
        self.users.entry(user).or_default().add_domain(domain, ts);
    }

    /// `user`'s message left the queue.
    pub fn removed(&mut self, user: u32, message: u64) {
        if let Some(u) = self.users.get_mut(&user) {
            u.queued.retain(|q| q.message != message);
        }
    }

    /// True when nothing was seen.
    pub fn is_empty(&self) -> bool {
        self.failures.is_empty()
            && self.logins.is_empty()
            && self.users.is_empty()
            && self.server.failed.count == 0
    }

    /// Empties the tables for another run.
    pub fn reset(&mut self) {
        *self = Auth::default();
    }

    /// Adds `right` (later in the input), its ids mapped by `map`.
    pub fn merge(&mut self, right: &mut Auth, map: &[u32]) {
        let m = |id: u32| remap(map, id);
        for (client, r) in right.failures.drain() {
            let c = self.failures.entry(m(client)).or_default();
            c.failed.absorb(&r.failed);
            c.users.absorb(&r.users, map, USERS_PER_CLIENT);
        }
        for (user, r) in right.tried.drain() {
            let u = self.tried.entry(m(user)).or_default();
            u.failed.absorb(&r.failed);
            u.clients.absorb(&r.clients, map, CLIENTS_PER_USER);
        }
        self.failure_hours_overflow += right.failure_hours_overflow;
        for ((client, hour), n) in right.failure_hours.drain() {
            let key = (m(client), hour);
            if self.failure_hours.len() < FAILURE_CELLS || self.failure_hours.contains_key(&key) {
                *self.failure_hours.entry(key).or_insert(0) += n;
            } else {
                self.failure_hours_overflow += n;
            }
        }
        for (client, r) in right.logins.drain() {
            let c = self.logins.entry(m(client)).or_default();
            c.logins.absorb(&r.logins);
            c.users.absorb(&r.users, map, 8);
        }
        for (user, mut r) in right.users.drain() {
            let u = self.users.entry(m(user)).or_default();
            u.messages.absorb(&r.messages);
            for (h, rh) in std::mem::take(&mut r.hours) {
                let hour = u.hours.entry(h).or_default();
                hour.first = if hour.messages == 0 {
                    rh.first
                } else {
                    hour.first.min(rh.first)
                };
                hour.messages += rh.messages;
                hour.networks.absorb(&rh.networks, map, NETWORKS_PER_HOUR);
            }
            u.clients.absorb(&r.clients, map, CLIENTS_PER_USER);
            u.networks.absorb(&r.networks, map, CLIENTS_PER_USER);
            for (n, ts) in r.network_firsts.drain() {
                first_seen(&mut u.network_firsts, m(n), ts, CLIENTS_PER_USER);
            }
            for (d, ts) in r.domains.drain() {
                u.add_domain(m(d), ts);
            }
            u.more_domains |= r.more_domains;
            for mut q in r.queued.drain(..) {
                q.host = m(q.host);
                if u.queued.len() < QUEUED_PER_USER {
                    u.queued.push(q);
                } else {
                    u.more_queued = true;
                }
            }
            u.more_queued |= r.more_queued;
        }
        self.server.failed.absorb(&right.server.failed);
        self.server
            .clients
            .absorb(&right.server.clients, map, CLIENTS_PER_USER);
        if self.server.reason.is_none() {
            self.server.reason = right.server.reason.map(m);
        }
        right.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_stay_small_and_say_so() {
        let mut f = Few::default();
        for id in 0..100 {
            f.add(id % 40, 32);
        }
        assert_eq!(f.ids.len(), 32);
        assert!(f.more);
    }

    #[test]
    fn a_merge_maps_ids_and_keeps_first_and_last() {
        let mut left = Auth::default();
        left.failure(0, Some(1), 100);
        let mut right = Auth::default();
        right.failure(0, Some(1), 5000);
        right.failure(1, None, 7300);
        // right's 0 is left's 0, right's 1 a new id 2.
        left.merge(&mut right, &[0, 2]);
        let c = &left.failures[&0];
        assert_eq!(
            (c.failed.count, c.failed.first, c.failed.last),
            (2, 100, 5000)
        );
        assert_eq!(c.users.ids, vec![1, 2]);
        assert_eq!(left.failures[&2].failed.count, 1);
        assert_eq!(left.failure_hours[&(0, 0)], 1);
        assert_eq!(left.failure_hours[&(0, 1)], 1);
        assert!(right.is_empty());
    }
}
