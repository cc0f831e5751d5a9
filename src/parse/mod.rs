//! From one line of bytes to one [`Record`]: header first, then the
//! MTA-specific body parser. Pure functions over `&[u8]`, no allocation.

pub mod exim;
pub mod header;
pub mod postfix;
pub mod reply;
pub mod timestamp;

use crate::event::Delivery;
use header::{Header, Program, parse_header};
use timestamp::YearHint;

/// Why a line was not understood. Every such line is counted under one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Unparsed {
    /// No timestamp/host/program prefix in any known shape.
    NoHeader = 0,
    /// Longer than the line limit; skipped without parsing.
    TooLong = 1,
    /// A delivery line without a recipient address.
    NoRecipient = 2,
    /// A `to=` line without `status=`.
    NoStatus = 3,
    /// A `status=` word mtastat does not know.
    UnknownStatus = 4,
    /// A line with `to=` and `status=` that is not in Postfix's field order.
    StatusLineShape = 5,
}

impl Unparsed {
    /// Every reason, in report order.
    pub const ALL: [Unparsed; 6] = [
        Unparsed::NoHeader,
        Unparsed::TooLong,
        Unparsed::NoRecipient,
        Unparsed::NoStatus,
        Unparsed::UnknownStatus,
        Unparsed::StatusLineShape,
    ];

    /// A short machine-readable name (JSON key).
    pub fn as_str(self) -> &'static str {
        match self {
            Unparsed::NoHeader => "no_header",
            Unparsed::TooLong => "too_long",
            Unparsed::NoRecipient => "no_recipient",
            Unparsed::NoStatus => "no_status",
            Unparsed::UnknownStatus => "unknown_status",
            Unparsed::StatusLineShape => "status_line_shape",
        }
    }

    /// A sentence for the terminal report.
    pub fn describe(self) -> &'static str {
        match self {
            Unparsed::NoHeader => "no timestamp/host/program prefix in a known format",
            Unparsed::TooLong => "line longer than the limit (skipped)",
            Unparsed::NoRecipient => "delivery line without a recipient",
            Unparsed::NoStatus => "to= line without status=",
            Unparsed::UnknownStatus => "unknown status word",
            Unparsed::StatusLineShape => "status= line in an unknown shape",
        }
    }

    /// Index into per-reason arrays.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What one line amounts to.
#[derive(Clone, Debug, PartialEq)]
pub enum Record<'a> {
    /// A delivery attempt (Postfix `to=… status=`, Exim `=> -> ** ==`).
    Delivery(Delivery<'a>),
    /// A message's envelope sender (Postfix qmgr `from=`, Exim `<=`).
    Sender {
        /// Queue or message id.
        queue_id: &'a [u8],
        /// The sender address (empty for `<>`).
        sender: &'a [u8],
    },
    /// Postfix qmgr `status=expired, returned to sender`: no recipient on the
    /// line; it is joined to the message's last deferral by queue id.
    Expired {
        /// Queue id.
        queue_id: &'a [u8],
    },
    /// Exim `*>`: a delivery suppressed by `-N`.
    FakeDelivery,
    /// A Postfix or Exim line mtastat does not model (connects, cleanup …).
    MailOther,
    /// A line from another program (dovecot, amavis …).
    OtherProgram,
    /// A line that could not be understood.
    Unparsed(Unparsed),
}

/// Parses one line (without its terminator) into its header and record.
#[inline]
pub fn parse_line(line: &[u8], hint: YearHint) -> (Option<Header<'_>>, Record<'_>) {
    let Some(header) = parse_header(line, hint) else {
        return (None, Record::Unparsed(Unparsed::NoHeader));
    };
    let record = match header.program {
        Program::Postfix { service } => match postfix::parse(service, header.body) {
            postfix::PostfixRecord::Delivery(d) => Record::Delivery(d),
            postfix::PostfixRecord::Queued { queue_id, sender } => {
                Record::Sender { queue_id, sender }
            }
            postfix::PostfixRecord::Expired { queue_id, .. } => Record::Expired { queue_id },
            postfix::PostfixRecord::Malformed(why) => Record::Unparsed(why),
            postfix::PostfixRecord::Other => Record::MailOther,
        },
        Program::Exim => match exim::parse(header.body) {
            exim::EximRecord::Delivery(d) => Record::Delivery(d),
            exim::EximRecord::Received { msg_id, sender } => Record::Sender {
                queue_id: msg_id,
                sender,
            },
            exim::EximRecord::FakeDelivery => Record::FakeDelivery,
            exim::EximRecord::Malformed(why) => Record::Unparsed(why),
            exim::EximRecord::Other => Record::MailOther,
        },
        Program::Other => Record::OtherProgram,
    };
    (Some(header), record)
}
