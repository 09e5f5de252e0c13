//! The chains a process serves, by CAIP-2 id.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{ChainBackend, ChainRef};

/// The configured chains: one backend each, found by CAIP-2 id. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Chains {
    by_id: BTreeMap<ChainRef, Arc<dyn ChainBackend>>,
    default: Option<ChainRef>,
}

impl Chains {
    /// No chains.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `backend` under its own id; the first one added is the default. A second
    /// backend for the same id replaces the first.
    pub fn with(mut self, backend: Arc<dyn ChainBackend>) -> Self {
        let id = backend.id().clone();
        self.default.get_or_insert_with(|| id.clone());
        self.by_id.insert(id, backend);
        self
    }

    /// The backend of `id`.
    pub fn get(&self, id: &ChainRef) -> Option<&Arc<dyn ChainBackend>> {
        self.by_id.get(id)
    }

    /// The backend of the CAIP-2 id `text`, if it is configured.
    pub fn by_name(&self, text: &str) -> Option<&Arc<dyn ChainBackend>> {
        ChainRef::parse(text).ok().and_then(|id| self.by_id.get(&id))
    }

    /// The chain requests go to when they name none (the first configured).
    pub fn default_chain(&self) -> Option<&Arc<dyn ChainBackend>> {
        self.default.as_ref().and_then(|id| self.by_id.get(id))
    }

    /// Every configured chain, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn ChainBackend>> {
        self.by_id.values()
    }

    /// How many chains are configured.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
