//! A sliding window over a live log (`mtastat watch`): one batch per minute
//! of log time, the last `minutes` of them kept, merged in order when the
//! view is drawn. Memory is the window's batches, whatever the log's
//! length; the time is the log's own (a replayed old log works the same).

use super::batch::Batch;
use super::worker::{ScanContext, Worker};
use crate::parse::header::parse_header_cached;
use crate::parse::timestamp::StampCache;
use std::collections::VecDeque;

/// The window.
pub struct Window<'a> {
    ctx: ScanContext<'a>,
    worker: Worker,
    stamps: StampCache,
    /// The minute the worker's batch holds.
    minute: Option<i64>,
    /// Earlier minutes, oldest first.
    ring: VecDeque<(i64, Batch)>,
    /// Minutes kept.
    minutes: i64,
    /// Lines read in all.
    pub lines: u64,
}

impl<'a> Window<'a> {
    /// A window of `minutes` (journeys and exports off: the view needs
    /// neither, and both would hold messages across the window).
    pub fn new(ctx: ScanContext<'a>, minutes: i64) -> Window<'a> {
        let ctx = ScanContext {
            events: None,
            journeys: false,
            journey_text: false,
            per_address: false,
            summary_tables: false,
            ..ctx
        };
        Window {
            worker: Worker::new(&ctx),
            ctx,
            stamps: StampCache::default(),
            minute: None,
            ring: VecDeque::new(),
            minutes: minutes.max(1),
            lines: 0,
        }
    }

    /// The newest minute seen (log time).
    pub fn now(&self) -> Option<i64> {
        self.minute
    }

    /// Reads whole lines.
    pub fn feed(&mut self, bytes: &[u8]) {
        crate::scan::for_each_line(bytes, |line| {
            self.lines += 1;
            if let Some(h) = parse_header_cached(line, self.ctx.clock, &mut self.stamps) {
                let m = h.ts.div_euclid(60);
                if self.minute.is_none_or(|cur| m > cur) {
                    self.advance(m);
                }
            }
            self.worker.scan_line(&self.ctx, line);
        });
    }

    /// The worker's minute is over: its batch joins the ring, and minutes
    /// that left the window go.
    fn advance(&mut self, minute: i64) {
        if let Some(cur) = self.minute {
            self.worker.end_run();
            let b = self.worker.take_batch();
            self.ring.push_back((cur, b));
        }
        self.minute = Some(minute);
        while self
            .ring
            .front()
            .is_some_and(|(m, _)| *m <= minute - self.minutes)
        {
            self.ring.pop_front();
        }
    }

    /// The last `minutes` (up to the window's), merged in order and
    /// finished, as one batch.
    pub fn last(&self, minutes: i64) -> Batch {
        let mut total = Batch::default();
        let Some(now) = self.minute else {
            return total;
        };
        let filter = self.ctx.filter;
        for (m, b) in &self.ring {
            if *m > now - minutes {
                total.merge_from(&mut b.clone(), filter);
            }
        }
        total.merge_from(&mut self.worker.batch.clone(), filter);
        total.finish(self.ctx.engine.providers.other(), filter);
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Engine;
    use crate::filter::Filter;
    use crate::time::Clock;
    use crate::time::zone::Zone;

    fn line(minute: u32, n: u32) -> String {
        format!(
            "Nov 22 12:{minute:02}:00 mx1 postfix/smtp[1]: A{n:09X}: to=<u{n}@gmail.com>, relay=gmail-smtp-in.l.google.com[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)\n"
        )
    }

    #[test]
    fn the_window_keeps_its_minutes_and_merges_them_in_order() {
        let (engine, filter) = (Engine::builtin(), Filter::default());
        let ctx = ScanContext {
            engine: &engine,
            filter: &filter,
            clock: Clock::fixed(2026, Zone::UTC),
            events: None,
            journeys: true,
            journey_text: false,
            per_address: false,
            summary_tables: false,
        };
        let mut w = Window::new(ctx, 5);
        for minute in 0..20u32 {
            for n in 0..3 {
                w.feed(line(minute, minute * 10 + n).as_bytes());
            }
        }
        assert_eq!(w.lines, 60);
        assert_eq!(w.last(5).counters.deliveries, 15, "the last five minutes");
        assert_eq!(w.last(1).counters.deliveries, 3, "the current minute");
        assert_eq!(
            w.last(60).counters.deliveries,
            15,
            "no more than the window"
        );
        assert!(w.ring.len() <= 5);
    }
}
