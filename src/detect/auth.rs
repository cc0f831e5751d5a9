//! Causes on our own side: password guessing against SMTP AUTH, and an
//! account whose mail looks stolen. Both read [`LoginFacts`] (built from
//! the scan's authentication tables) and the who-evidence of the failures.
//!
//! Brute force: a client with many failed logins, or one that tried many
//! user names (a spray). Failures the server caused (a dead dovecot: every
//! login fails, whoever tries) are no attack: they get their own finding.
//!
//! Compromised account: a SASL user whose busiest hour is far above its own
//! median hour, together with at least one other sign — many networks in
//! that hour, a failure rate well above everyone else's, or many recipient
//! domains it never wrote to before. A burst alone is a newsletter.

use super::{Count, Finding, Severity, Thresholds, median, merge_counts, percent, ratio};
use crate::time::zone::Zone;
use serde::Serialize;
use std::collections::BTreeMap;

/// What the scan knows of logins, as plain data.
#[derive(Clone, Debug, Default)]
pub struct LoginFacts {
    /// Failed logins per client, most first.
    pub failures: Vec<ClientFailures>,
    /// Successful logins per client (`name[ip]`): (count, first, last, users).
    pub logins: BTreeMap<String, (u64, i64, i64, Vec<String>)>,
    /// Each SASL user's mail.
    pub users: Vec<UserMail>,
    /// Failures the server caused: (count, first, last, clients, a reason).
    pub server: (u64, i64, i64, usize, String),
}

/// A client's failed logins.
#[derive(Clone, Debug, Default)]
pub struct ClientFailures {
    /// `name[ip]`.
    pub client: String,
    /// Failures.
    pub count: u64,
    /// First and last (UTC seconds).
    pub first: i64,
    /// Last.
    pub last: i64,
    /// User names tried (the first few).
    pub users: Vec<String>,
    /// More names than those were tried.
    pub more_users: bool,
    /// Failures per UTC hour.
    pub hours: BTreeMap<i64, u64>,
}

/// One SASL user's mail.
#[derive(Clone, Debug, Default)]
pub struct UserMail {
    /// The user.
    pub user: String,
    /// Messages, first, last.
    pub messages: u64,
    /// First message (UTC seconds).
    pub first: i64,
    /// Last message.
    pub last: i64,
    /// Per UTC hour: messages, distinct networks, the first message.
    pub hours: BTreeMap<i64, (u64, usize, i64)>,
    /// Clients it submitted from (the first few) and whether there were more.
    pub clients: Vec<String>,
    /// Networks it submitted from.
    pub networks: Vec<String>,
    /// Each recipient domain's first attempt.
    pub domain_firsts: Vec<i64>,
    /// Each network's first message.
    pub network_firsts: Vec<i64>,
    /// Its messages still in the queue: (host, queue id).
    pub queued: Vec<(String, String)>,
    /// More queued than listed.
    pub more_queued: bool,
}

/// The evidence of an authentication finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoginEvidence {
    /// Clients behind it, most failures first (brute force), or the clients
    /// the account was used from (compromised account).
    pub clients: Vec<ClientEvidence>,
    /// User names tried most (brute force) or the account (compromised).
    pub users: Vec<Count>,
    /// Compromised account: its messages in the burst, its median per hour
    /// before, the networks in its busiest hour, its failure rate and
    /// everyone else's, the recipient domains new in the burst.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountEvidence>,
    /// Commands that remove the account's queued mail.
    pub purge: Vec<String>,
}

/// One client in an authentication finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClientEvidence {
    /// `name[ip]`.
    pub client: String,
    /// Failed logins.
    pub failures: u64,
    /// Distinct user names tried (the first 32 are counted) …
    pub users_tried: usize,
    /// … and more were tried.
    pub more_users: bool,
    /// First and last failure.
    pub first: String,
    /// Last.
    pub last: String,
    /// It logged in successfully after failing: the users, if named.
    pub later_login: Option<Vec<String>>,
}

/// A compromised account's numbers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccountEvidence {
    /// Messages in its busiest hour.
    pub peak_hour_messages: u64,
    /// Its median messages per active hour.
    pub median_per_hour: f64,
    /// Messages in the burst (the hours well above the median).
    pub burst_messages: u64,
    /// Networks it submitted from in its busiest hour.
    pub peak_hour_networks: usize,
    /// Networks overall.
    pub networks: Vec<String>,
    /// Its failed attempts / its attempts.
    pub failure_rate: f64,
    /// Everyone else's.
    pub others_failure_rate: f64,
    /// Recipient domains first written to in the burst.
    pub new_domains: usize,
    /// Recipient domains in all.
    pub domains: usize,
}

/// A finding of this module: about the logins to this server, not one
/// provider.
fn finding(rule: &'static str, severity: Severity, count: u64) -> Finding {
    Finding {
        your_side: Some("the logins to this server".into()),
        ..Finding::blank(rule, rule, severity, "all", count)
    }
}

/// A client that failed and later logged in (the users, if named).
fn later_login(f: &LoginFacts, c: &ClientFailures) -> Option<Vec<String>> {
    let (_, _, last, users) = f.logins.get(&c.client)?;
    (*last >= c.first).then(|| users.clone())
}

/// Brute force and sprays; the server's own failures apart.
pub fn brute_force(f: &LoginFacts, t: &Thresholds, zone: Zone) -> Vec<Finding> {
    let mut out = Vec::new();
    let attackers: Vec<&ClientFailures> = f
        .failures
        .iter()
        .filter(|c| {
            c.count >= t.auth_failures
                || c.users.len() >= t.auth_users
                // Credential stuffing: a few tries at several accounts,
                // then a login: few failures, but the worst kind.
                || (c.count >= 3 && c.users.len() >= 2 && later_login(f, c).is_some())
        })
        .collect();
    if !attackers.is_empty() {
        let count: u64 = attackers.iter().map(|c| c.count).sum();
        let first = attackers.iter().map(|c| c.first).min().unwrap_or(0);
        let last = attackers.iter().map(|c| c.last).max().unwrap_or(0);
        let breached: Vec<(&ClientFailures, Vec<String>)> = attackers
            .iter()
            .filter_map(|c| later_login(f, c).map(|u| (*c, u)))
            .collect();
        let clients: Vec<ClientEvidence> = attackers
            .iter()
            .take(10)
            .map(|c| ClientEvidence {
                client: c.client.clone(),
                failures: c.count,
                users_tried: c.users.len(),
                more_users: c.more_users,
                first: zone.format_minute(c.first),
                last: zone.format_minute(c.last),
                later_login: later_login(f, c),
            })
            .collect();
        // How many of these clients tried each name.
        let tried: Vec<Vec<Count>> = attackers
            .iter()
            .map(|c| {
                c.users
                    .iter()
                    .map(|u| Count {
                        name: u.clone(),
                        count: 1,
                    })
                    .collect()
            })
            .collect();
        let mut users = merge_counts(tried.iter());
        users.truncate(10);
        let spray = attackers.iter().any(|c| c.users.len() >= t.auth_users);
        let peak = attackers[0]
            .hours
            .iter()
            .max_by_key(|(h, n)| (**n, std::cmp::Reverse(**h)))
            .map(|(h, n)| format!("; busiest hour {} with {n}", zone.format_minute(h * 3600)))
            .unwrap_or_default();
        let names: Vec<String> = attackers
            .iter()
            .take(3)
            .map(|c| {
                format!(
                    "{} ({} failures, {}{} names)",
                    c.client,
                    c.count,
                    c.users.len(),
                    if c.more_users { "+" } else { "" }
                )
            })
            .collect();
        let mut summary = format!(
            "{count} failed logins by {} client(s) from {} to {}: {}{}{peak}",
            attackers.len(),
            zone.format_minute(first),
            crate::time::zone::range_end(&zone.format_minute(first), &zone.format_minute(last)),
            names.join(", "),
            if spray {
                "; a spray over many user names"
            } else {
                ""
            },
        );
        let mut action = "Block these addresses at the firewall and let fail2ban do it from \
                          now on (jail postfix-sasl or exim); limit AUTH attempts per client \
                          (Postfix: smtpd_client_auth_rate_limit; Exim: a ratelimit in \
                          acl_smtp_auth) and keep AUTH off port 25 (postscreen and \
                          smtpd_sasl_auth_enable=no there)."
            .to_string();
        let severity = if breached.is_empty() {
            Severity::Warning
        } else {
            let who: Vec<String> = breached
                .iter()
                .map(|(c, u)| {
                    if u.is_empty() {
                        c.client.clone()
                    } else {
                        format!("{} as {}", c.client, u.join(", "))
                    }
                })
                .collect();
            summary.push_str(&format!(
                "; then logged in successfully: {} — a password is known to them",
                who.join("; ")
            ));
            let mut users: Vec<&str> = breached
                .iter()
                .flat_map(|(_, u)| u.iter().map(String::as_str))
                .collect();
            users.sort_unstable();
            users.dedup();
            action = format!(
                "Treat {} as compromised: lock the account(s) and reset the password(s) now. \
                 Then: {action}",
                if users.is_empty() {
                    "the accounts those clients used".to_string()
                } else {
                    users.join(", ")
                }
            );
            Severity::Critical
        };
        let mut x = finding("brute_force", severity, count);
        x.since = zone.format_minute(first);
        x.until = zone.format_minute(last);
        x.summary = summary;
        x.action = action;
        x.logins = Some(LoginEvidence {
            clients,
            users,
            account: None,
            purge: Vec::new(),
        });
        out.push(x);
    }
    let (n, first, last, clients, reason) = &f.server;
    if *n >= t.min_count.min(5) {
        let mut x = finding("auth_backend", Severity::Warning, *n);
        x.since = zone.format_minute(*first);
        x.until = zone.format_minute(*last);
        x.summary = format!(
            "{n} logins failed on the server's side (\"{}\") for {clients} client(s), from {} \
             to {}: your authentication backend, not an attack",
            crate::escape::terminal(reason),
            x.since,
            crate::time::zone::range_end(&x.since, &x.until)
        );
        x.action = "Check the authentication service (dovecot auth, saslauthd, the password \
                    database): its log at these times, its socket permissions and limits; \
                    every user failed to send meanwhile."
            .into();
        out.push(x);
    }
    out
}

/// Accounts whose mail looks stolen. `rates`: per user, (failed, attempts).
pub fn compromised(
    f: &LoginFacts,
    rates: &BTreeMap<String, (u64, u64)>,
    t: &Thresholds,
    zone: Zone,
) -> Vec<Finding> {
    let (all_failed, all_attempts) = rates.values().fold((0, 0), |(a, b), (x, y)| (a + x, b + y));
    let mut out = Vec::new();
    for u in &f.users {
        let Some((&peak_hour, &(peak, peak_networks, _))) = u
            .hours
            .iter()
            .max_by_key(|(h, (n, _, _))| (*n, std::cmp::Reverse(**h)))
        else {
            continue;
        };
        let typical = median(u.hours.values().map(|(n, _, _)| *n).collect());
        let bar = (t.burst_factor * typical.max(1.0)).max(t.burst_messages as f64);
        if (peak as f64) < bar {
            continue;
        }
        // The burst: the hours above the bar, around the peak.
        let burst: Vec<i64> = u
            .hours
            .iter()
            .filter(|(_, (n, _, _))| (*n as f64) >= bar / 2.0)
            .map(|(h, _)| *h)
            .collect();
        // Its first message in the burst's first hour: the onset.
        let first_hour = burst.first().copied().unwrap_or(peak_hour);
        let hour_first = u.hours.get(&first_hour).map_or(first_hour * 3600, |x| x.2);
        // A network it never used before, first seen in the burst, dates
        // the theft more closely than the hour does.
        let start = u
            .network_firsts
            .iter()
            .copied()
            .filter(|&n| n >= first_hour * 3600 && n > u.first)
            .min()
            .map_or(hour_first, |n| n.max(hour_first));
        let end = (burst.last().copied().unwrap_or(peak_hour) + 1) * 3600;
        let burst_messages: u64 = burst
            .iter()
            .filter_map(|h| u.hours.get(h))
            .map(|(n, _, _)| n)
            .sum();
        let (failed, attempts) = rates.get(&u.user).copied().unwrap_or((0, 0));
        let rate = ratio(failed, attempts);
        let others = ratio(all_failed - failed, all_attempts - attempts);
        let new_domains = u
            .domain_firsts
            .iter()
            .filter(|&&d| d >= start && d < end)
            .count();
        let mut signs = Vec::new();
        if peak_networks >= t.burst_networks {
            signs.push(format!("from {peak_networks} networks in one hour"));
        }
        if attempts >= t.min_count && rate >= 0.2 && rate >= 3.0 * others {
            signs.push(format!(
                "{} of its attempts failed against {} for everyone else",
                percent(rate),
                percent(others)
            ));
        }
        if new_domains >= 20 && new_domains * 2 >= u.domain_firsts.len() {
            signs.push(format!(
                "to {new_domains} recipient domains it never wrote to before"
            ));
        }
        if signs.is_empty() {
            continue;
        }
        // Clients it was used from that had tried other accounts first:
        // credential stuffing (a user's own mistyped password is not).
        let stuffed: Vec<&ClientFailures> = f
            .failures
            .iter()
            .filter(|c| u.clients.contains(&c.client) && c.users.len() >= 2)
            .collect();
        let severity = if signs.len() >= 2 || !stuffed.is_empty() {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let mut summary = format!(
            "{}: {burst_messages} messages from {} to {} ({peak} in its busiest hour against \
             a median of {typical:.0}), {}",
            u.user,
            zone.format_minute(start.max(u.first)),
            crate::time::zone::range_end(
                &zone.format_minute(start.max(u.first)),
                &zone.format_minute((end - 60).min(u.last))
            ),
            signs.join(", ")
        );
        if !stuffed.is_empty() {
            summary.push_str(&format!(
                "; {} failed logins came first from {}",
                stuffed.iter().map(|c| c.count).sum::<u64>(),
                stuffed
                    .iter()
                    .map(|c| c.client.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let purge = purge_commands(&u.queued);
        let queued = if u.queued.is_empty() {
            String::new()
        } else {
            format!(
                ", and remove its {}{} message(s) still queued (the {} command{} listed)",
                u.queued.len(),
                if u.more_queued { "+" } else { "" },
                if purge.iter().any(|p| p.contains("postsuper")) {
                    "postsuper -d"
                } else {
                    "exim -Mrm"
                },
                if purge.len() > 1 { "s" } else { "" }
            )
        };
        let mut x = finding("compromised_account", severity, burst_messages);
        x.since = zone.format_minute(start.max(u.first));
        x.until = zone.format_minute(end.min(u.last + 60) - 60);
        x.summary = summary;
        x.action = format!(
            "Lock {} and reset its password now, end its sessions (doveadm kick), \
             check how it was taken (the failed logins, a phishing reply){queued}; then ask \
             the blocking providers to delist once the mail has stopped.",
            u.user
        );
        x.logins = Some(LoginEvidence {
            clients: u
                .clients
                .iter()
                .map(|c| {
                    let fail = f.failures.iter().find(|x| &x.client == c);
                    ClientEvidence {
                        client: c.clone(),
                        failures: fail.map_or(0, |x| x.count),
                        users_tried: fail.map_or(0, |x| x.users.len()),
                        more_users: fail.is_some_and(|x| x.more_users),
                        first: fail.map_or_else(String::new, |x| zone.format_minute(x.first)),
                        last: fail.map_or_else(String::new, |x| zone.format_minute(x.last)),
                        later_login: None,
                    }
                })
                .collect(),
            users: vec![Count {
                name: u.user.clone(),
                count: u.messages,
            }],
            account: Some(AccountEvidence {
                peak_hour_messages: peak,
                median_per_hour: typical,
                burst_messages,
                peak_hour_networks: peak_networks,
                networks: u.networks.clone(),
                failure_rate: rate,
                others_failure_rate: others,
                new_domains,
                domains: u.domain_firsts.len(),
            }),
            purge,
        });
        out.push(x);
    }
    out
}

/// `postsuper -d` (Postfix) or `exim -Mrm` (Exim) for queued messages,
/// one command per host; ids are checked to be queue ids (they reach a
/// shell command line a postmaster may paste).
pub fn purge_commands(queued: &[(String, String)]) -> Vec<String> {
    let mut by_host: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (host, id) in queued {
        // Never an option: the first byte is a letter or digit.
        let safe = id.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if safe {
            by_host.entry(host.as_str()).or_default().push(id.as_str());
        }
    }
    by_host
        .into_iter()
        .map(|(host, ids)| {
            let cmd = if ids.iter().any(|i| i.contains('-')) {
                format!("exim -Mrm {}", ids.join(" "))
            } else {
                format!("printf '%s\\n' {} | postsuper -d -", ids.join(" "))
            };
            let host = crate::escape::terminal(host);
            if host.is_empty() {
                cmd
            } else {
                format!("{cmd}   # on {host}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_commands_only_carry_queue_ids() {
        let q = vec![
            ("mx1".to_string(), "4F52F6CD32".to_string()),
            ("mx1".to_string(), "$(rm -rf /)".to_string()),
            ("mx1".to_string(), "-bd".to_string()),
            ("mx1".to_string(), "8C352119D1".to_string()),
        ];
        assert_eq!(
            purge_commands(&q),
            vec!["printf '%s\\n' 4F52F6CD32 8C352119D1 | postsuper -d -   # on mx1".to_string()]
        );
        let e = vec![(String::new(), "1xV6qi-0004PA-2t".to_string())];
        assert_eq!(
            purge_commands(&e),
            vec!["exim -Mrm 1xV6qi-0004PA-2t".to_string()]
        );
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![3, 1, 2]), 2.0);
        assert_eq!(median(vec![4, 1, 2, 3]), 2.5);
        assert_eq!(median(vec![]), 0.0);
    }
}
