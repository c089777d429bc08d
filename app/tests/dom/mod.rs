//! What the browser tests share: a fresh element to mount into, lookups that fail with the
//! selector they missed, and waiting for the components to settle.

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

/// A new element at the end of the page's body.
pub fn fresh_root() -> HtmlElement {
    let doc = web_sys::window().unwrap().document().unwrap();
    let el: HtmlElement = doc.create_element("div").unwrap().unchecked_into();
    doc.body().unwrap().append_child(&el).unwrap();
    el
}

/// The element `selector` finds under `root`; panics naming it if there is none.
pub fn one(root: &Element, selector: &str) -> HtmlElement {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector}"))
        .unchecked_into()
}

pub fn text(root: &Element, selector: &str) -> String {
    one(root, selector).text_content().unwrap_or_default()
}

pub fn attr(root: &Element, selector: &str, name: &str) -> String {
    one(root, selector).get_attribute(name).unwrap_or_default()
}

/// Lets signals, effects and the chart's animation frame run.
pub async fn settle() {
    leptos::task::tick().await;
    TimeoutFuture::new(80).await;
}
