//! Feedback and feature requests, and the bridge to the product team: feedback items from
//! every source, classified as friction or delight by the keyword lists in force (a
//! person's class wins); similar items suggested for one request
//! (`mikawaya_analytics::similar`) and confirmed, merged or split by a person; requests
//! ranked by the ARR asking for them, with the ARR at risk and the renewals; a request's
//! status set in the app, the API or by the product tracker's signed webhook, and when it
//! ships its requesters told by email and a touchpoint logged on each account.

use crate::Result;
use crate::credentials::random_secret;
use jiff::civil::Date;
use mikawaya_analytics::similar::{Index, SUGGEST_AT};
use mikawaya_analytics::voice::Keywords;
use mikawaya_domain::access::{ManageAccess, Visibility};
use mikawaya_domain::account::Account;
use mikawaya_domain::config::ConfigKind;
use mikawaya_domain::contact::Contact;
use mikawaya_domain::health::Colour;
use mikawaya_domain::language::Language;
use mikawaya_domain::touchpoint::{NewTouchpoint, TouchpointKind};
use mikawaya_domain::value::Text;
use mikawaya_domain::voice::{
    ChangeSource, Experience, FeatureRequest, FeedbackItem, FeedbackSource, NewFeedbackItem,
    RequestEvent, RequestStatus,
};
use mikawaya_domain::{AccountId, Actor, ContactId, Invalid, ReadAccess, WriteAccess};
use mikawaya_store::Store;
use mikawaya_store::voice::{
    FeedbackChange, FeedbackFilter, LoopClosing, RequestChange, RequestChanged,
};
use mikawaya_store::work::NewMessage;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Forecast churn risk from which an account's ARR counts as at risk (beside red health).
pub const AT_RISK_PROBABILITY: f64 = 0.5;

/// The keyword lists in force and their version (0: the defaults, never saved).
pub fn keywords(store: &dyn Store, access: &ReadAccess) -> Result<(Keywords, i64)> {
    match store.config(access, ConfigKind::VoiceKeywords, None)? {
        Some(saved) => {
            let keywords: Keywords = serde_json::from_str(&saved.body)
                .map_err(|e| mikawaya_store::StoreError::Corrupt(format!("voice keywords: {e}")))?;
            Ok((keywords, saved.version))
        }
        None => Ok((Keywords::default(), 0)),
    }
}

/// Checks and saves new keyword lists; returns the version now in force.
pub fn save_keywords(store: &dyn Store, access: &ManageAccess, keywords: &Keywords) -> Result<i64> {
    for (field, list) in [
        ("friction", &keywords.friction),
        ("delight", &keywords.delight),
    ] {
        if list.len() > 1000 {
            return Err(Invalid::new(field, "at most 1000 keywords").into());
        }
        if let Some(bad) = list
            .iter()
            .find(|w| w.trim().is_empty() || w.chars().count() > 100)
        {
            return Err(Invalid::new(
                field,
                format!("'{bad}': a keyword must be 1 to 100 characters"),
            )
            .into());
        }
    }
    let cleaned = Keywords {
        friction: keywords
            .friction
            .iter()
            .map(|w| w.trim().to_owned())
            .collect(),
        delight: keywords
            .delight
            .iter()
            .map(|w| w.trim().to_owned())
            .collect(),
    };
    let body =
        serde_json::to_string(&cleaned).map_err(|e| Invalid::new("keywords", e.to_string()))?;
    Ok(store
        .put_config(access, ConfigKind::VoiceKeywords, &body)?
        .version)
}

/// An item's class: a person's, else the keyword lists'.
pub fn experience_of(item: &FeedbackItem, keywords: &Keywords) -> Experience {
    item.experience_override
        .unwrap_or_else(|| keywords.classify(None, Some(item.text.as_str())))
}

/// The similarity index of every feedback item, kept between calls and brought up to date
/// with the items added since (by id).
#[derive(Default)]
pub struct FeedbackIndex {
    built: Mutex<Option<(Index, i64)>>,
}

impl FeedbackIndex {
    /// An empty cache.
    pub fn new() -> FeedbackIndex {
        FeedbackIndex::default()
    }

    /// Runs `f` on the index with every stored item in it.
    pub fn with<T>(&self, store: &dyn Store, f: impl FnOnce(&Index) -> T) -> Result<T> {
        let mut built = self
            .built
            .lock()
            .map_err(|_| Invalid::new("feedback", "the similarity index is unavailable"))?;
        let after = built.as_ref().map(|(_, through)| *through);
        let mut items = store.feedback(
            &Actor::system().read(),
            &FeedbackFilter {
                after_id: after,
                ..FeedbackFilter::default()
            },
        )?;
        items.sort_by_key(|i| i.id);
        let (index, through) = built.get_or_insert_with(|| (Index::default(), 0));
        if after.is_none() {
            index.extend(items.iter().map(|i| (i.id, i.text.as_str())));
        } else {
            for item in &items {
                index.insert(item.id, item.text.as_str());
            }
        }
        if let Some(last) = items.last() {
            *through = last.id;
        }
        Ok(f(index))
    }
}

/// Items similar to a text, best first: `(item id, similarity)`.
pub fn similar(
    store: &dyn Store,
    index: &FeedbackIndex,
    text: &str,
    except: Option<i64>,
    limit: usize,
) -> Result<Vec<(i64, f64)>> {
    index.with(store, |index| {
        index.nearest(text, limit, SUGGEST_AT, except)
    })
}

/// The request an item's most similar merged neighbours are in, with the similarity.
fn suggestion_for(
    store: &dyn Store,
    index: &FeedbackIndex,
    item: &FeedbackItem,
) -> Result<Option<(i64, f64)>> {
    let read = Actor::system().read();
    for (neighbour, score) in similar(store, index, item.text.as_str(), Some(item.id), 10)? {
        if let Ok(found) = store.get_feedback(&read, neighbour)
            && let Some(request) = found.request_id
        {
            return Ok(Some((request, score)));
        }
    }
    Ok(None)
}

/// An item placed: stored, and the request it resembles suggested.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// The item.
    pub item: FeedbackItem,
    /// Whether it is new (an item from the same source and key is kept once).
    pub created: bool,
}

/// Records feedback items (all or none) and suggests a request for each new one.
pub fn add(
    store: &dyn Store,
    access: &WriteAccess,
    index: &FeedbackIndex,
    items: &[NewFeedbackItem],
) -> Result<Vec<Placed>> {
    let stored = store.add_feedback(access, items)?;
    let mut placed = Vec::with_capacity(stored.len());
    for (item, created) in stored {
        let item = if created {
            match suggestion_for(store, index, &item)? {
                Some(suggestion) => store.change_feedback(
                    access,
                    item.id,
                    &FeedbackChange::Suggest(Some(suggestion)),
                )?,
                None => item,
            }
        } else {
            item
        };
        placed.push(Placed { item, created });
    }
    Ok(placed)
}

/// Items looked at per call of [`suggest_pending`] (the latest first).
pub const PENDING_PER_CALL: usize = 500;

/// Suggests requests for the latest unmerged items without a suggestion (after imports,
/// answers and touchpoints, which store items without placing them), at most
/// [`PENDING_PER_CALL`] of them. Returns how many got one.
pub fn suggest_pending(store: &dyn Store, index: &FeedbackIndex) -> Result<usize> {
    let system = Actor::system();
    let write = system.write()?;
    let pending = store.feedback(
        &system.read(),
        &FeedbackFilter {
            unmerged: true,
            ..FeedbackFilter::default()
        },
    )?;
    let mut suggested = 0;
    for item in pending
        .iter()
        .filter(|i| i.suggestion.is_none())
        .take(PENDING_PER_CALL)
    {
        if let Some(suggestion) = suggestion_for(store, index, item)? {
            store.change_feedback(&write, item.id, &FeedbackChange::Suggest(Some(suggestion)))?;
            suggested += 1;
        }
    }
    Ok(suggested)
}

/// Merges an item into a request (confirming a suggestion, or by hand), or splits it off
/// (`None`). A partner may merge only into a request it sees or the one suggested.
pub fn merge(
    store: &dyn Store,
    access: &WriteAccess,
    item: i64,
    request: Option<i64>,
) -> Result<FeedbackItem> {
    let found = store.get_feedback(&access.read(), item)?;
    if let Some(request) = request {
        let suggested = found.suggestion.map(|s| s.0) == Some(request);
        if !suggested && store.get_request(&access.read(), request).is_err() {
            return Err(Invalid::new("request_id", format!("no feature request {request}")).into());
        }
    }
    Ok(store.change_feedback(access, item, &FeedbackChange::Request(request))?)
}

/// Makes a request from items.
pub fn create_request(
    store: &dyn Store,
    access: &WriteAccess,
    title: &str,
    items: &[i64],
    source: ChangeSource,
) -> Result<FeatureRequest> {
    let title = Text::parse(title).map_err(|e| Invalid::new("title", e.to_string()))?;
    // A partner sees a request through its own accounts' items: one it could not see
    // would be made and then lost to it.
    if items.is_empty() && matches!(access.visibility(), Visibility::Partner(_)) {
        return Err(Invalid::new(
            "items",
            "a partner's request needs at least one of its feedback items",
        )
        .into());
    }
    Ok(store.create_request(access, &title, items, source)?)
}

/// An account asking for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Requester {
    /// The account.
    pub account_id: AccountId,
    /// Its name.
    pub name: String,
    /// Its ARR.
    pub arr: f64,
    /// Its currency.
    pub currency: String,
    /// Its next renewal.
    pub renewal: Option<Date>,
    /// Red health or a high forecast risk.
    pub at_risk: bool,
    /// Its items in the request.
    pub items: usize,
}

/// A request with what the caller may see of who asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRow {
    /// The request.
    pub request: FeatureRequest,
    /// The visible requesting accounts, most ARR first.
    pub requesters: Vec<Requester>,
    /// Visible items.
    pub items: usize,
    /// Their total ARR.
    pub arr: f64,
    /// The ARR of those at risk.
    pub arr_at_risk: f64,
    /// The earliest renewal among them.
    pub next_renewal: Option<Date>,
    /// Items classed friction.
    pub friction: usize,
    /// Items classed delight.
    pub delight: usize,
}

fn at_risk(account: &Account) -> bool {
    account.signals.colour() == Some(Colour::Red)
        || account
            .signals
            .forecast_risk
            .is_some_and(|p| p >= AT_RISK_PROBABILITY)
}

fn rows(
    store: &dyn Store,
    access: &ReadAccess,
    requests: Vec<FeatureRequest>,
    items: &[FeedbackItem],
) -> Result<Vec<RequestRow>> {
    let (keywords, _) = keywords(store, access)?;
    let accounts: HashMap<AccountId, Account> = store
        .all_accounts(access)?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let mut by_request: HashMap<i64, Vec<&FeedbackItem>> = HashMap::new();
    for item in items {
        if let Some(request) = item.request_id {
            by_request.entry(request).or_default().push(item);
        }
    }
    let mut out = Vec::with_capacity(requests.len());
    for request in requests {
        let mine = by_request.remove(&request.id).unwrap_or_default();
        let mut requesters: BTreeMap<AccountId, Requester> = BTreeMap::new();
        let (mut friction, mut delight) = (0, 0);
        for item in &mine {
            match experience_of(item, &keywords) {
                Experience::Friction => friction += 1,
                Experience::Delight => delight += 1,
                Experience::Neutral => {}
            }
            if let Some(account) = accounts.get(&item.account_id) {
                requesters
                    .entry(account.id)
                    .or_insert_with(|| Requester {
                        account_id: account.id,
                        name: account.name.to_string(),
                        arr: account.arr(),
                        currency: account.currency.to_string(),
                        renewal: account.renewal_date,
                        at_risk: at_risk(account),
                        items: 0,
                    })
                    .items += 1;
            }
        }
        let mut requesters: Vec<Requester> = requesters.into_values().collect();
        requesters.sort_by(|a, b| b.arr.total_cmp(&a.arr).then(a.name.cmp(&b.name)));
        out.push(RequestRow {
            items: mine.len(),
            arr: requesters.iter().map(|r| r.arr).sum(),
            arr_at_risk: requesters.iter().filter(|r| r.at_risk).map(|r| r.arr).sum(),
            next_renewal: requesters.iter().filter_map(|r| r.renewal).min(),
            friction,
            delight,
            requesters,
            request,
        });
    }
    Ok(out)
}

/// The requests the caller may see, ranked for product managers: most ARR asking first
/// (then ARR at risk, then items).
pub fn ranked(store: &dyn Store, access: &ReadAccess) -> Result<Vec<RequestRow>> {
    let requests = store.requests(access)?;
    let items = store.feedback(access, &FeedbackFilter::default())?;
    let mut rows = rows(store, access, requests, &items)?;
    rows.sort_by(|a, b| {
        b.arr
            .total_cmp(&a.arr)
            .then(b.arr_at_risk.total_cmp(&a.arr_at_risk))
            .then(b.items.cmp(&a.items))
            .then(a.request.id.cmp(&b.request.id))
    });
    Ok(rows)
}

/// An item with its account's and contact's names and its class.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemView {
    /// The item.
    pub item: FeedbackItem,
    /// Its account's name.
    pub account_name: String,
    /// Who said it.
    pub contact_name: Option<String>,
    /// Friction, delight or neither (a person's class, else the rules').
    pub experience: Experience,
    /// The suggested request's title.
    pub suggested_title: Option<String>,
}

/// Items with their names and classes.
pub fn views(
    store: &dyn Store,
    access: &ReadAccess,
    items: Vec<FeedbackItem>,
) -> Result<Vec<ItemView>> {
    let (keywords, _) = keywords(store, access)?;
    let names = crate::names::accounts(store, access, items.iter().map(|i| i.account_id))?;
    let contacts =
        crate::names::contacts(store, access, items.iter().filter_map(|i| i.contact_id))?;
    let titles: HashMap<i64, String> = store
        .requests(&Actor::system().read())?
        .into_iter()
        .map(|r| (r.id, r.title.to_string()))
        .collect();
    Ok(items
        .into_iter()
        .map(|item| ItemView {
            account_name: names.get(&item.account_id).cloned().unwrap_or_default(),
            contact_name: item.contact_id.and_then(|c| contacts.get(&c).cloned()),
            experience: experience_of(&item, &keywords),
            suggested_title: item.suggestion.and_then(|(r, _)| titles.get(&r).cloned()),
            item,
        })
        .collect())
}

/// One request in full.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestDetail {
    /// The request and its requesters.
    pub row: RequestRow,
    /// Its visible items.
    pub items: Vec<ItemView>,
    /// Its history.
    pub events: Vec<RequestEvent>,
    /// The requesting accounts' mean health in the 30 days before it shipped and in the
    /// latest 30 days (shipped requests only).
    pub health: Option<(Option<f64>, Option<f64>)>,
}

/// One visible request in full.
pub fn detail(
    store: &dyn Store,
    access: &ReadAccess,
    id: i64,
    today: Date,
) -> Result<RequestDetail> {
    let request = store.get_request(access, id)?;
    let items = store.feedback(
        access,
        &FeedbackFilter {
            request: Some(id),
            ..FeedbackFilter::default()
        },
    )?;
    let row = rows(store, access, vec![request.clone()], &items)?
        .pop()
        .ok_or(mikawaya_store::StoreError::NotFound {
            entity: "feature request",
        })?;
    let health = match request.shipped_at {
        Some(shipped) => {
            let zone = store.business_time_zone()?;
            let shipped_on = shipped.to_zoned(zone).date();
            let accounts: Vec<AccountId> = row.requesters.iter().map(|r| r.account_id).collect();
            let mean = |from: Date, to: Date| -> Result<Option<f64>> {
                let rows = store.health_rows(access, "default", Some(&accounts), from, to)?;
                let scores: Vec<f64> = rows.iter().filter_map(|r| r.score).collect();
                Ok((!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64))
            };
            let before = mean(
                shipped_on.saturating_sub(jiff::Span::new().days(30)),
                shipped_on,
            )?;
            let after = mean(today.saturating_sub(jiff::Span::new().days(30)), today)?;
            Some((before, after))
        }
        None => None,
    };
    Ok(RequestDetail {
        events: store.request_events(access, id)?,
        items: views(store, access, items)?,
        row,
        health,
    })
}

/// An account's language for what it is sent: its `language` field, else `default`.
pub fn language_of(account: &Account, default: Language) -> Language {
    match account.custom_fields.get("language") {
        Some(
            mikawaya_domain::custom_field::CustomValue::Text(l)
            | mikawaya_domain::custom_field::CustomValue::Enum(l),
        ) => Language::of_tag(l),
        _ => default,
    }
}

/// The email telling a requester a request shipped, in their language.
fn shipped_email(
    request: &FeatureRequest,
    contact: &Contact,
    account: &Account,
    language: Language,
) -> (String, String) {
    let title = request.title.as_str();
    let link = request
        .issue_url
        .as_deref()
        .map(|u| format!("\n\n{u}"))
        .unwrap_or_default();
    match language {
        Language::Ja => (
            format!("ご要望いただいた機能をリリースしました: {title}"),
            format!(
                "{} 様\n\n{}様からいただいたご要望「{title}」をリリースしました。お声をお寄せいただき、ありがとうございました。{link}\n\nご不明な点があれば、このメールにご返信ください。",
                contact.name, account.name
            ),
        ),
        Language::En => (
            format!("You asked, we shipped: {title}"),
            format!(
                "Hello {},\n\n{} asked for \"{title}\", and it has shipped. Thank you for telling us.{link}\n\nReply to this email with any questions.",
                contact.name, account.name
            ),
        ),
    }
}

/// What closing the loop on a request writes: an email to each requester with an address
/// (suppressed when unsubscribed) and a touchpoint on each requesting account.
fn closing(
    store: &dyn Store,
    request: &FeatureRequest,
    default_language: Language,
    now: jiff::Timestamp,
) -> Result<LoopClosing> {
    let system = Actor::system().read();
    let items = store.feedback(
        &system,
        &FeedbackFilter {
            request: Some(request.id),
            ..FeedbackFilter::default()
        },
    )?;
    let mut out = LoopClosing::default();
    let mut told: std::collections::BTreeSet<ContactId> = std::collections::BTreeSet::new();
    let mut accounts: BTreeMap<AccountId, Account> = BTreeMap::new();
    for item in &items {
        let account = match accounts.get(&item.account_id) {
            Some(account) => account.clone(),
            None => {
                let account = store.get_account(&system, item.account_id)?;
                accounts.insert(account.id, account.clone());
                account
            }
        };
        let Some(contact_id) = item.contact_id else {
            continue;
        };
        if !told.insert(contact_id) {
            continue;
        }
        let Ok(contact) = store.get_contact(&system, contact_id) else {
            continue;
        };
        let Some(email) = &contact.email else {
            continue;
        };
        let language = language_of(&account, default_language);
        let (subject, body) = shipped_email(request, &contact, &account, language);
        let message = NewMessage::email(
            format!("request/{}/shipped/{}", request.id, contact.id),
            account.id,
            contact.id,
            email.to_string(),
            (subject, body),
            now,
        );
        out.messages
            .push(if store.is_unsubscribed(&system, email.as_str())? {
                message.suppressed("unsubscribed")
            } else {
                message
            });
    }
    for account in accounts.values() {
        let language = language_of(account, default_language);
        let summary = match language {
            Language::Ja => format!("ご要望のリリースをお知らせ: {}", request.title),
            Language::En => format!("Told the customer it shipped: {}", request.title),
        };
        out.touchpoints.push(NewTouchpoint {
            account_id: account.id,
            kind: TouchpointKind::Email,
            occurred_at: now,
            user_id: None,
            summary: Some(Text::parse(&summary)?),
            attendees: Vec::new(),
            notes: None,
            sentiment: None,
        });
    }
    Ok(out)
}

/// Changes a request (title, status, link). When it becomes shipped for the first time,
/// every requester is told by email and a touchpoint is logged on each account, in the
/// same transaction; a second "shipped" changes nothing.
pub fn change_request(
    store: &dyn Store,
    access: &ManageAccess,
    id: i64,
    change: &RequestChange,
    source: ChangeSource,
    default_language: Language,
) -> Result<RequestChanged> {
    let request = store.get_request(&access.write().read(), id)?;
    if let Some(Some(url)) = &change.issue_url {
        check_url(url)?;
    }
    let closing =
        if change.status == Some(RequestStatus::Shipped) && request.loop_closed_at.is_none() {
            closing(store, &request, default_language, jiff::Timestamp::now())?
        } else {
            LoopClosing::default()
        };
    Ok(store.change_request(access, id, change, source, &closing)?)
}

fn check_url(url: &str) -> Result<()> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2000
        && !url.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(Invalid::new("issue_url", format!("'{url}' is not an http(s) URL")).into())
    }
}

/// The secret the product tracker signs its webhooks with (made on first use).
pub fn webhook_secret(store: &dyn Store) -> Result<String> {
    const KEY: &str = "voice.webhook_secret";
    if let Some(secret) = store.get_meta(KEY)? {
        return Ok(secret);
    }
    let secret = random_secret();
    store.put_meta(KEY, &secret)?;
    Ok(secret)
}

/// What a webhook delivery did.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookOutcome {
    /// The signature did not match: refused, nothing changed.
    BadSignature,
    /// The delivery was seen before: nothing changed.
    Replayed,
    /// Not an issue event, or no request links to the issue, or no status follows.
    Ignored(String),
    /// Requests changed (ids), and whether loops were closed.
    Changed(Vec<(i64, bool)>),
}

/// The status an issue event (GitHub's shape) sets: closed as completed is shipped, closed
/// as not planned is declined, reopened is in progress, a label named like a status sets
/// it (`planned`, `in progress`, `shipped`, `declined`).
pub fn status_of_issue_event(event: &serde_json::Value) -> Option<RequestStatus> {
    let action = event.get("action")?.as_str()?;
    let issue = event.get("issue")?;
    match action {
        "closed" => match issue.get("state_reason").and_then(|r| r.as_str()) {
            Some("not_planned") => Some(RequestStatus::Declined),
            _ => Some(RequestStatus::Shipped),
        },
        "reopened" => Some(RequestStatus::InProgress),
        "labeled" => {
            let label = event.get("label")?.get("name")?.as_str()?;
            RequestStatus::parse(label).ok()
        }
        _ => None,
    }
}

/// Handles the product tracker's webhook: checks the signature over the raw body, refuses a
/// replayed delivery, and sets the status of every request linked to the issue.
pub fn webhook(
    store: &dyn Store,
    body: &[u8],
    signature: Option<&str>,
    delivery: Option<&str>,
    default_language: Language,
) -> Result<WebhookOutcome> {
    let secret = webhook_secret(store)?;
    let signed = signature.is_some_and(|s| mikawaya_outbox::verify_hub_signature(&secret, body, s));
    if !signed {
        tracing::warn!(
            delivery = delivery.unwrap_or(""),
            "product webhook refused: bad signature"
        );
        return Ok(WebhookOutcome::BadSignature);
    }
    let event: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| Invalid::new("body", e.to_string()))?;
    let delivery = delivery
        .map(str::to_owned)
        .unwrap_or_else(|| crate::credentials::secret_hash(&String::from_utf8_lossy(body)));
    if !store.record_delivery(&delivery, "received")? {
        return Ok(WebhookOutcome::Replayed);
    }
    let Some(url) = event
        .get("issue")
        .and_then(|i| i.get("html_url"))
        .and_then(|u| u.as_str())
    else {
        return Ok(WebhookOutcome::Ignored("not an issue event".to_owned()));
    };
    let Some(status) = status_of_issue_event(&event) else {
        return Ok(WebhookOutcome::Ignored(
            "no status follows from this event".to_owned(),
        ));
    };
    let requests = store.requests_by_issue(url)?;
    if requests.is_empty() {
        return Ok(WebhookOutcome::Ignored(format!(
            "no request links to {url}"
        )));
    }
    let manage = Actor::system().manage()?;
    let mut changed = Vec::new();
    for request in requests {
        let outcome = change_request(
            store,
            &manage,
            request.id,
            &RequestChange {
                status: Some(status),
                ..RequestChange::default()
            },
            ChangeSource::Webhook,
            default_language,
        )?;
        if outcome.changed {
            changed.push((request.id, outcome.loop_closed));
        }
    }
    Ok(WebhookOutcome::Changed(changed))
}

/// A feedback item from a touchpoint of kind feedback (its summary and notes).
pub fn from_touchpoint(
    store: &dyn Store,
    access: &WriteAccess,
    touchpoint: &mikawaya_domain::touchpoint::Touchpoint,
) -> Result<()> {
    if touchpoint.kind != TouchpointKind::Feedback {
        return Ok(());
    }
    let text: Vec<&str> = [touchpoint.summary.as_ref(), touchpoint.notes.as_ref()]
        .into_iter()
        .flatten()
        .map(Text::as_str)
        .collect();
    if text.is_empty() {
        return Ok(());
    }
    store.add_feedback(
        access,
        &[NewFeedbackItem {
            account_id: touchpoint.account_id,
            contact_id: None,
            source: FeedbackSource::Touchpoint,
            source_key: Some(touchpoint.id.to_string()),
            text: Text::parse(&text.join("\n"))?,
            created_at: Some(touchpoint.occurred_at),
        }],
    )?;
    Ok(())
}

/// The ranked requests as CSV (what the caller may see).
pub fn requests_csv(rows: &[RequestRow]) -> String {
    let mut out = String::from(
        "id,title,status,issue_url,accounts,items,arr,arr_at_risk,next_renewal,friction,delight,shipped_at\n",
    );
    let cell = crate::csv_cell;
    for row in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{:.2},{:.2},{},{},{},{}\n",
            row.request.id,
            cell(row.request.title.as_str()),
            row.request.status,
            cell(row.request.issue_url.as_deref().unwrap_or("")),
            row.requesters.len(),
            row.items,
            row.arr,
            row.arr_at_risk,
            row.next_renewal.map(|d| d.to_string()).unwrap_or_default(),
            row.friction,
            row.delight,
            row.request
                .shipped_at
                .map(|t| t.to_string())
                .unwrap_or_default(),
        ));
    }
    out
}

/// Records the rows of a feedback file (`mikawaya_import::feedback`), all or none: accounts
/// by external id (visible ones), contacts by email at that account. Every row that names
/// an unknown account or contact is listed by line and column. Returns (new, already there).
pub fn import(
    store: &dyn Store,
    access: &WriteAccess,
    index: &FeedbackIndex,
    rows: &[mikawaya_import::feedback::FeedbackRow],
) -> Result<(usize, usize)> {
    let read = access.read();
    let zone = store.business_time_zone()?;
    let accounts: HashMap<String, AccountId> = store
        .all_accounts(&read)?
        .into_iter()
        .filter_map(|a| a.external_id.map(|e| (e.to_string(), a.id)))
        .collect();
    let mut emails: HashMap<(AccountId, String), ContactId> = HashMap::new();
    for contact in store.all_contacts(&read)? {
        if let Some(email) = contact.email {
            emails.insert(
                (contact.account_id, email.to_string().to_lowercase()),
                contact.id,
            );
        }
    }
    let mut errors = Vec::new();
    let mut items = Vec::new();
    for row in rows {
        let Some(account) = accounts.get(&row.account) else {
            errors.push(mikawaya_store::RowError {
                line: row.line,
                column: "account".to_owned(),
                reason: format!("no account with external id '{}'", row.account),
            });
            continue;
        };
        let contact = match &row.contact {
            None => None,
            Some(email) => match emails.get(&(*account, email.to_lowercase())) {
                Some(id) => Some(*id),
                None => {
                    errors.push(mikawaya_store::RowError {
                        line: row.line,
                        column: "contact".to_owned(),
                        reason: format!("no contact '{email}' at account '{}'", row.account),
                    });
                    continue;
                }
            },
        };
        let created_at = match (row.at, row.day) {
            (Some(at), _) => Some(at),
            (None, Some(day)) => Some(
                day.at(12, 0, 0, 0)
                    .to_zoned(zone.clone())
                    .map_err(|e| Invalid::new("date", e.to_string()))?
                    .timestamp(),
            ),
            (None, None) => None,
        };
        items.push(NewFeedbackItem {
            account_id: *account,
            contact_id: contact,
            source: FeedbackSource::parse(&row.source)?,
            source_key: row.key.clone(),
            text: Text::parse(&row.text)
                .map_err(|e| Invalid::new(format!("line {}: text", row.line), e.reason))?,
            created_at,
        });
    }
    if !errors.is_empty() {
        return Err(mikawaya_import::ImportError::Rows(errors).into());
    }
    let placed = add(store, access, index, &items)?;
    let new = placed.iter().filter(|p| p.created).count();
    Ok((new, placed.len() - new))
}
