//! The one error type. Services return it; the HTTP layer renders it as RFC 9457
//! problem+json and the GraphQL layer as `extensions.code`, with the same codes.
//! Database errors are classified here (unique violation -> conflict, connection
//! trouble -> unavailable); internal details are logged, never sent to clients.

use sea_orm::{DbErr, RuntimeErr, SqlErr};

use crate::domain::FieldError;

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// One or more input fields (query parameters, arguments) are invalid.
    #[error("invalid input: {}", summarize(.0))]
    Validation(Vec<FieldError>),
    /// A well-formed write whose content breaks the rules (REST 422).
    #[error("the request cannot be processed: {}", summarize(.0))]
    Unprocessable(Vec<FieldError>),
    #[error("{0}")]
    NotFound(String),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    Conflict(String),
    /// The change was based on a version that is no longer current.
    #[error("{0}")]
    Stale(String),
    /// A change must say which version it is based on (`If-Match`).
    #[error("{0}")]
    PreconditionRequired(String),
    /// A sync token the change log can no longer answer (pruned past it, or
    /// from another database or an older copy of this one): resync.
    #[error("{0}")]
    SyncTokenExpired(String),
    /// A reader's comment is past its edit window (`services::comments`).
    #[error("{0}")]
    EditWindowClosed(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts (`what`); retry after the given number of seconds.
    #[error("too many {what}; retry in {retry_after_secs} s")]
    TooManyRequests { what: String, retry_after_secs: u64 },
    /// The database (or another dependency) cannot be reached right now.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A service outside this one (an OpenID provider) cannot be reached or
    /// answered wrongly (503). Unlike `Unavailable`, the message is written
    /// for the client: it names the service, never internals (those are
    /// logged where the failure is seen).
    #[error("{0}")]
    ProviderUnavailable(String),
    /// The database has no room left (disk full); nothing was written.
    #[error("insufficient storage: {0}")]
    InsufficientStorage(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// How long a client should wait before retrying an `Unavailable` answer
/// (seconds; the `Retry-After` of 503s).
pub const RETRY_AFTER_SECS: u64 = 2;

fn summarize(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl AppError {
    /// A single invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// The stable machine-readable code shared by REST and GraphQL.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) | Self::Unprocessable(_) => "BAD_USER_INPUT",
            Self::NotFound(_) => "NOT_FOUND",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::Conflict(_) | Self::Stale(_) => "CONFLICT",
            Self::PreconditionRequired(_) => "PRECONDITION_REQUIRED",
            Self::SyncTokenExpired(_) => "SYNC_TOKEN_EXPIRED",
            Self::EditWindowClosed(_) => "EDIT_WINDOW_CLOSED",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::TooManyRequests { .. } => "RATE_LIMITED",
            Self::Unavailable(_) | Self::ProviderUnavailable(_) => "UNAVAILABLE",
            Self::InsufficientStorage(_) => "INSUFFICIENT_STORAGE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// What a client may be told: never SQL, paths or other internals.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "internal error".into(),
            Self::Unavailable(_) => "the database is busy or unavailable; try again shortly".into(),
            Self::InsufficientStorage(_) => {
                "the database has no room left; nothing was written".into()
            }
            other => other.to_string(),
        }
    }

    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Validation(v) | Self::Unprocessable(v) => v,
            _ => &[],
        }
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        Self::Validation(vec![e])
    }
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(msg)) = e.sql_err() {
            return Self::Conflict(format!(
                "a record with this key already exists ({})",
                constraint_hint(&msg)
            ));
        }
        match &e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Self::Unavailable(e.to_string()),
            DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) => {
                match classify_sqlx(s) {
                    Some(Fault::Unavailable) => Self::Unavailable(e.to_string()),
                    Some(Fault::Full) => Self::InsufficientStorage(e.to_string()),
                    None => Self::Internal(e.into()),
                }
            }
            _ => Self::Internal(e.into()),
        }
    }
}

/// A database failure that is not a bug.
#[derive(Debug, PartialEq, Eq)]
enum Fault {
    /// Busy, locked, a conflicting transaction, no free connection or no
    /// connection at all: retrying shortly may work (503).
    Unavailable,
    /// No room left (507).
    Full,
}

fn classify_sqlx(e: &sea_orm::sqlx::Error) -> Option<Fault> {
    use sea_orm::sqlx::Error;
    match e {
        Error::Io(_)
        | Error::Tls(_)
        | Error::PoolTimedOut
        | Error::PoolClosed
        | Error::WorkerCrashed => Some(Fault::Unavailable),
        Error::Database(d) => {
            let postgres = d
                .try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>()
                .is_some();
            classify_code(d.code().as_deref()?, postgres)
        }
        _ => None,
    }
}

/// SQLite result codes (numeric, possibly extended) and PostgreSQL SQLSTATEs.
fn classify_code(code: &str, postgres: bool) -> Option<Fault> {
    if !postgres {
        let n = code.parse::<u32>().ok()?;
        // SQLite: the primary code is the low byte of an extended one.
        return match n & 0xff {
            5 | 6 => Some(Fault::Unavailable), // SQLITE_BUSY, SQLITE_LOCKED
            13 => Some(Fault::Full),           // SQLITE_FULL
            _ => None,
        };
    }
    match code {
        // lock_not_available, serialization_failure, deadlock_detected,
        // admin/crash shutdown, cannot_connect_now, too_many_connections
        "55P03" | "40001" | "40P01" | "57P01" | "57P02" | "57P03" | "53300" => {
            Some(Fault::Unavailable)
        }
        // disk_full
        "53100" => Some(Fault::Full),
        _ => None,
    }
}

/// Names the column of a unique violation without echoing the database's message.
fn constraint_hint(msg: &str) -> &'static str {
    let m = msg.to_ascii_lowercase();
    if m.contains("url_key") {
        "source url"
    } else if m.contains("slug") {
        "slug"
    } else {
        "unique key"
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_codes_are_classified() {
        assert_eq!(classify_code("5", false), Some(Fault::Unavailable));
        assert_eq!(classify_code("517", false), Some(Fault::Unavailable)); // BUSY_SNAPSHOT
        assert_eq!(classify_code("262", false), Some(Fault::Unavailable)); // LOCKED_SHAREDCACHE
        assert_eq!(classify_code("13", false), Some(Fault::Full));
        assert_eq!(classify_code("2067", false), None); // a unique violation is no fault
        assert_eq!(classify_code("55P03", true), Some(Fault::Unavailable));
        assert_eq!(classify_code("40001", true), Some(Fault::Unavailable));
        assert_eq!(classify_code("40P01", true), Some(Fault::Unavailable));
        assert_eq!(classify_code("53100", true), Some(Fault::Full));
        assert_eq!(classify_code("23505", true), None);
        assert_eq!(classify_code("42P01", true), None);
    }
}
