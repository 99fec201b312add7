//! schema.org JSON-LD of the public objects: an article is a `NewsArticle`
//! (its bylines `author` `Person`s, its outlet the `publisher`, its experts
//! `mentions` of `Person`s with their `affiliation`), an expert a `Person`, an
//! outlet a `NewsMediaOrganization` (with its `parentOrganization`), an event
//! an `Event` (`location` a `Place` with a `PostalAddress`, `eventStatus`) and
//! the site the `Organization` with its offices as `location`s. Objects link
//! to each other by `@id`: the URL of their REST resource on the public base
//! URL. Served for `Accept: application/ld+json` on the REST objects'
//! `GET`s (`negotiate`: the answer's identity in `http::conditional` includes
//! the negotiated type, and `Vary: Accept` says so to caches) and embedded in
//! the widget page (`templates/widget.html`, through `http::json_in_html`).

use std::collections::HashMap;

use actix_web::HttpRequest;
use sea_orm::ConnectionTrait;
use serde_json::{Map, Value, json};

use crate::domain::Office;
use crate::entities::{article, event, expert};
use crate::error::AppResult;
use crate::services;

use super::rest::json::{self as rest, Article, Expert, Outlet, Site};

pub const CONTENT_TYPE: &str = "application/ld+json";
const CONTEXT: &str = "https://schema.org";

/// The representation a REST object's `GET` answers with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Negotiated {
    Json,
    LinkedData,
}

impl Negotiated {
    /// The name the answer's identity carries (`http::conditional`).
    pub fn key(self) -> &'static [u8] {
        match self {
            Negotiated::Json => b"json",
            Negotiated::LinkedData => b"ld+json",
        }
    }
}

/// JSON-LD when `Accept` prefers `application/ld+json` (`http::accept`);
/// JSON otherwise, and without `Accept`.
pub fn negotiate(req: &HttpRequest) -> Negotiated {
    if super::accept::prefers(req, CONTENT_TYPE) {
        Negotiated::LinkedData
    } else {
        Negotiated::Json
    }
}

/// A JSON-LD document as an answer.
pub fn response(doc: &Value) -> AppResult<actix_web::HttpResponse> {
    Ok(actix_web::HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(super::json_in_html(doc, false)?))
}

/// `node` as a document: the schema.org context first.
pub fn document(node: Value) -> Value {
    let mut doc = Map::new();
    doc.insert("@context".into(), json!(CONTEXT));
    if let Value::Object(fields) = node {
        doc.extend(fields);
    }
    Value::Object(doc)
}

/// The `@id` of an object: its REST resource.
fn id(base: &str, kind: &str, slug: &str) -> String {
    format!("{base}/api/v1/{kind}/{slug}")
}

/// The `@id` of the site's organisation.
pub fn site_id(base: &str) -> String {
    format!("{base}/api/v1/site")
}

/// Leaves out the members whose value is `null` or an empty list.
fn compact(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !(v.is_null() || v.as_array().is_some_and(Vec::is_empty)))
                .collect(),
        ),
        other => other,
    }
}

/// An expert's `affiliation`, as an organisation (the site's own, by `@id`,
/// when it is the site's name).
fn affiliation(base: &str, name: Option<&str>, site: Option<&str>) -> Value {
    match name {
        None => Value::Null,
        Some(n) if Some(n) == site => {
            json!({"@type": "Organization", "@id": site_id(base), "name": n})
        }
        Some(n) => json!({"@type": "Organization", "name": n}),
    }
}

/// An expert as a `Person` (as mentioned in an article: no topics).
fn person(base: &str, e: &expert::Model, site: Option<&str>) -> Value {
    compact(json!({
        "@type": "Person",
        "@id": id(base, "experts", &e.slug),
        "name": e.name,
        "jobTitle": e.title,
        "affiliation": affiliation(base, e.affiliation.as_deref(), site),
    }))
}

/// `GET /api/v1/experts/{slug}` as JSON-LD.
pub fn expert(base: &str, e: &Expert, site: Option<&str>) -> Value {
    let m = &e.record;
    let mut node = person(base, m, site);
    let extra = compact(json!({
        "alternateName": m.aliases,
        "description": m.bio_en,
        "image": m.photo_url,
        "knowsAbout": e.topics.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
    }));
    if let (Value::Object(n), Value::Object(x)) = (&mut node, extra) {
        n.extend(x);
    }
    node
}

/// An outlet (by reference) as a `NewsMediaOrganization`.
fn outlet_ref(base: &str, o: &rest::Ref) -> Value {
    json!({"@type": "NewsMediaOrganization", "@id": id(base, "outlets", &o.slug), "name": o.name})
}

/// `GET /api/v1/outlets/{slug}` as JSON-LD.
pub fn outlet(base: &str, o: &Outlet) -> Value {
    let m = &o.record;
    compact(json!({
        "@type": "NewsMediaOrganization",
        "@id": id(base, "outlets", &m.slug),
        "name": m.name,
        "alternateName": m.aliases,
        "url": m.website,
        "knowsLanguage": m.language,
        "parentOrganization": o.parent.as_ref().map(|p| outlet_ref(base, p)),
        "subOrganization": o.children.iter().flatten().map(|c| outlet_ref(base, c)).collect::<Vec<_>>(),
    }))
}

/// An article as a `NewsArticle`; `experts` are its experts' records, in order.
pub fn article(base: &str, a: &Article, experts: &[expert::Model], site: Option<&str>) -> Value {
    let publisher = a.outlet.as_ref().map(|o| outlet_ref(base, o));
    // An unsigned piece is the outlet's own.
    let author: Vec<Value> = if a.authors.is_empty() {
        publisher.iter().cloned().collect()
    } else {
        a.authors
            .iter()
            .map(|n| json!({"@type": "Person", "name": n}))
            .collect()
    };
    compact(json!({
        "@type": "NewsArticle",
        "@id": id(base, "articles", &a.slug),
        "headline": a.title,
        "url": a.url,
        "datePublished": a.published_at,
        "dateModified": a.updated_at.max(a.published_at),
        "inLanguage": a.language,
        "description": a.summary,
        "author": author,
        "publisher": publisher,
        "mentions": experts.iter().map(|e| person(base, e, site)).collect::<Vec<_>>(),
        "keywords": a.topics.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
    }))
}

/// Articles rendered for REST and as `NewsArticle`s, their experts' records
/// read in one query.
pub async fn articles(
    db: &impl ConnectionTrait,
    base: &str,
    items: Vec<article::Model>,
    with_body: bool,
) -> AppResult<(Vec<Article>, Vec<Value>)> {
    let ids: Vec<i32> = items.iter().map(|a| a.id).collect();
    let mut experts: HashMap<i32, Vec<expert::Model>> =
        services::articles::experts_of(db, &ids).await?;
    let site = services::site::name(db).await?;
    let rendered = rest::articles(db, items, with_body).await?;
    let nodes = ids
        .iter()
        .zip(&rendered)
        .map(|(id, a)| {
            let experts = experts.remove(id).unwrap_or_default();
            article(base, a, &experts, site.as_deref())
        })
        .collect();
    Ok((rendered, nodes))
}

/// `GET /api/v1/events/{slug}` as JSON-LD.
pub fn event(base: &str, e: &event::Model) -> Value {
    let address = compact(json!({
        "@type": "PostalAddress",
        "addressLocality": e.city,
        "addressRegion": e.region,
        "addressCountry": e.country,
    }));
    let place = (e.venue.is_some() || e.city.is_some()).then(|| {
        compact(json!({"@type": "Place", "name": e.venue.as_deref().or(e.city.as_deref()), "address": address}))
    });
    let status = if e.cancelled {
        "https://schema.org/EventCancelled"
    } else {
        "https://schema.org/EventScheduled"
    };
    compact(json!({
        "@type": "Event",
        "@id": id(base, "events", &e.slug),
        "name": e.title,
        "description": e.description,
        "startDate": e.starts_at,
        "endDate": e.ends_at,
        "eventStatus": {"@id": status},
        "location": place,
        "url": e.registration_url,
        "organizer": {"@id": site_id(base)},
    }))
}

/// One office as a `Place` with its `PostalAddress`.
fn office(o: &Office) -> Value {
    compact(json!({
        "@type": "Place",
        "name": o.label,
        "address": compact(json!({
            "@type": "PostalAddress",
            "streetAddress": (!o.street.is_empty()).then(|| o.street.join(", ")),
            "addressLocality": o.city,
            "addressRegion": o.region,
            "postalCode": o.postal_code,
            "addressCountry": o.country,
        })),
    }))
}

/// `GET /api/v1/site` as JSON-LD: the `Organization` and its offices.
pub fn site(base: &str, s: &Site) -> Value {
    compact(json!({
        "@type": "Organization",
        "@id": site_id(base),
        "name": s.name,
        "slogan": s.tagline_en,
        "url": s.web,
        "email": s.email,
        "telephone": s.phone,
        "location": s.offices.iter().map(office).collect::<Vec<_>>(),
    }))
}

/// The widget's list as an `ItemList` of `NewsArticle`s.
pub fn item_list(nodes: &[Value]) -> Value {
    document(json!({
        "@type": "ItemList",
        "itemListElement": nodes
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"@type": "ListItem", "position": i + 1, "item": n}))
            .collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn accept(v: &str) -> Negotiated {
        negotiate(
            &TestRequest::default()
                .insert_header(("accept", v))
                .to_http_request(),
        )
    }

    #[test]
    fn json_ld_only_when_asked_for_at_least_as_much_as_json() {
        assert!(accept("application/ld+json") == Negotiated::LinkedData);
        assert!(accept("application/ld+json, application/json") == Negotiated::LinkedData);
        assert!(accept("application/json;q=0.5, application/ld+json") == Negotiated::LinkedData);
        assert!(accept("application/ld+json;q=0.5, application/json") == Negotiated::Json);
        assert!(accept("application/ld+json;q=0") == Negotiated::Json);
        assert!(accept("*/*") == Negotiated::Json);
        assert!(accept("text/html") == Negotiated::Json);
        assert!(negotiate(&TestRequest::default().to_http_request()) == Negotiated::Json);
    }
}
