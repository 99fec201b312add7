//! Accounts: users (argon2id passwords), API keys for scripts (shown once, stored
//! as SHA-256 hashes, revocable, last use recorded), and turning credentials into
//! a principal. A failed login says nothing about which part was wrong (nor
//! whether the account exists), and failed logins are budgeted per identity and
//! per client address (`LoginGuard`): past the budget every attempt is refused
//! unchecked until the window passes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};
use sha2::{Digest, Sha256};

use crate::auth::Actor;
use crate::domain::{FieldError, Role};
use crate::entities::{api_key, user};
use crate::error::{AppError, AppResult};
use crate::services::shared_store::SharedStore;

/// Whom a credential or token speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// `user:<id>` or `key:<id>`.
    pub subject: String,
    pub role: Role,
}

const MIN_PASSWORD: usize = 12;
const KEY_PREFIX: &str = "mdk_";

fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A dummy hash verified when the e-mail is unknown, so both failures cost the same.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| {
        Argon2::default()
            .hash_password(b"not a real password at all")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Creates a user (administrators only).
pub async fn create_user(
    db: &DatabaseConnection,
    actor: &Actor,
    email: &str,
    password: &str,
    role: Role,
) -> AppResult<user::Model> {
    actor.require(Role::Admin)?;
    let email = email.trim().to_lowercase();
    let mut errors = Vec::new();
    if email.len() > 254 || !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        errors.push(FieldError::new("email", "is not an e-mail address"));
    }
    if password.chars().count() < MIN_PASSWORD {
        errors.push(FieldError::new(
            "password",
            format!("must be at least {MIN_PASSWORD} characters"),
        ));
    }
    if password.contains('\0') {
        errors.push(FieldError::new(
            "password",
            "must not contain a NUL character",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot hash a password: {e}")))?
        .to_string();
    let now = super::now();
    let am = user::ActiveModel {
        id: NotSet,
        email: Set(email),
        password_hash: Set(hash),
        role: Set(role.as_str().into()),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    };
    insert_audited(db, actor, "user", am, |u| {
        (format!("user:{}", u.id), user_json(u))
    })
    .await
}

/// Inserts an account record and audits its creation as `kind` (`describe`
/// gives its audit name and what the log shows of it), in one transaction.
async fn insert_audited<A>(
    db: &DatabaseConnection,
    actor: &Actor,
    kind: &str,
    am: A,
    describe: impl Fn(&<A::Entity as EntityTrait>::Model) -> (String, serde_json::Value),
) -> AppResult<<A::Entity as EntityTrait>::Model>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let txn = super::begin_write(db).await?;
    let row = am.insert(&*txn).await?;
    let (target, after) = describe(&row);
    super::audit::record(
        &*txn,
        actor,
        "create",
        kind,
        Some(target),
        None,
        Some(after),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// What the audit log and the API show of a user (never the password hash).
pub fn user_json(u: &user::Model) -> serde_json::Value {
    serde_json::json!({ "id": u.id, "email": u.email, "role": u.role, "active": u.active,
                        "created_at": u.created_at, "updated_at": u.updated_at })
}

/// What the audit log and the API show of a key (never its secret or hash).
pub fn key_json(k: &api_key::Model) -> serde_json::Value {
    serde_json::json!({ "id": k.id, "name": k.name, "role": k.role, "prefix": k.prefix,
                        "created_at": k.created_at, "last_used_at": k.last_used_at,
                        "revoked_at": k.revoked_at })
}

/// Every user, oldest first (administrators only).
pub async fn list_users(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<user::Model>> {
    actor.require(Role::Admin)?;
    Ok(user::Entity::find()
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?)
}

/// Changes a user's role or active flag (administrators only). Tokens of a
/// deactivated user stop working at once; an administrator cannot demote or
/// deactivate themself (there would be nobody left to undo it).
pub async fn update_user(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    role: Option<Role>,
    active: Option<bool>,
) -> AppResult<user::Model> {
    actor.require(Role::Admin)?;
    if actor.subject() == Some(format!("user:{id}").as_str())
        && (role.is_some_and(|r| r != Role::Admin) || active == Some(false))
    {
        return Err(AppError::Conflict(
            "administrators cannot demote or deactivate themselves".into(),
        ));
    }
    let txn = super::begin_write(db).await?;
    let u = user::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no user with id {id}")))?;
    let before = user_json(&u);
    let mut am: user::ActiveModel = u.into();
    if let Some(r) = role {
        am.role = Set(r.as_str().into());
    }
    if let Some(a) = active {
        am.active = Set(a);
    }
    am.updated_at = Set(super::now());
    let u = am.update(&*txn).await?;
    super::audit::record(
        &*txn,
        actor,
        "update",
        "user",
        Some(format!("user:{id}")),
        Some(before),
        Some(user_json(&u)),
    )
    .await?;
    txn.commit().await?;
    Ok(u)
}

/// Creates an API key; the returned secret is shown once and never stored.
pub async fn create_key(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
    role: Role,
) -> AppResult<(api_key::Model, String)> {
    actor.require(Role::Admin)?;
    let name = crate::domain::clean_text("name", name, 100)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    let secret = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let am = api_key::ActiveModel {
        id: NotSet,
        name: Set(name),
        role: Set(role.as_str().into()),
        prefix: Set(secret[..KEY_PREFIX.len() + 8].to_owned()),
        key_hash: Set(hash_key(&secret)),
        created_at: Set(super::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    };
    let k = insert_audited(db, actor, "api_key", am, |k| {
        (format!("key:{}", k.id), key_json(k))
    })
    .await?;
    Ok((k, secret))
}

pub async fn list_keys(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<api_key::Model>> {
    actor.require(Role::Admin)?;
    Ok(api_key::Entity::find()
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?)
}

/// Revokes the key with this id or prefix; tokens issued for it stop working.
pub async fn revoke_key(
    db: &DatabaseConnection,
    actor: &Actor,
    which: &str,
) -> AppResult<api_key::Model> {
    actor.require(Role::Admin)?;
    let q = api_key::Entity::find();
    let found = match which.parse::<i32>() {
        Ok(id) => q.filter(api_key::Column::Id.eq(id)).one(db).await?,
        Err(_) => {
            q.filter(api_key::Column::Prefix.eq(which.trim()))
                .one(db)
                .await?
        }
    };
    let k = found.ok_or_else(|| AppError::NotFound(format!("no API key {which:?}")))?;
    if k.revoked_at.is_some() {
        return Ok(k);
    }
    let before = key_json(&k);
    let mut am: api_key::ActiveModel = k.into();
    am.revoked_at = Set(Some(super::now()));
    let txn = super::begin_write(db).await?;
    let k = am.update(&*txn).await?;
    super::audit::record(
        &*txn,
        actor,
        "revoke",
        "api_key",
        Some(format!("key:{}", k.id)),
        Some(before),
        Some(key_json(&k)),
    )
    .await?;
    txn.commit().await?;
    Ok(k)
}

/// Failed sign-ins allowed per identity (e-mail or key prefix) per window.
pub const FAILURES_PER_IDENTITY: u32 = 5;
/// Failed sign-ins allowed per client address per window.
pub const FAILURES_PER_CLIENT: u32 = 20;
/// How long failures count: the window starts at the first failure.
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Past this many tracked identities and clients, single failures are forgotten
/// first (so a flood of one-off guesses cannot exhaust memory).
const MAX_TRACKED: usize = 100_000;

#[derive(Clone, Copy)]
struct Window {
    /// Attempts that failed or are still being checked.
    count: u32,
    since: Instant,
}

/// The failed-login budgets of one server, shared by all its workers. An attempt
/// is counted *before* its credentials are checked, so concurrent guesses beyond
/// the budget are refused without being checked, and a correct password is
/// refused too while the budget is spent (the answer is no oracle). A success
/// takes its own attempt back and clears the identity's failures.
///
/// With a shared store (`--shared-store`) the windows are kept there, so the
/// budgets hold across nodes; there an attempt refused for one window is counted
/// in the other too. While the store cannot be reached, this process's own
/// windows are used (a caller then gets at most one budget per node).
#[derive(Default)]
pub struct LoginGuard {
    windows: Mutex<Windows>,
    shared: Option<SharedStore>,
}

#[derive(Default)]
struct Windows {
    map: HashMap<String, Window>,
    /// When expired windows were last dropped (at most every few seconds, so a
    /// large map is not walked on every attempt).
    pruned: Option<Instant>,
}

/// An attempt counted against an identity and a client.
struct Attempt<'a> {
    guard: &'a LoginGuard,
    identity: String,
    client: String,
    /// Counted in the shared store (else in this process).
    shared: bool,
}

/// The budget key of a client address (the HTTP layer gives IPv6 clients as
/// their /64).
fn client_key(client: Option<IpAddr>) -> String {
    client.map_or_else(|| "ip:unknown".into(), |ip| format!("ip:{ip}"))
}

impl LoginGuard {
    /// Budgets kept in `shared` when given, else in this process.
    pub fn new(shared: Option<SharedStore>) -> Self {
        Self {
            windows: Mutex::default(),
            shared,
        }
    }

    /// Counts an attempt, or refuses it with how long to wait.
    async fn begin(&self, identity: String, client: Option<IpAddr>) -> AppResult<Attempt<'_>> {
        let client = client_key(client);
        if let Some(store) = &self.shared {
            match store.attempt(&identity, &client, LOCKOUT).await {
                Ok(counts) => {
                    let mut wait = Duration::ZERO;
                    for ((count, left), budget) in [
                        (counts.identity, FAILURES_PER_IDENTITY),
                        (counts.client, FAILURES_PER_CLIENT),
                    ] {
                        if count > budget {
                            wait = wait.max(left);
                        }
                    }
                    if !wait.is_zero() {
                        return Err(too_many_failures(wait));
                    }
                    return Ok(Attempt {
                        guard: self,
                        identity,
                        client,
                        shared: true,
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "failed-login budgets fall back to this node's own");
                }
            }
        }
        self.begin_here(identity, client)
    }

    /// [`Self::begin`] in this process's windows.
    fn begin_here(&self, identity: String, client: String) -> AppResult<Attempt<'_>> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let Windows { map, pruned } = &mut *windows;
        let due = pruned.is_none_or(|t| t.elapsed() > Duration::from_secs(5));
        if map.len() > MAX_TRACKED / 10 && due {
            map.retain(|_, w| w.since.elapsed() < LOCKOUT);
            if map.len() > MAX_TRACKED {
                map.retain(|_, w| w.count > 1);
            }
            *pruned = Some(Instant::now());
        }
        let mut wait = Duration::ZERO;
        for (key, budget) in [
            (&identity, FAILURES_PER_IDENTITY),
            (&client, FAILURES_PER_CLIENT),
        ] {
            if let Some(w) = map
                .get(key.as_str())
                .filter(|w| w.since.elapsed() < LOCKOUT)
                && w.count >= budget
            {
                wait = wait.max(LOCKOUT.saturating_sub(w.since.elapsed()));
            }
        }
        if !wait.is_zero() {
            return Err(too_many_failures(wait));
        }
        for key in [&identity, &client] {
            let w = map.entry(key.clone()).or_insert(Window {
                count: 0,
                since: Instant::now(),
            });
            if w.since.elapsed() >= LOCKOUT {
                *w = Window {
                    count: 0,
                    since: Instant::now(),
                };
            }
            w.count += 1;
        }
        Ok(Attempt {
            guard: self,
            identity,
            client,
            shared: false,
        })
    }
}

fn too_many_failures(wait: Duration) -> AppError {
    crate::metrics::refused("logins");
    AppError::TooManyRequests {
        what: "failed sign-ins".into(),
        retry_after_secs: wait.as_secs().max(1),
    }
}

impl Attempt<'_> {
    /// The credentials were right: the attempt was no failure.
    async fn succeeded(self) {
        if self.shared
            && let Some(store) = &self.guard.shared
        {
            if let Err(e) = store.attempt_succeeded(&self.identity, &self.client).await {
                tracing::warn!(error = %e, "a successful sign-in was not taken off its budget");
            }
            return;
        }
        let mut windows = self.guard.windows.lock().unwrap_or_else(|e| e.into_inner());
        let map = &mut windows.map;
        map.remove(&self.identity);
        if let Some(w) = map.get_mut(&self.client) {
            w.count = w.count.saturating_sub(1);
        }
    }
}

/// Exchanges an API key for its principal (and records its use). `client` is
/// the caller's address, for the failed-login budget.
pub async fn login_with_key(
    db: &impl ConnectionTrait,
    guard: &LoginGuard,
    client: Option<IpAddr>,
    key: &str,
) -> AppResult<Principal> {
    let identity = format!(
        "key:{}",
        key.trim()
            .chars()
            .take(KEY_PREFIX.len() + 8)
            .collect::<String>()
    );
    let attempt = guard.begin(identity, client).await?;
    let found = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash_key(key.trim())))
        .one(db)
        .await?;
    let Some(k) = found.filter(|k| k.revoked_at.is_none()) else {
        return Err(AppError::Unauthenticated);
    };
    let role = k
        .role
        .parse::<Role>()
        .map_err(|_| AppError::Unauthenticated)?;
    attempt.succeeded().await;
    let subject = format!("key:{}", k.id);
    let mut am: api_key::ActiveModel = k.into();
    am.last_used_at = Set(Some(super::now()));
    am.update(db).await?;
    Ok(Principal { subject, role })
}

/// Exchanges an e-mail and password for the user's principal. `client` is the
/// caller's address, for the failed-login budget.
pub async fn login_with_password(
    db: &impl ConnectionTrait,
    guard: &LoginGuard,
    client: Option<IpAddr>,
    email: &str,
    password: &str,
) -> AppResult<Principal> {
    let email = email.trim().to_lowercase();
    let attempt = guard.begin(format!("user:{email}"), client).await?;
    let u = user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(db)
        .await?;
    let stored = u
        .as_ref()
        .map_or(dummy_hash(), |u| u.password_hash.as_str())
        .to_owned();
    // Argon2 is slow on purpose; keep it off the async workers.
    let candidate = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(candidate.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    match u {
        Some(u) if ok && u.active => {
            let role = u
                .role
                .parse::<Role>()
                .map_err(|_| AppError::Unauthenticated)?;
            attempt.succeeded().await;
            Ok(Principal {
                subject: format!("user:{}", u.id),
                role,
            })
        }
        _ => Err(AppError::Unauthenticated),
    }
}

/// The current role of a token's subject, or `Unauthenticated` when the key was
/// revoked or the user deactivated since the token was issued.
pub async fn current_role(db: &impl ConnectionTrait, subject: &str) -> AppResult<Role> {
    let (kind, id) = subject.split_once(':').ok_or(AppError::Unauthenticated)?;
    let id: i32 = id.parse().map_err(|_| AppError::Unauthenticated)?;
    let role = match kind {
        "user" => user::Entity::find_by_id(id)
            .one(db)
            .await?
            .filter(|u| u.active)
            .map(|u| u.role),
        "key" => api_key::Entity::find_by_id(id)
            .one(db)
            .await?
            .filter(|k| k.revoked_at.is_none())
            .map(|k| k.role),
        _ => None,
    };
    role.and_then(|r| r.parse::<Role>().ok())
        .ok_or(AppError::Unauthenticated)
}
