//! Comment rules that need no database: the body (plain text, 1 to
//! [`CommentBody::MAX_CHARS`] characters), its normalised key for duplicate
//! detection, the link count, the statuses and the moderation policy.

use std::fmt;

use sha2::{Digest, Sha256};

/// A comment's text: trimmed, 1 to 5,000 characters, no control characters
/// but line breaks and tabs. Plain text: never interpreted as markup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommentBody(String);

impl CommentBody {
    pub const MAX_CHARS: usize = 5_000;

    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(format!("must be at most {} characters", Self::MAX_CHARS));
        }
        if s.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err("must not contain control characters".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SHA-256 (hex) of the body with case folded and whitespace
    /// collapsed: two bodies that differ only so are duplicates.
    pub fn key(&self) -> String {
        let norm = self
            .0
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        Sha256::digest(norm.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// How many links the body holds (`http://`, `https://`, `www.`).
    pub fn links(&self) -> usize {
        let lower = self.0.to_lowercase();
        let schemed = lower.matches("http://").count() + lower.matches("https://").count();
        let bare = lower
            .match_indices("www.")
            .filter(|(i, _)| !lower[..*i].ends_with("://"))
            .count();
        schemed + bare
    }
}

impl fmt::Display for CommentBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a comment stands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum CommentStatus {
    /// Waiting for an editor; seen only by its author.
    Pending,
    /// Public.
    Approved,
    Rejected,
    Spam,
}

impl CommentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Spam => "spam",
        }
    }
}

impl std::str::FromStr for CommentStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pending" => Ok(Self::Pending),
            "approved" => Ok(Self::Approved),
            "rejected" => Ok(Self::Rejected),
            "spam" => Ok(Self::Spam),
            other => Err(format!(
                "unknown status {other:?}; expected one of: pending, approved, rejected, spam"
            )),
        }
    }
}

/// Which new comments wait for an editor (`--comment-moderation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Moderation {
    /// A reader's comments wait until one of theirs has been approved, and
    /// again once one of theirs was rejected or marked spam.
    #[default]
    First,
    /// Every comment waits.
    All,
    /// Every comment is public at once.
    None,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_parsed() {
        assert_eq!(CommentBody::parse("  hi \n").unwrap().as_str(), "hi");
        assert!(CommentBody::parse(" \n ").is_err());
        assert!(CommentBody::parse(&"a".repeat(5_001)).is_err());
        assert!(CommentBody::parse(&"é".repeat(5_000)).is_ok());
        assert!(CommentBody::parse("a\u{0}b").is_err());
        assert!(CommentBody::parse("line\nline\ttab").is_ok());
    }

    #[test]
    fn duplicates_differ_only_in_case_and_spacing() {
        let a = CommentBody::parse("Great  piece\nthanks").unwrap();
        let b = CommentBody::parse("great piece thanks").unwrap();
        let c = CommentBody::parse("great piece, thanks").unwrap();
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), c.key());
    }

    #[test]
    fn links_are_counted() {
        let b = |s: &str| CommentBody::parse(s).unwrap().links();
        assert_eq!(b("no links"), 0);
        assert_eq!(b("see https://a.test and http://b.test"), 2);
        assert_eq!(b("https://www.a.test www.b.test"), 2);
    }

    #[test]
    fn statuses_round_trip() {
        for s in ["pending", "approved", "rejected", "spam"] {
            assert_eq!(s.parse::<CommentStatus>().unwrap().as_str(), s);
        }
        assert!("gone".parse::<CommentStatus>().is_err());
    }
}
