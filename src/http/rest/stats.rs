//! `GET /api/v1/stats/mentions`: coverage statistics (`services::stats`) as
//! JSON, or as CSV when the client asks for `text/csv` in `Accept`. A public,
//! cacheable read like the others (`http::conditional`); the format is part of
//! the answer's identity, and `Vary: Accept` tells shared caches.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use crate::domain::{FieldError, MentionGroup, MentionStatsQuery};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::http::conditional::{Public, Validator, respond};
use crate::services;
use crate::services::stats::MentionStats;

use super::params::Params;

/// The statistics for the query string; 400 naming each bad parameter.
pub async fn mention_stats(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let q = query(&req)?;
    let csv = crate::http::accept::prefers(&req, "text/csv");
    let format: &[u8] = if csv { b"csv" } else { b"json" };
    let q = &q;
    let mut res = respond(
        &req,
        &state,
        Public::url("rest", &req, Validator::Stamp).with(format),
        |db| async move {
            let s = services::stats::mentions(db, q).await?;
            let rows = rows(&s);
            Ok(if csv {
                csv_response(q, &rows)?
            } else {
                json_response(q, &s, rows)
            })
        },
    )
    .await?;
    crate::http::accept::vary_on_accept(&mut res);
    Ok(res)
}

fn query(req: &HttpRequest) -> AppResult<MentionStatsQuery> {
    let mut p = Params::parse(req.query_string())?;
    let group_by = group_by(&mut p);
    let filter = super::handlers::article_filter(&mut p);
    let roll_up = p.boolean("roll_up").unwrap_or(false);
    let limit = p.count(
        "limit",
        MentionStatsQuery::DEFAULT_LIMIT as u64,
        MentionStatsQuery::MAX_LIMIT as u64,
    );
    p.finish()?;
    MentionStatsQuery::new(group_by, filter, roll_up, Some(limit as i64))
        .map_err(AppError::Validation)
}

/// `group_by=expert,month`: required, comma-separated.
fn group_by(p: &mut Params) -> Vec<MentionGroup> {
    let Some(v) = p.str("group_by").map(str::to_owned) else {
        p.push(FieldError::new(
            "group_by",
            "is required (e.g. expert,month)",
        ));
        return vec![];
    };
    v.split(',')
        .filter_map(|k| p.check("group_by", k.parse::<MentionGroup>()))
        .collect()
}

/// The columns of a key: its value, then its label when it has one.
fn columns(g: MentionGroup) -> (&'static str, Option<&'static str>) {
    match g {
        MentionGroup::Expert => ("expert", Some("expert_name")),
        MentionGroup::Outlet => ("outlet", Some("outlet_name")),
        MentionGroup::Topic => ("topic", Some("topic_name")),
        MentionGroup::Language => ("language", None),
        MentionGroup::Month => ("month", None),
        MentionGroup::Week => ("week", Some("week_start")),
    }
}

fn header_row(q: &MentionStatsQuery) -> Vec<&'static str> {
    let mut h = Vec::new();
    for g in &q.group_by {
        let (v, l) = columns(*g);
        h.push(v);
        h.extend(l);
    }
    h.push("count");
    h
}

/// Each group as (column, value) pairs in the header's order.
fn rows(s: &MentionStats) -> Vec<Vec<(&'static str, Value)>> {
    s.groups
        .iter()
        .map(|g| {
            let mut r = Vec::new();
            for k in &g.keys {
                let (v, l) = columns(k.group);
                r.push((v, Value::from(k.value.clone())));
                if let Some(l) = l {
                    r.push((l, Value::from(k.label.clone())));
                }
            }
            r.push(("count", Value::from(g.count)));
            r
        })
        .collect()
}

fn json_response(
    q: &MentionStatsQuery,
    s: &MentionStats,
    rows: Vec<Vec<(&'static str, Value)>>,
) -> HttpResponse {
    let data: Vec<Map<String, Value>> = rows
        .into_iter()
        .map(|r| r.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
        .collect();
    HttpResponse::Ok().json(json!({
        "data": data,
        "meta": {
            "group_by": q.group_by,
            "total": s.total,
            "groups": s.group_count,
            "truncated": s.group_count > s.groups.len(),
            "limit": q.limit,
        }
    }))
}

/// RFC 4180 CSV with a header row; a text cell that a spreadsheet would take
/// for a formula (`=`, `+`, `-`, `@`, tab, carriage return first) is prefixed
/// with `'`.
fn csv_response(
    q: &MentionStatsQuery,
    rows: &[Vec<(&'static str, Value)>],
) -> AppResult<HttpResponse> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| AppError::Internal(anyhow::anyhow!("writing CSV: {e}"));
    w.write_record(header_row(q)).map_err(csv_err)?;
    for r in rows {
        w.write_record(r.iter().map(|(_, v)| cell(v)))
            .map_err(csv_err)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing CSV: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8; header=present")
        .body(body))
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{s}"),
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_defused_and_others_kept() {
        assert_eq!(cell(&json!("=HYPERLINK(\"x\")")), "'=HYPERLINK(\"x\")");
        assert_eq!(cell(&json!("@SUM(A1)")), "'@SUM(A1)");
        assert_eq!(cell(&json!("Jean-Pierre")), "Jean-Pierre");
        assert_eq!(cell(&json!(12)), "12");
        assert_eq!(cell(&Value::Null), "");
    }
}
