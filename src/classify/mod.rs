//! Classification: which provider a recipient belongs to, and which reason a
//! reply text stands for, and what a failure means (its category).

pub mod category;
pub mod overrides;
pub mod provider;
pub mod providers;
pub mod reason;

use category::Classifier;
use provider::ProviderMap;
use reason::Masker;

/// The read-only tables every worker classifies with: providers, reason
/// masker, category classifier. Built once per run.
#[derive(Debug)]
pub struct Engine {
    /// Provider lookup tables.
    pub providers: ProviderMap,
    /// Reply-text masker.
    pub masker: Masker,
    /// Failure categories.
    pub classifier: Classifier,
}

impl Engine {
    /// The built-in tables.
    pub fn builtin() -> Engine {
        Engine::new(ProviderMap::builtin())
    }

    /// The tables for a provider map (the built-in one plus the user's file).
    pub fn new(providers: ProviderMap) -> Engine {
        let classifier = Classifier::new(&providers);
        Engine {
            providers,
            masker: Masker::new(),
            classifier,
        }
    }
}
