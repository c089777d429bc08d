//! Asking the relay again whenever what a panel shows changes, and only keeping the answer to
//! the latest question: an answer that arrives after the filter or the range changed again
//! would put another view's numbers on screen.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use leptos::prelude::*;

use crate::explore::loading::Load;

/// Runs `fetch(key)` into `load` every time `key` changes (nothing while it is `None`). A new
/// key clears the panel to "loading" unless `refresh(old, new)` says it is the same question
/// asked again later (a live range moving on), whose answer stays up until the new one lands.
pub fn fetch_into<K, T, F, Fut>(
    key: Memo<Option<K>>,
    load: RwSignal<Load<T>>,
    refresh: fn(&K, &K) -> bool,
    fetch: F,
) where
    K: Clone + PartialEq + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
    F: Fn(K) -> Fut + 'static,
    Fut: Future<Output = Result<T, String>> + 'static,
{
    let asked = Rc::new(Cell::new(0_u64));
    Effect::new(move |previous: Option<Option<K>>| {
        let current = key.get();
        asked.set(asked.get() + 1);
        let Some(k) = current.clone() else {
            load.set(Load::Idle);
            return current;
        };
        let again = matches!(
            (previous.flatten(), load.with_untracked(|l| l.ready().is_some())),
            (Some(old), true) if refresh(&old, &k)
        );
        if !again {
            load.set(Load::Loading(js_sys::Date::now()));
        }
        let this = asked.get();
        let asked = Rc::clone(&asked);
        let answer = fetch(k);
        wasm_bindgen_futures::spawn_local(async move {
            let answer = answer.await;
            if asked.get() != this {
                return;
            }
            load.try_set(match answer {
                Ok(t) => Load::Ready(t),
                Err(e) => Load::Failed(e),
            });
        });
        current
    });
}
