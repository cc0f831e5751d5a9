//! The TLS posture as the report shows it: per provider and busiest
//! recipient domain, the share of deliveries over TLS, the protocols and
//! how many certificates verified; the domains that took clear text though
//! they had TLS elsewhere in the log; inbound the same per client.

use crate::aggregate::batch::Batch;
use crate::classify::provider::ProviderMap;
use crate::detect::Count;
use crate::detect::tls::{Cell, ClearRelay, InCell, Path, TlsFacts};
use crate::event::{TlsLevel, TlsProtocol};
use crate::time::zone::Zone;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Busiest recipient domains shown.
const DOMAINS: usize = 20;
/// Rows of the clear-text lists.
const CLEAR_ROWS: usize = 20;

/// The report's `tls` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TlsPosture {
    /// Deliveries (status sent) to hosts over the network.
    pub outbound: Outbound,
    /// Messages received from clients over the network (not loopback,
    /// not local submission).
    pub inbound: Inbound,
}

impl TlsPosture {
    /// Hosts whose log shows no TLS line at all, outbound or inbound,
    /// sorted, each once.
    pub fn silent_hosts(&self) -> Vec<&str> {
        let mut hosts: Vec<&str> = self
            .outbound
            .hosts_without_tls_logging
            .iter()
            .chain(&self.inbound.hosts_without_tls_logging)
            .map(String::as_str)
            .collect();
        hosts.sort_unstable();
        hosts.dedup();
        hosts
    }
}

/// Counts by protection: the numbers of a row.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Mix {
    /// All of them.
    pub total: u64,
    /// Over TLS.
    pub tls: u64,
    /// Over TLS with a verified certificate (trusted or verified).
    pub verified: u64,
    /// In clear text.
    pub clear: u64,
    /// Not known (the connection began before the input, or the host's
    /// log says nothing of TLS).
    pub unknown: u64,
    /// tls / (total − unknown); `None` when nothing is known.
    pub tls_share: Option<f64>,
    /// verified / tls.
    pub verified_share: Option<f64>,
    /// By level, strongest first.
    pub levels: Vec<Count>,
    /// By protocol, newest first.
    pub protocols: Vec<Count>,
}

impl Mix {
    fn add(&mut self, level: TlsLevel, protocol: &str, n: u64) {
        self.total += n;
        if level.is_tls() {
            self.tls += n;
        }
        if level.is_verified() {
            self.verified += n;
        }
        match level {
            TlsLevel::Clear => self.clear += n,
            TlsLevel::Unknown | TlsLevel::Inherit => self.unknown += n,
            _ => {}
        }
        add_count(&mut self.levels, level.as_str(), n);
        if !protocol.is_empty() {
            add_count(&mut self.protocols, protocol, n);
        }
    }

    fn finish(&mut self) {
        let known = self.total - self.unknown;
        self.tls_share = (known > 0).then(|| self.tls as f64 / known as f64);
        self.verified_share = (self.tls > 0).then(|| self.verified as f64 / self.tls as f64);
        let level_rank = |name: &str| {
            TlsLevel::SHOWN
                .iter()
                .position(|l| l.as_str() == name)
                .unwrap_or(usize::MAX)
        };
        self.levels.sort_by_key(|c| level_rank(&c.name));
        let protocol_rank = |name: &str| {
            TlsProtocol::ALL
                .iter()
                .position(|p| p.as_str() == name)
                .unwrap_or(usize::MAX)
        };
        self.protocols.sort_by_key(|c| protocol_rank(&c.name));
    }
}

fn add_count(v: &mut Vec<Count>, name: &str, n: u64) {
    match v.iter_mut().find(|c| c.name == name) {
        Some(c) => c.count += n,
        None => v.push(Count {
            name: name.to_string(),
            count: n,
        }),
    }
}

/// One provider's, domain's or client's mix.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PostureRow {
    /// Provider id, recipient domain or client (log text).
    pub name: String,
    /// The provider of a domain (empty for a provider or client row).
    pub provider: String,
    /// Its numbers.
    #[serde(flatten)]
    pub mix: Mix,
}

/// A domain that took clear text though it had TLS elsewhere in the log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClearDomain {
    /// Recipient domain.
    pub domain: String,
    /// Its provider.
    pub provider: String,
    /// Deliveries in clear text.
    pub clear: u64,
    /// Deliveries over TLS.
    pub tls: u64,
    /// First and last clear-text delivery.
    pub first_clear: String,
    /// Last clear-text delivery.
    pub last_clear: String,
    /// The MX hosts that took clear text, most first.
    pub relays: Vec<Count>,
}

/// A client that sent in clear text though it used TLS elsewhere in the log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClearClient {
    /// `name[ip]`.
    pub client: String,
    /// Messages in clear text.
    pub clear: u64,
    /// Messages over TLS.
    pub tls: u64,
    /// Of the clear ones, sent after SASL authentication (a password in clear text).
    pub authenticated_clear: u64,
}

/// Outbound: deliveries.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Outbound {
    /// Every delivery to a host over the network.
    #[serde(flatten)]
    pub mix: Mix,
    /// Per provider, most deliveries first.
    pub providers: Vec<PostureRow>,
    /// The busiest recipient domains.
    pub domains: Vec<PostureRow>,
    /// Domains that took clear text though they had TLS elsewhere in the log.
    pub clear_where_tls_seen: Vec<ClearDomain>,
    /// Hosts whose log shows no outbound TLS line at all (Postfix
    /// `smtp_tls_loglevel = 0`, Exim without `X=`): their deliveries are
    /// unknown, not clear.
    pub hosts_without_tls_logging: Vec<String>,
}

/// Inbound: messages received.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Inbound {
    /// Every message received from a network client.
    #[serde(flatten)]
    pub mix: Mix,
    /// Messages from SASL-authenticated clients.
    pub authenticated: u64,
    /// Of those, over connections without TLS.
    pub authenticated_clear: u64,
    /// The busiest clients.
    pub clients: Vec<PostureRow>,
    /// Clients that sent in clear text though they used TLS elsewhere.
    pub clear_where_tls_seen: Vec<ClearClient>,
    /// Hosts whose log shows no inbound TLS at all.
    pub hosts_without_tls_logging: Vec<String>,
}

/// The scan's TLS tables as plain data for the findings and the view.
pub fn tls_facts(b: &Batch, providers: &ProviderMap) -> TlsFacts {
    let t = &b.tls;
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let host = |id: u32| text(b.hosts.get(id));
    let logs_out = |id: u32| t.logged_by(id).outbound.count > 0;
    let logs_in = |id: u32| t.logged_by(id).inbound.count > 0;
    // A host that logs nothing of TLS: its "clear" is not known.
    let level = |logs: bool, l: TlsLevel| {
        if l == TlsLevel::Clear && !logs {
            TlsLevel::Unknown
        } else {
            l
        }
    };
    let mut f = TlsFacts::default();
    let mut hosts = BTreeSet::new();
    for (k, s) in &t.outbound {
        hosts.insert(k.host);
        f.cells.push(Cell {
            host: host(k.host),
            provider: providers.info(k.provider).id.clone(),
            domain: text(b.domains.get(k.domain)),
            level: level(logs_out(k.host), k.level),
            protocol: k.protocol.as_str(),
            count: s.count,
            first: s.first,
            last: s.last,
        });
    }
    f.hosts = hosts.len();
    f.bucket = t.width();
    for (&(h, provider, start), counts) in &t.buckets {
        let l = t.logged_by(h);
        if l.outbound.count == 0 {
            continue;
        }
        let (name, provider) = (host(h), providers.info(provider).id.clone());
        let i = match f
            .paths
            .iter()
            .position(|p| p.host == name && p.provider == provider)
        {
            Some(i) => i,
            None => {
                f.paths.push(Path {
                    host: name,
                    provider,
                    buckets: BTreeMap::new(),
                    host_last_tls: l.outbound.last,
                });
                f.paths.len() - 1
            }
        };
        f.paths[i].buckets.insert(start, *counts);
    }
    for (&(h, d, r), s) in &t.clear_relays {
        if logs_out(h) {
            f.clear_relays.push(ClearRelay {
                host: host(h),
                domain: text(b.domains.get(d)),
                relay: text(b.relays.get(r)),
                count: s.count,
                first: s.first,
                last: s.last,
            });
        }
    }
    for (k, s) in &t.inbound {
        let origin = b.origins.get(k.origin);
        let (client, user) = match memchr::memchr(0, origin) {
            Some(nul) => (&origin[..nul], &origin[nul + 1..]),
            None => (origin, &b""[..]),
        };
        f.inbound.push(InCell {
            host: host(k.host),
            client: text(client),
            user: text(user),
            level: level(logs_in(k.host), k.level),
            protocol: k.protocol.as_str(),
            count: s.count,
            first: s.first,
            last: s.last,
        });
    }
    // The tables are hash maps: one order for every run.
    f.cells.sort_by(|a, b| {
        (&a.host, &a.provider, &a.domain, a.level, a.protocol).cmp(&(
            &b.host,
            &b.provider,
            &b.domain,
            b.level,
            b.protocol,
        ))
    });
    f.paths
        .sort_by(|a, b| (&a.host, &a.provider).cmp(&(&b.host, &b.provider)));
    f.clear_relays
        .sort_by(|a, b| (&a.host, &a.domain, &a.relay).cmp(&(&b.host, &b.domain, &b.relay)));
    f.inbound.sort_by(|a, b| {
        (&a.host, &a.client, &a.user, a.level, a.protocol)
            .cmp(&(&b.host, &b.client, &b.user, b.level, b.protocol))
    });
    f
}

/// Rows by name, most first, then by name.
fn ranked(rows: BTreeMap<(String, String), Mix>, n: usize) -> Vec<PostureRow> {
    let mut rows: Vec<PostureRow> = rows
        .into_iter()
        .map(|((name, provider), mut mix)| {
            mix.finish();
            PostureRow {
                name,
                provider,
                mix,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.mix.total.cmp(&a.mix.total).then(a.name.cmp(&b.name)));
    rows.truncate(n);
    rows
}

/// The report's view of the facts.
pub fn posture(f: &TlsFacts, b: &Batch, zone: Zone) -> TlsPosture {
    let mut out = Outbound::default();
    let mut by_provider: BTreeMap<(String, String), Mix> = BTreeMap::new();
    let mut by_domain: BTreeMap<(String, String), Mix> = BTreeMap::new();
    for c in &f.cells {
        out.mix.add(c.level, c.protocol, c.count);
        by_provider
            .entry((c.provider.clone(), String::new()))
            .or_default()
            .add(c.level, c.protocol, c.count);
        by_domain
            .entry((c.domain.clone(), c.provider.clone()))
            .or_default()
            .add(c.level, c.protocol, c.count);
    }
    out.mix.finish();
    // Clear text to domains that had TLS: from the per-domain mixes.
    let mut clear_times: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for c in f.cells.iter().filter(|c| c.level == TlsLevel::Clear) {
        let e = clear_times.entry(&c.domain).or_insert((c.first, c.last));
        *e = (e.0.min(c.first), e.1.max(c.last));
    }
    let mut relays_of: BTreeMap<&str, Vec<Count>> = BTreeMap::new();
    for r in &f.clear_relays {
        add_count(relays_of.entry(&r.domain).or_default(), &r.relay, r.count);
    }
    for ((domain, provider), mix) in &by_domain {
        if mix.clear == 0 || mix.tls == 0 {
            continue;
        }
        let (first, last) = clear_times.get(domain.as_str()).copied().unwrap_or((0, 0));
        let mut relays = relays_of.remove(domain.as_str()).unwrap_or_default();
        relays.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
        relays.truncate(5);
        out.clear_where_tls_seen.push(ClearDomain {
            domain: domain.clone(),
            provider: provider.clone(),
            clear: mix.clear,
            tls: mix.tls,
            first_clear: zone.format_minute(first),
            last_clear: zone.format_minute(last),
            relays,
        });
    }
    out.clear_where_tls_seen
        .sort_by(|a, b| b.clear.cmp(&a.clear).then(a.domain.cmp(&b.domain)));
    out.clear_where_tls_seen.truncate(CLEAR_ROWS);
    out.providers = ranked(by_provider, usize::MAX);
    out.domains = ranked(by_domain, DOMAINS);
    let host_name = |id: &u32| match b.hosts.get(*id) {
        b"" => "(mainlog)".to_string(),
        h => String::from_utf8_lossy(h).into_owned(),
    };
    // Hosts with traffic whose log has no TLS line for that direction.
    let silent = |hosts: BTreeSet<u32>, inbound: bool| -> Vec<String> {
        hosts
            .into_iter()
            .filter(|&h| {
                let l = b.tls.logged_by(h);
                if inbound { l.inbound } else { l.outbound }.count == 0
            })
            .map(|h| host_name(&h))
            .collect()
    };
    out.hosts_without_tls_logging = silent(b.tls.outbound.keys().map(|k| k.host).collect(), false);

    let mut inb = Inbound::default();
    let mut by_client: BTreeMap<(String, String), Mix> = BTreeMap::new();
    let mut authenticated_clear: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &f.inbound {
        inb.mix.add(c.level, c.protocol, c.count);
        by_client
            .entry((c.client.clone(), String::new()))
            .or_default()
            .add(c.level, c.protocol, c.count);
        if !c.user.is_empty() {
            inb.authenticated += c.count;
            if c.level == TlsLevel::Clear {
                inb.authenticated_clear += c.count;
                *authenticated_clear.entry(&c.client).or_default() += c.count;
            }
        }
    }
    inb.mix.finish();
    for ((client, _), mix) in &by_client {
        if mix.clear > 0 && mix.tls > 0 {
            inb.clear_where_tls_seen.push(ClearClient {
                client: client.clone(),
                clear: mix.clear,
                tls: mix.tls,
                authenticated_clear: authenticated_clear
                    .get(client.as_str())
                    .copied()
                    .unwrap_or(0),
            });
        }
    }
    inb.clear_where_tls_seen
        .sort_by(|a, b| b.clear.cmp(&a.clear).then(a.client.cmp(&b.client)));
    inb.clear_where_tls_seen.truncate(CLEAR_ROWS);
    inb.clients = ranked(by_client, 10);
    inb.hosts_without_tls_logging = silent(b.tls.inbound.keys().map(|k| k.host).collect(), true);
    TlsPosture {
        outbound: out,
        inbound: inb,
    }
}
