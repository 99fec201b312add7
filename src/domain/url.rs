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

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_is_refused_never_a_panic(s in "\\PC{0,300}") {
            let _ = SourceUrl::parse(&s);
        }

        #[test]
        fn url_shaped_text_never_panics(
            scheme in "(https?|HTTPS?|ftp)",
            host in "[a-zA-Z0-9.-]{0,30}",
            port in proptest::option::of(proptest::num::u16::ANY),
            path in "(/[a-zA-Z0-9%._~-]{0,12}){0,4}/?",
            query in proptest::option::of("[a-zA-Z0-9_=&%-]{0,40}"),
            fragment in proptest::option::of("[a-zA-Z0-9]{0,10}"),
        ) {
            let mut s = format!("{scheme}://{host}");
            if let Some(p) = port { s.push_str(&format!(":{p}")); }
            s.push_str(&path);
            if let Some(q) = query { s.push('?'); s.push_str(&q); }
            if let Some(f) = fragment { s.push('#'); s.push_str(&f); }
            let _ = SourceUrl::parse(&s);
        }

        #[test]
        fn the_canonical_form_is_a_fixed_point_and_ignores_noise(
            host in "[a-z][a-z0-9]{0,10}\\.(com|org|ca)",
            segments in proptest::collection::vec("[a-z0-9-]{1,10}", 0..4),
            id in proptest::option::of(1u32..100_000),
            https in proptest::bool::ANY,
        ) {
            let path: String = segments.iter().map(|s| format!("/{s}")).collect();
            let query = id.map(|i| format!("?id={i}")).unwrap_or_default();
            let plain = format!("http://{host}{path}{query}");
            let a = SourceUrl::parse(&plain).unwrap();
            // A fixed point: canonicalising the canonical form changes nothing.
            let again = SourceUrl::parse(a.canonical()).unwrap();
            proptest::prop_assert_eq!(again.canonical(), a.canonical());
            // Scheme, host case, default port, trailing slash, fragment and
            // tracking parameters do not change it.
            let sep = if query.is_empty() { "?" } else { "&" };
            let noisy = format!(
                "{}://{}{}{path}/{query}{sep}utm_source=x&fbclid=y#frag",
                if https { "HTTPS" } else { "http" },
                host.to_uppercase(),
                if https { ":443" } else { ":80" },
            );
            let b = SourceUrl::parse(&noisy).unwrap();
            proptest::prop_assert_eq!(b.canonical(), a.canonical());
        }
    }
}
