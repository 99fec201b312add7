//! Newsletter mail: the confirmation message and an issue, text and HTML from
//! askama templates (`templates/mail/newsletter_*`; the HTML escapes every
//! value, so a hostile title stays text), English or French by the
//! subscriber's language.

use askama::Template;
use chrono::{DateTime, Utc};

use super::{Item, Links};
use crate::domain::Language;
use crate::entities::newsletter;
use crate::error::{AppError, AppResult};
use crate::services::outbox::Message;

fn render(t: &impl Template) -> AppResult<String> {
    t.render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("a newsletter template failed: {e}")))
}

#[derive(Template)]
#[template(path = "mail/newsletter_confirm.txt")]
struct ConfirmText<'a> {
    fr: bool,
    list: &'a str,
    link: &'a str,
    days: i64,
}

#[derive(Template)]
#[template(path = "mail/newsletter_confirm.html")]
struct ConfirmHtml<'a> {
    fr: bool,
    list: &'a str,
    link: &'a str,
    days: i64,
}

/// The double opt-in message: `link` confirms the subscription to `list`
/// within `days` days.
pub fn confirm_message(
    to: &str,
    language: Language,
    list: &str,
    link: &str,
    days: i64,
) -> AppResult<Message> {
    let fr = language == Language::Fr;
    Ok(Message {
        kind: "newsletter_confirm",
        to: to.to_owned(),
        subject: if fr {
            format!("Confirmez votre abonnement : {list}")
        } else {
            format!("Confirm your subscription: {list}")
        },
        text: render(&ConfirmText {
            fr,
            list,
            link,
            days,
        })?,
        html: render(&ConfirmHtml {
            fr,
            list,
            link,
            days,
        })?,
        headers: vec![],
    })
}

#[derive(Template)]
#[template(path = "mail/newsletter_issue.txt")]
struct IssueText<'a> {
    fr: bool,
    list: &'a str,
    from: &'a str,
    to: &'a str,
    articles: &'a [Item],
    events: &'a [Item],
    unsubscribe: &'a str,
}

#[derive(Template)]
#[template(path = "mail/newsletter_issue.html")]
struct IssueHtml<'a> {
    fr: bool,
    list: &'a str,
    from: &'a str,
    to: &'a str,
    articles: &'a [Item],
    events: &'a [Item],
    unsubscribe: &'a str,
}

/// One issue of `list` for one subscriber (`subscription`): the articles and
/// events of `period`, its signed unsubscribe link in the text and as
/// `List-Unsubscribe` (RFC 8058 one-click).
#[allow(clippy::too_many_arguments)]
pub fn issue_message(
    to: &str,
    language: Language,
    list: &newsletter::Model,
    articles: &[Item],
    events: &[Item],
    period: (DateTime<Utc>, DateTime<Utc>),
    links: &Links,
    subscription: i32,
) -> AppResult<Message> {
    let fr = language == Language::Fr;
    let from = period.0.format("%Y-%m-%d").to_string();
    let until = period.1.format("%Y-%m-%d").to_string();
    let unsubscribe = links.unsubscribe_page(subscription);
    let t = IssueText {
        fr,
        list: &list.name,
        from: &from,
        to: &until,
        articles,
        events,
        unsubscribe: &unsubscribe,
    };
    let h = IssueHtml {
        fr,
        list: &list.name,
        from: &from,
        to: &until,
        articles,
        events,
        unsubscribe: &unsubscribe,
    };
    Ok(Message {
        kind: "newsletter_issue",
        to: to.to_owned(),
        subject: if fr {
            format!("{} – du {from} au {until}", list.name)
        } else {
            format!("{} – {from} to {until}", list.name)
        },
        text: render(&t)?,
        html: render(&h)?,
        headers: vec![
            (
                "List-Unsubscribe".into(),
                format!("<{}>", links.one_click(subscription)),
            ),
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            ),
            (
                "List-Id".into(),
                format!("{} <{}.newsletters.mediadesk>", list.name, list.slug)
                    .replace(['\r', '\n'], " "),
            ),
        ],
    })
}
