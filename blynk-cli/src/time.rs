//! Timestamps and durations as people type them, parsed by `jiff`: RFC 3339 with `Z` or an offset
//! (`2024-01-01T12:00:00Z`, `2024-01-01T14:00:00.250+02:00`), epoch milliseconds
//! (`1704110400000`, negative before 1970), `now`, and spans relative to now (`-1h`, `-7d`,
//! `-1h30m`, `+10m`).

use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};

/// The forms a time may take, for help texts and hints.
pub const TIME_FORMS: &str = "RFC 3339 with Z or an offset (2024-01-01T00:00:00Z), epoch \
milliseconds (1704067200000), now, or a span before or after now (-1h, -7d, -1h30m, +10m)";

/// Milliseconds since the epoch of `text`, with relative forms counted from `now`. Errors say what
/// is wrong with `text`, not which forms are accepted: callers add [`TIME_FORMS`] where it fits
/// (a hint, or a file error's message), so that it is not said twice.
pub fn parse_millis(text: &str, now: Timestamp) -> Result<i64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("an empty time".to_string());
    }
    let digits = t.strip_prefix('-').unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let millis: i64 = t
            .parse()
            .map_err(|_| format!("`{t}` is too large for epoch milliseconds"))?;
        return Timestamp::from_millisecond(millis)
            .map(|ts| ts.as_millisecond())
            .map_err(|_| format!("`{t}` is outside the years -9999..=9999"));
    }
    if t.eq_ignore_ascii_case("now") {
        return Ok(now.as_millisecond());
    }
    if t.starts_with(['-', '+']) {
        let span: Span = t
            .parse()
            .map_err(|_| format!("`{t}` is not a span such as -1h, -7d or -1h30m"))?;
        return now
            .to_zoned(TimeZone::UTC)
            .checked_add(span)
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|_| format!("`{t}` from now is outside the years -9999..=9999"));
    }
    t.parse::<Timestamp>()
        .map(|ts| ts.as_millisecond())
        .map_err(|_| format!("`{t}` is not a time"))
}

/// RFC 3339 in UTC with milliseconds, e.g. `2024-01-01T00:00:00.000Z`.
pub fn format_millis(millis: i64) -> String {
    match Timestamp::from_millisecond(millis) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => format!("{millis} ms"),
    }
}

/// A timeout: `30s`, `500ms`, `2m`, or a number of seconds (`30`, `0.5`).
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let duration = match t.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 => {
            Duration::from_secs_f64(secs)
        }
        Ok(_) => return Err(format!("`{t}` is not between 0 and 86400 seconds")),
        Err(_) => {
            let d: SignedDuration = t
                .parse()
                .map_err(|_| format!("`{t}` is not a duration such as 30s, 500ms or 2m"))?;
            Duration::try_from(d)
                .ok()
                .filter(|d| !d.is_zero() && d.as_secs() <= 86_400)
                .ok_or_else(|| format!("`{t}` is not between 0 and 86400 seconds"))?
        }
    };
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::from_millisecond(1_704_067_200_000).unwrap()
    }

    fn parse(text: &str) -> Result<i64, String> {
        parse_millis(text, now())
    }

    #[test]
    fn rfc3339_and_epoch_millis_parse() {
        assert_eq!(parse("1704067200000"), Ok(1_704_067_200_000));
        assert_eq!(parse("-1000"), Ok(-1000));
        assert_eq!(parse("2024-01-01T00:00:00Z"), Ok(1_704_067_200_000));
        assert_eq!(parse("2024-01-01T02:00:00.25+02:00"), Ok(1_704_067_200_250));
        assert_eq!(parse("2023-12-31T19:00:00-05:00"), Ok(1_704_067_200_000));
        assert_eq!(parse("2024-02-29T00:00:00Z"), Ok(1_709_164_800_000));
        assert_eq!(parse("1970-01-01T00:00:00Z"), Ok(0));
    }

    #[test]
    fn now_and_spans_count_from_now() {
        assert_eq!(parse("now"), Ok(1_704_067_200_000));
        assert_eq!(parse("-1h"), Ok(1_704_067_200_000 - 3_600_000));
        assert_eq!(parse("-7d"), Ok(1_704_067_200_000 - 7 * 86_400_000));
        assert_eq!(parse("-1h30m"), Ok(1_704_067_200_000 - 5_400_000));
        assert_eq!(parse("+10m"), Ok(1_704_067_200_000 + 600_000));
    }

    #[test]
    fn malformed_times_are_refused_without_panicking() {
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "yesterday",
            "2024-01-01T25:00:00Z",
            "2024-01-01T00:00:00+2:00",
            "2024-01-01T00:00:00+0é00",
            "99999999999999999999",
            "-",
            "-x",
            "",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for ms in [0, 1_704_067_200_250, 951_782_400_000, 4_102_444_799_999, -1] {
            assert_eq!(parse(&format_millis(ms)), Ok(ms), "{ms}");
        }
        assert_eq!(format_millis(1_704_067_200_250), "2024-01-01T00:00:00.250Z");
    }

    #[test]
    fn timeouts_take_units_or_seconds() {
        assert_eq!(parse_timeout("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        for bad in ["0", "-1", "NaN", "inf", "1e9", "soon", "-5s"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }
}
