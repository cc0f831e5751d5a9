//! Aggregation: per-worker batches (merged in input order) and the polars
//! frames built from them.

pub mod auth;
pub mod batch;
pub mod deliveries;
pub mod distinct;
pub mod frame;
pub mod inbound;
pub mod joins;
pub mod runs;
pub mod sessions;
pub mod sinks;
pub mod tally;
pub mod tls;
pub mod traffic;
pub mod window;
pub mod worker;
