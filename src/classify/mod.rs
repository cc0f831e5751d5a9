//! Classification: which provider a recipient belongs to, and which reason a
//! reply text stands for, and what a failure means (its category).

pub mod category;
pub mod overrides;
pub mod provider;
pub mod providers;
pub mod reason;
