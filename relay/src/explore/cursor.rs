//! Where the next page of `/v1/edits` starts: after the last row of the one before, in the
//! listing's order (time, then partition and offset, newest first). The key is a position
//! on the bus, so a page boundary never drops or repeats an edit, however many share a time.

use wire::Millis;

/// A row's place in the listing; greater is newer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub time: Millis,
    pub partition: u32,
    pub offset: u64,
}

const PREFIX: &str = "e1-";

impl Position {
    /// The cursor handed out: opaque to clients, versioned so a later layout cannot be misread.
    pub fn encode(self) -> String {
        // The time's bits as unsigned: every i64 has one spelling, with no sign to parse.
        format!(
            "{PREFIX}{:x}-{:x}-{:x}",
            self.time.0 as u64, self.partition, self.offset
        )
    }

    /// None for anything [`Position::encode`] did not write.
    pub fn decode(cursor: &str) -> Option<Position> {
        fn hex(s: Option<&str>) -> Option<&str> {
            s.filter(|s| !s.is_empty() && s.len() <= 16)
        }
        let mut parts = cursor.strip_prefix(PREFIX)?.split('-');
        let time = u64::from_str_radix(hex(parts.next())?, 16).ok()? as i64;
        let partition = u32::from_str_radix(hex(parts.next())?, 16).ok()?;
        let offset = u64::from_str_radix(hex(parts.next())?, 16).ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Position {
            time: Millis(time),
            partition,
            offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_nothing_else_does() {
        let p = Position {
            time: Millis(1_707_238_690_123),
            partition: 3,
            offset: 77,
        };
        assert_eq!(Position::decode(&p.encode()), Some(p));
        for time in [i64::MIN, -1, 0, i64::MAX] {
            let p = Position {
                time: Millis(time),
                ..p
            };
            assert_eq!(Position::decode(&p.encode()), Some(p), "{time}");
        }
        for bad in [
            "",
            "e1-",
            "e1-1-2",
            "e1-1-2-3-4",
            "e2-1-2-3",
            "e1-x-2-3",
            "e1--1-2-3",
            "e1-10000000000000000-2-3",
        ] {
            assert_eq!(Position::decode(bad), None, "{bad}");
        }
    }
}
