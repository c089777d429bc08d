//! The time ranges the chart can show, each ending at the live edge.

use wire::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Range {
    OneMinute,
    #[default]
    FiveMinutes,
    FifteenMinutes,
    SixtyMinutes,
    SixHours,
    TwentyFourHours,
}

impl Range {
    pub const ALL: [Range; 6] = [
        Range::OneMinute,
        Range::FiveMinutes,
        Range::FifteenMinutes,
        Range::SixtyMinutes,
        Range::SixHours,
        Range::TwentyFourHours,
    ];

    pub fn minutes(self) -> i64 {
        match self {
            Range::OneMinute => 1,
            Range::FiveMinutes => 5,
            Range::FifteenMinutes => 15,
            Range::SixtyMinutes => 60,
            Range::SixHours => 6 * 60,
            Range::TwentyFourHours => 24 * 60,
        }
    }

    pub fn duration_ms(self) -> i64 {
        self.minutes() * 60 * Millis::SECOND
    }

    /// Seconds per bucket for ranges longer than the hour the dashboard holds in memory, which
    /// are fetched from the relay rolled up: 1,440 buckets each, about one per pixel column.
    /// `None` for ranges drawn second by second from the [`crate::series::Series`].
    pub fn bucket_step(self) -> Option<u32> {
        match self {
            Range::SixHours => Some(15),
            Range::TwentyFourHours => Some(60),
            _ => None,
        }
    }

    /// The button text.
    pub fn short_label(self) -> &'static str {
        match self {
            Range::OneMinute => "1 m",
            Range::FiveMinutes => "5 m",
            Range::FifteenMinutes => "15 m",
            Range::SixtyMinutes => "1 h",
            Range::SixHours => "6 h",
            Range::TwentyFourHours => "24 h",
        }
    }

    /// What the range is called in sentences, and after the button text in the button's
    /// accessible name ("1 m: last minute"), since "1 m" alone reads as "one meter".
    pub fn long_label(self) -> &'static str {
        match self {
            Range::OneMinute => "last minute",
            Range::FiveMinutes => "last 5 minutes",
            Range::FifteenMinutes => "last 15 minutes",
            Range::SixtyMinutes => "last hour",
            Range::SixHours => "last 6 hours",
            Range::TwentyFourHours => "last 24 hours",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_ranges_fetch_about_1440_buckets_and_short_ones_none() {
        for r in Range::ALL {
            match r.bucket_step() {
                Some(step) => {
                    assert_eq!(r.duration_ms() / (i64::from(step) * 1_000), 1_440, "{r:?}");
                }
                None => assert!(r.duration_ms() <= crate::series::RETENTION_MS, "{r:?}"),
            }
        }
    }
}
