//! One edit as the edits panel and the live feed list it: when, where, what, who, and a link
//! that opens the change on its wiki in a new tab.

use leptos::prelude::*;
use wire::EditRow;

use crate::local_time;

/// The row's text when the event does not say: never a blank that reads as a bug.
fn or_unknown(v: &Option<String>, what: &str) -> String {
    v.clone().unwrap_or_else(|| format!("({what} not given)"))
}

#[component]
pub fn EditItem(edit: EditRow) -> impl IntoView {
    let title = or_unknown(&edit.title, "no title");
    let user = or_unknown(&edit.user, "no user");
    // The relay sends only http(s) links; checked again here, since an href is where a
    // `javascript:` link would run.
    let web = |u: &String| u.starts_with("https://") || u.starts_with("http://");
    let link = match edit.url.clone().filter(web) {
        // rel=noopener: the wiki's page gets no handle on this one.
        Some(url) => view! {
            <a href=url target="_blank" rel="noopener noreferrer" class="edit-title">{title}</a>
        }
        .into_any(),
        None => view! { <span class="edit-title">{title}</span> }.into_any(),
    };
    view! {
        <li
            class="edit"
            data-id=edit.id.clone().unwrap_or_default()
            data-time=edit.time.0
            data-wiki=edit.wiki.clone()
        >
            <time class="edit-time" datetime=edit.time.to_string()>
                {local_time::clock(edit.time.0, true)}
            </time>
            <span class="edit-wiki">{edit.wiki.clone()}</span>
            <span class="edit-type">{edit.kind.name()}</span>
            {edit.bot.then(|| view! { <span class="edit-bot">"bot"</span> })}
            {link}
            <span class="edit-user">{user}</span>
            {edit.comment.clone().filter(|c| !c.is_empty()).map(|c| {
                let full = c.clone();
                view! { <span class="edit-comment" title=full>{c}</span> }
            })}
        </li>
    }
}
