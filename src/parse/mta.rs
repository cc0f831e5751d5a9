//! The MTAs mtastat reads, one row each: how its syslog tag is recognised,
//! what of the message its parser reads, and the parser. The header parser
//! classifies tags by this table, [`super::parse_body`] dispatches by it and
//! the fuzz harnesses (`crate::fuzz::readers`) cover every row, so a new
//! MTA is its parser's file, its row here and its `mod` line in
//! `parse/mod.rs`. (MTAs recognised but not read are
//! [`super::header::OtherMta`]; a row here takes their tag first.)

use super::Record;
use super::{exim, header, postfix};

/// An MTA whose lines are read.
pub struct Reader {
    /// Its name (a fuzz corpus directory, the tests' name for it).
    pub name: &'static str,
    /// The service a syslog tag of this MTA names (`Some(b"")` when the tag
    /// names none), or `None` when the tag is not this MTA's.
    pub tag: fn(&[u8]) -> Option<&[u8]>,
    /// The part of the message after the tag its parser reads.
    pub body: fn(&[u8]) -> &[u8],
    /// The queue (or message) id a body's line is about, if any: `trace`
    /// follows a message by it through every line, modelled or not.
    pub message: fn(&[u8]) -> Option<&[u8]>,
    /// Reads one message: the service and the body.
    pub parse: for<'a> fn(&'a [u8], &'a [u8]) -> Record<'a>,
    /// Services the fuzz harness tries (the first byte of an input picks
    /// one).
    pub services: &'static [&'static [u8]],
}

/// [`READERS`] index of Postfix.
pub const POSTFIX: u8 = 0;
/// [`READERS`] index of Exim (its mainlog's lines name no tag).
pub const EXIM: u8 = 1;

/// Every MTA read, in the order their tags are tried.
pub const READERS: [Reader; 2] = [
    Reader {
        name: "postfix",
        tag: postfix_tag,
        body: whole,
        message: postfix::queue_id_of,
        parse: postfix::parse,
        services: &[
            b"smtp",
            b"lmtp",
            b"qmgr",
            b"local",
            b"virtual",
            b"pipe",
            b"error",
            b"bounce",
            b"smtpd",
            b"cleanup",
            b"pickup",
            b"postscreen",
        ],
    },
    Reader {
        name: "exim",
        tag: exim_tag,
        body: header::exim_body_in_syslog,
        message: exim::message_id_of,
        parse: exim_parse,
        services: &[b""],
    },
];

/// `postfix/smtp`, `postfix-out/smtp`, `postfix/submission/smtpd`,
/// `postfix`: the last component is the service.
fn postfix_tag(tag: &[u8]) -> Option<&[u8]> {
    if !tag.starts_with(b"postfix") {
        return None;
    }
    Some(match memchr::memrchr(b'/', tag) {
        Some(slash) => &tag[slash + 1..],
        None => b"",
    })
}

/// `exim`, `exim4`, `exim[1234]`'s tag.
fn exim_tag(tag: &[u8]) -> Option<&[u8]> {
    tag.starts_with(b"exim").then_some(b"")
}

/// The message as it is.
fn whole(body: &[u8]) -> &[u8] {
    body
}

/// Exim's parser needs no service.
fn exim_parse<'a>(_service: &'a [u8], body: &'a [u8]) -> Record<'a> {
    exim::parse(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_their_reader_and_service() {
        let find = |tag: &[u8]| {
            READERS
                .iter()
                .enumerate()
                .find_map(|(i, r)| (r.tag)(tag).map(|s| (i as u8, s.to_vec())))
        };
        assert_eq!(find(b"postfix/smtp"), Some((POSTFIX, b"smtp".to_vec())));
        assert_eq!(
            find(b"postfix-out/submission/smtpd"),
            Some((POSTFIX, b"smtpd".to_vec()))
        );
        assert_eq!(find(b"postfix"), Some((POSTFIX, Vec::new())));
        assert_eq!(find(b"exim4"), Some((EXIM, Vec::new())));
        assert_eq!(find(b"sendmail"), None);
        assert_eq!(find(b"dovecot"), None);
        for (i, r) in READERS.iter().enumerate() {
            assert!(!r.services.is_empty(), "{}", r.name);
            assert_eq!(READERS.iter().position(|x| x.name == r.name), Some(i));
        }
    }
}
