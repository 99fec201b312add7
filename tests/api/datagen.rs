//! A small deterministic generator of import files (the `mediadesk import`
//! NDJSON format), so the tests need nothing beside the repository: outlets
//! (some under a parent, some with aliases), experts (some with aliases),
//! topics, then articles (bylines, experts, outlet, topics, language, source
//! URL) and events. The same seed and sizes always give the same file.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

/// SplitMix64: tiny, seedable, good enough to spread test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// `k` distinct indexes below `n`.
    fn distinct(&mut self, k: usize, n: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(k);
        while out.len() < k.min(n) {
            let i = self.below(n);
            if !out.contains(&i) {
                out.push(i);
            }
        }
        out
    }
}

/// A slug the server accepts: lowercase ASCII letters, digits and dashes.
fn slugify(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = match c {
            'é' | 'è' | 'ê' | 'É' => 'e',
            'à' | 'â' => 'a',
            'ç' => 'c',
            'ô' => 'o',
            'î' => 'i',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => '-',
        };
        if c != '-' || !out.ends_with('-') {
            out.push(c);
        }
    }
    out.trim_matches('-').to_owned()
}

/// (name, kind, parent slug, language, aliases): the fixed outlets, parents first.
type Outlet = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static [&'static str],
);
const OUTLETS: &[Outlet] = &[
    (
        "CBC",
        "tv",
        None,
        "en",
        &["Canadian Broadcasting Corporation"],
    ),
    ("CBC News", "tv", Some("cbc"), "en", &[]),
    ("CBC Radio", "radio", Some("cbc"), "en", &["CBC Radio One"]),
    (
        "Radio-Canada",
        "tv",
        Some("cbc"),
        "fr",
        &["ICI Radio-Canada"],
    ),
    ("Postmedia", "newspaper", None, "en", &[]),
    // Last by name, so a page of outlets by name shows its children without it.
    ("Zed Media Group", "other", None, "en", &[]),
    (
        "National Post",
        "newspaper",
        Some("postmedia"),
        "en",
        &["NatPost"],
    ),
    ("Le Devoir", "newspaper", None, "fr", &[]),
    (
        "The Globe and Mail",
        "newspaper",
        None,
        "en",
        &["Globe and Mail"],
    ),
    (
        "The Canadian Press",
        "wire",
        None,
        "en",
        &["CP", "La Presse canadienne"],
    ),
    ("Reuters", "wire", None, "en", &[]),
    ("Maclean's", "magazine", None, "en", &[]),
    ("L'actualité", "magazine", None, "fr", &[]),
];
const PLACES: &[&str] = &[
    "Northern", "Prairie", "Coastal", "Capital", "Frontier", "Harbour", "Maple", "Summit",
];
const MASTHEADS: &[(&str, &str)] = &[
    ("Herald", "newspaper"),
    ("Observer", "newspaper"),
    ("Review", "magazine"),
    ("Radio", "radio"),
    ("Today", "tv"),
    ("Online", "online"),
    ("Podcast", "podcast"),
    ("Wire", "wire"),
];
const FIRST: &[&str] = &[
    "Anne", "Benoît", "Chloé", "David", "Élise", "Farid", "Grace", "Hugo", "Irene", "Jacques",
    "Karen", "Louis", "Maya", "Nadia", "Omar", "Priya",
];
const LAST: &[&str] = &[
    "Tremblay", "Nguyen", "MacLeod", "Gagnon", "Singh", "Roy", "Campbell", "Côté",
];
const TOPICS: &[&str] = &[
    "Arctic sovereignty",
    "Defence",
    "NATO",
    "Russia",
    "Ukraine",
    "Trade",
    "Tariffs",
    "China",
    "Energy",
    "Oil and gas",
    "Climate change",
    "Elections",
    "Immigration",
    "Housing",
    "Inflation",
    "Cybersecurity",
    "Space",
    "Foreign policy",
    "Human rights",
    "Shipping",
];
const SUBJECTS: &[&str] = &[
    "Ottawa",
    "Alberta",
    "Quebec",
    "The Bank of Canada",
    "NATO allies",
    "Washington",
    "The provinces",
    "Industry groups",
];
const VERBS: &[&str] = &[
    "weighs",
    "braces for",
    "pushes back on",
    "rethinks",
    "doubles down on",
    "signals shift on",
];
const ISSUES: &[&str] = &[
    "Arctic defence",
    "oil prices",
    "the defence budget",
    "supply chains",
    "interest rates",
    "fighter jet procurement",
    "critical minerals",
    "wildfire season",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("Ottawa", "Ontario", "CA"),
    ("Calgary", "Alberta", "CA"),
    ("Montréal", "Quebec", "CA"),
    ("Halifax", "Nova Scotia", "CA"),
    ("Brussels", "Brussels-Capital", "BE"),
];
const EVENT_KINDS: &[&str] = &["conference", "roundtable", "webinar", "briefing", "other"];

fn when(rng: &mut Rng, from_year: i32, years: i64) -> DateTime<Utc> {
    let start = Utc.with_ymd_and_hms(from_year, 1, 1, 0, 0, 0).unwrap();
    start + Duration::minutes(rng.below((years * 365 * 24 * 60) as usize) as i64)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The lines of an import file: outlets, experts, topics, `articles` articles
/// (published between 2010 and 2025) and `events` events.
pub fn lines(seed: u64, articles: usize, events: usize) -> Vec<Value> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();

    // Outlets: (slug, name, language).
    let mut outlets: Vec<(String, String, String)> = Vec::new();
    for (name, kind, parent, lang, aliases) in OUTLETS {
        let slug = slugify(name);
        out.push(
            json!({ "type": "outlet", "slug": slug, "name": name, "kind": kind,
                         "parent": parent, "website": format!("https://www.{}.example", slug),
                         "country": "CA", "language": lang, "aliases": aliases }),
        );
        outlets.push((slug, (*name).to_owned(), (*lang).to_owned()));
    }
    for (i, place) in PLACES.iter().enumerate() {
        for (j, (masthead, kind)) in MASTHEADS.iter().enumerate() {
            let name = format!("{place} {masthead}");
            let slug = slugify(&name);
            let parent = (j % 2 == 0).then_some(if i % 2 == 0 {
                "zed-media-group"
            } else {
                "postmedia"
            });
            let aliases: Vec<String> = if j % 3 == 0 {
                vec![format!("The {name}")]
            } else {
                vec![]
            };
            let lang = if (i * 8 + j) % 7 == 0 { "fr" } else { "en" };
            out.push(
                json!({ "type": "outlet", "slug": slug, "name": name, "kind": kind,
                             "parent": parent, "website": format!("https://{slug}.example"),
                             "country": "CA", "language": lang, "aliases": aliases }),
            );
            outlets.push((slug, name, lang.to_owned()));
        }
    }

    // Topics, before the experts that name them.
    let topics: Vec<String> = TOPICS.iter().map(|t| slugify(t)).collect();
    for (t, slug) in TOPICS.iter().zip(&topics) {
        out.push(json!({ "type": "topic", "slug": slug, "name": t }));
    }

    // Experts: every first name with every last name, some with a middle initial as alias.
    let mut experts: Vec<String> = Vec::new();
    for (i, last) in LAST.iter().enumerate() {
        for (j, first) in FIRST.iter().enumerate() {
            let name = format!("{first} {last}");
            let slug = slugify(&name);
            let aliases: Vec<String> = if (i + j) % 3 == 0 {
                vec![format!(
                    "{first} {}. {last}",
                    (b'A' + ((i * 7 + j) % 26) as u8) as char
                )]
            } else {
                vec![]
            };
            let ts: Vec<&String> = rng
                .distinct(1 + (i + j) % 2, topics.len())
                .into_iter()
                .map(|k| &topics[k])
                .collect();
            out.push(
                json!({ "type": "expert", "slug": slug, "name": name, "aliases": aliases,
                             "title": "Fellow", "affiliation": "Institute for Test Data",
                             "bio": format!("{name} studies {}.", rng.pick(ISSUES)),
                             "topics": ts }),
            );
            experts.push(slug);
        }
    }

    // Articles cite the outlets themselves, not the groups above them.
    let groups: Vec<&str> = out.iter().filter_map(|l| l["parent"].as_str()).collect();
    outlets.retain(|(slug, _, _)| !groups.contains(&slug.as_str()));
    for i in 0..articles {
        let (outlet, outlet_name, outlet_lang) = rng.pick(&outlets).clone();
        let title = format!(
            "{} {} {}",
            rng.pick(SUBJECTS),
            rng.pick(VERBS),
            rng.pick(ISSUES)
        );
        let slug = format!("{}-{i}", slugify(&title));
        let at = when(&mut rng, 2010, 16);
        // Mostly two or three experts, so an expert's latest mention names others.
        let n_experts = if rng.below(10) == 0 {
            1
        } else {
            2 + rng.below(2)
        };
        let ex: Vec<&String> = rng
            .distinct(n_experts, experts.len())
            .into_iter()
            .map(|k| &experts[k])
            .collect();
        let authors: Vec<String> = (0..1 + rng.below(2))
            .map(|_| format!("{} {}", rng.pick(FIRST), rng.pick(LAST)))
            .collect();
        let n_topics = rng.below(3);
        let ts: Vec<&String> = rng
            .distinct(n_topics, topics.len())
            .into_iter()
            .map(|k| &topics[k])
            .collect();
        let language = if outlet_lang == "fr" || rng.below(10) == 0 {
            "fr"
        } else {
            "en"
        };
        let url = format!("https://{outlet}.example/{}/{slug}", at.format("%Y/%m/%d"));
        out.push(json!({
            "type": "article", "slug": slug, "title": title, "authors": authors,
            "experts": ex, "outlet": outlet,
            "program": (i % 4 == 0).then(|| format!("{outlet_name} Tonight")),
            "published_at": rfc3339(at), "language": language, "url": url,
            "summary": format!("{title}, say {} experts.", ex.len()),
            "body": (i % 3 == 0).then(|| format!("{title}.\n\nMore on {}.", rng.pick(ISSUES))),
            "topics": ts,
        }));
    }

    for i in 0..events {
        let issue = rng.pick(ISSUES);
        let title = format!("Roundtable on {issue}");
        let slug = format!("{}-{i}", slugify(&title));
        let starts = when(&mut rng, 2018, 10);
        let (city, region, country) = rng.pick(CITIES);
        out.push(json!({
            "type": "event", "slug": slug, "title": title, "kind": rng.pick(EVENT_KINDS),
            "starts_at": rfc3339(starts), "ends_at": rfc3339(starts + Duration::hours(2)),
            "venue": format!("{city} Convention Centre"), "city": city, "region": region,
            "country": country, "description": format!("Experts discuss {issue}."),
            "registration_url": format!("https://events.example/{slug}"),
        }));
    }
    out
}

/// Writes [`lines`] to `path`, one JSON object a line.
pub fn write(path: &Path, seed: u64, articles: usize, events: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create data file"));
    for l in lines(seed, articles, events) {
        writeln!(f, "{l}").expect("write data file");
    }
    f.flush().expect("flush data file");
}
