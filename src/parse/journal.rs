//! `journalctl -o json` (and `-o json-seq`): one JSON object per line.
//!
//! ```text
//! {"__REALTIME_TIMESTAMP":"1795351142000000","_HOSTNAME":"mx1",
//!  "SYSLOG_IDENTIFIER":"postfix/smtp","_PID":"123","MESSAGE":"ABC: to=<…>, …"}
//! ```
//!
//! journald writes a field as a string when it is printable UTF-8, as an
//! array of byte values when it is not (so invalid UTF-8 in a reply arrives
//! as numbers), as an array of either when the field occurs more than once,
//! and as `null` when it is over 4096 bytes (unless `--all`). Strings may
//! hold JSON escapes, so the message is decoded into a buffer the worker
//! owns; the header then borrows from that buffer instead of the line.

use super::Unparsed;
use super::header::{Header, LineFormat, classify_tag};
use crate::time::UnixSeconds;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// The ASCII record separator `journalctl -o json-seq` puts before each entry.
const RECORD_SEPARATOR: u8 = 0x1e;

/// True when `line` looks like a journal JSON entry (worth a JSON parse).
#[inline]
pub fn is_journal_line(line: &[u8]) -> bool {
    matches!(line.first(), Some(b'{' | &RECORD_SEPARATOR))
}

/// The fields mtastat reads; journald writes about twenty more per entry.
#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(rename = "__REALTIME_TIMESTAMP", borrow, default)]
    realtime: Option<Field<'a>>,
    #[serde(rename = "_HOSTNAME", borrow, default)]
    host: Option<Field<'a>>,
    #[serde(rename = "SYSLOG_IDENTIFIER", borrow, default)]
    identifier: Option<Field<'a>>,
    #[serde(rename = "_COMM", borrow, default)]
    command: Option<Field<'a>>,
    #[serde(rename = "MESSAGE", borrow, default)]
    message: Option<Field<'a>>,
    #[serde(rename = "_PID", borrow, default)]
    pid: Option<Field<'a>>,
}

/// One field's value, whichever of journald's encodings it came in.
enum Field<'a> {
    Text(Cow<'a, str>),
    Bytes(Vec<u8>),
    /// `null`: the value was too large to export.
    Missing,
}

impl Field<'_> {
    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Field::Text(t) => Some(t.as_bytes()),
            Field::Bytes(b) => Some(b),
            Field::Missing => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Field<'a>, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a journal field: string, byte array, array of values or null")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Field<'de>, E> {
        Ok(Field::Missing)
    }

    fn visit_none<E: de::Error>(self) -> Result<Field<'de>, E> {
        Ok(Field::Missing)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Owned(v.to_string())))
    }

    /// Bytes (`[80, 111, …]`) or a repeated field (`["a", "b"]`: the first
    /// value is kept).
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field<'de>, A::Error> {
        let mut bytes = Vec::new();
        let mut first: Option<Field<'de>> = None;
        while let Some(item) = seq.next_element::<Item<'de>>()? {
            match item {
                Item::Byte(b) => bytes.push(b),
                Item::Value(v) => {
                    if first.is_none() {
                        first = Some(v);
                    }
                }
            }
        }
        Ok(first.unwrap_or(Field::Bytes(bytes)))
    }
}

/// An element of an array field.
enum Item<'a> {
    Byte(u8),
    Value(Field<'a>),
}

impl<'de: 'a, 'a> Deserialize<'de> for Item<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Item<'a>, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = Item<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte value or a field value")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Item<'de>, E> {
                u8::try_from(v)
                    .map(Item::Byte)
                    .map_err(|_| E::custom("byte value over 255"))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Item<'de>, E> {
                Ok(Item::Value(Field::Text(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Item<'de>, E> {
                Ok(Item::Value(Field::Text(Cow::Owned(v.to_owned()))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Item<'de>, E> {
                Ok(Item::Value(Field::Missing))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Item<'de>, A::Error> {
                FieldVisitor.visit_seq(seq).map(Item::Value)
            }
        }
        d.deserialize_any(ItemVisitor)
    }
}

/// Parses a journal entry into a header whose host, tag and message live in
/// `buf` (cleared first).
pub fn parse<'a>(line: &[u8], buf: &'a mut Vec<u8>) -> Result<Header<'a>, Unparsed> {
    let json = line.strip_prefix(&[RECORD_SEPARATOR]).unwrap_or(line);
    let entry: Entry<'_> = serde_json::from_slice(json).map_err(|_| Unparsed::JournalEntry)?;
    let ts = entry
        .realtime
        .as_ref()
        .and_then(Field::bytes)
        .and_then(micros_to_seconds)
        .ok_or(Unparsed::JournalEntry)?;
    let message = entry
        .message
        .as_ref()
        .and_then(Field::bytes)
        .ok_or(Unparsed::JournalEntry)?;
    let host = entry.host.as_ref().and_then(Field::bytes).unwrap_or(b"");
    let tag = entry
        .identifier
        .as_ref()
        .or(entry.command.as_ref())
        .and_then(Field::bytes)
        .unwrap_or(b"");
    let pid = entry.pid.as_ref().and_then(Field::bytes).unwrap_or(b"");
    let pid = super::header::digits_or_empty(pid);
    buf.clear();
    buf.extend_from_slice(host);
    buf.extend_from_slice(tag);
    buf.extend_from_slice(pid);
    buf.extend_from_slice(message);
    let buf: &'a [u8] = buf;
    let (host, rest) = buf.split_at(host.len());
    let (tag, rest) = rest.split_at(tag.len());
    let (pid, body) = rest.split_at(pid.len());
    let (program, body) = classify_tag(tag, body);
    Ok(Header {
        ts,
        host,
        program,
        format: LineFormat::JournalJson,
        body,
        pid,
    })
}

/// `"1795351142123456"` (microseconds since the epoch) → seconds.
fn micros_to_seconds(s: &[u8]) -> Option<UnixSeconds> {
    if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let micros = s.iter().try_fold(0i64, |n, &d| {
        n.checked_mul(10)?.checked_add(i64::from(d - b'0'))
    })?;
    Some(micros / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::header::Program;

    fn entry(json: &str) -> Result<(UnixSeconds, String, Program<'static>, String), Unparsed> {
        let mut buf = Vec::new();
        let h = parse(json.as_bytes(), &mut buf)?;
        let program = match h.program {
            Program::Mta { reader, service } if service == b"smtp" => Program::Mta {
                reader,
                service: b"smtp",
            },
            Program::Mta { reader, .. } => Program::Mta {
                reader,
                service: b"?",
            },
            Program::OtherMta(m) => Program::OtherMta(m),
            Program::Other => Program::Other,
        };
        Ok((
            h.ts,
            String::from_utf8_lossy(h.host).into_owned(),
            program,
            String::from_utf8_lossy(h.body).into_owned(),
        ))
    }

    #[test]
    fn postfix_entry() {
        let (ts, host, program, body) = entry(
            r#"{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1795351142123456","_HOSTNAME":"mx1","SYSLOG_IDENTIFIER":"postfix/smtp","_PID":"123","MESSAGE":"ABC: to=<a@b.example>, status=bounced (said: 550 \"no\")","PRIORITY":"6"}"#,
        )
        .unwrap();
        assert_eq!(ts, 1_795_351_142);
        assert_eq!(host, "mx1");
        assert_eq!(
            program,
            Program::Mta {
                reader: crate::parse::mta::POSTFIX,
                service: b"smtp"
            }
        );
        assert_eq!(
            body,
            r#"ABC: to=<a@b.example>, status=bounced (said: 550 "no")"#
        );
    }

    #[test]
    fn binary_and_repeated_fields() {
        // MESSAGE with invalid UTF-8 arrives as bytes.
        let mut buf = Vec::new();
        let h = parse(
            br#"{"__REALTIME_TIMESTAMP":"1000000","SYSLOG_IDENTIFIER":"exim","MESSAGE":[104,105,255]}"#,
            &mut buf,
        )
        .unwrap();
        assert_eq!(h.body, b"hi\xff");
        assert_eq!(
            h.program,
            Program::Mta {
                reader: crate::parse::mta::EXIM,
                service: b""
            }
        );
        assert_eq!(h.host, b"");
        // A field logged twice: the first value.
        let (_, _, _, body) = entry(
            r#"{"__REALTIME_TIMESTAMP":"1000000","SYSLOG_IDENTIFIER":["postfix/smtp","x"],"MESSAGE":["first","second"]}"#,
        )
        .unwrap();
        assert_eq!(body, "first");
        // json-seq's record separator.
        assert!(entry("\u{1e}{\"__REALTIME_TIMESTAMP\":\"1\",\"MESSAGE\":\"m\"}").is_ok());
    }

    #[test]
    fn not_an_entry() {
        for bad in [
            "{",
            "{}",
            r#"{"MESSAGE":"no time"}"#,
            r#"{"__REALTIME_TIMESTAMP":"1000000"}"#,
            r#"{"__REALTIME_TIMESTAMP":"1000000","MESSAGE":null}"#,
            r#"{"__REALTIME_TIMESTAMP":"soon","MESSAGE":"m"}"#,
            r#"{"__REALTIME_TIMESTAMP":"99999999999999999999","MESSAGE":"m"}"#,
            r#"{"__REALTIME_TIMESTAMP":"1","MESSAGE":[1,2,300]}"#,
            "[1,2,3]",
            "{\"MESSAGE\":\"\u{0}\"",
        ] {
            assert_eq!(entry(bad).err(), Some(Unparsed::JournalEntry), "{bad}");
        }
    }
}
