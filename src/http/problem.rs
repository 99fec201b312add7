//! RFC 9457 problem details (`application/problem+json`) for every error the HTTP
//! layer sends, with a stable `code`, the request id and per-field errors.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::FieldError;
use crate::error::AppError;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// RFC 9457 problem details.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Problem<'a> {
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

/// Renders a problem response.
pub fn problem(
    status: StatusCode,
    code: &str,
    detail: &str,
    errors: &[FieldError],
) -> HttpResponse {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = Problem {
        kind: format!(
            "https://mediadesk.dev/problems/{}",
            code.to_ascii_lowercase().replace('_', "-")
        ),
        title,
        status: status.as_u16(),
        detail,
        code,
        request_id: super::request_id::current(),
        errors,
    };
    HttpResponse::build(status)
        .content_type(CONTENT_TYPE)
        .json(body)
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::BAD_REQUEST,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Stale(_) => StatusCode::PRECONDITION_FAILED,
            AppError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            AppError::SyncTokenExpired(_) => StatusCode::GONE,
            AppError::EditWindowClosed(_) => StatusCode::CONFLICT,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) | AppError::ProviderUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Internal(e) => tracing::error!(error = %e, "internal error"),
            AppError::Unavailable(e) | AppError::ProviderUnavailable(e) => {
                tracing::warn!(error = %e, "dependency unavailable")
            }
            AppError::InsufficientStorage(e) => tracing::error!(error = %e, "database full"),
            _ => {}
        }
        let mut res = problem(
            self.status_code(),
            self.code(),
            &self.public_message(),
            self.field_errors(),
        );
        if matches!(
            self,
            AppError::Unavailable(_) | AppError::ProviderUnavailable(_)
        ) {
            res.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(crate::error::RETRY_AFTER_SECS),
            );
        }
        if matches!(self, AppError::Unauthenticated) {
            res.headers_mut().insert(
                actix_web::http::header::WWW_AUTHENTICATE,
                actix_web::http::header::HeaderValue::from_static(
                    "Bearer realm=\"mediadesk\", error=\"invalid_token\"",
                ),
            );
        }
        if let AppError::TooManyRequests {
            retry_after_secs, ..
        } = self
            && let Ok(v) =
                actix_web::http::header::HeaderValue::from_str(&retry_after_secs.to_string())
        {
            res.headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, v);
        }
        res
    }
}

/// The fallback for unknown routes.
pub async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    problem(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        &format!("no route for {} {}", req.method(), req.path()),
        &[],
    )
}
