//! Seconds (or buckets) the relay marked `source_down` (its live source was not delivering),
//! gathered into spans the chart shades behind its lines: a count there may be short, so a low
//! value or a 0 must not read as a quiet second.

/// Adjacent marked stretches `[from, to)` (UTC ms, oldest first) joined into spans.
pub fn spans(marked: impl IntoIterator<Item = (i64, i64)>) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for (from, to) in marked {
        match out.last_mut() {
            Some((_, end)) if *end == from => *end = to,
            _ => out.push((from, to)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(seconds: &[i64]) -> Vec<(i64, i64)> {
        seconds
            .iter()
            .map(|s| (s * 1_000, s * 1_000 + 1_000))
            .collect()
    }

    #[test]
    fn consecutive_marked_stretches_make_one_span() {
        assert_eq!(
            spans(marked(&[1, 2, 4, 7])),
            vec![(1_000, 3_000), (4_000, 5_000), (7_000, 8_000)]
        );
        // A missing second breaks a span: the relay sent nothing there.
        assert_eq!(spans(marked(&[1, 3])), vec![(1_000, 2_000), (3_000, 4_000)]);
        // Buckets join the same way.
        assert_eq!(spans([(0, 60_000), (60_000, 120_000)]), vec![(0, 120_000)]);
        assert!(spans([]).is_empty());
    }
}
