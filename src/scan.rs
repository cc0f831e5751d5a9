//! The hot loop: split a chunk into lines, parse each, fold it into a [`Batch`].
//!
//! One [`Worker`] per rayon fold accumulator. It owns the scratch buffers
//! (lowercased domain and relay, masked reason) and the regex cache, so a line
//! costs no heap allocation unless it introduces a new domain or reason.

use crate::aggregate::batch::{Batch, LastDeferral, ReasonKey, SummaryKey, message_key};
use crate::classify::provider::{ProviderMap, domain_of, lowercase_into};
use crate::classify::reason::Masker;
use crate::event::{Delivery, Status};
use crate::parse::header::Header;
use crate::parse::timestamp::YearHint;
use crate::parse::{Record, Unparsed, parse_line};
use memchr::memchr;
use regex_automata::meta::Cache;

/// Lines longer than this are counted as [`Unparsed::TooLong`] and not parsed:
/// no MTA writes them, and it bounds the work per line.
pub const MAX_LINE_LEN: usize = 1 << 20;

/// What every worker shares: read-only tables and settings.
#[derive(Debug)]
pub struct ScanContext<'a> {
    /// Provider lookup tables.
    pub providers: &'a ProviderMap,
    /// Reply-text masker.
    pub masker: &'a Masker,
    /// Year source for RFC 3164 timestamps.
    pub year: YearHint,
}

/// Per-thread state: the batch being built plus reusable buffers.
#[derive(Debug)]
pub struct Worker {
    /// What this worker has accumulated.
    pub batch: Batch,
    cache: Cache,
    domain: Vec<u8>,
    relay: Vec<u8>,
    scratch: Vec<u8>,
    masked: Vec<u8>,
}

impl Worker {
    /// A fresh worker.
    pub fn new(ctx: &ScanContext<'_>) -> Worker {
        Worker {
            batch: Batch::default(),
            cache: ctx.masker.cache(),
            domain: Vec::with_capacity(256),
            relay: Vec::with_capacity(256),
            scratch: Vec::with_capacity(1024),
            masked: Vec::with_capacity(512),
        }
    }

    /// Scans a line-aligned chunk (the last line may lack its newline).
    pub fn scan_chunk(&mut self, ctx: &ScanContext<'_>, chunk: &[u8]) {
        self.batch.counters.bytes += chunk.len() as u64;
        let mut rest = chunk;
        while !rest.is_empty() {
            let (line, next) = match memchr(b'\n', rest) {
                Some(nl) => (&rest[..nl], &rest[nl + 1..]),
                None => (rest, &[][..]),
            };
            rest = next;
            self.scan_line(ctx, line);
        }
    }

    /// Scans one line (without its `\n`).
    #[inline]
    pub fn scan_line(&mut self, ctx: &ScanContext<'_>, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.batch.counters.lines += 1;
        if line.len() > MAX_LINE_LEN {
            self.batch.unparsed(Unparsed::TooLong, line);
            return;
        }
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            self.batch.counters.blank += 1;
            return;
        }
        let (header, record) = parse_line(line, ctx.year);
        if let Some(h) = &header {
            self.batch.see_time(h.ts);
            self.batch.see_format(h.format);
        }
        match record {
            Record::Delivery(d) => {
                if let Some(h) = header {
                    self.delivery(ctx, &h, &d);
                }
                if std::str::from_utf8(line).is_err() {
                    self.batch.counters.invalid_utf8 += 1;
                }
            }
            Record::Expired { queue_id } => {
                if let Some(h) = header {
                    self.batch.expire(message_key(h.host, queue_id), h.ts);
                }
            }
            Record::Sender { .. } => self.batch.counters.senders += 1,
            Record::FakeDelivery => self.batch.counters.fake_deliveries += 1,
            Record::MailOther => self.batch.counters.mail_other += 1,
            Record::OtherProgram => self.batch.counters.other_program += 1,
            Record::Unparsed(why) => self.batch.unparsed(why, line),
        }
    }

    fn delivery(&mut self, ctx: &ScanContext<'_>, h: &Header<'_>, d: &Delivery<'_>) {
        lowercase_into(domain_of(d.recipient), &mut self.domain);
        lowercase_into(d.relay, &mut self.relay);
        let provider = ctx.providers.classify(&self.domain, &self.relay, d.local);
        let domain = self.batch.domains.intern(&self.domain);
        let dsn = d.dsn.map_or(0, |x| x.key());
        let class = d.class();
        self.batch.count(SummaryKey {
            provider,
            domain,
            status: d.status,
            dsn,
            class,
        });
        if !d.attempted {
            self.batch.counters.not_attempted += 1;
        }
        if matches!(d.status, Status::Sent | Status::Deliverable) {
            return;
        }
        ctx.masker.mask(
            &mut self.cache,
            d.reply,
            &mut self.scratch,
            &mut self.masked,
        );
        let reason = self.batch.reasons.intern(&self.masked);
        self.batch.count_reason(
            ReasonKey {
                provider,
                status: d.status,
                dsn,
                class,
                reason,
            },
            h.ts,
        );
        if d.status == Status::Deferred {
            self.batch.deferrals.insert(
                message_key(h.host, d.queue_id),
                LastDeferral {
                    provider,
                    domain,
                    reason,
                    ts: h.ts,
                },
            );
        }
    }
}
