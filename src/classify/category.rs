//! Failure categories: what a failed attempt *means* for the postmaster.
//!
//! The enhanced status code alone is not enough. Providers reuse registry
//! numbers with their own meanings (Gmail 5.7.27 is "SPF did not pass", not
//! RFC 7505's null MX; Microsoft 5.4.1 with `AS(…)` is an unknown recipient;
//! Yahoo 5.7.9 is a policy block), Postfix writes synthetic `x.0.0` codes when
//! the reply had none, and the decisive fact is often in the text (`[TSS04]`,
//! `blocked using zen.spamhaus.org`, `Greylisted`). So a category is decided
//! in this order (facts and sources: `../shared/FACTS.md` §2–4):
//!
//! 1. a named blocklist in the text → policy, with the list named;
//! 2. greylisting and Yahoo's `[TSxx]`/`[TSSxx]`/`[PHxx]` markers;
//! 3. the provider's own meaning of the code;
//! 4. mailbox-full and unknown-recipient texts (`dd … doesn't have … account`);
//! 5. the RFC 3463 / 5248 registry by class, subject and detail;
//! 6. for code-less replies, the text (timeouts, refusals, SPF, rate limits …).
//!
//! All markers are literal needles found in one ASCII-case-insensitive
//! Aho-Corasick pass (aho-corasick is already in the tree through regex), so
//! a reply is read once and no automaton is built at run time: an earlier
//! regex-automata overlapping search spent half of a run determinizing.

use super::provider::{ProviderId, ProviderMap};
use crate::dsn::Dsn;
use crate::event::Status;
use aho_corasick::AhoCorasick;

/// What a delivery outcome means. `Delivered` for successes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Category {
    /// Accepted.
    Delivered = 0,
    /// Rate limiting / throttling by the receiver (4.7.0 at Gmail, `[TSS04]` …).
    Throttling = 1,
    /// Policy or reputation block, blocklists included (5.7.1, 5.7.606 …).
    Policy = 2,
    /// SPF / DKIM / DMARC / PTR failures (5.7.26, 5.7.515 …).
    Auth = 3,
    /// Connection, routing and DNS failures (4.4.1, 4.4.2, 5.4.4 …).
    Network = 4,
    /// Recipient does not exist or is disabled (5.1.1, 5.2.1, Yahoo `dd`).
    Hygiene = 5,
    /// Recipient's mailbox is full (4.2.2, 5.2.2).
    MailboxFull = 6,
    /// Greylisting: a deliberate first-time deferral, normally harmless.
    Greylisting = 7,
    /// Message size or content format (5.3.4, 5.6.x).
    Content = 8,
    /// TLS required or failed.
    Tls = 9,
    /// Trouble inside the receiving system (4.3.0 temporary lookup failure …).
    Remote = 10,
    /// Anything else.
    Other = 11,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 12] = [
        Category::Delivered,
        Category::Throttling,
        Category::Policy,
        Category::Auth,
        Category::Network,
        Category::Hygiene,
        Category::MailboxFull,
        Category::Greylisting,
        Category::Content,
        Category::Tls,
        Category::Remote,
        Category::Other,
    ];

    /// Everything said about this category in one place: its names, the
    /// words a finding uses, and how the rules treat it ([`Spec`]).
    #[inline]
    pub fn spec(self) -> &'static Spec {
        &SPECS[self as usize]
    }

    /// Machine name used in frames and JSON.
    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    /// The category of an [`Category::as_str`] name (an events export read back).
    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Human title for the report.
    pub fn title(self) -> &'static str {
        self.spec().title
    }
}

/// How a category's findings are graded (the reasons are on the rows of
/// [`SPECS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grading {
    /// By the share of attempts (or of the worst episode).
    ByShare,
    /// By share, and at least a warning: every one is mail refused for a
    /// reason the sender controls.
    AtLeastWarning,
    /// By the hard-bounce rate against the guideline (warning at it,
    /// critical at five times it).
    BounceGuideline,
    /// By share, at most a warning: the recipients' side, usually resolved
    /// on retry.
    AtMostWarning,
    /// Always info: a deliberate, harmless deferral.
    AlwaysInfo,
}

/// One category, described once: adding a category is its variant, its
/// row here, its markers in the classifier below and its action sentence
/// (`detect/rules.rs`). The detection engine reads these fields instead of
/// matching on categories.
#[derive(Debug)]
pub struct Spec {
    /// Machine name in frames and JSON (`category`).
    pub name: &'static str,
    /// Title in the report.
    pub title: &'static str,
    /// The finding's rule name (`rule`).
    pub rule: &'static str,
    /// What its failures are called in a finding's sentence (plural).
    pub noun: &'static str,
    /// How its findings are graded.
    pub grading: Grading,
    /// Deterministic failures (the same sender fails every time): half the
    /// usual count is already a pattern, and a finding is dated by its first
    /// failure, not by an outbreak.
    pub deterministic: bool,
    /// A verdict on the sender's reputation: refusals by single MX hosts
    /// raise it to a warning even when the next MX took the mail.
    pub reputation: bool,
    /// The sender causes it: findings name the sender domains that
    /// concentrate the failures.
    pub sender_driven: bool,
    /// Findings list the recipients (and the batch keeps their addresses).
    pub lists_recipients: bool,
    /// Only failures repeated for the same recipient are a pattern.
    pub repeats_only: bool,
    /// The recipients' side: however many providers show it, it is never
    /// one finding across providers.
    pub recipients_side: bool,
    /// At comparable rates at most providers with traffic, the cause is
    /// this side's (network, TLS, authentication).
    pub shared_when_uniform: bool,
}

/// The rows of [`Category::spec`], in [`Category`] order.
const SPECS: [Spec; 12] = [
    Spec {
        name: "delivered",
        title: "delivered",
        rule: "unclassified",
        noun: "unclassified failures",
        grading: Grading::ByShare,
        deterministic: false,
        reputation: false,
        sender_driven: false,
        lists_recipients: false,
        repeats_only: false,
        recipients_side: false,
        shared_when_uniform: false,
    },
    Spec {
        name: "throttling",
        title: "throttling / rate limiting",
        rule: "throttling",
        noun: "deferrals for throttling / rate limiting",
        grading: Grading::ByShare,
        deterministic: false,
        reputation: true,
        sender_driven: true,
        lists_recipients: false,
        repeats_only: false,
        recipients_side: false,
        shared_when_uniform: false,
    },
    Spec {
        name: "policy",
        title: "policy / reputation blocks",
        rule: "policy_block",
        noun: "policy / reputation blocks",
        grading: Grading::AtLeastWarning,
        deterministic: false,
        reputation: true,
        sender_driven: true,
        lists_recipients: false,
        repeats_only: false,
        recipients_side: false,
        shared_when_uniform: false,
    },
    Spec {
        name: "auth",
        title: "authentication (SPF/DKIM/DMARC/PTR)",
        rule: "authentication",
        noun: "authentication failures",
        grading: Grading::AtLeastWarning,
        deterministic: true,
        reputation: true,
        sender_driven: true,
        lists_recipients: false,
        repeats_only: false,
        recipients_side: false,
        shared_when_uniform: true,
    },
    Spec {
        name: "network",
        title: "network / routing / DNS",
        rule: "network",
        noun: "network / DNS failures",
        grading: Grading::ByShare,
        deterministic: false,
        reputation: false,
        sender_driven: false,
        lists_recipients: false,
        repeats_only: false,
        recipients_side: false,
        shared_when_uniform: true,
    },
    Spec {
        name: "hygiene",
        title: "list hygiene (unknown or disabled recipients)",
        rule: "list_hygiene",
        noun: "unknown or disabled recipients",
        grading: Grading::BounceGuideline,
        deterministic: false,
        reputation: false,
        sender_driven: false,
        lists_recipients: true,
        repeats_only: false,
        recipients_side: true,
        shared_when_uniform: false,
    },
    Spec {
        name: "mailbox_full",
        title: "mailbox full",
        rule: "mailbox_full",
        noun: "mailbox-full failures",
        grading: Grading::AtMostWarning,
        deterministic: false,
        reputation: false,
        sender_driven: false,
        lists_recipients: true,
        repeats_only: true,
        recipients_side: true,
        shared_when_uniform: false,
    },
    Spec {
        name: "greylisting",
        title: "greylisting",
        rule: "greylisting",
        noun: "greylisting deferrals",
        grading: Grading::AlwaysInfo,
        deterministic: false,
        reputation: false,
        sender_driven: false,
        lists_recipients: false,
        repeats_only: false,
        recipients_side: true,
        shared_when_uniform: false,
    },
    Spec {
        name: "content",
        title: "message size / content",
        rule: "size_content",
        noun: "size / content rejections",
        grading: Grading::ByShare,
        deterministic: false,
        reputation: false,
        sender_driven: true,
        lists_recipients: false,
        repeats_only: false,
        recipients_side: true,
        shared_when_uniform: false,
    },
    Spec {
        name: "tls",
        title: "TLS",
        rule: "tls",
        noun: "TLS failures",
        grading: Grading::ByShare,
        deterministic: false,
        reputation: false,
        sender_driven: false,
        lists_recipients: false,
        repeats_only: false,
        recipients_side: false,
        shared_when_uniform: true,
    },
    Spec {
        name: "remote",
        title: "receiving system trouble",
        rule: "remote_trouble",
        noun: "failures inside the receiving system",
        grading: Grading::ByShare,
        deterministic: false,
        reputation: false,
        sender_driven: false,
        lists_recipients: false,
        repeats_only: false,
        recipients_side: true,
        shared_when_uniform: false,
    },
    Spec {
        name: "other",
        title: "unclassified failures",
        rule: "unclassified",
        noun: "unclassified failures",
        grading: Grading::ByShare,
        deterministic: false,
        reputation: false,
        sender_driven: false,
        lists_recipients: false,
        repeats_only: false,
        recipients_side: false,
        shared_when_uniform: true,
    },
];

/// A blocklist named in a reply text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Blocklist {
    /// None named.
    None = 0,
    /// `zen.spamhaus.org` (SBL + XBL + PBL).
    SpamhausZen,
    /// Spamhaus SBL.
    SpamhausSbl,
    /// Spamhaus XBL (includes the former CBL, `abuseat.org`).
    SpamhausXbl,
    /// Spamhaus PBL.
    SpamhausPbl,
    /// Spamhaus DBL (domains).
    SpamhausDbl,
    /// Spamhaus, list not named.
    Spamhaus,
    /// Barracuda BRBL.
    Barracuda,
    /// SpamCop.
    SpamCop,
    /// SORBS.
    Sorbs,
    /// UCEPROTECT.
    Uceprotect,
    /// Proofpoint's IP reputation (dnsbl-lookup / ipcheck).
    Proofpoint,
    /// Cloudmark CSI.
    Cloudmark,
    /// Validity SenderScore.
    SenderScore,
    /// Microsoft's own block list, `(S3150)`.
    MicrosoftS3150,
    /// Microsoft's own block list, `(S3140)`.
    MicrosoftS3140,
    /// Microsoft "banned sending IP" (5.7.606–649; delist at sender.office.com).
    MicrosoftBannedIp,
    /// Microsoft "banned sender" (5.7.511; delist@messaging.microsoft.com).
    MicrosoftBannedSender,
    /// Some other DNSBL (`blocked using …`, `blacklisted`, `block list`).
    OtherList,
}

impl Blocklist {
    /// Every list, `None` first.
    pub const ALL: [Blocklist; 19] = [
        Blocklist::None,
        Blocklist::SpamhausZen,
        Blocklist::SpamhausSbl,
        Blocklist::SpamhausXbl,
        Blocklist::SpamhausPbl,
        Blocklist::SpamhausDbl,
        Blocklist::Spamhaus,
        Blocklist::Barracuda,
        Blocklist::SpamCop,
        Blocklist::Sorbs,
        Blocklist::Uceprotect,
        Blocklist::Proofpoint,
        Blocklist::Cloudmark,
        Blocklist::SenderScore,
        Blocklist::MicrosoftS3150,
        Blocklist::MicrosoftS3140,
        Blocklist::MicrosoftBannedIp,
        Blocklist::MicrosoftBannedSender,
        Blocklist::OtherList,
    ];

    /// The list of a [`Blocklist::name`] (an events export read back).
    pub fn from_name(name: &str) -> Blocklist {
        Blocklist::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .unwrap_or(Blocklist::None)
    }

    /// Name for the report (empty for `None`).
    pub fn name(self) -> &'static str {
        match self {
            Blocklist::None => "",
            Blocklist::SpamhausZen => "Spamhaus ZEN",
            Blocklist::SpamhausSbl => "Spamhaus SBL",
            Blocklist::SpamhausXbl => "Spamhaus XBL/CBL",
            Blocklist::SpamhausPbl => "Spamhaus PBL",
            Blocklist::SpamhausDbl => "Spamhaus DBL",
            Blocklist::Spamhaus => "Spamhaus",
            Blocklist::Barracuda => "Barracuda BRBL",
            Blocklist::SpamCop => "SpamCop",
            Blocklist::Sorbs => "SORBS",
            Blocklist::Uceprotect => "UCEPROTECT",
            Blocklist::Proofpoint => "Proofpoint",
            Blocklist::Cloudmark => "Cloudmark",
            Blocklist::SenderScore => "SenderScore",
            Blocklist::MicrosoftS3150 => "Microsoft block list (S3150)",
            Blocklist::MicrosoftS3140 => "Microsoft block list (S3140)",
            Blocklist::MicrosoftBannedIp => "Microsoft banned sending IP",
            Blocklist::MicrosoftBannedSender => "Microsoft banned sender",
            Blocklist::OtherList => "an unnamed DNSBL",
        }
    }
}

/// Which provider-specific table applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Google,
    Microsoft,
    Yahoo,
    Apple,
    Generic,
}

/// The text markers: literal needles, matched ASCII-case-insensitively in one
/// Aho-Corasick pass. A `|` at either end of a needle asks for a word
/// boundary there. Blocklists are listed most specific first.
const MARKERS: &[(Marker, &[&str])] = &[
    (Marker::Bl(Blocklist::SpamhausZen), &["zen.spamhaus"]),
    (
        Marker::Bl(Blocklist::SpamhausSbl),
        &["sbl.spamhaus", "spamhaus sbl", "spamhaus's sbl"],
    ),
    (
        Marker::Bl(Blocklist::SpamhausXbl),
        &[
            "xbl.spamhaus",
            "spamhaus xbl",
            "spamhaus's xbl",
            "abuseat.org",
            "[bl23]",
        ],
    ),
    (
        Marker::Bl(Blocklist::SpamhausPbl),
        &["pbl.spamhaus", "spamhaus pbl", "spamhaus's pbl"],
    ),
    (
        Marker::Bl(Blocklist::SpamhausDbl),
        &["dbl.spamhaus", "spamhaus dbl", "spamhaus's dbl"],
    ),
    (Marker::Bl(Blocklist::Spamhaus), &["spamhaus", "[bl21]"]),
    (Marker::Bl(Blocklist::Barracuda), &["barracuda"]),
    (Marker::Bl(Blocklist::SpamCop), &["spamcop"]),
    (Marker::Bl(Blocklist::Sorbs), &["|sorbs|"]),
    (Marker::Bl(Blocklist::Uceprotect), &["uceprotect"]),
    (
        Marker::Bl(Blocklist::Proofpoint),
        &["dnsbl-lookup", "ipcheck.proofpoint", "proofpoint.com/dnsbl"],
    ),
    (Marker::Bl(Blocklist::Cloudmark), &["cloudmark"]),
    (Marker::Bl(Blocklist::SenderScore), &["senderscore"]),
    (
        Marker::Bl(Blocklist::MicrosoftS3150),
        &["(s3150)", "(as3150)"],
    ),
    (
        Marker::Bl(Blocklist::MicrosoftS3140),
        &["(s3140)", "(as3140)"],
    ),
    (
        Marker::Bl(Blocklist::MicrosoftBannedIp),
        &["banned sending ip"],
    ),
    (
        Marker::Bl(Blocklist::MicrosoftBannedSender),
        &["banned sender"],
    ),
    (
        Marker::Bl(Blocklist::OtherList),
        &[
            "blocked using ",
            "blacklisted",
            "black listed",
            "blacklist",
            "black list",
            "blocklist",
            "block list",
            " listed in ",
            " listed at ",
            " listed on ",
            " listed by ",
            "|dnsbl|",
            "|rbl|",
        ],
    ),
    (
        Marker::Greylist,
        &["greylist", "graylist", "grey-list", "gray-list"],
    ),
    (
        Marker::YahooThrottle,
        &[
            "[tss01]", "[tss02]", "[tss03]", "[tss04]", "[ts01]", "[ts02]", "[ts03]",
        ],
    ),
    (Marker::YahooBlock, &["[tss09]", "[tss11]"]),
    // "[ph" followed by two digits and "]" (checked in `verified`).
    (Marker::YahooContent, &["[ph"]),
    (
        Marker::Quota,
        &[
            "over quota",
            "overquota",
            "quota exceeded",
            "mailbox is full",
            "mailbox full",
            "inbox is full",
            "out of storage",
            "insufficient storage",
            "storage space",
        ],
    ),
    (
        Marker::Unknown,
        &[
            "doesn't have a",
            "does not have a",
            "no longer valid",
            "mailbox is disabled",
            "account is disabled",
            "account disabled",
            "is inactive",
            "is disabled",
            "user unknown",
            "unknown user",
            "no such user",
            "no such recipient",
            "no such mailbox",
            "nosuchuser",
            "does not exist",
            "doesn't exist",
            "recipient not found",
            "user not found",
            "mailbox not found",
            "mailbox unavailable",
            "invalid recipient",
            "unrouteable address",
            "unknown recipient",
            "address unknown",
        ],
    ),
    (
        Marker::Auth,
        &[
            "|spf|",
            "|dkim|",
            "|dmarc|",
            "unauthenticated",
            "not authenticated",
            "authentication check",
            "authentication fail",
            "authentication result",
            "authentication level",
            "failing both",
            "ptr record",
            "reverse dns",
            "|rdns|",
            "sender id",
        ],
    ),
    (
        Marker::Throttle,
        &[
            "unusual rate",
            "rate limit",
            "ratelimit",
            "too many connections",
            "too many messages",
            "too many recipients",
            "too many concurrent",
            "too many sessions",
            "too quickly",
            "at a rate",
            "unexpected volume",
            "excessive volume",
            "server busy",
            "try again later",
            "exceeded the maximum number of connections",
            "too fast",
            "throttl",
            "slow down",
            "max message per connection",
        ],
    ),
    (
        Marker::Network,
        &[
            "connection refused",
            "timed out",
            "no route to host",
            "network is unreachable",
            "lost connection",
            "connection reset",
            "connection closed",
            "closed connection",
            "host or domain name not found",
            "name service error",
            "host not found",
            "does not accept mail",
            "nullmx",
            "null mx",
            "loops back to myself",
            "unrouteable mail domain",
            "no mx",
            "|dns",
        ],
    ),
    (Marker::Tls, &["starttls", "|tls|", "certificate", "|ssl|"]),
    (
        Marker::Size,
        &[
            "size limit",
            "exceeds fixed limit",
            "exceeds the maximum",
            "exceeds maximum",
            "too big",
            "too large",
            "message size",
            "message length",
        ],
    ),
    (
        Marker::PolicyText,
        &[
            "unsolicited",
            "|spam",
            "policy",
            "reputation",
            "suspicious",
            "blocked",
            "banned",
            "not allowed",
            "prohibited",
            "denied",
        ],
    ),
    // "as(" followed by a digit (checked in `verified`): Microsoft's AS(201806281).
    (Marker::MicrosoftAs, &["|as("]),
    (
        Marker::RelayDenied,
        &[
            "relay access denied",
            "unable to relay",
            "relaying denied",
            "relay not permitted",
        ],
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Marker {
    Bl(Blocklist),
    Greylist,
    YahooThrottle,
    YahooBlock,
    YahooContent,
    Quota,
    Unknown,
    Auth,
    Throttle,
    Network,
    Tls,
    Size,
    PolicyText,
    MicrosoftAs,
    RelayDenied,
}

/// The markers found in one reply.
#[derive(Clone, Copy, Debug, Default)]
struct Found {
    blocklist: Option<Blocklist>,
    bits: u32,
}

impl Found {
    fn has(&self, m: Marker) -> bool {
        self.bits & bit(m) != 0
    }
}

fn bit(m: Marker) -> u32 {
    match m {
        Marker::Bl(_) => 1,
        Marker::Greylist => 1 << 1,
        Marker::YahooThrottle => 1 << 2,
        Marker::YahooBlock => 1 << 3,
        Marker::YahooContent => 1 << 4,
        Marker::Quota => 1 << 5,
        Marker::Unknown => 1 << 6,
        Marker::Auth => 1 << 7,
        Marker::Throttle => 1 << 8,
        Marker::Network => 1 << 9,
        Marker::Tls => 1 << 10,
        Marker::Size => 1 << 11,
        Marker::PolicyText => 1 << 12,
        Marker::MicrosoftAs => 1 << 13,
        Marker::RelayDenied => 1 << 14,
    }
}

/// A receiver's answer to one failed attempt: what the classifier reads.
#[derive(Clone, Copy, Debug)]
pub struct Answer<'a> {
    /// Provider of the recipient.
    pub provider: ProviderId,
    /// Status of the attempt.
    pub status: Status,
    /// Enhanced code, if any.
    pub dsn: Option<Dsn>,
    /// Basic reply code of the last reply line, if any.
    pub basic: Option<u16>,
    /// The reply text (any MTA decoration removed).
    pub reply: &'a [u8],
    /// True when the reply came at the connection greeting or EHLO.
    pub at_greeting: bool,
}

/// Decides [`Category`] and [`Blocklist`]. Build once; share by reference.
#[derive(Clone, Debug)]
pub struct Classifier {
    ac: AhoCorasick,
    /// Per needle: its marker and whether it needs a word boundary before / after.
    needles: Vec<(Marker, bool, bool)>,
    families: Vec<Family>,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Extra checks some needles need beyond the literal match.
fn verified(marker: Marker, hay: &[u8], end: usize) -> bool {
    match marker {
        Marker::YahooContent => {
            matches!(hay.get(end..end + 3), Some([a, b, b']']) if a.is_ascii_digit() && b.is_ascii_digit())
        }
        Marker::MicrosoftAs => hay.get(end).is_some_and(u8::is_ascii_digit),
        _ => true,
    }
}

impl Classifier {
    /// Builds the automaton and resolves the provider families in `providers`.
    pub fn new(providers: &ProviderMap) -> Classifier {
        let mut patterns: Vec<&str> = Vec::new();
        let mut needles = Vec::new();
        for (marker, list) in MARKERS {
            for n in *list {
                let left = n.starts_with('|');
                let right = n.len() > 1 && n.ends_with('|');
                let text = n.trim_matches('|');
                patterns.push(text);
                needles.push((*marker, left, right));
            }
        }
        // A full DFA: a few hundred needles make a small table, and the
        // search is one lookup per byte.
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&patterns)
            .unwrap_or_else(|e| unreachable!("marker needles are constant and valid: {e}"));
        let families = (0..providers.len())
            .map(|i| {
                let id = ProviderId::try_from(i).unwrap_or(ProviderId::MAX);
                match providers.info(id).id.as_str() {
                    "google" => Family::Google,
                    "microsoft" => Family::Microsoft,
                    "yahoo" | "att" => Family::Yahoo,
                    "apple" => Family::Apple,
                    _ => Family::Generic,
                }
            })
            .collect();
        Classifier {
            ac,
            needles,
            families,
        }
    }

    fn find(&self, text: &[u8]) -> Found {
        let mut found = Found::default();
        for m in self.ac.find_overlapping_iter(text) {
            let Some((marker, left, right)) = self.needles.get(m.pattern().as_usize()) else {
                continue;
            };
            let (start, end) = (m.start(), m.end());
            if *left && start > 0 && text.get(start - 1).is_some_and(|b| is_word(*b)) {
                continue;
            }
            if *right && text.get(end).is_some_and(|b| is_word(*b)) {
                continue;
            }
            if !verified(*marker, text, end) {
                continue;
            }
            found.bits |= bit(*marker);
            if let Marker::Bl(list) = marker
                && found.blocklist.is_none_or(|b| (*list as u8) < (b as u8))
            {
                // Lists are ordered most specific first; keep the most specific.
                found.blocklist = Some(*list);
            }
        }
        found
    }

    /// The category (and the blocklist, for policy blocks that name one).
    pub fn classify(&self, o: &Answer<'_>) -> (Category, Blocklist) {
        if matches!(o.status, Status::Sent | Status::Deliverable) {
            return (Category::Delivered, Blocklist::None);
        }
        let family = self
            .families
            .get(usize::from(o.provider))
            .copied()
            .unwrap_or(Family::Generic);
        let f = self.find(o.reply);
        decide(family, o, &f)
    }
}

/// `(class, subject, detail)` of a code, for matching.
fn parts(d: Option<Dsn>) -> Option<(u8, u16, u16)> {
    d.map(|d| (d.class, d.subject, d.detail))
}

fn decide(family: Family, o: &Answer<'_>, f: &Found) -> (Category, Blocklist) {
    let code = parts(o.dsn);
    // 1. A named blocklist decides, whatever the code.
    if let Some(list) = f.blocklist {
        // "blocked using" texts about the *recipient* (rare) still mean a block.
        return (Category::Policy, list);
    }
    // Microsoft's own lists are named by code when the text does not say.
    if family == Family::Microsoft {
        match code {
            Some((5, 7, 606..=649)) => return (Category::Policy, Blocklist::MicrosoftBannedIp),
            Some((5, 7, 511)) => return (Category::Policy, Blocklist::MicrosoftBannedSender),
            _ => {}
        }
    }
    // 2. Markers that say more than any code.
    if f.has(Marker::Greylist) {
        return (Category::Greylisting, Blocklist::None);
    }
    if f.has(Marker::YahooThrottle) {
        return (Category::Throttling, Blocklist::None);
    }
    if f.has(Marker::YahooBlock) || f.has(Marker::YahooContent) {
        return (Category::Policy, Blocklist::None);
    }
    // 3. Provider-specific meanings.
    if let Some(c) = provider_meaning(family, code, f) {
        return (c, Blocklist::None);
    }
    // 4. Texts that name the recipient's state.
    if f.has(Marker::Quota) {
        return (Category::MailboxFull, Blocklist::None);
    }
    let by_code = code.and_then(|c| registry_meaning(c, f, o.at_greeting));
    if let Some(c) = by_code {
        return (c, Blocklist::None);
    }
    if f.has(Marker::Unknown) {
        return (Category::Hygiene, Blocklist::None);
    }
    // 6. Code-less (or x.0.0) replies: the text decides.
    (text_meaning(o, f), Blocklist::None)
}

fn provider_meaning(family: Family, code: Option<(u8, u16, u16)>, f: &Found) -> Option<Category> {
    use Category::*;
    let (class, subject, detail) = code?;
    Some(match family {
        Family::Google => match (class, subject, detail) {
            (4 | 5, 7, 23..=27 | 30 | 32 | 40) => Auth,
            (4 | 5, 7, 29) => Tls,
            (4, 7, 28) | (4, 2, 1) | (4, 5, 3) | (5, 5, 3) | (4, 4, 5) => Throttling,
            (5, 7, 28) => Policy,
            (4, 7, 0) if f.has(Marker::Auth) => Auth,
            (4, 7, 0) if f.has(Marker::Tls) => Tls,
            (4, 7, 0) => Throttling,
            (5, 7, 1) if f.has(Marker::Throttle) => Throttling,
            (5, 7, 1) if f.has(Marker::Auth) => Auth,
            (5, 2, 1) if f.has(Marker::Throttle) => Throttling,
            _ => return None,
        },
        Family::Microsoft => match (class, subject, detail) {
            (4, 7, 500..=699) | (4, 3, 2) | (5, 7, 508) | (5, 2, 121 | 122) => Throttling,
            (4, 7, 850..=899) | (5, 7, 507 | 513) | (5, 7, 700..=749) => Policy,
            (4 | 5, 7, 23 | 25 | 26 | 509 | 515) => Auth,
            (5, 5, 0) | (5, 1, 10) | (5, 7, 504 | 505) => Hygiene,
            (5, 4, 1) if f.has(Marker::RelayDenied) && !f.has(Marker::MicrosoftAs) => Network,
            (5, 4, 1) => Hygiene,
            (4 | 5, 7, 321..=324) => Tls,
            _ => return None,
        },
        Family::Yahoo => match (class, subject, detail) {
            (5, 7, 9) if f.has(Marker::Auth) => Auth,
            (5, 7, 9) => Policy,
            _ => return None,
        },
        Family::Apple => match (class, subject, detail) {
            (4, 7, 1) if f.has(Marker::Throttle) => Throttling,
            (5, 7, 1) if f.has(Marker::Auth) => Auth,
            _ => return None,
        },
        Family::Generic => return None,
    })
}

/// RFC 3463 / 5248 meanings; `None` for `x.0.0` and codes the text must decide.
fn registry_meaning(code: (u8, u16, u16), f: &Found, at_greeting: bool) -> Option<Category> {
    use Category::*;
    let (class, subject, detail) = code;
    Some(match (class, subject, detail) {
        (_, 0, _) => return None,
        // Authentication (RFC 7372 x.7.20–26, 5.7.27 null-MX sender, DMARC codes).
        (_, 7, 20..=27 | 30 | 32 | 40 | 509 | 515) => Auth,
        (_, 7, 29) => Auth,
        (_, 7, 10 | 11) | (_, 7, 321..=324) => Tls,
        // Throttling.
        (4, 7, 28) | (4, 2, 1) | (_, 5, 3) | (4, 3, 2) | (4, 4, 5) | (4, 7, 500..=699) => {
            Throttling
        }
        (4, 7, 0) if f.has(Marker::Auth) => Auth,
        (4, 7, 0) if f.has(Marker::Tls) => Tls,
        (4, 7, 0) => Throttling,
        (_, 7, _) if f.has(Marker::Auth) => Auth,
        (4, 7, _) if f.has(Marker::Throttle) || at_greeting => Throttling,
        (_, 7, _) => Policy,
        // Addressing and mailbox.
        (_, 1, 10) => Network,
        (_, 1, 0) if f.has(Marker::Network) => Network,
        (_, 1, _) => Hygiene,
        (_, 2, 2) => MailboxFull,
        (_, 2, 1) => Hygiene,
        (_, 2, 3) => Content,
        (_, 2, _) if f.has(Marker::Unknown) => Hygiene,
        (_, 2, _) => Other,
        // Mail system.
        (_, 3, 4) => Content,
        (_, 3, _) if f.has(Marker::Size) => Content,
        (_, 3, _) => Remote,
        // Network and routing.
        (_, 4, _) => Network,
        // Protocol.
        (5, 5, 0) if f.has(Marker::Unknown) => Hygiene,
        (_, 5, _) => Other,
        // Content.
        (_, 6, _) => Content,
        _ => return None,
    })
}

fn text_meaning(o: &Answer<'_>, f: &Found) -> Category {
    use Category::*;
    let greeting_421 = o.at_greeting && o.basic == Some(421);
    if f.has(Marker::Auth) {
        Auth
    } else if greeting_421 || f.has(Marker::Throttle) {
        Throttling
    } else if f.has(Marker::Size) {
        Content
    } else if f.has(Marker::Network) {
        Network
    } else if f.has(Marker::Tls) {
        Tls
    } else if f.has(Marker::PolicyText) {
        Policy
    } else {
        Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_has_its_own_spec_row() {
        let mut names = std::collections::HashSet::new();
        for (i, c) in Category::ALL.into_iter().enumerate() {
            assert_eq!(c as usize, i, "{c:?}");
            assert!(names.insert(c.spec().name), "{c:?}");
        }
        assert_eq!(SPECS.len(), Category::ALL.len());
    }
    use proptest::prelude::*;

    fn classify(provider: &str, status: Status, code: &str, reply: &str) -> (Category, Blocklist) {
        classify_at(provider, status, code, reply, false)
    }

    fn classify_at(
        provider: &str,
        status: Status,
        code: &str,
        reply: &str,
        at_greeting: bool,
    ) -> (Category, Blocklist) {
        let map = ProviderMap::builtin();
        let c = Classifier::new(&map);
        let id = (0..map.len())
            .map(|i| i as ProviderId)
            .find(|i| map.info(*i).id == provider)
            .unwrap_or(map.other());
        let basic = reply.get(..3).and_then(|s| s.parse().ok());
        c.classify(&Answer {
            provider: id,
            status,
            dsn: Dsn::parse(code.as_bytes()),
            basic,
            reply: reply.as_bytes(),
            at_greeting,
        })
    }

    use Category::*;
    use Status::{Bounced, Deferred, Sent};

    #[test]
    fn successes_are_delivered() {
        assert_eq!(classify("google", Sent, "2.0.0", "250 OK").0, Delivered);
    }

    #[test]
    fn gmail_meanings_win_over_the_registry() {
        // 5.7.27 is SPF at Gmail, null-MX sender in the registry (both auth here),
        // 5.7.29 is "no TLS" at Gmail but ARC in the registry.
        assert_eq!(
            classify("google", Bounced, "5.7.27", "550 5.7.27 SPF").0,
            Auth
        );
        assert_eq!(classify("google", Bounced, "5.7.29", "550 5.7.29 x").0, Tls);
        assert_eq!(classify("other", Bounced, "5.7.29", "550 5.7.29 x").0, Auth);
        assert_eq!(
            classify(
                "google",
                Deferred,
                "4.7.0",
                "421-4.7.0 [ip 15] Our system has detected an unusual rate of unsolicited mail"
            )
            .0,
            Throttling
        );
        assert_eq!(
            classify(
                "google",
                Deferred,
                "4.7.0",
                "421 4.7.0 The IP address sending this message does not have a PTR record"
            )
            .0,
            Auth
        );
        assert_eq!(
            classify("google", Deferred, "4.7.28", "421 4.7.28 x").0,
            Throttling
        );
        assert_eq!(
            classify(
                "google",
                Bounced,
                "5.7.26",
                "550-5.7.26 This mail has been blocked because the sender is unauthenticated."
            )
            .0,
            Auth
        );
        assert_eq!(
            classify(
                "google",
                Bounced,
                "5.7.1",
                "550 5.7.1 This message is likely unsolicited mail"
            )
            .0,
            Policy
        );
        assert_eq!(
            classify(
                "google",
                Bounced,
                "5.2.1",
                "550 5.2.1 The email account that you tried to reach is disabled"
            )
            .0,
            Hygiene
        );
    }

    #[test]
    fn microsoft_meanings() {
        assert_eq!(classify("microsoft", Deferred, "4.7.650", "451 4.7.650 The mail server [1.2.3.4] has been temporarily rate limited due to IP reputation (S775)").0, Throttling);
        assert_eq!(
            classify("microsoft", Deferred, "4.7.500", "451 4.7.500 Server busy").0,
            Throttling
        );
        assert_eq!(
            classify(
                "microsoft",
                Bounced,
                "5.4.1",
                "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)"
            )
            .0,
            Hygiene
        );
        assert_eq!(
            classify(
                "microsoft",
                Bounced,
                "5.4.1",
                "550 5.4.1 Relay Access Denied"
            )
            .0,
            Network
        );
        assert_eq!(
            classify(
                "microsoft",
                Bounced,
                "5.5.0",
                "550 5.5.0 Requested action not taken: mailbox unavailable"
            )
            .0,
            Hygiene
        );
        assert_eq!(
            classify(
                "microsoft",
                Bounced,
                "5.7.606",
                "550 5.7.606 Access denied, banned sending IP [1.2.3.4]"
            ),
            (Policy, Blocklist::MicrosoftBannedIp)
        );
        assert_eq!(
            classify(
                "microsoft",
                Bounced,
                "5.7.1",
                "550 5.7.1 Unfortunately, messages from [1.2.3.4] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150)."
            ),
            (Policy, Blocklist::MicrosoftS3150)
        );
        assert_eq!(
            classify(
                "microsoft",
                Bounced,
                "5.7.1",
                "550 5.7.1 Service unavailable, Client host [1.2.3.4] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/1.2.3.4 (AS3130)."
            ),
            (Policy, Blocklist::Spamhaus)
        );
        assert_eq!(
            classify("microsoft", Bounced, "5.7.515", "550 5.7.515 Access denied").0,
            Auth
        );
        assert_eq!(
            classify(
                "microsoft",
                Bounced,
                "5.1.10",
                "550 5.1.10 RESOLVER.ADR.RecipientNotFound"
            )
            .0,
            Hygiene
        );
        // Outside Microsoft, 5.1.10 is RFC 7505's null MX.
        assert_eq!(
            classify("other", Bounced, "5.1.10", "556 5.1.10 null MX").0,
            Network
        );
    }

    #[test]
    fn yahoo_markers() {
        assert_eq!(
            classify("yahoo", Deferred, "4.7.0", "421 4.7.0 [TSS04] Messages from 1.2.3.4 temporarily deferred due to unexpected volume or user complaints").0,
            Throttling
        );
        assert_eq!(
            classify(
                "yahoo",
                Deferred,
                "4.7.0",
                "421 4.7.0 [TSS09] All messages from 1.2.3.4 will be permanently deferred"
            )
            .0,
            Policy
        );
        assert_eq!(
            classify(
                "yahoo",
                Bounced,
                "",
                "554 Message not allowed - [PH01] Email not accepted for policy reasons."
            )
            .0,
            Policy
        );
        assert_eq!(
            classify(
                "yahoo",
                Bounced,
                "5.7.9",
                "554 5.7.9 Message not accepted for policy reasons."
            )
            .0,
            Policy
        );
        assert_eq!(
            classify(
                "yahoo",
                Bounced,
                "5.7.9",
                "550 5.7.9 This mail has been blocked because the sender is unauthenticated."
            )
            .0,
            Auth
        );
        assert_eq!(
            classify("yahoo", Bounced, "5.0.0", "554 delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0]").0,
            Hygiene
        );
        assert_eq!(
            classify("yahoo", Bounced, "", "554 delivery error: dd Sorry your message to x@aol.com cannot be delivered. This mailbox is disabled (554.30).").0,
            Hygiene
        );
        assert_eq!(
            classify(
                "yahoo",
                Bounced,
                "5.7.1",
                "553 5.7.1 [BL21] Connections will not be accepted from 1.2.3.4, because the ip is in Spamhaus's list"
            ),
            (Policy, Blocklist::Spamhaus)
        );
    }

    #[test]
    fn blocklists_are_named() {
        let list = |t: &str| classify("other", Bounced, "5.7.1", t).1;
        assert_eq!(
            list(
                "554 5.7.1 Service unavailable; Client host [1.2.3.4] blocked using zen.spamhaus.org"
            ),
            Blocklist::SpamhausZen
        );
        assert_eq!(
            list("554 5.7.1 blocked using b.barracudacentral.org"),
            Blocklist::Barracuda
        );
        assert_eq!(
            list("550 5.7.1 blocked using bl.spamcop.net"),
            Blocklist::SpamCop
        );
        assert_eq!(
            list("550 5.7.1 listed in dnsbl-1.uceprotect.net"),
            Blocklist::Uceprotect
        );
        assert_eq!(
            list(
                "550 5.7.0 Blocked - see https://support.proofpoint.com/dnsbl-lookup.cgi?ip=1.2.3.4"
            ),
            Blocklist::Proofpoint
        );
        assert_eq!(
            list("550 5.7.1 Mail from IP 1.2.3.4 was rejected due to listing in Spamhaus SBL."),
            Blocklist::SpamhausSbl
        );
        assert_eq!(
            list("550 5.7.1 blocked using dnsbl.example.net"),
            Blocklist::OtherList
        );
        assert_eq!(
            list("550 5.7.1 Sender address rejected: Access denied"),
            Blocklist::None
        );
    }

    #[test]
    fn generic_codes_and_texts() {
        assert_eq!(
            classify(
                "other",
                Bounced,
                "5.1.1",
                "550 5.1.1 <a@b>: Recipient address rejected: User unknown"
            )
            .0,
            Hygiene
        );
        assert_eq!(
            classify("other", Deferred, "4.2.2", "452 4.2.2 Mailbox is full").0,
            MailboxFull
        );
        assert_eq!(
            classify(
                "google",
                Deferred,
                "4.2.2",
                "452-4.2.2 The recipient's inbox is out of storage space."
            )
            .0,
            MailboxFull
        );
        assert_eq!(
            classify(
                "other",
                Deferred,
                "4.2.0",
                "450 4.2.0 <a@b>: Recipient address rejected: Greylisted, see http://postgrey"
            )
            .0,
            Greylisting
        );
        assert_eq!(
            classify(
                "other",
                Deferred,
                "4.4.1",
                "connect to mx[1.2.3.4]:25: Connection refused"
            )
            .0,
            Network
        );
        assert_eq!(
            classify(
                "other",
                Bounced,
                "5.4.4",
                "Host or domain name not found. Name service error"
            )
            .0,
            Network
        );
        assert_eq!(
            classify(
                "other",
                Bounced,
                "5.1.0",
                "Domain no-mail.example does not accept mail (nullMX)"
            )
            .0,
            Network
        );
        assert_eq!(
            classify(
                "other",
                Bounced,
                "5.3.4",
                "message size 12000000 exceeds size limit 10240000"
            )
            .0,
            Content
        );
        assert_eq!(
            classify(
                "other",
                Deferred,
                "4.3.0",
                "451 4.3.0 Temporary lookup failure"
            )
            .0,
            Remote
        );
        assert_eq!(
            classify(
                "other",
                Deferred,
                "4.3.2",
                "421 4.3.2 Service shutting down"
            )
            .0,
            Throttling
        );
        assert_eq!(
            classify("other", Bounced, "", "Unrouteable address").0,
            Hygiene
        );
        assert_eq!(
            classify("other", Deferred, "", "Connection timed out").0,
            Network
        );
        assert_eq!(
            classify("other", Bounced, "", "Message size exceeds fixed limit").0,
            Content
        );
        assert_eq!(
            classify_at("other", Deferred, "", "421 Service not available", true).0,
            Throttling
        );
        assert_eq!(
            classify("other", Deferred, "", "Tainted '/x' not permitted").0,
            Other
        );
        assert_eq!(
            classify(
                "other",
                Bounced,
                "5.7.1",
                "554 5.7.1 <a@b>: Sender address rejected: Access denied"
            )
            .0,
            Policy
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// Any reply bytes and any code classify without panicking.
        #[test]
        fn arbitrary_replies_never_panic(
            reply in proptest::collection::vec(any::<u8>(), 0..300),
            class in 0u8..7, subject in 0u16..9, detail in 0u16..1000,
            provider in 0u16..80, greeting in any::<bool>(),
        ) {
            let map = ProviderMap::builtin();
            let c = Classifier::new(&map);
            let _ = c.classify(&Answer {
                provider,
                status: Status::Deferred,
                dsn: Some(Dsn { class, subject, detail }),
                basic: None,
                reply: &reply,
                at_greeting: greeting,
            });
        }
    }
}
