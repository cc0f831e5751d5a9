//! TLS findings: a provider that always had TLS reached in clear text (a
//! downgrade), a certificate that verified before and does not now, and
//! SASL logins over connections without TLS.
//!
//! The facts are plain data the model builds from the scan's TLS tables
//! ([`crate::aggregate::tls`]); hosts whose log says nothing of TLS (Postfix
//! `smtp_tls_loglevel = 0`, Exim without `tls_cipher`) are left out before
//! they get here: their deliveries are unknown, not clear.

use super::{Finding, Severity, Thresholds};
use crate::escape::terminal;
use crate::event::TlsLevel;
use crate::time::zone::Zone;
use std::collections::BTreeMap;

/// One host's deliveries to one provider, per hour.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Path {
    /// Syslog host (empty for an Exim mainlog).
    pub host: String,
    /// Provider id.
    pub provider: String,
    /// Bucket start ([`TlsFacts::bucket`]) → deliveries: clear,
    /// unverified, verified, encrypted (certificate not logged).
    pub buckets: BTreeMap<i64, [u64; 4]>,
    /// The last TLS line (or `X=`) of the host: its log still says TLS.
    pub host_last_tls: i64,
}

/// Deliveries to one recipient domain at one level and protocol.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Syslog host.
    pub host: String,
    /// Provider id.
    pub provider: String,
    /// Recipient domain (log text).
    pub domain: String,
    /// Level.
    pub level: TlsLevel,
    /// Protocol name (empty: none or not logged).
    pub protocol: &'static str,
    /// Deliveries.
    pub count: u64,
    /// First (UTC seconds).
    pub first: i64,
    /// Last.
    pub last: i64,
}

/// Clear-text deliveries to one domain through one relay.
#[derive(Clone, Debug, PartialEq)]
pub struct ClearRelay {
    /// Syslog host.
    pub host: String,
    /// Recipient domain.
    pub domain: String,
    /// The MX host (log text).
    pub relay: String,
    /// Deliveries.
    pub count: u64,
    /// First.
    pub first: i64,
    /// Last.
    pub last: i64,
}

/// Messages received from one client (and SASL user) at one level.
#[derive(Clone, Debug, PartialEq)]
pub struct InCell {
    /// Syslog host.
    pub host: String,
    /// `name[ip]` (log text).
    pub client: String,
    /// SASL user, empty when none.
    pub user: String,
    /// Level.
    pub level: TlsLevel,
    /// Protocol name.
    pub protocol: &'static str,
    /// Messages.
    pub count: u64,
    /// First.
    pub first: i64,
    /// Last.
    pub last: i64,
}

/// What the TLS findings read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TlsFacts {
    /// Per (host, provider), hosts that log TLS only.
    pub paths: Vec<Path>,
    /// Outbound cells (deliveries, status sent), every host; a host that
    /// logs no TLS has its clear cells as unknown.
    pub cells: Vec<Cell>,
    /// Which relays took clear text.
    pub clear_relays: Vec<ClearRelay>,
    /// Inbound cells, every host (same rule).
    pub inbound: Vec<InCell>,
    /// Distinct syslog hosts with deliveries.
    pub hosts: usize,
    /// Seconds per bucket of [`Path::buckets`].
    pub bucket: i64,
}

/// Provider id whose domains are judged one by one (no provider's MX in
/// common).
pub const OTHER: &str = "other";

/// A downgrade, a lost verification: which hosts and providers (or
/// domains) it is seen on, and its numbers.
struct Turn {
    host: String,
    provider: String,
    domain: Option<String>,
    before: u64,
    after: u64,
    good_after: u64,
    first: i64,
    last: i64,
}

/// The column of [`Path::hours`] a turn is about, and the good ones.
#[derive(Clone, Copy)]
enum Kind {
    /// Clear after TLS.
    Downgrade,
    /// Unverified after verified.
    Verification,
}

impl Kind {
    fn bad(self, h: &[u64; 4]) -> u64 {
        match self {
            Kind::Downgrade => h[0],
            Kind::Verification => h[1],
        }
    }

    fn good(self, h: &[u64; 4]) -> u64 {
        match self {
            Kind::Downgrade => h[1] + h[2] + h[3],
            Kind::Verification => h[2],
        }
    }

    fn is_bad(self, l: TlsLevel) -> bool {
        match self {
            Kind::Downgrade => l == TlsLevel::Clear,
            Kind::Verification => l.is_unverified(),
        }
    }

    fn is_good(self, l: TlsLevel) -> bool {
        match self {
            Kind::Downgrade => l.is_tls(),
            Kind::Verification => l.is_verified(),
        }
    }
}

/// Per (host, provider): every delivery good before the first bad one
/// (at least `tls_before` of them, in the buckets before its own: ten
/// minutes, wider on logs of over a month), at least
/// `tls_after` bad ones since, and the host's log still saying TLS after
/// it (a log level turned down is no downgrade). Per domain of the
/// providers mtastat does not know: all good ones before all bad ones.
fn turns(f: &TlsFacts, kind: Kind, t: &Thresholds) -> Vec<Turn> {
    let mut out = Vec::new();
    for p in f.paths.iter().filter(|p| p.provider != OTHER) {
        let cells = || {
            f.cells
                .iter()
                .filter(|c| c.host == p.host && c.provider == p.provider)
        };
        let Some(first) = cells()
            .filter(|c| kind.is_bad(c.level))
            .map(|c| c.first)
            .min()
        else {
            continue;
        };
        let last = cells()
            .filter(|c| kind.is_bad(c.level))
            .map(|c| c.last)
            .max()
            .unwrap_or(first);
        let onset = first - first.rem_euclid(f.bucket.max(1));
        let (mut before, mut after, mut good_after) = (0, 0, 0);
        for (&start, h) in &p.buckets {
            if start < onset {
                before += kind.good(h);
            } else {
                after += kind.bad(h);
                good_after += kind.good(h);
            }
        }
        let share = after as f64 / (after + good_after).max(1) as f64;
        if before >= t.tls_before
            && after >= t.tls_after
            && p.host_last_tls > first
            && (matches!(kind, Kind::Downgrade) || share >= t.tls_unverified_share)
        {
            out.push(Turn {
                host: p.host.clone(),
                provider: p.provider.clone(),
                domain: None,
                before,
                after,
                good_after,
                first,
                last,
            });
        }
    }
    // Unknown providers, domain by domain: every good delivery before
    // every bad one.
    // (count, first, last) of the good and the bad deliveries.
    type Spans = [(u64, i64, i64); 2];
    let mut domains: BTreeMap<(&str, &str), Spans> = BTreeMap::new();
    for c in f.cells.iter().filter(|c| c.provider == OTHER) {
        let slot = if kind.is_good(c.level) {
            0
        } else if kind.is_bad(c.level) {
            1
        } else {
            continue;
        };
        let e = domains
            .entry((&c.host, &c.domain))
            .or_insert([(0, i64::MAX, i64::MIN); 2]);
        e[slot].0 += c.count;
        e[slot].1 = e[slot].1.min(c.first);
        e[slot].2 = e[slot].2.max(c.last);
    }
    let logs_tls: BTreeMap<&str, i64> = f
        .paths
        .iter()
        .map(|p| (p.host.as_str(), p.host_last_tls))
        .collect();
    for ((host, domain), [good, bad]) in domains {
        if good.0 >= t.tls_before
            && bad.0 >= t.tls_after
            && good.2 < bad.1
            && logs_tls.get(host).is_some_and(|&l| l > bad.1)
        {
            out.push(Turn {
                host: host.to_string(),
                provider: OTHER.to_string(),
                domain: Some(domain.to_string()),
                before: good.0,
                after: bad.0,
                good_after: 0,
                first: bad.1,
                last: bad.2,
            });
        }
    }
    out
}

/// "on mx1" / "on mx1, mx2": when the input has several hosts.
fn hosts_part(f: &TlsFacts, turns: &[&Turn]) -> String {
    let mut hosts: Vec<&str> = turns.iter().map(|t| t.host.as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    if f.hosts <= 1 || hosts.iter().all(|h| h.is_empty()) {
        return String::new();
    }
    let only = if hosts.len() < f.hosts { " only" } else { "" };
    format!(
        "; on {}{only}",
        hosts
            .iter()
            .map(|h| terminal(h).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The findings of one kind, one per provider (or unknown domain).
fn findings(f: &TlsFacts, kind: Kind, t: &Thresholds, zone: Zone) -> Vec<Finding> {
    let all = turns(f, kind, t);
    let mut groups: BTreeMap<(String, Option<String>), Vec<&Turn>> = BTreeMap::new();
    for turn in &all {
        groups
            .entry((turn.provider.clone(), turn.domain.clone()))
            .or_default()
            .push(turn);
    }
    let mut out = Vec::new();
    for ((provider, domain), turns) in groups {
        let before: u64 = turns.iter().map(|t| t.before).sum();
        let after: u64 = turns.iter().map(|t| t.after).sum();
        let good_after: u64 = turns.iter().map(|t| t.good_after).sum();
        let first = turns.iter().map(|t| t.first).min().unwrap_or(0);
        let last = turns.iter().map(|t| t.last).max().unwrap_or(first);
        let share = after as f64 / (after + good_after).max(1) as f64;
        let on_host = |host: &str| turns.iter().any(|t| t.host == host);
        let in_scope = |c_provider: &str, c_domain: &str| {
            c_provider == provider && domain.as_deref().is_none_or(|d| d == c_domain)
        };
        // The domains it concerns, most bad deliveries first.
        let mut by_domain: BTreeMap<&str, u64> = BTreeMap::new();
        for c in f.cells.iter().filter(|c| {
            kind.is_bad(c.level) && on_host(&c.host) && in_scope(&c.provider, &c.domain)
        }) {
            *by_domain.entry(&c.domain).or_default() += c.count;
        }
        let mut domains: Vec<(&str, u64)> = by_domain.into_iter().collect();
        domains.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let domain_list = domains
            .iter()
            .take(5)
            .map(|(d, n)| format!("{} ({n})", terminal(d).into_owned()))
            .collect::<Vec<_>>()
            .join(", ");
        let name = match &domain {
            Some(d) => terminal(d).into_owned(),
            None => provider.clone(),
        };
        let since = zone.format_minute(first);
        let severity = if share >= 0.5 && after >= 10 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let pct = super::percent(share);
        let (rule, summary, action) = match kind {
            Kind::Downgrade => {
                let mut relays: BTreeMap<&str, u64> = BTreeMap::new();
                for r in f
                    .clear_relays
                    .iter()
                    .filter(|r| on_host(&r.host) && domains.iter().any(|(d, _)| *d == r.domain))
                {
                    *relays.entry(&r.relay).or_default() += r.count;
                }
                let mut relays: Vec<(&str, u64)> = relays.into_iter().collect();
                relays.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                let relays = relays
                    .iter()
                    .take(3)
                    .map(|(r, n)| format!("{} ({n})", terminal(r).into_owned()))
                    .collect::<Vec<_>>()
                    .join(", ");
                (
                    "tls_downgrade",
                    format!(
                        "{name}: {after} deliveries in clear text since {since} ({pct} of its \
                         deliveries since), after {before} over TLS and none in clear before; \
                         to {domain_list}; MX that took them: {relays}{}",
                        hosts_part(f, &turns)
                    ),
                    format!(
                        "Find out why {name}'s MX stopped offering STARTTLS to you: a firewall \
                         or proxy stripping it (\"SMTP inspection\"), DNS now pointing at \
                         another host, or a TLS handshake that fails and falls back to clear \
                         text (your MTA's TLS warnings around {since}). Where the receiver \
                         supports it, require TLS: Postfix smtp_tls_policy_maps with \
                         \"domain encrypt\" (or MTA-STS through postfix-mta-sts-resolver), \
                         Exim hosts_require_tls."
                    ),
                )
            }
            Kind::Verification => (
                "tls_verification_lost",
                format!(
                    "{name}: {after} deliveries over TLS whose certificate did not verify since \
                     {since} ({pct} of its deliveries since), after {before} verified and none \
                     unverified before; to {domain_list}{}",
                    hosts_part(f, &turns)
                ),
                format!(
                    "Check the certificate {name}'s MX presents now (posttls-finger -c -l \
                     secure DOMAIN, or openssl s_client -starttls smtp -connect MX:25): \
                     expired, the wrong name, an unknown CA, or someone in between. Under DANE \
                     or MTA-STS enforcement this mail would defer; your CA bundle \
                     (smtp_tls_CAfile, tls_verify_certificates) may also have changed around \
                     {since}."
                ),
            ),
        };
        let mut x = Finding::blank(rule, rule, severity, &provider, after);
        // The heading says where ([`Finding::place`]): a provider, or one
        // domain of the providers mtastat does not know.
        if let Some(d) = &domain {
            x.scope = format!("to {}", terminal(d));
        }
        x.since = since;
        x.until = zone.format_minute(last);
        x.attempts = after + good_after;
        x.share = share;
        x.summary = summary;
        x.action = action;
        x.your_side = None;
        out.push((first, x));
    }
    together(out, kind, t)
}

/// Minutes within which turns at several providers count as one event.
const TOGETHER: i64 = 30 * 60;

/// When the turn came at `global_providers` or more providers (or
/// domains) within half an hour, the cause is on this side — a firewall's
/// SMTP inspection stripping STARTTLS, an intercepting proxy, a CA bundle
/// changed — not at each receiver: every one of those findings says so.
fn together(found: Vec<(i64, Finding)>, kind: Kind, t: &Thresholds) -> Vec<Finding> {
    let mut onsets: Vec<i64> = found.iter().map(|(first, _)| *first).collect();
    onsets.sort_unstable();
    // The densest half hour of onsets.
    let (mut best, mut start) = (0, i64::MIN);
    for (i, &a) in onsets.iter().enumerate() {
        let n = onsets[i..]
            .iter()
            .take_while(|&&b| b - a <= TOGETHER)
            .count();
        if n > best {
            (best, start) = (n, a);
        }
    }
    if best < t.global_providers.max(2) {
        return found.into_iter().map(|(_, x)| x).collect();
    }
    let cause = match kind {
        Kind::Downgrade => {
            "something on your side strips STARTTLS (a firewall's SMTP inspection, a proxy \
             in the path) or your MTA stopped offering it"
        }
        Kind::Verification => {
            "your side changed: the CA bundle your MTA verifies with, or a proxy that \
             intercepts TLS"
        }
    };
    found
        .into_iter()
        .map(|(first, mut x)| {
            if (start..=start + TOGETHER).contains(&first) {
                let summary = x.summary.trim_end_matches('.').to_string();
                x.summary = format!(
                    "{summary}; it began at {best} destinations within half an hour: {cause}"
                );
                x.your_side = Some(format!(
                    "the same turn at {best} destinations within half an hour"
                ));
            }
            x
        })
        .collect()
}

/// Clear-text deliveries where the provider always had TLS before.
pub fn downgrades(f: &TlsFacts, t: &Thresholds, zone: Zone) -> Vec<Finding> {
    findings(f, Kind::Downgrade, t, zone)
}

/// Unverified certificates where they verified before.
pub fn verification_lost(f: &TlsFacts, t: &Thresholds, zone: Zone) -> Vec<Finding> {
    findings(f, Kind::Verification, t, zone)
}

/// SASL users whose mail came over connections without TLS: their
/// passwords crossed the network in clear text.
pub fn cleartext_auth(f: &TlsFacts, zone: Zone) -> Vec<Finding> {
    let clear: Vec<&InCell> = f
        .inbound
        .iter()
        .filter(|c| c.level == TlsLevel::Clear && !c.user.is_empty())
        .collect();
    if clear.is_empty() {
        return Vec::new();
    }
    let count: u64 = clear.iter().map(|c| c.count).sum();
    let first = clear.iter().map(|c| c.first).min().unwrap_or(0);
    let last = clear.iter().map(|c| c.last).max().unwrap_or(first);
    let mut users: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &clear {
        *users.entry(&c.user).or_default() += c.count;
    }
    let mut users: Vec<(&str, u64)> = users.into_iter().collect();
    users.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let named = users
        .iter()
        .take(5)
        .map(|(u, n)| format!("{} ({n})", terminal(u).into_owned()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut x = Finding::blank("cleartext_auth", "tls", Severity::Warning, "all", count);
    x.since = zone.format_minute(first);
    x.until = zone.format_minute(last);
    x.summary = format!(
        "{count} messages from {} SASL user(s) came over connections without TLS, so their \
         passwords crossed the network in clear text: {named}",
        users.len()
    );
    x.action = "Offer AUTH only after STARTTLS (Postfix smtpd_tls_auth_only = yes, or \
                smtpd_tls_security_level = encrypt on the submission service; Exim \
                auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}), move these clients \
                to port 587 with STARTTLS or 465, and change the passwords that were sent."
        .into();
    x.your_side = Some("your submission service".into());
    vec![x]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host and provider over TLS from 12:00, in clear from `clear_at`.
    fn path(f: &mut TlsFacts, provider: &str, clear_at: i64) {
        let mut buckets = BTreeMap::new();
        for b in (0..36).map(|k| 43_200 + k * 600) {
            let clear = b >= clear_at;
            buckets.insert(b, if clear { [10, 0, 0, 0] } else { [0, 0, 10, 0] });
        }
        f.paths.push(Path {
            host: "mx1".into(),
            provider: provider.into(),
            buckets,
            host_last_tls: 90_000,
        });
        for (level, first, last) in [
            (TlsLevel::Trusted, 43_200, clear_at - 1),
            (TlsLevel::Clear, clear_at, 64_000),
        ] {
            f.cells.push(Cell {
                host: "mx1".into(),
                provider: provider.into(),
                domain: format!("{provider}.example"),
                level,
                protocol: "",
                count: 100,
                first,
                last,
            });
        }
    }

    #[test]
    fn downgrades_at_once_everywhere_are_on_this_side() {
        let t = Thresholds::default();
        let zone = Zone::UTC;
        let mut f = TlsFacts {
            hosts: 1,
            bucket: 600,
            ..TlsFacts::default()
        };
        path(&mut f, "google", 50_400);
        let one = downgrades(&f, &t, zone);
        assert_eq!(one.len(), 1);
        assert!(one[0].your_side.is_none(), "{}", one[0].summary);
        // Three providers turning within the same half hour: this side.
        path(&mut f, "microsoft", 51_000);
        path(&mut f, "yahoo", 51_600);
        let all = downgrades(&f, &t, zone);
        assert_eq!(all.len(), 3);
        for x in &all {
            assert!(x.your_side.is_some(), "{}", x.summary);
            assert!(x.summary.contains("strips STARTTLS"), "{}", x.summary);
        }
        // … but not when hours apart.
        let mut apart = TlsFacts {
            hosts: 1,
            bucket: 600,
            ..TlsFacts::default()
        };
        path(&mut apart, "google", 46_800);
        path(&mut apart, "microsoft", 54_000);
        path(&mut apart, "yahoo", 61_200);
        assert!(
            downgrades(&apart, &t, zone)
                .iter()
                .all(|x| x.your_side.is_none())
        );
    }
}
