//! Calendar dates as registrars and WHMCS write them.

use chrono::NaiveDate;

/// `YYYY-MM-DD` as `NaiveDate::parse_from_str(text, "%Y-%m-%d")` reads it, but without
/// interpreting the format string for the common zero-padded form: a cycle parses a few
/// million dates, and the format walk was a measurable share of its CPU. Other spellings
/// (unpadded, signed years) take chrono's path and give exactly its answer.
pub fn parse_ymd(text: &str) -> Option<NaiveDate> {
    match text.as_bytes() {
        [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] => {
            let year = digits(&[*y0, *y1, *y2, *y3])?;
            let month = digits(&[*m0, *m1])?;
            let day = digits(&[*d0, *d1])?;
            NaiveDate::from_ymd_opt(year as i32, month, day)
        }
        _ => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_chrono_reads_and_nothing_else() {
        let samples = [
            "2026-12-02",
            "0000-00-00",
            "2026-02-29",
            "2024-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-5",
            "+2026-01-05",
            "2026-01-0x",
            "2026/01/05",
            "99999-01-01",
            "",
            " 2026-01-05",
            "2026-01-05 ",
            "١٢٣٤-01-05",
        ];
        for text in samples {
            let chrono = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
            assert_eq!(parse_ymd(text), chrono, "{text:?}");
        }
        assert_eq!(
            parse_ymd("2026-12-02"),
            NaiveDate::from_ymd_opt(2026, 12, 2)
        );
    }
}
