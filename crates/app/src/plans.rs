//! Success plans (期待値調整): one home for making a plan (blank or from a template),
//! changing it, measuring its objectives every day, and sharing it with the customer's
//! contacts through links that need no Mikawaya account.
//!
//! Rules:
//! - A measured objective's progress and status come from the data (`measure`), never
//!   from a person; its metric is a defined metric or a built-in one, checked when the
//!   objective is made.
//! - A shared link is a random token shown once; only its SHA-256 is stored. A wrong,
//!   expired or revoked token opens nothing, and the customer's view is the plan without
//!   internal notes, internal RAID entries, health or forecast.
//! - Every customer action through a link lands in the plan's history (and so on the
//!   account's timeline) and is emailed to the plan's owner (the account's owner when the
//!   plan has none), in their language.

use crate::Result;
use crate::credentials::{random_secret, secret_hash};
use jiff::civil::Date;
use mikawaya_analytics::metrics::{Metric, MetricSpec, Subject, UsageSource, WithFacts};
use mikawaya_domain::config::ConfigKind;
use mikawaya_domain::contact::Contact;
use mikawaya_domain::language::Language;
use mikawaya_domain::plan::{
    Author, PlanBody, PlanChange, PlanEvent, PlanEventKind, PlanStatus, Progress, StatusRule,
    SuccessPlan,
};
use mikawaya_domain::value::Text;
use mikawaya_domain::{
    AccountId, Actor, ContactId, Invalid, PlanId, ReadAccess, UserId, WriteAccess,
};
use mikawaya_playbooks::plan_templates::{self, PlanTemplate};
use mikawaya_store::Store;
use mikawaya_store::plans::{
    NewShare, PlanEdit, PlanEventFilter, PlanEventRow, ProgressRow, Share,
};
use std::collections::{BTreeMap, HashMap};

/// The templates in force and their version (0: the starters, nothing saved yet).
pub fn templates(store: &dyn Store, access: &ReadAccess) -> Result<(Vec<PlanTemplate>, i64)> {
    match store.config(access, ConfigKind::PlanTemplates, None)? {
        Some(saved) => Ok((plan_templates::parse(&saved.body)?, saved.version)),
        None => Ok((plan_templates::starters(), 0)),
    }
}

/// Checks and saves the templates as the next version.
pub fn save_templates(
    store: &dyn Store,
    access: &mikawaya_domain::access::ManageAccess,
    templates: &[PlanTemplate],
) -> Result<i64> {
    plan_templates::check(templates)?;
    let body = serde_json::to_string(templates)
        .map_err(|e| mikawaya_store::StoreError::Corrupt(format!("plan templates: {e}")))?;
    Ok(store
        .put_config(access, ConfigKind::PlanTemplates, &body)?
        .version)
}

/// A metric an objective can be bound to: a defined metric, else a built-in one.
pub fn metric(store: &dyn Store, name: &str) -> Result<Metric> {
    let spec: Option<MetricSpec> = match store.get_metric(name) {
        Ok(json) => Some(
            serde_json::from_str(&json)
                .map_err(|e| mikawaya_store::StoreError::Corrupt(format!("metric {name}: {e}")))?,
        ),
        Err(mikawaya_store::StoreError::NotFound { .. }) => crate::scorecards::built_in()
            .into_iter()
            .find(|spec| spec.name == name),
        Err(other) => return Err(other.into()),
    };
    let Some(spec) = spec else {
        let built_in: Vec<String> = crate::scorecards::built_in()
            .into_iter()
            .map(|s| s.name)
            .collect();
        return Err(Invalid::new(
            "metric",
            format!(
                "no metric '{name}' (define it, or use one of: {})",
                built_in.join(", ")
            ),
        )
        .into());
    };
    Ok(Metric::check(&spec)?)
}

fn check_change(store: &dyn Store, change: &PlanChange) -> Result<()> {
    if let PlanChange::AddObjective {
        target: Some(target),
        ..
    } = change
    {
        metric(store, target.metric.as_str())?;
    }
    Ok(())
}

/// A plan to start.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlan {
    /// Its title (from the template when absent).
    pub title: Option<Text>,
    /// The customer's language.
    pub language: Language,
    /// A template, by name.
    pub template: Option<String>,
    /// The owner on our side (the account's owner when absent).
    pub owner_id: Option<UserId>,
    /// The owner at the customer.
    pub customer_owner_id: Option<ContactId>,
    /// When it starts (today when absent): due dates count from it.
    pub start: Option<Date>,
}

/// Starts a plan on an account (blank, or from a template in the customer's language).
pub fn create(
    store: &dyn Store,
    access: &WriteAccess,
    account: AccountId,
    new: NewPlan,
    today: Date,
    now: jiff::Timestamp,
) -> Result<SuccessPlan> {
    let found = store.get_account(&access.read(), account)?;
    let start = new.start.unwrap_or(today);
    let (mut body, mut events) = match &new.template {
        Some(name) => {
            let (templates, version) = templates(store, &access.read())?;
            let template = templates
                .iter()
                .find(|t| &t.name == name)
                .ok_or_else(|| Invalid::new("template", format!("no template '{name}'")))?;
            template.instantiate(new.language, start, today, version)?
        }
        None => {
            let title = new
                .title
                .clone()
                .ok_or_else(|| Invalid::new("title", "a plan without a template needs a title"))?;
            let body = PlanBody::new(title, new.language);
            let created = PlanEvent {
                kind: PlanEventKind::Created,
                item: None,
                text: body.title.to_string(),
            };
            (body, vec![created])
        }
    };
    if let Some(title) = new.title {
        body.title = title;
    }
    body.owner_id = new.owner_id.or(found.owner_id);
    body.customer_owner_id = new.customer_owner_id;
    for objective in &body.objectives {
        if let Some(target) = &objective.target {
            metric(store, target.metric.as_str())?;
        }
    }
    if let Some(first) = events.first_mut() {
        first.kind = PlanEventKind::Created;
    }
    Ok(store.create_plan(
        access,
        account,
        PlanEdit {
            body: &body,
            events: &events,
            author: access.user_id().map(Author::User),
            at: now,
        },
    )?)
}

/// Changes a plan made on `version` by a person on our side.
pub fn change(
    store: &dyn Store,
    access: &WriteAccess,
    id: PlanId,
    version: i64,
    change: PlanChange,
    now: jiff::Timestamp,
) -> Result<SuccessPlan> {
    check_change(store, &change)?;
    let mut plan = store.get_plan(&access.read(), id)?;
    let who = access.user_id().map(Author::User);
    let events = plan.body.apply(change, who, now)?;
    Ok(store.save_plan(
        access,
        id,
        version,
        PlanEdit {
            body: &plan.body,
            events: &events,
            author: who,
            at: now,
        },
    )?)
}

/// A plan with what surrounds it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanView {
    /// The plan.
    pub plan: SuccessPlan,
    /// Each measured objective's latest progress, by objective.
    pub progress: BTreeMap<u32, Progress>,
    /// Its history, oldest first.
    pub events: Vec<PlanEventRow>,
    /// Its shares.
    pub shares: Vec<Share>,
}

/// One plan, its progress, history and shares.
pub fn view(store: &dyn Store, access: &ReadAccess, id: PlanId) -> Result<PlanView> {
    let plan = store.get_plan(access, id)?;
    let progress = progress_of(store.plan_progress(access, Some(id))?);
    let events = store.plan_events(
        access,
        &PlanEventFilter {
            plan_id: Some(id),
            ..PlanEventFilter::default()
        },
    )?;
    let shares = store.plan_shares(access, id)?;
    Ok(PlanView {
        plan,
        progress,
        events,
        shares,
    })
}

fn progress_of(rows: Vec<ProgressRow>) -> BTreeMap<u32, Progress> {
    rows.into_iter()
        .map(|r| (r.objective, r.progress))
        .collect()
}

/// An account's plans with their objectives' progress (Customer 360's summary).
pub fn of_account(
    store: &dyn Store,
    access: &ReadAccess,
    account: AccountId,
) -> Result<Vec<(SuccessPlan, BTreeMap<u32, Progress>)>> {
    let plans = store.list_plans(
        access,
        &mikawaya_store::plans::PlanFilter {
            account_id: Some(account),
            ..Default::default()
        },
    )?;
    plans
        .into_iter()
        .map(|plan| {
            let progress = progress_of(store.plan_progress(access, Some(plan.id))?);
            Ok((plan, progress))
        })
        .collect()
}

/// What the customer did on an account's plans through shared links, oldest first (the
/// account's timeline shows it).
pub fn customer_actions(
    store: &dyn Store,
    access: &ReadAccess,
    account: AccountId,
) -> Result<Vec<PlanEventRow>> {
    Ok(store.plan_events(
        access,
        &PlanEventFilter {
            account_id: Some(account),
            by_customer: true,
            ..PlanEventFilter::default()
        },
    )?)
}

/// Measures every active plan's objectives on `today` from the data: the metric's value on
/// the start day (the baseline, kept once measured) and today, by the objective status
/// rule; records the milestones that became overdue (events at `at`). An objective whose
/// start is still ahead is not measured. Returns how many statuses changed.
pub fn measure(
    store: &dyn Store,
    usage: &dyn UsageSource,
    today: Date,
    at: jiff::Timestamp,
) -> Result<usize> {
    let system = Actor::system();
    let read = system.read();
    let plans = store.list_plans(
        &read,
        &mikawaya_store::plans::PlanFilter {
            status: Some(PlanStatus::Active),
            ..Default::default()
        },
    )?;
    let stored: HashMap<(PlanId, u32), Progress> = store
        .plan_progress(&read, None)?
        .into_iter()
        .map(|row| ((row.plan_id, row.objective), row.progress))
        .collect();
    let overdue_known: Vec<(PlanId, Option<u32>)> = store
        .plan_events(
            &read,
            &PlanEventFilter {
                kinds: vec![PlanEventKind::MilestoneOverdue],
                ..PlanEventFilter::default()
            },
        )?
        .into_iter()
        .map(|e| (e.plan_id, e.item))
        .collect();
    let mut wanted: Vec<AccountId> = plans.iter().map(|p| p.account_id).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let accounts: Vec<_> = store
        .all_accounts(&read)?
        .into_iter()
        .filter(|a| wanted.binary_search(&a.id).is_ok())
        .collect();
    let facts = mikawaya_playbooks::facts::facts_of(store, &read, &accounts)?;
    let source = WithFacts {
        usage,
        facts: &facts,
    };
    let subjects: HashMap<AccountId, Subject> =
        accounts.iter().map(|a| (a.id, Subject::of(a))).collect();
    let mut metrics: HashMap<String, Option<Metric>> = HashMap::new();
    let mut rows = Vec::new();
    let mut events = Vec::new();
    for plan in &plans {
        let Some(subject) = subjects.get(&plan.account_id) else {
            continue;
        };
        for objective in &plan.body.objectives {
            let Some(target) = objective.target.as_ref().filter(|t| t.start <= today) else {
                continue;
            };
            let name = target.metric.as_str();
            if !metrics.contains_key(name) {
                // A metric deleted since the objective was made measures nothing.
                metrics.insert(name.to_owned(), metric(store, name).ok());
            }
            let found = metrics.get(name).and_then(Option::as_ref);
            let before = stored.get(&(plan.id, objective.id));
            let baseline = match before.and_then(|p| p.baseline) {
                Some(kept) => Some(kept),
                None => found.and_then(|m| m.value(&source, subject, target.start)),
            };
            let value = found.and_then(|m| m.value(&source, subject, today));
            let progress = mikawaya_domain::plan::measure(
                target,
                baseline,
                value,
                today,
                before.and_then(|p| p.achieved_on),
                StatusRule::default(),
            );
            rows.push(ProgressRow {
                plan_id: plan.id,
                objective: objective.id,
                progress,
            });
        }
        for milestone in &plan.body.milestones {
            if milestone.overdue(today) && !overdue_known.contains(&(plan.id, Some(milestone.id))) {
                events.push((
                    plan.id,
                    PlanEvent {
                        kind: PlanEventKind::MilestoneOverdue,
                        item: Some(milestone.id),
                        text: milestone.title.to_string(),
                    },
                ));
            }
        }
    }
    Ok(store.put_plan_progress(&system.manage()?, &rows, &events, at)?)
}

/// A share just made: the link (shown once) and its record.
#[derive(Debug, Clone, PartialEq)]
pub struct Shared {
    /// The record.
    pub share: Share,
    /// The token in the link.
    pub token: String,
    /// The link.
    pub url: String,
}

/// How long a link opens by default, and at most.
pub const SHARE_DAYS: u32 = 30;
/// The longest a link may open.
pub const SHARE_DAYS_MAX: u32 = 365;

/// The path of a shared plan's page.
pub fn shared_path(token: &str) -> String {
    format!("/shared/plans/{token}")
}

/// Shares a plan with a contact of its account for `days` days.
pub fn share(
    store: &dyn Store,
    access: &WriteAccess,
    plan: PlanId,
    contact: ContactId,
    days: u32,
    now: jiff::Timestamp,
    base_url: &str,
) -> Result<Shared> {
    if !(1..=SHARE_DAYS_MAX).contains(&days) {
        return Err(Invalid::new("days", format!("must be 1 to {SHARE_DAYS_MAX}")).into());
    }
    let token = format!("pl_{}", random_secret());
    let expires_at = now
        .checked_add(jiff::SignedDuration::from_hours(24 * i64::from(days)))
        .map_err(|_| Invalid::new("days", "is too far ahead"))?;
    let share = store.create_share(
        access,
        &NewShare {
            plan_id: plan,
            contact_id: contact,
            token_hash: secret_hash(&token),
            expires_at,
        },
    )?;
    let url = format!("{}{}", base_url.trim_end_matches('/'), shared_path(&token));
    Ok(Shared { share, token, url })
}

/// What a contact sees through a link.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedView {
    /// The share.
    pub share: Share,
    /// The plan as the customer sees it ([`PlanBody::for_customer`]).
    pub plan: SuccessPlan,
    /// The measured objectives' progress.
    pub progress: BTreeMap<u32, Progress>,
    /// The contact the link was sent to.
    pub contact: Contact,
    /// The account's name.
    pub account_name: String,
    /// Names of the people the plan names (our side and theirs), for display.
    pub names: HashMap<Author, String>,
}

fn digest(token: &str) -> Option<String> {
    // Anything that is not one of our tokens is refused before the store is asked.
    let plausible = token.starts_with("pl_")
        && token.len() < 100
        && token[3..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    plausible.then(|| secret_hash(token))
}

/// The plan a link opens at `now` (none: wrong, expired or revoked, all alike).
pub fn open(store: &dyn Store, token: &str, now: jiff::Timestamp) -> Result<Option<SharedView>> {
    let Some(hash) = digest(token) else {
        return Ok(None);
    };
    let Some(share) = store.open_share(&hash, now)? else {
        return Ok(None);
    };
    shared_view(store, share).map(Some)
}

fn shared_view(store: &dyn Store, share: Share) -> Result<SharedView> {
    let read = Actor::system().read();
    let mut plan = store.get_plan(&read, share.plan_id)?;
    plan.body = plan.body.for_customer();
    let progress = progress_of(store.plan_progress(&read, Some(plan.id))?);
    let contact = store.get_contact(&read, share.contact_id)?;
    let account = store.get_account(&read, plan.account_id)?;
    let mut names = HashMap::new();
    let contacts = mikawaya_store::all_pages(|page| {
        store.list_contacts(
            &read,
            &mikawaya_store::ContactFilter {
                account_id: Some(plan.account_id),
                ..Default::default()
            },
            page,
        )
    })?;
    for c in contacts {
        names.insert(Author::Contact(c.id), c.name.to_string());
    }
    for user in store.list_users(&read)? {
        names.insert(Author::User(user.id), user.name.to_string());
    }
    Ok(SharedView {
        share,
        plan,
        progress,
        contact,
        account_name: account.name.to_string(),
        names,
    })
}

/// The customer acts through a link: comments, accepts or rejects a deliverable, approves
/// a milestone. The change is kept with the contact as its author and emailed to the
/// plan's owner. None: the link opens nothing.
pub fn act(
    store: &dyn Store,
    token: &str,
    change: PlanChange,
    now: jiff::Timestamp,
    base_url: &str,
) -> Result<Option<SharedView>> {
    let Some(hash) = digest(token) else {
        return Ok(None);
    };
    let Some(share) = store.open_share(&hash, now)? else {
        return Ok(None);
    };
    if !change.customer_may() {
        return Err(Invalid::new("kind", "a customer cannot make this change").into());
    }
    let write = Actor::system().write()?;
    let who = Some(Author::Contact(share.contact_id));
    let mut plan = store.get_plan(&write.read(), share.plan_id)?;
    let summary = change_summary(&plan.body, &change);
    let events = plan.body.apply(change, who, now)?;
    let edit = PlanEdit {
        body: &plan.body,
        events: &events,
        author: who,
        at: now,
    };
    let saved = store.save_plan(&write, plan.id, plan.version, edit)?;
    notify_owner(store, &saved, &share, &summary, base_url, now)?;
    shared_view(store, share).map(Some)
}

/// What a customer's change is, in both languages, for the owner's email.
fn change_summary(body: &PlanBody, change: &PlanChange) -> (String, String) {
    let deliverable = |id: u32| {
        body.deliverable(id)
            .map_or_else(|| id.to_string(), |d| d.title.to_string())
    };
    match change {
        PlanChange::Decide {
            deliverable: id,
            accept: true,
            ..
        } => (
            format!("accepted the deliverable \"{}\"", deliverable(*id)),
            format!("成果物「{}」を承認しました", deliverable(*id)),
        ),
        PlanChange::Decide {
            deliverable: id,
            remark,
            ..
        } => (
            format!(
                "rejected the deliverable \"{}\": {}",
                deliverable(*id),
                remark.as_ref().map_or("", |r| r.as_str())
            ),
            format!(
                "成果物「{}」を差し戻しました: {}",
                deliverable(*id),
                remark.as_ref().map_or("", |r| r.as_str())
            ),
        ),
        PlanChange::CloseMilestone { milestone } => {
            let title = body
                .milestones
                .iter()
                .find(|m| m.id == *milestone)
                .map_or_else(|| milestone.to_string(), |m| m.title.to_string());
            (
                format!("approved the milestone \"{title}\""),
                format!("マイルストーン「{title}」を承認しました"),
            )
        }
        PlanChange::Comment { text, .. } => (
            format!("commented: {text}"),
            format!("コメントしました: {text}"),
        ),
        _ => (String::new(), String::new()),
    }
}

fn notify_owner(
    store: &dyn Store,
    plan: &SuccessPlan,
    share: &Share,
    (en, ja): &(String, String),
    base_url: &str,
    now: jiff::Timestamp,
) -> Result<()> {
    let read = Actor::system().read();
    let account = store.get_account(&read, plan.account_id)?;
    let Some(owner) = plan.body.owner_id.or(account.owner_id) else {
        return Ok(());
    };
    let Ok(user) = store.get_user(&read, owner) else {
        return Ok(());
    };
    let contact = store.get_contact(&read, share.contact_id)?;
    let japanese = user.locale.as_deref().is_some_and(|l| l.starts_with("ja"));
    let (subject, what) = if japanese {
        (
            format!(
                "{}（{}）がサクセスプランで{}",
                contact.name, account.name, ja
            ),
            ja,
        )
    } else {
        (
            format!(
                "{} ({}) {} on the success plan",
                contact.name, account.name, en
            ),
            en,
        )
    };
    let body = format!(
        "{}: {}\n{} — {}\n\n{}/accounts/{}/plans/{}\n",
        contact.name,
        what,
        account.name,
        plan.body.title,
        base_url.trim_end_matches('/'),
        account.id,
        plan.id
    );
    crate::digest::notify(
        store,
        &format!("plan:{}:v{}:{}", plan.id, plan.version, user.id),
        account.id,
        &user,
        (subject, body),
        now,
    )?;
    Ok(())
}

/// Do accounts whose plans are on track churn less? Accounts with a plan whose objectives
/// had a measured status on `from` (`horizon_days` before `as_of`) and not churned by then,
/// split by those statuses (the history of statuses as it stood that day): on track when every
/// objective with a status is on track or achieved, else behind (at risk, off track or
/// missed); plans with no measured status are left out. Churn: the account entered
/// `churned` after `from`, by `as_of`. The difference comes with its 95% interval.
pub fn churn_by_plan_status(
    store: &dyn Store,
    access: &ReadAccess,
    as_of: Date,
    horizon_days: u32,
) -> Result<PlanChurn> {
    use mikawaya_domain::plan::ObjectiveStatus;
    use mikawaya_playbooks::effectiveness::{Arm, compare};
    if horizon_days == 0 || horizon_days > 730 {
        return Err(Invalid::new("horizon_days", "must be from 1 to 730").into());
    }
    let from = as_of
        .checked_sub(jiff::Span::new().days(i64::from(horizon_days)))
        .map_err(|e| Invalid::new("horizon_days", e.to_string()))?;
    let zone = store.business_time_zone()?;
    let day_of = |at: jiff::Timestamp| at.to_zoned(zone.clone()).date();
    // Each objective's status as it stood on `from`: the latest change on or before it.
    let mut statuses: HashMap<(PlanId, u32), ObjectiveStatus> = HashMap::new();
    let events = store.plan_events(
        access,
        &PlanEventFilter {
            kinds: vec![PlanEventKind::ObjectiveStatus],
            ..PlanEventFilter::default()
        },
    )?;
    for event in events.iter().filter(|e| day_of(e.at) <= from) {
        if let (Some(item), Ok(status)) = (event.item, ObjectiveStatus::parse(&event.text)) {
            statuses.insert((event.plan_id, item), status);
        }
    }
    let mut churned_on: HashMap<AccountId, Date> = HashMap::new();
    for entry in store.stage_entries(access, None)? {
        if entry.stage.as_str() == mikawaya_domain::account::CHURNED_STAGE {
            churned_on
                .entry(entry.account_id)
                .and_modify(|d| *d = (*d).min(entry.entered_on))
                .or_insert(entry.entered_on);
        }
    }
    // Per account: whether any plan was behind, and whether any had a status at all.
    let mut accounts: HashMap<AccountId, (bool, bool)> = HashMap::new();
    for plan in store.list_plans(access, &mikawaya_store::plans::PlanFilter::default())? {
        if churned_on.get(&plan.account_id).is_some_and(|d| *d <= from) {
            continue;
        }
        for objective in &plan.body.objectives {
            if let Some(status) = statuses.get(&(plan.id, objective.id)) {
                let row = accounts.entry(plan.account_id).or_default();
                row.1 = true;
                if !matches!(status, ObjectiveStatus::OnTrack | ObjectiveStatus::Achieved) {
                    row.0 = true;
                }
            }
        }
    }
    let (mut on_track, mut behind) = ((0usize, 0usize), (0usize, 0usize));
    for (account, (is_behind, measured)) in accounts {
        if !measured {
            continue;
        }
        let churned = churned_on
            .get(&account)
            .is_some_and(|d| *d > from && *d <= as_of);
        let group = if is_behind {
            &mut behind
        } else {
            &mut on_track
        };
        group.0 += 1;
        group.1 += usize::from(churned);
    }
    let arm = |(n, churned): (usize, usize)| Arm {
        n,
        successes: churned,
        rate: (n > 0).then(|| churned as f64 / n as f64),
    };
    Ok(PlanChurn {
        from,
        to: as_of,
        comparison: compare("on track", arm(on_track), "behind", arm(behind)),
    })
}

/// Churn of accounts whose plans were on track against the others.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanChurn {
    /// The day plans' statuses are read on.
    pub from: Date,
    /// The day churn is counted to.
    pub to: Date,
    /// Churn rates (a: plans on track, b: behind), their difference and its 95% interval.
    pub comparison: mikawaya_playbooks::effectiveness::Comparison,
}
