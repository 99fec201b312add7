//! One function per operation of the route tables (`http::rest::ROUTES`,
//! `startup::OTHER_ROUTES` name them beside their handlers): what the operation
//! is called, who may call it, its parameters, body and answers. Bodies refer to
//! the Rust types that are read and written; answers shared by many operations
//! are in `components`.

use serde_json::{Value, json};
use utoipa::openapi::path::Operation;

use super::{
    ANY, CREATE_REFUSALS, Op, data, json_content, list, named, page, patch_schema, problem,
    response, schema,
};
use crate::domain::{EventKind, OutletKind};
use crate::http::rest::accounts::{NewKey, NewUser, UserPatch};
use crate::http::rest::json::{Article, Event, Expert, Outlet, Site, Topic};
use crate::http::rest::readers::{ProfilePatch, RefreshRequest, SessionRequest, SignInRequest};
use crate::http::rest::webhooks::{NewWebhook, WebhookPatch};
use crate::services::import::ImportReport;
use crate::services::lines::{ArticleLine, EventLine, ExpertLine, OutletLine, SiteLine, TopicLine};
use crate::services::readers::Profile;
use crate::services::webhooks::{Delivery, Endpoint};

/// `GET /api/v1/articles`
pub fn list_articles() -> Operation {
    Op::new(
        "listArticles",
        &["articles"],
        "Media mentions, newest first.",
    )
    .article_filters(None)
    .answers(&[
        (200, "ArticleList"),
        (304, "NotModified"),
        (400, "BadRequest"),
        (401, "Unauthorized"),
    ])
    .into()
}

/// `POST /api/v1/articles`
pub fn create_article() -> Operation {
    Op::new(
        "createArticle",
        &["articles"],
        "Create an article (contributors and up; Bearer token).",
    )
    .describe(
        "The body has the import format's article fields; `title`, `published_at` and\n\
            `language` are required. Outlet, experts and topics are named by slug, name or\n\
            alias; an unknown one is a 422 that suggests the closest names. Without `slug` the\n\
            article gets one from its title (`-2`, `-3`... when taken). A contributor's\n\
            article is a draft (any other `status` from a contributor is a 403); editors and\n\
            administrators publish by default. To record a mention by its source URL without\n\
            a duplicate, see `POST /api/v1/mentions`.",
    )
    .creates(schema::<ArticleLine>(), "ArticleCreated")
    .into()
}

/// `GET /api/v1/articles/{slug}`
pub fn get_article() -> Operation {
    Op::new("getArticle", &["articles"], "One media mention, with its body.")
        .describe("Editors also see drafts, archived and scheduled articles, and contributors their own. A signed-in caller gets the version validator as `ETag` (for `If-Match`); the answer is private (`Cache-Control` is `private, no-store`).")
        .param("slug")
        .reads("The article.", schema::<Article>())
        .linked("NewsArticle")
        .into()
}

/// `PATCH /api/v1/articles/{slug}`
pub fn update_article() -> Operation {
    Op::new("updateArticle", &["articles"], "Change an article (editors, or a contributor their own draft; Bearer token) with a JSON merge patch and `If-Match`.")
        .describe("Send `If-Match` with the ETag of the last write or of a signed-in `GET` of the article\n\
            (`\"article-<slug>-v<version>\"`): without it the answer is 428, with a stale one 412.\n\
            Fields left out stay as they are, `null` clears them; the slug may be changed.\n\
            Publish with `{\"status\": \"published\"}` (or set `draft`, `archived`); a contributor\n\
            cannot publish (403). An article the caller may not see (another contributor's draft)\n\
            is a 404 exactly like a slug that names nothing; so are its `DELETE`, and the same for\n\
            events.")
        .changes(patch_schema::<ArticleLine>(), "ArticleChanged")
        .into()
}

/// `DELETE /api/v1/articles/{slug}`
pub fn delete_article() -> Operation {
    Op::new("deleteArticle", &["articles"], "Delete an article (editors, or a contributor their own draft; Bearer token) with `If-Match`.")
        .deletes()
        .into()
}

/// `GET /api/v1/experts`
pub fn list_experts() -> Operation {
    Op::new("listExperts", &["experts"], "Experts, by name.")
        .parameter(json!({"name": "q", "in": "query", "description": "Words of the name or an alias (case and accents ignored).", "schema": {"type": "string"}}))
        .param("topic")
        .param("limit")
        .param("cursor")
        .answer(200, response("A page of experts.", &["ETag", "Last-Modified", "Cache-Control", "Link"], json_content(page(schema::<Expert>()))))
        .answers(&[(304, "NotModified"), (400, "BadRequest")])
        .into()
}

/// `POST /api/v1/experts`
pub fn create_expert() -> Operation {
    Op::new(
        "createExpert",
        &["experts"],
        "Create an expert (editors; Bearer token).",
    )
    .describe(
        "`name` is required; without `slug` the expert gets one from the name. Topics are\n\
            named by slug or name.",
    )
    .creates(schema::<ExpertLine>(), "ExpertCreated")
    .into()
}

/// `GET /api/v1/experts/{slug}`
pub fn get_expert() -> Operation {
    Op::new("getExpert", &["experts"], "One expert.")
        .describe("A signed-in caller gets the version validator as `ETag` (for `If-Match`); the answer is private (`Cache-Control` is `private, no-store`).")
        .param("slug")
        .reads("The expert.", schema::<Expert>())
        .linked("Person")
        .into()
}

/// `PATCH /api/v1/experts/{slug}`
pub fn update_expert() -> Operation {
    Op::new("updateExpert", &["experts"], "Change an expert (editors; Bearer token) with a JSON merge patch and `If-Match`.")
        .describe("Fields left out stay as they are, `null` clears them (`name` cannot be cleared); the\n\
            slug may be changed. A new name or alias is searchable in the expert's articles at once.")
        .changes(patch_schema::<ExpertLine>(), "ExpertChanged")
        .into()
}

/// `DELETE /api/v1/experts/{slug}`
pub fn delete_expert() -> Operation {
    Op::new(
        "deleteExpert",
        &["experts"],
        "Delete an expert (editors; Bearer token) with `If-Match`.",
    )
    .describe("Refused (409) while articles mention the expert; take the expert off them first.")
    .deletes()
    .answers(&[(409, "InUse")])
    .into()
}

/// `GET /api/v1/experts/{slug}/articles`
pub fn list_expert_articles() -> Operation {
    Op::new(
        "listExpertArticles",
        &["experts", "articles"],
        "Mentions featuring one expert, newest first.",
    )
    .param("slug")
    .article_filters(Some("expert"))
    .answers(&[
        (200, "ArticleList"),
        (304, "NotModified"),
        (400, "BadRequest"),
        (401, "Unauthorized"),
        (404, "NotFound"),
    ])
    .into()
}

/// `GET /api/v1/outlets`
pub fn list_outlets() -> Operation {
    Op::new("listOutlets", &["outlets"], "Outlets, by name.")
        .parameter(json!({"name": "q", "in": "query", "description": "Words of the name or an alias (case and accents ignored).", "schema": {"type": "string"}}))
        .parameter(json!({"name": "kind", "in": "query", "description": "Only outlets of this kind.", "schema": schema::<OutletKind>()}))
        .param("limit")
        .param("cursor")
        .answer(200, response("A page of outlets.", &["ETag", "Last-Modified", "Cache-Control", "Link"], json_content(page(schema::<Outlet>()))))
        .answers(&[(304, "NotModified"), (400, "BadRequest")])
        .into()
}

/// `POST /api/v1/outlets`
pub fn create_outlet() -> Operation {
    Op::new(
        "createOutlet",
        &["outlets"],
        "Create an outlet (editors; Bearer token).",
    )
    .describe(
        "`name` is required; without `slug` the outlet gets one from the name, without\n\
            `kind` it is `other`. The parent outlet is named by slug, name or alias.",
    )
    .creates(schema::<OutletLine>(), "OutletCreated")
    .into()
}

/// `GET /api/v1/outlets/{slug}`
pub fn get_outlet() -> Operation {
    Op::new("getOutlet", &["outlets"], "One outlet, with its parent and children.")
        .describe("A signed-in caller gets the version validator as `ETag` (for `If-Match`); the answer is private (`Cache-Control` is `private, no-store`).")
        .param("slug")
        .reads("The outlet.", schema::<Outlet>())
        .linked("NewsMediaOrganization")
        .into()
}

/// `PATCH /api/v1/outlets/{slug}`
pub fn update_outlet() -> Operation {
    Op::new(
        "updateOutlet",
        &["outlets"],
        "Change an outlet (editors; Bearer token) with a JSON merge patch and `If-Match`.",
    )
    .describe(
        "Fields left out stay as they are, `null` clears them (`name` cannot be cleared; a\n\
            cleared `kind` becomes `other`); the slug may be changed. A parent that is the outlet\n\
            itself or one of its descendants is a 422.",
    )
    .changes(patch_schema::<OutletLine>(), "OutletChanged")
    .into()
}

/// `DELETE /api/v1/outlets/{slug}`
pub fn delete_outlet() -> Operation {
    Op::new("deleteOutlet", &["outlets"], "Delete an outlet (editors; Bearer token) with `If-Match`.")
        .describe("Refused (409) while articles cite the outlet or other outlets sit under it; move them first.")
        .deletes()
        .answers(&[(409, "InUse")])
        .into()
}

/// `GET /api/v1/outlets/{slug}/articles`
pub fn list_outlet_articles() -> Operation {
    Op::new(
        "listOutletArticles",
        &["outlets", "articles"],
        "Mentions from one outlet and its child outlets, newest first.",
    )
    .param("slug")
    .article_filters(Some("outlet"))
    .answers(&[
        (200, "ArticleList"),
        (304, "NotModified"),
        (400, "BadRequest"),
        (401, "Unauthorized"),
        (404, "NotFound"),
    ])
    .into()
}

/// The filters `GET /api/v1/events` and the events calendar share.
fn event_filters(op: Op) -> Op {
    op
        .parameter(json!({"name": "upcoming", "in": "query", "description": "Only events starting after now.", "schema": {"type": "boolean"}}))
        .parameter(json!({"name": "from", "in": "query", "description": "Starting at or after (date or RFC 3339).", "schema": {"type": "string", "examples": ["2026-01-01"]}}))
        .parameter(json!({"name": "to", "in": "query", "description": "Starting before (date or RFC 3339).", "schema": {"type": "string", "examples": ["2027-01-01"]}}))
        .parameter(json!({"name": "kind", "in": "query", "description": "Only events of this kind.", "schema": schema::<EventKind>()}))
        .parameter(json!({"name": "city", "in": "query", "description": "Only events in this city (the whole name, case ignored).", "schema": {"type": "string"}}))
        .parameter(json!({"name": "q", "in": "query", "description": "Words of the title, venue or city.", "schema": {"type": "string"}}))
        .parameter(json!({"name": "order", "in": "query", "description": "By start time: `latest` first (the default) or `soonest` first (the default with `upcoming=true`).", "schema": {"type": "string", "enum": ["soonest", "latest"]}}))
}

/// `GET /api/v1/events`
pub fn list_events() -> Operation {
    event_filters(Op::new(
        "listEvents",
        &["events"],
        "Events, latest first (with `upcoming=true`, soonest first).",
    ))
    .param("limit")
    .param("cursor")
    .answer(
        200,
        response(
            "A page of events.",
            &["ETag", "Last-Modified", "Cache-Control", "Link"],
            json_content(page(schema::<Event>())),
        ),
    )
    .answers(&[
        (304, "NotModified"),
        (400, "BadRequest"),
        (401, "Unauthorized"),
    ])
    .into()
}

/// `POST /api/v1/events`
pub fn create_event() -> Operation {
    Op::new(
        "createEvent",
        &["events"],
        "Create an event (editors; Bearer token).",
    )
    .describe(
        "`title`, `kind` and `starts_at` are required; without `slug` the event gets its\n\
            title's slug (`-2`, `-3`... only if taken), without `status` it is published.",
    )
    .creates(schema::<EventLine>(), "EventCreated")
    .into()
}

/// `GET /api/v1/events/{slug}`
pub fn get_event() -> Operation {
    Op::new("getEvent", &["events"], "One event.")
        .describe("Editors also see drafts and archived events. A signed-in caller gets the version validator as `ETag` (for `If-Match`); the answer is private (`Cache-Control` is `private, no-store`).")
        .param("slug")
        .reads("The event.", schema::<Event>())
        .linked("Event")
        .into()
}

/// `PATCH /api/v1/events/{slug}`
pub fn update_event() -> Operation {
    Op::new(
        "updateEvent",
        &["events"],
        "Change an event (editors; Bearer token) with a JSON merge patch and `If-Match`.",
    )
    .describe(
        "Fields left out stay as they are, `null` clears them (`title`, `kind` and `starts_at`\n\
            cannot be cleared; a cleared `status` becomes `published`); the slug may be changed.\n\
            Publish with `{\"status\": \"published\"}` (or set `draft`, `archived`).",
    )
    .changes(patch_schema::<EventLine>(), "EventChanged")
    .into()
}

/// `DELETE /api/v1/events/{slug}`
pub fn delete_event() -> Operation {
    Op::new(
        "deleteEvent",
        &["events"],
        "Delete an event (editors; Bearer token) with `If-Match`.",
    )
    .deletes()
    .into()
}

/// `GET /api/v1/topics`
pub fn list_topics() -> Operation {
    Op::new("listTopics", &["topics"], "Every topic, by name.")
        .answer(
            200,
            response(
                "The topics.",
                &["ETag", "Last-Modified", "Cache-Control"],
                json_content(list(schema::<Topic>())),
            ),
        )
        .answers(&[(304, "NotModified"), (400, "BadRequest")])
        .into()
}

/// `POST /api/v1/topics`
pub fn create_topic() -> Operation {
    Op::new(
        "createTopic",
        &["topics"],
        "Create a topic (editors; Bearer token).",
    )
    .describe("`name` is required; without `slug` the topic gets one from the name.")
    .creates(schema::<TopicLine>(), "TopicCreated")
    .into()
}

/// `GET /api/v1/topics/{slug}`
pub fn get_topic() -> Operation {
    Op::new("getTopic", &["topics"], "One topic.")
        .describe("A signed-in caller gets the version validator as `ETag` (for `If-Match`); the answer is private (`Cache-Control` is `private, no-store`).")
        .param("slug")
        .reads("The topic.", schema::<Topic>())
        .into()
}

/// `PATCH /api/v1/topics/{slug}`
pub fn update_topic() -> Operation {
    Op::new(
        "updateTopic",
        &["topics"],
        "Change a topic (editors; Bearer token) with a JSON merge patch and `If-Match`.",
    )
    .describe(
        "Fields left out stay as they are (`name` cannot be cleared); the slug may be changed.",
    )
    .changes(patch_schema::<TopicLine>(), "TopicChanged")
    .into()
}

/// `DELETE /api/v1/topics/{slug}`
pub fn delete_topic() -> Operation {
    Op::new("deleteTopic", &["topics"], "Delete a topic (editors; Bearer token) with `If-Match`; it is taken off the articles and experts tagged with it.")
        .deletes()
        .into()
}

/// `GET /api/v1/search`
pub fn search() -> Operation {
    Op::new("search", &["site"], "Site-wide search (experts and outlets by name, then events, then articles by relevance).")
        .parameter(json!({"name": "q", "in": "query", "required": true, "description": "The search text (case and accents ignored).", "schema": {"type": "string", "minLength": 1}}))
        .param("limit")
        .param("cursor")
        .answer(200, response("A page of results, each with a `type`.", &["ETag", "Last-Modified", "Cache-Control", "Link"], json_content(page(json!({"type": "object", "required": ["type"], "properties": {"type": {"type": "string", "enum": ["article", "expert", "outlet", "event"]}}})))))
        .answers(&[(304, "NotModified"), (400, "BadRequest"), (401, "Unauthorized")])
        .into()
}

/// `GET /api/v1/stats/mentions`
pub fn mention_stats() -> Operation {
    let row = json!({"type": "object", "description": "One group: a column per key (`expert`, `outlet`, `topic`, `language`, `month` as `YYYY-MM`, `week` as ISO `YYYY-Www`), the label columns `expert_name`, `outlet_name`, `topic_name`, `week_start` (its Monday), and `count`.", "required": ["count"], "properties": {"count": {"type": "integer", "minimum": 1}}, "additionalProperties": true});
    let meta = json!({"type": "object", "required": ["group_by", "total", "groups", "truncated", "limit"], "properties": {
        "group_by": {"type": "array", "items": {"type": "string"}},
        "total": {"type": "integer", "description": "Distinct articles counted (an article in several groups counts once here)."},
        "groups": {"type": "integer", "description": "Groups before the limit."},
        "truncated": {"type": "boolean"},
        "limit": {"type": "integer"}}});
    let body = json!({"type": "object", "required": ["data", "meta"], "properties": {"data": {"type": "array", "items": row}, "meta": meta}});
    let mut content = json_content(body);
    content["text/csv"] = json!({"schema": {"type": "string", "description": "A header row, then one row per group (the JSON's columns in order); a text cell starting with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'`."}});
    Op::new("mentionStats", &["articles"], "Coverage statistics: published mentions counted by expert, outlet, topic or language and/or by month or week.")
        .describe("Counts exactly what the public article list shows (published, publish time passed: a\n\
            scheduled article counts from its time on; the same filters, an outlet including its\n\
            children). An article counts once in each group it belongs to (once for each expert it\n\
            quotes, each topic it has); one without an outlet is in no outlet group. Periods are UTC\n\
            calendar months and ISO weeks. The largest `limit` groups are returned, largest first\n\
            (ties by key). `Accept: text/csv` gives CSV.")
        .parameter(json!({"name": "group_by", "in": "query", "required": true, "description": "One or two keys, comma-separated: at most one of `expert`, `outlet`, `topic`, `language` and at most one of `month`, `week`.", "schema": {"type": "string"}, "example": "expert,month"}))
        .param("expert")
        .param("outlet")
        .param("topic")
        .param("lang")
        .param("from")
        .param("to")
        .param("q")
        .parameter(json!({"name": "roll_up", "in": "query", "description": "Count each outlet under its top parent (needs `group_by` outlet).", "schema": {"type": "boolean", "default": false}}))
        .parameter(json!({"name": "limit", "in": "query", "description": "At most this many groups (the largest).", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}))
        .answer(200, response("The groups.", &["ETag", "Last-Modified", "Cache-Control"], content))
        .answers(&[(304, "NotModified"), (400, "BadRequest"), (401, "Unauthorized")])
        .into()
}

/// `GET /api/v1/site`
pub fn get_site() -> Operation {
    Op::new("getSite", &["site"], "Organisation name, taglines, offices and contact details.")
        .describe("A signed-in caller gets the version validator as `ETag` (for `If-Match`); the answer is private (`Cache-Control` is `private, no-store`).")
        .answer(200, response("The site settings.", &["ETag=ItemETag", "Last-Modified", "Cache-Control"], json_content(data(schema::<Site>()))))
        .linked("Organization")
        .answers(&[(304, "NotModified"), (401, "Unauthorized"), (404, "NotFound")])
        .into()
}

/// `PATCH /api/v1/site`
pub fn update_site() -> Operation {
    Op::new("updateSite", &["site"], "Change the site settings (administrators; Bearer token) with a JSON merge patch and `If-Match`.")
        .describe("Send `If-Match` with the ETag of a signed-in `GET` of the site (`\"site-site-v<version>\"`).\n\
            Fields left out stay as they are, `null` clears them (`name` and the taglines cannot be\n\
            cleared); `offices` replaces the whole list. The site settings cannot be deleted.")
        .bearer()
        .param("IfMatch")
        .patch_body(patch_schema::<SiteLine>())
        .answers(&[(200, "SiteChanged"), (400, "BadBody"), (401, "Unauthorized")])
        .answer(403, problem("Administrators only."))
        .answers(&[(404, "NotFound"), (412, "Stale"), (413, "PayloadTooLarge"), (415, "UnsupportedMediaType"), (422, "Unprocessable"), (428, "PreconditionRequired"), (429, "TooManyRequests"), (503, "Unavailable"), (507, "InsufficientStorage")])
        .into()
}

/// `GET /api/v1/openapi.yaml`
pub fn get_openapi() -> Operation {
    Op::new("getOpenapi", &["operations"], "This description.")
        .answer(
            200,
            response(
                "OpenAPI 3.1 in YAML.",
                &[],
                json!({"application/yaml": {"schema": {"type": "object"}}}),
            ),
        )
        .into()
}

/// `GET /api/v1/docs`
pub fn get_docs() -> Operation {
    Op::new(
        "getDocs",
        &["operations"],
        "Human-readable reference (works offline).",
    )
    .answer(
        200,
        response(
            "An HTML page.",
            &[],
            json!({"text/html": {"schema": {"type": "string"}}}),
        ),
    )
    .into()
}

/// `GET /feeds/{file}`
pub fn get_feed() -> Operation {
    Op::new("getFeed", &["feeds"], "All mentions as a feed (`mentions.rss`, `mentions.atom` or `mentions.json`).")
        .describe("RSS 2.0, Atom 1.0 or JSON Feed 1.1. Items carry text (an RSS `description` is escaped text, never markup). Links are absolute, on the public base URL. The ETag is a hash of the feed and of the base URL its links were written for, so it changes only when the feed does (including when a scheduled article comes due).")
        .parameter(json!({"name": "file", "in": "path", "required": true, "description": "The format, by extension: RSS 2.0, Atom 1.0 or JSON Feed 1.1.", "schema": {"type": "string", "enum": ["mentions.rss", "mentions.atom", "mentions.json"]}}))
        .param("lang")
        .param("feedLimit")
        .answers(&[(200, "Feed"), (304, "NotModified"), (400, "BadRequest"), (404, "NotFound")])
        .into()
}

/// `GET /feeds/{kind}/{file}`
pub fn get_scoped_feed() -> Operation {
    Op::new("getScopedFeed", &["feeds"], "The mentions of one expert, outlet (with its child outlets) or topic, as a feed (`<slug>.rss|atom|json`).")
        .parameter(json!({"name": "kind", "in": "path", "required": true, "description": "What the feed is scoped to.", "schema": {"type": "string", "enum": ["experts", "outlets", "topics"]}}))
        .parameter(json!({"name": "file", "in": "path", "required": true, "description": "The expert's, outlet's or topic's slug and the format's extension (`rss`, `atom` or `json`).", "schema": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*\\.(rss|atom|json)$", "examples": ["rob-huebert.rss"]}}))
        .param("lang")
        .param("feedLimit")
        .answers(&[(200, "Feed"), (304, "NotModified"), (400, "BadRequest"), (404, "NotFound")])
        .into()
}

/// `GET /embed`
pub fn get_embed_preview() -> Operation {
    Op::new(
        "getEmbedPreview",
        &["feeds"],
        "A live preview of the widget and the snippets to copy.",
    )
    .answer(
        200,
        response(
            "An HTML page; the snippets use the public base URL.",
            &["ETag", "Cache-Control"],
            json!({"text/html": {"schema": {"type": "string"}}}),
        ),
    )
    .answers(&[(304, "NotModified")])
    .into()
}

/// The widget's options, the same for its page and its data.
const WIDGET_OPTIONS: &[&str] = &["expert", "outlet", "topic", "lang", "widgetLimit", "theme"];

/// `GET /embed/mentions`
pub fn get_embed_mentions() -> Operation {
    Op::new(
        "getEmbedMentions",
        &["feeds"],
        "The \"Experts in the media\" list as a self-contained page for an iframe.",
    )
    .params(WIDGET_OPTIONS)
    .answer(
        200,
        response(
            "An HTML page (inline CSS, no script, strict Content-Security-Policy).",
            &[],
            json!({"text/html": {"schema": {"type": "string"}}}),
        ),
    )
    .answers(&[(304, "NotModified"), (400, "BadRequest")])
    .into()
}

/// `GET /embed/mentions.json`
pub fn get_embed_mentions_json() -> Operation {
    Op::new("getEmbedMentionsJson", &["feeds"], "The widget's list as data, which `/embed.js` renders (the same options, words and credit lines as `/embed/mentions`).")
        .describe("`heading` and `empty` are in `lang` (English by default). Each item's `credit` is its\n\
            credit line as text, in the item's own language, exactly as the widget page and the\n\
            feeds show it (\"by A and B (feat. X), Outlet, June 29, 2022\" /\n\
            \"par A et B (avec X), Outlet, 29 juin 2022\", the date in UTC). Readable from any origin.")
        .params(WIDGET_OPTIONS)
        .answer(200, response("The list.", &["ETag", "Cache-Control"], json_content(json!({"type": "object", "required": ["lang", "heading", "empty", "items"], "properties": {"lang": {"type": "string", "enum": ["en", "fr"]}, "heading": {"type": "string"}, "empty": {"type": "string", "description": "What to show when there are no items."}, "items": {"type": "array", "items": {"type": "object", "required": ["language", "title", "url", "credit"], "properties": {"language": {"type": "string", "enum": ["en", "fr"]}, "title": {"type": "string"}, "url": {"type": ["string", "null"]}, "credit": {"type": "string"}}}}}}))))
        .answers(&[(304, "NotModified"), (400, "BadRequest")])
        .into()
}

/// `GET /embed.js`
pub fn get_embed_script() -> Operation {
    Op::new("getEmbedScript", &["feeds"], "Renders `<div data-mediadesk-feed data-expert=\"...\" data-limit=\"5\">` elements from `/embed/mentions.json`.")
        .answer(200, response("JavaScript.", &["ETag", "Cache-Control"], json!({"text/javascript": {"schema": {"type": "string"}}})))
        .answers(&[(304, "NotModified")])
        .into()
}

/// `GET /api/v1/events/{slug}.ics`
pub fn get_event_calendar() -> Operation {
    Op::new("getEventCalendar", &["events"], "One event as iCalendar (RFC 5545).")
        .describe("A `VCALENDAR` with one `VEVENT`: times in UTC, a `UID` that stays the same for the event's life (its slug may change), `SEQUENCE` = version − 1, `STATUS:CANCELLED` for a cancelled event. Editors also get drafts.")
        .param("slug")
        .answer(200, response("The event as iCalendar.", &["ETag", "Last-Modified", "Cache-Control"], calendar_content()))
        .answers(&[(304, "NotModified"), (400, "BadRequest"), (401, "Unauthorized"), (404, "NotFound")])
        .into()
}

/// `GET /feeds/events.ics`
pub fn get_events_calendar() -> Operation {
    event_filters(Op::new("getEventsCalendar", &["feeds"], "Events as an iCalendar feed (RFC 5545) to subscribe to."))
        .describe("The events `GET /api/v1/events` selects with the same filters, latest first unless `order` or `upcoming=true` says otherwise, so upcoming and recent ones by default; each as in `GET /api/v1/events/{slug}.ics`. The ETag is a hash of the calendar, so a client polling it gets 304 until an event changes.")
        .parameter(json!({"name": "limit", "in": "query", "description": "How many events, at most.", "schema": {"type": "integer", "minimum": 1, "maximum": crate::http::calendar::MAX_LIMIT, "default": crate::http::calendar::DEFAULT_LIMIT}}))
        .answer(200, response("The events as iCalendar.", &["ETag", "Last-Modified", "Cache-Control"], calendar_content()))
        .answers(&[(304, "NotModified"), (400, "BadRequest"), (401, "Unauthorized")])
        .into()
}

fn calendar_content() -> Value {
    json!({"text/calendar": {"schema": {"type": "string"}}})
}

/// `GET /oembed`
pub fn get_oembed() -> Operation {
    Op::new("getOembed", &["feeds"], "oEmbed 1.0 for the widget: paste a widget URL into a CMS to embed it.")
        .describe("`url` is this server's `/embed/mentions?...` (any widget options) or `/embed` (the default widget); the answer is a `rich` embed whose `html` is the widget's iframe, no larger than `maxwidth` × `maxheight`. Another URL is a 404, a `format` other than `json` a 501. The widget and preview pages link here (`<link rel=\"alternate\" type=\"application/json+oembed\">`).")
        .parameter(json!({"name": "url", "in": "query", "required": true, "description": "The widget URL to embed (`/embed/mentions?...` or `/embed` of this server).", "schema": {"type": "string", "format": "uri"}}))
        .parameter(json!({"name": "format", "in": "query", "description": "`json`, the only format served (another is a 501).", "schema": {"type": "string", "enum": ["json"]}}))
        .parameter(json!({"name": "maxwidth", "in": "query", "description": "The widest the embed may be, in pixels.", "schema": {"type": "integer", "minimum": 1}}))
        .parameter(json!({"name": "maxheight", "in": "query", "description": "The tallest the embed may be, in pixels.", "schema": {"type": "integer", "minimum": 1}}))
        .answer(200, response("The embed (type `rich`, version `1.0`, `html`, `width`, `height`, provider).", &["ETag", "Cache-Control"], json!({"application/json": {"schema": {"type": "object", "required": ["type", "version", "html", "width", "height"], "properties": {
            "type": {"type": "string", "enum": ["rich"]}, "version": {"type": "string", "enum": ["1.0"]}, "title": {"type": "string"},
            "provider_name": {"type": "string"}, "provider_url": {"type": "string"}, "html": {"type": "string"},
            "width": {"type": "integer"}, "height": {"type": "integer"}}}}})))
        .answers(&[(304, "NotModified"), (400, "BadRequest"), (404, "NotFound")])
        .answer(501, problem("The format is not offered (only `json`)."))
        .into()
}

/// `POST /api/v1/mentions`
pub fn record_mention() -> Operation {
    Op::new("recordMention", &["articles"], "Record a media mention (needs a Bearer token); idempotent by canonical source URL.")
        .describe("Names resolve by slug, name or alias, ignoring case and accents. An unknown expert or\n\
            outlet is a 422 naming it with the closest existing names, unless `create_missing` is\n\
            true (editors). The URL is compared in canonical form (scheme and host case, default\n\
            port, trailing slash, fragment and tracking parameters ignored): the first call answers\n\
            201, any later one 200 with the existing article, unchanged, if the caller may see it\n\
            (as `GET /api/v1/articles/{slug}` would); otherwise a 409 that says only that the URL is\n\
            already recorded (no slug, title or `Location`). Contributors record drafts;\n\
            editors and admins publish by default. The `ETag` is the article's version validator\n\
            (for `If-Match` on a later change). With `Idempotency-Key`, a retry with the same key\n\
            and body replays the first answer.")
        .bearer()
        .param("IdempotencyKey")
        .body(json_content(json!({"type": "object", "additionalProperties": false, "required": ["title", "url", "experts", "published_at", "language"], "properties": {"title": {"type": "string"}, "url": {"type": "string", "format": "uri"}, "outlet": {"type": "string"}, "experts": {"type": "array", "items": {"type": "string"}}, "authors": {"type": "array", "items": {"type": "string"}}, "published_at": {"type": "string", "description": "A date or an RFC 3339 date-time."}, "language": {"type": "string", "enum": ["en", "fr"]}, "summary": {"type": "string"}, "topics": {"type": "array", "items": {"type": "string"}}, "status": {"type": "string", "enum": ["published", "draft"]}, "create_missing": {"type": "boolean"}}})))
        .answers(&[(200, "Mention"), (201, "Mention"), (400, "BadBody"), (401, "Unauthorized"), (403, "Forbidden"), (409, "Conflict"), (413, "PayloadTooLarge"), (415, "UnsupportedMediaType")])
        .answer(422, problem("The mention breaks the rules (`errors` lists every bad field), or the `Idempotency-Key` was already used with a different request."))
        .answers(&[(429, "TooManyRequests"), (503, "Unavailable"), (507, "InsufficientStorage")])
        .into()
}

/// `POST /api/v1/import`
pub fn import_content() -> Operation {
    Op::new("importContent", &["operations"], "Import NDJSON in the command-line import format (editors; Bearer token), all or nothing.")
        .describe("The body is the `mediadesk import` format: one JSON object a line, each with a `type`\n\
            of `outlet`, `expert`, `topic`, `article`, `event` or `site` and that kind's fields\n\
            (as in `OutletInput`, `ExpertInput`, `TopicInput`, `ArticleInput`, `EventInput`;\n\
            a `site` line has the `SitePatch` fields, with `name`, `tagline_en` and `tagline_fr`\n\
            required). Outlets, experts and topics whose slug exists are kept as they are;\n\
            references resolve by slug, name or alias, also to records earlier in the file.\n\
            Each line needs what creating (or changing) its kind needs elsewhere: a `site` line\n\
            needs an administrator, as `PATCH /api/v1/site` does; a line the caller may not write\n\
            is a 403 and nothing of the file is written, `skip_invalid` or not.\n\
            \n\
            The import runs in one transaction and streams, up to 256 MiB. Every line is checked:\n\
            if any is invalid nothing is written and the answer is a 422 (`code`\n\
            `IMPORT_REJECTED`) whose `errors` name each bad line (`field` is `line <n>`); with\n\
            `skip_invalid=true` the valid lines are imported and the bad ones listed in the\n\
            report. A retry with the same `Idempotency-Key` and body replays the first answer.")
        .bearer()
        .parameter(json!({"name": "skip_invalid", "in": "query", "description": "Import the valid lines and report the invalid ones instead of refusing the whole file.", "schema": {"type": "boolean", "default": false}}))
        .param("IdempotencyKey")
        .body(json!({"application/x-ndjson": {"schema": named("Ndjson")}, "application/jsonl": {"schema": named("Ndjson")}, "application/jsonlines": {"schema": named("Ndjson")}}))
        .answer(200, response("Committed; what was created, what already existed and, with `skip_invalid`, the lines left out.", &["Cache-Control", "Idempotent-Replayed"], json_content(data(schema::<ImportReport>()))))
        .answer(400, problem("`skip_invalid` is not a boolean, an unknown query parameter, a malformed `Idempotency-Key`, or an unreadable body; `errors` says which."))
        .answers(&[(401, "Unauthorized"), (403, "Forbidden")])
        .answer(409, problem("A request with the same `Idempotency-Key` is still running."))
        .answer(413, problem("The body is larger than 256 MiB."))
        .answer(415, problem("The body is not NDJSON (`application/x-ndjson`, `application/jsonl` or `application/jsonlines`)."))
        .answer(422, problem("Nothing was imported because lines are invalid (`code` `IMPORT_REJECTED`, one entry in `errors` per bad line, `field` `line <n>`), or the `Idempotency-Key` was already used with a different request."))
        .answers(&[(429, "TooManyRequests"), (503, "Unavailable"), (507, "InsufficientStorage")])
        .into()
}

/// `GET /api/v1/audit`
pub fn list_audit() -> Operation {
    Op::new("listAudit", &["auth"], "The audit log of every write, newest first (administrators; Bearer token).")
        .bearer()
        .param("limit")
        .param("cursor")
        .answer(200, response("A page of audit entries.", &[], json_content(page(json!({"type": "object", "required": ["id", "at", "actor", "action", "entity"], "properties": {"id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "actor": {"type": "string"}, "action": {"type": "string"}, "entity": {"type": "string"}, "entity_id": {"type": ["string", "null"]}, "before": {"type": ANY, "description": "The record before the write (null for a create)."}, "after": {"type": ANY, "description": "The record after the write (null for a delete)."}}})))))
        .answers(&[(400, "BadRequest"), (401, "Unauthorized")])
        .answer(403, problem("Administrators only."))
        .into()
}

/// `GET /api/v1/users`
pub fn list_users() -> Operation {
    Op::new(
        "listUsers",
        &["auth"],
        "Every user account, oldest first (administrators).",
    )
    .bearer()
    .answer(
        200,
        response(
            "The users (never a password or its hash).",
            &[],
            json_content(list(named("User"))),
        ),
    )
    .answers(&[(401, "Unauthorized"), (403, "Forbidden")])
    .into()
}

/// `POST /api/v1/users`
pub fn create_user() -> Operation {
    Op::new("createUser", &["auth"], "Create a user (administrators).")
        .bearer()
        .param("IdempotencyKey")
        .body(json_content(schema::<NewUser>()))
        .answer(
            201,
            response(
                "The new user.",
                &["Location"],
                json_content(data(named("User"))),
            ),
        )
        .answers(CREATE_REFUSALS)
        .into()
}

/// `PATCH /api/v1/users/{id}`
pub fn update_user() -> Operation {
    Op::new(
        "updateUser",
        &["auth"],
        "Change a user's role, or deactivate them (administrators).",
    )
    .describe(
        "A deactivated user cannot sign in, and its tokens stop working at once.\n\
            Administrators cannot demote or deactivate themselves (409).",
    )
    .bearer()
    .parameter(json!({"name": "id", "in": "path", "required": true, "description": "The user's id.", "schema": {"type": "string"}}))
    .patch_body(schema::<UserPatch>())
    .answer(
        200,
        response("The changed user.", &[], json_content(data(named("User")))),
    )
    .answers(&[
        (400, "BadBody"),
        (401, "Unauthorized"),
        (403, "Forbidden"),
        (404, "NotFound"),
        (409, "Conflict"),
        (413, "PayloadTooLarge"),
        (415, "UnsupportedMediaType"),
        (422, "Unprocessable"),
        (429, "TooManyRequests"),
        (503, "Unavailable"),
        (507, "InsufficientStorage"),
    ])
    .into()
}

/// `GET /api/v1/keys`
pub fn list_keys() -> Operation {
    Op::new(
        "listKeys",
        &["auth"],
        "Every API key, revoked ones included, never a secret (administrators).",
    )
    .bearer()
    .answer(
        200,
        response("The keys.", &[], json_content(list(named("ApiKey")))),
    )
    .answers(&[(401, "Unauthorized"), (403, "Forbidden")])
    .into()
}

/// `POST /api/v1/keys`
pub fn create_key() -> Operation {
    Op::new("createKey", &["auth"], "Create an API key for a script (administrators).")
        .describe("The answer carries the key's secret in `data.key`, this once: it is stored only\n\
            as a hash, and the answer is never kept for replay. A retry with the same\n\
            `Idempotency-Key` and body is therefore a 409 (the key was made; its secret was\n\
            shown once), never a second key; list the keys, or revoke it and make a new one.")
        .bearer()
        .param("IdempotencyKey")
        .body(json_content(schema::<NewKey>()))
        .answer(201, response("The new key and its secret.", &["Location"], json_content(data(json!({"allOf": [named("ApiKey"), {"type": "object", "required": ["key"], "properties": {"key": {"type": "string", "description": "The secret: send it to `POST /api/v1/auth/token`."}}}]})))))
        .answers(&[(400, "BadBody"), (401, "Unauthorized"), (403, "Forbidden"), (413, "PayloadTooLarge"), (415, "UnsupportedMediaType")])
        .answer(409, problem("A request with this `Idempotency-Key` was already done (its secret was shown once and is not kept) or is still running."))
        .answers(&[(422, "Unprocessable"), (429, "TooManyRequests"), (503, "Unavailable"), (507, "InsufficientStorage")])
        .into()
}

/// `DELETE /api/v1/keys/{id}`
pub fn revoke_key() -> Operation {
    Op::new(
        "revokeKey",
        &["auth"],
        "Revoke an API key; tokens issued for it stop working at once (administrators).",
    )
    .bearer()
    .parameter(json!({"name": "id", "in": "path", "required": true, "description": "The key's id.", "schema": {"type": "string"}}))
    .answer(
        204,
        response("Revoked (or already revoked).", &[], Value::Null),
    )
    .answers(&[
        (401, "Unauthorized"),
        (403, "Forbidden"),
        (404, "NotFound"),
        (429, "TooManyRequests"),
        (503, "Unavailable"),
        (507, "InsufficientStorage"),
    ])
    .into()
}

/// `POST /api/v1/auth/token`
pub fn create_token() -> Operation {
    Op::new("createToken", &["auth"], "Exchange an API key, or an e-mail and password, for a short-lived access token.")
        .describe("Send the token as `Authorization: Bearer <token>`. A failed login does not say which part\n\
            was wrong, nor whether the account exists. This endpoint counts against the caller's\n\
            address (never against an `Authorization` header it may send). Failed logins are\n\
            budgeted per account (or key prefix) and per client address; past the budget every\n\
            attempt, a correct one included, is a 429 with `Retry-After` until the window passes.\n\
            Answers to signed-in requests are `Cache-Control: private, no-store`.")
        .body(json_content(json!({"oneOf": [{"type": "object", "additionalProperties": false, "required": ["api_key"], "properties": {"api_key": {"type": "string"}}}, {"type": "object", "additionalProperties": false, "required": ["email", "password"], "properties": {"email": {"type": "string"}, "password": {"type": "string"}}}]})))
        .answer(200, response("A token.", &[], json_content(json!({"type": "object", "required": ["access_token", "token_type", "expires_in"], "properties": {"access_token": {"type": "string"}, "token_type": {"type": "string", "enum": ["Bearer"]}, "expires_in": {"type": "integer"}}}))))
        .answers(&[(400, "BadRequest"), (401, "Unauthorized"), (429, "TooManyRequests"), (503, "Unavailable"), (507, "InsufficientStorage")])
        .into()
}

/// `GET /healthz`
pub fn healthz() -> Operation {
    Op::new("healthz", &["operations"], "The process is up.")
        .answer(200, response("Up.", &[], json_content(json!({"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["ok"]}}}))))
        .into()
}

/// `GET /readyz`
pub fn readyz() -> Operation {
    Op::new("readyz", &["operations"], "The database is reachable.")
        .describe("With a read replica (`--read-database-url`), `replica` tells how public reads\n\
            were served since the start: `reads` rendered from the replica, `fallbacks` rendered\n\
            from the primary instead (the replica lagged behind the content or was down), and\n\
            what the last look at the replica found. A replica that is down does not make the\n\
            server unready.")
        .answer(200, response("Ready.", &[], json_content(json!({"type": "object", "required": ["status", "database", "search_index"], "properties": {"status": {"type": "string", "enum": ["ready"]}, "database": {"type": "string", "enum": ["sqlite", "postgres"]}, "search_index": {"type": "string", "enum": ["ready", "building", "off"], "description": "Whether relevance searches are answered from this server's derived index yet (the database ranks them meanwhile)."}, "replica": {"type": "object", "required": ["state", "reads", "fallbacks"], "properties": {"state": {"type": "string", "enum": ["unknown", "up", "behind", "down"]}, "reads": {"type": "integer", "minimum": 0}, "fallbacks": {"type": "integer", "minimum": 0}}}}}))))
        .answer(503, response("The database is not reachable.", &["Retry-After"], json!({"application/problem+json": {"schema": named("Problem")}})))
        .into()
}

/// `GET /graphql`
pub fn graphql_get() -> Operation {
    Op::new("graphqlGet", &["operations"], "Run a GraphQL query sent in the URL (or an Apollo persisted-query hash); GraphiQL in a browser.")
        .describe("With `Upgrade: websocket` and the `graphql-transport-ws` subprotocol, the same URL serves\n\
            GraphQL subscriptions (`articlePublished`, `mentionRecorded`, `eventChanged`); the bearer token goes\n\
            in the `connection_init` payload (`{\"authorization\": \"Bearer ...\"}`). See the README.")
        .parameter(json!({"name": "query", "in": "query", "description": "The GraphQL document (a query; mutations need `POST`).", "schema": {"type": "string"}}))
        .parameter(json!({"name": "variables", "in": "query", "schema": {"type": "string"}, "description": "A JSON object."}))
        .parameter(json!({"name": "operationName", "in": "query", "description": "Which operation of the document to run, when it has several.", "schema": {"type": "string"}}))
        .parameter(json!({"name": "extensions", "in": "query", "schema": {"type": "string"}, "description": "A JSON object, e.g. the persisted-query hash."}))
        .answer(200, response("A GraphQL response (errors, if any, are in its `errors` member).", &[], json!({"application/json": {"schema": named("GraphQLResponse")}, "text/html": {"schema": {"type": "string"}}})))
        .answers(&[(400, "BadRequest")])
        .answer(405, problem("A mutation sent with GET."))
        .into()
}

/// `POST /graphql`
pub fn graphql_post() -> Operation {
    Op::new("graphqlPost", &["operations"], "Run one GraphQL operation (no batching; at most 256 KiB).")
        .describe("A signed-in caller's mutation spends one write of the caller's rate-limit budget\n\
            (429 with `Retry-After` past it), like a REST write.\n\
            A signed-in caller's request with `Idempotency-Key` runs once: a retry with the same\n\
            key and body replays the first answer (`Idempotent-Replayed: true`); an answer with\n\
            `errors` does not use the key up. An answer that carries a secret (`createApiKey`'s\n\
            `secret`) is never kept: its retry is a 409.")
        .param("IdempotencyKey")
        .body(json_content(json!({"type": "object", "required": ["query"], "properties": {"query": {"type": "string"}, "variables": {"type": ["object", "null"]}, "operationName": {"type": ["string", "null"]}, "extensions": {"type": ["object", "null"]}}})))
        .answer(200, response("A GraphQL response.", &[], json_content(named("GraphQLResponse"))))
        .answers(&[(400, "BadRequest")])
        .answer(413, problem("The body is too large."))
        .answer(415, problem("The body is not JSON."))
        .answer(409, problem("A request with this `Idempotency-Key` is still being processed, or was done and its answer carried a secret (shown once, not kept)."))
        .answer(422, problem("This `Idempotency-Key` was used with a different request."))
        .answers(&[(429, "TooManyRequests"), (503, "Unavailable"), (507, "InsufficientStorage")])
        .into()
}

/// `GET /api/v1/changes`
pub fn list_changes() -> Operation {
    Op::new("listChanges", &["changes"], "The change log after a sync token: how a mirror catches up.")
        .describe("Without `since`: an empty page whose `meta.next` is the token of the head of the log,\n\
            where a mirror starts before it copies the lists. With `since`: the entries after it, in\n\
            commit order; apply each by (`kind`, `id`): `upsert` stores `data` (the object as it is now,\n\
            in its list shape), `delete` drops it. Then call again with `since=meta.next` while\n\
            `meta.more` is true. Anonymous callers see the public view: a draft's changes are left out\n\
            (a page may hold fewer entries than `limit`, even none, and still have more), publishing\n\
            is an upsert, unpublishing a delete. Editors and administrators see every change and who\n\
            made it. A token the log can no longer answer (pruned past it, or from another database) is\n\
            a 410: copy the lists again and take a new token.")
        .parameter(json!({"name": "since", "in": "query", "description": "A sync token (`meta.next` of an earlier page).", "schema": {"type": "string"}}))
        .parameter(json!({"name": "limit", "in": "query", "description": "How many entries of the log to read (1 to 1000; default 100).", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}))
        .answer(200, response("A page of the change log.", &["ETag", "Last-Modified", "Cache-Control", "Link"], json_content(json!({
            "type": "object",
            "required": ["data", "meta"],
            "properties": {
                "data": {"type": "array", "items": schema::<crate::http::rest::json::Change>()},
                "meta": {"type": "object", "required": ["next", "more", "head", "limit"], "properties": {
                    "next": {"type": "string", "description": "The token to call with next."},
                    "more": {"type": "boolean", "description": "Whether more entries are there already."},
                    "head": {"type": "string", "description": "The token of the head of the log."},
                    "limit": {"type": "integer"},
                }},
            },
        }))))
        .answers(&[(304, "NotModified"), (400, "BadRequest"), (401, "Unauthorized")])
        .answer(410, problem("The token is older than the log's retention, or from another database: copy the lists again (code `SYNC_TOKEN_EXPIRED`)."))
        .into()
}
/// What an administrators' webhook operation on `/webhooks/{id}` answers
/// besides its success.
const WEBHOOK_REFUSALS: &[(u16, &str)] = &[
    (401, "Unauthorized"),
    (403, "Forbidden"),
    (404, "NotFound"),
    (429, "TooManyRequests"),
    (503, "Unavailable"),
    (507, "InsufficientStorage"),
];

fn webhook_id() -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": "The endpoint's id.", "schema": {"type": "string"}})
}

/// The endpoint and, this once, its secret.
fn endpoint_with_secret() -> Value {
    data(
        json!({"allOf": [schema::<Endpoint>(), {"type": "object", "required": ["secret"], "properties": {"secret": {"type": "string", "description": "`whsec_` and the base64 of 32 random bytes: verify signatures with it. Shown only now."}}}]}),
    )
}

/// `GET /api/v1/webhooks`
pub fn list_webhooks() -> Operation {
    Op::new(
        "listWebhooks",
        &["webhooks"],
        "Every webhook endpoint, oldest first, never a secret (administrators).",
    )
    .bearer()
    .answer(
        200,
        response(
            "The endpoints.",
            &[],
            json_content(list(schema::<Endpoint>())),
        ),
    )
    .answers(&[(401, "Unauthorized"), (403, "Forbidden")])
    .into()
}

/// `POST /api/v1/webhooks`
pub fn create_webhook() -> Operation {
    Op::new("createWebhook", &["webhooks"], "Register a webhook endpoint (administrators).")
        .describe("Deliveries are signed as the Standard Webhooks specification says (see the README's\n\
            \"Webhooks\"). The answer carries the signing secret in `data.secret`, this once; it is\n\
            never shown again and the answer is never kept for replay: a retry with the same\n\
            `Idempotency-Key` and body is a 409. A URL whose host is a private, loopback,\n\
            link-local or other special IP address is a 422 (names are checked on every\n\
            delivery, on the addresses they resolve to). Filters name experts, outlets and\n\
            topics by slug; an unknown one is a 422.")
        .bearer()
        .param("IdempotencyKey")
        .body(json_content(schema::<NewWebhook>()))
        .answer(201, response("The new endpoint and its secret.", &["Location"], json_content(endpoint_with_secret())))
        .answers(&[(400, "BadBody"), (401, "Unauthorized"), (403, "Forbidden"), (413, "PayloadTooLarge"), (415, "UnsupportedMediaType")])
        .answer(409, problem("A request with this `Idempotency-Key` was already done (its secret was shown once and is not kept) or is still running."))
        .answers(&[(422, "Unprocessable"), (429, "TooManyRequests"), (503, "Unavailable"), (507, "InsufficientStorage")])
        .into()
}

/// `GET /api/v1/webhooks/{id}`
pub fn get_webhook() -> Operation {
    Op::new(
        "getWebhook",
        &["webhooks"],
        "One webhook endpoint, never its secret (administrators).",
    )
    .bearer()
    .parameter(webhook_id())
    .answer(
        200,
        response(
            "The endpoint.",
            &[],
            json_content(data(schema::<Endpoint>())),
        ),
    )
    .answers(WEBHOOK_REFUSALS)
    .into()
}

/// `PATCH /api/v1/webhooks/{id}`
pub fn update_webhook() -> Operation {
    Op::new(
        "updateWebhook",
        &["webhooks"],
        "Change a webhook endpoint, or enable or disable it (administrators).",
    )
    .describe(
        "`active: true` re-enables an endpoint the server disabled after a delivery failed on\n\
            every attempt (and clears `disabled_reason`); its pending deliveries then go out.",
    )
    .bearer()
    .parameter(webhook_id())
    .patch_body(schema::<WebhookPatch>())
    .answer(
        200,
        response(
            "The changed endpoint.",
            &[],
            json_content(data(schema::<Endpoint>())),
        ),
    )
    .answers(&[
        (400, "BadBody"),
        (413, "PayloadTooLarge"),
        (415, "UnsupportedMediaType"),
        (422, "Unprocessable"),
    ])
    .answers(WEBHOOK_REFUSALS)
    .into()
}

/// `DELETE /api/v1/webhooks/{id}`
pub fn delete_webhook() -> Operation {
    Op::new(
        "deleteWebhook",
        &["webhooks"],
        "Delete a webhook endpoint and its delivery log (administrators).",
    )
    .bearer()
    .parameter(webhook_id())
    .answer(204, response("Deleted.", &[], Value::Null))
    .answers(WEBHOOK_REFUSALS)
    .into()
}

/// `POST /api/v1/webhooks/{id}/secret`
pub fn rotate_webhook_secret() -> Operation {
    Op::new(
        "rotateWebhookSecret",
        &["webhooks"],
        "Give a webhook endpoint a new signing secret, shown this once (administrators).",
    )
    .describe(
        "The old secret stops signing at once. Like a create, the answer is never kept for\n\
            an `Idempotency-Key` replay (a retry is a 409).",
    )
    .bearer()
    .param("IdempotencyKey")
    .parameter(webhook_id())
    .answer(
        200,
        response(
            "The endpoint and its new secret.",
            &[],
            json_content(endpoint_with_secret()),
        ),
    )
    .answer(
        409,
        problem("A request with this `Idempotency-Key` was already done or is still running."),
    )
    .answers(&[(400, "BadBody"), (422, "Unprocessable")])
    .answers(WEBHOOK_REFUSALS)
    .into()
}

/// `GET /api/v1/webhooks/{id}/deliveries`
pub fn list_webhook_deliveries() -> Operation {
    Op::new(
        "listWebhookDeliveries",
        &["webhooks"],
        "An endpoint's deliveries, newest first, each with its attempts (administrators).",
    )
    .describe(
        "Each attempt has its outcome (`ok`, `http_status`, `redirect`, `timeout`, `refused`,\n\
            `connect`), response code, latency and the first KiB of the response.",
    )
    .bearer()
    .parameter(webhook_id())
    .param("limit")
    .param("cursor")
    .answer(
        200,
        response(
            "A page of deliveries.",
            &[],
            json_content(page(schema::<Delivery>())),
        ),
    )
    .answers(&[(400, "BadRequest")])
    .answers(WEBHOOK_REFUSALS)
    .into()
}

/// `POST /api/v1/webhooks/{id}/deliveries/{delivery}/redeliver`
pub fn redeliver_webhook() -> Operation {
    Op::new(
        "redeliverWebhook",
        &["webhooks"],
        "Send a delivery again, with the same `webhook-id` (administrators).",
    )
    .describe(
        "The delivery is pending again with a fresh retry schedule; it goes out once its\n\
            endpoint is active.",
    )
    .bearer()
    .parameter(webhook_id())
    .parameter(
        json!({"name": "delivery", "in": "path", "required": true, "description": "The delivery's id (as `GET .../deliveries` lists it).", "schema": {"type": "string"}}),
    )
    .answer(
        202,
        response(
            "Pending again.",
            &[],
            json_content(data(schema::<Delivery>())),
        ),
    )
    .answers(WEBHOOK_REFUSALS)
    .into()
}

/// The request every webhook endpoint receives for the event `ty`
/// (the document's top-level `webhooks`).
pub fn webhook(ty: &str) -> Operation {
    let header = |name: &str, description: &str| json!({"name": name, "in": "header", "required": true, "description": description, "schema": {"type": "string"}});
    Op::new(&format!("webhook:{ty}"), &["webhooks"], &format!("`{ty}`, sent to the endpoints that subscribe to it."))
        .describe("Signed as the Standard Webhooks specification says (see the README's \"Webhooks\").\n\
            Any 2xx within 10 s acknowledges it; anything else is retried with the same\n\
            `webhook-id` (deduplicate on it).")
        .parameter(header("webhook-id", "The message's id, the same on every attempt."))
        .parameter(header("webhook-timestamp", "Unix seconds of this attempt."))
        .parameter(header("webhook-signature", "`v1,` and the base64 of HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the base64-decoded secret after `whsec_`."))
        .body(json_content(named("WebhookPayload")))
        .answer(200, response("Any 2xx acknowledges the message.", &[], Value::Null))
        .into()
}

/// What the exchanges of a token for a reader session answer besides 200.
const SESSION_REFUSALS: &[(u16, &str)] = &[
    (400, "BadBody"),
    (401, "Unauthorized"),
    (413, "PayloadTooLarge"),
    (415, "UnsupportedMediaType"),
    (422, "Unprocessable"),
    (429, "TooManyRequests"),
    (503, "Unavailable"),
    (507, "InsufficientStorage"),
];

/// The session a reader signs in to: an access token and a refresh token.
fn reader_session() -> Value {
    json_content(json!({
        "type": "object",
        "required": ["access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in", "reader"],
        "properties": {
            "access_token": {"type": "string", "description": "A JWT with role `reader`: send it as `Authorization: Bearer <token>`."},
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": {"type": "integer", "description": "Seconds the access token lives."},
            "refresh_token": {"type": "string", "description": "For `POST /api/v1/readers/session/refresh`; it works once."},
            "refresh_expires_in": {"type": "integer", "description": "Seconds the refresh token lives."},
            "reader": schema::<Profile>(),
        }
    }))
}

/// `POST /api/v1/readers/sign-in`
pub fn request_reader_sign_in() -> Operation {
    Op::new("requestReaderSignIn", &["readers"], "E-mail a one-time sign-in link to a reader (a new address gets an unactivated account).")
        .describe("Always 202 with the same body, whether or not the address has an account, so the\n\
            answer tells nothing about who reads here. The link points at the configured frontend\n\
            (`--reader-link-base`) with `?token=...`; the token works once, for 15 minutes, through\n\
            `POST /api/v1/readers/session`. Budgeted per e-mail address and per client address (429).")
        .body(json_content(schema::<SignInRequest>()))
        .answer(202, response("Accepted: a link is sent if the address can receive e-mail.", &[], json_content(json!({"type": "object", "required": ["status", "message"], "properties": {"status": {"type": "string", "enum": ["accepted"]}, "message": {"type": "string"}}}))))
        .answers(&[(400, "BadBody"), (413, "PayloadTooLarge"), (415, "UnsupportedMediaType"),
            (422, "Unprocessable"), (429, "TooManyRequests"), (503, "Unavailable"), (507, "InsufficientStorage")])
        .into()
}

/// `POST /api/v1/readers/session`
pub fn create_reader_session() -> Operation {
    Op::new("createReaderSession", &["readers"], "Exchange a sign-in link's token for a reader session; the first use activates the account.")
        .describe("A token that is unknown, used already or expired is a 400 naming `token`.")
        .body(json_content(schema::<SessionRequest>()))
        .answer(200, response("The session.", &[], reader_session()))
        .answers(SESSION_REFUSALS)
        .into()
}

/// `POST /api/v1/readers/session/refresh`
pub fn refresh_reader_session() -> Operation {
    Op::new(
        "refreshReaderSession",
        &["readers"],
        "Exchange a refresh token for a new session (the refresh token is used up: rotation).",
    )
    .describe(
        "A refresh token that is unknown, used already or expired is a 400 naming `refresh_token`.",
    )
    .body(json_content(schema::<RefreshRequest>()))
    .answer(200, response("The new session.", &[], reader_session()))
    .answers(SESSION_REFUSALS)
    .into()
}

/// `GET /api/v1/readers/me`
pub fn get_reader_me() -> Operation {
    Op::new(
        "getReaderMe",
        &["readers"],
        "The signed-in reader's account (a reader's Bearer token).",
    )
    .bearer()
    .answer(
        200,
        response("The account.", &[], json_content(data(schema::<Profile>()))),
    )
    .answers(&[
        (401, "Unauthorized"),
        (403, "Forbidden"),
        (503, "Unavailable"),
    ])
    .into()
}

/// `PATCH /api/v1/readers/me`
pub fn update_reader_me() -> Operation {
    Op::new(
        "updateReaderMe",
        &["readers"],
        "Change the signed-in reader's display name or language (a reader's Bearer token).",
    )
    .describe("Fields left out stay as they are; `display_name: null` clears the name.")
    .bearer()
    .param("IdempotencyKey")
    .patch_body(schema::<ProfilePatch>())
    .answer(
        200,
        response(
            "The changed account.",
            &["Idempotent-Replayed"],
            json_content(data(schema::<Profile>())),
        ),
    )
    .answers(&[
        (400, "BadBody"),
        (401, "Unauthorized"),
        (403, "Forbidden"),
        (409, "Conflict"),
        (413, "PayloadTooLarge"),
        (415, "UnsupportedMediaType"),
        (422, "Unprocessable"),
        (429, "TooManyRequests"),
        (503, "Unavailable"),
        (507, "InsufficientStorage"),
    ])
    .into()
}

/// `DELETE /api/v1/readers/me`
pub fn delete_reader_me() -> Operation {
    Op::new("deleteReaderMe", &["readers"], "Delete the signed-in reader's account (a reader's Bearer token).")
        .describe("The e-mail address and name are erased and every session ends; what the reader wrote\n\
            stays, attributed to \"deleted reader\". Signing in with the same address later makes a new account.")
        .bearer()
        .answer(204, response("Deleted.", &[], Value::Null))
        .answers(&[(401, "Unauthorized"), (403, "Forbidden"), (429, "TooManyRequests"), (503, "Unavailable"), (507, "InsufficientStorage")])
        .into()
}

/// `GET /api/v1/readers/me/export`
pub fn export_reader_me() -> Operation {
    Op::new("exportReaderMe", &["readers"], "Everything stored about the signed-in reader, as JSON (a reader's Bearer token).")
        .describe("The account, the times of every sign-in link and session (never a token), the reader's\n\
            comments and subscriptions.")
        .bearer()
        .answer(200, response("The reader's data.", &[], json_content(data(json!({"type": "object", "required": ["reader", "updated_at", "tokens", "comments", "subscriptions"], "properties": {"reader": schema::<Profile>(), "updated_at": {"type": "string", "format": "date-time"}, "tokens": {"type": "array", "items": {"type": "object", "required": ["purpose", "created_at", "expires_at", "used_at"], "properties": {"purpose": {"type": "string", "enum": ["sign_in", "refresh"]}, "created_at": {"type": "string", "format": "date-time"}, "expires_at": {"type": "string", "format": "date-time"}, "used_at": {"type": ["string", "null"], "format": "date-time"}}}}, "comments": {"type": "array", "items": {"type": "object"}}, "subscriptions": {"type": "array", "items": {"type": "object"}}, "identities": {"type": "array", "description": "Linked OpenID Connect provider accounts.", "items": {"type": "object", "required": ["provider", "subject", "email", "created_at", "last_sign_in_at"], "properties": {"provider": {"type": "string"}, "subject": {"type": "string"}, "email": {"type": ["string", "null"]}, "created_at": {"type": "string", "format": "date-time"}, "last_sign_in_at": {"type": "string", "format": "date-time"}}}}}})))))
        .answers(&[(401, "Unauthorized"), (403, "Forbidden"), (503, "Unavailable")])
        .into()
}

// Social sign-in (OpenID Connect).

/// The `{provider}` path parameter of the OpenID Connect routes.
fn oidc_provider_param() -> Value {
    json!({"name": "provider", "in": "path", "required": true, "description": "The provider's configured name (`--oidc-provider name=...`), e.g. `google`.", "schema": {"type": "string", "pattern": "^[a-z0-9-]{1,32}$"}})
}

/// `GET /api/v1/readers/oidc`
pub fn list_reader_oidc_providers() -> Operation {
    Op::new(
        "listReaderOidcProviders",
        &["readers"],
        "The OpenID Connect providers readers may sign in with (for \"Sign in with ...\" buttons).",
    )
    .describe(
        "Each configured provider's `name` and `start_url` (what its sign-in link opens:\n\
            `GET /api/v1/readers/oidc/{provider}/start` under the public URL), in the order of\n\
            `--oidc-provider`; an empty list when none is configured. Public, cached and validated\n\
            like every public read.",
    )
    .answer(
        200,
        response(
            "The providers.",
            &["ETag", "Last-Modified", "Cache-Control"],
            json_content(list(schema::<crate::services::oidc::SignInProvider>())),
        ),
    )
    .answers(&[(304, "NotModified"), (400, "BadRequest")])
    .into()
}

/// `GET /api/v1/readers/oidc/{provider}/start`
pub fn start_reader_oidc() -> Operation {
    Op::new("startReaderOidc", &["readers"], "Start a reader's sign-in at an OpenID Connect provider: 303 to its authorization endpoint.")
        .describe("Open this URL in the reader's browser (a link or a top-level navigation, not `fetch`).\n\
            It answers 303 to the provider's authorization endpoint with an authorization code request,\n\
            PKCE (S256), `state` and `nonce`; the login waits 10 minutes for the provider's callback.\n\
            Back from the provider, the reader lands on `return_to` with `?token=...`, a one-time token\n\
            for `POST /api/v1/readers/session` (the e-mail link's kind).")
        .parameter(oidc_provider_param())
        .parameter(json!({"name": "return_to", "in": "query", "description": "The frontend page the reader comes back to, on the origin of `--reader-link-base` (default: the reader link base itself); `?token=` is appended.", "schema": {"type": "string", "format": "uri", "maxLength": 2000}}))
        .answer(303, response("To the provider's authorization endpoint.", &["Location=OidcLocation"], Value::Null))
        .answers(&[(400, "BadRequest"), (404, "NotFound"), (503, "Unavailable")])
        .into()
}

/// `GET /api/v1/readers/oidc/{provider}/callback`
pub fn finish_reader_oidc() -> Operation {
    Op::new("finishReaderOidc", &["readers"], "The provider's redirect back: check `state`, exchange the code, verify the ID token, sign the reader in.")
        .describe("The redirect URI to register at the provider; the reader's browser arrives here by a\n\
            top-level navigation, so every outcome is a 303 to the frontend. The `state` works once, for\n\
            10 minutes; the code is exchanged with the PKCE verifier; the ID token is verified against the\n\
            provider's keys (signature, issuer, audience, expiry, nonce). The reader is the one linked to the\n\
            provider account, else the one with the e-mail the provider verified, else a new activated\n\
            reader: 303 to the login's `return_to` with `?token=...` (works once, 5 minutes) for\n\
            `POST /api/v1/readers/session`. When no one is signed in (nothing is created), 303 with\n\
            `?error=` instead: to `--reader-link-base` with `invalid_state` (or the provider's `error`)\n\
            when the state is unknown, used, expired or missing; else (the login used up) to its\n\
            `return_to` with the provider's `error` (e.g. `access_denied`), `invalid_request` (no `code`),\n\
            `invalid_grant` (the provider refused the code or sent no ID token), `invalid_id_token`\n\
            (verification failed) or `temporarily_unavailable` (the provider could not be reached).")
        .parameter(oidc_provider_param())
        .parameter(json!({"name": "code", "in": "query", "description": "The authorization code the provider issued.", "schema": {"type": "string"}}))
        .parameter(json!({"name": "state", "in": "query", "description": "The `state` sent with the authorization request.", "schema": {"type": "string"}}))
        .parameter(json!({"name": "error", "in": "query", "description": "The provider's error code when it did not sign the reader in (e.g. `access_denied`): 303 to the frontend with `?error=` instead of a token.", "schema": {"type": "string"}}))
        .answer(303, response("To the frontend, with a one-time sign-in `token` or with `error`.", &["Location=OidcLocation"], Value::Null))
        .answers(&[(400, "BadRequest"), (404, "NotFound"), (503, "Unavailable")])
        .into()
}

/// `GET /readers/sign-in`
pub fn get_reader_sign_in_page() -> Operation {
    Op::new("getReaderSignInPage", &["readers"], "The server's own page for a sign-in link (without a frontend: the default `--reader-link-base`).")
        .describe("Opening it changes nothing: it shows a button that posts the token (mail scanners open links).")
        .parameter(json!({"name": "token", "in": "query", "description": "The one-time token of the sign-in link.", "schema": {"type": "string"}}))
        .answer(200, response("An HTML page with the sign-in button.", &[], json!({"text/html": {"schema": {"type": "string"}}})))
        .answer(400, response("An HTML page: the link has no token.", &[], json!({"text/html": {"schema": {"type": "string"}}})))
        .into()
}

/// `POST /readers/sign-in`
pub fn post_reader_sign_in_page() -> Operation {
    Op::new("postReaderSignInPage", &["readers"], "The sign-in page's button: exchanges the token for a session, shown as JSON on an HTML page.")
        .describe("A frontend posts the token to `/api/v1/readers/session` instead.")
        .body(json!({"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {"token": {"type": "string", "description": "The one-time token of the sign-in link."}}}}}))
        .answer(200, response("An HTML page with the session.", &[], json!({"text/html": {"schema": {"type": "string"}}})))
        .answer(400, response("An HTML page: the token is missing, used or expired.", &[], json!({"text/html": {"schema": {"type": "string"}}})))
        .answers(&[(503, "Unavailable"), (507, "InsufficientStorage")])
        .into()
}

// Newsletters (issue 14 item 5).

use crate::http::rest::newsletters::{NewNewsletter, NewSubscription, NewsletterPatch};
use crate::services::newsletters::{Issue as NewsletterIssue, Newsletter, Subscriber};

/// What an administrators' operation on `/newsletters/{slug}` answers besides
/// its success.
const NEWSLETTER_REFUSALS: &[(u16, &str)] = &[
    (401, "Unauthorized"),
    (403, "Forbidden"),
    (404, "NotFound"),
    (429, "TooManyRequests"),
    (503, "Unavailable"),
    (507, "InsufficientStorage"),
];

fn newsletter_slug() -> Value {
    json!({"name": "slug", "in": "path", "required": true, "description": "The newsletter's slug.", "schema": {"type": "string"}})
}

fn newsletter_token(what: &str) -> Value {
    json!({"name": "token", "in": "query", "required": true, "description": what, "schema": {"type": "string"}})
}

/// The answer of a newsletter link's `POST`: JSON, or a page for a browser.
fn link_done(description: &str, state: &str) -> Value {
    response(
        description,
        &[],
        json!({
            "application/json": {"schema": data(json!({"type": "object", "required": ["state", "newsletter"], "properties": {"state": {"type": "string", "enum": [state]}, "newsletter": schema::<Newsletter>()}}))},
            "text/html": {"schema": {"type": "string"}},
        }),
    )
}

/// A newsletter link whose token names nothing: problem+json, or a page for a
/// browser (`Accept: text/html`).
fn link_gone(description: &str) -> Value {
    response(
        description,
        &[],
        json!({
            "application/problem+json": {"schema": named("Problem")},
            "text/html": {"schema": {"type": "string"}},
        }),
    )
}

fn html_page(description: &str) -> Value {
    response(
        description,
        &[],
        json!({"text/html": {"schema": {"type": "string"}}}),
    )
}

/// `GET /api/v1/newsletters`
pub fn list_newsletters() -> Operation {
    Op::new(
        "listNewsletters",
        &["newsletters"],
        "Every newsletter list, by name.",
    )
    .answer(
        200,
        response(
            "The lists.",
            &["Cache-Control"],
            json_content(list(schema::<Newsletter>())),
        ),
    )
    .answers(&[(400, "BadRequest")])
    .into()
}

/// `POST /api/v1/newsletters`
pub fn create_newsletter() -> Operation {
    Op::new(
        "createNewsletter",
        &["newsletters"],
        "Create a newsletter list (administrators; audited).",
    )
    .describe(
        "Without `slug` the list gets its name's, or its first free `-2`, `-3`, ... (the one\n\
            slug rule). `confirm` and `unsubscribe` are reserved (the API's own pages: a 400\n\
            that says so); an explicit slug that is taken is a 409.",
    )
    .bearer()
    .param("IdempotencyKey")
    .body(json_content(schema::<NewNewsletter>()))
    .answer(
        201,
        response(
            "The new list.",
            &["Location"],
            json_content(data(schema::<Newsletter>())),
        ),
    )
    .answers(CREATE_REFUSALS)
    .into()
}

/// `GET /api/v1/newsletters/{slug}`
pub fn get_newsletter() -> Operation {
    Op::new("getNewsletter", &["newsletters"], "One newsletter list.")
        .parameter(newsletter_slug())
        .answer(
            200,
            response(
                "The list.",
                &["Cache-Control"],
                json_content(data(schema::<Newsletter>())),
            ),
        )
        .answer(404, problem("No list has this slug."))
        .into()
}

/// `PATCH /api/v1/newsletters/{slug}`
pub fn update_newsletter() -> Operation {
    Op::new(
        "updateNewsletter",
        &["newsletters"],
        "Change a newsletter list (administrators; audited).",
    )
    .bearer()
    .parameter(newsletter_slug())
    .patch_body(schema::<NewsletterPatch>())
    .answer(
        200,
        response(
            "The changed list.",
            &[],
            json_content(data(schema::<Newsletter>())),
        ),
    )
    .answers(&[
        (400, "BadBody"),
        (409, "Conflict"),
        (413, "PayloadTooLarge"),
        (415, "UnsupportedMediaType"),
        (422, "Unprocessable"),
    ])
    .answers(NEWSLETTER_REFUSALS)
    .into()
}

/// `DELETE /api/v1/newsletters/{slug}`
pub fn delete_newsletter() -> Operation {
    Op::new(
        "deleteNewsletter",
        &["newsletters"],
        "Delete a newsletter list with its subscriptions and issues (administrators; audited).",
    )
    .bearer()
    .parameter(newsletter_slug())
    .answer(204, response("Deleted.", &[], Value::Null))
    .answers(NEWSLETTER_REFUSALS)
    .into()
}

/// `POST /api/v1/newsletters/{slug}/subscriptions`
pub fn subscribe_newsletter() -> Operation {
    Op::new(
        "subscribeNewsletter",
        &["newsletters"],
        "Subscribe an e-mail address (anyone): a confirmation link is mailed to it.",
    )
    .describe(
        "Double opt-in: only an address whose confirmation link was followed (within 7 days)\n\
            receives issues. The answer is the same 202 whether the address is new, waiting\n\
            for its confirmation or already confirmed, so it tells nobody who is subscribed.\n\
            A new, unconfirmed or unsubscribed address gets a new link (and is pending until it\n\
            confirms); a confirmed one nothing. Limited per client address (429) and per e-mail\n\
            address: 3 confirmation mails, then one per 20 minutes (past it the answer is the\n\
            same 202, nothing is mailed and nothing changes).",
    )
    .parameter(newsletter_slug())
    .body(json_content(schema::<NewSubscription>()))
    .answer(
        202,
        response(
            "Accepted (always the same body).",
            &[],
            json_content(json!({"type": "object", "required": ["data"], "properties": {"data": {"type": "object", "required": ["status", "message"], "properties": {"status": {"type": "string", "enum": ["accepted"]}, "message": {"type": "string"}}}}})),
        ),
    )
    .answers(&[
        (400, "BadBody"),
        (413, "PayloadTooLarge"),
        (415, "UnsupportedMediaType"),
        (422, "Unprocessable"),
        (429, "TooManyRequests"),
        (503, "Unavailable"),
        (507, "InsufficientStorage"),
    ])
    .answer(404, problem("No list has this slug."))
    .into()
}

/// `GET /api/v1/newsletters/{slug}/subscribers`
pub fn list_newsletter_subscribers() -> Operation {
    Op::new(
        "listNewsletterSubscribers",
        &["newsletters"],
        "A list's subscribers by id, or all of them as CSV (administrators).",
    )
    .describe(
        "JSON pages (`limit`, `cursor`) by default; with `Accept: text/csv` every subscriber\n\
            as one CSV file (`id,email,language,state,created_at,confirmed_at,unsubscribed_at`).\n\
            The answer varies on `Accept`.",
    )
    .bearer()
    .parameter(newsletter_slug())
    .param("limit")
    .param("cursor")
    .answer(
        200,
        response(
            "A page of subscribers, or the CSV export.",
            &["Link"],
            json!({
                "application/json": {"schema": page(schema::<Subscriber>())},
                "text/csv": {"schema": {"type": "string"}},
            }),
        ),
    )
    .answers(&[(400, "BadRequest")])
    .answers(NEWSLETTER_REFUSALS)
    .into()
}

/// `POST /api/v1/newsletters/{slug}/issues`
pub fn send_newsletter_issue() -> Operation {
    Op::new(
        "sendNewsletterIssue",
        &["newsletters"],
        "Send an issue: what was published since the previous one (administrators; audited).",
    )
    .describe(
        "The issue holds the articles (mentions) and events that became public after the\n\
            previous issue of the list ended (the first issue: the last 7 days), and goes to\n\
            every confirmed subscriber in their language, each with a one-click unsubscribe\n\
            link (`List-Unsubscribe`, RFC 8058). When nothing new was published there is no\n\
            issue and no mail (204), so sending twice sends nothing twice. The same as\n\
            `mediadesk newsletter send SLUG`.",
    )
    .bearer()
    .parameter(newsletter_slug())
    .answer(
        201,
        response(
            "The issue, queued for every confirmed subscriber.",
            &[],
            json_content(data(schema::<NewsletterIssue>())),
        ),
    )
    .answer(
        204,
        response(
            "Nothing was published since the previous issue: none was sent.",
            &[],
            Value::Null,
        ),
    )
    .answer(
        409,
        problem(
            "The unsubscribe links would be signed with another key than the one the \
             server recorded (another token signing secret): nothing was sent.",
        ),
    )
    .answers(NEWSLETTER_REFUSALS)
    .into()
}

/// `GET /api/v1/newsletters/confirm`
pub fn confirm_newsletter_page() -> Operation {
    Op::new(
        "confirmNewsletterPage",
        &["newsletters"],
        "The page of a confirmation link: a button that confirms (nothing changes on GET).",
    )
    .parameter(newsletter_token(
        "The token of the confirmation mail's link.",
    ))
    .answer(200, html_page("The page with the confirm button."))
    .answers(&[(400, "BadRequest")])
    .answer(404, link_gone("The link is not valid (any more)."))
    .into()
}

/// `POST /api/v1/newsletters/confirm`
pub fn confirm_newsletter() -> Operation {
    Op::new(
        "confirmNewsletter",
        &["newsletters"],
        "Confirm a subscription (the confirmation mail's token; no sign-in).",
    )
    .describe("A page for a browser (`Accept: text/html`), else JSON. The token works once.")
    .parameter(newsletter_token(
        "The token of the confirmation mail's link.",
    ))
    .answer(200, link_done("Confirmed.", "confirmed"))
    .answers(&[(400, "BadRequest")])
    .answer(404, link_gone("The link is not valid (any more)."))
    .answers(&[(429, "TooManyRequests")])
    .into()
}

/// `GET /api/v1/newsletters/unsubscribe`
pub fn unsubscribe_newsletter_page() -> Operation {
    Op::new(
        "unsubscribeNewsletterPage",
        &["newsletters"],
        "The page of an issue's unsubscribe link: a button that unsubscribes.",
    )
    .parameter(newsletter_token(
        "The signed token of the issue's unsubscribe link.",
    ))
    .answer(200, html_page("The page with the unsubscribe button."))
    .answers(&[(400, "BadRequest")])
    .answer(404, link_gone("The link is not valid."))
    .into()
}

/// `POST /api/v1/newsletters/unsubscribe`
pub fn unsubscribe_newsletter() -> Operation {
    Op::new(
        "unsubscribeNewsletter",
        &["newsletters"],
        "Unsubscribe, one click (RFC 8058; no sign-in).",
    )
    .describe(
        "The URL of an issue's `List-Unsubscribe` header; mail clients POST the form body\n\
            `List-Unsubscribe=One-Click` to it. A page for a browser (`Accept: text/html`),\n\
            else JSON. Again is fine.",
    )
    .parameter(newsletter_token("The signed token of the issue's unsubscribe link."))
    .body(json!({"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {"List-Unsubscribe": {"type": "string", "enum": ["One-Click"]}}}}}))
    .answer(200, link_done("Unsubscribed.", "unsubscribed"))
    .answers(&[(400, "BadRequest")])
    .answer(404, link_gone("The link is not valid."))
    .answers(&[(429, "TooManyRequests")])
    .into()
}
