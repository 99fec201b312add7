//! Closed vocabularies of the content model, stored as lowercase strings.

use std::fmt;
use std::str::FromStr;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        concat!("unknown ", $what, " {:?}; expected one of: {}"),
                        other,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Language of an article or a text: the site is bilingual.
    Language, "language" { En => "en", Fr => "fr" }
);
string_enum!(
    /// Editorial state of an article or event.
    ArticleStatus, "status" { Draft => "draft", Published => "published", Archived => "archived" }
);
string_enum!(
    /// What sort of outlet published a mention.
    OutletKind, "outlet kind" {
        Newspaper => "newspaper", Magazine => "magazine", Tv => "tv", Radio => "radio",
        Wire => "wire", Online => "online", Podcast => "podcast", Other => "other",
    }
);
string_enum!(
    /// What sort of event the institute holds.
    EventKind, "event kind" {
        Conference => "conference", Roundtable => "roundtable", Webinar => "webinar",
        Briefing => "briefing", Other => "other",
    }
);
string_enum!(
    /// What coverage statistics are grouped by: a subject (expert, outlet,
    /// topic, language) or a period (calendar month, ISO week; UTC).
    MentionGroup, "group" {
        Expert => "expert", Outlet => "outlet", Topic => "topic", Language => "language",
        Month => "month", Week => "week",
    }
);
string_enum!(
    /// Account roles, in increasing power.
    Role, "role" { Contributor => "contributor", Editor => "editor", Admin => "admin" }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_names_the_choices_on_error() {
        assert_eq!("FR".parse::<Language>(), Ok(Language::Fr));
        assert_eq!(" tv ".parse::<OutletKind>(), Ok(OutletKind::Tv));
        let err = "de".parse::<Language>().unwrap_err();
        assert!(err.contains("en, fr"), "{err}");
    }
}
