//! One merge trait for the pieces of a [`super::batch::Batch`]: each piece
//! holds one concern of the tally and says how a later batch's piece is
//! added to it, so adding a tally is one file and merging is a loop.
//!
//! Pieces name log strings by the batch's interned ids; a merge hands them
//! the maps from the right batch's ids to the merged batch's ([`Ids`]).

/// Maps from a right batch's interned ids to the merged batch's (`map[old]
/// = new`, read with [`super::batch::remap`]), and what else a merge knows.
#[derive(Clone, Debug, Default)]
pub struct Ids {
    /// Syslog hosts.
    pub hosts: Vec<u32>,
    /// Relays.
    pub relays: Vec<u32>,
    /// Recipient domains.
    pub domains: Vec<u32>,
    /// Masked reasons.
    pub reasons: Vec<u32>,
    /// Sender domains.
    pub senders: Vec<u32>,
    /// Sampled recipients.
    pub recipients: Vec<u32>,
    /// Reject stages.
    pub stages: Vec<u32>,
    /// Clients.
    pub clients: Vec<u32>,
    /// Sender addresses.
    pub addresses: Vec<u32>,
    /// Delivered recipients' addresses.
    pub delivered_to: Vec<u32>,
    /// Postfix services and postscreen actions.
    pub services: Vec<u32>,
    /// The newest line time of both batches.
    pub newest: Option<i64>,
}

/// A piece of a batch's tally.
pub trait Tally: Default {
    /// Adds `right` (the same piece of a batch that comes after this one in
    /// the input) and leaves it empty, its allocations kept.
    fn merge(&mut self, right: &mut Self, ids: &Ids);

    /// Empties it for another run, keeping its allocations.
    fn reset(&mut self);
}
