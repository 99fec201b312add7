//! oEmbed 1.0 for the widget: `GET /oembed?url=<widget or preview URL>`
//! answers a `rich` embed whose `html` is the widget's iframe, so a CMS that
//! is given the widget's URL (WordPress and others, through the discovery
//! `<link>` of the widget and preview pages) embeds it. The URL must be this
//! server's (its public base URL) `/embed/mentions` with valid widget options,
//! or `/embed` (the default widget); anything else is a 404, as the spec asks.
//! Only JSON: `format=xml` (or any other) is a 501. `maxwidth`/`maxheight`
//! bound the iframe's size. A public read through `http::conditional`.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::services;

use super::AppState;
use super::conditional::{Public, Validator, respond};
use super::rest::params::Params;

/// The widget's size when the consumer sets no bound.
pub const WIDTH: u64 = 360;
pub const HEIGHT: u64 = 520;

/// The discovery URL (`<link rel="alternate" type="application/json+oembed">`)
/// of the page at `page`.
pub fn discovery(base: &str, page: &str) -> String {
    let q = serde_urlencoded::to_string([("url", page), ("format", "json")]).unwrap_or_default();
    format!("{base}/oembed?{q}")
}

/// The oEmbed response (rich type, spec §2.3.4).
#[derive(Serialize)]
struct Rich {
    #[serde(rename = "type")]
    kind: &'static str,
    version: &'static str,
    title: &'static str,
    provider_name: String,
    provider_url: String,
    html: String,
    width: u64,
    height: u64,
}

/// The iframe the `html` member carries (askama escapes the attributes).
#[derive(Template)]
#[template(
    source = r#"<iframe src="{{ src }}" title="{{ title }}" width="{{ width }}" height="{{ height }}" style="border:0" loading="lazy"></iframe>"#,
    ext = "html"
)]
struct Iframe<'a> {
    src: &'a str,
    title: &'a str,
    width: u64,
    height: u64,
}

/// The widget (its options' query string) a URL names, if it is this server's.
fn widget_query(base: &str, raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    let own = url::Url::parse(base).ok()?;
    if url.origin() != own.origin() {
        return None;
    }
    match url.path() {
        "/embed" => Some("limit=5&lang=en".to_owned()),
        "/embed/mentions" => Some(url.query().unwrap_or_default().to_owned()),
        _ => None,
    }
}

/// A bound (`maxwidth`, `maxheight`): a positive whole number.
fn bound(p: &mut Params, name: &str) -> Option<u64> {
    p.str(name)?;
    Some(p.count(name, 1, u64::from(u32::MAX)))
}

/// `GET /oembed`
pub async fn oembed(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let mut p = Params::parse(req.query_string())?;
    let url = p.str("url").map(str::to_owned);
    let format = p.str("format").map(str::to_ascii_lowercase);
    let (max_w, max_h) = (bound(&mut p, "maxwidth"), bound(&mut p, "maxheight"));
    p.finish()?;
    let Some(url) = url else {
        return Err(AppError::invalid("url", "the URL to embed is required"));
    };
    if let Some(f) = format.filter(|f| f != "json") {
        // oEmbed 1.0 §2.3.5: a format the provider does not offer is a 501.
        return Ok(super::problem::problem(
            actix_web::http::StatusCode::NOT_IMPLEMENTED,
            "NOT_IMPLEMENTED",
            &format!("oEmbed format {f:?} is not offered; use format=json"),
            &[],
        ));
    }
    let base = state.public_base(&req);
    let not_found = || {
        AppError::NotFound(format!(
            "{url:?} is not a widget of this server; embed /embed/mentions URLs"
        ))
    };
    let query = widget_query(&base, &url).ok_or_else(not_found)?;
    let options = super::embed::options_of(&query).map_err(|_| not_found())?;
    let title = super::embed::labels(options.lang).heading;
    let src = format!(
        "{base}/embed/mentions{}",
        if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        }
    );
    let (width, height) = (
        max_w.map_or(WIDTH, |m| m.min(WIDTH)),
        max_h.map_or(HEIGHT, |m| m.min(HEIGHT)),
    );
    let html = Iframe {
        src: &src,
        title,
        width,
        height,
    }
    .render()
    .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))?;
    let (base, html) = (&base, &html);
    let public = Public::url("oembed", &req, Validator::Content);
    respond(&req, &state, public, |db| async move {
        let provider_name = services::site::display_name(db).await?;
        let body = Rich {
            kind: "rich",
            version: "1.0",
            title,
            provider_name,
            provider_url: base.clone(),
            html: html.clone(),
            width,
            height,
        };
        Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(super::json_in_html(&body, false)?))
    })
    .await
}
