//! Partner feeds under `/feeds/`: RSS 2.0, Atom 1.0 and JSON Feed 1.1 of the
//! newest mentions, overall and per expert, outlet (with its child outlets) and
//! topic, optionally in one language. Built with the `rss` and
//! `atom_syndication` crates (which escape all text); JSON Feed is a few serde
//! structs, encoded so that no markup character appears even inside strings.
//! Feeds carry text: an RSS `<description>` (which readers render as HTML) is
//! the escaped text of `templates/rss_description.html`, never stored markup.
//! Each item's credit line is `domain::Credit`'s, in the item's language (the
//! RSS description, the Atom summary and the JSON Feed `content_text`).
//! Public reads through `http::conditional` with the content validator: the ETag
//! is a hash of the feed itself (and of the base URL its links were written
//! for), so it changes when, and only when, the feed's content does.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use crate::auth::Actor;
use crate::domain::{ArticleFilter, ArticleOrder, Language, PageRequest, Slug};
use crate::error::{AppError, AppResult};
use crate::services;

use super::AppState;
use super::conditional::{Public, Validator, respond};
use super::rest::json::{self, Article};
use super::rest::params::Params;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }
}

/// Splits `name.ext` into a name and a feed format.
fn split(file: &str) -> Option<(&str, Format)> {
    let (name, ext) = file.rsplit_once('.')?;
    let f = match ext {
        "rss" | "xml" => Format::Rss,
        "atom" => Format::Atom,
        "json" => Format::Json,
        _ => return None,
    };
    Some((name, f))
}

fn not_found(req: &HttpRequest) -> AppError {
    AppError::NotFound(format!(
        "no feed at {}; feeds are /feeds/mentions.(rss|atom|json) and /feeds/(experts|outlets|topics)/<slug>.(rss|atom|json)",
        req.path()
    ))
}

/// `/feeds/mentions.{rss,atom,json}`
pub async fn all(
    req: HttpRequest,
    state: web::Data<AppState>,
    file: web::Path<String>,
) -> AppResult<HttpResponse> {
    match split(&file) {
        Some(("mentions", f)) => feed(&req, &state, Scope::All, f).await,
        _ => Err(not_found(&req)),
    }
}

/// `/feeds/{experts|outlets|topics}/{slug}.{rss,atom,json}`
pub async fn scoped(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (kind, file) = path.into_inner();
    let Some((slug, f)) = split(&file) else {
        return Err(not_found(&req));
    };
    let slug = Slug::parse(slug).map_err(|_| not_found(&req))?;
    let scope = match kind.as_str() {
        "experts" => Scope::Expert(slug),
        "outlets" => Scope::Outlet(slug),
        "topics" => Scope::Topic(slug),
        _ => return Err(not_found(&req)),
    };
    feed(&req, &state, scope, f).await
}

enum Scope {
    All,
    Expert(Slug),
    Outlet(Slug),
    Topic(Slug),
}

/// The feed's subject (its name) and the articles it selects; a 404 for a slug
/// that names nothing.
async fn selection(
    db: &sea_orm::DatabaseConnection,
    req: &HttpRequest,
    scope: &Scope,
) -> AppResult<(Option<String>, ArticleFilter)> {
    let mut filter = ArticleFilter::default();
    let name = match scope {
        Scope::All => return Ok((None, filter)),
        Scope::Expert(s) => {
            filter.expert = Some(s.clone());
            services::experts::get_by_slug(db, s.as_str())
                .await?
                .map(|e| e.name)
        }
        Scope::Outlet(s) => {
            filter.outlet = Some(s.clone());
            services::outlets::get_by_slug(db, s.as_str())
                .await?
                .map(|o| o.name)
        }
        Scope::Topic(s) => {
            filter.topic = Some(s.clone());
            services::topics::get_by_slug(db, s.as_str())
                .await?
                .map(|t| t.name)
        }
    };
    Ok((Some(name.ok_or_else(|| not_found(req))?), filter))
}

async fn feed(
    req: &HttpRequest,
    state: &AppState,
    scope: Scope,
    format: Format,
) -> AppResult<HttpResponse> {
    let mut p = Params::parse(req.query_string())?;
    let lang = p.parse_as::<Language>("lang");
    let limit = match p.str("limit") {
        None => Some(DEFAULT_LIMIT),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Some(n),
            _ => {
                p.parse_as::<BadLimit>("limit");
                None
            }
        },
    };
    p.finish()?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    // The subject is looked up on the primary: a feed of something just
    // created is there at once.
    let (subject, mut filter) = selection(&state.db.conn, req, &scope).await?;
    filter.language = lang;
    let base = state.public_base(req);
    let self_url = format!(
        "{base}{}{}",
        req.path(),
        if req.query_string().is_empty() {
            String::new()
        } else {
            format!("?{}", req.query_string())
        }
    );
    let public = Public::url("feed", req, Validator::Content);
    let (subject, filter, self_url, base) = (&subject, &filter, &self_url, &base);
    respond(req, state, public, |db| async move {
        let page = PageRequest {
            limit,
            ..Default::default()
        };
        let items =
            services::articles::list(db, &Actor::Anonymous, filter, ArticleOrder::Newest, &page)
                .await?
                .items;
        let articles = json::articles(db, items, false).await?;
        let site = services::site::display_name(db).await?;
        let title = match subject {
            None => format!("{site}: experts in the media"),
            Some(s) => format!("{s} in the media ({site})"),
        };
        let meta = FeedMeta {
            title,
            self_url: self_url.clone(),
            home: base.clone(),
            lang,
        };
        let updated = articles
            .iter()
            .map(|a| a.updated_at.max(a.published_at))
            .max();
        let body = match format {
            Format::Rss => rss_feed(&meta, &articles, updated)?,
            Format::Atom => atom_feed(&meta, &articles, updated),
            Format::Json => json_feed(&meta, &articles)?,
        };
        Ok(HttpResponse::Ok()
            .content_type(format.content_type())
            .body(body))
    })
    .await
}

struct BadLimit;
impl std::str::FromStr for BadLimit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Err(format!("{s:?} is not a whole number from 1 to {MAX_LIMIT}"))
    }
}

struct FeedMeta {
    title: String,
    self_url: String,
    home: String,
    lang: Option<Language>,
}

impl FeedMeta {
    /// The feed's language tag; English when the selection names none.
    fn language(&self) -> &'static str {
        self.lang.map_or("en", |l| l.as_str())
    }
}

/// A stable, opaque identifier for an article in every feed format.
fn item_id(a: &Article) -> String {
    format!("urn:mediadesk:article:{}", a.slug)
}

fn fixed(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.fixed_offset()
}

/// `templates/rss_description.html`: an item's credit and summary as HTML text.
#[derive(Template)]
#[template(path = "rss_description.html")]
struct RssDescription<'a> {
    credit: &'a str,
    summary: Option<&'a str>,
}

fn rss_feed(
    meta: &FeedMeta,
    items: &[Article],
    updated: Option<DateTime<Utc>>,
) -> AppResult<Vec<u8>> {
    use rss::extension::atom::{AtomExtension, Link};
    let channel = rss::Channel {
        title: meta.title.clone(),
        link: meta.home.clone(),
        description: format!("{}: the newest media mentions.", meta.title),
        language: Some(meta.language().to_owned()),
        last_build_date: updated.map(|t| t.to_rfc2822()),
        generator: Some("mediadesk".into()),
        ttl: Some("30".into()),
        atom_ext: Some(AtomExtension {
            links: vec![Link {
                href: meta.self_url.clone(),
                rel: "self".into(),
                mime_type: Some("application/rss+xml".into()),
                ..Default::default()
            }],
        }),
        items: items.iter().map(rss_item).collect::<AppResult<_>>()?,
        ..Default::default()
    };
    Ok(channel.to_string().into_bytes())
}

/// One article as an RSS item: credit and summary as the description,
/// experts and outlet as categories, authors and outlet in Dublin Core.
fn rss_item(a: &Article) -> AppResult<rss::Item> {
    use rss::extension::dublincore::DublinCoreExtension;
    let description = RssDescription {
        credit: &a.credit(),
        summary: a.summary.as_deref(),
    }
    .render()
    .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok(rss::Item {
        title: Some(a.title.clone()),
        link: a.url.clone(),
        description: Some(description),
        categories: rss_categories(a),
        guid: Some(rss::Guid {
            value: item_id(a),
            permalink: false,
        }),
        pub_date: Some(a.published_at.to_rfc2822()),
        dublin_core_ext: Some(DublinCoreExtension {
            creators: a.authors.clone(),
            languages: vec![a.language.clone()],
            publishers: a.outlet.iter().map(|o| o.name.clone()).collect(),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The article's experts, then its outlet, as RSS categories named by domain.
fn rss_categories(a: &Article) -> Vec<rss::Category> {
    let mut cats: Vec<rss::Category> = a
        .experts
        .iter()
        .map(|e| rss::Category {
            name: e.name.clone(),
            domain: Some("expert".into()),
        })
        .collect();
    if let Some(o) = &a.outlet {
        cats.push(rss::Category {
            name: o.name.clone(),
            domain: Some("outlet".into()),
        });
    }
    cats
}

fn atom_feed(meta: &FeedMeta, items: &[Article], updated: Option<DateTime<Utc>>) -> Vec<u8> {
    use atom_syndication::{Feed, Link, Text};
    let feed = Feed {
        title: Text::plain(meta.title.clone()),
        id: meta.self_url.clone(),
        updated: fixed(updated.unwrap_or(DateTime::<Utc>::UNIX_EPOCH)),
        lang: Some(meta.language().to_owned()),
        generator: Some(atom_syndication::Generator {
            value: "mediadesk".into(),
            ..Default::default()
        }),
        links: vec![
            Link {
                href: meta.self_url.clone(),
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Default::default()
            },
            Link {
                href: meta.home.clone(),
                rel: "alternate".into(),
                ..Default::default()
            },
        ],
        entries: items.iter().map(atom_entry).collect(),
        ..Default::default()
    };
    feed.to_string().into_bytes()
}

/// One article as an Atom entry; the summary is the credit, then the summary text.
fn atom_entry(a: &Article) -> atom_syndication::Entry {
    use atom_syndication::{Entry, Link, Text};
    let credit = a.credit();
    let mut summary = Text::plain(match &a.summary {
        Some(s) => format!("{credit} — {s}"),
        None => credit,
    });
    summary.lang = Some(a.language.clone());
    Entry {
        title: Text::plain(a.title.clone()),
        id: item_id(a),
        updated: fixed(a.updated_at.max(a.published_at)),
        published: Some(fixed(a.published_at)),
        authors: atom_authors(a),
        links: a
            .url
            .iter()
            .map(|u| Link {
                href: u.clone(),
                rel: "alternate".into(),
                hreflang: Some(a.language.clone()),
                ..Default::default()
            })
            .collect(),
        categories: atom_categories(a),
        summary: Some(summary),
        ..Default::default()
    }
}

/// The article's authors; Atom needs one, so the outlet stands in for an unsigned piece.
fn atom_authors(a: &Article) -> Vec<atom_syndication::Person> {
    let person = |name: String| atom_syndication::Person {
        name,
        ..Default::default()
    };
    if a.authors.is_empty() {
        vec![person(
            a.outlet
                .as_ref()
                .map_or("Staff".to_owned(), |o| o.name.clone()),
        )]
    } else {
        a.authors.iter().cloned().map(person).collect()
    }
}

/// The article's experts, then its outlet, as Atom categories with a URN scheme.
fn atom_categories(a: &Article) -> Vec<atom_syndication::Category> {
    use atom_syndication::Category;
    let mut categories: Vec<Category> = a
        .experts
        .iter()
        .map(|e| Category {
            term: e.slug.clone(),
            label: Some(e.name.clone()),
            scheme: Some("urn:mediadesk:expert".into()),
        })
        .collect();
    if let Some(o) = &a.outlet {
        categories.push(Category {
            term: o.slug.clone(),
            label: Some(o.name.clone()),
            scheme: Some("urn:mediadesk:outlet".into()),
        });
    }
    categories
}

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: &'a str,
    language: &'a str,
    items: Vec<JsonItem<'a>>,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    title: &'a str,
    content_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a str>,
    date_published: DateTime<Utc>,
    date_modified: DateTime<Utc>,
    authors: Vec<JsonAuthor<'a>>,
    tags: Vec<&'a str>,
    language: &'a str,
    /// Structured extras (JSON Feed extensions start with `_`).
    _mediadesk: JsonExtra<'a>,
}

#[derive(Serialize)]
struct JsonAuthor<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct JsonExtra<'a> {
    experts: &'a [json::Ref],
    outlet: Option<&'a json::Ref>,
}

fn json_feed(meta: &FeedMeta, items: &[Article]) -> AppResult<Vec<u8>> {
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &meta.title,
        home_page_url: &meta.home,
        feed_url: &meta.self_url,
        language: meta.language(),
        items: items
            .iter()
            .map(|a| JsonItem {
                id: item_id(a),
                url: a.url.as_deref(),
                title: &a.title,
                content_text: a.credit(),
                summary: a.summary.as_deref(),
                date_published: a.published_at,
                date_modified: a.updated_at.max(a.published_at),
                authors: a.authors.iter().map(|n| JsonAuthor { name: n }).collect(),
                tags: a
                    .experts
                    .iter()
                    .map(|e| e.name.as_str())
                    .chain(a.outlet.iter().map(|o| o.name.as_str()))
                    .collect(),
                language: &a.language,
                _mediadesk: JsonExtra {
                    experts: &a.experts,
                    outlet: a.outlet.as_ref(),
                },
            })
            .collect(),
    };
    // askama's JSON encoding writes `<`, `>`, `&` and `'` as `\u` escapes: the same
    // JSON to a parser, and nothing a browser sniffing the answer could take as markup.
    super::json_in_html(&feed, true).map(String::into_bytes)
}
