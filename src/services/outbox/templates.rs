//! The e-mails' words: askama templates under `templates/mail/`, a text and
//! an HTML one per message (the HTML escapes every value), English or French
//! by the recipient's language.

use askama::Template;

use super::Message;
use crate::domain::Language;
use crate::error::{AppError, AppResult};

fn render(t: &impl Template) -> AppResult<String> {
    t.render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("an e-mail template failed: {e}")))
}

/// The sign-in link's words.
#[derive(Template)]
#[template(path = "mail/sign_in.txt")]
struct SignInText<'a> {
    fr: bool,
    link: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "mail/sign_in.html")]
struct SignInHtml<'a> {
    fr: bool,
    link: &'a str,
    minutes: i64,
}

/// The message carrying a reader's one-time sign-in `link`, valid `minutes`.
pub fn sign_in_message(
    to: &str,
    language: Language,
    link: &str,
    minutes: i64,
) -> AppResult<Message> {
    let fr = language == Language::Fr;
    Ok(Message {
        kind: "reader_sign_in",
        to: to.to_owned(),
        subject: if fr {
            "Votre lien de connexion".into()
        } else {
            "Your sign-in link".into()
        },
        text: render(&SignInText { fr, link, minutes })?,
        html: render(&SignInHtml { fr, link, minutes })?,
        headers: vec![],
    })
}

#[derive(Template)]
#[template(path = "mail/test.txt")]
struct TestText {
    fr: bool,
}

#[derive(Template)]
#[template(path = "mail/test.html")]
struct TestHtml {
    fr: bool,
}

/// The message of `mediadesk mail test`: proves the mail set-up end to end.
pub fn test_message(to: &str, language: Language) -> AppResult<Message> {
    let fr = language == Language::Fr;
    Ok(Message {
        kind: "test",
        to: to.to_owned(),
        subject: if fr {
            "Message d'essai de mediadesk".into()
        } else {
            "mediadesk test message".into()
        },
        text: render(&TestText { fr })?,
        html: render(&TestHtml { fr })?,
        headers: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_part_escapes_what_it_is_given() {
        let m = sign_in_message(
            "a@example.org",
            Language::En,
            "https://x.test/?a=1&b=<2>",
            15,
        )
        .expect("rendered");
        assert!(
            m.html.contains("https://x.test/?a=1&#38;b=&#60;2&#62;")
                || m.html.contains("&amp;b=&lt;2&gt;"),
            "{}",
            m.html
        );
        assert!(m.text.contains("https://x.test/?a=1&b=<2>"));
        let fr = sign_in_message("a@example.org", Language::Fr, "https://x.test/", 15)
            .expect("rendered");
        assert!(fr.text.contains("15 minutes") && fr.subject.contains("connexion"));
    }
}
