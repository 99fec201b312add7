//! Access tokens: short-lived HS256 JWTs (`iss`, `aud`, `sub`, `role`, `iat`,
//! `nbf`, `exp`, `jti`, and a `kid` header so keys can rotate). The only user of
//! jsonwebtoken. Only the configured algorithm is accepted (so `alg: none` and
//! algorithm swaps fail), and issuer, audience, expiry and not-before are checked.

use std::path::Path;

use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::Role;
use crate::error::{AppError, AppResult};

pub const ISSUER: &str = "mediadesk";
pub const AUDIENCE: &str = "mediadesk-api";
/// How long an access token lives.
pub const TTL_SECONDS: i64 = 15 * 60;
const MIN_SECRET_BYTES: usize = 32;
/// The `role` claim of a reader's token (readers hold no `Role`).
pub const READER_ROLE: &str = "reader";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// `user:<id>` or `key:<id>`.
    pub sub: String,
    pub role: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

/// The signing and verifying keys.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    /// A key derived from the secret for keyed request digests (see
    /// [`Keys::digest_key`]).
    digest_key: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys {{ kid: {} }}", self.kid)
    }
}

impl Keys {
    /// Keys from a secret of at least 32 bytes.
    pub fn from_secret(secret: &[u8]) -> AppResult<Self> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(AppError::invalid(
                "MEDIADESK_JWT_SECRET",
                format!("must be at least {MIN_SECRET_BYTES} bytes"),
            ));
        }
        let kid: String = Sha256::digest(secret)[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let keys = Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            kid,
            digest_key: Sha256::new()
                .chain_update(b"mediadesk request digest\0")
                .chain_update(secret)
                .finalize()
                .into(),
        };
        keys.self_check()?;
        Ok(keys)
    }

    /// A server-secret key (derived from the signing secret, so every node and
    /// restart has the same one) to prefix digests of request bodies with: a
    /// stored digest of a body that held a password cannot be tested against
    /// guesses offline by someone who reads the database.
    pub fn digest_key(&self) -> &[u8; 32] {
        &self.digest_key
    }

    /// `MEDIADESK_JWT_SECRET`, or (for development) a random secret generated once
    /// and kept in the data folder. There is no built-in default secret.
    pub fn load(data_dir: &Path) -> AppResult<Self> {
        if let Ok(s) = std::env::var("MEDIADESK_JWT_SECRET")
            && !s.is_empty()
        {
            return Self::from_secret(s.as_bytes());
        }
        let path = data_dir.join("jwt-secret");
        let secret = match std::fs::read_to_string(&path) {
            Ok(s) if s.trim().len() >= MIN_SECRET_BYTES => s.trim().to_owned(),
            _ => {
                let mut bytes = [0u8; 48];
                getrandom::fill(&mut bytes)
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
                let s: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                std::fs::create_dir_all(data_dir)
                    .and_then(|_| std::fs::write(&path, &s))
                    .map_err(|e| {
                        AppError::Internal(anyhow::anyhow!("cannot write {}: {e}", path.display()))
                    })?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
                }
                tracing::warn!(path = %path.display(), "no MEDIADESK_JWT_SECRET: generated a development secret");
                s
            }
        };
        Self::from_secret(secret.as_bytes())
    }

    /// Signs and verifies a token: a crypto set-up that cannot do both stops the
    /// server before it binds its port.
    fn self_check(&self) -> AppResult<()> {
        let t = self.issue("user:0", Role::Contributor)?;
        self.verify(&t).map(|_| ()).map_err(|_| {
            AppError::Internal(anyhow::anyhow!(
                "JWT self-check failed: a signed token did not verify"
            ))
        })
    }

    /// A new access token for `subject` with `role`.
    pub fn issue(&self, subject: &str, role: Role) -> AppResult<String> {
        self.issue_as(subject, role.as_str())
    }

    /// A new access token of reader `id` (subject `reader:<id>`, role `reader`).
    pub fn issue_reader(&self, id: i32) -> AppResult<String> {
        self.issue_as(&format!("reader:{id}"), READER_ROLE)
    }

    fn issue_as(&self, subject: &str, role: &str) -> AppResult<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: subject.into(),
            role: role.into(),
            iat: now,
            nbf: now,
            exp: now + TTL_SECONDS,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        encode(&header, &claims, &self.encoding)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot sign a token: {e}")))
    }

    /// The claims of a valid token; any defect is `Unauthenticated`.
    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        let header = decode_header(token).map_err(|_| AppError::Unauthenticated)?;
        if header.alg != Algorithm::HS256 || header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(AppError::Unauthenticated);
        }
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[AUDIENCE]);
        v.validate_nbf = true;
        v.leeway = 5;
        v.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|_| AppError::Unauthenticated)
    }
}
