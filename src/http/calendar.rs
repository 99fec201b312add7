//! Events as iCalendar (RFC 5545): `/feeds/events.ics` (the events the
//! filters of `GET /api/v1/events` select, latest first by default, so both
//! upcoming and recent ones) and `/api/v1/events/{slug}.ics` (one event).
//! Built with the `icalendar` crate, which folds lines at 75 octets, ends
//! them with CRLF and escapes text values.
//!
//! Times are written in UTC (`DTSTART:20221025T130000Z`), which RFC 5545 lets
//! every client place in its own zone; the event's IANA zone (`time_zone`) is
//! not validated as one, and a `VTIMEZONE` made from it would need the zone's
//! rules. `UID` is the event's row id at the public host, so it survives slug
//! and title changes; `SEQUENCE` is the version less one (a new event is 0);
//! `DTSTAMP` and `LAST-MODIFIED` are when the event last changed (no `METHOD`,
//! RFC 5545 §3.8.7.2), so the body, and its content ETag, change only with the
//! events. Public reads through `http::conditional`, like the other feeds.

use actix_web::{HttpRequest, HttpResponse, web};
use icalendar::{Calendar, Component, EventLike, EventStatus};

use crate::domain::PageRequest;
use crate::entities::event;
use crate::error::{AppError, AppResult};
use crate::services;

use super::AppState;
use super::conditional::{Public, Validator, respond};
use super::rest::params::Params;

const CONTENT_TYPE: &str = "text/calendar; charset=utf-8";

/// Default and largest number of events in the feed.
pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

/// `GET /feeds/events.ics`: the filters of `GET /api/v1/events` and `limit`.
pub async fn feed(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let mut p = Params::parse(req.query_string())?;
    let (filter, order) = super::rest::handlers::event_params(&mut p);
    let limit = p.count("limit", DEFAULT_LIMIT, MAX_LIMIT);
    p.finish()?;
    let actor = crate::http::auth::actor(&req, &state).await?;
    let base = state.public_base(&req);
    let (actor, filter, base) = (&actor, &filter, &base);
    let public = Public::url("calendar", &req, Validator::Content);
    respond(&req, &state, public, |db| async move {
        let page = PageRequest {
            limit,
            ..Default::default()
        };
        let events = services::events::list(db, actor, filter, order, &page)
            .await?
            .items;
        let name = services::site::display_name(db).await?;
        calendar(base, &format!("{name}: events"), &events)
    })
    .await
}

/// `GET /api/v1/events/{slug}.ics`
pub async fn one(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    Params::parse(req.query_string())?.finish()?;
    let actor = crate::http::auth::actor(&req, &state).await?;
    let base = state.public_base(&req);
    let (actor, slug, base) = (&actor, &slug, &base);
    let public = Public::url("calendar", &req, Validator::Content);
    respond(&req, &state, public, |db| async move {
        let e = services::events::get_by_slug(db, actor, slug)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no event with slug {:?}", slug.as_str())))?;
        let title = e.title.clone();
        calendar(base, &title, &[e])
    })
    .await
}

/// A `VCALENDAR` of `events` as a `text/calendar` answer.
fn calendar(base: &str, name: &str, events: &[event::Model]) -> AppResult<HttpResponse> {
    let mut cal = Calendar::empty();
    cal.append_property(("VERSION", "2.0"))
        .append_property(("PRODID", "-//mediadesk//events//EN"))
        .append_property(("CALSCALE", "GREGORIAN"))
        .name(name);
    for e in events {
        cal.push(vevent(base, e));
    }
    let body: String = (&cal.done())
        .try_into()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("iCalendar: {e}")))?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(body))
}

/// The event's stable `UID`: its row id at the public host.
pub fn uid(base: &str, e: &event::Model) -> String {
    let host = url::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "mediadesk".into());
    format!("event-{}@{host}", e.id)
}

/// Where the event takes place, as one line ("Venue, Ottawa, Ontario, CA").
fn location(e: &event::Model) -> Option<String> {
    let parts: Vec<&str> = [&e.venue, &e.city, &e.region, &e.country]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn vevent(base: &str, e: &event::Model) -> icalendar::Event {
    let mut v = icalendar::Event::new();
    v.uid(&uid(base, e))
        .timestamp(e.updated_at)
        .add_property("LAST-MODIFIED", format_utc(e.updated_at))
        .sequence(u32::try_from(e.version - 1).unwrap_or(0))
        .summary(&e.title)
        .starts(e.starts_at)
        .add_property("CATEGORIES", e.kind.to_uppercase())
        .url(
            e.registration_url
                .as_deref()
                .unwrap_or(&format!("{base}/api/v1/events/{}", e.slug)),
        )
        .status(if e.cancelled {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        });
    if let Some(end) = e.ends_at {
        v.ends(end);
    }
    if let Some(l) = location(e) {
        v.location(&l);
    }
    if let Some(d) = &e.description {
        v.description(d);
    }
    v.done()
}

fn format_utc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}
