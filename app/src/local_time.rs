//! Wall-clock labels in the viewer's time zone.
//!
//! The relay speaks UTC; people read their own clock. The zone offset is asked per instant
//! (not once) so a range that crosses a daylight-saving switch labels both sides right.

/// Minutes to add to UTC to get local time at `ms` (e.g. +60 for CET in winter).
#[cfg(target_arch = "wasm32")]
pub fn offset_minutes(ms: i64) -> i64 {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    // getTimezoneOffset is UTC minus local, hence the sign.
    -(date.get_timezone_offset() as i64)
}

#[cfg(not(target_arch = "wasm32"))]
pub fn offset_minutes(_ms: i64) -> i64 {
    0
}

/// UTC epoch ms shifted by the zone offset, so wall-clock arithmetic (whole minutes,
/// midnight) can be done on it with plain division.
pub fn to_local(ms: i64, offset_minutes: impl Fn(i64) -> i64) -> i64 {
    ms + offset_minutes(ms) * 60_000
}

/// `HH:MM:SS` (or `HH:MM` when `seconds` is false) of a local-shifted instant.
pub fn format_clock(local_ms: i64, seconds: bool) -> String {
    let sod = local_ms.div_euclid(1_000).rem_euclid(86_400);
    let (h, m, s) = (sod / 3_600, sod % 3_600 / 60, sod % 60);
    if seconds {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}")
    }
}

/// The local clock time of a UTC instant, as the viewer's browser sees it.
pub fn clock(ms: i64, seconds: bool) -> String {
    format_clock(to_local(ms, offset_minutes), seconds)
}

/// The UTC instant of a `datetime-local` input's value (`YYYY-MM-DDTHH:MM[:SS[.sss]]`, the
/// viewer's wall clock). `None` for anything else, an empty value included.
pub fn parse_input(value: &str, offset_minutes: impl Fn(i64) -> i64) -> Option<i64> {
    let full = match value.len() {
        16 => format!("{value}:00Z"),
        _ => format!("{value}Z"),
    };
    let local = wire::Millis::parse_rfc3339(&full).ok()?.0;
    // The offset belongs to the UTC instant, which is what is being found: guess it from the
    // wall-clock time read as UTC, then correct once (enough outside the hour a clock change
    // skips or repeats, where any answer is as good).
    let guess = local - offset_minutes(local) * 60_000;
    Some(local - offset_minutes(guess) * 60_000)
}

/// A UTC instant as a `datetime-local` input's value, to the minute, on the viewer's clock.
pub fn input_value(ms: i64, offset_minutes: impl Fn(i64) -> i64) -> String {
    let mut s = wire::Millis(to_local(ms, offset_minutes)).to_string();
    s.truncate(16);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_labels_follow_the_zone_offset() {
        // 2024-02-06T16:58:10.400Z
        let t = 1_707_238_690_400;
        assert_eq!(format_clock(to_local(t, |_| 0), true), "16:58:10");
        assert_eq!(format_clock(to_local(t, |_| 0), false), "16:58");
        // Nepal (+05:45), and zones where the local date differs from UTC's.
        assert_eq!(format_clock(to_local(t, |_| 345), true), "22:43:10");
        assert_eq!(format_clock(to_local(t, |_| 480), false), "00:58");
        assert_eq!(format_clock(to_local(t, |_| -600), false), "06:58");
        // Before 1970 a day still runs from midnight to midnight.
        assert_eq!(format_clock(-1_000, true), "23:59:59");
    }

    #[test]
    fn datetime_local_values_read_on_the_viewers_clock() {
        // 2024-02-06T16:58:00Z
        let t = 1_707_238_680_000;
        assert_eq!(parse_input("2024-02-06T16:58", |_| 0), Some(t));
        assert_eq!(parse_input("2024-02-06T16:58:10", |_| 0), Some(t + 10_000));
        // CET: 17:58 on the wall is 16:58 UTC.
        assert_eq!(parse_input("2024-02-06T17:58", |_| 60), Some(t));
        assert_eq!(parse_input("", |_| 0), None);
        assert_eq!(parse_input("yesterday", |_| 0), None);
        assert_eq!(parse_input("2024-02-30T10:00", |_| 0), None);
        assert_eq!(input_value(t + 10_000, |_| 60), "2024-02-06T17:58");
        assert_eq!(parse_input(&input_value(t, |_| 345), |_| 345), Some(t));
    }
}
