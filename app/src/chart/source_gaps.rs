//! Seconds the relay marked `source_down` (its live source was not delivering), gathered into
//! spans the chart shades behind its lines: a count there may be short, so a low value or a 0
//! must not read as a quiet second.

use crate::chart::canvas::Point;

/// Runs of consecutive `source_down` seconds as `[from, to)` in UTC ms, oldest first.
pub fn spans(points: &[Point]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for p in points.iter().filter(|p| p.source_down) {
        match out.last_mut() {
            Some((_, to)) if *to == p.start => *to = p.start + 1_000,
            _ => out.push((p.start, p.start + 1_000)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(sec: i64, source_down: bool) -> Point {
        Point {
            start: sec * 1_000,
            total: 1,
            humans: 1,
            bots: 0,
            is_final: true,
            source_down,
        }
    }

    #[test]
    fn consecutive_marked_seconds_make_one_span() {
        let points: Vec<Point> = [false, true, true, false, true, false, false, true]
            .iter()
            .enumerate()
            .map(|(i, &d)| point(i as i64, d))
            .collect();
        assert_eq!(
            spans(&points),
            vec![(1_000, 3_000), (4_000, 5_000), (7_000, 8_000)]
        );
        // A missing second breaks a span: the relay sent nothing there.
        let gap = [point(1, true), point(3, true)];
        assert_eq!(spans(&gap), vec![(1_000, 2_000), (3_000, 4_000)]);
        assert!(spans(&[]).is_empty());
    }
}
