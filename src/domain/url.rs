//! Canonical source URLs: the key that makes re-posting a mention idempotent.

use url::Url;

/// An absolute http(s) URL, kept as given, with its canonical form for uniqueness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceUrl {
    original: String,
    canonical: String,
}

/// Query parameters that only track a click and never select content.
const TRACKING: &[&str] = &[
    "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga", "ref_src",
    "cmpid",
];

impl SourceUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        let mut u = Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
        if u.scheme() != "http" && u.scheme() != "https" {
            return Err(format!(
                "must be an http or https URL, got {:?}",
                u.scheme()
            ));
        }
        if u.host_str().is_none_or(str::is_empty) {
            return Err("must name a host".into());
        }
        // Scheme and host case and the default port are normalised by the parser.
        u.set_fragment(None);
        let kept: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                !k.starts_with("utm_") && !TRACKING.contains(&k.as_str())
            })
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(kept);
        }
        let path = u.path().to_owned();
        if path.len() > 1 && path.ends_with('/') {
            u.set_path(path.trim_end_matches('/'));
        }
        // http and https name the same article.
        let mut canonical = u.to_string();
        if let Some(rest) = canonical.strip_prefix("https://") {
            canonical = format!("http://{rest}");
        }
        if canonical.ends_with('/') && u.path() == "/" && u.query().is_none() {
            canonical.pop();
        }
        Ok(Self {
            original: s.to_owned(),
            canonical,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.original
    }

    pub fn canonical(&self) -> &str {
        &self.canonical
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_ignores_case_port_slash_fragment_and_tracking() {
        let a = SourceUrl::parse("HTTPS://WWW.Example.com:443/news/story/?utm_source=x&id=3#top")
            .unwrap();
        let b = SourceUrl::parse("https://www.example.com/news/story?id=3").unwrap();
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(b.canonical(), "http://www.example.com/news/story?id=3");
    }

    #[test]
    fn refuses_non_http_urls() {
        assert!(SourceUrl::parse("ftp://example.com/x").is_err());
        assert!(SourceUrl::parse("javascript:alert(1)").is_err());
        assert!(SourceUrl::parse("not a url").is_err());
    }
}
