//! Dates on the Smart-NIC wire. `domainInfo` and `domainListExtended` return Unix
//! timestamps in strings; Smart-NIC is a German registrar, so a timestamp is read as a
//! calendar day in Europe/Berlin (midnight Berlin is 22:00 or 23:00 UTC the day before).
//! How `startDate` must be written is not documented; see [`StartDateFormat`].

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// How `startDate` (domainDelete, domainTransit) is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartDateFormat {
    /// A Unix timestamp in a string, like every date Smart-NIC itself returns. Noon UTC of
    /// the day, which is the same calendar day in UTC and in Berlin whichever the server
    /// converts with.
    #[default]
    UnixTimestamp,
    /// `YYYY-MM-DD`.
    IsoDate,
}

/// `startDate` for `date` in `format`.
pub fn format_start_date(date: NaiveDate, format: StartDateFormat) -> String {
    match format {
        StartDateFormat::UnixTimestamp => date
            .and_time(NaiveTime::from_hms_opt(12, 0, 0).expect("noon exists"))
            .and_utc()
            .timestamp()
            .to_string(),
        StartDateFormat::IsoDate => date.format("%Y-%m-%d").to_string(),
    }
}

/// A date as Smart-NIC sends it: a Unix timestamp (the rule), or `YYYY-MM-DD[ …]` or
/// `DD.MM.YYYY` (tolerated). Empty, `0` and `0000-00-00` mean "no date".
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if text.is_empty() || text == "0" || text.starts_with("0000-00-00") {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: i64 = text.parse().ok()?;
        return DateTime::from_timestamp(seconds, 0).map(berlin_date);
    }
    if let Some(day) = text.get(0..10).and_then(domwatch_core::date::parse_ymd) {
        return Some(day);
    }
    NaiveDate::parse_from_str(text, "%d.%m.%Y").ok()
}

/// The calendar day in Europe/Berlin at `instant`: UTC+1, UTC+2 in summer time (from the
/// last Sunday of March to the last Sunday of October, 01:00 UTC both).
pub fn berlin_date(instant: DateTime<Utc>) -> NaiveDate {
    let year = instant.year();
    let switch = |month: u32| {
        last_sunday(year, month)
            .and_time(NaiveTime::from_hms_opt(1, 0, 0).expect("valid"))
            .and_utc()
    };
    let summer = instant >= switch(3) && instant < switch(10);
    let offset = if summer { 2 } else { 1 };
    (instant + Duration::hours(offset)).date_naive()
}

/// Midnight in Berlin at the start of `day`, as a Unix timestamp (how the sandbox writes
/// the dates Smart-NIC returns).
pub fn berlin_midnight_timestamp(day: NaiveDate) -> i64 {
    let utc_midnight = day.and_time(NaiveTime::MIN).and_utc();
    for offset in [2, 1] {
        let candidate = utc_midnight - Duration::hours(offset);
        if berlin_date(candidate) == day && berlin_date(candidate - Duration::seconds(1)) != day {
            return candidate.timestamp();
        }
    }
    utc_midnight.timestamp() - 3600
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("valid month");
    let mut day = first_of_next - Duration::days(1);
    while day.weekday() != Weekday::Sun {
        day -= Duration::days(1);
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn timestamps_are_berlin_days() {
        // 2027-01-01 00:00 in Berlin (winter, UTC+1) is 2026-12-31 23:00 UTC.
        assert_eq!(parse_date("1798758000"), Some(day(2027, 1, 1)));
        // 2027-07-01 00:00 in Berlin (summer, UTC+2) is 2027-06-30 22:00 UTC.
        assert_eq!(parse_date("1814392800"), Some(day(2027, 7, 1)));
        // The peer fixture's orderDate: 2003-01-12 06:29:19 UTC.
        assert_eq!(parse_date("1042352959"), Some(day(2003, 1, 12)));
    }

    #[test]
    fn other_spellings_and_empty_dates() {
        assert_eq!(parse_date("2027-01-01"), Some(day(2027, 1, 1)));
        assert_eq!(parse_date("2027-01-01 10:00:00"), Some(day(2027, 1, 1)));
        assert_eq!(parse_date("01.02.2027"), Some(day(2027, 2, 1)));
        for empty in [
            "",
            " ",
            "0",
            "0000-00-00",
            "0000-00-00 00:00:00",
            "soon",
            "-5",
        ] {
            assert_eq!(parse_date(empty), None, "{empty:?}");
        }
    }

    #[test]
    fn berlin_midnight_round_trips_all_year() {
        let mut d = day(2026, 1, 1);
        while d < day(2028, 1, 1) {
            let ts = berlin_midnight_timestamp(d);
            assert_eq!(parse_date(&ts.to_string()), Some(d), "{d}");
            // One second earlier is the day before.
            assert_eq!(parse_date(&(ts - 1).to_string()), d.pred_opt(), "{d}");
            d = d.succ_opt().unwrap();
        }
    }

    #[test]
    fn start_dates_are_the_same_day_in_utc_and_berlin() {
        let d = day(2027, 3, 28); // the day summer time starts
        let ts = format_start_date(d, StartDateFormat::UnixTimestamp);
        assert_eq!(ts, "1806235200");
        assert_eq!(parse_date(&ts), Some(d));
        let utc = DateTime::from_timestamp(ts.parse().unwrap(), 0).unwrap();
        assert_eq!(utc.date_naive(), d);
        assert_eq!(format_start_date(d, StartDateFormat::IsoDate), "2027-03-28");
    }
}
