//! The credit line partners show under an item's title, in the item's own
//! language: "by A and B (feat. X), Outlet, June 29, 2022" /
//! "par A et B (avec X), Outlet, 29 juin 2022", with one long date format per
//! language (the date in UTC). The only place that composes it: the feeds, the
//! widget page and the JSON `embed.js` renders from all show this text. It is
//! plain text; whoever writes it into HTML or XML escapes it. No HTTP here.

use chrono::{DateTime, Datelike, Utc};

use super::Language;

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// "June 1, 2022" / "1er juin 2022": the day of `t` in UTC.
pub fn long_date(t: DateTime<Utc>, lang: Language) -> String {
    let m = t.month0() as usize;
    match lang {
        Language::En => format!("{} {}, {}", MONTHS_EN[m], t.day(), t.year()),
        Language::Fr => {
            // French writes the first of a month as an ordinal.
            let day = match t.day() {
                1 => "1er".to_owned(),
                d => d.to_string(),
            };
            format!("{day} {} {}", MONTHS_FR[m], t.year())
        }
    }
}

/// "A", "A and B", "A, B and C" (or "et").
fn join_names(names: &[&str], lang: Language) -> String {
    let and = match lang {
        Language::En => " and ",
        Language::Fr => " et ",
    };
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{}{and}{last}", init.join(", ")),
    }
}

/// What a credit line is made of.
pub struct Credit<'a> {
    /// Bylines, in order.
    pub authors: &'a [&'a str],
    /// The experts as credited, in order.
    pub experts: &'a [&'a str],
    pub outlet: Option<&'a str>,
    pub published_at: DateTime<Utc>,
    /// The item's language, which the line is written in.
    pub language: Language,
}

impl Credit<'_> {
    /// The line as text: "by A and B (feat. X), Outlet, June 29, 2022"; the parts
    /// that are missing are left out with their separators.
    pub fn line(&self) -> String {
        let lang = self.language;
        let (by, feat) = match lang {
            Language::En => ("by", "feat."),
            Language::Fr => ("par", "avec"),
        };
        let mut head = Vec::new();
        if !self.authors.is_empty() {
            head.push(format!("{by} {}", join_names(self.authors, lang)));
        }
        if !self.experts.is_empty() {
            head.push(format!("({feat} {})", join_names(self.experts, lang)));
        }
        let mut parts = Vec::new();
        if !head.is_empty() {
            parts.push(head.join(" "));
        }
        if let Some(o) = self.outlet {
            parts.push(o.to_owned());
        }
        parts.push(long_date(self.published_at, lang));
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn credit_lines_in_both_languages() {
        let june = at("2022-06-29T23:30:00Z");
        let first = at("2022-07-01T00:10:00Z");
        type Row = (
            &'static [&'static str],
            &'static [&'static str],
            Option<&'static str>,
            &'static str,
            Language,
            &'static str,
        );
        #[rustfmt::skip]
        let rows: &[Row] = &[
            (&[], &[], None, "j", Language::En, "June 29, 2022"),
            (&[], &[], None, "j", Language::Fr, "29 juin 2022"),
            (&[], &[], Some("CBC"), "j", Language::En, "CBC, June 29, 2022"),
            (&["A"], &[], None, "j", Language::En, "by A, June 29, 2022"),
            (&["A", "B"], &[], Some("CBC"), "j", Language::En, "by A and B, CBC, June 29, 2022"),
            (&["A", "B", "C"], &[], Some("CBC"), "j", Language::En, "by A, B and C, CBC, June 29, 2022"),
            (&["A", "B", "C"], &[], None, "j", Language::Fr, "par A, B et C, 29 juin 2022"),
            (&[], &["X"], Some("CBC"), "j", Language::En, "(feat. X), CBC, June 29, 2022"),
            (&["A"], &["X"], Some("CBC"), "j", Language::En, "by A (feat. X), CBC, June 29, 2022"),
            (&["A", "B"], &["X", "Y"], Some("Le Devoir"), "j", Language::Fr, "par A et B (avec X et Y), Le Devoir, 29 juin 2022"),
            (&["A"], &["X", "Y"], None, "j", Language::En, "by A (feat. X and Y), June 29, 2022"),
            (&["A"], &["X"], Some("S&P"), "1", Language::Fr, "par A (avec X), S&P, 1er juillet 2022"),
            (&["A"], &["X"], Some("S&P"), "1", Language::En, "by A (feat. X), S&P, July 1, 2022"),
        ];
        for (authors, experts, outlet, when, language, want) in rows {
            let line = Credit {
                authors,
                experts,
                outlet: *outlet,
                published_at: if *when == "1" { first } else { june },
                language: *language,
            }
            .line();
            assert_eq!(&line, want);
        }
    }

    #[test]
    fn long_dates_are_the_utc_day() {
        let t = at("2022-06-30T23:59:00-04:00");
        assert_eq!(long_date(t, Language::En), "July 1, 2022");
        assert_eq!(long_date(t, Language::Fr), "1er juillet 2022");
        assert_eq!(
            long_date(at("2022-12-02T00:00:00Z"), Language::Fr),
            "2 décembre 2022"
        );
    }
}
