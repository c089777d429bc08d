//! The chart component: owns the `<canvas>`, keeps its backing store at CSS size ×
//! `devicePixelRatio`, follows resizes and theme switches, and coalesces redraws so that at
//! most one happens per animation frame however many updates arrive in between.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{
    HtmlCanvasElement, MediaQueryList, PointerEvent, ResizeObserver, ResizeObserverEntry,
};

use wire::Bucket;

use crate::chart::canvas::{self, Frame};
use crate::chart::caption::Caption;
use crate::chart::cursor::{self, ChartCursor};
use crate::chart::point::Point;
use crate::chart::theme::Theme;
use crate::chart::zoom;
use crate::relay::client::now_ms;
use crate::store::Store;

type EventCallback = Closure<dyn FnMut(web_sys::Event)>;

/// Where the last redraw's duration is published, for the benchmark and curious humans.
const REDRAW_MS_PROPERTY: &str = "__editpulse_redraw_ms";
/// A pointer that moved less than this between down and up clicked.
const CLICK_PX: f64 = 4.0;

struct Painter {
    canvas: HtmlCanvasElement,
    store: Store,
    scheduled: Cell<bool>,
    /// Read lazily and dropped when the colour scheme changes.
    theme: RefCell<Option<Theme>>,
    css_size: Cell<(f64, f64)>,
    /// The time range of the last redraw, which a drag on it selects from.
    painted: Cell<(i64, i64)>,
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
        let store = self.store;
        let view = store
            .focus
            .with_untracked(|f| f.view(store.range.get_untracked()));
        let (from, to) = view.bounds(store.live_end());
        let (points, bands, history_starts) = if view.from_series() {
            let points = store
                .series
                .with_untracked(|s| s.between(from, to).map(Point::from).collect());
            (points, Vec::new(), None)
        } else {
            store.history.with_untracked(|h| {
                // Until the history follows the new view, its buckets are another view's.
                if h.plan().map(|p| p.step) != Some(view.step()) {
                    return (Vec::new(), Vec::new(), None);
                }
                let buckets: Vec<Bucket> = h.buckets(from, to).into_iter().cloned().collect();
                if view.step() == 1 {
                    (
                        buckets.iter().map(Point::from).collect(),
                        Vec::new(),
                        h.earliest(),
                    )
                } else {
                    (Vec::new(), buckets, h.earliest())
                }
            })
        };
        self.painted.set((from, to));
        let frame = Frame {
            points: &points,
            from,
            to,
            split: store.split.get_untracked(),
            bands: &bands,
            history_starts,
        };
        if let Err(e) = canvas::draw(&self.canvas, &frame, &theme, dpr) {
            self.store.error.set(Some(e));
        }
        let elapsed = now_ms() - started;
        let _ = js_sys::Reflect::set(&window, &REDRAW_MS_PROPERTY.into(), &elapsed.into());
        let drawn = if bands.is_empty() {
            points.len()
        } else {
            bands.len()
        };
        self.canvas
            .set_attribute("data-points", &drawn.to_string())
            .ok();
        // What is drawn where, for tests and tools that point at a time on the chart.
        for (name, value) in [
            ("data-step", view.step().to_string()),
            ("data-from", from.to_string()),
            ("data-to", to.to_string()),
            ("data-plot-left", canvas::LEFT_MARGIN_CSS.to_string()),
            ("data-plot-right", canvas::RIGHT_MARGIN_CSS.to_string()),
        ] {
            self.canvas.set_attribute(name, &value).ok();
        }
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
            painted: Cell::new((0, 0)),
        });
        hooks.set_value(hook_up(&p));
        p.schedule();
        painter.set_value(Some(p));
    });

    Effect::new(move |_| {
        store.series.track();
        store.range.track();
        store.split.track();
        store.focus.track();
        store.history.track();
        if let Some(p) = painter.get_value() {
            p.schedule();
        }
    });

    // Drag to zoom: where the pointer went down and where it is now, in CSS pixels from the
    // canvas' left edge; captured, so a drag that leaves the canvas still ends on it.
    let drag = RwSignal::new(None::<(f64, f64)>);
    // From the client coordinates and the canvas' box, not `offsetX`, which Chromium derives
    // differently for events it did not raise itself (as tests and assistive tools do).
    let x_in_canvas = move |ev: &PointerEvent| {
        canvas_ref.get_untracked().map_or(0.0, |c| {
            f64::from(ev.client_x()) - c.get_bounding_client_rect().left()
        })
    };
    let on_down = move |ev: PointerEvent| {
        if ev.button() != 0 {
            return;
        }
        if let Some(c) = canvas_ref.get_untracked() {
            let _ = c.set_pointer_capture(ev.pointer_id());
        }
        let x = x_in_canvas(&ev);
        drag.set(Some((x, x)));
    };
    let on_move = move |ev: PointerEvent| {
        if drag.with_untracked(Option::is_some) {
            drag.update(|d| {
                if let Some((_, now)) = d {
                    *now = x_in_canvas(&ev);
                }
            });
        }
    };
    let on_up = move |ev: PointerEvent| {
        let Some((x0, _)) = drag.get_untracked() else {
            return;
        };
        drag.set(None);
        let Some(p) = painter.get_value() else { return };
        let (from, to) = p.painted.get();
        let x1 = x_in_canvas(&ev);
        let width = p.canvas.get_bounding_client_rect().width();
        if let Some(span) = zoom::dragged_span(x0, x1, width, from, to) {
            store.focus.update(|f| f.zoom_in(span));
        } else if (x1 - x0).abs() < CLICK_PX {
            // A click: list the edits of the point or bucket under it.
            let step = store.view().step();
            let picked = cursor::point_at(zoom::instant_at(x1, width, from, to), step);
            store.cursor.set(Some(picked.from));
            store.selected.set(Some(picked));
        }
    };
    let selection = move || {
        drag.get().map(|(a, b)| {
            view! {
                <div
                    id="zoom-selection"
                    class="zoom-selection"
                    aria-hidden="true"
                    style:left=format!("{}px", a.min(b))
                    style:width=format!("{}px", (a - b).abs())
                ></div>
            }
        })
    };

    view! {
        <figure class="chart-figure">
            <div class="chart-area">
                <canvas
                    id="chart"
                    node_ref=canvas_ref
                    role="img"
                    tabindex="0"
                    aria-label="Chart of Wikipedia edits per second; click a point, or move to it with the arrow keys and press Enter, to list its edits; drag across it to zoom in, double-click to zoom back out"
                    aria-describedby="chart-summary"
                    on:keydown=move |ev: web_sys::KeyboardEvent| {
                        if cursor::on_key(store, &ev.key()) {
                            ev.prevent_default();
                        }
                    }
                    on:pointerdown=on_down
                    on:pointermove=on_move
                    on:pointerup=on_up
                    on:pointercancel=move |_| drag.set(None)
                    on:dblclick=move |_| store.focus.update(|f| {
                        f.zoom_out();
                    })
                ></canvas>
                {selection}
                <ChartCursor store=store canvas=canvas_ref />
            </div>
            <Caption store=store />
        </figure>
    }
}
