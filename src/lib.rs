//! mtastat: mail-server log analytics.
//!
//! Data flows one way:
//!
//! ```text
//! input ─► scan ─► parse ─► classify ─► aggregate ─► detect ─► report / export
//! mmap,    lines   header,  provider,   per-worker    findings  terminal, JSON,
//! stream           Postfix, category,   batches ─►    episodes  CSV, Parquet,
//!                  Exim     masked      polars frames           compare
//!                           reason
//! ```
//!
//! * [`input`] memory-maps each file (or reads a stream in bounded blocks) and
//!   splits it into line-aligned chunks scanned in parallel with rayon.
//! * [`scan`] walks a chunk's lines; [`parse`] turns a line into a
//!   [`event::Delivery`] without allocating; [`classify`] names the provider
//!   and masks the reply text into a reason.
//! * [`aggregate`] folds deliveries into per-worker batches, joins each to its
//!   sender and expiries to their deferrals, merges in input order and builds
//!   the polars frames ([`filter`] decides what counts).
//! * [`detect`] reads the frames and says what is wrong, where and since when.
//! * [`report`] and [`export`] present it; [`compare`] puts two providers side by side.
//! * [`analysis`] is the library's entry: [`analyze`] scans and merges a set
//!   of inputs, [`build_report`] makes the report from them. [`app`] is the
//!   command line around it (arguments resolved once, one file per command,
//!   the exports' registry); `main.rs` only parses and exits.

#![deny(missing_docs)]

pub mod aggregate;
pub mod analysis;
pub mod app;
pub mod classify;
pub mod cli;
pub mod compare;
pub mod detect;
pub mod dsn;
pub mod error;
pub mod escape;
pub mod event;
pub mod export;
pub mod filter;
#[doc(hidden)]
pub mod fuzz;
pub mod hashing;
pub mod input;
pub mod journey;
pub mod model;
pub mod parse;
pub mod report;
pub mod scan;
pub mod time;

pub use analysis::{Analysis, analyze};
pub use app::{Outcome, run};
pub use model::build_report;
