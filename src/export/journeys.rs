//! `--journeys FILE`: one row per recipient per message, as Parquet (zstd)
//! or CSV by the file's extension, streamed: complete journeys are written
//! as the merge finds them (a batch at a time), into a temp file renamed
//! into place when the run ends. Rows come in the order journeys complete,
//! each batch sorted by first sighting, queue id, final attempt and
//! recipient, so a run gives the same file every time.
//!
//! | column | type | |
//! |---|---|---|
//! | `arrived` | timestamp (ms, UTC), null | cleanup `message-id=` / Exim `<=`; null when before the log |
//! | `finished` | timestamp (ms, UTC), null | the final attempt, bounce or expiry; null when pending or removed |
//! | `host` | string | the MTA host |
//! | `queue_id` | string | Postfix queue id or Exim message id |
//! | `message_id` | string, null | the Message-ID header |
//! | `sender` | string, null | envelope sender (empty for `<>`) |
//! | `sender_domain` | string, null | |
//! | `client` | string, null | smtpd `client=`, Exim `H=`, `pickup`, `local` |
//! | `size` | uint64, null | bytes |
//! | `nrcpt` | uint32, null | recipients of the message (Postfix) |
//! | `recipient` | string, null | null for a message that left the queue without any attempt |
//! | `recipient_domain` | string, null | lowercase |
//! | `provider` | string, null | mtastat's provider id |
//! | `relay` | string, null | the host of the last attempt |
//! | `disposition` | string | delivered, bounced, expired, pending, removed, handed_off (accepted by a content filter, not followed further) |
//! | `attempts` | uint32 | attempts made (deferrals logged without a try are not attempts) |
//! | `deferrals` | uint32 | deferrals logged |
//! | `codes` | string | the codes on the way, in order: `4.7.0 4.7.0 2.0.0` |
//! | `last_reason` | string, null | the last failure's reply, masked |
//! | `time_to_final` | float64, null | seconds from arrival to the final disposition |
//! | `delay_before_qmgr`, `delay_in_qmgr`, `delay_conn_setup`, `delay_transmission` | float64, null | Postfix `delays=a/b/c/d` of the final attempt, seconds |

use super::Format;
use super::target::{Output, Target};
use crate::dsn::Dsn;
use crate::escape::csv_cell;
use crate::intern::NO_ID;
use crate::journey::join::{Joined, JoinedText};
use crate::journey::{JourneyNames, JourneyWriter};
use polars::prelude::*;
use polars_io::prelude::{CsvWriter, ParquetCompression, ParquetWriter, SerWriter};
use std::fs::File;
use std::io::{self, BufWriter};
use std::sync::Mutex;

type Out = BufWriter<File>;

enum Writer {
    Parquet(Box<polars_io::parquet::write::BatchedWriter<Out>>),
    Csv(polars_io::csv::write::BatchedWriter<Out>),
}

#[derive(Default)]
struct State {
    /// The temp file (or stream) until the commit.
    output: Option<Output>,
    writer: Option<Writer>,
    rows: u64,
    error: Option<io::Error>,
}

/// Where a run's journeys go.
pub struct JourneySink {
    target: Target,
    format: Format,
    providers: Vec<String>,
    state: Mutex<State>,
}

impl std::fmt::Debug for JourneySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JourneySink")
            .field("target", &self.target)
            .field("format", &self.format)
            .finish()
    }
}

impl JourneyWriter for JourneySink {
    /// Appends complete journeys (rows from [`crate::journey::join`]).
    fn write(&self, joined: &[&Joined], names: JourneyNames<'_>) {
        self.write_rows(joined, names);
    }
}

impl JourneySink {
    /// A sink writing `target` in `format`; `providers` maps ids to names.
    /// The temp file is created now, so an unwritable directory fails the
    /// run before the scan.
    pub fn create(
        target: &Target,
        format: Format,
        providers: Vec<String>,
    ) -> io::Result<JourneySink> {
        let output = target.open()?;
        Ok(JourneySink {
            target: target.clone(),
            format,
            providers,
            state: Mutex::new(State {
                output: Some(output),
                ..State::default()
            }),
        })
    }

    fn write_rows(&self, joined: &[&Joined], names: JourneyNames<'_>) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.error.is_some() {
            return;
        }
        let result = self
            .frame(joined, names)
            .map_err(io::Error::other)
            .and_then(|df| self.append(&mut state, &df));
        match result {
            Ok(()) => state.rows += joined.len() as u64,
            Err(e) => state.error = Some(e),
        }
    }

    fn append(&self, state: &mut State, df: &DataFrame) -> io::Result<()> {
        if state.writer.is_none() {
            let file = match &mut state.output {
                Some(o) => o.file().try_clone()?,
                None => return Err(io::Error::other("journeys export already finished")),
            };
            let out = BufWriter::new(file);
            let schema = df.schema();
            state.writer = Some(match self.format {
                Format::Parquet => Writer::Parquet(Box::new(
                    ParquetWriter::new(out)
                        .with_compression(ParquetCompression::Zstd(None))
                        .batched(schema)
                        .map_err(io::Error::other)?,
                )),
                Format::Csv => Writer::Csv(
                    CsvWriter::new(out)
                        .include_header(true)
                        .batched(schema)
                        .map_err(io::Error::other)?,
                ),
            });
        }
        match &mut state.writer {
            Some(Writer::Parquet(w)) => w.write_batch(df),
            Some(Writer::Csv(w)) => w.write_batch(df),
            None => Ok(()),
        }
        .map_err(io::Error::other)
    }

    /// Finishes the file and renames it into place; returns the rows written.
    pub fn commit(&self, names: JourneyNames<'_>) -> io::Result<u64> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| io::Error::other("journeys export: poisoned lock"))?;
        if let Some(e) = state.error.take() {
            state.writer = None;
            state.output = None; // removes the temp file
            return Err(e);
        }
        if state.writer.is_none() {
            // No journey at all: still a valid file with the schema.
            let empty = self.frame(&[], names).map_err(io::Error::other)?;
            self.append(&mut state, &empty)?;
        }
        match state.writer.take() {
            Some(Writer::Parquet(w)) => {
                w.finish().map_err(io::Error::other)?;
            }
            Some(Writer::Csv(mut w)) => w.finish().map_err(io::Error::other)?,
            None => {}
        }
        match state.output.take() {
            Some(o) => o.commit()?,
            None => return Err(io::Error::other("journeys export already finished")),
        }
        Ok(state.rows)
    }

    /// The export columns for joined rows.
    fn frame(&self, j: &[&Joined], names: JourneyNames<'_>) -> PolarsResult<DataFrame> {
        let n = j.len();
        let csv = self.format == Format::Csv;
        let text = |s: &[u8]| -> String {
            let s = String::from_utf8_lossy(s);
            if csv {
                csv_cell(&s).into_owned()
            } else {
                s.into_owned()
            }
        };
        let texts = |f: fn(&JoinedText) -> Option<&String>| -> Vec<Option<String>> {
            j.iter()
                .map(|x| x.text.as_deref().and_then(f).map(|s| text(s.as_bytes())))
                .collect()
        };
        let named =
            |ids: Vec<Option<u32>>, table: &crate::intern::Interner| -> Vec<Option<String>> {
                ids.into_iter()
                    .map(|v| v.filter(|id| *id != NO_ID).map(|id| text(table.get(id))))
                    .collect()
            };
        let codes: Vec<String> = j
            .iter()
            .map(|x| {
                let Some(t) = x.text.as_deref().filter(|_| x.recipient.is_some()) else {
                    return String::new();
                };
                let mut s = String::new();
                for (d, b) in &t.codes {
                    let code = match (*d, *b) {
                        (k, _) if k != 0 => Dsn::from_key(k).to_string(),
                        (_, b) if b != 0 => b.to_string(),
                        _ => "-".into(),
                    };
                    if !s.is_empty() {
                        s.push(' ');
                    }
                    s.push_str(&code);
                }
                s
            })
            .collect();
        let ms = |v: Option<i64>| v.map(|s| s * 1000);
        let secs = |v: Option<u32>| v.map(|ms| f64::from(ms) / 1000.0);
        let provider: Vec<Option<String>> = j
            .iter()
            .map(|x| {
                x.recipient
                    .as_ref()
                    .and_then(|r| self.providers.get(usize::from(r.provider)).cloned())
            })
            .collect();
        let mut disposition = Vec::with_capacity(n);
        let mut arrived = Vec::with_capacity(n);
        let mut finished = Vec::with_capacity(n);
        let mut time = Vec::with_capacity(n);
        let mut attempts = Vec::with_capacity(n);
        let mut deferrals = Vec::with_capacity(n);
        let mut split: [Vec<Option<f64>>; 4] = Default::default();
        for x in j {
            let r = crate::journey::Row::of(x);
            disposition.push(r.journey.disposition.as_str());
            arrived.push(ms(r.arrived));
            finished.push(ms(r.ended));
            time.push(secs(r.journey.time_ms));
            attempts.push(r.journey.attempts);
            deferrals.push(r.journey.deferrals);
            for (k, col) in split.iter_mut().enumerate() {
                col.push(secs(r.journey.split.map(|s| s[k])));
            }
        }
        let datetime = |name: &str, v: Vec<Option<i64>>| -> PolarsResult<Column> {
            // Zone-less UTC, as in the events export (polars is built
            // without its time-zone feature).
            Column::new(name.into(), v).cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
        };
        let [sa, sb, sc, sd] = split;
        let part =
            |f: fn(&crate::journey::join::RecipientPart) -> Option<u32>| -> Vec<Option<u32>> {
                j.iter().map(|x| x.recipient.as_ref().and_then(f)).collect()
            };
        let columns = vec![
            datetime("arrived", arrived)?,
            datetime("finished", finished)?,
            Column::new("host".into(), texts(|t| t.host.as_ref())),
            Column::new("queue_id".into(), texts(|t| t.queue_id.as_ref())),
            Column::new("message_id".into(), texts(|t| t.message_id.as_ref())),
            Column::new(
                "sender".into(),
                named(j.iter().map(|x| x.sender).collect(), names.addresses),
            ),
            Column::new(
                "sender_domain".into(),
                named(j.iter().map(|x| x.sender_domain).collect(), names.senders),
            ),
            Column::new(
                "client".into(),
                named(j.iter().map(|x| x.client).collect(), names.clients),
            ),
            Column::new(
                "size".into(),
                j.iter().map(|x| x.size).collect::<Vec<Option<u64>>>(),
            ),
            Column::new(
                "nrcpt".into(),
                j.iter().map(|x| x.nrcpt).collect::<Vec<Option<u32>>>(),
            ),
            Column::new("recipient".into(), texts(|t| t.recipient.as_ref())),
            Column::new(
                "recipient_domain".into(),
                named(part(|r| Some(r.domain)), names.domains),
            ),
            Column::new("provider".into(), provider),
            Column::new("relay".into(), texts(|t| t.relay.as_ref())),
            Column::new("disposition".into(), disposition),
            Column::new("attempts".into(), attempts),
            Column::new("deferrals".into(), deferrals),
            Column::new("codes".into(), codes),
            Column::new(
                "last_reason".into(),
                named(part(|r| r.reason), names.reasons),
            ),
            Column::new("time_to_final".into(), time),
            Column::new("delay_before_qmgr".into(), sa),
            Column::new("delay_in_qmgr".into(), sb),
            Column::new("delay_conn_setup".into(), sc),
            Column::new("delay_transmission".into(), sd),
        ];
        DataFrame::new(n, columns)
    }
}
