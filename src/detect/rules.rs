//! What each rule says: its severity policy and the one-sentence action.
//!
//! Kept apart from the engine so the wording a postmaster reads is in one
//! place, next to the reasons for each threshold.

use super::{Severity, Thresholds};
use crate::classify::category::{Category, Grading};

/// The rule name of the expiry finding.
pub const EXPIRY_RULE: &str = "expiry";

/// Severity by share of attempts.
pub fn by_share(share: f64, t: &Thresholds) -> Severity {
    if share >= t.critical_share {
        Severity::Critical
    } else if share >= t.warning_share {
        Severity::Warning
    } else {
        Severity::Info
    }
}

/// Severity of a category finding, by its [`Grading`]: authentication and
/// policy blocks are at least a warning (each is a message refused for a
/// reason the sender controls); list hygiene is judged by the hard-bounce
/// rate against the guideline (2 %: warning at the guideline, critical at
/// 5 × the guideline); mailbox-full is at most a warning and greylisting
/// always info (the recipients' side, usually resolved on retry);
/// everything else by share (of all attempts, or during the worst episode).
pub fn severity(c: Category, share: f64, bounce_rate: f64, t: &Thresholds) -> Severity {
    let base = by_share(share, t);
    match c.spec().grading {
        Grading::AtLeastWarning => base.max(Severity::Warning),
        Grading::BounceGuideline => {
            if bounce_rate >= t.bounce_guideline * 5.0 {
                Severity::Critical
            } else if bounce_rate >= t.bounce_guideline {
                Severity::Warning
            } else {
                Severity::Info
            }
        }
        Grading::AtMostWarning => base.min(Severity::Warning),
        Grading::AlwaysInfo => Severity::Info,
        Grading::ByShare => base,
    }
}

/// What to do when the hand-off to a local content filter fails (`at`: "
/// at 127.0.0.1:10024" or empty).
pub fn handoff_action(c: Category, at: &str) -> String {
    let what = match c {
        Category::Network | Category::Tls => "is not accepting connections",
        Category::Throttling => "is turning mail away (load, process limits)",
        _ => "is refusing or failing mail",
    };
    format!(
        "The content filter{at} {what}: check that it runs (amavis, rspamd, clamsmtp: \
         systemctl status and its log), that it listens where Postfix's content_filter or \
         master.cf (Exim: the filter transport) sends mail, and its process and memory \
         limits; until it is back, mail waits in the queue (postqueue -p) and no \
         receiver is to blame."
    )
}

/// Where a provider's postmaster tools live.
fn postmaster_site(provider: &str) -> &'static str {
    match provider {
        "google" => " (Google Postmaster Tools: postmaster.google.com)",
        "microsoft" => " (Microsoft SNDS and JMRP: sendersupport.olc.protection.outlook.com)",
        "yahoo" => " (Yahoo Sender Hub: senders.yahooinc.com)",
        _ => "",
    }
}

/// What the postmaster should do next: one sentence.
pub struct ActionInput<'a> {
    /// Category.
    pub category: Category,
    /// Provider id or `all`.
    pub provider: &'a str,
    /// Blocklists named, most frequent first.
    pub blocklists: &'a [String],
    /// Sender domains involved, most frequent first.
    pub senders: &'a [String],
    /// Distinct recipients (hygiene, mailbox full).
    pub recipients: u64,
    /// Hard-bounce rate (hygiene).
    pub bounce_rate: f64,
    /// Thresholds (for the guideline).
    pub thresholds: &'a Thresholds,
}

/// The action sentence for a category finding.
pub fn action(a: &ActionInput<'_>) -> String {
    let who = if a.provider == "all" {
        "every destination".to_string()
    } else {
        a.provider.to_string()
    };
    let senders = if a.senders.is_empty() {
        "the failing sender domains".to_string()
    } else {
        a.senders.join(", ")
    };
    match a.category {
        Category::Throttling => format!(
            "Slow down for {who}: lower per-destination concurrency and rate (Postfix: a \
             transport for it with smtp_destination_concurrency_limit=2 and \
             smtp_destination_rate_delay=1s; Exim: serialize_hosts or a lower \
             remote_max_parallel), spread large campaigns over time, and watch reputation{}.",
            postmaster_site(a.provider)
        ),
        Category::Policy if !a.blocklists.is_empty() => format!(
            "Look the sending IP up on {} and request delisting once the cause (compromised \
             account, purchased list, open relay) is fixed; until then route {who} mail \
             through a clean IP.",
            a.blocklists.join(", ")
        ),
        Category::Policy => format!(
            "Check the sending IP's and domain's reputation with {who}{}, pause the campaign \
             that triggered the blocks, and fix list quality and content before retrying.",
            postmaster_site(a.provider)
        ),
        Category::Auth => format!(
            "Fix authentication for {senders}: publish SPF that includes this server's IP, \
             sign with DKIM aligned to the From: domain, publish DMARC, and check that the \
             sending IP's PTR record resolves back to it."
        ),
        Category::Network => format!(
            "Check egress to {who}: outbound port 25 through the firewall, the MX and A \
             records of the affected domains and your resolver; suppress recipients whose \
             domains do not exist."
        ),
        Category::Hygiene => format!(
            "Suppress these {} recipient address(es) and stop mailing an address after its \
             first hard bounce: the hard-bounce rate is {:.1}% against the {:.0}% guideline.",
            a.recipients,
            a.bounce_rate * 100.0,
            a.thresholds.bounce_guideline * 100.0
        ),
        Category::MailboxFull => format!(
            "Stop retrying the {} recipient(s) whose mailbox stays full and suppress them \
             after repeated soft bounces.",
            a.recipients
        ),
        Category::Greylisting => "Nothing to do if these deliver on retry; keep the sending IP \
             stable and retry within the greylisting window."
            .to_string(),
        Category::Content => format!(
            "Respect {who}'s message size limit (link large attachments instead of sending \
             them) and check the message format."
        ),
        Category::Tls => format!(
            "Fix TLS towards {who}: STARTTLS must work (certificate chain, protocol versions, \
             ciphers); check smtp_tls_security_level / tls_require_ciphers."
        ),
        Category::Remote => format!(
            "This is trouble on {who}'s side and usually passes; if it persists, contact its \
             postmaster with the queue ids below."
        ),
        Category::Other | Category::Delivered => format!(
            "mtastat does not recognise these replies from {who}: read the top reply texts \
             below (local configuration errors and unusual remote replies show up here)."
        ),
    }
}

/// The action sentence for an expiry finding.
pub fn expiry_action(provider: &str) -> String {
    format!(
        "Find why {provider} kept deferring these messages (the last deferral reasons below) \
         and fix that cause; a shorter queue lifetime for bulk mail makes such failures \
         surface sooner."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_policy() {
        let t = Thresholds::default();
        assert_eq!(
            severity(Category::Throttling, 0.01, 0.0, &t),
            Severity::Info
        );
        assert_eq!(
            severity(Category::Throttling, 0.10, 0.0, &t),
            Severity::Warning
        );
        assert_eq!(
            severity(Category::Throttling, 0.40, 0.0, &t),
            Severity::Critical
        );
        assert_eq!(severity(Category::Auth, 0.01, 0.0, &t), Severity::Warning);
        assert_eq!(
            severity(Category::Greylisting, 0.90, 0.0, &t),
            Severity::Info
        );
        assert_eq!(
            severity(Category::MailboxFull, 0.90, 0.0, &t),
            Severity::Warning
        );
        assert_eq!(severity(Category::Hygiene, 0.5, 0.01, &t), Severity::Info);
        assert_eq!(
            severity(Category::Hygiene, 0.5, 0.03, &t),
            Severity::Warning
        );
        assert_eq!(
            severity(Category::Hygiene, 0.5, 0.2, &t),
            Severity::Critical
        );
    }

    #[test]
    fn actions_name_lists_and_senders() {
        let t = Thresholds::default();
        let lists = ["Spamhaus".to_string()];
        let senders = ["promo-blast.example".to_string()];
        let mut a = ActionInput {
            category: Category::Policy,
            provider: "microsoft",
            blocklists: &lists,
            senders: &[],
            recipients: 0,
            bounce_rate: 0.0,
            thresholds: &t,
        };
        assert!(action(&a).contains("Spamhaus"));
        a.category = Category::Auth;
        a.senders = &senders;
        assert!(action(&a).contains("promo-blast.example"));
        a.category = Category::Hygiene;
        a.bounce_rate = 0.031;
        a.recipients = 12;
        let s = action(&a);
        assert!(s.contains("3.1%") && s.contains("2% guideline") && s.contains("12"));
    }
}
