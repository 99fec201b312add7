//! Newsletters over HTTP (`services::newsletters`): the lists (anyone reads
//! them, administrators change them), subscribing (anyone; always the same
//! 202), the confirmation and unsubscribe links of the mail (a page on `GET`
//! with a button, the action on `POST`; the one-click `POST` of RFC 8058 needs
//! no sign-in), sending an issue and the subscribers (JSON, or CSV for
//! `Accept: text/csv`) for administrators.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};

use super::accounts::private;
use super::params::Params;
use super::writes::{MAX_JSON_BODY, idempotent};
use crate::domain::{Language, Role};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::http::auth::{actor, json_body};
use crate::services::newsletters::{self, NewsletterInput, Subscriber};

/// A new newsletter list.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewNewsletter {
    /// Its name in URLs; default: the name's slug, or its first free `-2`,
    /// `-3`, ...
    slug: Option<String>,
    /// "Experts in the media — weekly".
    name: String,
    /// `en` or `fr`: the language of subscribers who name none.
    language: String,
    description: Option<String>,
    /// What its issues carry: `mentions` (published articles), `events` or
    /// `all` (the default).
    content: Option<String>,
}

/// Changes to a newsletter list: absent fields stay as they are; `null` or an
/// empty `description` clears it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewsletterPatch {
    slug: Option<String>,
    name: Option<String>,
    language: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    /// `mentions`, `events` or `all`.
    content: Option<String>,
}

/// `null` read as `Some(None)` (clear), absent as `None` (keep).
fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A subscription request.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewSubscription {
    /// The address to subscribe; it receives a confirmation link.
    email: String,
    /// `en` or `fr`: the language of its mail (default: the list's).
    language: Option<String>,
}

/// The one answer to every subscription request.
pub(crate) fn subscribe_answer() -> Value {
    json!({ "data": { "status": "accepted", "message": "If the address can receive this newsletter, a confirmation link is on its way." } })
}

fn ok(data: Value) -> HttpResponse {
    private(HttpResponse::Ok().json(json!({ "data": data })))
}

fn to_value<T: serde::Serialize>(v: &T) -> AppResult<Value> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.into()))
}

/// `GET /api/v1/newsletters`: every list (not cached: newsletters are not
/// content, so the content stamp does not follow them).
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    // It takes no parameters: one it does not know is a 400.
    Params::parse(req.query_string())?.finish()?;
    let lists = newsletters::list(&state.db.conn).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(json!({ "data": lists })))
}

/// `GET /api/v1/newsletters/{slug}`.
pub async fn get(state: web::Data<AppState>, slug: web::Path<String>) -> AppResult<HttpResponse> {
    let n = newsletters::get(&state.db.conn, &slug).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(json!({ "data": n })))
}

/// `POST /api/v1/newsletters` (administrators): 201.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    actor.require(Role::Admin)?;
    idempotent(&req, &state, &actor, &body, || async {
        let n: NewNewsletter = json_body(&req, &body, MAX_JSON_BODY)?;
        let input = NewsletterInput {
            slug: n.slug,
            name: Some(n.name),
            language: Some(n.language),
            description: Some(n.description),
            content: n.content,
        };
        let created = newsletters::create(&state.db.conn, &actor, input).await?;
        Ok(private(
            HttpResponse::Created()
                .insert_header((
                    header::LOCATION,
                    format!("/api/v1/newsletters/{}", created.slug),
                ))
                .json(json!({ "data": created })),
        ))
    })
    .await
}

/// `PATCH /api/v1/newsletters/{slug}` (administrators).
pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    actor.require(Role::Admin)?;
    let p: NewsletterPatch = json_body(&req, &body, MAX_JSON_BODY)?;
    let input = NewsletterInput {
        slug: p.slug,
        name: p.name,
        language: p.language,
        description: p.description,
        content: p.content,
    };
    let n = newsletters::update(&state.db.conn, &actor, &slug, input).await?;
    Ok(ok(to_value(&n)?))
}

/// `DELETE /api/v1/newsletters/{slug}` (administrators): 204, with its
/// subscriptions and issues.
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    newsletters::delete(&state.db.conn, &actor, &slug).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/newsletters/{slug}/subscriptions`: always the same 202 (an
/// unknown list is a 404, a malformed address a 422); past the client's
/// budget a 429.
pub async fn subscribe(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let s: NewSubscription = json_body(&req, &body, MAX_JSON_BODY)?;
    let client = crate::http::limits::client_basis(&req, &state);
    if let Some(refused) = state.subscribe_limits.client(&client).await {
        return Ok(refused);
    }
    // Checked first, so a malformed address spends nothing of a real one's.
    newsletters::parse_email(&s.email).map_err(|e| AppError::invalid("email", e))?;
    newsletters::subscribe(
        &state.db.conn,
        &slug,
        &s.email,
        s.language.as_deref(),
        &state.newsletter_links(&req),
        async || state.subscribe_limits.address(&s.email).await,
    )
    .await?;
    Ok(private(HttpResponse::Accepted().json(subscribe_answer())))
}

/// `POST /api/v1/newsletters/{slug}/issues` (administrators): 201 with the
/// issue, or 204 when nothing was published since the previous one.
pub async fn send_issue(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    actor.require(Role::Admin)?;
    let links = state.newsletter_links(&req);
    match newsletters::send(&state.db.conn, &actor, &slug, &links).await? {
        Some(issue) => Ok(private(
            HttpResponse::Created().json(json!({ "data": issue })),
        )),
        None => Ok(HttpResponse::NoContent().finish()),
    }
}

/// `GET /api/v1/newsletters/{slug}/subscribers?limit=&cursor=` (administrators):
/// a page by id; with `Accept: text/csv` every subscriber as CSV.
pub async fn subscribers(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    let csv = crate::http::accept::prefers(&req, "text/csv");
    let mut p = Params::parse(req.query_string())?;
    let page = p.page();
    p.finish()?;
    if csv {
        let all = newsletters::export(&state.db.conn, &actor, &slug).await?;
        return csv_response(&slug, &all);
    }
    let r = newsletters::subscribers(&state.db.conn, &actor, &slug, &page).await?;
    let next = r.next_cursor(newsletters::cursor_of);
    let mut b = HttpResponse::Ok();
    if let Some(c) = &next {
        b.insert_header((
            "link",
            format!(
                "<{}?limit={}&cursor={c}>; rel=\"next\"",
                req.path(),
                page.limit
            ),
        ));
    }
    let mut res = private(b.json(json!({
        "data": r.items,
        "meta": { "next_cursor": next, "limit": page.limit },
    })));
    crate::http::accept::vary_on_accept(&mut res);
    Ok(res)
}

fn csv_response(slug: &str, all: &[Subscriber]) -> AppResult<HttpResponse> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| AppError::Internal(anyhow::anyhow!("writing CSV: {e}"));
    w.write_record([
        "id",
        "email",
        "language",
        "state",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
    ])
    .map_err(csv_err)?;
    let time =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    for s in all {
        w.write_record([
            s.id.to_string(),
            // A leading = + - @ would be a formula to a spreadsheet.
            defused(&s.email),
            s.language.clone(),
            s.state.clone(),
            s.created_at.to_rfc3339(),
            time(s.confirmed_at),
            time(s.unsubscribed_at),
        ])
        .map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing CSV: {e}")))?;
    let mut res = private(
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8; header=present")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{slug}-subscribers.csv\""),
            ))
            .body(bytes),
    );
    crate::http::accept::vary_on_accept(&mut res);
    Ok(res)
}

fn defused(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// The confirmation and unsubscribe pages (escaped by askama).
#[derive(Template)]
#[template(path = "newsletter_page.html")]
struct Page<'a> {
    fr: bool,
    title: &'a str,
    message: &'a str,
    action: Option<&'a str>,
    button: &'a str,
}

const PAGE_CSP: &str =
    "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn page(status: StatusCode, p: &Page<'_>) -> AppResult<HttpResponse> {
    let html = p
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("a page template failed: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("content-security-policy", PAGE_CSP))
        .body(html))
}

/// The link's `?token=`: a 400 naming it when absent or empty.
fn token(req: &HttpRequest) -> AppResult<String> {
    let p = Params::parse(req.query_string())?;
    match p.str("token").map(str::trim) {
        Some(t) if !t.is_empty() => Ok(t.to_owned()),
        _ => Err(AppError::invalid(
            "token",
            "is required: the token of the mail's link",
        )),
    }
}

/// The two links of newsletter mail: their words (English, French) and path.
#[derive(Clone, Copy)]
enum Link {
    Confirm,
    Unsubscribe,
}

/// What a link's page and its answer say.
struct Words {
    /// The page's title before the list's name; its message; its button.
    ask: (&'static str, &'static str, &'static str),
    /// The title before the list's name and the message once done.
    done: (&'static str, &'static str),
}

impl Link {
    fn path(self) -> &'static str {
        match self {
            Link::Confirm => "confirm",
            Link::Unsubscribe => "unsubscribe",
        }
    }

    /// The state the action leaves the subscription in.
    fn state(self) -> &'static str {
        match self {
            Link::Confirm => "confirmed",
            Link::Unsubscribe => "unsubscribed",
        }
    }

    fn words(self, lang: Language) -> Words {
        match (self, lang) {
            (Link::Confirm, Language::En) => Words {
                ask: (
                    "Confirm your subscription",
                    "Confirm to receive this newsletter.",
                    "Confirm",
                ),
                done: ("Subscription confirmed", "Thank you!"),
            },
            (Link::Confirm, Language::Fr) => Words {
                ask: (
                    "Confirmer l'abonnement",
                    "Confirmez pour recevoir cette lettre d'information.",
                    "Confirmer",
                ),
                done: ("Abonnement confirmé", "Merci !"),
            },
            (Link::Unsubscribe, Language::En) => Words {
                ask: (
                    "Unsubscribe",
                    "You will not receive this newsletter any more.",
                    "Unsubscribe",
                ),
                done: ("Unsubscribed", "Done."),
            },
            (Link::Unsubscribe, Language::Fr) => Words {
                ask: (
                    "Se désabonner",
                    "Vous ne recevrez plus cette lettre d'information.",
                    "Se désabonner",
                ),
                done: ("Désabonnement fait", "C'est fait."),
            },
        }
    }

    /// The list (and language) a token names; nothing changes.
    async fn peek(
        self,
        req: &HttpRequest,
        state: &AppState,
        token: &str,
    ) -> AppResult<newsletters::Subscribed> {
        match self {
            Link::Confirm => newsletters::confirmation(&state.db.conn, token).await,
            Link::Unsubscribe => {
                newsletters::unsubscription(&state.db.conn, &state.newsletter_links(req), token)
                    .await
            }
        }
    }

    /// Does what the link is for.
    async fn act(
        self,
        req: &HttpRequest,
        state: &AppState,
        token: &str,
    ) -> AppResult<newsletters::Subscribed> {
        match self {
            Link::Confirm => newsletters::confirm(&state.db.conn, token).await,
            Link::Unsubscribe => {
                newsletters::unsubscribe(&state.db.conn, &state.newsletter_links(req), token).await
            }
        }
    }
}

/// A link's `GET`: a page with the button that `POST`s it (a link scanner's
/// `GET` changes nothing). A token that names nothing: a page for a browser,
/// else problem+json.
async fn show(req: HttpRequest, state: web::Data<AppState>, link: Link) -> AppResult<HttpResponse> {
    let t = token(&req)?;
    let html = crate::http::accept::prefers(&req, "text/html");
    let (n, lang) = match link.peek(&req, &state, &t).await {
        Ok(found) => found,
        Err(AppError::NotFound(_)) if html => return gone_page(),
        Err(e) => return Err(e),
    };
    let action = format!("/api/v1/newsletters/{}?token={t}", link.path());
    let (title, message, button) = link.words(lang).ask;
    page(
        StatusCode::OK,
        &Page {
            fr: lang == Language::Fr,
            title: &format!("{title}: {}", n.name),
            message,
            action: Some(&action),
            button,
        },
    )
}

/// A link's `POST`: does it; a page for a browser, else JSON.
async fn run(req: HttpRequest, state: web::Data<AppState>, link: Link) -> AppResult<HttpResponse> {
    let t = token(&req)?;
    let html = crate::http::accept::prefers(&req, "text/html");
    let (n, lang) = match link.act(&req, &state, &t).await {
        Ok(done) => done,
        Err(AppError::NotFound(_)) if html => return gone_page(),
        Err(e) => return Err(e),
    };
    if html {
        let (title, message) = link.words(lang).done;
        return page(
            StatusCode::OK,
            &Page {
                fr: lang == Language::Fr,
                title: &format!("{title}: {}", n.name),
                message,
                action: None,
                button: "",
            },
        );
    }
    Ok(ok(json!({ "state": link.state(), "newsletter": n })))
}

/// `GET /api/v1/newsletters/confirm?token=`: the page with the confirm button.
pub async fn confirm_page(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    show(req, state, Link::Confirm).await
}

/// `POST /api/v1/newsletters/confirm?token=`: confirms (the token then stops
/// working).
pub async fn confirm(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    run(req, state, Link::Confirm).await
}

/// `GET /api/v1/newsletters/unsubscribe?token=`: the page with the button.
pub async fn unsubscribe_page(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    show(req, state, Link::Unsubscribe).await
}

/// `POST /api/v1/newsletters/unsubscribe?token=`: unsubscribes without a
/// sign-in (RFC 8058: the body `List-Unsubscribe=One-Click` a mail client
/// sends, or the page's form); again is fine.
pub async fn unsubscribe(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    run(req, state, Link::Unsubscribe).await
}

/// A link that works no more, as a page.
fn gone_page() -> AppResult<HttpResponse> {
    page(
        StatusCode::NOT_FOUND,
        &Page {
            fr: false,
            title: "Link not valid",
            message: "This link is not valid (any more). Lien non valide (ou expiré).",
            action: None,
            button: "",
        },
    )
}
