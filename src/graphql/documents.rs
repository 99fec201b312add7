//! Parsed GraphQL documents by their query text. A frontend sends the same few
//! queries over and over; parsing one (async-graphql's pest grammar) cost about a
//! fifth of the server's CPU on a small computed query, and the endpoint needed
//! the document three times (the mutation check, the document limits, then the
//! schema). Parsing is a pure function of the text, so one process-wide, bounded
//! LRU serves every request: the endpoint parses a text once, and hands the
//! schema a copy (`Request::set_parsed_query`), which still applies its depth,
//! directive and validation rules to it.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, OnceLock};

use async_graphql::parser::parse_query;
use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

/// Texts longer than this are parsed every time: real queries are far shorter,
/// and the cache's memory stays bounded (at most [`ENTRIES`] × this in text).
const MAX_CACHED_BYTES: usize = 4 * 1024;
/// Distinct texts kept, least recently used dropped first.
const ENTRIES: usize = 256;

fn cache() -> &'static Mutex<LruCache<String, Arc<ExecutableDocument>>> {
    static CACHE: OnceLock<Mutex<LruCache<String, Arc<ExecutableDocument>>>> = OnceLock::new();
    CACHE.get_or_init(|| {
        Mutex::new(LruCache::new(
            NonZeroUsize::new(ENTRIES).unwrap_or(NonZeroUsize::MIN),
        ))
    })
}

/// The document `query` parses to, or `None` when it does not parse (the schema
/// parses it again and reports the error with its position). Texts that parse
/// are kept; errors never are.
pub fn parsed(query: &str) -> Option<Arc<ExecutableDocument>> {
    if query.len() > MAX_CACHED_BYTES {
        return parse_query(query).ok().map(Arc::new);
    }
    if let Some(doc) = cache().lock().unwrap_or_else(|e| e.into_inner()).get(query) {
        return Some(doc.clone());
    }
    let doc = Arc::new(parse_query(query).ok()?);
    cache()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .put(query.to_owned(), doc.clone());
    Some(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_parsed_once_and_errors_are_not_kept() {
        let q = "query CacheProbe { articles(first: 1) { nodes { slug } } }";
        let a = parsed(q).expect("parses");
        let b = parsed(q).expect("parses");
        assert!(
            Arc::ptr_eq(&a, &b),
            "the second lookup reuses the first parse"
        );

        let bad = "query Broken { articles(first: 1) { nodes { slug }";
        assert!(parsed(bad).is_none());
        assert!(!cache().lock().unwrap().contains(bad));

        let long = format!(
            "query Long {{ a: site {{ name }} }} # {}",
            "x".repeat(MAX_CACHED_BYTES)
        );
        let c = parsed(&long).expect("a long text still parses");
        let d = parsed(&long).expect("a long text still parses");
        assert!(!Arc::ptr_eq(&c, &d), "a long text is not kept");
    }
}
