//! smtpd connections and sessions: who connected, how often, and for how
//! long (pflogsumm's per-domain connection table and session times).

use super::batch::{SESSION_HORIZON_SECS, SessionTime, Traffic};
use super::tally::Tally;
use crate::intern::Ids;
use crate::intern::remap;
use hashbrown::HashMap;

type Fast = crate::hashing::Seeded;

/// One client's connections and session time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientSessions {
    /// smtpd connections.
    pub connections: u64,
    /// Sessions paired from connect to disconnect.
    pub time: SessionTime,
}

/// Connections and sessions of one batch.
#[derive(Clone, Debug, Default)]
pub struct Sessions {
    /// Open smtpd sessions by host + smtpd pid: (connect time, client).
    pub open: HashMap<u64, (i64, u32), Fast>,
    /// Disconnects whose connect was not in this batch (key, time):
    /// joined at the merge to the sessions on the left.
    pub pending_disconnects: Vec<(u64, i64)>,
    /// Session time per quarter hour, by the disconnect: see [`SessionTime`].
    pub by_bucket: HashMap<i64, SessionTime, Fast>,
    /// Connections and session time per client: one table, so a
    /// disconnect finds the entry its connect brought into the cache (two
    /// tables each missed it, on a log with 166 k clients in 200 MB).
    pub by_client: HashMap<u32, ClientSessions, Fast>,
}

impl Sessions {
    /// A client connected; its session opens when the line names one
    /// (`key`: host + smtpd pid).
    pub fn connect(&mut self, client: u32, key: Option<u64>, ts: i64) {
        self.by_client.entry(client).or_default().connections += 1;
        if let Some(key) = key {
            self.open.insert(key, (ts, client));
        }
    }

    /// An smtpd session ended: its time is counted if its connect is known;
    /// else the disconnect waits for the merge with the batch on the left.
    pub fn disconnect(&mut self, key: u64, ts: i64) {
        match self.open.remove(&key) {
            Some((start, client)) => self.session(start, ts, client),
            None => self.pending_disconnects.push((key, ts)),
        }
    }

    fn session(&mut self, start: i64, end: i64, client: u32) {
        let secs = u64::try_from(end - start).unwrap_or(0);
        let one = SessionTime {
            sessions: 1,
            secs,
            max: secs,
        };
        self.by_bucket
            .entry(end.div_euclid(Traffic::BUCKET))
            .or_default()
            .add(one);
        self.by_client.entry(client).or_default().time.add(one);
    }
}

impl Tally for Sessions {
    fn merge(&mut self, right: &mut Sessions, ids: &Ids) {
        let cli = &ids.clients;
        for (bucket, t) in right.by_bucket.drain() {
            self.by_bucket.entry(bucket).or_default().add(t);
        }
        for (client, c) in right.by_client.drain() {
            let mine = self.by_client.entry(remap(cli, client)).or_default();
            mine.connections += c.connections;
            mine.time.add(c.time);
        }
        // Disconnects on the right end sessions opened on the left; what
        // is still unpaired had its connect before the input.
        for (key, ts) in right.pending_disconnects.drain(..) {
            if let Some((start, client)) = self.open.remove(&key) {
                self.session(start, ts, client);
            }
        }
        for (key, (ts, client)) in right.open.drain() {
            self.open.insert(key, (ts, remap(cli, client)));
        }
        if let Some(newest) = ids.newest {
            self.open
                .retain(|_, (ts, _)| *ts >= newest - SESSION_HORIZON_SECS);
        }
    }

    fn reset(&mut self) {
        self.open.clear();
        self.pending_disconnects.clear();
        self.by_bucket.clear();
        self.by_client.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disconnect_finds_its_connect_in_the_batch_before() {
        let mut left = Sessions::default();
        left.connect(0, Some(7), 1_000);
        let mut right = Sessions::default();
        right.disconnect(7, 1_030);
        right.connect(0, Some(8), 1_040);
        let ids = Ids {
            clients: vec![0],
            newest: Some(1_040),
            ..Ids::default()
        };
        left.merge(&mut right, &ids);
        assert_eq!(left.by_client[&0].time.sessions, 1);
        assert_eq!(left.by_client[&0].time.secs, 30);
        assert_eq!(left.by_client[&0].connections, 2);
        assert!(left.open.contains_key(&8));
        assert!(right.open.is_empty() && right.pending_disconnects.is_empty());
    }
}
