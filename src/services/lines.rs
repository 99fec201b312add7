//! The import format's records (`outlet`, `expert`, `topic`, `article`, `event`,
//! `site`) and their rules. Imports, mentions and every create or change through
//! the API read and check content through these, so a value the import refuses is
//! refused everywhere, with the same message.
//!
//! A kind's line is declared once, with `line!`: that gives the import
//! format's record, GraphQL's create input (the same struct) and its update
//! input (the same fields as patches), with one doc comment per field. These
//! are the only async-graphql items in the service layer: derives, no
//! resolvers.

use async_graphql::{InputObject, MaybeUndefined};
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use serde::{Deserialize, Serialize};

use crate::domain::{
    ArticleStatus, EventKind, FieldError, Language, Office, OutletKind, Slug, SourceUrl,
    clean_list, clean_optional, clean_text, parse_timestamp, search_key,
};
use crate::entities::{event, expert, outlet, site, topic};

use super::resolve::Resolver;

/// At most this many experts on one article.
const MAX_EXPERTS: usize = 20;

/// The type of a field in an update input: what an `Option` holds, else the
/// field's own type (the update input wraps it in `MaybeUndefined`).
pub trait Patch {
    type Value;
}
impl<T> Patch for Option<T> {
    type Value = T;
}
impl Patch for String {
    type Value = String;
}
impl<T> Patch for Vec<T> {
    type Value = Vec<T>;
}

/// Declares a kind's line (`$line`: the import format's record, which is also
/// the GraphQL create input `$create`) and its GraphQL update input
/// `$update`, whose fields are the line's as patches (absent: unchanged,
/// `null`: cleared) besides the record's `slug`, the `expectedVersion` the
/// change is based on and `newSlug` (the line's `slug`). Attributes after
/// `=>` are the line's only (defaults, aliases); `$line::FIELDS` lists the
/// fields' names.
macro_rules! line {
    (
        $(#[$meta:meta])*
        $line:ident as $create:literal, $update:ident ($update_doc:literal) {
            $(#[$slug_meta:meta])*
            slug,
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty $(=> $(#[$lmeta:meta])+)? ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Deserialize, Serialize, InputObject)]
        #[serde(deny_unknown_fields)]
        #[graphql(name = $create)]
        pub struct $line {
            $(#[$slug_meta])*
            pub slug: Option<String>,
            $( $(#[$fmeta])* $($(#[$lmeta])+)? pub $field: $ty, )+
        }

        impl $line {
            /// The names of the line's fields.
            pub const FIELDS: &'static [&'static str] = &["slug", $(stringify!($field)),+];
        }

        #[doc = $update_doc]
        #[derive(InputObject, Serialize)]
        pub struct $update {
            #[serde(skip)]
            pub slug: String,
            /// The `version` the change is based on; a stale one is a `CONFLICT`.
            #[serde(skip)]
            pub expected_version: i32,
            #[serde(rename = "slug", skip_serializing_if = "MaybeUndefined::is_undefined")]
            pub new_slug: MaybeUndefined<String>,
            $(
                $(#[$fmeta])*
                #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
                pub $field: MaybeUndefined<<$ty as Patch>::Value>,
            )+
        }
    };
}

line! {
    /// A new outlet.
    #[derive(utoipa::ToSchema)]
    #[schema(as = OutletInput)]
    OutletLine as "CreateOutletInput",
    UpdateOutletInput("Changes to an outlet: fields left out stay as they are, `null` clears them.") {
        /// Default: the name's slug, with `-2`, `-3`... only if taken. A given
        /// slug that is taken is refused.
        #[schema(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 120)]
        slug,
        name: String => #[schema(min_length = 1, max_length = 200)],
        /// `newspaper`, `magazine`, `tv`, `radio`, `online`, `wire` or `other` (default).
        kind: Option<String> => #[schema(value_type = Option<OutletKind>)],
        /// The parent outlet's name, alias or slug.
        parent: Option<String>,
        website: Option<String>,
        country: Option<String>,
        language: Option<String> => #[schema(value_type = Option<Language>)],
        aliases: Vec<String> => #[serde(default)] #[graphql(default)] #[schema(max_items = 20)],
    }
}

line! {
    /// A new expert.
    #[derive(utoipa::ToSchema)]
    #[schema(as = ExpertInput)]
    ExpertLine as "CreateExpertInput",
    UpdateExpertInput("Changes to an expert: fields left out stay as they are, `null` clears them.") {
        /// Default: the name's slug, with `-2`, `-3`... only if taken. A given
        /// slug that is taken is refused.
        #[schema(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 120)]
        slug,
        name: String => #[schema(min_length = 1, max_length = 200)],
        /// Other spellings met in the media.
        aliases: Vec<String> => #[serde(default)] #[graphql(default)] #[schema(max_items = 20)],
        title: Option<String>,
        affiliation: Option<String>,
        bio_en: Option<String> => #[serde(alias = "bio")],
        bio_fr: Option<String>,
        photo_url: Option<String>,
        /// Topic names or slugs.
        topics: Vec<String> => #[serde(default)] #[graphql(default)],
    }
}

line! {
    /// A new topic.
    #[derive(utoipa::ToSchema)]
    #[schema(as = TopicInput)]
    TopicLine as "CreateTopicInput", UpdateTopicInput("Changes to a topic.") {
        /// Default: the name's slug, with `-2`, `-3`... only if taken. A given
        /// slug that is taken is refused.
        #[schema(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 120)]
        slug,
        name: String => #[schema(min_length = 1, max_length = 100)],
    }
}

line! {
    /// A new article. Contributors' articles are drafts.
    // Also the import format's article, and what a mention becomes.
    #[derive(Default)]
    #[derive(utoipa::ToSchema)]
    #[schema(as = ArticleInput)]
    ArticleLine as "CreateArticleInput",
    UpdateArticleInput("Changes to an article: fields left out stay as they are, `null` clears them.") {
        /// Default: the title's slug, with `-2`, `-3`... only if taken. A given
        /// slug that is taken is refused.
        #[schema(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 120)]
        slug,
        title: String => #[schema(min_length = 1, max_length = 500)],
        url: Option<String>,
        /// Outlet name, alias or slug.
        outlet: Option<String>,
        /// Expert names, aliases or slugs, in order.
        experts: Vec<String> => #[serde(default)] #[graphql(default)] #[schema(max_items = 20)],
        authors: Vec<String> => #[serde(default)] #[graphql(default)] #[schema(max_items = 20)],
        /// A date (`2022-06-29`) or an RFC 3339 date-time.
        published_at: String => #[schema(examples("2022-06-29"))],
        /// `en` or `fr`.
        language: String => #[schema(value_type = Language)],
        summary: Option<String>,
        body: Option<String>,
        dateline: Option<String>,
        program: Option<String>,
        /// Topic names or slugs.
        topics: Vec<String> => #[serde(default)] #[graphql(default)],
        /// `draft`, `published` (default for editors) or `archived`.
        status: Option<String> => #[schema(value_type = Option<ArticleStatus>)],
        /// Hidden from the public until this time.
        publish_at: Option<String>,
    }
}

/// An article line that passed validation, its names resolved.
pub(crate) struct ValidArticle {
    pub slug: Option<Slug>,
    pub title: String,
    pub authors: Vec<String>,
    pub outlet_id: Option<i32>,
    pub program: Option<String>,
    pub published_at: DateTime<Utc>,
    pub language: Language,
    pub url: Option<SourceUrl>,
    pub summary: Option<String>,
    pub body: Option<String>,
    pub dateline: Option<String>,
    pub status: ArticleStatus,
    pub publish_at: Option<DateTime<Utc>>,
    pub expert_ids: Vec<i32>,
    pub topic_ids: Vec<i32>,
}

pub(crate) fn topic_refs(resolver: &Resolver, c: &mut Check, refs: &[String]) -> Vec<i32> {
    let mut ids = Vec::new();
    for r in refs {
        match resolver.topics.find(r) {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => {
                c.0.push(unknown("topics", "topic", r, resolver.topics.suggest(r)))
            }
        }
    }
    ids
}

/// Validates an article and resolves its outlet, experts and topics by slug,
/// name or alias. The one set of article rules, for imports and mentions alike.
pub(crate) fn validate_article(
    resolver: &Resolver,
    l: &ArticleLine,
) -> Result<ValidArticle, Vec<FieldError>> {
    let mut c = Check::default();
    let title = c.take(clean_text("title", &l.title, 500));
    let slug = opt_slug(&mut c, l.slug.as_deref());
    let authors = c.take(clean_list("authors", &l.authors, 20, 200));
    let outlet_id = match l.outlet.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(o) => match resolver.outlets.find(o) {
            Some(id) => Some(id),
            None => {
                c.0.push(unknown("outlet", "outlet", o, resolver.outlets.suggest(o)));
                None
            }
        },
    };
    let mut expert_ids = Vec::new();
    if l.experts.len() > MAX_EXPERTS {
        c.0.push(FieldError::new(
            "experts",
            format!(
                "at most {MAX_EXPERTS} experts allowed, got {}",
                l.experts.len()
            ),
        ));
    } else {
        for e in &l.experts {
            match resolver.experts.find(e) {
                Some(id) if !expert_ids.contains(&id) => expert_ids.push(id),
                Some(_) => {}
                None => {
                    c.0.push(unknown("experts", "expert", e, resolver.experts.suggest(e)))
                }
            }
        }
    }
    let topic_ids = topic_refs(resolver, &mut c, &l.topics);
    let program = c.take(clean_optional("program", l.program.as_deref(), 200));
    let published_at = c.parse("published_at", parse_timestamp(&l.published_at));
    let language = c.parse("language", l.language.parse::<Language>());
    let url = opt_url(&mut c, "url", l.url.as_deref());
    let summary = c.take(clean_optional("summary", l.summary.as_deref(), 5_000));
    let body = c.take(clean_optional("body", l.body.as_deref(), 200_000));
    let dateline = c.take(clean_optional("dateline", l.dateline.as_deref(), 100));
    let status = match l.status.as_deref() {
        None => Some(ArticleStatus::Published),
        Some(s) => c.parse("status", s.parse::<ArticleStatus>()),
    };
    let publish_at = l
        .publish_at
        .as_deref()
        .and_then(|s| c.parse("publish_at", parse_timestamp(s)));
    let (Some(published_at), Some(language), Some(status), true) =
        (published_at, language, status, c.0.is_empty())
    else {
        return Err(c.0);
    };
    Ok(ValidArticle {
        slug,
        title,
        authors,
        outlet_id,
        program,
        published_at,
        language,
        url,
        summary,
        body,
        dateline,
        status,
        publish_at,
        expert_ids,
        topic_ids,
    })
}

line! {
    /// A new event.
    #[derive(utoipa::ToSchema)]
    #[schema(as = EventInput)]
    EventLine as "CreateEventInput",
    UpdateEventInput("Changes to an event: fields left out stay as they are, `null` clears them.") {
        /// Default: the title's slug, with `-2`, `-3`... only if taken. A given
        /// slug that is taken is refused.
        #[schema(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 120)]
        slug,
        title: String => #[schema(min_length = 1, max_length = 300)],
        /// `conference`, `roundtable`, `webinar`, `briefing` or `other`.
        kind: String => #[schema(value_type = EventKind)],
        /// RFC 3339 date-time or a date.
        starts_at: String => #[schema(examples("2026-05-12T09:00:00-06:00"))],
        ends_at: Option<String>,
        /// IANA time zone of the venue, e.g. `America/Edmonton`.
        time_zone: Option<String>,
        venue: Option<String>,
        city: Option<String>,
        region: Option<String>,
        country: Option<String>,
        description: Option<String>,
        registration_url: Option<String>,
        /// The event will not take place (default `false`); it stays listed,
        /// marked as cancelled.
        cancelled: Option<bool>,
        /// `published` (default), `draft` or `archived`.
        status: Option<String> => #[schema(value_type = Option<ArticleStatus>)],
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SiteInput)]
pub struct SiteLine {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(min_length = 1, max_length = 300)]
    pub tagline_en: String,
    #[schema(min_length = 1, max_length = 300)]
    pub tagline_fr: String,
    /// The whole list (it replaces the current one).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub offices: Vec<Office>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub web: Option<String>,
    pub copyright: Option<String>,
    pub charity_registration: Option<String>,
}

/// Collects field errors while a line is validated.
#[derive(Default)]
pub(crate) struct Check(pub Vec<FieldError>);

impl Check {
    pub fn take<T: Default>(&mut self, r: Result<T, FieldError>) -> T {
        r.unwrap_or_else(|e| {
            self.0.push(e);
            T::default()
        })
    }
    pub fn parse<T>(&mut self, field: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(m) => {
                self.0.push(FieldError::new(field, m));
                None
            }
        }
    }
}

pub(crate) fn opt_slug(c: &mut Check, s: Option<&str>) -> Option<Slug> {
    s.and_then(|s| c.parse("slug", Slug::parse(s)))
}

pub(crate) fn opt_url(c: &mut Check, field: &str, s: Option<&str>) -> Option<SourceUrl> {
    match s.map(str::trim) {
        None | Some("") => None,
        Some(u) => c.parse(field, SourceUrl::parse(u)),
    }
}

pub(crate) fn unknown(field: &str, what: &str, name: &str, suggestions: Vec<String>) -> FieldError {
    let mut msg = format!("unknown {what} {name:?}");
    if !suggestions.is_empty() {
        msg.push_str(&format!(
            " (did you mean {}?)",
            suggestions
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    FieldError::new(field, msg)
}

/// An outlet line's values, checked, its parent resolved (id, version and
/// timestamps are left to the caller).
pub(crate) fn validate_outlet(
    resolver: &Resolver,
    l: &OutletLine,
) -> Result<outlet::ActiveModel, Vec<FieldError>> {
    let mut c = Check::default();
    let name = c.take(clean_text("name", &l.name, 200));
    let slug = opt_slug(&mut c, l.slug.as_deref()).unwrap_or_else(|| Slug::from_text(&name));
    let kind = match l.kind.as_deref() {
        None => Some(OutletKind::Other),
        Some(k) => c.parse("kind", k.parse::<OutletKind>()),
    };
    let parent = match l.parent.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => match resolver.outlets.find(p) {
            Some(id) => Some(id),
            None => {
                c.0.push(unknown("parent", "outlet", p, resolver.outlets.suggest(p)));
                None
            }
        },
    };
    let website = opt_url(&mut c, "website", l.website.as_deref());
    let country = c.take(clean_optional("country", l.country.as_deref(), 64));
    let language = match l.language.as_deref() {
        None => None,
        Some(x) => c.parse("language", x.parse::<Language>()),
    };
    let aliases = c.take(clean_list("aliases", &l.aliases, 20, 200));
    if !c.0.is_empty() {
        return Err(c.0);
    }
    let key = search_key(std::iter::once(name.as_str()).chain(aliases.iter().map(String::as_str)));
    Ok(outlet::ActiveModel {
        id: NotSet,
        slug: Set(slug.into_string()),
        name: Set(name),
        kind: Set(kind.unwrap_or(OutletKind::Other).as_str().into()),
        parent_id: Set(parent),
        website: Set(website.map(|u| u.as_str().to_owned())),
        country: Set(country),
        language: Set(language.map(|x| x.as_str().to_owned())),
        aliases: Set(serde_json::json!(aliases)),
        search_key: Set(key),
        version: NotSet,
        created_at: NotSet,
        updated_at: NotSet,
    })
}

/// An expert line's values, checked, and the ids of its topics.
pub(crate) fn validate_expert(
    resolver: &Resolver,
    l: &ExpertLine,
) -> Result<(expert::ActiveModel, Vec<i32>), Vec<FieldError>> {
    let mut c = Check::default();
    let name = c.take(clean_text("name", &l.name, 200));
    let slug = opt_slug(&mut c, l.slug.as_deref()).unwrap_or_else(|| Slug::from_text(&name));
    let aliases = c.take(clean_list("aliases", &l.aliases, 20, 200));
    let title = c.take(clean_optional("title", l.title.as_deref(), 300));
    let affiliation = c.take(clean_optional("affiliation", l.affiliation.as_deref(), 300));
    let bio_en = c.take(clean_optional("bio_en", l.bio_en.as_deref(), 20_000));
    let bio_fr = c.take(clean_optional("bio_fr", l.bio_fr.as_deref(), 20_000));
    let photo = opt_url(&mut c, "photo_url", l.photo_url.as_deref());
    let topic_ids = topic_refs(resolver, &mut c, &l.topics);
    if !c.0.is_empty() {
        return Err(c.0);
    }
    let key = search_key(std::iter::once(name.as_str()).chain(aliases.iter().map(String::as_str)));
    let am = expert::ActiveModel {
        id: NotSet,
        slug: Set(slug.into_string()),
        name: Set(name),
        aliases: Set(serde_json::json!(aliases)),
        search_key: Set(key),
        title: Set(title),
        affiliation: Set(affiliation),
        bio_en: Set(bio_en),
        bio_fr: Set(bio_fr),
        photo_url: Set(photo.map(|u| u.as_str().to_owned())),
        version: NotSet,
        created_at: NotSet,
        updated_at: NotSet,
    };
    Ok((am, topic_ids))
}

pub(crate) fn validate_topic(l: &TopicLine) -> Result<topic::ActiveModel, Vec<FieldError>> {
    let mut c = Check::default();
    let name = c.take(clean_text("name", &l.name, 100));
    let slug = opt_slug(&mut c, l.slug.as_deref()).unwrap_or_else(|| Slug::from_text(&name));
    if !c.0.is_empty() {
        return Err(c.0);
    }
    Ok(topic::ActiveModel {
        id: NotSet,
        slug: Set(slug.into_string()),
        name: Set(name),
        version: NotSet,
        created_at: NotSet,
        updated_at: NotSet,
    })
}

/// An event line's values, checked; without a slug it gets its title's (made
/// unique by `services::slugs` when it is stored).
pub(crate) fn validate_event(l: &EventLine) -> Result<event::ActiveModel, Vec<FieldError>> {
    let mut c = Check::default();
    let title = c.take(clean_text("title", &l.title, 300));
    let slug = opt_slug(&mut c, l.slug.as_deref());
    let kind = c.parse("kind", l.kind.parse::<EventKind>());
    let starts_at = c.parse("starts_at", parse_timestamp(&l.starts_at));
    let ends_at = l
        .ends_at
        .as_deref()
        .and_then(|s| c.parse("ends_at", parse_timestamp(s)));
    if let (Some(s), Some(e)) = (starts_at, ends_at)
        && e < s
    {
        c.0.push(FieldError::new("ends_at", "must not be before starts_at"));
    }
    let time_zone = c.take(clean_optional("time_zone", l.time_zone.as_deref(), 64));
    let venue = c.take(clean_optional("venue", l.venue.as_deref(), 300));
    let city = c.take(clean_optional("city", l.city.as_deref(), 100));
    let region = c.take(clean_optional("region", l.region.as_deref(), 100));
    let country = c.take(clean_optional("country", l.country.as_deref(), 64));
    let description = c.take(clean_optional(
        "description",
        l.description.as_deref(),
        20_000,
    ));
    let registration = opt_url(&mut c, "registration_url", l.registration_url.as_deref());
    let status = match l.status.as_deref() {
        None => Some(ArticleStatus::Published),
        Some(s) => c.parse("status", s.parse::<ArticleStatus>()),
    };
    let (Some(kind), Some(starts_at), Some(status), true) =
        (kind, starts_at, status, c.0.is_empty())
    else {
        return Err(c.0);
    };
    let slug = slug.unwrap_or_else(|| Slug::from_text(&title));
    let key = search_key(
        [Some(title.as_str()), venue.as_deref(), city.as_deref()]
            .into_iter()
            .flatten(),
    );
    Ok(event::ActiveModel {
        id: NotSet,
        slug: Set(slug.into_string()),
        title: Set(title),
        kind: Set(kind.as_str().into()),
        starts_at: Set(starts_at),
        ends_at: Set(ends_at),
        time_zone: Set(time_zone),
        venue: Set(venue),
        city: Set(city),
        region: Set(region),
        country: Set(country),
        description: Set(description),
        registration_url: Set(registration.map(|u| u.as_str().to_owned())),
        cancelled: Set(l.cancelled.unwrap_or(false)),
        search_key: Set(key),
        status: Set(status.as_str().into()),
        version: NotSet,
        created_at: NotSet,
        updated_at: NotSet,
    })
}

/// The site settings, checked.
pub(crate) fn validate_site(l: &SiteLine) -> Result<site::ActiveModel, Vec<FieldError>> {
    let mut c = Check::default();
    let name = c.take(clean_text("name", &l.name, 200));
    let tagline_en = c.take(clean_text("tagline_en", &l.tagline_en, 300));
    let tagline_fr = c.take(clean_text("tagline_fr", &l.tagline_fr, 300));
    let phone = c.take(clean_optional("phone", l.phone.as_deref(), 64));
    let email = c.take(clean_optional("email", l.email.as_deref(), 200));
    let web = c.take(clean_optional("web", l.web.as_deref(), 300));
    let copyright = c.take(clean_optional("copyright", l.copyright.as_deref(), 300));
    let charity = c.take(clean_optional(
        "charity_registration",
        l.charity_registration.as_deref(),
        64,
    ));
    if l.offices.len() > 20 {
        c.0.push(FieldError::new("offices", "at most 20 offices"));
    }
    let offices: Vec<Office> = l
        .offices
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let at = |f: &str| format!("offices[{i}].{f}");
            Office {
                label: c.take(clean_text(&at("label"), &o.label, 100)),
                street: c.take(clean_list(&at("street"), &o.street, 6, 200)),
                city: c.take(clean_text(&at("city"), &o.city, 100)),
                region: c.take(clean_optional(&at("region"), o.region.as_deref(), 100)),
                postal_code: c.take(clean_optional(
                    &at("postal_code"),
                    o.postal_code.as_deref(),
                    32,
                )),
                country: c.take(clean_text(&at("country"), &o.country, 100)),
            }
        })
        .collect();
    if !c.0.is_empty() {
        return Err(c.0);
    }
    Ok(site::ActiveModel {
        id: Set(1),
        name: Set(name),
        tagline_en: Set(tagline_en),
        tagline_fr: Set(tagline_fr),
        offices: Set(serde_json::json!(offices)),
        phone: Set(phone),
        email: Set(email),
        web: Set(web),
        copyright: Set(copyright),
        charity_registration: Set(charity),
        version: NotSet,
        updated_at: NotSet,
    })
}

/// The value a validator set (the default for one it left unset).
pub(crate) fn value_of<T>(v: &sea_orm::ActiveValue<T>) -> T
where
    T: Clone + Default + Into<sea_orm::Value>,
{
    v.try_as_ref().cloned().unwrap_or_default()
}
