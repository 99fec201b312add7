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
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

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
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::TooManyRequests { .. } => "RATE_LIMITED",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// What a client may be told: never SQL, paths or other internals.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "internal error".into(),
            Self::Unavailable(_) => "the database is unavailable; try again shortly".into(),
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
            DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s))
                if is_connection_error(s) =>
            {
                Self::Unavailable(e.to_string())
            }
            _ => Self::Internal(e.into()),
        }
    }
}

fn is_connection_error(e: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    matches!(
        e,
        Error::Io(_)
            | Error::Tls(_)
            | Error::PoolTimedOut
            | Error::PoolClosed
            | Error::WorkerCrashed
    )
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
