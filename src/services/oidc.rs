//! Social sign-in of readers through OpenID Connect (the `openidconnect`
//! crate): providers configured by issuer URL, client id and secret
//! (`--oidc-provider`), discovered on first use and cached for an hour; an ID
//! token signed by a key the cached set lacks (the provider rotated its keys)
//! fetches metadata and keys again, at most every [`REKEY_AFTER`].
//!
//! - **Start** ([`start`]): a login row (`oidc_logins`: the state's SHA-256,
//!   the nonce, the PKCE verifier, where the reader goes back to; 10 minutes)
//!   and the provider's authorization URL (code flow, PKCE S256, `state`,
//!   `nonce`). The row is in the database, so any node finishes the login.
//! - **Callback** ([`callback`]): the state is taken once by one conditional
//!   `UPDATE` (unknown, used, expired or another provider's: back to the link
//!   base with `?error=invalid_state`), the code exchanged with the verifier,
//!   the ID token verified
//!   against the provider's JWKS (signature, issuer, audience, expiry,
//!   nonce; a refusal: back to `return_to` with `?error=`). The reader is
//!   the one linked to (provider, `sub`), else the one
//!   with the provider-verified e-mail (`email_verified` true), else a new,
//!   activated one; the identity is linked, and the browser goes back to the
//!   frontend with a one-time sign-in token (the e-mail link's kind, a few
//!   minutes) that `services::readers::sign_in` exchanges for the session:
//!   no session token ever travels in a URL.
//!
//! The provider's HTTP goes through our reqwest ([`Http`]; no redirects
//! followed, time-limited, answers capped). Nothing here logs a token, a
//! code or an address.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenClaims, CoreProviderMetadata,
};
use openidconnect::{
    AsyncHttpClient, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

use crate::domain::Language;
use crate::entities::{oidc_login, reader, reader_identity};
use crate::error::{AppError, AppResult};
use crate::services::{begin_write, now, readers};

/// How long a started login waits for the provider's callback.
pub const LOGIN_TTL: chrono::Duration = chrono::Duration::minutes(10);
/// How long the one-time token handed to the frontend after a callback works.
pub const HANDOFF_TTL: chrono::Duration = chrono::Duration::minutes(5);
/// How long discovered metadata and keys are used before they are fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3_600);
/// How old the cached keys must be before a token signed by an unknown key
/// fetches them again: a provider's rotation is picked up at once, and
/// tokens with made-up key ids cannot make us fetch more often than this.
pub const REKEY_AFTER: Duration = Duration::from_secs(5);
/// The most a provider's answer may weigh.
const MAX_ANSWER: usize = 1 << 20;

/// One provider as configured: `name=google,issuer=https://accounts.google.com,client_id=...,client_secret=...`.
#[derive(Clone)]
pub struct ProviderConfig {
    /// The name in URLs (`/api/v1/readers/oidc/{name}/start`): `a-z`, `0-9`, `-`.
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Extra parameters of the authorization URL (`auth_param.<name>=<value>`,
    /// e.g. Keycloak's `kc_idp_hint=facebook`), in their configured order.
    pub auth_params: Vec<(String, String)>,
}

/// Parameters of the authorization request this server sets itself, which
/// `auth_param.` may not override.
const OWN_AUTH_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<hidden>")
            .field("auth_params", &self.auth_params)
            .finish()
    }
}

impl std::str::FromStr for ProviderConfig {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut c = ProviderConfig {
            name: String::new(),
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            auth_params: Vec::new(),
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: key=value expected"))?;
            if let Some(param) = k.trim().strip_prefix("auth_param.") {
                if param.is_empty()
                    || !param
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "_-.".contains(ch))
                {
                    return Err(format!(
                        "{k:?}: auth_param.<name> with a name of letters, digits, _ - ."
                    ));
                }
                if OWN_AUTH_PARAMS.contains(&param) {
                    return Err(format!("{k:?}: {param} is set by the server"));
                }
                c.auth_params.push((param.to_owned(), v.trim().to_owned()));
                continue;
            }
            let slot = match k.trim() {
                "name" => &mut c.name,
                "issuer" => &mut c.issuer,
                "client_id" => &mut c.client_id,
                "client_secret" => &mut c.client_secret,
                other => {
                    return Err(format!(
                        "unknown key {other:?} (name, issuer, client_id, client_secret, auth_param.<name>)"
                    ));
                }
            };
            *slot = v.trim().to_owned();
        }
        if c.name.is_empty()
            || c.name.len() > 32
            || !c
                .name
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        {
            return Err("name: 1 to 32 of a-z, 0-9 and -".into());
        }
        IssuerUrl::new(c.issuer.clone()).map_err(|e| format!("issuer: {e}"))?;
        if c.client_id.is_empty() || c.client_secret.is_empty() {
            return Err("client_id and client_secret are required".into());
        }
        Ok(c)
    }
}

/// A failed call to a provider.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// The providers' HTTP client: our reqwest, no redirects followed (a
/// provider's endpoints answer directly), 10 s per call, answers capped.
#[derive(Clone)]
pub struct Http(reqwest::Client);

impl Http {
    pub fn new() -> AppResult<Self> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map(Self)
            .map_err(|e| AppError::Internal(e.into()))
    }
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut res = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|e| HttpError(e.without_url().to_string()))?;
            let mut out = openidconnect::http::Response::builder().status(res.status());
            if let Some(h) = out.headers_mut() {
                *h = res.headers().clone();
            }
            let mut body = Vec::new();
            while let Some(chunk) = res
                .chunk()
                .await
                .map_err(|e| HttpError(e.without_url().to_string()))?
            {
                if body.len() + chunk.len() > MAX_ANSWER {
                    return Err(HttpError("the provider's answer is too large".into()));
                }
                body.extend_from_slice(&chunk);
            }
            out.body(body).map_err(|e| HttpError(e.to_string()))
        })
    }
}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Provider {
    config: ProviderConfig,
    client: tokio::sync::Mutex<Option<(Instant, Arc<Client>)>>,
}

/// The configured providers and where they send readers back to.
pub struct Providers {
    http: Http,
    /// This server's public base URL: callbacks are `{base}/api/v1/readers/oidc/{name}/callback`.
    base: String,
    list: Vec<Provider>,
}

/// A configured provider as a frontend shows it ("Sign in with ...").
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct SignInProvider {
    /// The provider's name in URLs (`--oidc-provider name=...`).
    pub name: String,
    /// Where the frontend's sign-in link sends the browser (a top-level
    /// navigation; add `?return_to=` for a page other than the link base).
    pub start_url: String,
}

/// What a verified ID token says about the reader.
#[derive(Clone, Debug)]
pub struct Identity {
    pub subject: String,
    /// The e-mail, when the provider says it verified it.
    pub verified_email: Option<String>,
    pub name: Option<String>,
}

impl Providers {
    pub fn new(configs: Vec<ProviderConfig>, base: &str) -> AppResult<Self> {
        Ok(Self {
            http: Http::new()?,
            base: base.trim_end_matches('/').to_owned(),
            list: configs
                .into_iter()
                .map(|config| Provider {
                    config,
                    client: tokio::sync::Mutex::new(None),
                })
                .collect(),
        })
    }

    /// The configured providers' names.
    pub fn names(&self) -> Vec<String> {
        self.list.iter().map(|p| p.config.name.clone()).collect()
    }

    /// The configured providers, in their configured order, with the URL a
    /// frontend's "Sign in with ..." link goes to.
    pub fn sign_in_providers(&self) -> Vec<SignInProvider> {
        self.list
            .iter()
            .map(|p| SignInProvider {
                name: p.config.name.clone(),
                start_url: format!("{}/api/v1/readers/oidc/{}/start", self.base, p.config.name),
            })
            .collect()
    }

    fn get(&self, name: &str) -> AppResult<&Provider> {
        self.list
            .iter()
            .find(|p| p.config.name == name)
            .ok_or_else(|| AppError::NotFound(format!("no sign-in provider {name:?}")))
    }

    /// The redirect URI registered at the provider for `name`.
    pub fn redirect_uri(&self, name: &str) -> String {
        format!("{}/api/v1/readers/oidc/{name}/callback", self.base)
    }

    /// The provider's client from its discovered metadata (and keys), fetched
    /// on first use and again once an hour old.
    async fn client(&self, p: &Provider) -> AppResult<Arc<Client>> {
        self.client_within(p, METADATA_TTL).await
    }

    /// The cached client when it is younger than `max_age`, else a fresh one.
    async fn client_within(&self, p: &Provider, max_age: Duration) -> AppResult<Arc<Client>> {
        let mut cached = p.client.lock().await;
        if let Some((at, c)) = cached.as_ref()
            && at.elapsed() < max_age
        {
            return Ok(c.clone());
        }
        let unreachable = |e: String| {
            tracing::warn!(provider = %p.config.name, error = %e, "OpenID provider discovery failed");
            AppError::ProviderUnavailable(format!(
                "the sign-in provider {:?} cannot be reached; try again later",
                p.config.name
            ))
        };
        let issuer =
            IssuerUrl::new(p.config.issuer.clone()).map_err(|e| unreachable(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        // The code flow needs a token endpoint (Facebook's metadata, for one,
        // has none): refused before any login is stored.
        if metadata.token_endpoint().is_none() {
            return Err(AppError::ProviderUnavailable(format!(
                "the sign-in provider {:?} has no token endpoint: it cannot sign readers in with the authorization code flow",
                p.config.name
            )));
        }
        let redirect = RedirectUrl::new(self.redirect_uri(&p.config.name))
            .map_err(|e| AppError::Internal(e.into()))?;
        let client = Arc::new(
            CoreClient::from_provider_metadata(
                metadata,
                ClientId::new(p.config.client_id.clone()),
                Some(ClientSecret::new(p.config.client_secret.clone())),
            )
            .set_redirect_uri(redirect),
        );
        *cached = Some((Instant::now(), client.clone()));
        Ok(client)
    }

    /// Verifies an ID token of provider `name` for this client: signature
    /// (the provider's JWKS), issuer, audience, expiry and `nonce`.
    pub async fn verify_id_token(
        &self,
        name: &str,
        id_token: &str,
        nonce: &str,
    ) -> AppResult<Identity> {
        let p = self.get(name)?;
        let token: CoreIdToken = id_token
            .parse()
            .map_err(|_| AppError::invalid("id_token", "not an ID token"))?;
        self.verified(p, &token, nonce).await
    }

    /// `token`'s identity, verified with the provider's keys. Signed by a key
    /// the cached set lacks: the keys are fetched again (when at least
    /// [`REKEY_AFTER`] old) and the token checked once more.
    async fn verified(
        &self,
        p: &Provider,
        token: &CoreIdToken,
        nonce: &str,
    ) -> AppResult<Identity> {
        let client = self.client(p).await?;
        match identity(&client, token, nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let fresh = self.client_within(p, REKEY_AFTER).await?;
                if Arc::ptr_eq(&fresh, &client) {
                    return Err(refused(ClaimsVerificationError::SignatureVerification(
                        SignatureVerificationError::NoMatchingKey,
                    )));
                }
                tracing::info!(provider = %p.config.name, "OpenID provider keys fetched again for an unknown signing key");
                identity(&fresh, token, nonce).map_err(refused)
            }
            other => other.map_err(refused),
        }
    }
}

fn refused(e: ClaimsVerificationError) -> AppError {
    AppError::invalid("id_token", format!("the ID token is refused: {e}"))
}

fn identity(
    client: &Client,
    token: &CoreIdToken,
    nonce: &str,
) -> Result<Identity, ClaimsVerificationError> {
    let claims: &CoreIdTokenClaims =
        token.claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned()))?;
    let verified_email = match (claims.email(), claims.email_verified()) {
        (Some(e), Some(true)) => readers::parse_email(e.as_str()).ok(),
        _ => None,
    };
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().trim().chars().take(80).collect::<String>())
        .filter(|n| !n.is_empty());
    Ok(Identity {
        subject: claims.subject().as_str().to_owned(),
        verified_email,
        name,
    })
}

fn digest(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `return_to` when it is on the frontend's origin (that of the sign-in link
/// base), else the link base itself: never an open redirect.
fn return_to(requested: Option<&str>, link_base: &str) -> AppResult<String> {
    let Some(r) = requested.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(link_base.to_owned());
    };
    let bad = || {
        AppError::invalid(
            "return_to",
            "an absolute URL on the frontend's origin (that of the reader sign-in links)",
        )
    };
    let wanted = url::Url::parse(r).map_err(|_| bad())?;
    let base = url::Url::parse(link_base).map_err(|_| bad())?;
    if wanted.origin() != base.origin() || r.len() > 2_000 {
        return Err(bad());
    }
    Ok(wanted.to_string())
}

/// Starts a sign-in at provider `name`: stores the login (state digest,
/// nonce, PKCE verifier, `return_to`) and gives the provider's authorization
/// URL to send the browser to.
pub async fn start(
    db: &impl ConnectionTrait,
    providers: &Providers,
    name: &str,
    requested_return: Option<&str>,
    link_base: &str,
) -> AppResult<String> {
    let p = providers.get(name)?;
    let back = return_to(requested_return, link_base)?;
    let client = providers.client(p).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge);
    for (k, v) in &p.config.auth_params {
        request = request.add_extra_param(k.as_str(), v.as_str());
    }
    let (url, state, nonce) = request.url();
    let at = now();
    // Logins never finished go when they can no longer be finished.
    oidc_login::Entity::delete_many()
        .filter(oidc_login::Column::ExpiresAt.lt(at))
        .exec(db)
        .await?;
    oidc_login::Entity::insert(oidc_login::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        state_hash: Set(digest(state.secret())),
        provider: Set(name.to_owned()),
        nonce: Set(nonce.secret().clone()),
        pkce_verifier: Set(verifier.secret().clone()),
        return_to: Set(back),
        created_at: Set(at),
        expires_at: Set(at + LOGIN_TTL),
        used_at: Set(None),
    })
    .exec(db)
    .await?;
    Ok(url.to_string())
}

/// Takes the started login of `state` at provider `name` (once).
async fn take_login(
    db: &impl ConnectionTrait,
    name: &str,
    state: &str,
) -> AppResult<oidc_login::Model> {
    let refused = || {
        AppError::invalid(
            "state",
            "unknown, already used or expired: start the sign-in again",
        )
    };
    let hash = digest(state);
    let at = now();
    use oidc_login::Column as L;
    let taken = oidc_login::Entity::update_many()
        .col_expr(L::UsedAt, Expr::value(Some(at)))
        .filter(L::StateHash.eq(hash.as_str()))
        .filter(L::Provider.eq(name))
        .filter(L::UsedAt.is_null())
        .filter(L::ExpiresAt.gt(at))
        .exec(db)
        .await?;
    if taken.rows_affected != 1 {
        return Err(refused());
    }
    oidc_login::Entity::find()
        .filter(L::StateHash.eq(hash))
        .one(db)
        .await?
        .ok_or_else(refused)
}

/// What the provider's redirect back carries.
#[derive(Debug, Default)]
pub struct CallbackParams<'a> {
    pub code: Option<&'a str>,
    pub state: Option<&'a str>,
    /// The provider's `error` (it signed no one in, e.g. the reader declined).
    pub error: Option<&'a str>,
}

/// `url` with `?error=code` (or `&error=`) appended.
fn with_error(url: &str, code: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}error={code}")
}

/// The provider's error code as it may go on to the frontend: letters,
/// digits and `_`, at most 64.
fn clean_error(error: &str) -> String {
    let e: String = error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    if e.is_empty() { "error".into() } else { e }
}

/// The `?error=` code of a callback that signed no one in, for a refusal
/// the reader can do nothing about but start again; `None` for a fault of
/// ours (answered as an error).
fn refusal_code(e: &AppError) -> Option<&'static str> {
    match e {
        AppError::Validation(f) if f.iter().any(|f| f.field == "id_token") => {
            Some("invalid_id_token")
        }
        AppError::Validation(f) if f.iter().any(|f| f.field == "code") => Some("invalid_grant"),
        AppError::ProviderUnavailable(_) => Some("temporarily_unavailable"),
        _ => None,
    }
}

/// The provider's redirect back to us (a top-level navigation of the
/// reader's browser): where to send the browser next, always the frontend.
///
/// - The state unknown, used, expired or missing: the link base with
///   `?error=invalid_state` (or the provider's own `error`), since no login
///   says where the reader came from.
/// - Otherwise the login is used up (once), and the reader goes back to its
///   `return_to` with `?error=`: the provider's code when it signed no one in
///   (`access_denied`, ...), `invalid_request` without a `code`,
///   `invalid_grant` when the provider refuses the code (or sends no ID
///   token), `invalid_id_token` when the ID token fails verification,
///   `temporarily_unavailable` when the provider cannot be reached. Nothing
///   is created then.
/// - Else with a one-time `token` for `POST /api/v1/readers/session`.
pub async fn callback(
    db: &sea_orm::DatabaseConnection,
    providers: &Providers,
    name: &str,
    q: CallbackParams<'_>,
    link_base: &str,
) -> AppResult<String> {
    let p = providers.get(name)?;
    let refused_state = || {
        with_error(
            link_base,
            &q.error.map_or("invalid_state".into(), clean_error),
        )
    };
    let Some(state) = q.state else {
        return Ok(refused_state());
    };
    let login = match take_login(db, name, state).await {
        Ok(login) => login,
        Err(AppError::Validation(_)) => return Ok(refused_state()),
        Err(e) => return Err(e),
    };
    if let Some(e) = q.error {
        return Ok(with_error(&login.return_to, &clean_error(e)));
    }
    let Some(code) = q.code else {
        return Ok(with_error(&login.return_to, "invalid_request"));
    };
    match finish(db, providers, p, &login, code).await {
        Ok(token) => Ok(readers::link(&login.return_to, &token)),
        Err(e) => match refusal_code(&e) {
            Some(why) => {
                tracing::info!(provider = %name, error = %e, "OpenID sign-in refused");
                Ok(with_error(&login.return_to, why))
            }
            None => Err(e),
        },
    }
}

/// Exchanges the code of a taken login, verifies the ID token and links the
/// reader: a one-time sign-in token for them.
async fn finish(
    db: &sea_orm::DatabaseConnection,
    providers: &Providers,
    p: &Provider,
    login: &oidc_login::Model,
    code: &str,
) -> AppResult<String> {
    let name = p.config.name.as_str();
    let client = providers.client(p).await?;
    let answer = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| AppError::Internal(e.into()))?
        .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier.clone()))
        .request_async(&providers.http)
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => AppError::invalid(
                "code",
                format!("the provider refused the code ({})", r.error()),
            ),
            other => {
                tracing::warn!(provider = %name, error = %other, "OpenID token exchange failed");
                AppError::ProviderUnavailable(format!(
                    "the sign-in provider {name:?} did not answer as expected; try again"
                ))
            }
        })?;
    let token = answer
        .id_token()
        .ok_or_else(|| AppError::invalid("code", "the provider sent no ID token"))?;
    let who = providers.verified(p, token, &login.nonce).await?;
    link_reader(db, name, &who).await
}

/// The reader of `who` at provider `name` (linked identity, else verified
/// e-mail, else a new one), activated and linked; gives a one-time sign-in
/// token for them.
async fn link_reader(
    db: &sea_orm::DatabaseConnection,
    name: &str,
    who: &Identity,
) -> AppResult<String> {
    let txn = begin_write(db).await?;
    let at = now();
    use reader_identity::Column as I;
    let linked = reader_identity::Entity::find()
        .filter(I::Provider.eq(name))
        .filter(I::Subject.eq(who.subject.as_str()))
        .one(&*txn)
        .await?;
    let live = |id: i32| reader::Entity::find_by_id(id).filter(reader::Column::DeletedAt.is_null());
    let mut found = match &linked {
        Some(l) => live(l.reader_id).one(&*txn).await?,
        None => None,
    };
    if found.is_none()
        && let Some(email) = &who.verified_email
    {
        found = reader::Entity::find()
            .filter(reader::Column::Email.eq(email.as_str()))
            .filter(reader::Column::DeletedAt.is_null())
            .one(&*txn)
            .await?;
    }
    let reader_id = match found {
        Some(r) => {
            if r.activated_at.is_none() {
                reader::Entity::update_many()
                    .col_expr(reader::Column::ActivatedAt, Expr::value(Some(at)))
                    .filter(reader::Column::Id.eq(r.id))
                    .exec(&*txn)
                    .await?;
            }
            r.id
        }
        None => {
            reader::Entity::insert(reader::ActiveModel {
                id: sea_orm::ActiveValue::NotSet,
                email: Set(who.verified_email.clone()),
                display_name: Set(who.name.clone()),
                language: Set(Language::En.as_str().into()),
                created_at: Set(at),
                updated_at: Set(at),
                // The provider authenticated the reader: no link to wait for.
                activated_at: Set(Some(at)),
                deleted_at: Set(None),
            })
            .exec(&*txn)
            .await?
            .last_insert_id
        }
    };
    match linked {
        Some(l) => {
            reader_identity::Entity::update_many()
                .col_expr(I::ReaderId, Expr::value(reader_id))
                .col_expr(I::Email, Expr::value(who.verified_email.clone()))
                .col_expr(I::LastSignInAt, Expr::value(at))
                .filter(I::Id.eq(l.id))
                .exec(&*txn)
                .await?;
        }
        None => {
            reader_identity::Entity::insert(reader_identity::ActiveModel {
                id: sea_orm::ActiveValue::NotSet,
                reader_id: Set(reader_id),
                provider: Set(name.to_owned()),
                subject: Set(who.subject.clone()),
                email: Set(who.verified_email.clone()),
                created_at: Set(at),
                last_sign_in_at: Set(at),
            })
            .exec(&*txn)
            .await?;
        }
    }
    let token = readers::insert_token(&*txn, reader_id, "sign_in", HANDOFF_TTL).await?;
    txn.commit().await?;
    Ok(token)
}

/// Forgets `reader_id`'s linked identities (when the account is deleted).
pub async fn unlink_all(db: &impl ConnectionTrait, reader_id: i32) -> AppResult<()> {
    reader_identity::Entity::delete_many()
        .filter(reader_identity::Column::ReaderId.eq(reader_id))
        .exec(db)
        .await?;
    Ok(())
}

/// `reader_id`'s linked provider accounts, for the reader's data export.
pub async fn export(
    db: &impl ConnectionTrait,
    reader_id: i32,
) -> AppResult<Vec<serde_json::Value>> {
    use sea_orm::QueryOrder;
    Ok(reader_identity::Entity::find()
        .filter(reader_identity::Column::ReaderId.eq(reader_id))
        .order_by_asc(reader_identity::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|i| {
            serde_json::json!({
                "provider": i.provider,
                "subject": i.subject,
                "email": i.email,
                "created_at": i.created_at,
                "last_sign_in_at": i.last_sign_in_at,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_is_configured_by_name_issuer_id_and_secret() {
        let c: ProviderConfig =
            "name=google,issuer=https://accounts.google.com,client_id=abc,client_secret=s3"
                .parse()
                .unwrap();
        assert_eq!(c.name, "google");
        assert_eq!(c.issuer, "https://accounts.google.com");
        assert!(!format!("{c:?}").contains("s3"));
        assert!(
            "name=Google,issuer=https://x.org,client_id=a,client_secret=b"
                .parse::<ProviderConfig>()
                .is_err()
        );
        assert!(
            "name=x,issuer=https://x.org,client_id=a"
                .parse::<ProviderConfig>()
                .is_err()
        );
        assert!(
            "name=x,issuer=nope,client_id=a,client_secret=b"
                .parse::<ProviderConfig>()
                .is_err()
        );
    }

    #[test]
    fn extra_authorization_parameters_are_configured_with_auth_param() {
        let c: ProviderConfig = "name=facebook,issuer=https://id.example.org/realms/news,client_id=a,client_secret=b,auth_param.kc_idp_hint=facebook,auth_param.prompt=login"
            .parse()
            .unwrap();
        assert_eq!(
            c.auth_params,
            vec![
                ("kc_idp_hint".to_owned(), "facebook".to_owned()),
                ("prompt".to_owned(), "login".to_owned())
            ]
        );
        // What the flow sets itself cannot be overridden; other keys stay unknown.
        for bad in [
            "auth_param.state=x",
            "auth_param.redirect_uri=https://evil.example",
            "auth_param.=x",
            "auth_param.a b=x",
            "kc_idp_hint=facebook",
        ] {
            let s = format!("name=x,issuer=https://x.org,client_id=a,client_secret=b,{bad}");
            assert!(s.parse::<ProviderConfig>().is_err(), "{bad}");
        }
    }

    #[test]
    fn return_to_stays_on_the_frontends_origin() {
        let base = "https://news.example.org/sign-in";
        assert_eq!(return_to(None, base).unwrap(), base);
        assert_eq!(
            return_to(Some("https://news.example.org/a?b=1"), base).unwrap(),
            "https://news.example.org/a?b=1"
        );
        assert!(return_to(Some("https://evil.example/"), base).is_err());
        assert!(return_to(Some("//evil.example/"), base).is_err());
        assert!(return_to(Some("http://news.example.org/"), base).is_err());
    }
}
