//! One HTTP attempt of a delivery, signed as the Standard Webhooks
//! specification says: `webhook-id`, `webhook-timestamp` (Unix seconds of
//! this attempt) and `webhook-signature` (`v1,` and the base64 of
//! HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed by the base64-decoded
//! secret after `whsec_`). Redirects are never followed; the whole attempt
//! has [`TIMEOUT`]; only the first KiB of the answer is read.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::guard::{self, Allowed, GuardedResolver, Refused};

/// The time an attempt may take, connection to last byte read.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an answer is kept.
pub const KEEP_BODY: usize = 1024;

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Ok,
    /// Any other status but a redirect.
    HttpStatus,
    /// A 3xx answer (not followed).
    Redirect,
    /// No answer within [`TIMEOUT`].
    Timeout,
    /// The destination is not allowed (the SSRF guard).
    Refused,
    /// No connection, or it broke.
    Connect,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::HttpStatus => "http_status",
            Outcome::Redirect => "redirect",
            Outcome::Timeout => "timeout",
            Outcome::Refused => "refused",
            Outcome::Connect => "connect",
        }
    }
}

/// What an attempt gave.
#[derive(Debug)]
pub struct Attempt {
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub latency: Duration,
    /// The first KiB of the answer, or why there was none.
    pub body: String,
}

/// The signature header value of `body` as message `id` at `timestamp`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let msg = format!("{id}.{timestamp}.{body}");
    let mac = hmac_sha256::HMAC::mac(msg.as_bytes(), &key);
    Some(format!("v1,{}", STANDARD.encode(mac)))
}

/// A new secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("whsec_{}", STANDARD.encode(bytes)))
}

/// The HTTP client of webhook deliveries: the guarded resolver, no proxy, no
/// redirects.
pub fn client(allowed: &Allowed) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(std::sync::Arc::new(GuardedResolver {
            allowed: allowed.clone(),
        }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .user_agent("mediadesk-webhooks")
        .build()
}

/// Sends one attempt.
pub async fn send(
    client: &reqwest::Client,
    allowed: &Allowed,
    url: &str,
    secret: &str,
    msg_id: &str,
    payload: &str,
) -> Attempt {
    let started = Instant::now();
    let failed = |outcome: Outcome, why: String| Attempt {
        outcome,
        status: None,
        latency: started.elapsed(),
        body: truncate(why),
    };
    let url = match url::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return failed(Outcome::Connect, format!("bad URL: {e}")),
    };
    if let Err(r) = guard::check_host(&url, allowed) {
        return failed(Outcome::Refused, r.to_string());
    }
    let ts = chrono::Utc::now().timestamp();
    let Some(signature) = sign(secret, msg_id, ts, payload) else {
        return failed(
            Outcome::Connect,
            "the endpoint's secret is malformed".into(),
        );
    };
    let sent = client
        .post(url)
        .timeout(TIMEOUT)
        .header("content-type", "application/json")
        .header("webhook-id", msg_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(payload.to_owned())
        .send()
        .await;
    let mut res = match sent {
        Ok(r) => r,
        Err(e) => return failed(classify(&e), error_text(&e)),
    };
    let status = res.status();
    let mut body = Vec::new();
    let read = tokio::time::timeout(TIMEOUT.saturating_sub(started.elapsed()), async {
        while body.len() < KEEP_BODY {
            match res.chunk().await {
                Ok(Some(c)) => body.extend_from_slice(&c),
                Ok(None) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })
    .await;
    let outcome = if status.is_success() {
        Outcome::Ok
    } else if status.is_redirection() {
        Outcome::Redirect
    } else {
        Outcome::HttpStatus
    };
    let outcome = match read {
        // A 2xx whose body did not come in time still counts as received.
        Err(_) if outcome != Outcome::Ok => Outcome::Timeout,
        _ => outcome,
    };
    body.truncate(KEEP_BODY);
    Attempt {
        outcome,
        status: Some(status.as_u16()),
        latency: started.elapsed(),
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn classify(e: &reqwest::Error) -> Outcome {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<Refused>().is_some() {
            return Outcome::Refused;
        }
        source = s.source();
    }
    if e.is_timeout() {
        Outcome::Timeout
    } else {
        Outcome::Connect
    }
}

/// The error and its causes, one line.
fn error_text(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn truncate(mut s: String) -> String {
    if s.len() > KEEP_BODY {
        let mut end = KEEP_BODY;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries.
    #[test]
    fn signs_like_the_specification() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let ts = 1614265330;
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, ts, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn new_secrets_are_32_random_bytes() {
        let s = new_secret().unwrap();
        let key = STANDARD.decode(s.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(key.len(), 32);
        assert_ne!(s, new_secret().unwrap());
    }
}
