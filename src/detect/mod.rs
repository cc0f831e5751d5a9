//! Findings: the patterns a postmaster acts on, when they started, and why.
//!
//! The engine works on the polars frames (outcomes, timeline, reasons): every
//! count it uses comes from a lazy `group_by`; the rules then read those small
//! aggregates. For each provider × failure category it asks:
//!
//! * does it fire? at least `min_count` failures, and either `min_share` of
//!   the provider's attempts or a dominant share (`dominance`) of its failures;
//! * is it one provider's doing or everyone's? A category that fires at
//!   `global_providers` or more providers, and at half or more of those with
//!   traffic, is reported once for `all` (your infrastructure or your
//!   authentication, not one receiver's filter);
//! * when? the timeline gives the episodes (see [`timeline`]);
//! * who? codes, blocklists, sender domains, recipients, the top masked
//!   replies and sample queue ids are the evidence.
//!
//! Attempts the MTA logged without trying (Postfix "delivery temporarily
//! suspended", Exim "retry time not reached") repeat an earlier failure and
//! are left out of every count here.

pub mod auth;
pub mod rules;
pub mod timeline;
pub mod tls;

use crate::aggregate::distinct::{NAMED_RECIPIENTS, Reach, ReachOf};
use crate::aggregate::frame::{bools, i64s, strs, totals_by, u8s, u64s};
use crate::classify::category::{Blocklist, Category, Grading};
use crate::classify::providers::{HANDOFF_ID, LOCAL_ID};
use crate::time::zone::Zone;
use polars::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use timeline::{Episode, Grid, find_episodes};

/// How severe a finding is. Ordered: `Info < Warning < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Act soon.
    Warning,
    /// Act now.
    Critical,
}

impl Severity {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// The knobs of the rules. Defaults are documented in docs/findings.md; each can be
/// set in a config file (`--config`) or by a flag.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    /// A finding needs at least this many failures.
    pub min_count: u64,
    /// … and this share of the provider's attempts,
    pub min_share: f64,
    /// … or this share of the provider's failures (the category dominates).
    pub dominance: f64,
    /// Share of attempts (overall or during an episode) for a warning.
    pub warning_share: f64,
    /// Share of attempts (overall or during an episode) for a critical finding.
    pub critical_share: f64,
    /// Hard-bounce rate guideline for list hygiene (Gmail/Yahoo bulk-sender rules: 2 %).
    pub bounce_guideline: f64,
    /// A category firing at this many providers or more (and at half of
    /// those with traffic) is global.
    pub global_providers: usize,
    /// An episode bucket's failure rate is at least this multiple of the baseline.
    pub episode_factor: f64,
    /// A critical finding concerns at least this many distinct messages or
    /// recipients (fewer: at most a warning, the recipients named).
    pub critical_messages: u64,
    /// A client with this many failed logins is guessing passwords …
    pub auth_failures: u64,
    /// … or one that tried this many user names (a spray).
    pub auth_users: usize,
    /// A SASL user's busiest hour at this multiple of its median hour …
    pub burst_factor: f64,
    /// … and at least this many messages, is a burst.
    pub burst_messages: u64,
    /// Networks in one hour that make a burst look stolen.
    pub burst_networks: usize,
    /// Deliveries over TLS (or verified) before a provider's first clear
    /// (or unverified) one, for a downgrade (or lost verification) …
    pub tls_before: u64,
    /// … and at least this many clear (or unverified) ones since;
    pub tls_after: u64,
    /// … unverified ones make at least this share of the deliveries since
    /// (one MX host of several with a bad certificate is a note in the
    /// TLS table, not a lost verification).
    pub tls_unverified_share: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_count: 10,
            min_share: 0.02,
            dominance: 0.5,
            warning_share: 0.05,
            critical_share: 0.25,
            bounce_guideline: 0.02,
            global_providers: 3,
            episode_factor: 2.0,
            critical_messages: 5,
            auth_failures: 20,
            auth_users: 10,
            burst_factor: 5.0,
            burst_messages: 50,
            burst_networks: 3,
            tls_before: 20,
            tls_after: 3,
            tls_unverified_share: 0.25,
        }
    }
}

impl Thresholds {
    /// Applies `key = value` lines (a TOML subset: `#` comments, blank lines,
    /// numbers; shares may be written `0.05` or `5%`).
    pub fn apply_config(&mut self, text: &str) -> Result<(), String> {
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or_default().trim();
            if line.is_empty() || (line.starts_with('[') && line.ends_with(']')) {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!("line {}: expected key = value", n + 1));
            };
            let value = value.trim().trim_matches('"');
            self.set(key.trim(), value)
                .map_err(|e| format!("line {}: {e}", n + 1))?;
        }
        Ok(())
    }

    /// Sets one threshold by its name (the config-file key).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let share = |v: &str| -> Result<f64, String> {
            let (num, pct) = match v.strip_suffix('%') {
                Some(n) => (n.trim(), true),
                None => (v, false),
            };
            let x: f64 = num
                .parse()
                .map_err(|_| format!("{key}: not a number: {v:?}"))?;
            let x = if pct { x / 100.0 } else { x };
            if !(0.0..=1.0).contains(&x) {
                return Err(format!(
                    "{key}: {v:?} is not a share: give a number from 0 to 1 (or 0% to 100%)"
                ));
            }
            Ok(x)
        };
        let count = |v: &str| -> Result<u64, String> {
            v.parse()
                .map_err(|_| format!("{key}: not a whole number: {v:?}"))
        };
        match key {
            "min_count" => self.min_count = count(value)?,
            "critical_messages" => self.critical_messages = count(value)?,
            "auth_failures" => self.auth_failures = count(value)?,
            "burst_messages" => self.burst_messages = count(value)?,
            "tls_before" => self.tls_before = count(value)?,
            "tls_after" => self.tls_after = count(value)?.max(1),
            "auth_users" => self.auth_users = usize::try_from(count(value)?).unwrap_or(usize::MAX),
            "burst_networks" => {
                self.burst_networks = usize::try_from(count(value)?).unwrap_or(usize::MAX)
            }
            "burst_factor" => {
                self.burst_factor = value
                    .parse()
                    .ok()
                    .filter(|x: &f64| *x >= 1.0)
                    .ok_or_else(|| format!("{key}: a factor of at least 1 is needed"))?
            }
            "min_share" => self.min_share = share(value)?,
            "dominance" => self.dominance = share(value)?,
            "warning_share" => self.warning_share = share(value)?,
            "critical_share" => self.critical_share = share(value)?,
            "tls_unverified_share" => self.tls_unverified_share = share(value)?,
            "bounce_guideline" => self.bounce_guideline = share(value)?,
            "global_providers" => {
                self.global_providers = usize::try_from(count(value)?).unwrap_or(usize::MAX)
            }
            "episode_factor" => {
                self.episode_factor = value
                    .parse()
                    .ok()
                    .filter(|x: &f64| *x >= 1.0)
                    .ok_or_else(|| format!("{key}: a factor of at least 1 is needed"))?
            }
            _ => {
                return Err(format!(
                    "unknown setting {key:?} (known: min_count, min_share, dominance, \
                     warning_share, critical_share, bounce_guideline, global_providers, \
                     episode_factor, critical_messages, auth_failures, auth_users, \
                     burst_factor, burst_messages, burst_networks)"
                ));
            }
        }
        Ok(())
    }
}

/// A code and how often it occurred.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Count {
    /// The code, blocklist, sender domain …
    pub name: String,
    /// How often.
    pub count: u64,
}

/// A sender domain's part in a finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SenderShare {
    /// Sender domain (`<>` null sender, empty: sender line not in the input).
    pub domain: String,
    /// Failures of this finding from this sender.
    pub count: u64,
    /// Those failures / this sender's attempts at the provider.
    pub failure_rate: f64,
}

/// A submitter of a finding's failing mail: a SASL user, a client, or both.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SubmitterShare {
    /// The SASL user; empty when it did not authenticate.
    pub sasl_user: String,
    /// The client (`name[ip]`, `local`, `(other clients)`).
    pub client: String,
    /// Failures of this finding it submitted.
    pub count: u64,
    /// Those / the finding's failures.
    pub share_of_failures: f64,
    /// Those / its own attempts at the provider.
    pub failure_rate: f64,
}

impl SubmitterShare {
    /// `bob@x (laptop[198.51.100.7])`, `app[10.0.0.5]`.
    pub fn label(&self) -> String {
        match (self.sasl_user.is_empty(), self.client.is_empty()) {
            (false, false) => format!("{} ({})", self.sasl_user, self.client),
            (false, true) => self.sasl_user.clone(),
            _ => self.client.clone(),
        }
    }
}

/// A masked reply text in the evidence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplyEvidence {
    /// Masked reply.
    pub reason: String,
    /// Enhanced code (may be empty).
    pub dsn: String,
    /// How often.
    pub count: u64,
    /// First seen, UTC.
    pub first_seen: String,
    /// Last seen, UTC.
    pub last_seen: String,
    /// An Exim per-host error's reply (one MX's refusal), not a recipient's.
    pub per_host: bool,
}

/// Recipients of a hygiene or mailbox-full finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecipientEvidence {
    /// Distinct recipients.
    pub distinct: u64,
    /// Recipients that failed more than once.
    pub repeated: u64,
    /// The most frequent (up to 20), as logged.
    pub top: Vec<Count>,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// Rule name (`throttling`, `policy_block`, `authentication`, `network`,
    /// `list_hygiene`, `mailbox_full`, `greylisting`, `size_content`, `tls`,
    /// `remote_trouble`, `unclassified`, `expiry`, `brute_force`, `tls_downgrade`,
    /// `tls_verification_lost`, `cleartext_auth`,
    /// `compromised_account`, `auth_backend`).
    pub rule: &'static str,
    /// Failure category behind it.
    pub category: &'static str,
    /// info / warning / critical.
    pub severity: Severity,
    /// Provider id, or `all`.
    pub provider: String,
    /// "only at google", "at google, yahoo", "all providers (5 of 6 with traffic)".
    pub scope: String,
    /// Providers where the category fired (for `all`: each with its count).
    pub providers: Vec<Count>,
    /// Enhanced codes involved, most frequent first (`(none)` for code-less replies).
    pub codes: Vec<Count>,
    /// Blocklists named in the replies.
    pub blocklists: Vec<Count>,
    /// Failures (attempts of this category).
    pub count: u64,
    /// Distinct messages among those failures (a message retried ten times
    /// counts once).
    pub messages: u64,
    /// Distinct recipients among those failures.
    pub recipients: u64,
    /// True when `messages` or `recipients` is an estimate (past 512
    /// distinct, within a few percent).
    pub distinct_approximate: bool,
    /// messages / the provider's messages.
    pub message_share: f64,
    /// recipients / the provider's recipients.
    pub recipient_share: f64,
    /// The recipients by name, when there are at most three.
    pub named_recipients: Vec<String>,
    /// Exim per-host errors of this category: an MX's refusal logged before
    /// the next MX was tried. Evidence of the receiver's mood, not in
    /// `count` (Postfix logs none when a later MX accepts).
    pub mx_replies: u64,
    /// The provider's attempts (the denominator of `share`).
    pub attempts: u64,
    /// count / attempts.
    pub share: f64,
    /// count / the provider's failures.
    pub dominance: f64,
    /// True when `dominance` is at least the dominance threshold.
    pub dominant: bool,
    /// First minute of the main episode (or of the first failure, when steady), UTC.
    pub since: String,
    /// Last minute of the main episode (or of the last failure), UTC.
    pub until: String,
    /// True when the failure rate never departed from its baseline.
    pub steady: bool,
    /// Median failure rate per bucket.
    pub baseline_share: f64,
    /// Share of attempts during the main episode (or `share` when steady).
    pub peak_share: f64,
    /// Every episode found, in time order.
    pub episodes: Vec<Episode>,
    /// Sender domains involved, most failures first (up to 5).
    pub sender_domains: Vec<SenderShare>,
    /// True when up to three sender domains make up 90 % of the failures
    /// while sending under half of the provider's mail.
    pub senders_concentrated: bool,
    /// Who handed the failing mail over (SASL user, client), most
    /// failures first (up to 5; unknown origins left out).
    pub submitters: Vec<SubmitterShare>,
    /// True when up to three submitters make up 90 % of the failures while
    /// submitting under half of the provider's mail.
    pub submitters_concentrated: bool,
    /// Hard bounces of this category / attempts (list hygiene).
    pub bounce_rate: Option<f64>,
    /// Recipients and their failure counts (list hygiene, mailbox full).
    pub recipient_list: Option<RecipientEvidence>,
    /// Top masked reply texts.
    pub evidence: Vec<ReplyEvidence>,
    /// A few queue ids to grep for.
    pub sample_queue_ids: Vec<String>,
    /// A cross-provider finding (`provider` = `all`): each provider's own
    /// onset. Empty for a provider's finding.
    pub onsets: Vec<Onset>,
    /// A cross-provider finding's evidence that the cause is on the sending
    /// side (a blocklist several receivers name, a sender domain failing
    /// authentication at several, episodes that began together, timeouts at
    /// every provider alike); `None`: they only happened at the same time.
    pub your_side: Option<String>,
    /// The finding in one plain sentence.
    pub summary: String,
    /// What to do next, in one sentence.
    pub action: String,
    /// What the days stored with `--state` say of it (new here, usual
    /// here, rising); `None` without `--state`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Baseline>,
    /// Brute force and compromised accounts: the clients, users and
    /// numbers behind it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logins: Option<auth::LoginEvidence>,
    /// A report of many hosts (`--from-events`): the hosts where it fires
    /// on their own. Empty for one host's report.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

impl Finding {
    /// A finding with nothing but its rule, category, severity, provider
    /// and count: every list empty, every share 0, no history. Rules fill
    /// in what they know (`Finding { summary, ..Finding::blank(…) }`).
    pub fn blank(
        rule: &'static str,
        category: &'static str,
        severity: Severity,
        provider: &str,
        count: u64,
    ) -> Finding {
        Finding {
            rule,
            category,
            severity,
            provider: provider.to_string(),
            scope: String::new(),
            providers: Vec::new(),
            codes: Vec::new(),
            blocklists: Vec::new(),
            count,
            messages: 0,
            recipients: 0,
            distinct_approximate: false,
            message_share: 0.0,
            recipient_share: 0.0,
            named_recipients: Vec::new(),
            mx_replies: 0,
            attempts: 0,
            share: 0.0,
            dominance: 0.0,
            dominant: false,
            since: String::new(),
            until: String::new(),
            steady: false,
            baseline_share: 0.0,
            peak_share: 0.0,
            episodes: Vec::new(),
            sender_domains: Vec::new(),
            senders_concentrated: false,
            submitters: Vec::new(),
            submitters_concentrated: false,
            bounce_rate: None,
            recipient_list: None,
            evidence: Vec::new(),
            sample_queue_ids: Vec::new(),
            onsets: Vec::new(),
            your_side: None,
            summary: String::new(),
            action: String::new(),
            history: None,
            logins: None,
            hosts: Vec::new(),
        }
    }

    /// Where it is, for its heading: `at google`; for the login rules,
    /// what they are about (`for user07@x`, `against SMTP AUTH`).
    pub fn place(&self) -> String {
        match self.rule {
            "compromised_account" => match self.logins.as_ref().and_then(|l| l.users.first()) {
                Some(u) => format!("for {}", u.name),
                None => "for an account".into(),
            },
            "brute_force" => "against SMTP AUTH".into(),
            "cleartext_auth" => "on your submission service".into(),
            "tls_downgrade" | "tls_verification_lost" if !self.scope.is_empty() => {
                self.scope.clone()
            }
            "auth_backend" => "in the authentication backend".into(),
            _ => format!("at {}", self.provider),
        }
    }
}

/// A finding against this server's own stored days (`--state`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Baseline {
    /// `new` (not on any stored day), `usual` (on most stored days, at
    /// about today's level: its severity was lowered one step), `rising`
    /// (well above its median), `returning` (seen before, not lately), or
    /// `no history` (no stored day to compare with).
    pub verdict: &'static str,
    /// Stored days compared with (at most 30, before this run).
    pub days_observed: u32,
    /// Of those, days it occurred on.
    pub days_seen: u32,
    /// Its median count per day over the last 7 stored days.
    pub median_per_day: f64,
    /// This run's count per day.
    pub per_day_now: f64,
    /// The severity before the baseline lowered it (`usual` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity_before: Option<Severity>,
    /// In one sentence.
    pub said: String,
}

/// One provider's part in a cross-provider finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Onset {
    /// Provider id.
    pub provider: String,
    /// Its own finding's severity.
    pub severity: Severity,
    /// Its failures.
    pub count: u64,
    /// Its onset (`since` of its finding).
    pub since: String,
    /// The end of its main episode (or its last failure, when steady).
    pub until: String,
    /// True when its failures never departed from their baseline.
    pub steady: bool,
}

/// Evidence kept outside the frames (small per-key samples).
#[derive(Clone, Debug, Default)]
pub struct Samples {
    /// Logins, failed logins and each SASL user's mail.
    pub logins: auth::LoginFacts,
    /// The TLS posture's facts.
    pub tls: tls::TlsFacts,
    /// Queue ids per (provider, category).
    pub queue_ids: HashMap<(String, Category), Vec<String>>,
    /// Recipients and their failure counts per (provider, category), most first.
    pub recipients: HashMap<(String, Category), Vec<(String, u64)>>,
    /// Distinct messages and recipients per provider: attempted, failed by
    /// category, expired.
    pub reach: HashMap<(String, ReachOf), Reach>,
    /// Hand-offs by next hop (`127.0.0.1:10024`): attempts, failures; most
    /// failures first.
    pub handoff_hops: Vec<(String, u64, u64)>,
}

impl Samples {
    /// The union of some providers' reach of one kind.
    fn reach_of(&self, providers: &[String], of: ReachOf) -> Reach {
        let mut r = Reach::default();
        for p in providers {
            if let Some(mine) = self.reach.get(&(p.clone(), of)) {
                r.merge(mine);
            }
        }
        r
    }
}

/// How many distinct messages and recipients a finding concerns, and what
/// share of the provider's they are.
struct Affected {
    messages: u64,
    recipients: u64,
    /// Whether each count is an estimate.
    estimated: (bool, bool),
    /// Messages / the provider's messages.
    message_share: f64,
    /// Recipients / the provider's recipients.
    recipient_share: f64,
    /// The recipients by name, when there are at most [`NAMED_RECIPIENTS`].
    named: Vec<String>,
}

impl Affected {
    fn of(samples: &Samples, providers: &[String], of: ReachOf) -> Affected {
        let hit = samples.reach_of(providers, of);
        let all = samples.reach_of(providers, ReachOf::Attempts);
        let (messages, recipients) = (hit.messages.count(), hit.recipients.count());
        let named = if recipients as usize <= NAMED_RECIPIENTS {
            hit.named
                .iter()
                .map(|(_, n)| String::from_utf8_lossy(n).into_owned())
                .collect()
        } else {
            Vec::new()
        };
        Affected {
            messages,
            recipients,
            estimated: (!hit.messages.is_exact(), !hit.recipients.is_exact()),
            message_share: ratio(messages, all.messages.count()),
            recipient_share: ratio(recipients, all.recipients.count()),
            named,
        }
    }

    /// The share severity is decided on: of the provider's messages or of
    /// its recipients, whichever is larger.
    fn share(&self) -> f64 {
        self.message_share.max(self.recipient_share)
    }

    /// "of 3 messages to 1 recipient (bob@example.com)".
    fn phrase(&self) -> String {
        let plural = |n: u64, estimated: bool, one: &str, many: &str| match (n, estimated) {
            (1, false) => format!("1 {one}"),
            (_, false) => format!("{n} {many}"),
            (_, true) => format!("about {n} {many}"),
        };
        let mut out = format!(
            "{} to {}",
            plural(self.messages, self.estimated.0, "message", "messages"),
            plural(self.recipients, self.estimated.1, "recipient", "recipients")
        );
        if !self.named.is_empty() {
            out.push_str(&format!(" ({})", self.named.join(", ")));
        }
        out
    }

    /// Severity capped where the finding concerns only a few messages and
    /// recipients: a message retried sixty times is not an outbreak.
    fn cap(&self, s: Severity, t: &Thresholds) -> Severity {
        if self.messages.max(self.recipients) < t.critical_messages {
            s.min(Severity::Warning)
        } else {
            s
        }
    }
}

/// The frames the engine reads.
pub struct Frames<'a> {
    /// Outcomes frame (see `aggregate::frame::OUTCOME_COLUMNS`).
    pub outcomes: &'a DataFrame,
    /// Timeline frame.
    pub timeline: &'a DataFrame,
    /// Reasons frame.
    pub reasons: &'a DataFrame,
    /// Who frame: failures per provider × category × origin.
    pub who: &'a DataFrame,
    /// Summary frame (attempts per origin).
    pub summary: &'a DataFrame,
}

/// Rows of attempts the findings count: recipients' real attempts and
/// expiries (Exim's per-host errors are counted apart: [`mx_reply`]).
fn counted() -> Expr {
    col("attempted")
        .or(col("status").eq(lit("expired")))
        .and(col("per_host").not())
}

/// Rows of Exim per-host errors: one MX's refusal, logged before the next
/// MX is tried. The receiver's mood, not a recipient's outcome.
fn mx_reply() -> Expr {
    col("per_host")
}

fn is_failure() -> Expr {
    col("category").neq(lit(Category::Delivered as u8))
}

fn sum_where(cond: Expr, name: &str) -> Expr {
    col("count").filter(cond).sum().alias(name)
}

/// Per-provider attempts and failures.
struct ProviderTotals {
    attempts: u64,
    failures: u64,
}

/// Everything the rules read, aggregated once with polars.
struct Aggregates {
    totals: BTreeMap<String, ProviderTotals>,
    /// (provider, category) → (count, bounced, expired)
    cats: BTreeMap<(String, Category), (u64, u64, u64)>,
    /// (provider, category) → Exim per-host errors.
    mx_cats: BTreeMap<(String, Category), u64>,
    /// Codes of the per-host errors.
    mx_codes: HashMap<(String, Category), Vec<Count>>,
    /// (provider, category) → minute → per-host errors.
    tl_mx: HashMap<(String, Category), BTreeMap<i64, u64>>,
    codes: HashMap<(String, Category), Vec<Count>>,
    lists: HashMap<(String, Category), Vec<Count>>,
    senders: HashMap<(String, Category), Vec<Count>>,
    sender_attempts: HashMap<(String, String), u64>,
    /// (provider, category) → failures per origin (client NUL user).
    submitters: HashMap<(String, Category), Vec<Count>>,
    /// (provider, origin) → attempts.
    submitter_attempts: HashMap<(String, String), u64>,
    expired: BTreeMap<String, u64>,
    expired_cats: HashMap<String, Vec<Count>>,
    /// minute → provider → attempts
    tl_attempts: BTreeMap<i64, HashMap<String, u64>>,
    /// (provider, category) → minute → failures
    tl_fails: HashMap<(String, Category), BTreeMap<i64, u64>>,
    /// provider → minute → expiries
    tl_expired: HashMap<String, BTreeMap<i64, u64>>,
    grid: Option<Grid>,
    /// The zone the findings' times are written in.
    zone: Zone,
}

fn group(df: &DataFrame, filter: Expr, keys: &[&str], aggs: Vec<Expr>) -> PolarsResult<DataFrame> {
    df.clone()
        .lazy()
        .filter(filter)
        .group_by(keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
        .agg(aggs)
        .collect()
}

/// A frame's category column (`Category as u8`), typed again.
fn categories(df: &DataFrame, name: &str) -> PolarsResult<Vec<Category>> {
    Ok(u8s(df, name)?
        .into_iter()
        .map(|c| {
            Category::ALL
                .get(usize::from(c))
                .copied()
                .unwrap_or(Category::Other)
        })
        .collect())
}

/// Pushes `(key, name, count)` rows into per-key lists sorted by count.
fn collect_counts<K: std::hash::Hash + Eq>(
    rows: impl Iterator<Item = (K, String, u64)>,
) -> HashMap<K, Vec<Count>> {
    let mut out: HashMap<K, Vec<Count>> = HashMap::new();
    for (k, name, count) in rows {
        out.entry(k).or_default().push(Count { name, count });
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    }
    out
}

fn gather(f: &Frames<'_>) -> PolarsResult<Aggregates> {
    let o = f.outcomes;
    let failed = is_failure();
    let totals_df = group(
        o,
        counted(),
        &["provider"],
        vec![
            col("count").sum().alias("attempts"),
            sum_where(failed.clone(), "failures"),
        ],
    )?;
    let (tp, ta, tf) = (
        strs(&totals_df, "provider")?,
        u64s(&totals_df, "attempts")?,
        u64s(&totals_df, "failures")?,
    );
    let totals = (0..tp.len())
        .map(|i| {
            (
                tp[i].clone(),
                ProviderTotals {
                    attempts: ta[i],
                    failures: tf[i],
                },
            )
        })
        .collect();

    let cats_df = group(
        o,
        counted().and(failed.clone()),
        &["provider", "category"],
        vec![
            col("count").sum().alias("n"),
            sum_where(col("status").eq(lit("bounced")), "bounced"),
            sum_where(col("status").eq(lit("expired")), "expired"),
        ],
    )?;
    let (cp, cc, cn, cb, ce) = (
        strs(&cats_df, "provider")?,
        categories(&cats_df, "category")?,
        u64s(&cats_df, "n")?,
        u64s(&cats_df, "bounced")?,
        u64s(&cats_df, "expired")?,
    );
    let cats = (0..cp.len())
        .map(|i| ((cp[i].clone(), cc[i]), (cn[i], cb[i], ce[i])))
        .collect();

    let mx_df = totals_by(o, &["provider", "category"], Some(mx_reply()))?;
    let (mp, mc, mn) = (
        strs(&mx_df, "provider")?,
        categories(&mx_df, "category")?,
        u64s(&mx_df, "count")?,
    );
    let mx_cats = (0..mp.len())
        .map(|i| ((mp[i].clone(), mc[i]), mn[i]))
        .collect();

    let by_key =
        |extra: &str, filter: Expr| -> PolarsResult<HashMap<(String, Category), Vec<Count>>> {
            let df = totals_by(o, &["provider", "category", extra], Some(filter))?;
            let (p, c, x, n) = (
                strs(&df, "provider")?,
                categories(&df, "category")?,
                strs(&df, extra)?,
                u64s(&df, "count")?,
            );
            Ok(collect_counts((0..p.len()).map(|i| {
                let name = if x[i].is_empty() && extra == "dsn" {
                    "(none)".to_string()
                } else {
                    x[i].clone()
                };
                ((p[i].clone(), c[i]), name, n[i])
            })))
        };
    let recipients_failed = counted().and(failed.clone());
    let codes = by_key("dsn", recipients_failed.clone())?;
    let mx_codes = by_key("dsn", mx_reply())?;
    let lists = by_key(
        "blocklist",
        recipients_failed.clone().and(col("blocklist").neq(lit(""))),
    )?;
    let senders = by_key("sender_domain", recipients_failed)?;

    let sa = totals_by(o, &["provider", "sender_domain"], Some(counted()))?;
    let (sp, sd, sn) = (
        strs(&sa, "provider")?,
        strs(&sa, "sender_domain")?,
        u64s(&sa, "count")?,
    );
    let sender_attempts = (0..sp.len())
        .map(|i| ((sp[i].clone(), sd[i].clone()), sn[i]))
        .collect();

    let ex = totals_by(
        o,
        &["provider", "category"],
        Some(col("status").eq(lit("expired"))),
    )?;
    let (ep, ec, en) = (
        strs(&ex, "provider")?,
        categories(&ex, "category")?,
        u64s(&ex, "count")?,
    );
    let mut expired: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..ep.len() {
        *expired.entry(ep[i].clone()).or_default() += en[i];
    }
    let expired_cats =
        collect_counts((0..ep.len()).map(|i| (ep[i].clone(), ec[i].title().to_string(), en[i])));

    // Timeline: attempts per minute × provider, failures per minute × provider × category.
    let t = f.timeline;
    let ta_df = totals_by(t, &["minute", "provider"], Some(counted()))?;
    let (am, ap, an) = (
        i64s(&ta_df, "minute")?,
        strs(&ta_df, "provider")?,
        u64s(&ta_df, "count")?,
    );
    let mut tl_attempts: BTreeMap<i64, HashMap<String, u64>> = BTreeMap::new();
    for i in 0..am.len() {
        *tl_attempts
            .entry(am[i] / 60)
            .or_default()
            .entry(ap[i].clone())
            .or_default() += an[i];
    }
    let tf_df = totals_by(
        t,
        &["minute", "provider", "category", "status"],
        Some(counted().and(failed)),
    )?;
    let (fm, fp, fc, fs, fnn) = (
        i64s(&tf_df, "minute")?,
        strs(&tf_df, "provider")?,
        categories(&tf_df, "category")?,
        strs(&tf_df, "status")?,
        u64s(&tf_df, "count")?,
    );
    let mut tl_fails: HashMap<(String, Category), BTreeMap<i64, u64>> = HashMap::new();
    let mut tl_expired: HashMap<String, BTreeMap<i64, u64>> = HashMap::new();
    for i in 0..fm.len() {
        let minute = fm[i] / 60;
        *tl_fails
            .entry((fp[i].clone(), fc[i]))
            .or_default()
            .entry(minute)
            .or_default() += fnn[i];
        if fs[i] == "expired" {
            *tl_expired
                .entry(fp[i].clone())
                .or_default()
                .entry(minute)
                .or_default() += fnn[i];
        }
    }
    let tm_df = totals_by(t, &["minute", "provider", "category"], Some(mx_reply()))?;
    let (xm, xp, xc, xn) = (
        i64s(&tm_df, "minute")?,
        strs(&tm_df, "provider")?,
        categories(&tm_df, "category")?,
        u64s(&tm_df, "count")?,
    );
    let mut tl_mx: HashMap<(String, Category), BTreeMap<i64, u64>> = HashMap::new();
    for i in 0..xm.len() {
        *tl_mx
            .entry((xp[i].clone(), xc[i]))
            .or_default()
            .entry(xm[i] / 60)
            .or_default() += xn[i];
    }
    let grid = match (tl_attempts.keys().next(), tl_attempts.keys().next_back()) {
        (Some(a), Some(b)) => Some(Grid::covering_at_least(*a, *b, data_width(t)?)),
        _ => None,
    };
    // Who submitted the failures: origins as "client\0user".
    let w = f.who;
    let (wp, wc, wu, wh, wn) = (
        strs(w, "provider")?,
        categories(w, "category")?,
        strs(w, "sasl_user")?,
        strs(w, "client")?,
        u64s(w, "count")?,
    );
    // A SASL user is one submitter from however many clients (a stolen
    // password is used from many); a client without one is itself.
    let origin_key = |client: &str, user: &str| {
        if user.is_empty() {
            format!("{client}\0")
        } else {
            format!("\0{user}")
        }
    };
    let mut merged: HashMap<((String, Category), String), u64> = HashMap::new();
    for i in 0..wp.len() {
        *merged
            .entry(((wp[i].clone(), wc[i]), origin_key(&wh[i], &wu[i])))
            .or_insert(0) += wn[i];
    }
    let submitters = collect_counts(merged.into_iter().map(|((k, name), n)| (k, name, n)));
    let deliveries = col("status")
        .neq(lit(crate::event::Status::Deliverable.as_str()))
        .and(col("status").neq(lit(crate::event::Status::Undeliverable.as_str())));
    let sa = totals_by(
        f.summary,
        &["provider", "sasl_user", "client"],
        Some(deliveries),
    )?;
    let (sp, su, sh, sn) = (
        strs(&sa, "provider")?,
        strs(&sa, "sasl_user")?,
        strs(&sa, "client")?,
        u64s(&sa, "count")?,
    );
    let mut submitter_attempts: HashMap<(String, String), u64> = HashMap::new();
    for i in 0..sp.len() {
        *submitter_attempts
            .entry((sp[i].clone(), origin_key(&sh[i], &su[i])))
            .or_insert(0) += sn[i];
    }
    Ok(Aggregates {
        submitters,
        submitter_attempts,
        totals,
        cats,
        mx_cats,
        mx_codes,
        tl_mx,
        codes,
        lists,
        senders,
        sender_attempts,
        expired,
        expired_cats,
        tl_attempts,
        tl_fails,
        tl_expired,
        grid,
        zone: Zone::UTC,
    })
}

/// The width (minutes) the timeline frame's buckets were collected at.
pub fn data_width(timeline: &DataFrame) -> PolarsResult<i64> {
    Ok(i64s(timeline, "bucket_minutes")?
        .first()
        .copied()
        .unwrap_or(1)
        .max(1))
}

/// Puts per-minute counts of the given providers on the grid.
fn series<'m>(grid: &Grid, minutes: impl Iterator<Item = (&'m i64, u64)>) -> Vec<u64> {
    let mut v = vec![0u64; grid.len];
    for (m, n) in minutes {
        v[grid.index(*m)] += n;
    }
    v
}

fn attempts_series(a: &Aggregates, grid: &Grid, providers: &[String]) -> Vec<u64> {
    series(
        grid,
        a.tl_attempts.iter().map(|(m, by)| {
            (
                m,
                providers
                    .iter()
                    .map(|p| by.get(p).copied().unwrap_or(0))
                    .sum(),
            )
        }),
    )
}

/// When and how much: the episodes of a failure series.
#[derive(Clone)]
struct When {
    since: String,
    until: String,
    steady: bool,
    baseline: f64,
    peak_share: f64,
    episodes: Vec<Episode>,
}

fn when(
    grid: Option<&Grid>,
    attempts: &[u64],
    fails: &[u64],
    share: f64,
    chronic: bool,
    t: &Thresholds,
    zone: Zone,
) -> When {
    let Some(grid) = grid else {
        return When {
            since: String::new(),
            until: String::new(),
            steady: true,
            baseline: 0.0,
            peak_share: share,
            episodes: Vec::new(),
        };
    };
    let (fine, fine_attempts, fine_fails) = (grid, attempts, fails);
    let (coarse, attempts, fails) = timeline::coarsen(grid, attempts, fails);
    let (grid, attempts, fails) = (&coarse, attempts.as_slice(), fails.as_slice());
    let mut e = find_episodes(
        grid,
        attempts,
        fails,
        t.episode_factor,
        t.min_share,
        t.min_count.div_ceil(2),
        zone,
    );
    for run in &mut e.runs {
        let minute = timeline::refine_onset(
            fine,
            fine_attempts,
            fine_fails,
            (run.since / 60, run.until / 60),
            grid.width,
        );
        if minute != run.since / 60 {
            run.since = minute * 60;
            run.since_time = zone.format_minute(run.since);
        }
    }
    // A problem present in the typical bucket (baseline at critical level), or
    // one whose episodes hold under half of its failures, is chronic: it
    // started with the first failure, whatever peaks came later.
    let total: u64 = fails.iter().sum();
    let in_runs: u64 = e.runs.iter().map(|r| r.count).sum();
    let episodic = !chronic && e.baseline < t.critical_share && in_runs * 2 >= total;
    let main = e.runs.iter().max_by_key(|r| r.count).filter(|_| episodic);
    match main {
        Some(m) => When {
            since: m.since_time.clone(),
            until: m.until_time.clone(),
            steady: false,
            baseline: e.baseline,
            peak_share: m.share,
            episodes: e.runs.clone(),
        },
        None => {
            let (a, b) = e.span.unwrap_or((0, 0));
            When {
                since: zone.format_minute(a),
                until: zone.format_minute(b),
                steady: true,
                baseline: e.baseline,
                peak_share: share,
                episodes: e.runs,
            }
        }
    }
}

/// What every rule reads: the counts gathered from the frames, the reply
/// index, the samples the findings quote, and the thresholds.
struct Evidence<'a> {
    a: &'a Aggregates,
    reasons: &'a ReasonIndex,
    samples: &'a Samples,
    t: &'a Thresholds,
}

/// A rule: reads the evidence, says what it finds.
trait Rule {
    fn findings(&self, e: &Evidence<'_>) -> Vec<Finding>;
}

/// One finding per provider where a failure category fires (its own
/// episode and onset), and the finding several share, when they do.
struct CategoryRule;

impl Rule for CategoryRule {
    fn findings(&self, e: &Evidence<'_>) -> Vec<Finding> {
        let (a, samples, t) = (e.a, e.samples, e.t);
        let mut findings = Vec::new();
        // Which (provider, category) pairs fire.
        let mut fired: BTreeMap<Category, Vec<String>> = BTreeMap::new();
        let keys: std::collections::BTreeSet<&(String, Category)> =
            a.cats.keys().chain(a.mx_cats.keys()).collect();
        for key @ (p, c) in keys {
            let n = &a.cats.get(key).map_or(0, |x| x.0);
            let mx = a.mx_cats.get(key).copied().unwrap_or(0);
            let tot = a.totals.get(p).unwrap_or(&ProviderTotals {
                attempts: 0,
                failures: 0,
            });
            let share = ratio(*n, tot.attempts);
            let dominance = ratio(*n, tot.failures);
            // Authentication failures are deterministic (the same sender fails
            // every time), so half the usual count is already a pattern.
            let needed = if c.spec().deterministic {
                (t.min_count / 2).max(3)
            } else {
                t.min_count
            };
            // Exim's per-host errors fire on their own (a storm at Gmail's
            // first MX while the next ones accept), as MX replies.
            let mx_fires = mx >= needed && ratio(mx, tot.attempts + mx) >= t.min_share;
            let mut fires =
                (*n >= needed && (share >= t.min_share || dominance >= t.dominance)) || mx_fires;
            if c.spec().repeats_only {
                // Only repeated failures for the same recipients are a pattern.
                fires &= samples
                    .recipients
                    .get(&(p.clone(), *c))
                    .is_some_and(|r| r.iter().any(|(_, k)| *k > 1));
            }
            if fires {
                fired.entry(*c).or_default().push(p.clone());
            }
        }
        // Receivers only: local delivery and the hand-off to a content filter
        // are this server's own.
        let receiver = |p: &str| p != LOCAL_ID && p != HANDOFF_ID;
        let with_traffic: Vec<&String> = a
            .totals
            .iter()
            .filter(|(p, tot)| tot.attempts >= t.min_count && receiver(p))
            .map(|(p, _)| p)
            .collect();
        for (c, providers) in &fired {
            // Every provider with a problem gets its own finding, episode and
            // onset; what several share is an addition, never a replacement.
            let own: Vec<Finding> = providers
                .iter()
                .map(|p| category_finding(e, *c, std::slice::from_ref(p), providers))
                .collect();
            let receivers: Vec<Finding> = own
                .iter()
                .filter(|f| receiver(&f.provider))
                .cloned()
                .collect();
            if let Some(f) = correlation(e, *c, &receivers, with_traffic.len()) {
                findings.push(f);
            }
            findings.extend(own);
        }
        findings
    }
}

/// Messages that expired after repeated deferral, per provider.
struct ExpiryRule;

impl Rule for ExpiryRule {
    fn findings(&self, e: &Evidence<'_>) -> Vec<Finding> {
        e.a.expired
            .iter()
            .filter(|(_, n)| **n >= e.t.min_count)
            .map(|(p, n)| expiry_finding(e, p, *n))
            .collect()
    }
}

/// The rules, in the order their findings are listed before sorting.
/// Password guessing and stolen accounts ([`auth`]).
struct LoginRule;

impl Rule for LoginRule {
    fn findings(&self, e: &Evidence<'_>) -> Vec<Finding> {
        // Each SASL user's failed attempts and attempts, over all providers.
        let mut rates: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for c in e.a.submitters.values().flatten() {
            if let Some(user) = c.name.strip_prefix('\0') {
                rates.entry(user.to_string()).or_default().0 += c.count;
            }
        }
        for ((_, origin), n) in &e.a.submitter_attempts {
            if let Some(user) = origin.strip_prefix('\0') {
                rates.entry(user.to_string()).or_default().1 += n;
            } else {
                rates.entry(String::new()).or_default().1 += n;
            }
        }
        let mut out = auth::brute_force(&e.samples.logins, e.t, e.a.zone);
        out.extend(auth::compromised(&e.samples.logins, &rates, e.t, e.a.zone));
        out
    }
}

const RULES: [&dyn Rule; 4] = [&CategoryRule, &ExpiryRule, &LoginRule, &TlsRule];

/// Downgrades to clear text, lost certificate verification, passwords in
/// clear text ([`tls`]).
struct TlsRule;

impl Rule for TlsRule {
    fn findings(&self, e: &Evidence<'_>) -> Vec<Finding> {
        let f = &e.samples.tls;
        let mut out = tls::downgrades(f, e.t, e.a.zone);
        out.extend(tls::verification_lost(f, e.t, e.a.zone));
        out.extend(tls::cleartext_auth(f, e.a.zone));
        out
    }
}

/// Runs every rule over the frames.
///
/// Times in the findings (since, until, first and last seen) are written in
/// `zone`.
pub fn detect(
    frames: &Frames<'_>,
    samples: &Samples,
    t: &Thresholds,
    zone: Zone,
) -> PolarsResult<Vec<Finding>> {
    let mut a = gather(frames)?;
    a.zone = zone;
    let reasons = reason_index(frames.reasons)?;
    let e = Evidence {
        a: &a,
        reasons: &reasons,
        samples,
        t,
    };
    let mut findings: Vec<Finding> = RULES.iter().flat_map(|r| r.findings(&e)).collect();
    // Most severe first; at one severity the providers' own findings come
    // before what they have in common.
    findings.sort_by(|x, y| {
        y.severity
            .cmp(&x.severity)
            .then_with(|| x.onsets.is_empty().cmp(&y.onsets.is_empty()).reverse())
            .then_with(|| y.count.cmp(&x.count))
            .then_with(|| x.provider.cmp(&y.provider))
            .then_with(|| x.rule.cmp(y.rule))
    });
    Ok(findings)
}

fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

/// One reply of a [`ReasonIndex`].
struct IndexedReason {
    reason: String,
    dsn: String,
    status: String,
    tried: u64,
    first: i64,
    last: i64,
    per_host: bool,
}

/// Reasons grouped by (provider, category).
type ReasonIndex = HashMap<(String, Category), Vec<IndexedReason>>;

fn reason_index(df: &DataFrame) -> PolarsResult<ReasonIndex> {
    let (p, s, d, c, r, n, f, l) = (
        strs(df, "provider")?,
        strs(df, "status")?,
        strs(df, "dsn")?,
        categories(df, "category")?,
        strs(df, "reason")?,
        u64s(df, "tried")?,
        i64s(df, "first_seen")?,
        i64s(df, "last_seen")?,
    );
    let h = bools(df, "per_host")?;
    let mut out: ReasonIndex = HashMap::new();
    for i in 0..p.len() {
        // Only what was tried: the findings leave out repeated, untried deferrals.
        if n[i] == 0 {
            continue;
        }
        out.entry((p[i].clone(), c[i]))
            .or_default()
            .push(IndexedReason {
                reason: r[i].clone(),
                dsn: d[i].clone(),
                status: s[i].clone(),
                tried: n[i],
                first: f[i],
                last: l[i],
                per_host: h[i],
            });
    }
    Ok(out)
}

/// Top replies of some providers and one category; `status` limits to expiries.
fn top_replies(
    reasons: &ReasonIndex,
    providers: &[String],
    cats: &[Category],
    only_status: Option<&str>,
    n: usize,
    zone: Zone,
) -> Vec<ReplyEvidence> {
    // Merged by text: an expiry repeats its last deferral's text without a code.
    let mut merged: HashMap<(bool, &str), (&str, u64, i64, i64)> = HashMap::new();
    for p in providers {
        for c in cats {
            for r in reasons.get(&(p.clone(), *c)).into_iter().flatten() {
                if only_status.is_some_and(|want| want != r.status) {
                    continue;
                }
                let e =
                    merged
                        .entry((r.per_host, &r.reason))
                        .or_insert(("", 0, i64::MAX, i64::MIN));
                if e.0.is_empty() {
                    e.0 = &r.dsn;
                }
                e.1 += r.tried;
                e.2 = e.2.min(r.first);
                e.3 = e.3.max(r.last);
            }
        }
    }
    // The recipients' replies first, then the single MX hosts'.
    let mut v: Vec<_> = merged.into_iter().collect();
    v.sort_by(|a, b| {
        (a.0.0, std::cmp::Reverse(a.1.1), a.0.1).cmp(&(b.0.0, std::cmp::Reverse(b.1.1), b.0.1))
    });
    v.into_iter()
        .take(n)
        .map(|((per_host, reason), (dsn, count, f, l))| ReplyEvidence {
            reason: reason.to_string(),
            dsn: dsn.to_string(),
            count,
            first_seen: zone.format(f),
            last_seen: zone.format(l),
            per_host,
        })
        .collect()
}

fn merge_counts<'a>(lists: impl Iterator<Item = &'a Vec<Count>>) -> Vec<Count> {
    let mut m: HashMap<&str, u64> = HashMap::new();
    for l in lists {
        for c in l {
            *m.entry(&c.name).or_default() += c.count;
        }
    }
    let mut v: Vec<Count> = m
        .into_iter()
        .map(|(name, count)| Count {
            name: name.to_string(),
            count,
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    v
}

/// The median of some counts (0 for none).
pub fn median(mut v: Vec<u64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m] as f64
    } else {
        (v[m - 1] + v[m]) as f64 / 2.0
    }
}

fn percent(x: f64) -> String {
    if x >= 0.1 {
        format!("{:.0}%", x * 100.0)
    } else {
        format!("{:.1}%", x * 100.0)
    }
}

fn code_list(codes: &[Count], n: usize) -> String {
    codes
        .iter()
        .take(n)
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join("/")
}

fn category_finding(
    e: &Evidence<'_>,
    c: Category,
    scope_providers: &[String],
    fired_at: &[String],
) -> Finding {
    let (a, reasons, samples, t) = (e.a, e.reasons, e.samples, e.t);
    let scope_providers = scope_providers.to_vec();
    let provider: Option<&String> = match scope_providers.as_slice() {
        [one] => Some(one),
        _ => None,
    };
    let key = |p: &String| (p.clone(), c);
    let (mut count, mut bounced) = (0u64, 0u64);
    let (mut attempts, mut failures) = (0u64, 0u64);
    for p in &scope_providers {
        if let Some((n, b, _)) = a.cats.get(&key(p)) {
            count += n;
            bounced += b;
        }
        if let Some(tot) = a.totals.get(p) {
            attempts += tot.attempts;
            failures += tot.failures;
        }
    }
    let share = ratio(count, attempts);
    let dominance = ratio(count, failures);
    let mx_replies: u64 = scope_providers
        .iter()
        .filter_map(|p| a.mx_cats.get(&key(p)))
        .sum();
    // The codes of what is counted: the recipients' failures, or the MX
    // replies where no recipient failed.
    let code_source = if count > 0 { &a.codes } else { &a.mx_codes };
    let codes = merge_counts(
        scope_providers
            .iter()
            .filter_map(|p| code_source.get(&key(p))),
    );
    let blocklists = merge_counts(scope_providers.iter().filter_map(|p| a.lists.get(&key(p))));
    let sender_counts = merge_counts(
        scope_providers
            .iter()
            .filter_map(|p| a.senders.get(&key(p))),
    );
    let sender_total = |d: &str| -> u64 {
        scope_providers
            .iter()
            .map(|p| {
                a.sender_attempts
                    .get(&(p.clone(), d.to_string()))
                    .copied()
                    .unwrap_or(0)
            })
            .sum()
    };
    let sender_domains: Vec<SenderShare> = sender_counts
        .iter()
        .take(5)
        .map(|s| SenderShare {
            domain: s.name.clone(),
            count: s.count,
            failure_rate: ratio(s.count, sender_total(&s.name)),
        })
        .collect();
    let submitter_counts = merge_counts(
        scope_providers
            .iter()
            .filter_map(|p| a.submitters.get(&key(p))),
    );
    let submitter_total = |o: &str| -> u64 {
        scope_providers
            .iter()
            .map(|p| {
                a.submitter_attempts
                    .get(&(p.clone(), o.to_string()))
                    .copied()
                    .unwrap_or(0)
            })
            .sum()
    };
    // Unknown origins (no arrival line in the input) are nobody to name.
    let known: Vec<&Count> = submitter_counts
        .iter()
        .filter(|s| s.name != "\0" && !s.name.starts_with("(other clients)"))
        .collect();
    let submitters: Vec<SubmitterShare> = known
        .iter()
        .take(5)
        .map(|s| {
            let (client, user) = s.name.split_once('\0').unwrap_or((&s.name, ""));
            SubmitterShare {
                sasl_user: user.to_string(),
                client: client.to_string(),
                count: s.count,
                share_of_failures: ratio(s.count, count),
                failure_rate: ratio(s.count, submitter_total(&s.name)),
            }
        })
        .collect();
    let top3_submitted: u64 = known.iter().take(3).map(|s| s.count).sum();
    let top3_submitted_traffic: u64 = known.iter().take(3).map(|s| submitter_total(&s.name)).sum();
    // Several submitters of the same provider's mail, a few of which carry
    // the failures: those few are the cause on our side.
    let submitters_concentrated = count > 0
        && top3_submitted as f64 >= 0.9 * count as f64
        && (top3_submitted_traffic as f64) < 0.5 * attempts as f64;
    let top3: u64 = sender_counts.iter().take(3).map(|s| s.count).sum();
    let top3_traffic: u64 = sender_counts
        .iter()
        .take(3)
        .map(|s| sender_total(&s.name))
        .sum();
    let senders_concentrated = count > 0
        && top3 as f64 >= 0.9 * count as f64
        && (top3_traffic as f64) < 0.5 * attempts as f64;

    let grid = a.grid.as_ref();
    // The recipients' failures over their attempts say how bad; with the MX
    // replies added (over attempts + MX replies) they also say when, so a
    // storm Exim rode out on the next MX still has an onset.
    let (att_series, fail_series, mx_series) = match grid {
        Some(g) => (
            attempts_series(a, g, &scope_providers),
            series(
                g,
                scope_providers
                    .iter()
                    .filter_map(|p| a.tl_fails.get(&key(p)))
                    .flat_map(|m| m.iter().map(|(k, v)| (k, *v))),
            ),
            series(
                g,
                scope_providers
                    .iter()
                    .filter_map(|p| a.tl_mx.get(&key(p)))
                    .flat_map(|m| m.iter().map(|(k, v)| (k, *v))),
            ),
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    // Authentication fails for the same senders every time: its rate follows
    // the sender mix, not an outbreak, so it is dated by its first failure.
    let chronic = c.spec().deterministic;
    let how_bad = when(grid, &att_series, &fail_series, share, chronic, t, a.zone);
    let w = if mx_replies == 0 {
        how_bad.clone()
    } else {
        let plus =
            |v: &[u64]| -> Vec<u64> { v.iter().zip(&mx_series).map(|(x, y)| x + y).collect() };
        when(
            grid,
            &plus(&att_series),
            &plus(&fail_series),
            share,
            chronic,
            t,
            a.zone,
        )
    };
    // Severity follows the share of the provider's messages or recipients
    // affected (retries do not inflate it), or the failure rate during the
    // main episode, short enough for retries to barely repeat.
    let affected = Affected::of(samples, &scope_providers, ReachOf::Failures(c));
    let whole = if affected.messages == 0 {
        share
    } else {
        affected.share()
    };
    let effective = if how_bad.steady || how_bad.episodes.iter().all(|e| e.count < t.min_count) {
        whole
    } else {
        whole.max(how_bad.peak_share)
    };
    let bounce_rate = ratio(bounced, attempts);
    let mut severity = rules::severity(c, effective, bounce_rate, t);
    // A receiver refusing your IP or domain at its MX hosts is a verdict on
    // your reputation even when the next MX took the mail.
    if mx_replies >= t.min_count
        && ratio(mx_replies, attempts + mx_replies) >= t.min_share
        && c.spec().reputation
    {
        severity = severity.max(Severity::Warning);
    }
    let severity = affected.cap(severity, t);

    let recipient_list = c.spec().lists_recipients.then(|| {
        let mut all: HashMap<&str, u64> = HashMap::new();
        for p in &scope_providers {
            for (r, n) in samples.recipients.get(&key(p)).into_iter().flatten() {
                *all.entry(r).or_default() += n;
            }
        }
        let mut v: Vec<(&str, u64)> = all.into_iter().collect();
        v.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(y.0)));
        RecipientEvidence {
            distinct: v.len() as u64,
            repeated: v.iter().filter(|(_, n)| *n > 1).count() as u64,
            top: v
                .iter()
                .take(20)
                .map(|(r, n)| Count {
                    name: r.to_string(),
                    count: *n,
                })
                .collect(),
        }
    });
    let sample_queue_ids: Vec<String> = scope_providers
        .iter()
        .filter_map(|p| samples.queue_ids.get(&key(p)))
        .flatten()
        .take(5)
        .cloned()
        .collect();
    let evidence = top_replies(reasons, &scope_providers, &[c], None, 3, a.zone);
    let provider_name = provider.cloned().unwrap_or_else(|| "all".to_string());
    let scope = match provider {
        Some(p) if fired_at.len() == 1 => format!("only at {p}"),
        _ => format!("at {} (each its own finding)", fired_at.join(", ")),
    };
    let providers = match provider {
        Some(p) => vec![Count {
            name: p.clone(),
            count,
        }],
        None => {
            let mut v: Vec<Count> = scope_providers
                .iter()
                .map(|p| Count {
                    name: p.clone(),
                    count: a.cats.get(&key(p)).map_or(0, |x| x.0),
                })
                .collect();
            v.sort_by_key(|x| std::cmp::Reverse(x.count));
            v
        }
    };
    // Naming senders makes sense where the sender causes the failure, not
    // where it merely mails the same full or unknown mailboxes.
    let sender_driven = c.spec().sender_driven;
    let concentrated_senders: Vec<String> = if senders_concentrated && sender_driven {
        sender_counts
            .iter()
            .take(3)
            .filter(|s| !s.name.is_empty())
            .map(|s| s.name.clone())
            .collect()
    } else {
        Vec::new()
    };
    let mut concentrated_senders = concentrated_senders;
    if submitters_concentrated && sender_driven {
        concentrated_senders.extend(submitters.iter().take(3).map(SubmitterShare::label));
    }
    let list_names: Vec<String> = blocklists.iter().map(|b| b.name.clone()).collect();
    let few = affected.messages > 0
        && affected.messages.max(affected.recipients) < t.critical_messages
        && !affected.named.is_empty();
    let action = if few {
        format!(
            "Only {} behind these {count} failures: check {} (a mistyped or dead address \
             is retried until it expires); nothing server-wide to change.",
            affected.phrase(),
            if affected.named.len() == 1 {
                "that address"
            } else {
                "those addresses"
            }
        )
    } else {
        rules::action(&rules::ActionInput {
            category: c,
            provider: &provider_name,
            blocklists: &list_names,
            senders: &concentrated_senders,
            recipients: recipient_list.as_ref().map_or(0, |r| r.distinct),
            bounce_rate,
            thresholds: t,
        })
    };
    let summary = summary_sentence(&SummaryInput {
        mx_replies,
        category: c,
        provider: &provider_name,
        count,
        affected: &affected,
        codes: &codes,
        share,
        when: &w,
        blocklists: &list_names,
        senders: &concentrated_senders,
        bounce_rate,
        t,
    });
    // A content filter on loopback that fails holds every message that
    // passes it: said as such, named by its address, with its own action.
    let (summary, action) = if provider_name == HANDOFF_ID {
        let hops: Vec<&str> = samples
            .handoff_hops
            .iter()
            .filter(|h| h.2 > 0)
            .take(2)
            .map(|h| h.0.as_str())
            .collect();
        let at = if hops.is_empty() {
            String::new()
        } else {
            format!(" at {}", hops.join(", "))
        };
        (
            format!(
                "Content filter{at}: {}; every message passes it, so mail waits in the queue \
                 until it accepts again.",
                summary
                    .strip_prefix("handoff: ")
                    .unwrap_or(&summary)
                    .trim_end_matches('.')
            ),
            rules::handoff_action(c, &at),
        )
    } else {
        (summary, action)
    };
    Finding {
        logins: None,
        hosts: Vec::new(),
        history: None,
        rule: c.spec().rule,
        category: c.as_str(),
        severity,
        provider: provider_name,
        scope,
        providers,
        codes,
        blocklists,
        count,
        messages: affected.messages,
        recipients: affected.recipients,
        distinct_approximate: affected.estimated.0 || affected.estimated.1,
        message_share: affected.message_share,
        recipient_share: affected.recipient_share,
        named_recipients: affected.named,
        mx_replies,
        attempts,
        share,
        dominance,
        dominant: dominance >= t.dominance,
        since: w.since,
        until: w.until,
        steady: w.steady,
        baseline_share: w.baseline,
        peak_share: w.peak_share,
        episodes: w.episodes,
        sender_domains,
        senders_concentrated,
        submitters,
        submitters_concentrated,
        bounce_rate: (c.spec().grading == Grading::BounceGuideline).then_some(bounce_rate),
        recipient_list,
        evidence,
        sample_queue_ids,
        onsets: Vec::new(),
        your_side: None,
        summary,
        action,
    }
}

/// Episodes whose onsets lie this close (minutes) began together.
const TOGETHER_MINUTES: i64 = 2;

/// The main episode of a provider's finding: `(since, until)` in UTC seconds.
fn main_episode(f: &Finding) -> Option<(i64, i64)> {
    if f.steady {
        return None;
    }
    f.episodes
        .iter()
        .max_by_key(|e| e.count)
        .map(|e| (e.since, e.until))
}

/// What several providers' findings of one category have in common: a
/// finding of its own, added after theirs, when the evidence says the cause
/// is on the sending side or their episodes overlap in time. It claims *your
/// side* only on evidence; replies that carry a provider's own verdict (its
/// own block list, its rate limit) stay that provider's finding.
fn correlation(
    e: &Evidence<'_>,
    c: Category,
    own: &[Finding],
    with_traffic: usize,
) -> Option<Finding> {
    let (a, t) = (e.a, e.t);
    // The recipients' side, however many providers show it.
    if own.len() < 2 || c.spec().recipients_side {
        return None;
    }
    let mut evidence: Vec<String> = Vec::new();
    // 1. A public blocklist several receivers name: your IP is on it.
    let mut lists: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in own {
        let mut seen: Vec<&str> = Vec::new();
        for b in &f.blocklists {
            let name = b.name.as_str();
            if name.starts_with("Microsoft") || name == Blocklist::OtherList.name() {
                continue; // a provider's own list, or one we cannot name
            }
            let family = if name.starts_with("Spamhaus") {
                "Spamhaus"
            } else {
                name
            };
            if !seen.contains(&family) {
                seen.push(family);
                lists.entry(family).or_default().push(&f.provider);
            }
        }
    }
    // The providers each piece of evidence concerns: the addition is about
    // them, not about every provider where the category fired.
    let mut involved: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for (list, ps) in &lists {
        if ps.len() >= 2 {
            evidence.push(format!("{list} named by {}", ps.join(" and ")));
            involved.extend(ps.iter().copied());
        }
    }
    // 2. One sender domain failing authentication at several receivers.
    if c.spec().deterministic && c.spec().sender_driven {
        let mut by_sender: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for f in own.iter().filter(|f| f.senders_concentrated) {
            for d in f.sender_domains.iter().take(3) {
                if !d.domain.is_empty() {
                    by_sender.entry(&d.domain).or_default().push(&f.provider);
                }
            }
        }
        for (d, ps) in &by_sender {
            if ps.len() >= 2 {
                evidence.push(format!("{d} fails at {}", ps.join(" and ")));
                involved.extend(ps.iter().copied());
            }
        }
    }
    // 3. Episodes that began together.
    let mut episodic: Vec<(i64, i64, &Finding)> = own
        .iter()
        .filter_map(|f| main_episode(f).map(|(a, b)| (a, b, f)))
        .collect();
    episodic.sort_by_key(|(since, _, f)| (*since, f.provider.clone()));
    let width = a.grid.as_ref().map_or(1, |g| g.width).max(TOGETHER_MINUTES);
    let together: Vec<&Finding> = episodic
        .windows(2)
        .filter(|w| w[1].0 - w[0].0 <= width * 60)
        .flat_map(|w| [w[0].2, w[1].2])
        .fold(Vec::new(), |mut v, f| {
            if !v.iter().any(|x: &&Finding| x.provider == f.provider) {
                v.push(f);
            }
            v
        });
    if together.len() >= 2 {
        involved.extend(together.iter().map(|f| f.provider.as_str()));
        evidence.push(format!(
            "episodes began together ({})",
            together
                .iter()
                .map(|f| format!("{} {}", f.provider, clock(&f.since)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // 4. Timeouts, TLS or unexplained failures at (nearly) every provider,
    //    at comparable rates: your egress, not their filters. Not for
    //    throttling and policy, where each receiver gives its own verdict.
    let shares: Vec<f64> = own.iter().map(|f| f.share).collect();
    let (lo, hi) = shares
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), s| (lo.min(*s), hi.max(*s)));
    if c.spec().shared_when_uniform
        && own.len() >= t.global_providers
        && own.len() * 2 >= with_traffic
        && lo * 4.0 >= hi
    {
        evidence.push(format!(
            "{} of {with_traffic} providers with traffic, at comparable rates",
            own.len()
        ));
        involved.extend(own.iter().map(|f| f.provider.as_str()));
    }
    if evidence.is_empty() {
        // No evidence: only providers whose episodes overlap in time.
        for (i, x) in episodic.iter().enumerate() {
            for y in &episodic[i + 1..] {
                if y.0 <= x.1 && x.0 <= y.1 {
                    involved.insert(&x.2.provider);
                    involved.insert(&y.2.provider);
                }
            }
        }
    }
    if involved.len() < 2 {
        return None;
    }
    let own: Vec<&Finding> = own
        .iter()
        .filter(|f| involved.contains(f.provider.as_str()))
        .collect();
    let members: Vec<String> = own.iter().map(|f| f.provider.clone()).collect();
    let mut f = category_finding(e, c, &members, &members);
    f.onsets = own
        .iter()
        .map(|m| Onset {
            provider: m.provider.clone(),
            severity: m.severity,
            count: m.count,
            since: m.since.clone(),
            until: m.until.clone(),
            steady: m.steady,
        })
        .collect();
    let each = own
        .iter()
        .map(|m| {
            if m.steady {
                format!("{} steady since {}", m.provider, clock(&m.since))
            } else {
                format!(
                    "{} {}–{}",
                    m.provider,
                    clock(&m.since),
                    crate::time::zone::range_end(&m.since, &m.until)
                )
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let what = c.spec().rule.replace('_', " ");
    let lead = format!("{what} at {} providers at once: {each}", own.len());
    if evidence.is_empty() {
        f.your_side = None;
        f.severity = Severity::Info;
        f.scope = format!(
            "at the same time at {}: no evidence of a common cause on your side",
            members.join(", ")
        );
        f.summary = format!(
            "{lead}. Nothing shows a common cause on your side (no blocklist or sender \
             domain in common, episodes not begun together); each provider's finding \
             stands on its own."
        );
        f.action = format!(
            "Act on each provider's finding; if something changed on your side at {} \
             (volume, sending IP, DNS, authentication), that is the common cause.",
            clock(&f.since)
        );
    } else {
        let why = evidence.join("; ");
        f.severity = own
            .iter()
            .map(|m| m.severity)
            .max()
            .unwrap_or(Severity::Info);
        f.scope = format!("{}: your side — {why}", members.join(", "));
        f.summary = format!("{lead}. Your side: {why}.");
        f.your_side = Some(why);
    }
    Some(f)
}

/// `HH:MM` of a `YYYY-MM-DD HH:MM` time.
fn clock(full: &str) -> &str {
    full.get(11..).unwrap_or(full)
}

/// "1 deferral for throttling", "1 unknown or disabled recipient": the
/// first plural noun of a category's phrase, singular.
fn singular(what: &str) -> String {
    [
        "deferrals",
        "blocks",
        "failures",
        "recipients",
        "rejections",
    ]
    .iter()
    .filter_map(|plural| what.find(plural).map(|at| (at, plural.len())))
    .min()
    .map_or_else(
        || what.to_string(),
        |(at, len)| format!("{}{}", &what[..at + len - 1], &what[at + len..]),
    )
}

struct SummaryInput<'a> {
    mx_replies: u64,
    category: Category,
    provider: &'a str,
    count: u64,
    affected: &'a Affected,
    codes: &'a [Count],
    share: f64,
    when: &'a When,
    blocklists: &'a [String],
    senders: &'a [String],
    bounce_rate: f64,
    t: &'a Thresholds,
}

/// "google: 86 throttling failures (4.7.0/4.7.28) since 12:41, 31% of its
/// attempts during 12:41–12:44 (8.0% overall)."
fn summary_sentence(s: &SummaryInput<'_>) -> String {
    let who = if s.provider == "all" {
        "All providers".to_string()
    } else {
        s.provider.to_string()
    };
    let what = s.category.spec().noun;
    let one;
    let what = if s.count == 1 {
        one = singular(what);
        one.as_str()
    } else {
        what
    };
    let codes = if s.codes.is_empty() {
        String::new()
    } else {
        format!(" ({})", code_list(s.codes, 3))
    };
    let time = |full: &str| full.get(11..).unwrap_or(full).to_string();
    let when = if s.when.steady {
        format!(
            ", steady from {} to {}: {} of its attempts",
            s.when.since,
            crate::time::zone::range_end(&s.when.since, &s.when.until),
            percent(s.share)
        )
    } else {
        format!(
            " since {}: {} of its attempts during {}–{} (baseline {}, {} overall)",
            s.when.since,
            percent(s.when.peak_share),
            time(&s.when.since),
            crate::time::zone::range_end(&s.when.since, &s.when.until),
            percent(s.when.baseline),
            percent(s.share)
        )
    };
    let mut out = if s.count == 0 {
        format!(
            "{who}: {} refusals by single MX hosts, {what}{codes}; the next MX took the \
             mail, no recipient failed{when}",
            s.mx_replies
        )
    } else {
        format!(
            "{who}: {} {what}{codes} of {}{when}",
            s.count,
            s.affected.phrase()
        )
    };
    if !s.blocklists.is_empty() {
        out.push_str(&format!("; listed on {}", s.blocklists.join(", ")));
    }
    if !s.senders.is_empty() {
        out.push_str(&format!("; only for {}", s.senders.join(", ")));
    }
    if s.mx_replies > 0 && s.count > 0 {
        out.push_str(&format!(
            "; Exim also logged {} refusals by single MX hosts (the next MX was then tried)",
            s.mx_replies
        ));
    }
    if s.category.spec().grading == Grading::BounceGuideline {
        out.push_str(&format!(
            "; hard-bounce rate {} (guideline {})",
            percent(s.bounce_rate),
            percent(s.t.bounce_guideline)
        ));
    }
    out.push('.');
    out
}

fn expiry_finding(e: &Evidence<'_>, provider: &str, n: u64) -> Finding {
    let (a, reasons, samples, t) = (e.a, e.reasons, e.samples, e.t);
    let attempts = a.totals.get(provider).map_or(0, |x| x.attempts);
    let failures = a.totals.get(provider).map_or(0, |x| x.failures);
    let share = ratio(n, attempts);
    let causes = a.expired_cats.get(provider).cloned().unwrap_or_default();
    let grid = a.grid.as_ref();
    let (att, fails) = match grid {
        Some(g) => (
            attempts_series(a, g, &[provider.to_string()]),
            series(
                g,
                a.tl_expired
                    .get(provider)
                    .into_iter()
                    .flat_map(|m| m.iter().map(|(k, v)| (k, *v))),
            ),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let w = when(grid, &att, &fails, share, false, t, a.zone);
    let p = provider.to_string();
    let affected = Affected::of(samples, std::slice::from_ref(&p), ReachOf::Expiries);
    let evidence = top_replies(
        reasons,
        std::slice::from_ref(&p),
        &Category::ALL,
        Some("expired"),
        3,
        a.zone,
    );
    let sample_queue_ids = Category::ALL
        .iter()
        .filter_map(|c| samples.queue_ids.get(&(p.clone(), *c)))
        .flatten()
        .take(3)
        .cloned()
        .collect();
    let cause_text = causes
        .iter()
        .take(3)
        .map(|c| format!("{} {}", c.name, c.count))
        .collect::<Vec<_>>()
        .join(", ");
    let summary = format!(
        "{provider}: {n} expiries after repeated deferral, of {} ({} of its attempts), \
         from {} to {}; last deferral: {cause_text}.",
        affected.phrase(),
        percent(share),
        w.since,
        crate::time::zone::range_end(&w.since, &w.until)
    );
    let severity = affected.cap(rules::by_share(share * 5.0, t).max(Severity::Warning), t);
    Finding {
        scope: format!("at {provider}"),
        providers: vec![Count { name: p, count: n }],
        codes: causes,
        messages: affected.messages,
        recipients: affected.recipients,
        distinct_approximate: affected.estimated.0 || affected.estimated.1,
        message_share: affected.message_share,
        recipient_share: affected.recipient_share,
        named_recipients: affected.named,
        attempts,
        share,
        dominance: ratio(n, failures),
        dominant: ratio(n, failures) >= t.dominance,
        since: w.since,
        until: w.until,
        steady: w.steady,
        baseline_share: w.baseline,
        peak_share: w.peak_share,
        episodes: w.episodes,
        evidence,
        sample_queue_ids,
        summary,
        action: rules::expiry_action(provider),
        ..Finding::blank(rules::EXPIRY_RULE, "expired", severity, provider, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failure_is_said_in_the_singular() {
        assert_eq!(
            singular("deferrals for throttling / rate limiting"),
            "deferral for throttling / rate limiting"
        );
        assert_eq!(
            singular("unknown or disabled recipients"),
            "unknown or disabled recipient"
        );
        assert_eq!(
            singular("failures inside the receiving system"),
            "failure inside the receiving system"
        );
        assert_eq!(singular("greylisting deferrals"), "greylisting deferral");
    }

    #[test]
    fn thresholds_from_config_and_flags() {
        let mut t = Thresholds::default();
        t.apply_config("# mtastat\n[findings]\nmin_count = 25\nwarning_share = 10%\ncritical_share=0.4 # comment\n")
            .unwrap();
        assert_eq!(t.min_count, 25);
        assert!((t.warning_share - 0.10).abs() < 1e-12);
        assert!((t.critical_share - 0.4).abs() < 1e-12);
        assert!(t.apply_config("nonsense").is_err());
        assert!(t.apply_config("min_share = 2").is_err());
        assert!(t.apply_config("colour = 1").is_err());
        assert!(t.set("episode_factor", "0.5").is_err());
        assert!(Severity::Critical > Severity::Warning && Severity::Warning > Severity::Info);
    }
}
