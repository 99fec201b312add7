//! Content negotiation by `Accept` for the answers that come in more than one
//! representation (REST objects as JSON-LD, coverage statistics as CSV): one
//! rule for every such answer, and the `Vary` that tells caches about it.

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderValue};

/// The ranges that would give the default JSON answer.
const JSON: [&str; 3] = ["application/json", "application/*", "*/*"];

/// Whether `Accept` ranks `media` above zero and at least as high as anything
/// that would give JSON; false without `Accept`.
pub fn prefers(req: &HttpRequest, media: &str) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| ranks(accept, media))
}

fn ranks(accept: &str, media: &str) -> bool {
    let (mut wanted, mut plain) = (0.0f32, 0.0f32);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let m = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if m == media {
            wanted = wanted.max(q);
        } else if JSON.contains(&m.as_str()) {
            plain = plain.max(q);
        }
    }
    wanted > 0.0 && wanted >= plain
}

/// Marks an answer as chosen by `Accept` (its `Vary`).
pub fn vary_on_accept(res: &mut actix_web::HttpResponse) {
    res.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
}

#[cfg(test)]
mod tests {
    use super::ranks;

    #[test]
    fn a_refused_or_lower_ranked_type_is_not_chosen() {
        assert!(ranks("text/csv", "text/csv"));
        assert!(ranks("application/json;q=0.5, text/csv", "text/csv"));
        assert!(!ranks("text/csv;q=0, application/json", "text/csv"));
        assert!(!ranks("text/csv;q=0.4, */*;q=0.5", "text/csv"));
        assert!(!ranks("application/json", "text/csv"));
        assert!(ranks("application/ld+json", "application/ld+json"));
    }
}
