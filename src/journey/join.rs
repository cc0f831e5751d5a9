//! The journey join, in polars: message rows and attempt rows (log order,
//! see [`super::log`]) become one row per recipient per message.
//!
//! A Postfix queue id is reused once its message is removed, so a queue id
//! alone does not name a message: the `gen`eration of a row is the number of
//! removals of its queue id logged before it. A (queue id, generation) group
//! is complete once it holds its removal; complete groups are joined and
//! returned, the others stay open for rows still to come (the next chunk or
//! file). At the end of the input every group is complete.

use super::log::Kind;
use polars::prelude::*;

/// Rows of one [`close`] call.
pub struct Closed {
    /// One row per recipient of each complete message (a message without
    /// any attempt has one row with a null `rcpt`).
    pub journeys: DataFrame,
    /// Message rows of groups still open.
    pub open_messages: DataFrame,
    /// Attempt rows of groups still open.
    pub open_attempts: DataFrame,
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
    let by_msg = || [col("msg")];
    let by_group = || [col("msg"), col("gen")];
    // Generation and completeness per row, over both tables in log order.
    // A message starts at its client (smtpd `client=`, pickup), at an
    // arrival not preceded by its client (bounces, Exim `<=`), and after a
    // removal: Postfix reuses queue ids, and a message abandoned before it
    // was queued ("lost connection after DATA") is never removed.
    let keys = concat(
        [
            messages
                .clone()
                .lazy()
                .select([col("seq"), col("msg"), col("ts"), col("kind")]),
            attempts.clone().lazy().select([
                col("seq"),
                col("msg"),
                col("ts"),
                lit(Kind::Attempt as u8).cast(DataType::UInt8).alias("kind"),
            ]),
        ],
        UnionArgs::default(),
    )?
    .sort(["seq"], SortMultipleOptions::default())
    .with_column(col("kind").shift(lit(1)).over(by_msg())?.alias("prev"))
    .with_column(
        (kind_is(Kind::Client)
            .or(kind_is(Kind::Arrive).and(
                col("prev")
                    .neq(lit(Kind::Client as u8))
                    .fill_null(lit(true)),
            ))
            .or(col("prev")
                .eq(lit(Kind::Remove as u8))
                .fill_null(lit(false))))
        .cast(DataType::UInt32)
        .alias("start"),
    )
    .with_column(col("start").cum_sum(false).over(by_msg())?.alias("gen"))
    .with_column(
        kind_is(Kind::Remove)
            .cast(DataType::UInt32)
            .max()
            .over(by_group())?
            .gt(lit(0u32))
            .alias("removed"),
    )
    // A message whose queue id starts another message left the queue,
    // even if its removal was not logged.
    .with_column(
        col("removed")
            .or(col("gen").lt(col("gen").max().over(by_msg())?))
            .alias("removed"),
    )
    .with_column(
        col("removed")
            .or(lit(everything))
            .or(col("ts").max().over(by_group())?.lt(lit(stale_before)))
            .alias("done"),
    )
    .select([col("seq"), col("gen"), col("done"), col("removed")])
    .collect()?;
    let tag = |df: DataFrame| {
        df.lazy()
            .join(
                keys.clone().lazy(),
                [col("seq")],
                [col("seq")],
                JoinArgs::new(JoinType::Inner),
            )
            .sort(["seq"], SortMultipleOptions::default())
    };
    let messages = tag(messages).collect()?;
    let attempts = tag(attempts).collect()?;
    let open = |df: &DataFrame| {
        df.clone()
            .lazy()
            .filter(col("done").not())
            .drop(cols(["gen", "done", "removed"]))
            .collect()
    };
    let open_messages = open(&messages)?;
    let open_attempts = open(&attempts)?;

    let kind = kind_is;
    let texts = messages.column("queue_id").is_ok();
    let mut per_message = vec![
        col("removed").first().alias("removed"),
        col("ts").min().alias("first_seen"),
        col("ts")
            .filter(kind(Kind::Arrive))
            .first()
            .alias("arrived"),
        col("sender").drop_nulls().first().alias("sender"),
        col("sender_domain")
            .drop_nulls()
            .first()
            .alias("sender_domain"),
        col("size").drop_nulls().first().alias("size"),
        col("nrcpt").drop_nulls().first().alias("nrcpt"),
        col("client").drop_nulls().first().alias("client"),
        col("ts")
            .filter(kind(Kind::Expire))
            .last()
            .alias("expired_at"),
        col("seq")
            .filter(kind(Kind::Expire))
            .last()
            .alias("expire_seq"),
        col("ts")
            .filter(kind(Kind::Remove))
            .last()
            .alias("removed_at"),
    ];
    if texts {
        per_message.push(col("queue_id").first().alias("queue_id"));
        per_message.push(col("host").first().alias("host"));
        per_message.push(
            col("message_id")
                .filter(col("message_id").neq(lit("")))
                .first()
                .alias("message_id"),
        );
    }
    let done_messages = messages
        .lazy()
        .filter(col("done"))
        .group_by([col("msg"), col("gen")])
        .agg(per_message);
    let deferred = crate::event::Status::Deferred as u8;
    let mut per_recipient = vec![
        len().cast(DataType::UInt32).alias("logged"),
        col("attempted")
            .cast(DataType::UInt32)
            .sum()
            .alias("attempts"),
        col("status")
            .eq(lit(deferred))
            .cast(DataType::UInt32)
            .sum()
            .alias("deferrals"),
        col("ts").first().alias("first_attempt"),
        col("ts").last().alias("final_ts"),
        col("seq").last().alias("final_seq"),
        col("status").last().alias("status"),
        col("provider").last().alias("provider"),
        col("domain").last().alias("domain"),
        col("dsn").alias("dsns"),
        col("basic").alias("basics"),
        col("reason").last().alias("reason"),
        col("delay_ms").last().alias("delay_ms"),
        col("split_a").last().alias("split_a"),
        col("split_b").last().alias("split_b"),
        col("split_c").last().alias("split_c"),
        col("split_d").last().alias("split_d"),
        col("removed").first().alias("removed_r"),
    ];
    if texts {
        per_recipient.push(col("recipient").last().alias("recipient"));
        per_recipient.push(col("relay").last().alias("relay"));
        per_recipient.push(col("queue_id").first().alias("queue_id_r"));
        per_recipient.push(col("host").first().alias("host_r"));
    }
    let done_recipients = attempts
        .lazy()
        .filter(col("done"))
        .group_by([col("msg"), col("gen"), col("rcpt")])
        .agg(per_recipient);
    // Every recipient with its message's facts, and messages without any
    // attempt on their own.
    let journeys = done_recipients
        .join(
            done_messages,
            [col("msg"), col("gen")],
            [col("msg"), col("gen")],
            JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        )
        .collect()?;
    Ok(Closed {
        journeys,
        open_messages,
        open_attempts,
    })
}
