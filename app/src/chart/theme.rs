//! Chart colours, taken from the page's CSS custom properties so that the canvas follows the
//! light/dark theme the stylesheet picks with `prefers-color-scheme`.

use plotters::style::RGBAColor;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    pub text: RGBAColor,
    pub grid: RGBAColor,
    pub axis: RGBAColor,
    pub total: RGBAColor,
    pub humans: RGBAColor,
    pub bots: RGBAColor,
    pub provisional: RGBAColor,
    /// The shading behind seconds the live source was down.
    pub gap: RGBAColor,
}

impl Default for Theme {
    /// The light theme, for when the stylesheet is missing (component tests).
    fn default() -> Self {
        Theme {
            text: RGBAColor(60, 64, 72, 1.0),
            grid: RGBAColor(0, 0, 0, 0.08),
            axis: RGBAColor(0, 0, 0, 0.3),
            total: RGBAColor(37, 99, 235, 1.0),
            humans: RGBAColor(22, 163, 74, 1.0),
            bots: RGBAColor(217, 119, 6, 1.0),
            provisional: RGBAColor(37, 99, 235, 0.55),
            gap: RGBAColor(120, 120, 120, 0.16),
        }
    }
}

/// The CSS custom properties read, with the field each one sets.
const PROPERTIES: [&str; 8] = [
    "--chart-text",
    "--chart-grid",
    "--chart-axis",
    "--chart-total",
    "--chart-humans",
    "--chart-bots",
    "--chart-provisional",
    "--chart-gap",
];

impl Theme {
    /// Builds a theme from property lookups, keeping the default for any property that is
    /// unset or unparsable: a half-themed chart beats a failed draw.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Theme {
        let mut theme = Theme::default();
        for name in PROPERTIES {
            let Some(colour) = lookup(name).as_deref().and_then(parse_colour) else {
                continue;
            };
            let slot = match name {
                "--chart-text" => &mut theme.text,
                "--chart-grid" => &mut theme.grid,
                "--chart-axis" => &mut theme.axis,
                "--chart-total" => &mut theme.total,
                "--chart-humans" => &mut theme.humans,
                "--chart-bots" => &mut theme.bots,
                "--chart-gap" => &mut theme.gap,
                _ => &mut theme.provisional,
            };
            *slot = colour;
        }
        theme
    }

    /// Reads the computed custom properties of `element`.
    pub fn from_element(element: &web_sys::Element) -> Theme {
        let style = web_sys::window().and_then(|w| w.get_computed_style(element).ok().flatten());
        match style {
            Some(style) => Theme::from_lookup(|name| style.get_property_value(name).ok()),
            None => Theme::default(),
        }
    }
}

/// Parses `#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb(r, g, b)` and `rgba(r, g, b, a)` (also the
/// space-separated `rgb(r g b / a)`): what a stylesheet author writes for these properties.
pub fn parse_colour(s: &str) -> Option<RGBAColor> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix('#') {
        let digit = |i: usize| u8::from_str_radix(hex.get(i..i + 1)?, 16).ok();
        let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        return match hex.len() {
            3 => Some(RGBAColor(
                digit(0)? * 17,
                digit(1)? * 17,
                digit(2)? * 17,
                1.0,
            )),
            6 => Some(RGBAColor(byte(0)?, byte(2)?, byte(4)?, 1.0)),
            8 => Some(RGBAColor(
                byte(0)?,
                byte(2)?,
                byte(4)?,
                f64::from(byte(6)?) / 255.0,
            )),
            _ => None,
        };
    }
    let inner = s
        .strip_prefix("rgba(")
        .or_else(|| s.strip_prefix("rgb("))?
        .strip_suffix(')')?;
    let parts: Vec<&str> = inner
        .split([',', ' ', '/'])
        .filter(|p| !p.is_empty())
        .collect();
    let channel = |p: &str| {
        p.parse::<f64>()
            .ok()
            .map(|v| v.clamp(0.0, 255.0).round() as u8)
    };
    let alpha = match parts.get(3) {
        None => 1.0,
        Some(a) => match a.strip_suffix('%') {
            Some(pct) => pct.parse::<f64>().ok()? / 100.0,
            None => a.parse::<f64>().ok()?,
        }
        .clamp(0.0, 1.0),
    };
    if !(3..=4).contains(&parts.len()) {
        return None;
    }
    Some(RGBAColor(
        channel(parts[0])?,
        channel(parts[1])?,
        channel(parts[2])?,
        alpha,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theme_colours_parse() {
        assert_eq!(parse_colour("#2563eb"), Some(RGBAColor(37, 99, 235, 1.0)));
        assert_eq!(parse_colour(" #fff "), Some(RGBAColor(255, 255, 255, 1.0)));
        assert_eq!(
            parse_colour("rgba(0, 0, 0, 0.08)"),
            Some(RGBAColor(0, 0, 0, 0.08))
        );
        assert_eq!(
            parse_colour("rgb(1 2 3 / 50%)"),
            Some(RGBAColor(1, 2, 3, 0.5))
        );
        assert_eq!(parse_colour("blue"), None);
        assert_eq!(parse_colour("#12345"), None);
    }
}
