//! mtastat: mail-server log analytics.
//!
//! Data flows one way:
//!
//! ```text
//! input ─► scan ─► parse ─► classify ─► aggregate ─► detect ─► model ─► render / export
//! mmap,    lines   header,  provider,   per-worker    findings  Report   terminal, JSON,
//! stream           Postfix, category,   batches ─►    episodes  values   Markdown, HTML;
//!                  Exim     masked      polars frames                    CSV, Parquet, …
//!                           reason
//! ```
//!
//! * [`input`] memory-maps each file (or reads a stream in bounded blocks)
//!   and hands line-aligned pieces to a sink; it imports no later stage.
//! * [`scan`] splits a piece into lines; [`parse`] turns a line into a
//!   [`event::Delivery`] without allocating; [`classify`] names the provider
//!   and masks the reply text into a reason.
//! * [`aggregate`] is the sink: its workers fold lines into per-worker
//!   batches in parallel, join each delivery to its sender and expiries to
//!   their deferrals, merge in input order and build the polars frames
//!   ([`filter`] decides what counts).
//! * [`detect`] reads the frames and says what is wrong, where and since when.
//! * [`model`] makes the report's values ([`build_report`]); [`render`]
//!   writes them (one [`render::Render`] per format) and [`export`] exports
//!   them. [`time`], [`escape`], [`intern`] and [`hashing`] are leaves every
//!   stage may use. `tests/architecture.rs` fails on an import that runs
//!   against the flow.
//! * [`analysis`] is the library's entry: [`analyze`] feeds a set of inputs
//!   to the workers and merges them. [`app`] is the command line around it (arguments resolved
//!   once, one file per command, the exports' registry); `main.rs` only
//!   parses and exits.

#![deny(missing_docs)]
// The overview above names private stages: `cargo doc --document-private-items`
// renders its links.
#![allow(rustdoc::private_intra_doc_links)]

// Private by default: the API is the analysis (`analyze`), its model
// (`build_report`, `model::Report`) and `run`; the other public modules
// serve the binary, the benchmarks, the fuzz targets and the integration
// tests (the parsers, input, filter, time, escape, cli, error).
pub(crate) mod aggregate;
pub mod analysis;
pub(crate) mod app;
pub(crate) mod classify;
pub(crate) mod detect;
pub(crate) mod dsn;
pub mod error;
pub mod escape;
pub(crate) mod event;
pub(crate) mod export;
pub mod filter;
pub(crate) mod fleet;
#[doc(hidden)]
pub mod fuzz;
pub(crate) mod hashing;
pub(crate) mod history;
pub mod input;
pub(crate) mod intern;
pub(crate) mod journey;
pub mod model;
pub mod parse;
pub(crate) mod render;
pub(crate) mod scan;
pub mod time;
pub(crate) mod trace;

pub use analysis::{Analysis, analyze};
pub use app::{Outcome, cli, run};
pub use model::build_report;
