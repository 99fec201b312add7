//! How a queued message leaves: SMTP through lettre (`--smtp-url`), or an
//! `.eml` file in a folder (`--mail-dir`; the default, so a server runs with
//! no mail server). Both build the same MIME message: multipart/alternative
//! text and HTML, the stored headers, the `Message-ID` fixed when queued.
//!
//! SMTP URLs: `smtp://host:port` is plain SMTP (a local relay, the tests);
//! `smtp://user:pass@host:port` and `smtp://host:port?tls=required` use
//! STARTTLS and refuse to go on without it (credentials never go in clear);
//! `?tls=opportunistic` uses it when offered; `smtps://` is TLS from the first
//! byte. TLS is rustls on aws-lc-rs with the Web PKI roots.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::entities::outbox;

/// How long one SMTP exchange may take (well inside the lease).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a send failed, and whether trying again can help.
#[derive(Debug)]
pub struct SendError {
    /// A refusal that a retry would meet again (SMTP 5xx, a bad address).
    pub permanent: bool,
    pub message: String,
}

impl SendError {
    fn permanent(message: impl Into<String>) -> Self {
        Self {
            permanent: true,
            message: message.into(),
        }
    }
    fn transient(message: impl Into<String>) -> Self {
        Self {
            permanent: false,
            message: message.into(),
        }
    }
}

enum Via {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

/// Where messages go, and who they are from.
pub struct Transport {
    via: Via,
    from: Mailbox,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the SMTP URL: it may hold a password.
        match &self.via {
            Via::Smtp(_) => write!(f, "Transport(smtp)"),
            Via::Files(dir) => write!(f, "Transport(files in {})", dir.display()),
        }
    }
}

impl Transport {
    /// SMTP when `smtp_url` is given, else `.eml` files under `mail_dir`;
    /// messages from `from` (`Name <address>`).
    pub fn new(smtp_url: Option<&str>, mail_dir: &Path, from: &str) -> anyhow::Result<Self> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("--mail-from {from:?}: {e}"))?;
        let via = match smtp_url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => Via::Smtp(smtp(url)?),
            None => {
                std::fs::create_dir_all(mail_dir)
                    .map_err(|e| anyhow::anyhow!("--mail-dir {}: {e}", mail_dir.display()))?;
                Via::Files(mail_dir.to_path_buf())
            }
        };
        Ok(Self { via, from })
    }

    /// Sends one queued message.
    pub async fn send(&self, row: &outbox::Model) -> Result<(), SendError> {
        let message = self.build(row)?;
        match &self.via {
            Via::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| {
                let text = e.to_string();
                if e.is_permanent() {
                    SendError::permanent(text)
                } else {
                    SendError::transient(text)
                }
            }),
            Via::Files(dir) => {
                // Named by the outbox id: a second write of one message
                // replaces the first. Written aside, then renamed, so a reader
                // of the folder never sees half a message.
                let name = format!("{}-{}.eml", row.created_at.format("%Y%m%dT%H%M%S"), row.id);
                let tmp = dir.join(format!(".{name}.tmp"));
                let bytes = message.formatted();
                tokio::fs::write(&tmp, bytes)
                    .await
                    .and(tokio::fs::rename(&tmp, dir.join(&name)).await)
                    .map_err(|e| SendError::transient(format!("writing {name}: {e}")))
            }
        }
    }

    /// The MIME message of a row.
    fn build(&self, row: &outbox::Model) -> Result<lettre::Message, SendError> {
        let to: Mailbox = row
            .to_addr
            .parse()
            .map_err(|e| SendError::permanent(format!("the recipient's address: {e}")))?;
        let headers: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&row.headers).unwrap_or_default();
        let mut b = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(row.subject.clone())
            .date(std::time::SystemTime::from(row.created_at));
        for (name, value) in &headers {
            let Some(value) = value.as_str() else {
                continue;
            };
            if name.eq_ignore_ascii_case("Message-ID") {
                b = b.message_id(Some(value.to_owned()));
                continue;
            }
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|e| SendError::permanent(format!("header {name:?}: {e}")))?;
            b = b.raw_header(HeaderValue::new(name, value.to_owned()));
        }
        b.multipart(MultiPart::alternative_plain_html(
            row.text_body.clone(),
            row.html_body.clone(),
        ))
        .map_err(|e| SendError::permanent(format!("building the message: {e}")))
    }
}

/// The SMTP transport of `url` (see the module header for the forms).
fn smtp(url: &str) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let mut parsed =
        url::Url::parse(url).map_err(|e| anyhow::anyhow!("--smtp-url: not a URL: {e}"))?;
    let has_tls_param = parsed.query_pairs().any(|(k, _)| k == "tls");
    if parsed.scheme() == "smtp" && parsed.password().is_some() && !has_tls_param {
        // Credentials only over STARTTLS.
        parsed.query_pairs_mut().append_pair("tls", "required");
    }
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(parsed.as_str())
        .map_err(|e| anyhow::anyhow!("--smtp-url: {e}"))?
        .timeout(Some(SMTP_TIMEOUT))
        .build();
    Ok(transport)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_are_checked_at_start() {
        assert!(smtp("smtp://127.0.0.1:2525").is_ok());
        assert!(smtp("smtp://user:secret@127.0.0.1:587").is_ok());
        assert!(smtp("smtps://mail.example.org").is_ok());
        assert!(smtp("http://mail.example.org").is_err());
        assert!(smtp("not a url").is_err());
    }
}
