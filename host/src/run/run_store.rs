//! The run's handle on its store (none for a plan without one): every call
//! the run engine makes goes through [`RunStore::with`], which turns a
//! poisoned lock into an `internal` stop and a store error into
//! `store-failed`.

use crate::runtime::state::SharedStore;
use crate::stop::{Stop, StopCode};
use crate::store::{StoreBackend, StoreError};

/// The run's store, if its plan has one.
#[derive(Clone, Default)]
pub(super) struct RunStore(Option<SharedStore>);

impl RunStore {
    pub(super) fn new(store: Option<SharedStore>) -> Self {
        Self(store)
    }

    /// The shared handle, for the phases' capabilities and the barrier.
    pub(super) fn shared(&self) -> Option<SharedStore> {
        self.0.clone()
    }

    /// `f` on the store; `None` without one.
    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&mut dyn StoreBackend) -> Result<T, StoreError>,
    ) -> Result<Option<T>, Stop> {
        let Some(store) = &self.0 else {
            return Ok(None);
        };
        let mut guard = store
            .lock()
            .map_err(|_| Stop::new(StopCode::Internal, "store lock poisoned"))?;
        f(guard.as_mut())
            .map(Some)
            .map_err(|e| Stop::new(StopCode::StoreFailed, e.to_string()))
    }

    /// The store's digest of `document_id`'s rows, if there is a store.
    pub(super) fn document_digest(&self, document_id: &str) -> Result<Option<String>, Stop> {
        self.with(|s| s.document_digest(document_id))
    }

    /// Roll back the open transaction, on the way to a stop or a pause
    /// (errors ignored: the stop that follows is the report).
    pub(super) fn rollback(&self) {
        if let Some(store) = &self.0
            && let Ok(mut store) = store.lock()
        {
            let _ = store.rollback();
        }
    }

    /// The backend's name (`sqlite`, `postgres`), `none` without a store.
    pub(super) fn kind(&self) -> &'static str {
        self.0
            .as_ref()
            .and_then(|s| s.lock().ok().map(|s| s.kind()))
            .unwrap_or("none")
    }
}
