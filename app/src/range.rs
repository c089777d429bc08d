//! The time ranges the chart can show.

use wire::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Range {
    OneMinute,
    #[default]
    FiveMinutes,
    FifteenMinutes,
    SixtyMinutes,
}

impl Range {
    pub const ALL: [Range; 4] = [
        Range::OneMinute,
        Range::FiveMinutes,
        Range::FifteenMinutes,
        Range::SixtyMinutes,
    ];

    pub fn minutes(self) -> i64 {
        match self {
            Range::OneMinute => 1,
            Range::FiveMinutes => 5,
            Range::FifteenMinutes => 15,
            Range::SixtyMinutes => 60,
        }
    }

    pub fn duration_ms(self) -> i64 {
        self.minutes() * 60 * Millis::SECOND
    }

    /// The button text.
    pub fn short_label(self) -> &'static str {
        match self {
            Range::OneMinute => "1 m",
            Range::FiveMinutes => "5 m",
            Range::FifteenMinutes => "15 m",
            Range::SixtyMinutes => "60 m",
        }
    }

    /// What the range is called in sentences, and after the button text in the button's
    /// accessible name ("1 m: last minute"), since "1 m" alone reads as "one meter".
    pub fn long_label(self) -> &'static str {
        match self {
            Range::OneMinute => "last minute",
            Range::FiveMinutes => "last 5 minutes",
            Range::FifteenMinutes => "last 15 minutes",
            Range::SixtyMinutes => "last 60 minutes",
        }
    }
}
