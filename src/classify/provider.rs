//! Recipient → provider, by the relay host it talked to and by its domain.
//!
//! The relay decides first: a custom domain hosted at Google Workspace
//! (`aspmx.l.google.com`) or behind Proofpoint (`*.pphosted.com`) belongs to
//! whoever answered. Otherwise the recipient domain decides (`gmail.com`),
//! which covers attempts that never reached a host (`relay=none`, DNS errors).

use super::overrides::Table;
use super::providers::{HANDOFF_ID, Kind, LOCAL_ID, OTHER_ID, PROVIDERS};
use hashbrown::HashMap;

/// Index of a provider in a [`ProviderMap`]. Small and `Copy` for hot keys.
pub type ProviderId = u16;

/// The id of the hand-off pseudo-provider (a relay on loopback: a content
/// filter), the same in every map: it is pushed right after the built-in
/// providers and `local`.
pub const HANDOFF: ProviderId = PROVIDERS.len() as ProviderId + 1;

/// Providers a map may hold, built-in and the user's together.
pub const MAX_PROVIDERS: usize = 1024;

/// Display information for one provider id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderInfo {
    /// Lowercase id (`google`).
    pub id: String,
    /// Human name.
    pub name: String,
    /// Mailbox provider or gateway.
    pub kind: Kind,
}

/// The lookup tables built from [`PROVIDERS`].
#[derive(Clone, Debug)]
pub struct ProviderMap {
    infos: Vec<ProviderInfo>,
    domains: HashMap<Box<[u8]>, ProviderId, crate::hashing::Seeded>,
    domain_suffixes: HashMap<Box<[u8]>, ProviderId, crate::hashing::Seeded>,
    hosts: HashMap<Box<[u8]>, ProviderId, crate::hashing::Seeded>,
    local: ProviderId,
    other: ProviderId,
    handoff: ProviderId,
}

impl Default for ProviderMap {
    fn default() -> Self {
        ProviderMap::builtin()
    }
}

impl ProviderMap {
    /// The built-in table.
    pub fn builtin() -> ProviderMap {
        let mut map = ProviderMap {
            infos: Vec::with_capacity(PROVIDERS.len() + 2),
            domains: HashMap::default(),
            domain_suffixes: HashMap::default(),
            hosts: HashMap::default(),
            local: 0,
            other: 0,
            handoff: 0,
        };
        for spec in PROVIDERS {
            let id = map.push(spec.id, spec.name, spec.kind);
            for d in spec.domains {
                map.domains.insert(d.as_bytes().into(), id);
            }
            for d in spec.domain_suffixes {
                map.domain_suffixes.insert(d.as_bytes().into(), id);
            }
            for h in spec.hosts {
                map.hosts.insert(h.as_bytes().into(), id);
            }
        }
        map.local = map.push(LOCAL_ID, "Local delivery", Kind::Mailbox);
        map.handoff = map.push(
            HANDOFF_ID,
            "Hand-off on loopback (content filter, local relay)",
            Kind::Gateway,
        );
        map.other = map.push(OTHER_ID, "Other / unknown", Kind::Mailbox);
        debug_assert_eq!(map.handoff, HANDOFF);
        map
    }

    fn push(&mut self, id: &str, name: &str, kind: Kind) -> ProviderId {
        self.infos.push(ProviderInfo {
            id: id.to_string(),
            name: name.to_string(),
            kind,
        });
        (self.infos.len() - 1) as ProviderId
    }

    /// The provider `id`, renamed or re-kinded when given; a new provider
    /// when no such id exists (the user's provider file).
    pub fn upsert(
        &mut self,
        id: &str,
        name: Option<&str>,
        kind: Option<Kind>,
    ) -> Result<ProviderId, String> {
        if let Some(existing) = self.id_of(id) {
            let info = &mut self.infos[usize::from(existing)];
            if let Some(name) = name {
                info.name = name.to_string();
            }
            if let Some(kind) = kind {
                info.kind = kind;
            }
            return Ok(existing);
        }
        if self.infos.len() >= MAX_PROVIDERS {
            return Err(format!("more than {MAX_PROVIDERS} providers"));
        }
        Ok(self.push(id, name.unwrap_or(id), kind.unwrap_or(Kind::Mailbox)))
    }

    /// Maps a (lowercase) domain, domain suffix or relay-host suffix to a
    /// provider, replacing what the built-in table said.
    pub fn assign(&mut self, table: Table, name: &[u8], provider: ProviderId) {
        let t = match table {
            Table::Domains => &mut self.domains,
            Table::DomainSuffixes => &mut self.domain_suffixes,
            Table::Hosts => &mut self.hosts,
        };
        t.insert(name.into(), provider);
    }

    /// The id for local deliveries.
    pub fn local(&self) -> ProviderId {
        self.local
    }

    /// The id for unknown providers.
    pub fn other(&self) -> ProviderId {
        self.other
    }

    /// The id for hand-offs to a next hop on loopback (amavis, rspamd
    /// proxy, clamsmtp, a local relay): not the recipient's provider.
    pub fn handoff(&self) -> ProviderId {
        self.handoff
    }

    /// Display information for an id.
    pub fn info(&self, id: ProviderId) -> &ProviderInfo {
        &self.infos[usize::from(id).min(self.infos.len() - 1)]
    }

    /// The id of a provider by its name (`google`).
    pub fn id_of(&self, name: &str) -> Option<ProviderId> {
        self.infos
            .iter()
            .position(|i| i.id == name)
            .and_then(|i| ProviderId::try_from(i).ok())
    }

    /// Every provider name, in table order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.infos.iter().map(|i| i.id.as_str())
    }

    /// Number of providers, `local` and `other` included.
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    /// Always false: the map holds at least `local` and `other`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// A delivery's provider as every count of it is made: a next hop on a
    /// loopback address at a filter's port (`relay=amavis[127.0.0.1]:10024`)
    /// is a hand-off whatever its name, else [`ProviderMap::classify`].
    /// `domain` and `relay` must already be lowercase.
    #[inline]
    pub fn of_delivery(
        &self,
        d: &crate::event::Delivery<'_>,
        domain: &[u8],
        relay: &[u8],
    ) -> ProviderId {
        if d.loopback {
            self.handoff
        } else {
            self.classify(domain, relay, d.local)
        }
    }

    /// Classifies one delivery. `domain` and `relay` must already be lowercase.
    #[inline]
    pub fn classify(&self, domain: &[u8], relay: &[u8], local: bool) -> ProviderId {
        if local {
            return self.local;
        }
        if !relay.is_empty()
            && let Some(id) = suffix_lookup(&self.hosts, relay)
        {
            return id;
        }
        // Named by a loopback name (`127.0.0.1`, `localhost`): a hand-off.
        if crate::parse::postfix::is_loopback(relay) {
            return self.handoff;
        }
        if let Some(id) = self.domains.get(domain) {
            return *id;
        }
        if !self.domain_suffixes.is_empty()
            && let Some(id) = suffix_lookup(&self.domain_suffixes, domain)
        {
            return id;
        }
        self.other
    }
}

/// Looks `name` and each parent domain of it up in `table`.
#[inline]
fn suffix_lookup(
    table: &HashMap<Box<[u8]>, ProviderId, crate::hashing::Seeded>,
    name: &[u8],
) -> Option<ProviderId> {
    let name = name.strip_suffix(b".").unwrap_or(name);
    let mut rest = name;
    loop {
        if let Some(id) = table.get(rest) {
            return Some(*id);
        }
        let dot = memchr::memchr(b'.', rest)?;
        rest = &rest[dot + 1..];
        // A bare TLD never identifies a provider.
        memchr::memchr(b'.', rest)?;
    }
}

/// The domain part of an address, `""` when there is none.
#[inline]
pub fn domain_of(address: &[u8]) -> &[u8] {
    match memchr::memrchr(b'@', address) {
        Some(at) => &address[at + 1..],
        None => b"",
    }
}

/// Lowercases ASCII into `out` (cleared first); other bytes are kept as they are.
#[inline]
pub fn lowercase_into(s: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(s.iter().map(u8::to_ascii_lowercase));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(map: &ProviderMap, domain: &str, relay: &str) -> String {
        map.info(map.classify(domain.as_bytes(), relay.as_bytes(), false))
            .id
            .clone()
    }

    #[test]
    fn by_domain() {
        let m = ProviderMap::builtin();
        assert_eq!(id(&m, "gmail.com", ""), "google");
        assert_eq!(id(&m, "hotmail.co.uk", ""), "microsoft");
        assert_eq!(id(&m, "aol.com", ""), "yahoo");
        assert_eq!(id(&m, "me.com", ""), "apple");
        assert_eq!(id(&m, "contoso.onmicrosoft.com", ""), "microsoft");
        assert_eq!(id(&m, "nc.rr.com", ""), "charter");
        assert_eq!(id(&m, "example.com", ""), "other");
        assert_eq!(id(&m, "", ""), "other");
    }

    #[test]
    fn by_relay_host_first() {
        let m = ProviderMap::builtin();
        assert_eq!(id(&m, "example-corp.com", "aspmx.l.google.com"), "google");
        assert_eq!(
            id(&m, "example-corp.com", "alt2.aspmx.l.google.com"),
            "google"
        );
        assert_eq!(
            id(&m, "contoso.com", "contoso-com.mail.protection.outlook.com"),
            "microsoft"
        );
        assert_eq!(id(&m, "x.com", "x-com.a1b2c3.mx.microsoft"), "microsoft");
        assert_eq!(id(&m, "aol.com", "mx-aol.mail.gm0.yahoodns.net"), "yahoo");
        assert_eq!(
            id(&m, "bank.example", "mx0a-001.pphosted.com"),
            "proofpoint"
        );
        assert_eq!(
            id(&m, "x.example", "us-smtp-inbound-1.mimecast.com"),
            "mimecast"
        );
        assert_eq!(id(&m, "gmail.com", "mx.unrelated.example"), "google");
        // Only whole labels match.
        assert_eq!(id(&m, "x.example", "notgoogle.com"), "other");
        assert_eq!(id(&m, "x.example", "com"), "other");
    }

    #[test]
    fn local_wins() {
        let m = ProviderMap::builtin();
        assert_eq!(m.info(m.classify(b"gmail.com", b"", true)).id, "local");
    }

    #[test]
    fn ids_are_unique_and_lowercase() {
        let m = ProviderMap::builtin();
        let mut seen = std::collections::HashSet::new();
        for i in 0..m.len() {
            let info = m.info(i as ProviderId);
            assert!(seen.insert(info.id.clone()), "duplicate {}", info.id);
            assert_eq!(info.id, info.id.to_lowercase());
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(domain_of(b"a@b.example"), b"b.example");
        assert_eq!(domain_of(b"\"a@x\"@b.example"), b"b.example");
        assert_eq!(domain_of(b"root"), b"");
        let mut out = Vec::new();
        lowercase_into(b"Gmail.COM", &mut out);
        assert_eq!(out, b"gmail.com");
    }
}
