//! Query parameters: parsed once, each bad one reported by name (400).

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::domain::{FieldError, PageRequest, Slug, parse_timestamp};
use crate::error::AppError;

/// The query string of one request.
pub struct Params {
    map: HashMap<String, String>,
    errors: Vec<FieldError>,
}

impl Params {
    /// Parses `a=1&b=2`; a parameter given twice is an error.
    pub fn parse(query: &str) -> Result<Self, AppError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| AppError::invalid("query", format!("malformed query string: {e}")))?;
        let mut map = HashMap::new();
        let mut errors = Vec::new();
        for (k, v) in pairs {
            if map.contains_key(&k) {
                errors.push(FieldError::new(&k, "given more than once"));
            }
            map.insert(k, v);
        }
        Ok(Self { map, errors })
    }

    /// The non-empty value of `name`, if given.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.map
            .get(name)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    pub fn slug(&mut self, name: &str) -> Option<Slug> {
        let v = self.str(name)?.to_owned();
        self.check(name, Slug::parse(&v))
    }

    pub fn time(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let v = self.str(name)?.to_owned();
        self.check(name, parse_timestamp(&v))
    }

    pub fn parse_as<T: FromStr<Err = String>>(&mut self, name: &str) -> Option<T> {
        let v = self.str(name)?.to_owned();
        self.check(name, v.parse::<T>())
    }

    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        let v = self.str(name)?.to_ascii_lowercase();
        let r = match v.as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(format!("{v:?} is not a boolean (true or false)")),
        };
        self.check(name, r)
    }

    /// `limit` (1..=100, default 20) and `cursor`.
    pub fn page(&mut self) -> PageRequest {
        let limit = match self.str("limit") {
            None => None,
            Some(v) => match v.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    self.errors.push(FieldError::new(
                        "limit",
                        format!("{v:?} is not a whole number"),
                    ));
                    return PageRequest::default();
                }
            },
        };
        let cursor = self.str("cursor").map(str::to_owned);
        match PageRequest::forward(limit, cursor.as_deref()) {
            Ok(p) => p,
            Err(e) => {
                self.errors.push(e);
                PageRequest::default()
            }
        }
    }

    /// A whole number from 1 to `max` named `name`, `default` when absent.
    pub fn count(&mut self, name: &str, default: u64, max: u64) -> u64 {
        let r = match self.str(name) {
            None => Ok(default),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(format!("{v:?} is not a whole number from 1 to {max}")),
            },
        };
        self.check(name, r).unwrap_or(default)
    }

    /// A cursor that is a row id (lists keyed by id alone), if given.
    pub fn id(&mut self, name: &str) -> Option<i64> {
        let r = self
            .str(name)?
            .parse::<i64>()
            .map_err(|_| "is not a cursor of this list".to_owned());
        self.check(name, r)
    }

    /// Records a problem with a parameter.
    pub fn push(&mut self, e: FieldError) {
        self.errors.push(e);
    }

    /// The value of `r`, or `None` with its error recorded against `name`.
    pub fn check<T>(&mut self, name: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(m) => {
                self.errors.push(FieldError::new(name, m));
                None
            }
        }
    }

    /// Every problem found so far, as one 400.
    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.errors))
        }
    }
}
