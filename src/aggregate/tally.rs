//! One merge trait for the pieces of a [`super::batch::Batch`]: each piece
//! holds one concern of the tally and says how a later batch's piece is
//! added to it, so adding a tally is one file and merging is a loop.
//!
//! Pieces name log strings by the batch's interned ids; a merge hands them
//! the maps from the right batch's ids to the merged batch's ([`Ids`]).

use crate::intern::Ids;

/// A piece of a batch's tally.
pub trait Tally: Default {
    /// Adds `right` (the same piece of a batch that comes after this one in
    /// the input) and leaves it empty, its allocations kept.
    fn merge(&mut self, right: &mut Self, ids: &Ids);

    /// Empties it for another run, keeping its allocations.
    fn reset(&mut self);
}
