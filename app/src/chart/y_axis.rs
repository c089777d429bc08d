//! The y-axis: how high it reaches and where its labels go.

/// The y-axis top: the highest value plus ~15 % headroom, rounded up to 1, 1.5, 2, 2.5, 3, 4,
/// 5, 6 or 8 × 10ⁿ, so the axis labels stay round and the line never touches the top edge.
pub fn y_top(max: u64) -> u64 {
    let wanted = (max as f64 * 1.15).ceil().max(5.0);
    let magnitude = 10f64.powf(wanted.log10().floor());
    let nice = [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&v| v >= wanted)
        .unwrap_or(10.0 * magnitude);
    nice as u64
}

/// Labels for the y-axis from zero to `top` (a [`y_top`] value): 4 to 7 round numbers
/// including both ends, so the top gridline is labelled. (Plotters' own integer key points
/// need not end at the top, and its search overflows when asked for no minor lines.)
pub fn y_ticks(top: u64) -> Vec<u64> {
    let top = top.max(1);
    let mut magnitude = 1u64;
    let step = loop {
        if magnitude > top {
            break top;
        }
        let fit = [1, 2, 5]
            .iter()
            .map(|m| m * magnitude)
            .chain((magnitude >= 10).then_some(magnitude / 4 * 10))
            .filter(|&s| top.is_multiple_of(s) && top / s <= 6)
            .min();
        if let Some(step) = fit {
            break step;
        }
        magnitude *= 10;
    };
    (0..=top / step).map(|i| i * step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_scale_has_headroom_and_round_labels() {
        assert_eq!(y_top(0), 5);
        assert_eq!(y_top(43), 50);
        assert_eq!(y_top(100), 150);
        assert_eq!(y_top(800), 1_000);
        assert_eq!(y_top(870), 1_500);
        assert!(y_top(50) > 50, "never fixed, always above the max");
        for top in [5, 10, 15, 50, 60, 80, 150, 250, 400, 1_500, 6_000] {
            let t = y_ticks(top);
            assert_eq!((t[0], *t.last().unwrap()), (0, top), "{top}: {t:?}");
            assert!((4..=7).contains(&t.len()), "{top}: {t:?}");
        }
    }
}
