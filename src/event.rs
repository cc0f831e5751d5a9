//! The events the parsers produce: borrowed views into one log line.
//!
//! Nothing here owns bytes. A `Delivery<'a>` lives only while the scanner
//! holds the line, which is what keeps the hot path free of allocations.

use crate::dsn::Dsn;

/// What happened to one recipient in one delivery attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Status {
    /// Accepted by the next hop or delivered locally.
    Sent = 0,
    /// Failed temporarily; the MTA will try again.
    Deferred = 1,
    /// Failed permanently; a bounce goes to the sender.
    Bounced = 2,
    /// Gave up after deferring for the whole queue lifetime.
    Expired = 3,
    /// Address verification (`sendmail -bv`, verify probes) said deliverable.
    Deliverable = 4,
    /// Address verification said undeliverable.
    Undeliverable = 5,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Status; 6] = [
        Status::Sent,
        Status::Deferred,
        Status::Bounced,
        Status::Expired,
        Status::Deliverable,
        Status::Undeliverable,
    ];

    /// The lowercase name used in frames, exports and JSON (Postfix's word).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Sent => "sent",
            Status::Deferred => "deferred",
            Status::Bounced => "bounced",
            Status::Expired => "expired",
            Status::Deliverable => "deliverable",
            Status::Undeliverable => "undeliverable",
        }
    }

    /// Postfix's `status=` word.
    pub fn from_postfix(word: &[u8]) -> Option<Status> {
        Some(match word {
            b"sent" => Status::Sent,
            b"deferred" => Status::Deferred,
            b"bounced" => Status::Bounced,
            b"expired" => Status::Expired,
            b"deliverable" => Status::Deliverable,
            b"undeliverable" => Status::Undeliverable,
            _ => return None,
        })
    }

    /// The class a code-less event of this status implies (sent → 2 …).
    pub fn implied_class(self) -> u8 {
        match self {
            Status::Sent | Status::Deliverable => 2,
            Status::Deferred => 4,
            Status::Bounced | Status::Expired | Status::Undeliverable => 5,
        }
    }

    /// True for address-verification results (Postfix `verify` probes,
    /// `sendmail -bv`): they test an address, they deliver nothing, and they
    /// are never counted as deliveries, in rates or in findings.
    #[inline]
    pub fn is_probe(self) -> bool {
        matches!(self, Status::Deliverable | Status::Undeliverable)
    }

    /// Index into per-status arrays.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One delivery attempt for one recipient.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery<'a> {
    /// Postfix queue id or Exim message id.
    pub queue_id: &'a [u8],
    /// The recipient address as logged (final address after aliasing).
    pub recipient: &'a [u8],
    /// The original address (`orig_to=`, Exim's `<parent>`), empty if none.
    pub orig_recipient: &'a [u8],
    /// The remote host talked to (`relay=host[ip]`, Exim `H=`), or the host
    /// named in a connection error when Postfix logs `relay=none`; empty if none.
    pub relay: &'a [u8],
    /// Postfix service (`smtp`, `local` …) or Exim transport (`T=`).
    pub transport: &'a [u8],
    /// The outcome of this attempt.
    pub status: Status,
    /// The enhanced status code, if the line has one.
    pub dsn: Option<Dsn>,
    /// The basic SMTP reply code (`550`) of the reply's last line, if any.
    pub basic: Option<u16>,
    /// The remote reply, or the local reason, without MTA decoration.
    pub reply: &'a [u8],
    /// Total delay in seconds, when logged.
    pub delay: Option<f32>,
    /// Postfix's `delays=a/b/c/d` as logged (seconds: before the queue
    /// manager, in the queue manager, connection setup, transmission);
    /// parsed by [`crate::parse::postfix::parse_delays`] only where needed.
    pub delays: &'a [u8],
    /// True when the recipient was delivered on this host (mailbox, file, pipe).
    pub local: bool,
    /// True when the next hop's address is on loopback on a content
    /// filter's port (Postfix `relay=amavis[127.0.0.1]:10024`): a hand-off,
    /// not a delivery to the recipient's provider. Loopback *names* are
    /// found by the provider lookup.
    pub loopback: bool,
    /// The next hop as logged, `name[address]:port` (Postfix `relay=`, or
    /// the host in a `relay=none` connection error); empty when not known.
    /// Names a content filter that fails.
    pub hop: &'a [u8],
    /// False when the MTA did not even try: Postfix "delivery temporarily
    /// suspended", Exim "retry time not reached".
    pub attempted: bool,
    /// True when the reply came at the connection greeting or EHLO
    /// (Postfix "refused to talk to me", Exim "after initial connection").
    pub at_greeting: bool,
}

impl<'a> Delivery<'a> {
    /// An attempt with nothing but its message, recipient and status: no
    /// relay, code, reply or delay, attempted, not local. The parsers fill
    /// in what their line says.
    pub fn new(queue_id: &'a [u8], recipient: &'a [u8], status: Status) -> Delivery<'a> {
        Delivery {
            queue_id,
            recipient,
            orig_recipient: b"",
            relay: b"",
            transport: b"",
            status,
            dsn: None,
            basic: None,
            reply: b"",
            delay: None,
            delays: b"",
            local: false,
            loopback: false,
            hop: b"",
            attempted: true,
            at_greeting: false,
        }
    }

    /// The class of this attempt: from the enhanced code, else from the basic
    /// reply code, else implied by the status.
    pub fn class(&self) -> u8 {
        if let Some(d) = self.dsn {
            return d.class;
        }
        match self.basic {
            Some(code @ 200..=599) if matches!(code / 100, 2 | 4 | 5) => (code / 100) as u8,
            _ => self.status.implied_class(),
        }
    }
}

/// What the MTA logged about a message on its way into the queue: the
/// journey's first facts. One line holds one or several of them (Exim's
/// `<=` line has all; Postfix spreads them over smtpd, cleanup and qmgr).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Queued<'a> {
    /// Postfix queue id or Exim message id.
    pub queue_id: &'a [u8],
    /// The envelope sender (empty for `<>`), when the line names it.
    pub sender: Option<&'a [u8]>,
    /// Message size in bytes (`size=`, Exim `S=`).
    pub size: Option<u64>,
    /// Number of recipients (Postfix `nrcpt=`).
    pub nrcpt: Option<u32>,
    /// The sending client (`client=host[ip]`, Exim `H=`, `pickup` for local
    /// submission); empty when the line does not name it.
    pub client: &'a [u8],
    /// The SASL user the client authenticated as (Postfix smtpd
    /// `sasl_username=`, Exim `A=authenticator:user`); empty when none.
    pub sasl_user: &'a [u8],
    /// The `Message-ID` header (cleanup `message-id=`, Exim `id=`).
    pub message_id: &'a [u8],
    /// This line marks the message's arrival (cleanup, Exim `<=`), not a
    /// later step such as qmgr taking it from the deferred queue again.
    pub arrival: bool,
}

/// A client's failed SMTP AUTH: Postfix smtpd `warning: host[ip]: SASL
/// LOGIN authentication failed: reason, sasl_username=user`, Exim `name
/// authenticator failed for (helo) [ip]: 535 … (set_id=user)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthFailure<'a> {
    /// The client as logged (`host[ip]`, Exim `host (helo) [ip]:port`).
    pub client: &'a [u8],
    /// The user name tried, when the line names it; empty otherwise.
    pub user: &'a [u8],
    /// The failure text after the mechanism (Postfix) or the client (Exim).
    pub reason: &'a [u8],
    /// The whole text (Postfix: after `warning: `), for the notices table.
    pub text: &'a [u8],
    /// The MTA logged it as a warning (Postfix), which the warnings table
    /// counts; Exim's is a plain main-log line.
    pub warning: bool,
}

impl AuthFailure<'_> {
    /// True when the server, not the client, failed: the authentication
    /// backend was unreachable or refused temporarily (Postfix "Connection
    /// lost to authentication server", Cyrus "generic failure", Exim's 435
    /// and 454). A dead dovecot makes every login fail: that is no attack.
    pub fn server_side(&self) -> bool {
        const SERVER: [&[u8]; 4] = [
            b"authentication server",
            b"generic failure",
            b"Unable to authenticate at present",
            b"Temporary authentication failure",
        ];
        let r = self.reason.trim_ascii_start();
        r.starts_with(b"435 ")
            || r.starts_with(b"454 ")
            || SERVER
                .iter()
                .any(|m| memchr::memmem::find(self.reason, m).is_some())
    }
}

/// How serious a daemon's own message is (Postfix `warning:`, `fatal:` …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// `warning:`.
    Warning = 0,
    /// `error:`.
    Error = 1,
    /// `fatal:`: the daemon exited.
    Fatal = 2,
    /// `panic:`: the daemon hit a bug.
    Panic = 3,
    /// The master daemon (starts, stops, reloads, process limits).
    Master = 4,
}

impl Level {
    /// Every level, in report order.
    pub const ALL: [Level; 5] = [
        Level::Warning,
        Level::Error,
        Level::Fatal,
        Level::Panic,
        Level::Master,
    ];

    /// Name used in the report and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Fatal => "fatal",
            Level::Panic => "panic",
            Level::Master => "master",
        }
    }
}
