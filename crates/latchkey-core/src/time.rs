//! Calendar arithmetic for Unix times, without a clock: the one place that turns seconds
//! into a civil UTC date. Callers pass the time in.

/// A Unix time as a UTC calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcDateTime {
    /// The proleptic Gregorian year.
    pub year: i64,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
    /// 0–23.
    pub hour: u32,
    /// 0–59.
    pub minute: u32,
    /// 0–59.
    pub second: u32,
}

impl UtcDateTime {
    /// The date and time of `unix` seconds (negative: before 1970).
    pub fn from_unix(unix: i64) -> Self {
        let days = unix.div_euclid(86_400);
        let secs = unix.rem_euclid(86_400);
        // Civil date from days since 1970-01-01 (proleptic Gregorian).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        // Each part is within its range by construction.
        let part = |v: i64| u32::try_from(v).unwrap_or_default();
        Self {
            year,
            month: part(month),
            day: part(day),
            hour: part(secs / 3600),
            minute: part(secs % 3600 / 60),
            second: part(secs % 60),
        }
    }
}

/// `new Date(unix * 1000).toISOString()`: `2026-11-21T05:22:00.000Z`, and JavaScript's
/// extended form (`+010000-01-01T…`, `-000001-…`) outside years 0–9999.
pub fn iso8601_utc(unix: i64) -> String {
    let t = UtcDateTime::from_unix(unix);
    let year = match t.year {
        0..=9999 => format!("{:04}", t.year),
        y if y > 9999 => format!("+{y:06}"),
        y => format!("-{:06}", -y),
    };
    format!("{year}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z", t.month, t.day, t.hour, t.minute, t.second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_is_javascript_s_to_iso_string() {
        assert_eq!(iso8601_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_utc(1000), "1970-01-01T00:16:40.000Z");
        assert_eq!(iso8601_utc(951_782_400), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601_utc(1_795_256_074), "2026-11-21T10:14:34.000Z");
        assert_eq!(iso8601_utc(1_893_456_000), "2030-01-01T00:00:00.000Z");
        assert_eq!(iso8601_utc(253_402_300_799), "9999-12-31T23:59:59.000Z");
        assert_eq!(iso8601_utc(253_402_300_800), "+010000-01-01T00:00:00.000Z");
        assert_eq!(iso8601_utc(-1), "1969-12-31T23:59:59.000Z");
        assert_eq!(iso8601_utc(-62_198_755_200), "-000001-01-01T00:00:00.000Z");
    }

    #[test]
    fn every_day_of_four_centuries_round_trips_through_the_calendar() {
        // Day by day from 1900 to 2300: the date advances by exactly one day each time.
        let mut previous = UtcDateTime::from_unix(-2_208_988_800);
        assert_eq!((previous.year, previous.month, previous.day), (1900, 1, 1));
        for day in 1..146_097 {
            let t = UtcDateTime::from_unix(-2_208_988_800 + day * 86_400 + 3_723);
            assert_eq!((t.hour, t.minute, t.second), (1, 2, 3));
            let next_day = t.day == previous.day + 1 && t.month == previous.month;
            let next_month = t.day == 1
                && (t.month == previous.month + 1 || (t.month == 1 && previous.month == 12));
            assert!(next_day || next_month, "{previous:?} → {t:?}");
            if t.month == 1 && t.day == 1 {
                assert_eq!(t.year, previous.year + 1);
            }
            previous = t;
        }
    }
}
