//! The edits-per-second chart, from the component down to the pixels:
//!
//! - [`view`]: the `<Chart>` component; owns the `<canvas>`, sizes it, schedules redraws.
//! - [`caption`]: the legend and the chart's description under it.
//! - [`controls`]: the range buttons, "Reset zoom" and the humans-vs-bots toggle above it.
//! - [`cursor`]: clicking or keyboard-picking a point to list its edits.
//! - [`custom_range`]: the from–to inputs, checked before anything is fetched.
//! - [`history_status`]: "loading 24 h…", or why it failed and a retry.
//! - [`canvas`]: one redraw with plotters.
//! - [`point`]: one second as the chart draws it.
//! - [`time_axis`]: where the time labels go, on whole local minutes or seconds.
//! - [`envelope`]: dense ranges drawn as one span per pixel column.
//! - [`bands`]: buckets drawn as min–max bands under their mean line.
//! - [`history_start`]: the marked start of the relay's history.
//! - [`y_axis`]: the y-axis' top and labels.
//! - [`zoom`]: drag-to-zoom's pointer positions to a span of time.
//! - [`source_gaps`]: the shaded spans where the live source was down.
//! - [`theme`]: the colours, read from the page's CSS custom properties.

pub mod bands;
pub mod canvas;
pub mod caption;
pub mod controls;
pub mod cursor;
pub mod custom_range;
pub mod envelope;
pub mod history_start;
pub mod history_status;
pub mod point;
pub mod source_gaps;
pub mod theme;
pub mod time_axis;
pub mod view;
pub mod y_axis;
pub mod zoom;
