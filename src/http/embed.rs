//! The embeddable "Experts in the media" list for partner sites:
//! `/embed/mentions` (a self-contained HTML page for an iframe: inline CSS, no
//! script, a strict Content-Security-Policy), `/embed/mentions.json` (the same
//! list as data), `/embed.js` (puts that data into a shadow root, as text, for
//! sites that refuse iframes) and `/embed` (a preview with the snippets to
//! copy). The widget's heading is in its `lang` (English by default); each
//! item's credit line is `domain::Credit`'s, in the item's language, composed
//! here on the server only, so the page, the script and the feeds agree. The
//! pages are askama templates (`templates/widget.html`,
//! `templates/embed_preview.html`), which escape every value, text and
//! attributes alike; the base URL reaches `embed.js` as a JSON string that is
//! safe in HTML. All are public reads through `http::conditional` (content
//! validator, keyed by the base URL as well).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Serialize;

use crate::auth::Actor;
use crate::domain::{ArticleFilter, ArticleOrder, Language, PageRequest};
use crate::error::{AppError, AppResult};
use crate::services;

use super::AppState;
use super::conditional::{Public, Validator, respond};
use super::rest::json::{self, Article};
use super::rest::params::Params;

/// The widget's own words, in the widget's language (`lang`, English by default).
/// Each item's credit line is in the item's language (`domain::Credit`).
pub(crate) struct Labels {
    pub heading: &'static str,
    pub empty: &'static str,
}

pub(crate) fn labels(lang: Language) -> Labels {
    match lang {
        Language::En => Labels {
            heading: "Experts in the media",
            empty: "No mentions yet.",
        },
        Language::Fr => Labels {
            heading: "Nos experts dans les médias",
            empty: "Aucune mention pour l'instant.",
        },
    }
}

const LIGHT: &str = "--fg:#1d1d1f;--muted:#555;--bg:#fff;--link:#0b4f9c;--rule:#e3e3e3";
const DARK: &str = "--fg:#f2f2f2;--muted:#b5b5b5;--bg:#16181c;--link:#8cc4ff;--rule:#33363c";

/// The widget options every form of it accepts.
pub(crate) struct Options {
    filter: ArticleFilter,
    pub lang: Language,
    limit: u64,
    dark: bool,
}

fn options(req: &HttpRequest) -> AppResult<Options> {
    options_of(req.query_string())
}

/// The options of a widget query string (`limit=5&lang=fr`); each bad one named.
pub(crate) fn options_of(query: &str) -> AppResult<Options> {
    let mut p = Params::parse(query)?;
    let lang = p.parse_as::<Language>("lang");
    let filter = ArticleFilter {
        expert: p.slug("expert"),
        outlet: p.slug("outlet"),
        topic: p.slug("topic"),
        language: lang,
        ..Default::default()
    };
    let limit = match p.str("limit") {
        None => Some(5),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=50).contains(&n) => Some(n),
            _ => p.parse_as::<BadWidgetLimit>("limit").map(|_| 5),
        },
    };
    let dark = match p.str("theme") {
        None | Some("light") => false,
        Some("dark") => true,
        Some(_) => p.parse_as::<BadTheme>("theme").is_some(),
    };
    p.finish()?;
    Ok(Options {
        filter,
        lang: lang.unwrap_or(Language::En),
        limit: limit.unwrap_or(5),
        dark,
    })
}

struct BadWidgetLimit;
impl std::str::FromStr for BadWidgetLimit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Err(format!("{s:?} is not a whole number from 1 to 50"))
    }
}
struct BadTheme;
impl std::str::FromStr for BadTheme {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Err(format!("unknown theme {s:?}; expected light or dark"))
    }
}

/// `GET /embed/mentions`: the list as a page to put in an iframe.
pub async fn mentions(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let o = options(&req)?;
    let public = Public::url("embed", &req, Validator::Content);
    let base = state.public_base(&req);
    let oembed = super::oembed::discovery(&base, &format!("{base}{}", req.uri()));
    let (o, base, oembed) = (&o, &base, &oembed);
    let mut res = respond(&req, &state, public, |db| async move {
        let models = newest_models(db, o).await?;
        let (articles, nodes) = super::linked::articles(db, base, models, false).await?;
        let mut page = widget(&articles, o.lang, o.dark);
        // Safe inside a script element: no `<` (so no `</script>`), `>` or `&`.
        page.linked = super::json_in_html(&super::linked::item_list(&nodes), false)?;
        page.oembed = oembed.clone();
        html(page)
    })
    .await?;
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors {}",
        state.frame_ancestors
    );
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&csp) {
        res.headers_mut()
            .insert(actix_web::http::header::CONTENT_SECURITY_POLICY, v);
    }
    res.headers_mut().insert(
        actix_web::http::header::REFERRER_POLICY,
        actix_web::http::header::HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    Ok(res)
}

/// `GET /embed/mentions.json`: the same list as data for `embed.js` (the same
/// options, labels and credit lines as the page; the theme is the script's).
pub async fn mentions_json(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let o = options(&req)?;
    let public = Public::url("embed", &req, Validator::Content);
    let o = &o;
    let res = respond(&req, &state, public, |db| async move {
        let articles = newest(db, o).await?;
        let w = widget(&articles, o.lang, o.dark);
        let body = WidgetJson {
            lang: w.lang,
            heading: w.heading,
            empty: w.empty,
            items: &w.items,
        };
        // Encoded without markup characters, like every JSON we serve.
        Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(super::json_in_html(&body, false)?))
    })
    .await?;
    Ok(any_origin(res))
}

/// Readable by partner pages on any origin (never with credentials): the script
/// and the data it renders.
fn any_origin(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut().insert(
        actix_web::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        actix_web::http::header::HeaderValue::from_static("*"),
    );
    res
}

/// The newest visible articles the options select.
async fn newest(db: &sea_orm::DatabaseConnection, o: &Options) -> AppResult<Vec<Article>> {
    json::articles(db, newest_models(db, o).await?, false).await
}

/// The records of the newest visible articles the options select.
async fn newest_models(
    db: &sea_orm::DatabaseConnection,
    o: &Options,
) -> AppResult<Vec<crate::entities::article::Model>> {
    let page = PageRequest {
        limit: o.limit,
        ..Default::default()
    };
    let items = services::articles::list(
        db,
        &Actor::Anonymous,
        &o.filter,
        ArticleOrder::Newest,
        &page,
    )
    .await?
    .items;
    Ok(items)
}

/// A rendered page as a `text/html` answer.
fn html(page: impl Template) -> AppResult<HttpResponse> {
    let body = page
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// `templates/widget.html`
#[derive(Template)]
#[template(path = "widget.html")]
struct Widget<'a> {
    lang: &'static str,
    heading: &'static str,
    empty: &'static str,
    vars: &'static str,
    items: Vec<WidgetItem<'a>>,
    /// The list as schema.org JSON-LD, encoded to be safe in a script element.
    linked: String,
    /// The oEmbed discovery URL of this page.
    oembed: String,
}

/// The body of `/embed/mentions.json`.
#[derive(Serialize)]
struct WidgetJson<'a> {
    lang: &'static str,
    heading: &'static str,
    empty: &'static str,
    items: &'a [WidgetItem<'a>],
}

#[derive(Serialize)]
struct WidgetItem<'a> {
    language: &'a str,
    title: &'a str,
    url: Option<&'a str>,
    credit: String,
}

fn widget(items: &[Article], lang: Language, dark: bool) -> Widget<'_> {
    let l = labels(lang);
    Widget {
        lang: lang.as_str(),
        heading: l.heading,
        empty: l.empty,
        vars: if dark { DARK } else { LIGHT },
        linked: String::new(),
        oembed: String::new(),
        items: items
            .iter()
            .map(|a| WidgetItem {
                language: &a.language,
                title: &a.title,
                url: a.url.as_deref(),
                credit: a.credit(),
            })
            .collect(),
    }
}

/// `GET /embed.js`: renders `<div data-mediadesk-feed data-expert=".." data-limit="5">`
/// elements from the REST API, inside shadow roots so neither page's styles leak.
pub async fn script(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let base = state.public_base(&req);
    let public = Public::url("embed", &req, Validator::Content);
    let res = respond(&req, &state, public, |_| async {
        // A JSON string literal is a JavaScript one; askama's encoding also leaves
        // out `<`, `>`, `&` and `'`, so nothing in it can end a script element.
        let literal = super::json_in_html(&base, false)?;
        Ok(HttpResponse::Ok()
            .content_type("text/javascript; charset=utf-8")
            .body(EMBED_JS.replace("\"__MEDIADESK_BASE__\"", &literal)))
    })
    .await?;
    Ok(any_origin(res))
}

const EMBED_JS: &str = r#"/* mediadesk embed: <div data-mediadesk-feed data-expert="slug" data-limit="5" data-lang="fr" data-theme="dark"></div> */
(function () {
  "use strict";
  var script = document.currentScript;
  var BASE = "__MEDIADESK_BASE__";
  try { if (script && script.src) { BASE = new URL(script.src).origin; } } catch (e) {}
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text != null) { e.textContent = text; }
    return e;
  }
  var CSS = ":host{all:initial;display:block}" +
    ".w{--fg:#1d1d1f;--muted:#555;--bg:#fff;--link:#0b4f9c;--rule:#e3e3e3;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif}" +
    ".w.dark{--fg:#f2f2f2;--muted:#b5b5b5;--bg:#16181c;--link:#8cc4ff;--rule:#33363c}" +
    "h2{font-size:13px;letter-spacing:.08em;text-transform:uppercase;margin:0 0 .6em;padding:.8em 1em 0}" +
    "ul{list-style:none;margin:0;padding:0 1em .6em}li{padding:.55em 0;border-top:1px solid var(--rule)}li:first-child{border-top:0}" +
    ".t{margin:0;font-weight:600}.t a{color:var(--link);text-decoration:none}.c{margin:.15em 0 0;color:var(--muted);font-size:13px}";
  function render(host) {
    if (host.__mediadesk) { return; }
    host.__mediadesk = true;
    var lang = host.getAttribute("data-lang") === "fr" ? "fr" : "en";
    var limit = parseInt(host.getAttribute("data-limit") || "5", 10);
    if (!(limit >= 1 && limit <= 50)) { limit = 5; }
    var q = new URLSearchParams();
    q.set("limit", String(limit));
    ["expert", "outlet", "topic"].forEach(function (k) {
      var v = host.getAttribute("data-" + k);
      if (v) { q.set(k, v); }
    });
    if (host.getAttribute("data-lang")) { q.set("lang", lang); }
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = el("style"); style.textContent = CSS; root.appendChild(style);
    var box = el("div", "w" + (host.getAttribute("data-theme") === "dark" ? " dark" : ""));
    var h2 = el("h2"); box.appendChild(h2);
    var ul = el("ul"); box.appendChild(ul); root.appendChild(box);
    // The server writes the words and each credit line (as the iframe's page has
    // them); this only puts them in place, as text.
    fetch(BASE + "/embed/mentions.json?" + q.toString(), { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (body) {
        var items = body.items || [];
        h2.textContent = body.heading;
        if (!items.length) { ul.appendChild(el("li", "empty", body.empty)); }
        items.forEach(function (a) {
          var li = el("li"); li.setAttribute("lang", a.language);
          var t = el("p", "t");
          if (a.url && /^https?:\/\//i.test(a.url)) {
            var link = el("a", null, a.title);
            link.href = a.url; link.target = "_blank"; link.rel = "noopener noreferrer";
            t.appendChild(link);
          } else { t.textContent = a.title; }
          li.appendChild(t); li.appendChild(el("p", "c", a.credit));
          ul.appendChild(li);
        });
      })
      .catch(function () { box.style.display = "none"; });
  }
  function scan() {
    var nodes = document.querySelectorAll("[data-mediadesk-feed]");
    for (var i = 0; i < nodes.length; i++) { render(nodes[i]); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", scan); } else { scan(); }
})();
"#;

/// `templates/embed_preview.html`
#[derive(Template)]
#[template(path = "embed_preview.html")]
struct Preview<'a> {
    base: &'a str,
    /// The oEmbed discovery URL of the preview (its default widget).
    oembed: String,
    iframe_code: String,
    script_code: String,
}

/// `GET /embed`: a live preview and the snippets partners copy.
pub async fn preview(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let base = state.public_base(&req);
    // The page frames the widget, runs embed.js and that script reads the API:
    // all from this server (also under its public URL).
    let own = match &state.public_url {
        Some(_) => format!("'self' {base}"),
        None => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src {own}; connect-src {own}; \
         frame-src {own}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    let public = Public::url("embed", &req, Validator::Content);
    let mut res = respond(&req, &state, public, |_| async {
        // The snippets as text, shown (escaped) for copying.
        let iframe_code = format!(
            "<iframe src=\"{base}/embed/mentions?limit=5&amp;lang=en\" title=\"Experts in the media\" width=\"360\" height=\"520\" style=\"border:0\" loading=\"lazy\"></iframe>"
        );
        let script_code = format!(
            "<div data-mediadesk-feed data-limit=\"5\" data-lang=\"fr\"></div>\n<script src=\"{base}/embed.js\" async></script>"
        );
        html(Preview {
            base: &base,
            oembed: super::oembed::discovery(&base, &format!("{base}/embed")),
            iframe_code,
            script_code,
        })
    })
    .await?;
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&csp) {
        res.headers_mut()
            .insert(actix_web::http::header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(res)
}
