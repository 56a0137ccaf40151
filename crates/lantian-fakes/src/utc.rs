//! UTC calendar arithmetic on epoch milliseconds: labels for the fakes' web
//! pages and the ISO 8601 timestamps signed protocols carry.
//!
//! A few lines of Howard Hinnant's algorithms instead of a date library: the
//! fakes only ever need UTC, and a dependency would be pulled into every test.

/// `YYYY-MM-DD HH:MM:SS UTC`; UTC so a page never guesses a time zone.
pub(crate) fn format_label(ms: i64) -> String {
    let (date, time) = split(ms);
    format!("{date} {time} UTC")
}

/// `YYYY-MM-DD HH:MM:SS` with no zone, as PHP's `date('Y-m-d H:i:s')` writes
/// it; the caller shifts `ms` into the zone it means.
pub(crate) fn format_datetime(ms: i64) -> String {
    let (date, time) = split(ms);
    format!("{date} {time}")
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the form Aliyun's `x-acs-date` header takes.
pub(crate) fn format_iso8601(ms: i64) -> String {
    let (date, time) = split(ms);
    format!("{date}T{time}Z")
}

/// Parses exactly `YYYY-MM-DDTHH:MM:SSZ` (no fraction, no offset) into epoch
/// milliseconds; `None` for anything else, impossible dates included.
pub(crate) fn parse_iso8601(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let shape_ok = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if !shape_ok {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0i64, |n, &d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let days = days_from_civil(year, month, day);
    // Round-tripping the date rejects 2023-02-30 and month 13 in one check.
    if civil_from_days(days) != (year, month, day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000)
}

/// `(YYYY-MM-DD, HH:MM:SS)` of an instant, rounded down to the second.
fn split(ms: i64) -> (String, String) {
    let secs = ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let second_of_day = secs.rem_euclid(86_400);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!("{:02}:{:02}:{:02}", second_of_day / 3600, second_of_day % 3600 / 60, second_of_day % 60),
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (`civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The inverse of [`civil_from_days`] (`days_from_civil`); out-of-range
/// months and days give some other date, which the caller's round trip catches.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_labels() {
        assert_eq!(format_label(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_label(1_700_000_000_123), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_label(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_label(-1000), "1969-12-31 23:59:59 UTC");
        assert_eq!(format_datetime(1_700_000_000_123), "2023-11-14 22:13:20");
    }

    #[test]
    fn iso8601_round_trips() {
        assert_eq!(format_iso8601(1_735_689_600_999), "2025-01-01T00:00:00Z");
        assert_eq!(parse_iso8601("2025-01-01T00:00:00Z"), Some(1_735_689_600_000));
        assert_eq!(parse_iso8601("2023-10-26T09:01:01Z"), Some(1_698_310_861_000));
        assert_eq!(parse_iso8601("2000-02-29T23:59:59Z"), Some(951_868_799_000));
        for ms in [0, 951_782_400_000, 1_700_000_000_000, 4_102_444_800_000] {
            assert_eq!(parse_iso8601(&format_iso8601(ms)), Some(ms));
        }
    }

    #[test]
    fn iso8601_rejects_other_shapes_and_impossible_dates() {
        for bad in [
            "",
            "2025-01-01T00:00:00",
            "2025-01-01 00:00:00Z",
            "2025-01-01T00:00:00.000Z",
            "2025-01-01T00:00:00+08:00",
            "2025-1-01T00:00:00Z0",
            "2025-02-29T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-00-10T00:00:00Z",
            "2025-01-32T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01T00:60:00Z",
            "2025-01-01T00:00:60Z",
            "+025-01-01T00:00:00Z",
            "２０２５-01-01T00:00Z",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad:?}");
        }
    }
}
