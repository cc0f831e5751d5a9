//! The journey join, in polars: message rows and attempt rows (log order,
//! see [`super::log`]) become one row per recipient per message.
//!
//! A Postfix queue id is reused once its message is removed, so a queue id
//! alone does not name a message. Rows are ordered by (queue id, log order)
//! and cut into messages where one starts: at its client (smtpd `client=`,
//! pickup), at an arrival not preceded by its client or another arrival
//! (bounces, Exim `<=`),
//! and after a removal (a message abandoned before it was queued, "lost
//! connection after DATA", is never removed). A message is complete once
//! it holds its removal, or another message took its queue id; complete
//! messages are aggregated and joined in polars, the others stay open for
//! rows still to come (the next chunk or file). At the end of the input
//! every message is complete.

use super::log::Kind;
use polars::prelude::*;

/// Rows of one [`close`] call.
pub struct Closed {
    /// One row per recipient of each complete message (a message without
    /// any attempt has one row with a null `rcpt`); `grp` numbers the
    /// messages of this call.
    pub journeys: DataFrame,
    /// Message rows of messages still open.
    pub open_messages: DataFrame,
    /// Attempt rows of messages still open.
    pub open_attempts: DataFrame,
}

/// Per row of both tables (messages first, then attempts): its message
/// number, whether that message is complete, and whether it was removed.
struct Cut {
    grp: Vec<u32>,
    done: Vec<bool>,
    removed: Vec<bool>,
}

/// One journey group while cutting.
struct Group {
    /// Messages in it: the first, and each one a content filter queued
    /// again for it (stitched by a [`Kind::Link`] row).
    members: u32,
    /// Removals seen: complete when every member left the queue.
    removals: u32,
    /// Newest row time.
    newest: i64,
    /// Another message took the first member's queue id.
    followed: bool,
}

/// Cuts the rows into messages: one pass in log order, remembering per
/// queue id only its current message and the kind of its last row. A
/// message a content filter queued again (its key named by a link row of
/// the message handed over) joins the group of the message it came from.
fn cut(
    msg: &[u64],
    seq: &[u64],
    kind: &[u8],
    ts: &[i64],
    child: &[u64],
    everything: bool,
    stale_before: i64,
) -> Cut {
    let n = msg.len();
    // Log order over both tables: each table is in order already, so the
    // two runs are merged rather than sorted.
    let split_at = seq
        .windows(2)
        .position(|w| w[1] < w[0])
        .map_or(n, |p| p + 1);
    let (mut i, mut j) = (0, split_at);
    let mut order: Vec<u32> = Vec::with_capacity(n);
    while i < split_at || j < n {
        if j >= n || (i < split_at && seq[i] < seq[j]) {
            order.push(i as u32);
            i += 1;
        } else {
            order.push(j as u32);
            j += 1;
        }
    }
    let mut grp = vec![0u32; n];
    let mut groups: Vec<Group> = Vec::new();
    let mut current: hashbrown::HashMap<u64, (u32, u8), crate::hashing::Seeded> =
        hashbrown::HashMap::with_capacity_and_hasher(n / 3, Default::default());
    // Re-injected messages not yet seen → the group they continue.
    let mut links: hashbrown::HashMap<u64, u32, crate::hashing::Seeded> =
        hashbrown::HashMap::default();
    let (client, arrive, remove, link) = (
        Kind::Client as u8,
        Kind::Arrive as u8,
        Kind::Remove as u8,
        Kind::Link as u8,
    );
    for &i in &order {
        let i = i as usize;
        let k = kind[i];
        let g = match current.get(&msg[i]).copied() {
            // A second Message-ID of the same message (cleanup logs each
            // Message-ID header) does not start another.
            Some((g, p))
                if !(k == client || (k == arrive && p != client && p != arrive) || p == remove) =>
            {
                g
            }
            before => {
                if let Some((g, _)) = before {
                    groups[g as usize].followed = true;
                }
                match links.remove(&msg[i]) {
                    Some(g) => g,
                    None => {
                        groups.push(Group {
                            members: 1,
                            removals: 0,
                            newest: i64::MIN,
                            followed: false,
                        });
                        (groups.len() - 1) as u32
                    }
                }
            }
        };
        current.insert(msg[i], (g, k));
        grp[i] = g;
        let entry = &mut groups[g as usize];
        if k == remove {
            entry.removals += 1;
        }
        if k == link && child[i] != 0 && child[i] != msg[i] && !links.contains_key(&child[i]) {
            entry.members += 1;
            links.insert(child[i], g);
        }
        entry.newest = entry.newest.max(ts[i]);
    }
    let gone = |g: &Group| g.removals >= g.members || g.followed;
    let done_group: Vec<bool> = groups
        .iter()
        .map(|g| gone(g) || everything || g.newest < stale_before)
        .collect();
    Cut {
        done: grp.iter().map(|&g| done_group[g as usize]).collect(),
        removed: grp.iter().map(|&g| gone(&groups[g as usize])).collect(),
        grp,
    }
}

/// Splits `messages` and `attempts` into complete journeys and open rows.
/// `everything`: the input has ended, every group is complete. Groups whose
/// last row is older than `stale_before` (UTC seconds) are completed too:
/// no MTA keeps a message that long, and it bounds what stays open.
pub fn close(
    messages: DataFrame,
    attempts: DataFrame,
    everything: bool,
    stale_before: i64,
) -> PolarsResult<Closed> {
    let kind_is = |k: Kind| col("kind").eq(lit(k as u8));
    let (m_rows, a_rows) = (messages.height(), attempts.height());
    let cat_u64 = |name: &str| -> PolarsResult<Vec<u64>> {
        let a = messages.column(name)?.u64()?;
        let b = attempts.column(name)?.u64()?;
        Ok(a.into_no_null_iter().chain(b.into_no_null_iter()).collect())
    };
    let msg = cat_u64("msg")?;
    let seq = cat_u64("seq")?;
    let ts: Vec<i64> = messages
        .column("ts")?
        .i64()?
        .into_no_null_iter()
        .chain(attempts.column("ts")?.i64()?.into_no_null_iter())
        .collect();
    let kind: Vec<u8> = messages
        .column("kind")?
        .u8()?
        .into_no_null_iter()
        .chain(std::iter::repeat_n(Kind::Attempt as u8, a_rows))
        .collect();
    let child: Vec<u64> = messages
        .column("child")?
        .u64()?
        .into_no_null_iter()
        .chain(std::iter::repeat_n(0, a_rows))
        .collect();
    let c = cut(&msg, &seq, &kind, &ts, &child, everything, stale_before);
    let tag = |mut df: DataFrame, range: std::ops::Range<usize>| -> PolarsResult<DataFrame> {
        df.with_column(Column::new("grp".into(), c.grp[range.clone()].to_vec()))?;
        df.with_column(Column::new("done".into(), c.done[range.clone()].to_vec()))?;
        df.with_column(Column::new("removed".into(), c.removed[range].to_vec()))?;
        Ok(df)
    };
    let messages = tag(messages, 0..m_rows)?;
    let attempts = tag(attempts, m_rows..m_rows + a_rows)?;
    let split = |df: &DataFrame| -> PolarsResult<(DataFrame, DataFrame)> {
        let done = df.column("done")?.bool()?.clone();
        let open = df.filter(&!&done)?.drop_many(["grp", "done", "removed"]);
        Ok((df.filter(&done)?, open))
    };
    let (done_m, open_messages) = split(&messages)?;
    let (done_a, open_attempts) = split(&attempts)?;

    let texts = messages.column("queue_id").is_ok();
    // Aggregations on plain columns only: polars runs those on its fast
    // path (a filter inside an aggregation is evaluated group by group).
    // `min` of a sentinel column is the logged value where there is one.
    let only = |k: Kind, c: &str| when(kind_is(k)).then(col(c)).otherwise(lit(NULL));
    let mut per_message = vec![
        col("removed").first().alias("removed"),
        col("ts").min().alias("first_seen"),
        col("arrive_ts").min().alias("arrived"),
        col("sender").min().alias("sender"),
        col("sender_domain").min().alias("sender_domain"),
        col("size").min().alias("size"),
        col("nrcpt").min().alias("nrcpt"),
        col("client").min().alias("client"),
        col("expire_ts").max().alias("expired_at"),
        col("expire_seq").max().alias("expire_seq"),
        col("remove_ts").max().alias("removed_at"),
        // A content filter queued it again: the journey spans two queue
        // files, so its time counts from the first arrival, not delay=.
        col("child").max().gt(lit(0u64)).alias("stitched"),
    ];
    if texts {
        per_message.push(col("queue_id").first().alias("queue_id"));
        per_message.push(col("host").first().alias("host"));
        per_message.push(col("message_id").max().alias("message_id"));
    }
    let done_messages = done_m
        .lazy()
        .with_columns([
            only(Kind::Arrive, "ts").alias("arrive_ts"),
            only(Kind::Expire, "ts").alias("expire_ts"),
            only(Kind::Expire, "seq").alias("expire_seq"),
            only(Kind::Remove, "ts").alias("remove_ts"),
        ])
        .group_by([col("grp")])
        .agg(per_message);
    let deferred = crate::event::Status::Deferred as u8;
    let mut per_recipient = vec![
        col("tried").sum().alias("attempts"),
        col("deferral").sum().alias("deferrals"),
        col("ts").last().alias("final_ts"),
        col("seq").last().alias("final_seq"),
        col("status").last().alias("status"),
        col("provider").last().alias("provider"),
        col("domain").last().alias("domain"),
        col("rcpt_name").min().alias("rcpt_name"),
        col("reason").last().alias("reason"),
        col("delay_ms").last().alias("delay_ms"),
        col("split_a").last().alias("split_a"),
        col("split_b").last().alias("split_b"),
        col("split_c").last().alias("split_c"),
        col("split_d").last().alias("split_d"),
        col("removed").first().alias("removed_r"),
    ];
    if texts {
        // The codes on the way, for the export only (lists are costly).
        per_recipient.push(col("dsn").alias("dsns"));
        per_recipient.push(col("basic").alias("basics"));
        per_recipient.push(col("recipient").last().alias("recipient"));
        per_recipient.push(col("relay").last().alias("relay"));
        per_recipient.push(col("queue_id").first().alias("queue_id_r"));
        per_recipient.push(col("host").first().alias("host_r"));
    }
    let done_recipients = done_a
        .lazy()
        .with_columns([
            col("attempted").cast(DataType::UInt32).alias("tried"),
            col("status")
                .eq(lit(deferred))
                .cast(DataType::UInt32)
                .alias("deferral"),
        ])
        .group_by([col("grp"), col("rcpt")])
        .agg(per_recipient);
    // Every recipient with its message's facts, and messages without any
    // attempt on their own.
    let journeys = done_recipients
        .join(
            done_messages,
            [col("grp")],
            [col("grp")],
            JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        )
        .collect()?;
    Ok(Closed {
        journeys,
        open_messages,
        open_attempts,
    })
}
