//! Classification: which provider a recipient belongs to, and which reason a
//! reply text stands for.

pub mod provider;
pub mod providers;
pub mod reason;
