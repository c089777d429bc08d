//! Where a panel's request stands, and the line that says so: a wait shows how long it has
//! lasted, a failure says why, so no panel ever sits empty without a word.

use gloo_timers::callback::Interval;
use leptos::prelude::*;

/// A panel's answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Load<T> {
    /// Nothing asked yet.
    #[default]
    Idle,
    /// Asked at this `Date.now()`.
    Loading(f64),
    Ready(T),
    Failed(String),
}

impl<T> Load<T> {
    pub fn ready(&self) -> Option<&T> {
        match self {
            Load::Ready(t) => Some(t),
            _ => None,
        }
    }

    /// What [`LoadLine`] shows: the one copy of the line's code serves every kind of answer.
    pub fn status(&self) -> Status {
        match self {
            Load::Loading(since) => Status::Loading(*since),
            Load::Failed(why) => Status::Failed(why.clone()),
            Load::Idle => Status::Idle,
            Load::Ready(_) => Status::Ready,
        }
    }

    pub fn state(&self) -> &'static str {
        match self {
            Load::Idle => "idle",
            Load::Loading(_) => "loading",
            Load::Ready(_) => "ready",
            Load::Failed(_) => "failed",
        }
    }
}

/// A [`Load`] without its answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Idle,
    Loading(f64),
    Ready,
    Failed(String),
}

impl Status {
    pub fn state(&self) -> &'static str {
        match self {
            Status::Idle => "idle",
            Status::Loading(_) => "loading",
            Status::Ready => "ready",
            Status::Failed(_) => "failed",
        }
    }
}

/// The status of `load`, for a [`LoadLine`].
pub fn status_of<T: Clone + Send + Sync + 'static>(load: RwSignal<Load<T>>) -> Signal<Status> {
    Signal::derive(move || load.with(Load::status))
}

/// "Loading top wikis… 3 s" while `load` waits (the seconds tick on their own), the reason
/// when it failed, nothing otherwise. `id` names the line for tests.
#[component]
pub fn LoadLine(id: &'static str, what: &'static str, status: Signal<Status>) -> impl IntoView {
    let now = RwSignal::new(js_sys::Date::now());
    // One tick a second, only while this line is on the page.
    let ticker = StoredValue::new_local(Some(Interval::new(1_000, move || {
        now.try_set(js_sys::Date::now());
    })));
    on_cleanup(move || {
        ticker.try_update_value(Option::take);
    });
    let text = move || match status.get() {
        Status::Loading(since) => {
            let waited = ((now.get() - since) / 1_000.0).max(0.0).floor();
            if waited >= 1.0 {
                format!("Loading {what}… {waited} s")
            } else {
                format!("Loading {what}…")
            }
        }
        Status::Failed(why) => format!("Could not load {what}: {why}"),
        _ => String::new(),
    };
    view! {
        <p
            class="load-line"
            class:load-error=move || matches!(status.get(), Status::Failed(_))
            id=id
            role="status"
            data-state=move || status.with(Status::state)
        >
            {text}
        </p>
    }
}
