//! Keyset pagination: page requests (Relay's first/after/last/before), opaque cursors
//! that carry the sort key of the last row seen, and pages. Never OFFSET.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::FieldError;

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

/// The position of one row in an ordering: its sort key and id. Opaque to clients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Timestamp sort key, in microseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "t")]
    pub ts: Option<i64>,
    /// Text sort key (names).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "s")]
    pub text: Option<String>,
    /// Numeric sort key (relevance).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "n")]
    pub num: Option<f64>,
    #[serde(rename = "i")]
    pub id: i32,
    /// Which section of a mixed listing (search results) the row belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "k")]
    pub kind: Option<u8>,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(s: &str) -> Result<Self, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s.trim())
            .map_err(|_| "is not a valid cursor".to_string())?;
        serde_json::from_slice(&bytes).map_err(|_| "is not a valid cursor".to_string())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `first`/`after`: rows after the cursor in the ordering.
    Forward,
    /// `last`/`before`: rows before the cursor, returned in the ordering's order.
    Backward,
}

/// A validated page request.
#[derive(Clone, Debug, PartialEq)]
pub struct PageRequest {
    pub limit: u64,
    pub direction: Direction,
    pub cursor: Option<Cursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_PAGE_SIZE,
            direction: Direction::Forward,
            cursor: None,
        }
    }
}

impl PageRequest {
    /// Validates Relay-style arguments: `first` with `after`, or `last` with `before`.
    pub fn relay(
        first: Option<i64>,
        after: Option<&str>,
        last: Option<i64>,
        before: Option<&str>,
    ) -> Result<Self, FieldError> {
        if first.is_some() && last.is_some() {
            return Err(FieldError::new(
                "last",
                "use either first or last, not both",
            ));
        }
        if after.is_some() && before.is_some() {
            return Err(FieldError::new(
                "before",
                "use either after or before, not both",
            ));
        }
        let backward = last.is_some() || before.is_some();
        if backward && (first.is_some() || after.is_some()) {
            return Err(FieldError::new(
                if first.is_some() { "first" } else { "after" },
                "page forward with first/after or backward with last/before",
            ));
        }
        let (field, n) = if backward {
            ("last", last)
        } else {
            ("first", first)
        };
        let limit = Self::limit(field, n)?;
        let cursor_field = if backward { "before" } else { "after" };
        let cursor = match if backward { before } else { after } {
            None => None,
            Some(c) => Some(Cursor::decode(c).map_err(|m| FieldError::new(cursor_field, m))?),
        };
        Ok(Self {
            limit,
            direction: if backward {
                Direction::Backward
            } else {
                Direction::Forward
            },
            cursor,
        })
    }

    /// A forward page from a REST-style `limit` and `cursor`.
    pub fn forward(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, FieldError> {
        Self::relay(limit, cursor, None, None).map_err(|mut e| {
            if e.field == "first" {
                e.field = "limit".into();
            } else if e.field == "after" {
                e.field = "cursor".into();
            }
            e
        })
    }

    fn limit(field: &str, n: Option<i64>) -> Result<u64, FieldError> {
        match n {
            None => Ok(DEFAULT_PAGE_SIZE),
            Some(n) if n < 1 => Err(FieldError::new(field, "must be at least 1")),
            Some(n) if n as u64 > MAX_PAGE_SIZE => Err(FieldError::new(
                field,
                format!("must be at most {MAX_PAGE_SIZE}"),
            )),
            Some(n) => Ok(n as u64),
        }
    }
}

/// One page of rows in the requested ordering.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
    pub has_previous: bool,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows (in fetch order).
    pub fn from_fetched(mut rows: Vec<T>, req: &PageRequest) -> Self {
        let more = rows.len() as u64 > req.limit;
        rows.truncate(req.limit as usize);
        match req.direction {
            Direction::Forward => Page {
                items: rows,
                has_next: more,
                has_previous: req.cursor.is_some(),
            },
            Direction::Backward => {
                rows.reverse();
                Page {
                    items: rows,
                    has_next: req.cursor.is_some(),
                    has_previous: more,
                }
            }
        }
    }

    /// The opaque cursor of the next page, if there is one.
    pub fn next_cursor(&self, cursor: impl Fn(&T) -> Cursor) -> Option<String> {
        if self.has_next {
            self.items.last().map(|i| cursor(i).encode())
        } else {
            None
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_next: self.has_next,
            has_previous: self.has_previous,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor {
            ts: Some(1_656_460_800_000_000),
            text: None,
            num: None,
            id: 7,
            kind: None,
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("not-a-cursor!").is_err());
        assert!(Cursor::decode("eyJ4IjoxfQ").is_err());
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(
            PageRequest::relay(None, None, None, None).unwrap().limit,
            20
        );
        assert_eq!(
            PageRequest::relay(Some(1000), None, None, None)
                .unwrap_err()
                .field,
            "first"
        );
        assert_eq!(
            PageRequest::forward(Some(0), None).unwrap_err().field,
            "limit"
        );
        assert!(PageRequest::relay(Some(1), None, Some(1), None).is_err());
        assert_eq!(
            PageRequest::relay(None, None, Some(5), None)
                .unwrap()
                .direction,
            Direction::Backward
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_decodes_to_a_cursor_or_an_error_never_a_panic(s in "\\PC{0,200}") {
            let _ = Cursor::decode(&s);
        }

        #[test]
        fn any_base64_decodes_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = Cursor::decode(&URL_SAFE_NO_PAD.encode(bytes));
        }

        #[test]
        fn every_cursor_round_trips(
            ts in proptest::option::of(proptest::num::i64::ANY),
            text in proptest::option::of("\\PC{0,40}"),
            num in proptest::option::of(-1.0e12f64..1.0e12),
            id in proptest::num::i32::ANY,
            kind in proptest::option::of(proptest::num::u8::ANY),
        ) {
            let c = Cursor { ts, text, num, id, kind };
            proptest::prop_assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        }
    }
}
