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
//! * [`input`] memory-maps each file (or reads a stream in bounded blocks) and
//!   splits it into line-aligned chunks scanned in parallel with rayon.
//! * [`scan`] walks a chunk's lines; [`parse`] turns a line into a
//!   [`event::Delivery`] without allocating; [`classify`] names the provider
//!   and masks the reply text into a reason.
//! * [`aggregate`] folds deliveries into per-worker batches, joins each to its
//!   sender and expiries to their deferrals, merges in input order and builds
//!   the polars frames ([`filter`] decides what counts).
//! * [`detect`] reads the frames and says what is wrong, where and since when.
//! * [`model`] makes the report's values ([`build_report`]); [`render`]
//!   writes them (one [`render::Render`] per format) and [`export`] exports
//!   them. [`time`] and [`escape`] are leaves every stage may use.
//! * [`analysis`] is the library's entry: [`analyze`] scans and merges a set
//!   of inputs. [`app`] is the command line around it (arguments resolved
//!   once, one file per command, the exports' registry); `main.rs` only
//!   parses and exits.

#![deny(missing_docs)]

// Private by default: the API is the analysis (`analyze`), its model
// (`build_report`, `model::Report`) and `run`; the other public modules
// serve the binary, the benchmarks, the fuzz targets and the integration
// tests (the parsers, the scanner, input, filter, time, escape, cli, error).
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
#[doc(hidden)]
pub mod fuzz;
pub(crate) mod hashing;
pub mod input;
pub(crate) mod intern;
pub(crate) mod journey;
pub mod model;
pub mod parse;
pub(crate) mod render;
pub(crate) mod scan;
pub mod time;

pub use analysis::{Analysis, analyze};
pub use app::{Outcome, cli, run};
pub use model::build_report;
