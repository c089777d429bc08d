//! A custom from–to range: two `datetime-local` inputs on the viewer's clock, checked before
//! anything is fetched, with what is wrong said next to them.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use wire::Millis;

use crate::local_time;
use crate::store::Store;
use crate::view::Span;

/// The span two input values describe, or why they describe none. `now` is UTC ms.
pub fn validate(
    from: &str,
    to: &str,
    now: i64,
    offset_minutes: impl Fn(i64) -> i64 + Copy,
) -> Result<Span, String> {
    if from.is_empty() || to.is_empty() {
        return Err("Pick both a start and an end.".to_owned());
    }
    let from =
        local_time::parse_input(from, offset_minutes).ok_or("The start is not a date and time.")?;
    let to =
        local_time::parse_input(to, offset_minutes).ok_or("The end is not a date and time.")?;
    if from >= to {
        return Err("The start must be before the end.".to_owned());
    }
    if to > Millis(now).floor_second().plus(Millis::SECOND).0 {
        return Err(format!(
            "The end is in the future: pick {} or earlier.",
            local_time::clock(now, false)
        ));
    }
    Span::new(from, to).ok_or_else(|| "The range is empty.".to_owned())
}

/// One labelled `datetime-local` input, marked invalid while `error` says why.
fn date_input(
    label: &'static str,
    id: &'static str,
    node_ref: NodeRef<leptos::html::Input>,
    value: String,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <input type="datetime-local" id=id node_ref=node_ref value=value
                aria-invalid=move || error.with(Option::is_some).to_string()
                aria-describedby="custom-error" />
        </label>
    }
}

#[component]
pub fn CustomRange(store: Store) -> impl IntoView {
    let from_ref = NodeRef::<leptos::html::Input>::new();
    let to_ref = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(None::<String>);
    let now = js_sys::Date::now() as i64;
    let default_from = local_time::input_value(now - 3_600_000, local_time::offset_minutes);
    let default_to = local_time::input_value(now, local_time::offset_minutes);
    let apply = move |ev: SubmitEvent| {
        ev.prevent_default();
        let value =
            |r: NodeRef<leptos::html::Input>| r.get().map(|i| i.value()).unwrap_or_default();
        let now = js_sys::Date::now() as i64;
        match validate(
            &value(from_ref),
            &value(to_ref),
            now,
            local_time::offset_minutes,
        ) {
            Ok(span) => {
                error.set(None);
                store.focus.update(|f| f.show(Some(span)));
            }
            Err(e) => error.set(Some(e)),
        }
    };
    view! {
        <details class="custom-range">
            <summary>"Custom range"</summary>
            <form on:submit=apply novalidate>
                {date_input("From ", "custom-from", from_ref, default_from, error)}
                {date_input("To ", "custom-to", to_ref, default_to, error)}
                <button type="submit" class="toggle" id="custom-apply">"Apply"</button>
                <p id="custom-error" class="form-error" role="alert">{move || error.get()}</p>
            </form>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::T0;

    #[test]
    fn a_custom_range_is_checked_before_it_is_fetched() {
        let utc = |_| 0;
        // T0 is 2024-02-06T16:58:10Z.
        let span = validate("2024-02-06T10:00", "2024-02-06T16:58", T0, utc).unwrap();
        assert_eq!(span.to, T0 - 10_000);
        assert_eq!(span.to - span.from, (6 * 60 + 58) * 60_000);
        // Up to the current second is fine, a minute later is not.
        assert!(validate("2024-02-06T16:00", "2024-02-06T16:58:10", T0, utc).is_ok());
        let e = validate("2024-02-06T16:00", "2024-02-06T16:59", T0, utc).unwrap_err();
        assert!(e.contains("future") && e.contains("16:58"), "{e}");
        let e = validate("2024-02-06T12:00", "2024-02-06T11:00", T0, utc).unwrap_err();
        assert!(e.contains("before the end"), "{e}");
        let e = validate("2024-02-06T12:00", "2024-02-06T12:00", T0, utc).unwrap_err();
        assert!(e.contains("before the end"), "{e}");
        assert!(
            validate("", "2024-02-06T12:00", T0, utc)
                .unwrap_err()
                .contains("both")
        );
        let e = validate("2024-13-06T12:00", "2024-02-06T12:00", T0, utc).unwrap_err();
        assert!(e.contains("start is not"), "{e}");
        // On the viewer's clock: 17:58 in CET is 16:58 UTC, in the past at T0.
        assert!(validate("2024-02-06T17:00", "2024-02-06T17:58", T0, |_| 60).is_ok());
    }
}
