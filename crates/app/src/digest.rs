//! Pushed, not only pulled: each CSM's daily digest of their Today list (an email through
//! the outbox, and, when a team webhook is set, a Slack-compatible post), and the
//! notification of a person @mentioned on a touchpoint or a task.
//!
//! Rules:
//! - The digest goes once a day (idempotency key `digest:{user}:{day}`) to every CSM and
//!   leader who owns an active account, in their language, with at most
//!   [`DIGEST_ITEMS`] accounts, the renewals within 30 days and the tasks due this week.
//!   A person with nothing in Today gets no digest.
//! - A mention is `@` followed by a user's email, the part of it before `@`, or their name
//!   without spaces (`@aoi`, `@aoi@example.jp`, `@青木葵`); each mentioned user (not the
//!   author) gets one email per touchpoint or task.

use crate::Result;
use crate::today::{Policy, Today, Whose, today};
use jiff::civil::Date;
use mikawaya_analytics::metrics::UsageSource;
use mikawaya_domain::access::Role;
use mikawaya_domain::language::{Language, date, money};
use mikawaya_domain::user::User;
use mikawaya_domain::work::{Channel, MessageStatus};
use mikawaya_domain::{AccountId, Actor, ReadAccess, WriteAccess};
use mikawaya_store::Store;
use mikawaya_store::work::NewMessage;

/// How many accounts a digest lists.
pub const DIGEST_ITEMS: usize = 10;

/// Where digests go besides email.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DigestSettings {
    /// A Slack-compatible incoming-webhook URL for the team (one post per CSM).
    pub webhook: Option<String>,
    /// The server's public address, for links.
    pub base_url: String,
}

fn language_of(user: &User) -> Language {
    user.locale
        .as_deref()
        .map_or(Language::En, Language::of_tag)
}

/// One person's digest as text: a subject and a body.
pub fn render(today: &Today, language: Language, base_url: &str) -> (String, String) {
    let base = base_url.trim_end_matches('/');
    let count = today.items.len();
    let subject = match language {
        Language::Ja => format!(
            "今日対応が必要な顧客: {count}件（{}）",
            date(today.day, language)
        ),
        Language::En => format!(
            "Today: {count} account{} need{} attention ({})",
            if count == 1 { "" } else { "s" },
            if count == 1 { "s" } else { "" },
            date(today.day, language)
        ),
    };
    let mut body = String::new();
    for (rank, item) in today.items.iter().take(DIGEST_ITEMS).enumerate() {
        body.push_str(&format!(
            "{}. {} ({})\n   {base}/accounts/{}\n",
            rank + 1,
            item.account.name,
            money(item.account.arr(), &item.account.currency),
            item.account.id
        ));
        for reason in &item.reasons {
            body.push_str(&format!("   - {}\n", reason.sentence(language)));
        }
    }
    if count > DIGEST_ITEMS {
        body.push_str(&match language {
            Language::Ja => format!("ほか{}件: {base}/today\n", count - DIGEST_ITEMS),
            Language::En => format!("{} more: {base}/today\n", count - DIGEST_ITEMS),
        });
    }
    if !today.renewals.is_empty() {
        body.push_str(language.pick("\nRenewals within 30 days\n", "\n30日以内の更新\n"));
        for account in &today.renewals {
            if let Some(renewal) = account.renewal_date {
                body.push_str(&format!(
                    "- {} {} ({})\n",
                    date(renewal, language),
                    account.name,
                    money(account.arr(), &account.currency)
                ));
            }
        }
    }
    if !today.tasks_due.is_empty() {
        body.push_str(language.pick("\nTasks due this week\n", "\n今週期限のタスク\n"));
        for task in &today.tasks_due {
            body.push_str(&format!(
                "- {} {}\n",
                date(task.due_on, language),
                task.title
            ));
        }
    }
    body.push_str(&format!("\n{base}/today\n"));
    (subject, body)
}

/// Queues today's digest for every CSM and leader with something in Today; returns how
/// many people get one. Queuing twice the same day queues nothing new.
pub fn queue_digests(
    store: &dyn Store,
    usage: &dyn UsageSource,
    day: Date,
    day_of: &dyn Fn(jiff::Timestamp) -> Date,
    settings: &DigestSettings,
    now: jiff::Timestamp,
) -> Result<usize> {
    let system = Actor::system();
    let (read, write) = (system.read(), system.write()?);
    let mut sent = 0;
    for user in store.list_users(&read)? {
        if !matches!(user.role, Role::Csm | Role::Leader) {
            continue;
        }
        let list = today(
            store,
            &read,
            usage,
            Whose::Owner(user.id),
            day,
            day_of,
            &Policy::default(),
        )?;
        if list.items.is_empty() && list.tasks_due.is_empty() {
            continue;
        }
        let language = language_of(&user);
        let (subject, body) = render(&list, language, &settings.base_url);
        store.queue_message(
            &write,
            NewMessage {
                idempotency_key: format!("digest:{}:{day}", user.id),
                channel: Channel::Email,
                account_id: None,
                contact_id: None,
                recipient: user.email.to_string(),
                subject: Some(subject.clone()),
                body: body.clone(),
                format: None,
                status: MessageStatus::Pending,
                reason: None,
                not_before: now,
            },
        )?;
        if let Some(url) = &settings.webhook {
            let text = format!("*{}* — {subject}\n{body}", user.name);
            store.queue_message(
                &write,
                NewMessage {
                    idempotency_key: format!("digest-webhook:{}:{day}", user.id),
                    channel: Channel::Webhook,
                    account_id: None,
                    contact_id: None,
                    recipient: url.clone(),
                    subject: None,
                    body: serde_json::json!({ "text": text }).to_string(),
                    format: Some("slack".to_owned()),
                    status: MessageStatus::Pending,
                    reason: None,
                    not_before: now,
                },
            )?;
        }
        sent += 1;
    }
    Ok(sent)
}

/// The users a text mentions (see the module doc), without duplicates.
pub fn mentioned<'u>(text: &str, users: &'u [User]) -> Vec<&'u User> {
    let mut found: Vec<&User> = Vec::new();
    for token in text.split(|c: char| c.is_whitespace() || "、。,;:()（）「」!?！？".contains(c))
    {
        let Some(handle) = token.strip_prefix('@').or_else(|| token.strip_prefix('＠')) else {
            continue;
        };
        let handle = handle.trim_end_matches(['.', '!', '?']).to_lowercase();
        if handle.is_empty() {
            continue;
        }
        let user = users.iter().find(|u| {
            let email = u.email.as_str().to_lowercase();
            let local = email.split('@').next().unwrap_or_default().to_owned();
            let name: String = u
                .name
                .as_str()
                .split_whitespace()
                .collect::<String>()
                .to_lowercase();
            handle == email || handle == local || handle == name
        });
        if let Some(user) = user
            && !found.iter().any(|f| f.id == user.id)
        {
            found.push(user);
        }
    }
    found
}

/// What a mention is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MentionOn {
    /// A touchpoint (its id).
    Touchpoint(i64),
    /// A task (its id).
    Task(i64),
}

/// Emails every user mentioned in `text` (but the author) about an account; returns how
/// many were queued. `access` must see the account.
#[allow(clippy::too_many_arguments)]
pub fn notify_mentions(
    store: &dyn Store,
    access: &WriteAccess,
    author: Option<&User>,
    account: AccountId,
    on: MentionOn,
    text: &str,
    base_url: &str,
    now: jiff::Timestamp,
) -> Result<usize> {
    let read: ReadAccess = access.read();
    let users = store.list_users(&Actor::system().read())?;
    let targets: Vec<&User> = mentioned(text, &users)
        .into_iter()
        .filter(|u| author.is_none_or(|a| a.id != u.id))
        .collect();
    if targets.is_empty() {
        return Ok(0);
    }
    let account = store.get_account(&read, account)?;
    let base = base_url.trim_end_matches('/');
    let who = author.map_or("Mikawaya", |a| a.name.as_str());
    let (key, what_en, what_ja) = match on {
        MentionOn::Touchpoint(id) => (format!("touchpoint:{id}"), "a touchpoint", "接点記録"),
        MentionOn::Task(id) => (format!("task:{id}"), "a task", "タスク"),
    };
    for user in &targets {
        let language = language_of(user);
        let subject = match language {
            Language::Ja => format!(
                "{who}さんが{}の{what_ja}であなたに言及しました",
                account.name
            ),
            Language::En => format!("{who} mentioned you on {what_en} for {}", account.name),
        };
        let body = format!("{text}\n\n{base}/accounts/{}\n", account.id);
        notify(
            store,
            &format!("mention:{key}:{}", user.id),
            account.id,
            user,
            (subject, body),
            now,
        )?;
    }
    Ok(targets.len())
}

/// Queues an email to one of the team about an account (sent once per idempotency key).
pub(crate) fn notify(
    store: &dyn Store,
    key: &str,
    account: AccountId,
    user: &User,
    (subject, body): (String, String),
    now: jiff::Timestamp,
) -> Result<()> {
    store.queue_message(
        &Actor::system().write()?,
        NewMessage {
            idempotency_key: key.to_owned(),
            channel: Channel::Email,
            account_id: Some(account),
            contact_id: None,
            recipient: user.email.to_string(),
            subject: Some(subject),
            body,
            format: None,
            status: MessageStatus::Pending,
            reason: None,
            not_before: now,
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mikawaya_domain::value::{Email, Name};

    fn user(id: i64, email: &str, name: &str) -> User {
        User {
            id: mikawaya_domain::UserId::new(id),
            email: Email::parse(email).unwrap_or_else(|e| panic!("{e}")),
            name: Name::parse(name).unwrap_or_else(|e| panic!("{e}")),
            role: Role::Csm,
            partner_id: None,
            locale: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            deactivated_at: None,
        }
    }

    #[test]
    fn mentions_are_found_by_email_handle_or_name() {
        let users = [
            user(1, "aoi@cs.example", "Aoi Tanaka"),
            user(2, "ken@cs.example", "青木 健"),
            user(3, "mia@cs.example", "Mia"),
        ];
        let ids = |text: &str| -> Vec<i64> {
            mentioned(text, &users).iter().map(|u| u.id.get()).collect()
        };
        assert_eq!(ids("@aoi please call them, cc @ken@cs.example."), [1, 2]);
        assert_eq!(ids("確認お願いします、@青木健"), [2]);
        assert_eq!(ids("@AoiTanaka and @aoi again"), [1]);
        assert!(ids("email aoi@cs.example is not a mention; @nobody").is_empty());
    }
}
