//! The chart component: owns the `<canvas>`, keeps its backing store at CSS size ×
//! `devicePixelRatio`, follows resizes and theme switches, and coalesces redraws so that at
//! most one happens per animation frame however many updates arrive in between.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{HtmlCanvasElement, MediaQueryList, ResizeObserver, ResizeObserverEntry};

use crate::chart::canvas::{self, Frame, Point};
use crate::chart::theme::Theme;
use crate::figures::{self, Figures};
use crate::local_time;
use crate::range::Range;
use crate::relay::client::now_ms;
use crate::store::Store;

type EventCallback = Closure<dyn FnMut(web_sys::Event)>;

/// Where the last redraw's duration is published, for the benchmark and curious humans.
const REDRAW_MS_PROPERTY: &str = "__editpulse_redraw_ms";

struct Painter {
    canvas: HtmlCanvasElement,
    store: Store,
    scheduled: Cell<bool>,
    /// Read lazily and dropped when the colour scheme changes.
    theme: RefCell<Option<Theme>>,
    css_size: Cell<(f64, f64)>,
}

impl Painter {
    fn schedule(self: &Rc<Self>) {
        if self.scheduled.replace(true) {
            return;
        }
        let me = Rc::clone(self);
        let frame = Closure::once_into_js(move || me.paint());
        let requested = web_sys::window().map(|w| w.request_animation_frame(frame.unchecked_ref()));
        if !matches!(requested, Some(Ok(_))) {
            self.scheduled.set(false);
        }
    }

    fn paint(&self) {
        self.scheduled.set(false);
        let started = now_ms();
        let Some(window) = web_sys::window() else {
            return;
        };
        let dpr = window.device_pixel_ratio().max(1.0);
        let (css_w, css_h) = self.css_size.get();
        if css_w < 1.0 || css_h < 1.0 {
            return;
        }
        let (w, h) = ((css_w * dpr).round() as u32, (css_h * dpr).round() as u32);
        if self.canvas.width() != w {
            self.canvas.set_width(w);
        }
        if self.canvas.height() != h {
            self.canvas.set_height(h);
        }
        let theme = *self
            .theme
            .borrow_mut()
            .get_or_insert_with(|| Theme::from_element(&self.canvas));
        let range = self.store.range.get_untracked();
        let (points, to) = self.store.series.with_untracked(|s| {
            let points: Vec<Point> = s.in_range(range).map(Point::from).collect();
            let to = s.end().map_or_else(|| js_sys::Date::now() as i64, |e| e.0);
            (points, to)
        });
        let frame = Frame {
            points: &points,
            from: to - range.duration_ms(),
            to,
            split: self.store.split.get_untracked(),
        };
        if let Err(e) = canvas::draw(&self.canvas, &frame, &theme, dpr) {
            self.store.error.set(Some(e));
        }
        let elapsed = now_ms() - started;
        let _ = js_sys::Reflect::set(&window, &REDRAW_MS_PROPERTY.into(), &elapsed.into());
        self.canvas
            .set_attribute("data-points", &points.len().to_string())
            .ok();
    }
}

/// Browser hooks that must live exactly as long as the chart.
struct Hooks {
    observer: ResizeObserver,
    _on_resize: Closure<dyn FnMut(js_sys::Array)>,
    scheme: Option<(MediaQueryList, EventCallback)>,
}

impl Drop for Hooks {
    fn drop(&mut self) {
        self.observer.disconnect();
        if let Some((mql, cb)) = &self.scheme {
            let _ = mql.remove_event_listener_with_callback("change", cb.as_ref().unchecked_ref());
        }
    }
}

fn hook_up(painter: &Rc<Painter>) -> Option<Hooks> {
    let weak = Rc::downgrade(painter);
    let on_resize = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
        let Some(p) = weak.upgrade() else { return };
        if let Some(entry) = entries.iter().last() {
            let rect = entry.unchecked_into::<ResizeObserverEntry>().content_rect();
            p.css_size.set((rect.width(), rect.height()));
            p.schedule();
        }
    });
    let observer = ResizeObserver::new(on_resize.as_ref().unchecked_ref()).ok()?;
    observer.observe(&painter.canvas);

    let scheme = web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .map(|mql| {
            let weak = Rc::downgrade(painter);
            let cb = EventCallback::new(move |_| {
                if let Some(p) = weak.upgrade() {
                    p.theme.borrow_mut().take();
                    p.schedule();
                }
            });
            let _ = mql.add_event_listener_with_callback("change", cb.as_ref().unchecked_ref());
            (mql, cb)
        });
    Some(Hooks {
        observer,
        _on_resize: on_resize,
        scheme,
    })
}

/// A sentence describing the visible range, for screen readers (via `aria-describedby`): the
/// range's figures as [`figures::range_figures`] defines them, the same the headline shows.
/// With `split`, how the average divides between humans and bots, as the chart then shows.
fn describe(range: Range, f: Option<Figures>, split: bool) -> String {
    let Some(f) = f else {
        return format!("No data yet for the {}.", range.long_label());
    };
    let mut out = format!(
        "Edits per second, {} ({} to {}): average {:.1}, lowest {}, highest {} at {}.",
        range.long_label(),
        local_time::clock(f.from, true),
        local_time::clock(f.to, true),
        f.average,
        f.low,
        f.peak,
        local_time::clock(f.peak_start, true),
    );
    if split {
        let share = if f.average > 0.0 {
            f.bots_average / f.average * 100.0
        } else {
            0.0
        };
        out.push_str(&format!(
            " Humans {:.1}, bots {:.1} on average ({share:.0}% bots).",
            f.humans_average, f.bots_average
        ));
    }
    out
}

#[component]
pub fn Chart(store: Store) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let painter = StoredValue::new_local(None::<Rc<Painter>>);
    let hooks = StoredValue::new_local(None::<Hooks>);

    Effect::new(move |_| {
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        if painter.with_value(|p| p.is_some()) {
            return;
        }
        let rect = canvas.get_bounding_client_rect();
        let p = Rc::new(Painter {
            canvas,
            store,
            scheduled: Cell::new(false),
            theme: RefCell::new(None),
            css_size: Cell::new((rect.width(), rect.height())),
        });
        hooks.set_value(hook_up(&p));
        p.schedule();
        painter.set_value(Some(p));
    });

    Effect::new(move |_| {
        store.series.track();
        store.range.track();
        store.split.track();
        if let Some(p) = painter.get_value() {
            p.schedule();
        }
    });

    // Recomputed on every change of the series (as the headline's figures are, so the two never
    // disagree, late revisions of older seconds included) but rewritten only when the figures
    // change, which only final seconds do: not on every provisional update.
    let range_figures = Memo::new(move |_| {
        let range = store.range.get();
        (
            range,
            store.series.with(|s| figures::range_figures(s, range)),
        )
    });
    let described = Memo::new(move |_| {
        let (range, f) = range_figures.get();
        describe(range, f, store.split.get())
    });

    // The shading's entry only while some second in view has it.
    let gaps_in_view = Memo::new(move |_| {
        let range = store.range.get();
        store
            .series
            .with(|s| s.in_range(range).any(|w| w.source_down))
    });
    let gap_entry = move || {
        gaps_in_view.get().then(|| {
            view! {
                <li><span class="swatch swatch-gap" aria-hidden="true"></span>"source down: counts may be short"</li>
            }
        })
    };
    let legend = move || {
        if store.split.get() {
            view! {
                <li><span class="swatch swatch-humans" aria-hidden="true"></span>"humans"</li>
                <li><span class="swatch swatch-bots" aria-hidden="true"></span>"bots (stacked on top)"</li>
                <li><span class="swatch swatch-provisional" aria-hidden="true"></span>"current second, so far (dashed)"</li>
            }
            .into_any()
        } else {
            view! {
                <li><span class="swatch swatch-total" aria-hidden="true"></span>"edits per second"</li>
                <li><span class="swatch swatch-provisional" aria-hidden="true"></span>"current second, so far"</li>
            }
            .into_any()
        }
    };

    view! {
        <figure class="chart-figure">
            <canvas
                id="chart"
                node_ref=canvas_ref
                role="img"
                aria-label="Chart of Wikipedia edits per second"
                aria-describedby="chart-summary"
            ></canvas>
            <figcaption>
                <ul class="legend">{legend}{gap_entry}</ul>
                <p id="chart-summary" class="chart-summary">{move || described.get()}</p>
            </figcaption>
        </figure>
    }
}
