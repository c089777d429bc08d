//! How many edits a chart point or bucket counted under the filter: what the edits panel
//! expects to list, read from the same data the chart draws, so the two numbers shown side by
//! side disagree only when the relay's edit log and its counts do.

use crate::history::History;
use crate::series::Series;
use crate::view::Span;

/// The count of `span`, from the series' seconds where it holds every one of them, else from
/// buckets that cover it exactly, each with all its seconds; `None` when neither knows, rather
/// than a sum with a hole in it shown as the count.
pub fn expected_count(series: &Series, history: &History, span: Span) -> Option<u64> {
    let whole = (span.to - span.from + 999) / 1_000;
    let seconds: Vec<_> = series.between(span.from, span.to).collect();
    if seconds.len() as i64 == whole {
        return Some(seconds.iter().map(|w| w.count).sum());
    }
    let buckets = history.buckets(span.from, span.to);
    let mut at = span.from;
    for b in &buckets {
        let held_whole = i64::from(b.seconds) * 1_000 == b.end.0 - b.start.0;
        if b.start.0 != at || !held_whole {
            return None;
        }
        at = b.end.0;
    }
    (at == span.to && !buckets.is_empty()).then(|| buckets.iter().map(|b| b.count).sum())
}

/// Whether every second of `span` the series holds is final: its count will not grow.
pub fn settled(series: &Series, span: Span) -> bool {
    series.between(span.from, span.to).all(|w| w.is_final)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::{T0, filled, window};

    #[test]
    fn a_second_expects_its_count_and_a_span_the_sum() {
        let mut s = filled(10, |i| i as u64);
        let h = History::default();
        assert_eq!(
            expected_count(&s, &h, Span::new(T0 + 3_000, T0 + 4_000).unwrap()),
            Some(3)
        );
        assert_eq!(
            expected_count(&s, &h, Span::new(T0, T0 + 5_000).unwrap()),
            Some(10)
        );
        assert_eq!(
            expected_count(&s, &h, Span::new(T0 - 5_000, T0).unwrap()),
            None
        );
        assert!(settled(&s, Span::new(T0, T0 + 10_000).unwrap()));
        s.merge(window(10, 4, false, 0));
        assert!(!settled(&s, Span::new(T0 + 10_000, T0 + 11_000).unwrap()));
    }
}
