//! Touchpoints and tasks written by people (pages and API): stored, and everyone they
//! @mention is notified ([`crate::digest::notify_mentions`]). One home for both edges.

use crate::Result;
use crate::digest::{MentionOn, notify_mentions};
use mikawaya_domain::touchpoint::{NewTouchpoint, Touchpoint};
use mikawaya_domain::work::{NewTask, Task};
use mikawaya_domain::{Actor, WriteAccess};
use mikawaya_store::Store;

/// Who writes, and where links in notices point.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    /// The caller.
    pub actor: &'a Actor,
    /// The server's public address.
    pub base_url: &'a str,
}

fn author_user(
    store: &dyn Store,
    author: &Author<'_>,
) -> Result<Option<mikawaya_domain::user::User>> {
    Ok(match author.actor.user_id() {
        Some(id) => Some(store.get_user(&Actor::system().read(), id)?),
        None => None,
    })
}

/// Notifies the people `texts` mention, if any text holds an `@`.
fn notify(
    store: &dyn Store,
    access: &WriteAccess,
    author: &Author<'_>,
    account: mikawaya_domain::AccountId,
    on: MentionOn,
    texts: &[&str],
) -> Result<()> {
    if texts.iter().any(|t| t.contains('@') || t.contains('＠')) {
        notify_mentions(
            store,
            access,
            author_user(store, author)?.as_ref(),
            account,
            on,
            &texts.join("\n\n"),
            author.base_url,
            jiff::Timestamp::now(),
        )?;
    }
    Ok(())
}

/// Records a touchpoint and notifies the people its summary or notes mention.
pub fn log_touchpoint(
    store: &dyn Store,
    access: &WriteAccess,
    author: Author<'_>,
    new: NewTouchpoint,
) -> Result<Touchpoint> {
    let touchpoint = store.create_touchpoint(access, new)?;
    crate::feedback::from_touchpoint(store, access, &touchpoint)?;
    let texts: Vec<&str> = [touchpoint.summary.as_ref(), touchpoint.notes.as_ref()]
        .into_iter()
        .flatten()
        .map(|t| t.as_str())
        .collect();
    let on = MentionOn::Touchpoint(touchpoint.id.get());
    notify(store, access, &author, touchpoint.account_id, on, &texts)?;
    Ok(touchpoint)
}

/// Creates a task and notifies the people its title or instructions mention.
pub fn add_task(
    store: &dyn Store,
    access: &WriteAccess,
    author: Author<'_>,
    new: NewTask,
) -> Result<Task> {
    let task = store.create_task(access, new)?;
    let texts: Vec<&str> = std::iter::once(task.title.as_str())
        .chain(task.instructions.as_ref().map(|t| t.as_str()))
        .collect();
    notify(
        store,
        access,
        &author,
        task.account_id,
        MentionOn::Task(task.id),
        &texts,
    )?;
    Ok(task)
}
