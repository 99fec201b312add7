//! Apollo automatic persisted queries: a client sends a query's SHA-256 alone
//! (`extensions.persistedQuery`), and the query itself only after a
//! `PersistedQueryNotFound`. Registered queries are kept in this process (an LRU)
//! and, with `--shared-store`, in the shared store, so a query registered on one
//! node is known to every node behind the load balancer. The HTTP layer resolves
//! the hash into the query text before anything else looks at the request, so a
//! persisted mutation is checked (GET refused, write budget spent) like any other.
//! A shared store that cannot be reached counts as a miss: the client resends.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::services::shared_store::SharedStore;

/// Persisted queries each process keeps in memory.
pub const LOCAL_ENTRIES: usize = 2_048;

/// Why a persisted-query request is refused: the message and `extensions.code`.
pub type Refusal = (String, &'static str);

#[derive(Deserialize)]
struct Extension {
    version: i32,
    #[serde(rename = "sha256Hash")]
    sha256_hash: String,
}

/// The registered queries (hash → text).
pub struct PersistedQueries {
    local: Mutex<lru::LruCache<String, String>>,
    shared: Option<SharedStore>,
}

impl PersistedQueries {
    /// Kept in this process, and in `shared` when given.
    pub fn new(shared: Option<SharedStore>) -> Self {
        Self {
            local: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(LOCAL_ENTRIES).unwrap_or(NonZeroUsize::MIN),
            )),
            shared,
        }
    }

    /// Turns a request that names a persisted query into one that carries its
    /// text, and registers a query sent with its hash (when its hash is right,
    /// it parses and it is at most `max_bytes` long). A request without the
    /// extension is left as it is.
    pub async fn resolve(
        &self,
        req: &mut async_graphql::Request,
        max_bytes: usize,
    ) -> Result<(), Refusal> {
        let Some(value) = req.extensions.remove("persistedQuery") else {
            return Ok(());
        };
        let ext: Extension = value
            .into_json()
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or_else(|| {
                (
                    "Invalid \"PersistedQuery\" extension configuration.".to_owned(),
                    "BAD_USER_INPUT",
                )
            })?;
        if ext.version != 1 {
            return Err((
                format!(
                    "only version 1 of the \"PersistedQuery\" extension is supported, not {}",
                    ext.version
                ),
                "BAD_USER_INPUT",
            ));
        }
        let hash = ext.sha256_hash.to_ascii_lowercase();
        if req.query.is_empty() {
            req.query = self.lookup(&hash).await.ok_or_else(|| {
                (
                    "PersistedQueryNotFound".to_owned(),
                    "PERSISTED_QUERY_NOT_FOUND",
                )
            })?;
            return Ok(());
        }
        if format!("{:x}", Sha256::digest(req.query.as_bytes())) != hash {
            return Err((
                "provided sha does not match query".to_owned(),
                "BAD_USER_INPUT",
            ));
        }
        if req.query.len() <= max_bytes && super::documents::parsed(&req.query).is_some() {
            self.register(hash, req.query.clone()).await;
        }
        Ok(())
    }

    async fn lookup(&self, hash: &str) -> Option<String> {
        if let Some(q) = self.locked().get(hash) {
            return Some(q.clone());
        }
        let store = self.shared.as_ref()?;
        match store.persisted_query(hash).await {
            Ok(Some(q)) => {
                // Only a text whose hash is right is used, whatever the store holds.
                (format!("{:x}", Sha256::digest(q.as_bytes())) == hash).then(|| {
                    self.locked().put(hash.to_owned(), q.clone());
                    q
                })
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "persisted query not looked up in the shared store");
                None
            }
        }
    }

    async fn register(&self, hash: String, query: String) {
        if self.locked().contains(&hash) {
            return;
        }
        if let Some(store) = &self.shared
            && let Err(e) = store.persist_query(&hash, &query).await
        {
            tracing::warn!(error = %e, "persisted query kept on this node only");
        }
        self.locked().put(hash, query);
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, lru::LruCache<String, String>> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }
}
