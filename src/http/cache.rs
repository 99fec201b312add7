//! A bounded in-memory cache of rendered public answers, filled and consulted only
//! by `http::conditional`. Every entry remembers the content stamp it was rendered
//! under, and a lookup compares it with the current stamp
//! (`services::content::StampWatch`), so a write on this node, a scheduled
//! publication coming due or an event starting makes the entry stale at once, and
//! a write on another node within the watch's bound. The cache only saves
//! recomputing an answer that has not changed. Keys
//! cover everything an answer depends on, including the base URL its links were
//! written for.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use actix_web::web::Bytes;
use sha2::{Digest, Sha256};

/// What a cached answer carries besides its body.
#[derive(Clone)]
pub struct Entry {
    pub stamp: [i64; 3],
    pub body: Bytes,
    /// The answer's `Content-Type`.
    pub content_type: String,
    /// An RFC 8288 `Link` header, if the answer had one.
    pub link: Option<String>,
    /// The validator given with this body.
    pub etag: String,
}

pub struct ResponseCache {
    /// `None` when caching is off.
    inner: Option<Mutex<lru::LruCache<[u8; 32], Entry>>>,
    max_body: usize,
}

/// Largest answer worth keeping.
const MAX_BODY: usize = 512 * 1024;

impl ResponseCache {
    /// A cache of at most `entries` answers; 0 turns it off.
    pub fn new(entries: usize) -> Self {
        Self {
            inner: NonZeroUsize::new(entries).map(|cap| Mutex::new(lru::LruCache::new(cap))),
            max_body: MAX_BODY,
        }
    }

    /// A key over the parts that determine an answer.
    pub fn key(parts: &[&[u8]]) -> [u8; 32] {
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        h.finalize().into()
    }

    /// The answer rendered under exactly `stamp`, if any.
    pub fn get(&self, key: &[u8; 32], stamp: [i64; 3]) -> Option<Entry> {
        let mut c = self.inner.as_ref()?.lock().ok()?;
        match c.get(key) {
            Some(e) if e.stamp == stamp => Some(e.clone()),
            Some(_) => {
                c.pop(key);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, key: [u8; 32], entry: Entry) {
        if entry.body.len() > self.max_body {
            return;
        }
        if let Some(Ok(mut c)) = self.inner.as_ref().map(Mutex::lock) {
            c.put(key, entry);
        }
    }
}
