//! The edits-per-second chart, from the component down to the pixels:
//!
//! - [`view`]: the `<Chart>` component; owns the `<canvas>`, sizes it, schedules redraws.
//! - [`controls`]: the range buttons and the humans-vs-bots toggle above it.
//! - [`canvas`]: one redraw with plotters, and the y-axis scale it uses.
//! - [`time_axis`]: where the time labels go, on whole local minutes or seconds.
//! - [`envelope`]: dense ranges drawn as one span per pixel column.
//! - [`source_gaps`]: the shaded spans where the live source was down.
//! - [`theme`]: the colours, read from the page's CSS custom properties.

pub mod canvas;
pub mod controls;
pub mod envelope;
pub mod source_gaps;
pub mod theme;
pub mod time_axis;
pub mod view;
