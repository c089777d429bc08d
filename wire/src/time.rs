//! Instants as Unix milliseconds, written as RFC 3339 UTC with millisecond precision.
//!
//! Hand-written rather than taken from `chrono`/`time`: the relay parses `meta.dt` of every
//! event on its hot path, and the dashboard's wasm should not carry a calendar library for
//! two conversions.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("not an RFC 3339 date-time (expected YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM))")]
    Syntax,
    #[error("date-time field out of range")]
    Range,
}

impl Millis {
    pub const SECOND: i64 = 1_000;

    /// The start of the whole second this instant falls in (floors negative instants too).
    pub fn floor_second(self) -> Millis {
        Millis(self.0.div_euclid(Self::SECOND) * Self::SECOND)
    }

    pub fn plus(self, ms: i64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS`, optional fraction (any number of digits, truncated to
    /// milliseconds) and `Z` or a `±HH:MM` offset: every form Wikimedia has sent
    /// (`…Z`, `…+00:00`, with and without milliseconds).
    pub fn parse_rfc3339(s: &str) -> Result<Millis, TimeError> {
        let b = s.as_bytes();
        if b.len() < 20 {
            return Err(TimeError::Syntax);
        }
        let num = |range: std::ops::Range<usize>| -> Result<i64, TimeError> {
            let mut v = 0i64;
            for &c in &b[range] {
                if !c.is_ascii_digit() {
                    return Err(TimeError::Syntax);
                }
                v = v * 10 + i64::from(c - b'0');
            }
            Ok(v)
        };
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return Err(TimeError::Syntax);
        }
        if b[13] != b':' || b[16] != b':' {
            return Err(TimeError::Syntax);
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            // 60 is a leap second; it is folded into the next second like POSIX time does.
            || second > 60
        {
            return Err(TimeError::Range);
        }

        let mut i = 19;
        let mut millis = 0i64;
        if b[i] == b'.' {
            i += 1;
            let digits_start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - digits_start < 3 {
                    millis = millis * 10 + i64::from(b[i] - b'0');
                }
                i += 1;
            }
            let digits = i - digits_start;
            if digits == 0 {
                return Err(TimeError::Syntax);
            }
            for _ in digits..3 {
                millis *= 10;
            }
        }
        let offset_minutes = match &b[i..] {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let digit = |c: u8| {
                    if c.is_ascii_digit() {
                        Ok(i64::from(c - b'0'))
                    } else {
                        Err(TimeError::Syntax)
                    }
                };
                let (h, m) = (
                    digit(*h1)? * 10 + digit(*h2)?,
                    digit(*m1)? * 10 + digit(*m2)?,
                );
                if h > 23 || m > 59 {
                    return Err(TimeError::Range);
                }
                let minutes = h * 60 + m;
                if *sign == b'+' { minutes } else { -minutes }
            }
            _ => return Err(TimeError::Syntax),
        };

        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
        Ok(Millis(secs * 1_000 + millis))
    }
}

impl fmt::Display for Millis {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, always UTC and always three fraction digits, so the
    /// strings sort like the instants they name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1_000);
        let ms = self.0.rem_euclid(1_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            sod / 3_600,
            sod % 3_600 / 60,
            sod % 60
        )
    }
}

impl Serialize for Millis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Millis::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_form_wikimedia_sends() {
        let want = Millis(1_707_238_690_000);
        assert_eq!(Millis::parse_rfc3339("2024-02-06T16:58:10Z"), Ok(want));
        assert_eq!(Millis::parse_rfc3339("2024-02-06T16:58:10+00:00"), Ok(want));
        assert_eq!(
            Millis::parse_rfc3339("2024-02-06T16:58:10.724Z"),
            Ok(want.plus(724))
        );
        assert_eq!(
            Millis::parse_rfc3339("2024-02-06T16:58:10.7Z"),
            Ok(want.plus(700))
        );
        assert_eq!(
            Millis::parse_rfc3339("2024-02-06T16:58:10.123456Z"),
            Ok(want.plus(123))
        );
        assert_eq!(Millis::parse_rfc3339("2024-02-06T18:58:10+02:00"), Ok(want));
        assert_eq!(Millis::parse_rfc3339("2024-02-06T15:58:10-01:00"), Ok(want));
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        for bad in [
            "",
            "2024-02-06",
            "2024-02-06T16:58:10",
            "2024-02-06T16:58:10.Z",
            "2024-02-06T16:58:10ZZ",
            "2024-02-06X16:58:10Z",
            "2024-0a-06T16:58:10Z",
            "2024-02-06T16:58:10+0000",
            "2024-02-06T16:58:10.123+00:00junk",
        ] {
            assert_eq!(
                Millis::parse_rfc3339(bad),
                Err(TimeError::Syntax),
                "{bad:?}"
            );
        }
        for bad in [
            "2024-13-06T16:58:10Z",
            "2023-02-29T16:58:10Z",
            "2024-02-06T24:58:10Z",
            "2024-02-06T16:58:10+24:00",
        ] {
            assert_eq!(Millis::parse_rfc3339(bad), Err(TimeError::Range), "{bad:?}");
        }
        assert!(Millis::parse_rfc3339("2024-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn formats_utc_with_milliseconds() {
        assert_eq!(Millis(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Millis(1_707_238_690_724).to_string(),
            "2024-02-06T16:58:10.724Z"
        );
        assert_eq!(Millis(-1).to_string(), "1969-12-31T23:59:59.999Z");
        assert_eq!(Millis(-1).floor_second(), Millis(-1_000));
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(ms in -62_135_596_800_000i64..253_402_300_799_999) {
            let s = Millis(ms).to_string();
            prop_assert_eq!(Millis::parse_rfc3339(&s), Ok(Millis(ms)));
        }
    }
}
