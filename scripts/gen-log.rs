//! `mtastat-gen`: a deterministic, fast generator of big Postfix or Exim logs
//! for benchmarks (`scripts/bench.sh`, `cargo bench`).
//!
//! ```text
//! mtastat-gen --format postfix|exim --size 2G [--seed N] [--out FILE]
//! ```
//!
//! Same seed and size, same bytes. The line mix is an outbound relay's:
//! smtpd connect/client/disconnect, cleanup, qmgr `from=` (queue active, again
//! on every retry) and `removed`, TLS notices, anvil statistics, a few other
//! programs' lines; delivery lines (15–25 %) across the big providers with
//! their real reply texts and codes; deferrals that are retried later and
//! mostly succeed, some bounce, a few expire; bounce notifications; and days
//! that roll over (the log spans several midnights). Exim writes `<=`, `=>`,
//! `->`, `==`, `**`, `Completed`, per-host errors and SMTP connection lines.
//!
//! It depends on nothing but std (its own xorshift generator), so the
//! benchmark harness can include this file as a module and generate its input
//! in memory. Writes ~300 MB/s: 2 GB in a few seconds.

use std::collections::{BinaryHeap, HashMap};
use std::io::{self, Write};

/// xorshift64*: tiny, fast, deterministic.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is remapped).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// One element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Log flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Postfix via syslog (`Nov 22 12:00:00 mx1 postfix/smtp[123]: …`).
    Postfix,
    /// Exim mainlog (`2026-11-22 12:00:00 1xV6qi-0004PA-2t => …`).
    Exim,
}

struct Provider {
    domains: &'static [&'static str],
    mx: &'static str,
    ip: &'static str,
    weight: u64,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gmail,
    Outlook,
    Yahoo,
    Icloud,
    Generic,
    Refused,
}

const PROVIDERS: &[Provider] = &[
    Provider {
        domains: &["gmail.com", "googlemail.com"],
        mx: "gmail-smtp-in.l.google.com",
        ip: "142.250.102.26",
        weight: 30,
        kind: Kind::Gmail,
    },
    Provider {
        domains: &["example-corp.com"],
        mx: "aspmx.l.google.com",
        ip: "142.250.27.26",
        weight: 3,
        kind: Kind::Gmail,
    },
    Provider {
        domains: &["outlook.com", "hotmail.com", "live.com"],
        mx: "outlook-com.olc.protection.outlook.com",
        ip: "52.101.68.2",
        weight: 14,
        kind: Kind::Outlook,
    },
    Provider {
        domains: &["contoso.com", "fabrikam.com"],
        mx: "contoso-com.mail.protection.outlook.com",
        ip: "52.101.41.4",
        weight: 4,
        kind: Kind::Outlook,
    },
    Provider {
        domains: &["yahoo.com", "ymail.com", "aol.com"],
        mx: "mta5.am0.yahoodns.net",
        ip: "67.195.204.72",
        weight: 14,
        kind: Kind::Yahoo,
    },
    Provider {
        domains: &["icloud.com", "me.com"],
        mx: "mx01.mail.icloud.com",
        ip: "17.57.155.34",
        weight: 6,
        kind: Kind::Icloud,
    },
    Provider {
        domains: &["gmx.de", "web.de"],
        mx: "mx00.gmx.net",
        ip: "212.227.17.5",
        weight: 3,
        kind: Kind::Generic,
    },
    Provider {
        domains: &["initech.example", "acme.example", "globex.example"],
        mx: "mail.initech.example",
        ip: "192.0.2.50",
        weight: 8,
        kind: Kind::Generic,
    },
    Provider {
        domains: &["bank.example"],
        mx: "mx0a-001.pphosted.com",
        ip: "148.163.156.1",
        weight: 2,
        kind: Kind::Generic,
    },
    Provider {
        domains: &["oldcompany.example"],
        mx: "mail.oldcompany.example",
        ip: "192.0.2.62",
        weight: 1,
        kind: Kind::Refused,
    },
];

const SENDERS: &[&str] = &[
    "news@shop.example",
    "billing@saas.example",
    "alerts@relay.example",
    "noreply@shop.example",
    "offers@promo.example",
];
const FIRST: &[&str] = &[
    "james", "mary", "li", "sofia", "noah", "emma", "lucas", "mia", "omar", "ana", "yuki", "ivan",
    "chloe", "raj", "lena",
];
const LAST: &[&str] = &[
    "smith", "garcia", "chen", "muller", "rossi", "khan", "silva", "kim", "novak", "jones",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// What the remote side said to one attempt.
struct Reply {
    status: &'static str,
    dsn: &'static str,
    text: String,
    command: &'static str,
}

fn reply(rng: &mut Rng, kind: Kind, rcpt: &str, try_no: u32) -> Reply {
    let sent = |text: String| Reply {
        status: "sent",
        dsn: "2.0.0",
        text,
        command: "",
    };
    // Retries mostly succeed: the remote condition was temporary.
    let retry_ok = try_no > 1 && rng.chance(0.7);
    match kind {
        Kind::Gmail => {
            if !retry_ok && rng.chance(0.02) {
                return Reply {
                    status: "bounced",
                    dsn: "5.1.1",
                    text: format!(
                        "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser {:x}si{}.{} - gsmtp",
                        rng.next_u64(),
                        rng.below(99_999),
                        rng.below(999)
                    ),
                    command: "RCPT TO",
                };
            }
            if !retry_ok && rng.chance(0.04) {
                let code = if rng.chance(0.5) { "4.7.28" } else { "4.7.0" };
                return Reply {
                    status: "deferred",
                    dsn: code,
                    text: format!(
                        "421-{code} [198.51.100.23      15] Our system has detected an unusual rate of 421-{code} unsolicited mail originating from your IP address. 421 {code} https://support.google.com/mail/?p=UnsolicitedRateLimitError {:x}si{}.{} - gsmtp",
                        rng.next_u64(),
                        rng.below(99_999),
                        rng.below(999)
                    ),
                    command: "end of DATA",
                };
            }
            sent(format!(
                "250 2.0.0 OK  {} {:x}si{}.{} - gsmtp",
                1_700_000_000 + rng.below(99_999_999),
                rng.next_u64(),
                rng.below(99_999),
                rng.below(999)
            ))
        }
        Kind::Outlook => {
            if !retry_ok && rng.chance(0.025) {
                return Reply {
                    status: "bounced",
                    dsn: "5.5.0",
                    text: format!(
                        "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [AM{}PEPF0000{:05}.eurprd04.prod.outlook.com]",
                        rng.below(9),
                        rng.below(99_999)
                    ),
                    command: "RCPT TO",
                };
            }
            if !retry_ok && rng.chance(0.03) {
                return Reply { status: "deferred", dsn: "4.7.650", text: "451 4.7.650 The mail server [198.51.100.23] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775)".into(), command: "MAIL FROM" };
            }
            sent(format!(
                "250 2.6.0 <{}@shop.example> [InternalId={}, Hostname=AM{}PEPF0000{:05}.eurprd04.prod.outlook.com] Queued mail for delivery",
                rng.below(1 << 40),
                rng.below(1 << 40),
                rng.below(9),
                rng.below(99_999)
            ))
        }
        Kind::Yahoo => {
            if !retry_ok && rng.chance(0.06) {
                return Reply { status: "deferred", dsn: "4.7.0", text: "421 4.7.0 [TSS04] Messages from 198.51.100.23 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes".into(), command: "end of DATA" };
            }
            if !retry_ok && rng.chance(0.03) {
                return Reply {
                    status: "bounced",
                    dsn: "5.0.0",
                    text: format!(
                        "554 delivery error: dd This user doesn't have a yahoo.com account ({rcpt}) [0] - mta{}.mail.ne1.yahoo.com",
                        rng.below(9999)
                    ),
                    command: "end of DATA",
                };
            }
            sent("250 ok dirdel".into())
        }
        Kind::Icloud => {
            if !retry_ok && rng.chance(0.02) {
                return Reply {
                    status: "bounced",
                    dsn: "5.1.1",
                    text: format!("550 5.1.1 <{rcpt}>: user does not exist"),
                    command: "RCPT TO",
                };
            }
            if !retry_ok && rng.chance(0.01) {
                return Reply {
                    status: "deferred",
                    dsn: "4.2.2",
                    text: format!("452 4.2.2 <{rcpt}>: mailbox is full"),
                    command: "RCPT TO",
                };
            }
            sent(format!(
                "250 2.0.0 OK: queued as {:012X}",
                rng.below(1 << 48)
            ))
        }
        Kind::Generic => {
            if !retry_ok && rng.chance(0.03) {
                return Reply {
                    status: "bounced",
                    dsn: "5.1.1",
                    text: format!(
                        "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"
                    ),
                    command: "RCPT TO",
                };
            }
            if !retry_ok && rng.chance(0.02) {
                return Reply {
                    status: "deferred",
                    dsn: "4.2.0",
                    text: format!(
                        "450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/initech.example.html"
                    ),
                    command: "RCPT TO",
                };
            }
            sent(format!(
                "250 2.0.0 Ok: queued as {:010X}",
                rng.below(1 << 40)
            ))
        }
        Kind::Refused => Reply {
            status: "deferred",
            dsn: "4.4.1",
            text: String::new(),
            command: "",
        },
    }
}

/// A recipient waiting for its next try.
#[derive(PartialEq, Eq)]
struct Retry {
    at: i64,
    msg: u64,
    rcpt: String,
    provider: usize,
    try_no: u32,
    sender: usize,
    /// When the message arrived (for the queue lifetime).
    first: i64,
}

impl Ord for Retry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        o.at.cmp(&self.at).then_with(|| o.msg.cmp(&self.msg))
    }
}

impl PartialOrd for Retry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// The generator state.
pub struct Generator {
    rng: Rng,
    flavor: Flavor,
    t: i64,
    next_msg: u64,
    retries: BinaryHeap<Retry>,
    /// Recipients still waiting for a retry, per message: the message
    /// leaves the queue (`removed`, `Completed`) with its last one, as an
    /// MTA logs it, not with the first one done.
    waiting: HashMap<u64, usize>,
    pid: u64,
    stamp_for: i64,
    stamp: String,
}

const LIFETIME: i64 = 5 * 86_400;

impl Generator {
    /// Starts at 2026-11-28 20:00 UTC, so a few GB cross several midnights.
    pub fn new(flavor: Flavor, seed: u64) -> Generator {
        Generator {
            rng: Rng::new(seed),
            flavor,
            t: 1_795_896_000,
            next_msg: 0,
            retries: BinaryHeap::new(),
            waiting: HashMap::new(),
            pid: 20_000,
            stamp_for: i64::MIN,
            stamp: String::new(),
        }
    }

    fn stamp(&mut self, t: i64) -> &str {
        if t != self.stamp_for {
            let (y, m, d) = mtastat::time::civil_from_days(t.div_euclid(86_400));
            let s = t.rem_euclid(86_400);
            let (hh, mm, ss) = (s / 3600, s / 60 % 60, s % 60);
            self.stamp = match self.flavor {
                Flavor::Postfix => format!(
                    "{} {d:>2} {hh:02}:{mm:02}:{ss:02}",
                    MONTHS[(m as usize).saturating_sub(1) % 12]
                ),
                Flavor::Exim => format!("{y}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}"),
            };
            self.stamp_for = t;
        }
        &self.stamp
    }

    fn qid(&self, msg: u64) -> String {
        match self.flavor {
            Flavor::Postfix => format!("{:010X}", msg.wrapping_mul(0x9E37_79B9) & 0xFF_FFFF_FFFF),
            Flavor::Exim => {
                const B62: &[u8] =
                    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
                let mut x = msg.wrapping_mul(0x2545_F491_4F6C_DD1D);
                let mut id = String::with_capacity(16);
                for (i, n) in [6usize, 6, 2].into_iter().enumerate() {
                    if i > 0 {
                        id.push('-');
                    }
                    for _ in 0..n {
                        id.push(B62[(x % 62) as usize] as char);
                        x /= 62;
                        if x == 0 {
                            x = msg ^ 0x5DEE_CE66;
                        }
                    }
                }
                id
            }
        }
    }

    fn pick_provider(&mut self) -> usize {
        let total: u64 = PROVIDERS.iter().map(|p| p.weight).sum();
        let mut r = self.rng.below(total);
        for (i, p) in PROVIDERS.iter().enumerate() {
            if r < p.weight {
                return i;
            }
            r -= p.weight;
        }
        0
    }

    /// Appends one message's arrival (and its first tries), or one due
    /// retry, to `out`.
    pub fn step(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let due = self.retries.peek().is_some_and(|r| r.at <= self.t);
        if due {
            if let Some(r) = self.retries.pop() {
                self.retry(r, out)?;
            }
            return Ok(());
        }
        self.t += 1 + self.rng.below(3) as i64;
        self.arrival(out)
    }

    fn arrival(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let msg = self.next_msg;
        self.next_msg += 1;
        let q = self.qid(msg);
        let t = self.t;
        let sender = self.rng.below(SENDERS.len() as u64) as usize;
        let n = if self.rng.chance(0.8) {
            1
        } else {
            2 + self.rng.below(3) as usize
        };
        let mut rcpts = Vec::with_capacity(n);
        for _ in 0..n {
            let p = self.pick_provider();
            let domain = *self.rng.pick(PROVIDERS[p].domains);
            let first = *self.rng.pick(FIRST);
            let last = *self.rng.pick(LAST);
            let k = self.rng.below(100);
            rcpts.push((format!("{first}.{last}{k}@{domain}"), p));
        }
        let client_ip = format!("10.0.{}.{}", self.rng.below(255), 1 + self.rng.below(254));
        let size = 2000 + self.rng.below(90_000);
        self.pid += 1;
        let pid = self.pid;
        let stamp = self.stamp(t).to_string();
        match self.flavor {
            Flavor::Postfix => {
                writeln!(
                    out,
                    "{stamp} mx1 postfix/smtpd[{pid}]: connect from app{}.relay.example[{client_ip}]",
                    pid % 9
                )?;
                writeln!(
                    out,
                    "{stamp} mx1 postfix/smtpd[{pid}]: Anonymous TLS connection established from app.relay.example[{client_ip}]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
                )?;
                writeln!(
                    out,
                    "{stamp} mx1 postfix/smtpd[{pid}]: {q}: client=app.relay.example[{client_ip}]"
                )?;
                writeln!(
                    out,
                    "{stamp} mx1 postfix/cleanup[{}]: {q}: message-id=<{t}.{msg}@relay.example>",
                    pid + 1
                )?;
                writeln!(
                    out,
                    "{stamp} mx1 postfix/qmgr[900]: {q}: from=<{}>, size={size}, nrcpt={n} (queue active)",
                    SENDERS[sender]
                )?;
                writeln!(
                    out,
                    "{stamp} mx1 postfix/smtpd[{pid}]: disconnect from app.relay.example[{client_ip}] ehlo=2 starttls=1 mail=1 rcpt={n} data=1 quit=1 commands={}",
                    6 + n
                )?;
                if msg % 50 == 0 {
                    writeln!(
                        out,
                        "{stamp} mx1 postfix/anvil[880]: statistics: max connection rate 12/60s for (smtp:10.0.0.5) at {stamp}"
                    )?;
                    writeln!(
                        out,
                        "{stamp} mx1 dovecot: imap(alice)<{pid}><abc>: Logged out in=120 out=1024"
                    )?;
                }
            }
            Flavor::Exim => {
                if msg % 10 == 0 {
                    writeln!(
                        out,
                        "{stamp} SMTP connection from (app.relay.example) [{client_ip}]:{} I=[10.0.0.1]:25 closed by QUIT",
                        30_000 + pid % 30_000
                    )?;
                }
                writeln!(
                    out,
                    "{stamp} {q} <= {} H=(app.relay.example) [{client_ip}] P=esmtps X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no S={size} id={t}.{msg}@relay.example",
                    SENDERS[sender]
                )?;
            }
        }
        let mut done = 0;
        for (i, (rcpt, p)) in rcpts.into_iter().enumerate() {
            if self.attempt(out, msg, &q, rcpt, p, 1, sender, (t, t), i > 0)? {
                done += 1;
            }
        }
        if done == n {
            self.finish(out, &q, t)?;
        } else {
            self.waiting.insert(msg, n - done);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>, q: &str, t: i64) -> io::Result<()> {
        let stamp = self.stamp(t).to_string();
        match self.flavor {
            Flavor::Postfix => writeln!(out, "{stamp} mx1 postfix/qmgr[900]: {q}: removed"),
            Flavor::Exim => writeln!(out, "{stamp} {q} Completed"),
        }
    }

    fn retry(&mut self, r: Retry, out: &mut Vec<u8>) -> io::Result<()> {
        let q = self.qid(r.msg);
        let stamp = self.stamp(r.at).to_string();
        if self.flavor == Flavor::Postfix {
            writeln!(
                out,
                "{stamp} mx1 postfix/qmgr[900]: {q}: from=<{}>, size={}, nrcpt=1 (queue active)",
                SENDERS[r.sender],
                2000 + r.msg % 90_000
            )?;
        }
        if self.attempt(
            out,
            r.msg,
            &q,
            r.rcpt,
            r.provider,
            r.try_no,
            r.sender,
            (r.first, r.at),
            false,
        )? {
            let left = self.waiting.get_mut(&r.msg).map(|n| {
                *n = n.saturating_sub(1);
                *n
            });
            if left.unwrap_or(0) == 0 {
                self.waiting.remove(&r.msg);
                self.finish(out, &q, r.at)?;
            }
        }
        Ok(())
    }

    /// One try for one recipient; true when the recipient is done.
    #[allow(clippy::too_many_arguments)]
    fn attempt(
        &mut self,
        out: &mut Vec<u8>,
        msg: u64,
        q: &str,
        rcpt: String,
        p: usize,
        try_no: u32,
        sender: usize,
        (first, t): (i64, i64),
        more: bool,
    ) -> io::Result<bool> {
        let prov = &PROVIDERS[p];
        let rep = reply(&mut self.rng, prov.kind, &rcpt, try_no);
        let age = t - first;
        // Postfix-like backoff: 10, 20, 40 minutes, then ~67 minutes (4000 s).
        let wait = (600i64 << (try_no - 1).min(3)).min(4000) + self.rng.below(600) as i64;
        let expired = rep.status == "deferred" && age + wait > LIFETIME;
        let stamp = self.stamp(t).to_string();
        self.pid += 1;
        let pid = 30_000 + self.pid % 30_000;
        let delay = age as f64 + (self.rng.below(3000) as f64) / 1000.0;
        match self.flavor {
            Flavor::Postfix => {
                let (relay, text) = if prov.kind == Kind::Refused {
                    (
                        "none".to_string(),
                        format!("connect to {}[{}]:25: Connection refused", prov.mx, prov.ip),
                    )
                } else if rep.status == "sent" {
                    (format!("{}[{}]:25", prov.mx, prov.ip), rep.text.clone())
                } else {
                    (
                        format!("{}[{}]:25", prov.mx, prov.ip),
                        format!(
                            "host {}[{}] said: {} (in reply to {} command)",
                            prov.mx, prov.ip, rep.text, rep.command
                        ),
                    )
                };
                if rep.status != "deferred" || prov.kind != Kind::Refused {
                    writeln!(
                        out,
                        "{stamp} mx1 postfix/smtp[{pid}]: Trusted TLS connection established to {}[{}]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
                        prov.mx, prov.ip
                    )?;
                }
                writeln!(
                    out,
                    "{stamp} mx1 postfix/smtp[{pid}]: {q}: to=<{rcpt}>, relay={relay}, delay={delay:.1}, delays=0.01/0/0.1/{:.2}, dsn={}, status={} ({text})",
                    delay / 10.0,
                    rep.dsn,
                    rep.status
                )?;
                if rep.status == "bounced" {
                    writeln!(
                        out,
                        "{stamp} mx1 postfix/bounce[{}]: {q}: sender non-delivery notification: {:010X}",
                        pid + 1,
                        msg.wrapping_mul(31) & 0xFF_FFFF_FFFF
                    )?;
                }
                if expired {
                    writeln!(
                        out,
                        "{stamp} mx1 postfix/qmgr[900]: {q}: from=<{}>, status=expired, returned to sender",
                        SENDERS[sender]
                    )?;
                }
            }
            Flavor::Exim => {
                let flag = if more { "->" } else { "=>" };
                let host = format!("H={} [{}]", prov.mx, prov.ip);
                match rep.status {
                    "sent" => writeln!(
                        out,
                        "{stamp} {q} {flag} {rcpt} R=dnslookup T=remote_smtp {host} X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes C=\"{}\"",
                        rep.text
                    )?,
                    "bounced" => writeln!(
                        out,
                        "{stamp} {q} ** {rcpt} R=dnslookup T=remote_smtp {host} X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes: SMTP error from remote mail server after {}: {}",
                        exim_cmd(rep.command, &rcpt),
                        rep.text
                            .replace(" 550-", "\\n550-")
                            .replace(" 550 ", "\\n550 ")
                    )?,
                    _ if expired => writeln!(out, "{stamp} {q} ** {rcpt}: retry timeout exceeded")?,
                    _ if prov.kind == Kind::Refused => writeln!(
                        out,
                        "{stamp} {q} == {rcpt} R=dnslookup T=remote_smtp defer (111): Connection refused"
                    )?,
                    _ => {
                        if self.rng.chance(0.3) {
                            writeln!(
                                out,
                                "{stamp} {q} {host}: SMTP error from remote mail server after {}: {}",
                                exim_cmd(rep.command, &rcpt),
                                rep.text
                            )?;
                        }
                        writeln!(
                            out,
                            "{stamp} {q} == {rcpt} R=dnslookup T=remote_smtp defer (-44) {host}: SMTP error from remote mail server after {}: {}",
                            exim_cmd(rep.command, &rcpt),
                            rep.text
                                .replace(" 421-", "\\n421-")
                                .replace(" 421 ", "\\n421 ")
                        )?
                    }
                }
            }
        }
        if rep.status == "deferred" && !expired {
            self.retries.push(Retry {
                at: t + wait,
                msg,
                rcpt,
                provider: p,
                try_no: try_no + 1,
                sender,
                first,
            });
            return Ok(false);
        }
        Ok(true)
    }
}

fn exim_cmd(cmd: &str, rcpt: &str) -> String {
    match cmd {
        "RCPT TO" => format!("RCPT TO:<{rcpt}>"),
        "MAIL FROM" => "MAIL FROM:<news@shop.example>".to_string(),
        _ => "end of data".to_string(),
    }
}

/// Writes about `size` bytes of log to `w` (whole lines; stops at the first
/// line boundary past `size`).
pub fn generate<W: Write>(flavor: Flavor, seed: u64, size: u64, w: &mut W) -> io::Result<u64> {
    let mut g = Generator::new(flavor, seed);
    let mut buf = Vec::with_capacity(1 << 20);
    let mut written = 0u64;
    while written < size {
        g.step(&mut buf)?;
        if buf.len() >= 1 << 19 || written + buf.len() as u64 >= size {
            w.write_all(&buf)?;
            written += buf.len() as u64;
            buf.clear();
        }
    }
    Ok(written)
}

/// `2G`, `512M`, `100k`, `12345`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let unit = s[i..].to_ascii_lowercase();
            let mult = match unit.trim_end_matches("ib").trim_end_matches('b') {
                "k" => 1 << 10,
                "m" => 1 << 20,
                "g" => 1 << 30,
                "" => 1,
                _ => return None,
            };
            (&s[..i], mult)
        }
        None => (s, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

#[allow(dead_code)]
fn main() {
    let mut flavor = Flavor::Postfix;
    let mut size = 1u64 << 30;
    let mut seed = 2026u64;
    let mut out: Option<String> = None;
    let mut args = std::env::args().skip(1);
    let usage = "usage: mtastat-gen [--format postfix|exim] [--size 2G] [--seed N] [--out FILE]";
    while let Some(a) = args.next() {
        let mut value = || {
            args.next().unwrap_or_else(|| {
                eprintln!("{usage}");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            "--format" => {
                flavor = match value().as_str() {
                    "postfix" => Flavor::Postfix,
                    "exim" => Flavor::Exim,
                    other => {
                        eprintln!("mtastat-gen: unknown format {other:?}\n{usage}");
                        std::process::exit(2)
                    }
                }
            }
            "--size" => {
                let v = value();
                size = parse_size(&v).unwrap_or_else(|| {
                    eprintln!("mtastat-gen: cannot read size {v:?}\n{usage}");
                    std::process::exit(2)
                })
            }
            "--seed" => {
                let v = value();
                seed = v.parse().unwrap_or_else(|_| {
                    eprintln!("mtastat-gen: cannot read seed {v:?}\n{usage}");
                    std::process::exit(2)
                })
            }
            "--out" => out = Some(value()),
            "-h" | "--help" => {
                println!("{usage}");
                return;
            }
            other => {
                eprintln!("mtastat-gen: unknown argument {other:?}\n{usage}");
                std::process::exit(2)
            }
        }
    }
    let result = match &out {
        Some(path) => {
            // Written to a temporary name, renamed when complete.
            let tmp = format!("{path}.tmp{}", std::process::id());
            std::fs::File::create(&tmp)
                .and_then(|f| {
                    let mut w = io::BufWriter::with_capacity(1 << 20, f);
                    generate(flavor, seed, size, &mut w)?;
                    w.flush()
                })
                .and_then(|()| std::fs::rename(&tmp, path))
                .inspect_err(|_| {
                    let _ = std::fs::remove_file(&tmp);
                })
        }
        None => {
            let stdout = io::stdout();
            let mut w = io::BufWriter::with_capacity(1 << 20, stdout.lock());
            generate(flavor, seed, size, &mut w).and_then(|_| w.flush())
        }
    };
    if let Err(e) = result {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("mtastat-gen: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("2G"), Some(2 << 30));
        assert_eq!(super::parse_size("512M"), Some(512 << 20));
        assert_eq!(super::parse_size("100kB"), Some(100 << 10));
        assert_eq!(super::parse_size("12345"), Some(12345));
        assert_eq!(super::parse_size("1x"), None);
    }

    #[test]
    fn deterministic() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        super::generate(super::Flavor::Postfix, 7, 1 << 16, &mut a).unwrap();
        super::generate(super::Flavor::Postfix, 7, 1 << 16, &mut b).unwrap();
        assert_eq!(a, b);
        assert!(a.len() >= 1 << 16);
    }
}
