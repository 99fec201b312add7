//! Text rules: slugs, normalised lookup keys (case- and accent-insensitive), and the
//! checks every stored string passes (no NUL byte, which PostgreSQL cannot store;
//! trimmed; bounded length).

use std::fmt;

use super::FieldError;

/// A URL-safe identifier: lowercase ASCII letters, digits and single hyphens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 120;

    /// Accepts an existing slug as given; rejects anything that is not one.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        let ok = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if !ok {
            return Err(format!(
                "{s:?} is not a slug (lowercase letters, digits and single hyphens)"
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// Derives a slug from a title or name ("Le Devoir" -> "le-devoir").
    pub fn from_text(text: &str) -> Self {
        let mut s = slug::slugify(text);
        if s.len() > Self::MAX_LEN - 12 {
            s.truncate(Self::MAX_LEN - 12);
            while s.ends_with('-') {
                s.pop();
            }
        }
        if s.is_empty() {
            s.push_str("item");
        }
        Self(s)
    }

    /// This slug with a suffix that makes it unique ("title-2a").
    pub fn with_suffix(&self, suffix: &str) -> Self {
        Self(format!("{}-{}", self.0, suffix))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key a name is looked up by: accents folded, lowercase, punctuation dropped,
/// whitespace collapsed. "Céline  Galipeau" and "celine galipeau" share a key.
pub fn name_key(name: &str) -> String {
    let folded = deunicode::deunicode(name).to_lowercase();
    let mut out = String::with_capacity(folded.len());
    let mut space = false;
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else if c == '\'' || c == '\u{2019}' || c == '.' {
            // "O'Brien" = "OBrien", "C.D. Howe" = "CD Howe"
        } else {
            space = true;
        }
    }
    out
}

/// The stored search key of a named thing: `|name key|alias key|...|`, so a lookup is
/// `LIKE '%|key|%'` (exact) or `LIKE '%fragment%'` (partial) on every backend.
pub fn search_key<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("|");
    for n in names {
        let k = name_key(n);
        if !k.is_empty() {
            out.push_str(&k);
            out.push('|');
        }
    }
    out
}

/// Trims a required text field and checks its length and content.
pub fn clean_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    check_chars(field, v, max)?;
    Ok(v.to_owned())
}

/// Like [`clean_text`] for an optional field: blank becomes `None`.
pub fn clean_optional(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            check_chars(field, v, max)?;
            Ok(Some(v.to_owned()))
        }
    }
}

/// Cleans a list of short texts (bylines, aliases): blanks and repeats are dropped.
pub fn clean_list(
    field: &str,
    values: &[String],
    max_items: usize,
    max_len: usize,
) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        if let Some(v) = clean_optional(field, Some(v), max_len)?
            && !out.contains(&v)
        {
            out.push(v);
        }
    }
    if out.len() > max_items {
        return Err(FieldError::new(
            field,
            format!("at most {max_items} entries allowed, got {}", out.len()),
        ));
    }
    Ok(out)
}

fn check_chars(field: &str, v: &str, max: usize) -> Result<(), FieldError> {
    if v.contains('\0') {
        return Err(FieldError::new(field, "must not contain a NUL character"));
    }
    let n = v.chars().count();
    if n > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters, got {n}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_keys_fold_case_accents_and_punctuation() {
        assert_eq!(name_key("Céline  Galipeau"), "celine galipeau");
        assert_eq!(name_key("Alliance renforcée"), "alliance renforcee");
        assert_eq!(name_key("S&P Global"), "s p global");
        assert_eq!(name_key("C.D. Howe"), "cd howe");
        assert_eq!(
            name_key("Stefanie von Hlatky"),
            name_key("stefanie VON hlatky")
        );
    }

    #[test]
    fn slugs_parse_strictly_and_derive_from_text() {
        assert!(Slug::parse("le-devoir").is_ok());
        assert!(Slug::parse("Le Devoir").is_err());
        assert!(Slug::parse("a--b").is_err());
        assert!(Slug::parse("").is_err());
        assert_eq!(
            Slug::from_text("Un sommet de l’OTAN").as_str(),
            "un-sommet-de-l-otan"
        );
    }

    #[test]
    fn text_rejects_nul_and_overlong_values() {
        assert!(clean_text("title", "a\0b", 10).is_err());
        assert!(clean_text("title", "   ", 10).is_err());
        assert!(clean_text("title", "abcdefghijk", 10).is_err());
        assert_eq!(clean_text("title", " ok ", 10).unwrap(), "ok");
        assert_eq!(
            clean_list("authors", &["A".into(), " ".into(), "A".into()], 5, 10).unwrap(),
            vec!["A".to_string()]
        );
    }

    #[test]
    fn search_keys_hold_every_name() {
        assert_eq!(
            search_key(["Rob Huebert", "Robert Huebert"]),
            "|rob huebert|robert huebert|"
        );
    }

    proptest::proptest! {
        #[test]
        fn folding_any_text_gives_a_clean_key(s in "\\PC{0,200}") {
            let k = name_key(&s);
            proptest::prop_assert!(k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == ' '), "{k:?}");
            proptest::prop_assert!(!k.starts_with(' ') && !k.ends_with(' ') && !k.contains("  "), "{k:?}");
            // Folding is idempotent.
            proptest::prop_assert_eq!(name_key(&k), k);
        }

        #[test]
        fn folding_ignores_case_and_accents(s in "[a-zA-Z0-9 .,'-]{0,60}") {
            let accented: String = s
                .chars()
                .map(|c| match c {
                    'e' => 'é',
                    'a' => 'à',
                    'c' => 'ç',
                    'o' => 'ô',
                    c => c,
                })
                .collect();
            proptest::prop_assert_eq!(name_key(&s.to_uppercase()), name_key(&s));
            proptest::prop_assert_eq!(name_key(&accented), name_key(&s));
        }

        #[test]
        fn slugs_from_any_text_parse(s in "\\PC{0,120}") {
            let slug = Slug::from_text(&s);
            proptest::prop_assert!(Slug::parse(slug.as_str()).is_ok(), "{slug}");
        }
    }
}
