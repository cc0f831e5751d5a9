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
    /// How the connection was protected, when the line says (Exim's `X=`
    /// and `CV=` on a delivery); `None` when it does not (Postfix logs it
    /// on a line of its own, joined by the smtp process).
    pub tls: Option<Tls>,
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
            tls: None,
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
    /// How the client's connection was protected, when the line says
    /// (Exim's `<=` with `H=`); Postfix logs it on smtpd's line of its own.
    pub tls: Option<Tls>,
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

/// How a connection was protected, weakest first. Postfix names the
/// levels (`Anonymous`, `Untrusted`, `Trusted`, `Verified TLS connection
/// established`); Exim's `CV=no` is untrusted, `CV=yes` a trusted chain,
/// `CV=dane` verified, and `X=` without `CV=` encrypted with the
/// certificate not logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TlsLevel {
    /// No TLS: the message crossed the network in clear text.
    Clear = 0,
    /// TLS with no certificate looked at (anonymous ciphers, or a client
    /// that showed none).
    Anonymous = 1,
    /// TLS; the peer's certificate did not verify.
    Untrusted = 2,
    /// TLS; whether the certificate verified was not logged.
    Encrypted = 3,
    /// TLS; the certificate chain verified (the name was not required to match).
    Trusted = 4,
    /// TLS; chain and name verified (Postfix `verify`/`secure`/`dane`
    /// levels, Exim DANE).
    Verified = 5,
    /// Not known: the connection began before the input did.
    Unknown = 6,
    /// Not known in this run yet: the connection began in an earlier run of
    /// the input; the merge settles it (never leaves the aggregation).
    Inherit = 7,
}

impl TlsLevel {
    /// Every level a report shows, strongest first.
    pub const SHOWN: [TlsLevel; 7] = [
        TlsLevel::Verified,
        TlsLevel::Trusted,
        TlsLevel::Encrypted,
        TlsLevel::Untrusted,
        TlsLevel::Anonymous,
        TlsLevel::Clear,
        TlsLevel::Unknown,
    ];

    /// Name used in the report, JSON and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsLevel::Clear => "clear",
            TlsLevel::Anonymous => "anonymous",
            TlsLevel::Untrusted => "untrusted",
            TlsLevel::Encrypted => "encrypted",
            TlsLevel::Trusted => "trusted",
            TlsLevel::Verified => "verified",
            TlsLevel::Unknown | TlsLevel::Inherit => "unknown",
        }
    }

    /// Encrypted, whatever the certificate.
    pub fn is_tls(self) -> bool {
        matches!(
            self,
            TlsLevel::Anonymous
                | TlsLevel::Untrusted
                | TlsLevel::Encrypted
                | TlsLevel::Trusted
                | TlsLevel::Verified
        )
    }

    /// The peer's certificate verified (a trusted chain at least).
    pub fn is_verified(self) -> bool {
        matches!(self, TlsLevel::Trusted | TlsLevel::Verified)
    }

    /// Encrypted, and the certificate did not verify (or none was shown).
    pub fn is_unverified(self) -> bool {
        matches!(self, TlsLevel::Anonymous | TlsLevel::Untrusted)
    }

    /// Postfix's word before `TLS connection established`.
    pub fn from_postfix(word: &[u8]) -> Option<TlsLevel> {
        Some(match word {
            b"Anonymous" => TlsLevel::Anonymous,
            b"Untrusted" => TlsLevel::Untrusted,
            b"Trusted" => TlsLevel::Trusted,
            b"Verified" => TlsLevel::Verified,
            _ => return None,
        })
    }

    /// From its [`TlsLevel::as_str`] name.
    pub fn from_name(name: &str) -> Option<TlsLevel> {
        TlsLevel::SHOWN.into_iter().find(|l| l.as_str() == name)
    }
}

/// The TLS protocol version of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TlsProtocol {
    /// None (clear text), or not logged.
    None = 0,
    /// SSL 3.0.
    Ssl3 = 1,
    /// TLS 1.0.
    Tls10 = 2,
    /// TLS 1.1.
    Tls11 = 3,
    /// TLS 1.2.
    Tls12 = 4,
    /// TLS 1.3.
    Tls13 = 5,
    /// A name mtastat does not know (Exim's test suite `TLS1.x`).
    Other = 6,
}

impl TlsProtocol {
    /// Every version, newest first.
    pub const ALL: [TlsProtocol; 7] = [
        TlsProtocol::Tls13,
        TlsProtocol::Tls12,
        TlsProtocol::Tls11,
        TlsProtocol::Tls10,
        TlsProtocol::Ssl3,
        TlsProtocol::Other,
        TlsProtocol::None,
    ];

    /// Name used in the report, JSON and exports (empty for none).
    pub fn as_str(self) -> &'static str {
        match self {
            TlsProtocol::None => "",
            TlsProtocol::Ssl3 => "SSLv3",
            TlsProtocol::Tls10 => "TLSv1.0",
            TlsProtocol::Tls11 => "TLSv1.1",
            TlsProtocol::Tls12 => "TLSv1.2",
            TlsProtocol::Tls13 => "TLSv1.3",
            TlsProtocol::Other => "other",
        }
    }

    /// Older than TLS 1.2: deprecated by RFC 8996.
    pub fn is_deprecated(self) -> bool {
        matches!(
            self,
            TlsProtocol::Ssl3 | TlsProtocol::Tls10 | TlsProtocol::Tls11
        )
    }

    /// A version as OpenSSL and GnuTLS spell it (`TLSv1.3`, `TLSv1`,
    /// Exim's `TLS1.2`, `SSLv3`); [`TlsProtocol::Other`] for any other word.
    pub fn parse(word: &[u8]) -> TlsProtocol {
        // As OpenSSL spells them (nearly every line), before any folding.
        match word {
            b"TLSv1.3" | b"TLS1.3" => return TlsProtocol::Tls13,
            b"TLSv1.2" | b"TLS1.2" => return TlsProtocol::Tls12,
            _ => {}
        }
        let lower = |b: &u8| b.to_ascii_lowercase();
        let mut w = [0u8; 8];
        if word.len() > w.len() {
            return TlsProtocol::Other;
        }
        for (o, b) in w.iter_mut().zip(word) {
            *o = lower(b);
        }
        match &w[..word.len()] {
            b"tlsv1.3" | b"tls1.3" => TlsProtocol::Tls13,
            b"tlsv1.2" | b"tls1.2" => TlsProtocol::Tls12,
            b"tlsv1.1" | b"tls1.1" => TlsProtocol::Tls11,
            b"tlsv1" | b"tlsv1.0" | b"tls1" | b"tls1.0" => TlsProtocol::Tls10,
            b"sslv3" | b"ssl3" | b"ssl3.0" => TlsProtocol::Ssl3,
            _ => TlsProtocol::Other,
        }
    }
}

/// A connection's protection: level and protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tls {
    /// How (or whether) the peer's certificate verified.
    pub level: TlsLevel,
    /// The protocol version.
    pub protocol: TlsProtocol,
}

impl Tls {
    /// No TLS.
    pub const CLEAR: Tls = Tls {
        level: TlsLevel::Clear,
        protocol: TlsProtocol::None,
    };
    /// Not known.
    pub const UNKNOWN: Tls = Tls {
        level: TlsLevel::Unknown,
        protocol: TlsProtocol::None,
    };
    /// Settled by the merge.
    pub const INHERIT: Tls = Tls {
        level: TlsLevel::Inherit,
        protocol: TlsProtocol::None,
    };

    /// Exim's `X=TLS1.3:cipher:bits` value and `CV=` value (empty when not
    /// logged).
    pub fn exim(x: &[u8], cv: &[u8]) -> Tls {
        let version = &x[..memchr::memchr(b':', x).unwrap_or(x.len())];
        let level = match cv {
            b"yes" => TlsLevel::Trusted,
            b"dane" => TlsLevel::Verified,
            b"no" => TlsLevel::Untrusted,
            _ => TlsLevel::Encrypted,
        };
        Tls {
            level,
            protocol: TlsProtocol::parse(version),
        }
    }
}

/// Postfix's summary of a TLS handshake (`smtp[pid]: Trusted TLS
/// connection established to host[ip]:25: TLSv1.3 with cipher …`, smtpd's
/// `… established from host[ip]: …`). No queue id: the smtp or smtpd
/// process's next line about a message is on that connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsSession<'a> {
    /// `from` a client (smtpd), not `to` a server (smtp).
    pub inbound: bool,
    /// The peer as logged: `host[ip]:port` (to), `host[ip]` (from).
    pub peer: &'a [u8],
    /// Level and protocol.
    pub tls: Tls,
}
