//! Calendar arithmetic on plain numbers: ISO dates and date-times as days or
//! minutes (or seconds) since 1970-01-01 (UTC), so domain code stays pure and testable.

/// Parses a strict `YYYY-MM-DD` date (proleptic Gregorian) into days since 1970-01-01.
pub fn days_from_iso_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = parse_digits(&b[0..4])?;
    let month = parse_digits(&b[5..7])?;
    let day = parse_digits(&b[8..10])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Formats days since 1970-01-01 as `YYYY-MM-DD` (years outside 0000–9999 are not zero-padded to 4 digits).
pub fn iso_date_from_days(days: i64) -> String {
    // Howard Hinnant's civil_from_days, in i128 so no input can overflow.
    let z = i128::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn parse_digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Howard Hinnant's days_from_civil: days since 1970-01-01 of a valid date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// Parses `YYYY-MM-DDTHH:MM` (seconds, a `Z` or `+00:00` suffix allowed and
/// ignored beyond the minute) into minutes since 1970-01-01T00:00Z.
pub fn minutes_from_iso_datetime(s: &str) -> Option<i64> {
    seconds_from_iso_datetime(s).map(|seconds| seconds.div_euclid(60))
}

/// Parses `YYYY-MM-DDTHH:MM[:SS[.fff]]` (a `Z` or `+00:00` suffix allowed,
/// fractions of a second ignored) into seconds since 1970-01-01T00:00Z.
pub fn seconds_from_iso_datetime(s: &str) -> Option<i64> {
    let s = s.trim_end_matches('Z').trim_end_matches("+00:00");
    let (date, time) = s.split_once('T')?;
    let days = days_from_iso_date(date)?;
    let t = time.as_bytes();
    if t.len() < 5 || t[2] != b':' || (t.len() > 5 && t[5] != b':') {
        return None;
    }
    let hour = parse_digits(&t[0..2])?;
    let minute = parse_digits(&t[3..5])?;
    let mut second = 0;
    if t.len() > 5 {
        let seconds = time.get(6..)?;
        let whole = seconds.split('.').next()?;
        if whole.len() != 2 {
            return None;
        }
        second = parse_digits(whole.as_bytes())?;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Formats minutes since the epoch as `YYYY-MM-DDTHH:MM:00Z`.
pub fn iso_datetime_from_minutes(minutes: i64) -> String {
    let days = minutes.div_euclid(1440);
    let rest = minutes.rem_euclid(1440);
    format!(
        "{}T{:02}:{:02}:00Z",
        iso_date_from_days(days),
        rest / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_round_trip_through_minutes() {
        let m = minutes_from_iso_datetime("2026-03-01T09:30").expect("valid");
        assert_eq!(iso_datetime_from_minutes(m), "2026-03-01T09:30:00Z");
        assert_eq!(minutes_from_iso_datetime("2026-03-01T09:30:15Z"), Some(m));
        assert_eq!(minutes_from_iso_datetime("1970-01-01T00:01"), Some(1));
    }

    #[test]
    fn datetimes_parse_to_the_second() {
        assert_eq!(
            seconds_from_iso_datetime("1970-01-01T00:01:05.999Z"),
            Some(65)
        );
        assert_eq!(seconds_from_iso_datetime("1970-01-02T00:00"), Some(86_400));
        assert_eq!(seconds_from_iso_datetime("2026-03-01T09:30:60Z"), None);
    }

    #[test]
    fn invalid_datetimes_are_rejected() {
        for bad in [
            "2026-03-01",
            "2026-03-01T24:00",
            "2026-02-30T10:00",
            "2026-03-01T9:30",
            "x",
        ] {
            assert_eq!(minutes_from_iso_datetime(bad), None, "{bad}");
        }
    }
}
