//! Dates as clients send them: a calendar date (`2022-06-29`, midnight UTC) or an
//! RFC 3339 date-time. Impossible dates (`2022-02-30`) are refused.

use chrono::{DateTime, NaiveDate, Utc};

/// Parses a date or an RFC 3339 date-time into UTC.
pub fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(dt) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(dt.and_utc());
    }
    Err(format!(
        "{s:?} is not a valid date (YYYY-MM-DD) or RFC 3339 date-time"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dates_and_datetimes_and_refuses_impossible_ones() {
        assert_eq!(
            parse_timestamp("2022-06-29").unwrap().to_rfc3339(),
            "2022-06-29T00:00:00+00:00"
        );
        assert_eq!(
            parse_timestamp("2022-06-29T10:00:00-04:00")
                .unwrap()
                .to_rfc3339(),
            "2022-06-29T14:00:00+00:00"
        );
        assert!(parse_timestamp("2022-02-30").is_err());
        assert!(parse_timestamp("yesterday").is_err());
    }
}
