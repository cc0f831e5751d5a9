//! The renderers: the terminal report (findings and sparklines in
//! `findings.rs`, journeys, `summary`), Markdown and HTML with inline SVG
//! charts. They read the values of [`crate::model`] and nothing earlier in
//! the flow.

pub mod findings;
pub mod html;
pub mod journeys;
pub mod markdown;
pub mod style;
pub mod summary;
pub mod terminal;
