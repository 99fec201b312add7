//! A deterministic generator of realistic data sets in the import format: what
//! `mediadesk generate` writes, what the benchmarks import and what the tests use.
//!
//! The shape follows the benchmark data of the shared harness: about 200 outlets
//! (wires, broadcasters with programmes, newspapers; a few media groups with the
//! outlets under them; some aliases), 50 topics, 500 experts (aliases such as
//! nicknames, middle initials or unaccented spellings; titles, affiliations, bios and
//! topics), then the articles and the events. Articles are spread from 2002 to mid
//! 2026 with a density that triples over the years, written in date order (a tenth
//! back-dated by up to a month), mostly in business hours; 9 % of an English outlet's
//! articles are in French and 75 % of a French one's (about a fifth in all). Experts are cited with Zipf-like popularity (so one has
//! thousands of articles at 100,000), mostly through the topics they work on; titles,
//! summaries and one body in ten are sentences built from each topic's phrases, so a
//! query such as "oil prices" matches a realistic share. Events run from 2016 to
//! 2027, so some are past and some still to come.
//!
//! Everything but the articles depends on the seed only, so every size has the same
//! outlets, experts and events; the articles depend on the seed and their number.
//! Memory stays flat whatever the size: articles are produced one at a time, in date
//! order, without ever holding the list. Presentation-free: the CLI and the tests
//! call [`generate`].

use std::collections::HashSet;
use std::io::{self, Write};

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use crate::domain::{Slug, name_key};

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub seed: u64,
    pub articles: u64,
    pub events: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seed: 42,
            articles: 100_000,
            events: 2_000,
        }
    }
}

/// Counts of what was written, and the benchmark parameters picked from the data
/// (the names of the shared harness's params file, so the bench scripts read
/// either generator's file).
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    pub seed: u64,
    pub articles: u64,
    pub events: u64,
    pub outlets: usize,
    pub experts: usize,
    pub topics: usize,
    /// W2: an article with a body and several experts, among the newest tenth.
    pub w2_article_slug: Option<String>,
    /// W3: the most cited expert, and a date window holding most of their articles.
    pub w3_expert_slug: String,
    pub w3_from: String,
    pub w3_to: String,
    pub w3_page_size: u32,
    pub w3_pages_skipped: u32,
    pub w3_matching_articles: u64,
    /// W4: a full-text query and how many English articles mention both words.
    pub w4_query: String,
    pub w4_approx_matching_articles: u64,
    /// W5: upcoming events from this date.
    pub w5_after: String,
    /// The most cited outlet, and the media group with the most outlets under it.
    pub outlet_slug: String,
    pub outlet_group_slug: String,
    /// The most used topic.
    pub topic_slug: String,
}

/// Writes the data set as NDJSON (one object a line: outlets, topics, experts,
/// articles, events) and returns its parameters. The same options always give
/// the same bytes.
pub fn generate(opts: Options, out: &mut impl Write) -> io::Result<Params> {
    let cast = Cast::new(opts.seed);
    let mut w = Lines(out);
    for o in &cast.outlets {
        w.put(&OutletOut {
            kind_: "outlet",
            slug: &o.slug,
            name: &o.name,
            kind: o.kind,
            parent: o.parent.map(|p| cast.outlets[p].slug.as_str()),
            website: &o.website,
            country: o.country,
            language: o.language,
            aliases: &o.aliases,
        })?;
    }
    for t in TOPICS {
        w.put(&TopicOut {
            kind_: "topic",
            slug: t.slug,
            name: t.name,
        })?;
    }
    for e in &cast.experts {
        let topics: Vec<&str> = e.topics.iter().map(|&t| TOPICS[t].slug).collect();
        w.put(&ExpertOut {
            kind_: "expert",
            slug: &e.slug,
            name: &e.name,
            aliases: &e.aliases,
            title: &e.title,
            affiliation: &e.affiliation,
            bio: &e.bio,
            topics,
        })?;
    }
    let mut params = write_articles(&cast, opts, &mut w)?;
    write_events(&cast, opts, &mut w)?;
    params.events = opts.events;
    Ok(params)
}

/// Writes the data set to `path` (see [`generate`]).
pub fn write_file(path: &std::path::Path, opts: Options) -> io::Result<Params> {
    let mut f = io::BufWriter::with_capacity(1 << 16, std::fs::File::create(path)?);
    let p = generate(opts, &mut f)?;
    f.flush()?;
    Ok(p)
}

struct Lines<'a, W: Write>(&'a mut W);

impl<W: Write> Lines<'_, W> {
    fn put(&mut self, line: &impl Serialize) -> io::Result<()> {
        serde_json::to_writer(&mut *self.0, line)?;
        self.0.write_all(b"\n")
    }
}

// ---------------------------------------------------------------------------
// Randomness: SplitMix64, one independent stream per part of the data set.

struct Rng(u64);

impl Rng {
    fn stream(seed: u64, part: u64) -> Self {
        let mut r = Rng(seed ^ part.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Uniform below `n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn word(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len())]
    }
    /// An index drawn with the given integer weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(total as usize) as u32;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
    /// Normal deviate (Box-Muller).
    fn gauss(&mut self, mean: f64, sd: f64) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Draws indexes in proportion to real weights (binary search over running sums).
struct Weights(Vec<f64>);

impl Weights {
    fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut acc = 0.0;
        Self(
            weights
                .into_iter()
                .map(|w| {
                    acc += w;
                    acc
                })
                .collect(),
        )
    }
    fn draw(&self, rng: &mut Rng) -> usize {
        let total = self.0.last().copied().unwrap_or(0.0);
        let x = rng.unit() * total;
        self.0.partition_point(|&c| c <= x).min(self.0.len() - 1)
    }
}

/// `n` uniform numbers in [0, 1), drawn one at a time in ascending order (each the
/// smallest of the ones left), so sorted times need no list.
struct Ascending {
    left: u64,
    last: f64,
}

impl Ascending {
    fn new(n: u64) -> Self {
        Self { left: n, last: 0.0 }
    }
    fn next(&mut self, rng: &mut Rng) -> f64 {
        let v = 1.0 - rng.unit();
        let step = 1.0 - v.powf(1.0 / self.left.max(1) as f64);
        self.left = self.left.saturating_sub(1);
        self.last += (1.0 - self.last) * step;
        self.last.min(1.0 - f64::EPSILON)
    }
}

fn epoch(y: i32, m: u32, d: u32) -> i64 {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .map_or(0, |t| t.timestamp())
}

fn iso(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn slug(text: &str) -> String {
    Slug::from_text(text).into_string()
}

/// `slug(text)` cut to `max` bytes (on a dash-free end), then `-suffix`.
fn slug_with(text: &str, max: usize, suffix: &str) -> String {
    let mut s = slug(text);
    s.truncate(max);
    while s.ends_with('-') {
        s.pop();
    }
    format!("{s}-{suffix}")
}

fn base36(mut n: u64) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(digits[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// The cast: outlets, experts (seed only).

struct Outlet {
    slug: String,
    name: String,
    kind: &'static str,
    parent: Option<usize>,
    website: String,
    country: &'static str,
    language: &'static str,
    aliases: Vec<String>,
    programs: Vec<String>,
    staff: Vec<String>,
    /// A media group: the outlets under it are cited, never the group itself.
    group: bool,
}

struct Expert {
    slug: String,
    name: String,
    aliases: Vec<String>,
    title: String,
    affiliation: String,
    bio: String,
    topics: Vec<usize>,
}

struct Cast {
    outlets: Vec<Outlet>,
    experts: Vec<Expert>,
    /// Experts from most to least cited.
    popularity: Vec<usize>,
    /// Per topic, the experts working on it and their weights.
    topic_experts: Vec<(Vec<usize>, Weights)>,
    all_experts: Weights,
    /// Outlets that articles cite, and their weights.
    cited: Vec<usize>,
    cited_weights: Weights,
    topic_weights: Weights,
}

const OUTLETS: u64 = 200;
const EXPERTS: usize = 500;

impl Cast {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::stream(seed, 1);
        let outlets = make_outlets(&mut rng);
        let experts = make_experts(&mut rng);

        let mut popularity: Vec<usize> = (0..experts.len()).collect();
        rng.shuffle(&mut popularity);
        let mut pop = vec![0.0; experts.len()];
        for (rank, &e) in popularity.iter().enumerate() {
            pop[e] = 1.0 / ((rank + 1) as f64).powf(0.8);
        }
        let topic_experts = (0..TOPICS.len())
            .map(|t| {
                let mut members: Vec<usize> = (0..experts.len())
                    .filter(|&e| experts[e].topics.contains(&t))
                    .collect();
                if members.is_empty() {
                    members = (0..experts.len()).collect();
                }
                let w = Weights::new(members.iter().map(|&e| pop[e]));
                (members, w)
            })
            .collect();
        let all_experts = Weights::new(pop.iter().copied());

        let cited: Vec<usize> = (0..outlets.len()).filter(|&o| !outlets[o].group).collect();
        let cited_weights = Weights::new((0..cited.len()).map(|k| 1.0 / (k as f64 + 4.0)));

        // A few big topics, and the ones the benchmark queries are about among them.
        let mut tw: Vec<f64> = (0..TOPICS.len()).map(|k| 1.0 / (k as f64 + 3.0)).collect();
        rng.shuffle(&mut tw);
        for (i, t) in TOPICS.iter().enumerate() {
            if BIG_TOPICS.contains(&t.slug) {
                tw[i] = tw[i].max(0.07);
            }
        }
        Self {
            outlets,
            experts,
            popularity,
            topic_experts,
            all_experts,
            cited,
            cited_weights,
            topic_weights: Weights::new(tw),
        }
    }
}

/// Fixed outlets: (name, kind, country, language, aliases, group index in `GROUPS`).
type FixedOutlet = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    Option<usize>,
);

/// Media groups, written first: (name, kind, language, aliases).
const GROUPS: &[(&str, &str, &str, &[&str])] = &[
    (
        "CBC/Radio-Canada",
        "tv",
        "en",
        &["Canadian Broadcasting Corporation", "Société Radio-Canada"],
    ),
    ("Postmedia Network", "newspaper", "en", &["Postmedia"]),
    ("Bell Media", "other", "en", &[]),
    ("Québecor Média", "other", "fr", &["Quebecor Media"]),
    ("Torstar", "newspaper", "en", &[]),
];

const FIXED_OUTLETS: &[FixedOutlet] = &[
    (
        "The Canadian Press",
        "wire",
        "CA",
        "en",
        &["CP", "La Presse canadienne"],
        None,
    ),
    ("Reuters", "wire", "GB", "en", &[], None),
    ("Associated Press", "wire", "US", "en", &["AP"], None),
    ("Agence France-Presse", "wire", "FR", "fr", &["AFP"], None),
    ("Bloomberg", "wire", "US", "en", &["Bloomberg News"], None),
    ("CBC News", "tv", "CA", "en", &[], Some(0)),
    (
        "CBC Radio",
        "radio",
        "CA",
        "en",
        &["CBC Radio One"],
        Some(0),
    ),
    (
        "Radio-Canada",
        "tv",
        "CA",
        "fr",
        &["ICI Radio-Canada"],
        Some(0),
    ),
    ("CTV News", "tv", "CA", "en", &[], Some(2)),
    ("Global News", "tv", "CA", "en", &[], None),
    ("TVA Nouvelles", "tv", "CA", "fr", &[], Some(3)),
    (
        "Le Journal de Montréal",
        "newspaper",
        "CA",
        "fr",
        &[],
        Some(3),
    ),
    ("Le Devoir", "newspaper", "CA", "fr", &[], None),
    ("La Presse", "newspaper", "CA", "fr", &[], None),
    (
        "The Globe and Mail",
        "newspaper",
        "CA",
        "en",
        &["Globe and Mail"],
        None,
    ),
    (
        "National Post",
        "newspaper",
        "CA",
        "en",
        &["NatPost"],
        Some(1),
    ),
    (
        "Toronto Star",
        "newspaper",
        "CA",
        "en",
        &["The Star"],
        Some(4),
    ),
    ("Maclean's", "magazine", "CA", "en", &[], None),
    ("L'actualité", "magazine", "CA", "fr", &[], None),
    ("The Hill Times", "newspaper", "CA", "en", &[], None),
    ("iPolitics", "online", "CA", "en", &[], None),
];

const OUTLET_KINDS: &[(&str, u32)] = &[
    ("newspaper", 35),
    ("tv", 12),
    ("radio", 14),
    ("wire", 2),
    ("online", 20),
    ("magazine", 9),
    ("podcast", 8),
];

/// An outlet before it is added: what the fixed lists or a draw give.
struct OutletSpec {
    name: String,
    kind: &'static str,
    country: &'static str,
    language: &'static str,
    aliases: Vec<String>,
    parent: Option<usize>,
    group: bool,
}

/// The outlets so far, with the names (and aliases) and slugs they have taken.
#[derive(Default)]
struct OutletBook {
    out: Vec<Outlet>,
    names: HashSet<String>,
    slugs: HashSet<String>,
}

impl OutletBook {
    /// Adds an outlet unless its name is taken; drops aliases already taken.
    fn add(&mut self, rng: &mut Rng, spec: OutletSpec) {
        let OutletSpec {
            name,
            kind,
            country,
            language,
            aliases,
            parent,
            group,
        } = spec;
        if !self.names.insert(name_key(&name)) {
            return;
        }
        let aliases: Vec<String> = aliases
            .into_iter()
            .filter(|a| self.names.insert(name_key(a)))
            .collect();
        let s = self.unique_slug(&name);
        let tld = if country == "CA" { "ca" } else { "com" };
        let website = format!("https://www.{}.{tld}", s.replace('-', ""));
        let programs = draw_programs(rng, &name, kind, group);
        let staff = draw_staff(rng, kind);
        self.out.push(Outlet {
            slug: s,
            name,
            kind,
            parent,
            website,
            country,
            language,
            aliases,
            programs,
            staff,
            group,
        });
    }

    /// The name's slug, with `-2`, `-3`… when an earlier outlet has it.
    fn unique_slug(&mut self, name: &str) -> String {
        let mut s = slug(name);
        let mut n = 2;
        while !self.slugs.insert(s.clone()) {
            s = format!("{}-{n}", slug(name));
            n += 1;
        }
        s
    }
}

/// A broadcaster's or podcast's programmes (1 to 3, sorted); none for others.
fn draw_programs(rng: &mut Rng, name: &str, kind: &str, group: bool) -> Vec<String> {
    let mut programs = Vec::new();
    if matches!(kind, "tv" | "radio" | "podcast") && !group {
        for _ in 0..rng.between(1, 4) {
            let p = if rng.chance(0.4) {
                (*rng.pick(KNOWN_PROGRAMS)).to_owned()
            } else {
                format!("{name} {}", rng.pick(PROGRAM_SUFFIXES))
            };
            if !programs.contains(&p) {
                programs.push(p);
            }
        }
        programs.sort();
    }
    programs
}

/// The reporters who sign an outlet's pieces (a few wires have only three).
fn draw_staff(rng: &mut Rng, kind: &str) -> Vec<String> {
    let reporters = if kind == "wire" && rng.chance(0.2) {
        3
    } else {
        rng.between(5, 60)
    };
    (0..reporters)
        .map(|_| format!("{} {}", rng.pick(FIRST), rng.pick(LAST)))
        .collect()
}

fn make_outlets(rng: &mut Rng) -> Vec<Outlet> {
    let mut book = OutletBook::default();
    let owned = |aliases: &[&str]| aliases.iter().map(|a| (*a).to_owned()).collect();
    for (name, kind, language, aliases) in GROUPS {
        let spec = OutletSpec {
            name: (*name).to_owned(),
            kind,
            country: "CA",
            language,
            aliases: owned(aliases),
            parent: None,
            group: true,
        };
        book.add(rng, spec);
    }
    for (name, kind, country, language, aliases, parent) in FIXED_OUTLETS {
        let spec = OutletSpec {
            name: (*name).to_owned(),
            kind,
            country,
            language,
            aliases: owned(aliases),
            parent: *parent,
            group: false,
        };
        book.add(rng, spec);
    }
    while (book.out.len() as u64) < OUTLETS {
        let spec = draw_outlet(rng);
        book.add(rng, spec);
    }
    book.out
}

/// A made-up outlet: a kind by weight, a city, a language that fits the place,
/// and a name (and sometimes a parent group) that fits the kind.
fn draw_outlet(rng: &mut Rng) -> OutletSpec {
    let kind = OUTLET_KINDS[rng.weighted(&OUTLET_KINDS.iter().map(|k| k.1).collect::<Vec<_>>())].0;
    let (city, _, country) = *rng.pick(CITIES);
    let french_place = country == "FR" || city == "Montréal" || city == "Québec";
    let language = if french_place && rng.chance(0.8) {
        "fr"
    } else {
        "en"
    };
    let word = *rng.pick(WORDS);
    let (name, aliases, mut parent) = draw_outlet_name(rng, kind, word, city, country, language);
    if language == "fr" && parent.is_some() {
        parent = Some(3);
    }
    OutletSpec {
        name,
        kind,
        country,
        language,
        aliases,
        parent,
        group: false,
    }
}

/// A made-up outlet's name, aliases and parent group (an index into `GROUPS`).
fn draw_outlet_name(
    rng: &mut Rng,
    kind: &str,
    word: &str,
    city: &str,
    country: &str,
    language: &str,
) -> (String, Vec<String>, Option<usize>) {
    let mut aliases = Vec::new();
    let mut parent = None;
    let name = match kind {
        "newspaper" if language == "fr" => format!("Le {word} de {city}"),
        "newspaper" => {
            let paper = rng.pick(PAPERS);
            // Most English dailies belong to a chain.
            if country == "CA" && rng.chance(0.45) {
                parent = Some(if rng.chance(0.75) { 1 } else { 4 });
            }
            aliases.push(format!("{city} {paper}"));
            format!("The {city} {paper}")
        }
        "tv" => {
            if country == "CA" && rng.chance(0.3) {
                parent = Some(if rng.chance(0.5) { 2 } else { 0 });
            }
            format!(
                "{city} {} {}",
                rng.pick(&["News", "Tonight", "Today", "24"]),
                rng.between(2, 60)
            )
        }
        "radio" => {
            if country == "CA" && rng.chance(0.25) {
                parent = Some(2);
            }
            format!(
                "{word} Radio {}",
                rng.pick(&["88.5", "91.5", "95.7", "98.1", "101.9", "680 AM", "1010 AM"])
            )
        }
        "wire" => format!("{word} Press Service"),
        "online" => match rng.below(4) {
            0 => format!("The {word} Report"),
            1 => format!("{word} Online"),
            2 => format!("{city} {word}"),
            _ => format!("The {word}"),
        },
        "magazine" => match rng.below(3) {
            0 => format!("{word} Magazine"),
            1 => format!("The {word} Review"),
            _ => format!("{word} Quarterly"),
        },
        _ => match rng.below(3) {
            0 => format!("The {word} Podcast"),
            1 => format!("{word} Talk"),
            _ => format!("Inside the {word}"),
        },
    };
    (name, aliases, parent)
}

fn make_experts(rng: &mut Rng) -> Vec<Expert> {
    let mut out = Vec::with_capacity(EXPERTS);
    let mut keys: HashSet<String> = HashSet::new();
    let mut slugs: HashSet<String> = HashSet::new();
    while out.len() < EXPERTS {
        let first = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        let name = format!("{first} {last}");
        let s = slug(&name);
        if slugs.contains(&s) || keys.contains(&name_key(&name)) {
            continue;
        }
        slugs.insert(s.clone());
        keys.insert(name_key(&name));
        let aliases = draw_expert_aliases(rng, first, last, &name, &mut keys);
        let (title, affiliation) = draw_post(rng);
        let topics = draw_expert_topics(rng);
        let bio = expert_bio(rng, first, &name, &title, &affiliation, &topics);
        out.push(Expert {
            slug: s,
            name,
            aliases,
            title,
            affiliation,
            bio,
            topics,
        });
    }
    out
}

/// A third of experts go by other names too: a nickname, a middle initial, no
/// accents. An alias of one expert is never another's name or alias (`keys`).
fn draw_expert_aliases(
    rng: &mut Rng,
    first: &str,
    last: &str,
    name: &str,
    keys: &mut HashSet<String>,
) -> Vec<String> {
    let mut aliases = Vec::new();
    let r = rng.unit();
    if r < 0.33 {
        let mut candidates: Vec<String> = NICKNAMES
            .iter()
            .filter(|(f, _)| *f == first)
            .flat_map(|(_, nicks)| nicks.iter().map(|n| format!("{n} {last}")))
            .collect();
        let initial = *rng.pick(&[
            'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'N', 'P', 'R', 'S', 'T',
            'W',
        ]);
        candidates.push(format!("{first} {initial}. {last}"));
        let plain = deunicode::deunicode(name);
        rng.shuffle(&mut candidates);
        if plain != name {
            candidates.insert(0, plain);
        }
        let take = if r < 0.25 { 1 } else { 2 };
        for c in candidates.into_iter().take(take) {
            let k = name_key(&c);
            if k == name_key(name) || keys.insert(k) {
                aliases.push(c);
            }
        }
    }
    aliases
}

/// An expert's title and affiliation: mostly a university chair, else a think
/// tank, else independent.
fn draw_post(rng: &mut Rng) -> (String, String) {
    match rng.unit() {
        u if u < 0.65 => (
            format!("{} of {}", rng.pick(RANKS), rng.pick(FIELDS)),
            (*rng.pick(UNIVERSITIES)).to_owned(),
        ),
        u if u < 0.85 => (
            (*rng.pick(&[
                "Senior Fellow",
                "Fellow",
                "Director of Research",
                "President",
            ]))
            .to_owned(),
            (*rng.pick(THINK_TANKS)).to_owned(),
        ),
        _ => (
            (*rng.pick(OTHER_TITLES)).to_owned(),
            "Independent".to_owned(),
        ),
    }
}

/// Two or three distinct topics an expert works on.
fn draw_expert_topics(rng: &mut Rng) -> Vec<usize> {
    let mut topics: Vec<usize> = Vec::new();
    let want = rng.between(2, 4);
    while topics.len() < want {
        let t = rng.below(TOPICS.len());
        if !topics.contains(&t) {
            topics.push(t);
        }
    }
    topics
}

fn topic_words(t: usize) -> String {
    let name = TOPICS[t].name;
    if PROPER_TOPICS.contains(&name) {
        name.to_owned()
    } else {
        name.to_lowercase()
    }
}

fn expert_bio(
    rng: &mut Rng,
    first: &str,
    name: &str,
    title: &str,
    affiliation: &str,
    topics: &[usize],
) -> String {
    let words: Vec<String> = topics.iter().map(|&t| topic_words(t)).collect();
    let (last, rest) = words
        .split_last()
        .map_or((String::new(), &[][..]), |(l, r)| (l.clone(), r));
    let mut bio = format!(
        "{name} is {} at {affiliation}, working on {} and {last}. ",
        title.to_lowercase(),
        rest.join(", ")
    );
    while bio.len() < 370 {
        let topic = &words[rng.below(words.len())];
        let t = topics[rng.below(topics.len())];
        let phrase = rng.word(TOPICS[t].en);
        let s = match rng.below(5) {
            0 => format!(
                "A regular voice in the national media, {first} has appeared before parliamentary committees on {topic}. "
            ),
            1 => format!(
                "{first} was previously at {} and earned a doctorate at {}. ",
                rng.pick(THINK_TANKS),
                rng.pick(UNIVERSITIES)
            ),
            2 => format!("Recent work looks at {phrase} and what it means for Canadian policy. "),
            3 => format!(
                "{first} has written several books and over {} peer-reviewed articles. ",
                rng.between(20, 120)
            ),
            _ => format!(
                "Available for interviews in {}. ",
                if rng.chance(0.4) {
                    "English and French"
                } else {
                    "English"
                }
            ),
        };
        bio.push_str(&s);
    }
    bio.trim_end().to_owned()
}

// ---------------------------------------------------------------------------
// Text: titles and sentences from a topic's phrases.

fn title_en(rng: &mut Rng, phrases: &[&str]) -> String {
    let p = *rng.pick(phrases);
    match rng.below(7) {
        0 => format!(
            "{} {} {p} {}",
            capitalised(rng.word(ACTORS)),
            rng.pick(VERBS),
            rng.pick(FILLERS)
        ),
        1 => format!("Why {p} matters for {}", rng.pick(ACTORS)),
        2 => format!("Experts warn {p} could {}", rng.pick(CONSEQUENCES)),
        3 => format!("What {p} means for {}", rng.pick(ACTORS)),
        4 => format!(
            "{}: {} {} {}",
            capitalised(p),
            rng.pick(ACTORS),
            rng.pick(VERBS),
            rng.pick(phrases)
        ),
        5 => format!(
            "{} {} {p} as {} {}",
            capitalised(rng.word(ACTORS)),
            rng.pick(VERBS),
            rng.pick(phrases),
            rng.pick(&["loom", "shift", "stall", "grow"])
        ),
        _ => format!("Analysis: {p} and the road ahead"),
    }
}

fn sentence_en(rng: &mut Rng, phrases: &[&str], expert: Option<&str>) -> String {
    let (p, q) = (*rng.pick(phrases), *rng.pick(phrases));
    match (rng.below(6), expert) {
        (0, Some(e)) => format!(
            "{e} says {p} will likely {} as {} {} {q}.",
            rng.pick(CONSEQUENCES),
            rng.pick(ACTORS),
            rng.pick(VERBS)
        ),
        (1, _) => format!(
            "{} {} {p} {}.",
            capitalised(rng.word(ACTORS)),
            rng.pick(VERBS),
            rng.pick(FILLERS)
        ),
        (2, _) => format!(
            "Observers say {p} could {}, {}.",
            rng.pick(CONSEQUENCES),
            rng.pick(FILLERS)
        ),
        (3, _) => format!(
            "The debate over {p} has sharpened since {} {} {q}.",
            rng.pick(ACTORS),
            rng.pick(VERBS)
        ),
        (4, _) => format!("Critics argue that {p} and {q} are closely linked."),
        _ => format!(
            "{} remains a key issue for {} {}.",
            capitalised(p),
            rng.pick(ACTORS),
            rng.pick(FILLERS)
        ),
    }
}

fn title_fr(rng: &mut Rng, phrases: &[&str]) -> String {
    let p = *rng.pick(phrases);
    match rng.below(4) {
        0 => format!(
            "{} {} {p}",
            capitalised(rng.word(ACTORS_FR)),
            rng.pick(VERBS_FR)
        ),
        1 => format!("Pourquoi {p} inquiète les experts"),
        2 => format!("Ce que {p} signifie pour {}", rng.pick(ACTORS_FR)),
        _ => format!(
            "{} : {} {} {}",
            capitalised(p),
            rng.pick(ACTORS_FR),
            rng.pick(VERBS_FR),
            rng.pick(phrases)
        ),
    }
}

fn sentence_fr(rng: &mut Rng, phrases: &[&str], expert: Option<&str>) -> String {
    let (p, q) = (*rng.pick(phrases), *rng.pick(phrases));
    match (rng.below(4), expert) {
        (0, Some(e)) => format!(
            "Selon {e}, {p} pourrait {} {}.",
            rng.pick(CONSEQUENCES_FR),
            rng.pick(FILLERS_FR)
        ),
        (1, _) => format!(
            "{} {} {p} {}.",
            capitalised(rng.word(ACTORS_FR)),
            rng.pick(VERBS_FR),
            rng.pick(FILLERS_FR)
        ),
        (2, _) => format!(
            "Le débat sur {p} s'intensifie depuis que {} {} {q}.",
            rng.pick(ACTORS_FR),
            rng.pick(VERBS_FR)
        ),
        _ => format!(
            "{} demeure un enjeu majeur pour {}.",
            capitalised(p),
            rng.pick(ACTORS_FR)
        ),
    }
}

// ---------------------------------------------------------------------------
// Articles and events.

#[derive(Serialize)]
struct OutletOut<'a> {
    #[serde(rename = "type")]
    kind_: &'static str,
    slug: &'a str,
    name: &'a str,
    kind: &'a str,
    parent: Option<&'a str>,
    website: &'a str,
    country: &'a str,
    language: &'a str,
    aliases: &'a [String],
}

#[derive(Serialize)]
struct TopicOut<'a> {
    #[serde(rename = "type")]
    kind_: &'static str,
    slug: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct ExpertOut<'a> {
    #[serde(rename = "type")]
    kind_: &'static str,
    slug: &'a str,
    name: &'a str,
    aliases: &'a [String],
    title: &'a str,
    affiliation: &'a str,
    bio: &'a str,
    topics: Vec<&'a str>,
}

#[derive(Serialize)]
struct ArticleOut<'a> {
    #[serde(rename = "type")]
    kind_: &'static str,
    slug: &'a str,
    title: &'a str,
    authors: Vec<&'a str>,
    experts: Vec<&'a str>,
    outlet: &'a str,
    program: Option<&'a str>,
    published_at: &'a str,
    language: &'a str,
    url: &'a str,
    summary: &'a str,
    body: Option<&'a str>,
    topics: Vec<&'a str>,
}

#[derive(Serialize)]
struct EventOut<'a> {
    #[serde(rename = "type")]
    kind_: &'static str,
    slug: &'a str,
    title: &'a str,
    kind: &'a str,
    starts_at: &'a str,
    ends_at: &'a str,
    venue: &'a str,
    city: Option<&'a str>,
    region: Option<&'a str>,
    country: Option<&'a str>,
    description: &'a str,
    registration_url: &'a str,
}

fn write_articles<W: Write>(
    cast: &Cast,
    opts: Options,
    w: &mut Lines<'_, W>,
) -> io::Result<Params> {
    let n = opts.articles;
    let mut rng = Rng::stream(opts.seed ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D), 2);
    let (t0, t1) = (epoch(2002, 1, 1), epoch(2026, 6, 30));
    let span = (t1 - t0) as f64;
    let mut times = Ascending::new(n);

    let w3_expert = cast.popularity[0];
    let (w3_from, w3_to) = (epoch(2008, 1, 1), epoch(2025, 1, 1));
    let mut w3_count = 0;
    let mut w4_count = 0;
    let (mut w2_pick, mut w2_fallback) = (None, None);
    let mut outlet_uses = vec![0u64; cast.outlets.len()];
    let mut topic_uses = vec![0u64; TOPICS.len()];

    for i in 0..n {
        let ts = draw_time(&mut rng, &mut times, t0, span);

        let oi = cast.cited[cast.cited_weights.draw(&mut rng)];
        let outlet = &cast.outlets[oi];
        outlet_uses[oi] += 1;
        let french = rng.chance(if outlet.language == "fr" { 0.75 } else { 0.09 });

        let topics = draw_topics(&mut rng, cast, &mut topic_uses);
        let experts = draw_experts(&mut rng, cast, &topics);
        let lead = cast.experts[experts[0]].name.as_str();
        let phrases = phrases_of(&topics, french);
        let sentence = if french { sentence_fr } else { sentence_en };
        let title = if french {
            title_fr(&mut rng, &phrases)
        } else {
            title_en(&mut rng, &phrases)
        };
        let summary = draw_summary(&mut rng, sentence, &phrases, lead);
        let body = rng
            .chance(0.1)
            .then(|| draw_body(&mut rng, sentence, &phrases, cast, &experts));
        let authors = draw_authors(&mut rng, outlet);
        let program = (!outlet.programs.is_empty() && rng.chance(0.7))
            .then(|| rng.pick(&outlet.programs).as_str());

        let slug = slug_with(&title, 72, &base36(i));
        let published = iso(ts);
        let url = format!(
            "{}/{}/{}/{}/{slug}",
            outlet.website,
            &published[..4],
            &published[5..7],
            &published[8..10]
        );

        if experts.contains(&w3_expert) && (w3_from..w3_to).contains(&ts) {
            w3_count += 1;
        }
        if !french {
            let text =
                format!("{title} {summary} {}", body.as_deref().unwrap_or("")).to_lowercase();
            if text.contains("oil") && text.contains("price") {
                w4_count += 1;
            }
        }
        if body.is_some() {
            let late = i * 10 > n * 9;
            if late && experts.len() >= 2 && experts[0] == cast.popularity[1] {
                w2_pick = Some(slug.clone());
            }
            if w2_fallback.is_none() || late {
                w2_fallback = Some(slug.clone());
            }
        }

        w.put(&ArticleOut {
            kind_: "article",
            slug: &slug,
            title: &title,
            authors,
            experts: experts
                .iter()
                .map(|&e| cast.experts[e].slug.as_str())
                .collect(),
            outlet: &outlet.slug,
            program,
            published_at: &published,
            language: if french { "fr" } else { "en" },
            url: &url,
            summary: &summary,
            body: body.as_deref(),
            topics: topics.iter().map(|&t| TOPICS[t].slug).collect(),
        })?;
    }

    let top = |uses: &[u64]| {
        uses.iter()
            .enumerate()
            .max_by_key(|(i, u)| (**u, std::cmp::Reverse(*i)))
            .map_or(0, |(i, _)| i)
    };
    let mut children = vec![0u64; cast.outlets.len()];
    for o in &cast.outlets {
        if let Some(p) = o.parent {
            children[p] += 1;
        }
    }
    Ok(Params {
        seed: opts.seed,
        articles: n,
        events: 0,
        outlets: cast.outlets.len(),
        experts: cast.experts.len(),
        topics: TOPICS.len(),
        w2_article_slug: w2_pick.or(w2_fallback),
        w3_expert_slug: cast.experts[w3_expert].slug.clone(),
        w3_from: iso(w3_from),
        w3_to: iso(w3_to),
        w3_page_size: 20,
        w3_pages_skipped: 50,
        w3_matching_articles: w3_count,
        w4_query: "oil prices".to_owned(),
        w4_approx_matching_articles: w4_count,
        w5_after: "2026-01-01T00:00:00Z".to_owned(),
        outlet_slug: cast.outlets[top(&outlet_uses)].slug.clone(),
        outlet_group_slug: cast.outlets[top(&children)].slug.clone(),
        topic_slug: TOPICS[top(&topic_uses)].slug.to_owned(),
    })
}

/// When an article appears: density 1 + 2u over the span (three times as many
/// articles at the end), a tenth of them up to a month earlier, in the daytime.
fn draw_time(rng: &mut Rng, times: &mut Ascending, t0: i64, span: f64) -> i64 {
    // The inverse of the density's distribution function, (u + u²) / 2.
    let v = times.next(rng);
    let u = ((1.0 + 8.0 * v).sqrt() - 1.0) / 2.0;
    let mut ts = t0 + (u * span) as i64;
    if rng.chance(0.1) {
        ts -= (rng.unit() * 30.0 * 86_400.0) as i64;
    }
    let day = (ts - t0).div_euclid(86_400);
    let hour = rng.gauss(13.0, 4.0).clamp(5.0, 23.0) as i64;
    t0 + day * 86_400 + hour * 3_600 + rng.below(60) as i64 * 60
}

/// An article's topics (none to three), counted in `uses`.
fn draw_topics(rng: &mut Rng, cast: &Cast, uses: &mut [u64]) -> Vec<usize> {
    let mut topics: Vec<usize> = Vec::new();
    for _ in 0..rng.weighted(&[10, 45, 30, 15]) {
        let t = cast.topic_weights.draw(rng);
        if !topics.contains(&t) {
            topics.push(t);
            uses[t] += 1;
        }
    }
    topics
}

/// An article's experts (one to three), mostly among those working on its topics.
fn draw_experts(rng: &mut Rng, cast: &Cast, topics: &[usize]) -> Vec<usize> {
    let mut experts: Vec<usize> = Vec::new();
    for _ in 0..=rng.weighted(&[45, 35, 20]) {
        let e = if !topics.is_empty() && rng.chance(0.7) {
            let (members, weights) = &cast.topic_experts[*rng.pick(topics)];
            members[weights.draw(rng)]
        } else {
            cast.all_experts.draw(rng)
        };
        if !experts.contains(&e) {
            experts.push(e);
        }
    }
    experts
}

/// The phrases an article's text is built from: its topics', else every topic's.
fn phrases_of(topics: &[usize], french: bool) -> Vec<&'static str> {
    let of = |t: &Topic| if french { t.fr } else { t.en };
    let phrases: Vec<&str> = topics
        .iter()
        .flat_map(|&t| of(&TOPICS[t]).iter().copied())
        .collect();
    if !phrases.is_empty() {
        return phrases;
    }
    TOPICS.iter().flat_map(|t| of(t).iter().copied()).collect()
}

/// A sentence of an article in its language, naming `expert` if any.
type Sentence = fn(&mut Rng, &[&str], Option<&str>) -> String;

/// A summary of about 280 characters whose first sentence names `lead`.
fn draw_summary(rng: &mut Rng, sentence: Sentence, phrases: &[&str], lead: &str) -> String {
    let mut summary = String::new();
    while summary.len() < 280 {
        let s = sentence(rng, phrases, summary.is_empty().then_some(lead));
        if !summary.is_empty() {
            summary.push(' ');
        }
        summary.push_str(&s);
    }
    summary
}

/// A body of about 3,000 characters in paragraphs that quote the experts.
fn draw_body(
    rng: &mut Rng,
    sentence: Sentence,
    phrases: &[&str],
    cast: &Cast,
    experts: &[usize],
) -> String {
    let mut body = String::new();
    while body.len() < 3000 {
        if !body.is_empty() {
            body.push_str("\n\n");
        }
        for k in 0..rng.between(3, 6) {
            let e = cast.experts[*rng.pick(experts)].name.as_str();
            let s = sentence(rng, phrases, Some(e));
            if k > 0 {
                body.push(' ');
            }
            body.push_str(&s);
        }
    }
    body
}

/// An article's bylines: from the outlet's staff, more often none on a wire.
fn draw_authors<'o>(rng: &mut Rng, outlet: &'o Outlet) -> Vec<&'o str> {
    let bylines = rng.weighted(&[if outlet.kind == "wire" { 40 } else { 8 }, 70, 18, 4]);
    let mut authors: Vec<&str> = Vec::new();
    for _ in 0..bylines {
        let a = rng.pick(&outlet.staff).as_str();
        if !authors.contains(&a) {
            authors.push(a);
        }
    }
    authors
}

fn write_events<W: Write>(cast: &Cast, opts: Options, w: &mut Lines<'_, W>) -> io::Result<()> {
    let mut rng = Rng::stream(opts.seed, 3);
    let (e0, e1) = (epoch(2016, 1, 1), epoch(2027, 12, 31));
    let mut starts = Ascending::new(opts.events);
    for i in 0..opts.events {
        let st = e0 + (starts.next(&mut rng) * (e1 - e0) as f64) as i64;
        let kind =
            ["conference", "roundtable", "webinar", "briefing"][rng.weighted(&[25, 30, 30, 15])];
        let topic = rng.pick(TOPICS);
        let prefix = match kind {
            "conference" => rng.pick(&["Annual Conference on", "Summit on", "Symposium:"]),
            "roundtable" => rng.pick(&["Roundtable:", "Expert roundtable on", "Panel:"]),
            "webinar" => rng.pick(&["Webinar:", "Online briefing on", "Live Q&A:"]),
            _ => rng.pick(&["Media briefing:", "Technical briefing on", "Backgrounder:"]),
        };
        let title = format!("{prefix} {}", rng.pick(topic.en));
        let day = (st - e0) / 86_400;
        let starts_at = e0
            + day * 86_400
            + *rng.pick(&[9, 10, 12, 13, 14, 15, 18]) * 3_600
            + *rng.pick(&[0, 30]) * 60;
        let ends_at = if kind == "conference" {
            starts_at + rng.between(1, 3) as i64 * 86_400 + 8 * 3_600
        } else {
            starts_at + *rng.pick(&[60, 90, 120]) * 60
        };
        let (venue, place) = if kind == "webinar" {
            ("Online (Zoom)".to_owned(), None)
        } else {
            let host = if rng.chance(0.6) {
                rng.pick(UNIVERSITIES)
            } else {
                rng.pick(THINK_TANKS)
            };
            (
                format!("{host} {}", rng.pick(VENUES)),
                Some(*rng.pick(CITIES)),
            )
        };
        let mut description = String::new();
        for _ in 0..rng.between(2, 4) {
            let e = rng.pick(&cast.experts).name.as_str();
            if !description.is_empty() {
                description.push(' ');
            }
            description.push_str(&sentence_en(&mut rng, topic.en, Some(e)));
        }
        let slug = slug_with(&title, 60, &base36(i));
        w.put(&EventOut {
            kind_: "event",
            slug: &slug,
            title: &title,
            kind,
            starts_at: &iso(starts_at),
            ends_at: &iso(ends_at),
            venue: &venue,
            city: place.map(|p| p.0),
            region: place.map(|p| p.1),
            country: place.map(|p| p.2),
            description: &description,
            registration_url: &format!("https://events.example.org/{slug}/register"),
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Vocabulary.

struct Topic {
    slug: &'static str,
    name: &'static str,
    /// Phrases an English headline or sentence is built around.
    en: &'static [&'static str],
    /// French phrases (empty: French articles on it borrow from every topic).
    fr: &'static [&'static str],
}

/// The topics the benchmark's queries are about are never among the rare ones.
const BIG_TOPICS: &[&str] = &[
    "energy",
    "oil-and-gas",
    "defence",
    "russia",
    "arctic-sovereignty",
];

const PROPER_TOPICS: &[&str] = &[
    "NATO",
    "Russia",
    "Ukraine",
    "China",
    "United States",
    "Middle East",
    "Supreme Court",
];

#[rustfmt::skip]
const TOPICS: &[Topic] = &[
    Topic { slug: "arctic-sovereignty", name: "Arctic sovereignty",
        en: &["Arctic sovereignty", "the Northwest Passage", "Arctic shipping lanes", "Canada's Arctic claims", "security in the North"],
        fr: &["la souveraineté dans l'Arctique", "le passage du Nord-Ouest"] },
    Topic { slug: "energy", name: "Energy",
        en: &["oil prices", "gasoline prices", "the energy transition", "power bills", "energy security"],
        fr: &["le prix du pétrole", "la transition énergétique", "le prix de l'essence"] },
    Topic { slug: "oil-and-gas", name: "Oil and gas",
        en: &["oil prices", "crude exports", "pipeline capacity", "oil sands output", "OPEC production cuts", "falling oil prices"],
        fr: &["le prix du pétrole", "les exportations de brut", "les oléoducs"] },
    Topic { slug: "defence", name: "Defence",
        en: &["defence spending", "military readiness", "the defence budget", "the fighter jet purchase", "Arctic defence"],
        fr: &["les dépenses militaires", "la défense nationale", "l'achat des avions de chasse"] },
    Topic { slug: "nato", name: "NATO",
        en: &["NATO's spending target", "the NATO alliance", "NATO's eastern flank", "the NATO summit"],
        fr: &["l'OTAN", "les alliés de l'OTAN", "le sommet de l'OTAN"] },
    Topic { slug: "russia", name: "Russia",
        en: &["Russia's war in Ukraine", "sanctions against Russia", "Russian oil exports", "the Kremlin's aims", "Russia's Arctic build-up"],
        fr: &["la Russie", "les sanctions contre la Russie", "le Kremlin"] },
    Topic { slug: "ukraine", name: "Ukraine",
        en: &["the war in Ukraine", "military aid for Ukraine", "Ukraine's defence lines", "rebuilding Ukraine"],
        fr: &["la guerre en Ukraine", "l'aide militaire à l'Ukraine"] },
    Topic { slug: "trade", name: "Trade",
        en: &["trade tensions", "the new trade agreement", "supply management", "cross-border trade", "trade with the United States"],
        fr: &["le commerce", "l'accord commercial", "la gestion de l'offre"] },
    Topic { slug: "tariffs", name: "Tariffs",
        en: &["steel tariffs", "counter-tariffs", "duties on aluminum", "the tariff fight"],
        fr: &["les tarifs douaniers", "les droits de douane sur l'acier"] },
    Topic { slug: "china", name: "China",
        en: &["relations with China", "Chinese investment", "exports to China", "Beijing's growing reach"],
        fr: &["la Chine", "les relations avec la Chine"] },
    Topic { slug: "united-states", name: "United States",
        en: &["the U.S. election", "Washington's trade agenda", "the border with the U.S.", "ties with Washington"],
        fr: &["les États-Unis", "la frontière canado-américaine"] },
    Topic { slug: "climate-change", name: "Climate change",
        en: &["carbon pricing", "emissions targets", "climate policy", "extreme weather"],
        fr: &["la tarification du carbone", "les cibles de réduction des émissions"] },
    Topic { slug: "elections", name: "Elections",
        en: &["the federal election", "voter turnout", "foreign interference in elections", "the campaign trail"],
        fr: &["les élections fédérales", "l'ingérence étrangère"] },
    Topic { slug: "immigration", name: "Immigration",
        en: &["immigration targets", "asylum claims", "temporary foreign workers", "international students"],
        fr: &["les seuils d'immigration", "les demandeurs d'asile"] },
    Topic { slug: "health-care", name: "Health care",
        en: &["emergency room wait times", "the shortage of family doctors", "health transfers", "pharmacare"],
        fr: &["l'attente aux urgences", "la pénurie de médecins de famille"] },
    Topic { slug: "housing", name: "Housing",
        en: &["home prices", "the housing crisis", "rising rents", "housing starts"],
        fr: &["la crise du logement", "la hausse des loyers"] },
    Topic { slug: "inflation", name: "Inflation",
        en: &["inflation", "grocery prices", "consumer prices", "the cost of living"],
        fr: &["l'inflation", "le prix du panier d'épicerie", "le coût de la vie"] },
    Topic { slug: "interest-rates", name: "Interest rates",
        en: &["interest rates", "the Bank of Canada's rate decision", "mortgage rates", "monetary policy"],
        fr: &["les taux d'intérêt", "la politique monétaire"] },
    Topic { slug: "agriculture", name: "Agriculture",
        en: &["farm incomes", "grain exports", "fertilizer costs", "drought on the Prairies"],
        fr: &["le revenu des agriculteurs", "les exportations de grains"] },
    Topic { slug: "indigenous-affairs", name: "Indigenous affairs",
        en: &["Indigenous rights", "reconciliation", "land claims", "self-government agreements"],
        fr: &["les droits des Autochtones", "la réconciliation"] },
    Topic { slug: "cybersecurity", name: "Cybersecurity",
        en: &["ransomware attacks", "cyber espionage", "the security of critical infrastructure", "data breaches"],
        fr: &["les cyberattaques", "les fuites de données"] },
    Topic { slug: "artificial-intelligence", name: "Artificial intelligence",
        en: &["artificial intelligence", "rules for AI", "generative AI", "automation at work"],
        fr: &["l'intelligence artificielle", "l'encadrement de l'IA"] },
    Topic { slug: "space", name: "Space",
        en: &["the space program", "satellite launches", "the return to the Moon"],
        fr: &[] },
    Topic { slug: "middle-east", name: "Middle East",
        en: &["tensions in the Middle East", "Gulf oil supplies", "the Iran nuclear talks"],
        fr: &["le Moyen-Orient"] },
    Topic { slug: "foreign-policy", name: "Foreign policy",
        en: &["foreign policy", "diplomatic ties", "the G7 summit", "multilateral diplomacy"],
        fr: &["la politique étrangère", "le sommet du G7"] },
    Topic { slug: "human-rights", name: "Human rights",
        en: &["human rights", "press freedom", "refugee protection"],
        fr: &["les droits de la personne", "la liberté de la presse"] },
    Topic { slug: "supreme-court", name: "Supreme Court",
        en: &["the Supreme Court decision", "the Charter challenge", "judicial appointments"],
        fr: &["la décision de la Cour suprême"] },
    Topic { slug: "federal-politics", name: "Federal politics",
        en: &["the federal budget", "the minority Parliament", "the Official Opposition", "Question Period"],
        fr: &["le budget fédéral", "le gouvernement minoritaire"] },
    Topic { slug: "quebec-politics", name: "Quebec politics",
        en: &["Quebec's language law", "the National Assembly", "Quebec independence"],
        fr: &["la loi 96", "l'Assemblée nationale", "la souveraineté du Québec"] },
    Topic { slug: "provincial-politics", name: "Provincial politics",
        en: &["provincial budgets", "equalization", "the premiers' meeting"],
        fr: &["la péréquation", "le conseil de la fédération"] },
    Topic { slug: "labour", name: "Labour",
        en: &["the strike", "labour shortages", "the minimum wage", "contract talks"],
        fr: &["la grève", "la pénurie de main-d'œuvre"] },
    Topic { slug: "supply-chains", name: "Supply chains",
        en: &["supply chain snags", "port congestion", "rail blockades"],
        fr: &["les chaînes d'approvisionnement"] },
    Topic { slug: "shipping", name: "Shipping",
        en: &["shipping costs", "container traffic", "Arctic shipping lanes"],
        fr: &["le transport maritime"] },
    Topic { slug: "mining", name: "Mining",
        en: &["mining investment", "gold prices", "mine closures"],
        fr: &["l'industrie minière"] },
    Topic { slug: "critical-minerals", name: "Critical minerals",
        en: &["critical minerals", "the lithium supply", "battery supply chains"],
        fr: &["les minéraux critiques", "la filière batterie"] },
    Topic { slug: "forestry", name: "Forestry",
        en: &["softwood lumber", "lumber prices", "forest management"],
        fr: &["le bois d'œuvre"] },
    Topic { slug: "fisheries", name: "Fisheries",
        en: &["the fishery", "fish stocks", "the lobster dispute"],
        fr: &["les pêches"] },
    Topic { slug: "wildfires", name: "Wildfires",
        en: &["the wildfire season", "wildfire smoke", "evacuation orders"],
        fr: &["les feux de forêt"] },
    Topic { slug: "public-health", name: "Public health",
        en: &["public health measures", "vaccination rates", "the pandemic"],
        fr: &["la santé publique", "la pandémie"] },
    Topic { slug: "education", name: "Education",
        en: &["school funding", "the teacher shortage", "tuition fees"],
        fr: &["la pénurie d'enseignants"] },
    Topic { slug: "transportation", name: "Transportation",
        en: &["public transit", "high-speed rail", "gasoline prices"],
        fr: &["le transport en commun", "le train à grande vitesse"] },
    Topic { slug: "aviation", name: "Aviation",
        en: &["flight delays", "airport security", "air fares"],
        fr: &[] },
    Topic { slug: "banking", name: "Banking",
        en: &["bank profits", "open banking", "financial regulation"],
        fr: &[] },
    Topic { slug: "cryptocurrency", name: "Cryptocurrency",
        en: &["cryptocurrency", "bitcoin prices", "crypto regulation"],
        fr: &[] },
    Topic { slug: "sanctions", name: "Sanctions",
        en: &["sanctions", "the oil price cap", "frozen assets"],
        fr: &["les sanctions"] },
    Topic { slug: "military-procurement", name: "Military procurement",
        en: &["the submarine purchase", "the shipbuilding strategy", "the F-35 contract"],
        fr: &["l'achat de sous-marins"] },
    Topic { slug: "peacekeeping", name: "Peacekeeping",
        en: &["peacekeeping missions", "UN peacekeeping", "the mission in Latvia"],
        fr: &["les missions de paix"] },
    Topic { slug: "nuclear-weapons", name: "Nuclear weapons",
        en: &["nuclear deterrence", "arms control", "nuclear threats"],
        fr: &["la dissuasion nucléaire"] },
    Topic { slug: "terrorism", name: "Terrorism",
        en: &["terrorism", "radicalization", "counterterrorism"],
        fr: &["le terrorisme"] },
    Topic { slug: "economy", name: "Economy",
        en: &["the economy", "economic growth", "a recession", "the job market"],
        fr: &["l'économie", "la récession"] },
];

#[rustfmt::skip]
const FIRST: &[&str] = &[
    "Robert", "William", "Elizabeth", "Michael", "Christopher", "Jennifer", "Alexander",
    "Katherine", "Jonathan", "Daniel", "Stephen", "Thomas", "Patricia", "Margaret", "Richard",
    "Nicholas", "Benjamin", "Samuel", "Joseph", "Andrew", "Matthew", "Rebecca", "Victoria",
    "Jessica", "Susan", "Deborah", "Anthony", "James", "David", "Sarah", "Emily", "Laura", "Rachel",
    "Hannah", "Olivia", "Mark", "Paul", "Peter", "Kevin", "Brian", "Gregory", "Timothy",
    "Catherine", "Caroline", "Natalie", "Philip", "Edward", "Frédéric", "Stéphanie",
    "Jean-François", "Marie-Ève", "Geneviève", "Mathieu", "Julien", "Sophie", "Chantal", "Louis",
    "Pierre", "Isabelle", "Hélène", "François", "Amélie", "Émilie", "Nathalie", "André", "Priya",
    "Amir", "Wei", "Mei", "Hiroshi", "Ana", "Carlos", "Fatima", "Omar", "Ingrid", "Lars", "Aisha",
];

const NICKNAMES: &[(&str, &[&str])] = &[
    ("Robert", &["Rob", "Bob"]),
    ("William", &["Bill", "Will"]),
    ("Elizabeth", &["Liz", "Beth"]),
    ("Michael", &["Mike"]),
    ("Christopher", &["Chris"]),
    ("Jennifer", &["Jen"]),
    ("Alexander", &["Alex"]),
    ("Katherine", &["Kate", "Kathy"]),
    ("Jonathan", &["Jon"]),
    ("Daniel", &["Dan"]),
    ("Stephen", &["Steve"]),
    ("Thomas", &["Tom"]),
    ("Patricia", &["Pat"]),
    ("Margaret", &["Maggie", "Meg"]),
    ("Richard", &["Rick"]),
    ("Nicholas", &["Nick"]),
    ("Benjamin", &["Ben"]),
    ("Samuel", &["Sam"]),
    ("Joseph", &["Joe"]),
    ("Andrew", &["Andy"]),
    ("Matthew", &["Matt"]),
    ("Rebecca", &["Becky"]),
    ("Victoria", &["Vicky"]),
    ("Jessica", &["Jess"]),
    ("Susan", &["Sue"]),
    ("Deborah", &["Deb"]),
    ("Anthony", &["Tony"]),
    ("James", &["Jim", "Jamie"]),
    ("David", &["Dave"]),
    ("Gregory", &["Greg"]),
    ("Timothy", &["Tim"]),
    ("Catherine", &["Cathy"]),
    ("Philip", &["Phil"]),
    ("Edward", &["Ed", "Ted"]),
    ("Peter", &["Pete"]),
];

#[rustfmt::skip]
const LAST: &[&str] = &[
    "Huebert", "Lackenbauer", "Byers", "Charron", "Exner-Pirot", "Griffiths", "Coates", "Perry",
    "Leuprecht", "Saideman", "Juneau", "Mérand", "Massie", "Roussel", "Paris", "Legault",
    "Tremblay", "Gagnon", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Pelletier",
    "Smith", "Brown", "Wilson", "MacDonald", "Taylor", "Campbell", "Anderson", "Stewart",
    "Thompson", "Martin", "Clark", "Lewis", "Walker", "Young", "King", "Wright", "Scott", "Green",
    "Baker", "Adams", "Nelson", "Hill", "Mitchell", "Roberts", "Carter", "Phillips", "Evans",
    "Turner", "Parker", "Collins", "Edwards", "Morris", "Murphy", "Cook", "Rogers", "Morgan",
    "Cooper", "Peterson", "Reed", "Bailey", "Kelly", "Howard", "Chen", "Wang", "Singh", "Patel",
    "Nguyen", "Kim", "Tanaka", "Haddad", "Rahman", "Okafor", "Novak", "Kowalski", "Petrov",
    "Lindqvist", "Andersen", "Fischer", "Weber", "Rossi", "Bianchi", "García", "López", "Silva",
    "Costa",
];

#[rustfmt::skip]
const UNIVERSITIES: &[&str] = &[
    "University of Calgary", "University of Toronto", "McGill University", "Université de Montréal",
    "Université Laval", "University of Ottawa", "Carleton University", "Queen's University",
    "University of British Columbia", "Dalhousie University", "University of Manitoba",
    "York University", "Concordia University", "Simon Fraser University", "University of Alberta",
    "Royal Military College of Canada", "Memorial University", "Western University",
];

#[rustfmt::skip]
const THINK_TANKS: &[&str] = &[
    "Canadian Global Affairs Institute", "Macdonald-Laurier Institute", "C.D. Howe Institute",
    "Centre for International Governance Innovation", "Conference Board of Canada",
    "Institute for Research on Public Policy", "Arctic Institute of North America", "CERIUM",
    "Fraser Institute", "Broadbent Institute",
];

#[rustfmt::skip]
const FIELDS: &[&str] = &[
    "Political Science", "Economics", "History", "International Affairs", "Public Policy", "Law",
    "Geography", "Environmental Studies", "Engineering", "Public Health", "Sociology", "Finance",
    "Security Studies", "Journalism",
];

#[rustfmt::skip]
const RANKS: &[&str] = &[
    "Professor", "Associate Professor", "Assistant Professor", "Professor Emeritus",
    "Adjunct Professor", "Research Chair",
];

#[rustfmt::skip]
const OTHER_TITLES: &[&str] = &[
    "Former ambassador to NATO", "Retired lieutenant-general", "Former deputy minister of finance",
    "Energy analyst", "Former chief economist of the Bank of Canada", "Security consultant",
];

#[rustfmt::skip]
const ACTORS: &[&str] = &[
    "Ottawa", "Washington", "Moscow", "Kyiv", "Beijing", "the European Union", "NATO allies",
    "the Bank of Canada", "OPEC", "the federal government", "the provinces", "Alberta", "Quebec",
    "Ontario", "British Columbia", "Nunavut", "the White House", "Brussels", "the G7",
    "the United Nations", "Canada", "the Prime Minister", "the opposition", "industry groups",
    "economists",
];

#[rustfmt::skip]
const ACTORS_FR: &[&str] = &[
    "Ottawa", "Washington", "Moscou", "Kyiv", "Pékin", "l'Union européenne", "Québec",
    "la Banque du Canada", "le gouvernement fédéral", "les provinces",
];

#[rustfmt::skip]
const VERBS: &[&str] = &[
    "weighs", "rejects", "backs", "faces pressure over", "signals shift on", "moves to limit",
    "pledges action on", "braces for", "warns about", "doubles down on", "rethinks",
    "pushes back on", "seeks answers on", "responds to",
];

#[rustfmt::skip]
const VERBS_FR: &[&str] = &[
    "s'inquiète de", "mise sur", "rejette", "se prépare à", "réagit à", "revoit",
];

#[rustfmt::skip]
const CONSEQUENCES: &[&str] = &[
    "reshape the debate", "hit household budgets", "strain relations with allies",
    "test the government", "drive prices higher", "slow the economy", "force a rethink in Ottawa",
    "weaken Canada's hand", "spur investment", "deepen divisions", "raise security concerns",
    "last for years",
];

#[rustfmt::skip]
const CONSEQUENCES_FR: &[&str] = &[
    "alourdir la facture des ménages", "changer la donne", "diviser les alliés",
    "ralentir l'économie", "inquiéter les experts",
];

#[rustfmt::skip]
const FILLERS: &[&str] = &[
    "according to analysts", "in the coming months", "despite earlier promises",
    "as the debate heats up", "after weeks of uncertainty", "amid growing concern",
    "in a closely watched decision", "on Parliament Hill", "across the country",
    "for the first time in years",
];

#[rustfmt::skip]
const FILLERS_FR: &[&str] = &[
    "selon les analystes", "dans les prochains mois", "malgré les promesses", "à Ottawa",
    "partout au pays",
];

/// (city, region, country)
const CITIES: &[(&str, &str, &str)] = &[
    ("Ottawa", "Ontario", "CA"),
    ("Toronto", "Ontario", "CA"),
    ("Montréal", "Québec", "CA"),
    ("Québec", "Québec", "CA"),
    ("Calgary", "Alberta", "CA"),
    ("Edmonton", "Alberta", "CA"),
    ("Vancouver", "British Columbia", "CA"),
    ("Victoria", "British Columbia", "CA"),
    ("Winnipeg", "Manitoba", "CA"),
    ("Halifax", "Nova Scotia", "CA"),
    ("St. John's", "Newfoundland and Labrador", "CA"),
    ("Iqaluit", "Nunavut", "CA"),
    ("Whitehorse", "Yukon", "CA"),
    ("Saskatoon", "Saskatchewan", "CA"),
    ("Washington", "District of Columbia", "US"),
    ("New York", "New York", "US"),
    ("London", "England", "GB"),
    ("Paris", "Île-de-France", "FR"),
    ("Brussels", "Brussels-Capital", "BE"),
    ("Berlin", "Berlin", "DE"),
];

#[rustfmt::skip]
const PAPERS: &[&str] = &[
    "Times", "Herald", "Gazette", "Chronicle", "Star", "Post", "Journal", "Sun", "Tribune",
    "Examiner", "Observer", "Standard", "Citizen", "Free Press", "Leader-Post",
];

#[rustfmt::skip]
const WORDS: &[&str] = &[
    "Northern", "Capital", "National", "Harbour", "Prairie", "Coastal", "Frontier", "Maple",
    "Polar", "Atlantic", "Pacific", "Metro", "Civic", "Ledger", "Signal", "Compass", "Dispatch",
    "Beacon", "Current", "Outlook", "Insight", "Bulletin",
];

#[rustfmt::skip]
const PROGRAM_SUFFIXES: &[&str] = &[
    "Morning", "Tonight", "Weekend", "Live", "Drive", "Reports", "The Hour", "Politics",
    "Sunday Edition", "At Issue", "Midday", "The Briefing",
];

#[rustfmt::skip]
const KNOWN_PROGRAMS: &[&str] = &[
    "CBC Radio One", "The National", "As It Happens", "The Current", "Power & Politics",
    "The House", "Midi info", "Le Téléjournal", "The World This Weekend", "Morning Edition",
    "Question Period", "CTV News at Six",
];

#[rustfmt::skip]
const VENUES: &[&str] = &[
    "Conference Centre", "Hall", "Auditorium", "Convention Centre", "Hotel Ballroom",
    "Faculty Club", "Library Forum",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn run(opts: Options) -> (Vec<u8>, Params) {
        let mut out = Vec::new();
        let p = generate(opts, &mut out).expect("generate");
        (out, p)
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_other_ones() {
        let o = Options {
            seed: 5,
            articles: 300,
            events: 20,
        };
        assert_eq!(run(o).0, run(o).0);
        assert_ne!(run(o).0, run(Options { seed: 6, ..o }).0);
    }

    #[test]
    fn the_cast_does_not_depend_on_the_number_of_articles() {
        let head = |n| {
            let (out, _) = run(Options {
                seed: 1,
                articles: n,
                events: 0,
            });
            String::from_utf8(out)
                .expect("utf-8")
                .lines()
                .take_while(|l| !l.contains("\"type\":\"article\""))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(head(10), head(500));
    }

    #[test]
    fn articles_come_in_date_order_with_unique_slugs_and_known_references() {
        let (out, p) = run(Options {
            seed: 9,
            articles: 3000,
            events: 50,
        });
        let mut slugs = HashSet::new();
        let (mut outlets, mut experts) = (HashSet::new(), HashSet::new());
        let mut dates = Vec::new();
        let mut french = 0;
        for line in String::from_utf8(out).expect("utf-8").lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            let slug = v["slug"].as_str().expect("slug").to_owned();
            assert!(Slug::parse(&slug).is_ok(), "{slug}");
            match v["type"].as_str() {
                Some("outlet") => {
                    if let Some(parent) = v["parent"].as_str() {
                        assert!(outlets.contains(parent), "{parent} comes before {slug}");
                    }
                    outlets.insert(slug.clone());
                }
                Some("expert") => {
                    experts.insert(slug.clone());
                }
                Some("article") => {
                    assert!(outlets.contains(v["outlet"].as_str().expect("outlet")));
                    for e in v["experts"].as_array().expect("experts") {
                        assert!(experts.contains(e.as_str().expect("slug")));
                    }
                    dates.push(v["published_at"].as_str().expect("date").to_owned());
                    french += usize::from(v["language"] == "fr");
                }
                _ => {}
            }
            assert!(slugs.insert((v["type"].to_string(), slug)));
        }
        assert_eq!(dates.len(), 3000);
        assert!((450..900).contains(&french), "{french} French articles");
        assert!(dates.first() < Some(&"2005".to_owned()));
        assert!(dates.last() > Some(&"2026".to_owned()));
        // In order but for the late-ingested tenth (back-dated up to a month).
        let out_of_order = dates.windows(2).filter(|w| w[0] > w[1]).count();
        assert!(out_of_order < 600, "{out_of_order}");
        assert!(p.w4_approx_matching_articles > 30, "{p:?}");
        assert!(p.w3_matching_articles > 150, "{p:?}");
        assert!(p.w2_article_slug.is_some());
    }
}
