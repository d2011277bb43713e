//! What rules read, loaded once per evaluation: accounts, contacts, owners, partners,
//! segments, recent changes and survey answers, revenue, runs and their tasks, metric
//! definitions, and (when given) the usage rollups.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::churn::RevenueRow;
use mikawaya_analytics::metrics::{Metric, MetricSpec, Subject, UsageSource};
use mikawaya_domain::account::{Account, AccountFilter};
use mikawaya_domain::contact::Contact;
use mikawaya_domain::user::User;
use mikawaya_domain::work::{SurveyResponse, Task};
use mikawaya_domain::{AccountId, PartnerId, ReadAccess, UserId};
use mikawaya_store::work::{AccountChange, Run, RunFilter, TaskFilter};
use mikawaya_store::{Store, all_pages};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

/// How far back changes and survey answers are loaded.
pub const LOOKBACK_DAYS: i64 = 400;

/// Everything an evaluation reads.
pub struct Facts<'a> {
    /// Accounts, by id order.
    pub accounts: Vec<Account>,
    /// Contacts per account.
    pub contacts: HashMap<AccountId, Vec<Contact>>,
    /// Users by id.
    pub users: HashMap<UserId, User>,
    /// Partner external ids.
    pub partners: HashMap<PartnerId, String>,
    /// Segment filters by name.
    pub segments: HashMap<String, AccountFilter>,
    /// Changes per account, oldest first.
    pub changes: HashMap<AccountId, Vec<AccountChange>>,
    /// Survey answers per account, oldest first.
    pub surveys: HashMap<AccountId, Vec<SurveyResponse>>,
    /// The plan templates in force and their version.
    pub plan_templates: (Vec<crate::plan_templates::PlanTemplate>, i64),
    /// The templates of each account's active success plans.
    pub plans: HashMap<AccountId, Vec<String>>,
    /// Success plan events per account, oldest first.
    pub plan_events: HashMap<AccountId, Vec<mikawaya_store::plans::PlanEventRow>>,
    /// Subscription rows per account.
    pub revenue: HashMap<AccountId, Vec<RevenueRow>>,
    /// Runs per (playbook, account), oldest first.
    pub runs: HashMap<(String, AccountId), Vec<Run>>,
    /// Tasks per run.
    pub tasks: HashMap<i64, Vec<Task>>,
    /// Metric definitions by name.
    pub metrics: HashMap<String, Metric>,
    /// Usage rollups, when the evaluation has them.
    pub usage: Option<&'a dyn UsageSource>,
    /// Account facts for account-level metrics.
    pub account_facts: mikawaya_analytics::metrics::AccountFacts,
    /// Unsubscribed addresses seen so far (cache).
    pub unsubscribed: RefCell<HashMap<String, bool>>,
    /// Touchpoints per account (kind and business day), oldest first.
    pub touchpoints: HashMap<AccountId, Vec<(mikawaya_domain::touchpoint::TouchpointKind, Date)>>,
    /// Survey definitions by name, with their ids.
    pub survey_defs: HashMap<String, (i64, crate::surveys::SurveyDef)>,
    /// When each contact was last sent a survey (within two years).
    pub last_surveyed: HashMap<mikawaya_domain::ContactId, jiff::Timestamp>,
    /// Accounts with open friction: a friction feedback item not resolved, or a friction
    /// survey answer in the last 30 days.
    pub open_friction: std::collections::HashSet<AccountId>,
    /// The secret survey links are signed with (none: surveys are not sent).
    pub link_secret: Option<String>,
    health: RefCell<HashMap<Date, BTreeMap<AccountId, Option<f64>>>>,
    cards: mikawaya_analytics::scorecard::CardSet,
    zone: jiff::tz::TimeZone,
}

impl std::fmt::Debug for Facts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Facts")
            .field("accounts", &self.accounts.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Facts<'a> {
    /// Loads what the rules read as of `today`.
    pub fn load(
        store: &dyn Store,
        access: &ReadAccess,
        usage: Option<&'a dyn UsageSource>,
        today: Date,
    ) -> Result<Facts<'a>> {
        let accounts = store.all_accounts(access)?;
        let account_facts = facts_of(store, access, &accounts)?;
        let mut contacts: HashMap<AccountId, Vec<Contact>> = HashMap::new();
        for contact in store.all_contacts(access)? {
            contacts
                .entry(contact.account_id)
                .or_default()
                .push(contact);
        }
        let users = store
            .list_users(access)?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        let partners = store
            .list_partners(access)?
            .into_iter()
            .filter_map(|p| p.external_id.map(|e| (p.id, e.to_string())))
            .collect();
        let segments = store
            .list_segments(access)?
            .into_iter()
            .map(|s| (s.name.to_string(), s.filter))
            .collect();
        let since = today
            .checked_sub(jiff::Span::new().days(LOOKBACK_DAYS))
            .unwrap_or(today)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let mut changes: HashMap<AccountId, Vec<AccountChange>> = HashMap::new();
        for change in store.account_changes(access, since)? {
            changes.entry(change.account_id).or_default().push(change);
        }
        let mut surveys: HashMap<AccountId, Vec<SurveyResponse>> = HashMap::new();
        for response in store.survey_responses(access, None, since)? {
            surveys
                .entry(response.account_id)
                .or_default()
                .push(response);
        }
        let mut plan_events: HashMap<AccountId, Vec<mikawaya_store::plans::PlanEventRow>> =
            HashMap::new();
        let plan_filter = mikawaya_store::plans::PlanEventFilter {
            since: Some(since),
            kinds: vec![
                mikawaya_domain::plan::PlanEventKind::ObjectiveStatus,
                mikawaya_domain::plan::PlanEventKind::MilestoneOverdue,
                mikawaya_domain::plan::PlanEventKind::DeliverableRejected,
            ],
            ..Default::default()
        };
        for event in store.plan_events(access, &plan_filter)? {
            plan_events.entry(event.account_id).or_default().push(event);
        }
        let plan_templates = match store.config(
            access,
            mikawaya_domain::config::ConfigKind::PlanTemplates,
            None,
        )? {
            Some(saved) => (crate::plan_templates::parse(&saved.body)?, saved.version),
            None => (crate::plan_templates::starters(), 0),
        };
        let mut plans: HashMap<AccountId, Vec<String>> = HashMap::new();
        let active = mikawaya_store::plans::PlanFilter {
            status: Some(mikawaya_domain::plan::PlanStatus::Active),
            ..Default::default()
        };
        for plan in store.list_plans(access, &active)? {
            if let Some((name, _)) = plan.body.template {
                plans.entry(plan.account_id).or_default().push(name);
            }
        }
        let mut revenue: HashMap<AccountId, Vec<RevenueRow>> = HashMap::new();
        for subscription in store.all_subscriptions(access)? {
            revenue
                .entry(subscription.account_id)
                .or_default()
                .push(RevenueRow::from(&subscription));
        }
        let mut runs: HashMap<(String, AccountId), Vec<Run>> = HashMap::new();
        for run in store.list_runs(access, &RunFilter::default())? {
            runs.entry((run.playbook.clone(), run.account_id))
                .or_default()
                .push(run);
        }
        let mut tasks: HashMap<i64, Vec<Task>> = HashMap::new();
        for task in all_pages(|page| store.list_tasks(access, &TaskFilter::default(), page))? {
            if let Some(run_id) = task.run_id {
                tasks.entry(run_id).or_default().push(task);
            }
        }
        let mut metrics = HashMap::new();
        for (name, spec) in store.list_metrics()? {
            let parsed = serde_json::from_str::<MetricSpec>(&spec)
                .map_err(|e| mikawaya_domain::Invalid::new("metric", e.to_string()))
                .and_then(|spec| Metric::check(&spec));
            match parsed {
                Ok(metric) => {
                    metrics.insert(name, metric);
                }
                Err(error) => {
                    tracing::warn!(%name, %error, "skipping a stored metric that does not read")
                }
            }
        }
        let zone = store.business_time_zone()?;
        let mut touchpoints: HashMap<
            AccountId,
            Vec<(mikawaya_domain::touchpoint::TouchpointKind, Date)>,
        > = HashMap::new();
        let touch_filter = mikawaya_store::TouchpointFilter {
            from: Some(since),
            ..Default::default()
        };
        for touchpoint in all_pages(|page| store.list_touchpoints(access, &touch_filter, page))? {
            touchpoints.entry(touchpoint.account_id).or_default().push((
                touchpoint.kind,
                touchpoint.occurred_at.to_zoned(zone.clone()).date(),
            ));
        }
        for list in touchpoints.values_mut() {
            list.sort_by_key(|(_, day)| *day);
        }
        let mut survey_defs = HashMap::new();
        for survey in store.surveys()? {
            match serde_json::from_str::<crate::surveys::SurveyDef>(&survey.body) {
                Ok(def) => {
                    survey_defs.insert(survey.name.clone(), (survey.id, def));
                }
                Err(error) => {
                    tracing::warn!(name = %survey.name, %error, "skipping a stored survey that does not read")
                }
            }
        }
        let two_years = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 730);
        let mut last_surveyed = HashMap::new();
        for send in store.survey_sends(access, two_years)? {
            last_surveyed.insert(send.contact_id, send.sent_at);
        }
        let keywords = match store.config(
            access,
            mikawaya_domain::config::ConfigKind::VoiceKeywords,
            None,
        )? {
            Some(saved) => serde_json::from_str(&saved.body)
                .map_err(|e| mikawaya_domain::Invalid::new("voice_keywords", e.to_string()))?,
            None => mikawaya_analytics::voice::Keywords::default(),
        };
        let mut open_friction = std::collections::HashSet::new();
        for item in store.feedback(access, &mikawaya_store::voice::FeedbackFilter::default())? {
            let experience = item
                .experience_override
                .unwrap_or_else(|| keywords.classify(None, Some(item.text.as_str())));
            if item.resolved_at.is_none()
                && experience == mikawaya_domain::voice::Experience::Friction
            {
                open_friction.insert(item.account_id);
            }
        }
        let month_ago = today
            .checked_sub(jiff::Span::new().days(30))
            .unwrap_or(today)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        for answers in surveys.values() {
            for answer in answers.iter().filter(|a| a.answered_at >= month_ago) {
                let experience = answer.experience_override.unwrap_or_else(|| {
                    keywords.classify(
                        Some((answer.kind, answer.score)),
                        answer.comment.as_ref().map(|c| c.as_str()),
                    )
                });
                if experience == mikawaya_domain::voice::Experience::Friction {
                    open_friction.insert(answer.account_id);
                }
            }
        }
        Ok(Facts {
            touchpoints,
            survey_defs,
            last_surveyed,
            open_friction,
            link_secret: store.get_meta("secret")?,
            accounts,
            contacts,
            users,
            partners,
            segments,
            changes,
            surveys,
            plan_events,
            plan_templates,
            plans,
            revenue,
            runs,
            tasks,
            metrics,
            usage,
            account_facts,
            unsubscribed: RefCell::default(),
            health: RefCell::default(),
            cards: crate::health::card_set(store, access)?,
            zone: store.business_time_zone()?,
        })
    }

    /// A metric's value for an account as of a day; none when it is missing, unknown, or
    /// there is no usage data.
    pub fn metric(&self, name: &str, account: &Account, day: Date) -> Option<f64> {
        let metric = self.metrics.get(name)?;
        let usage = self.usage?;
        let source = mikawaya_analytics::metrics::WithFacts {
            usage,
            facts: &self.account_facts,
        };
        metric.value(&source, &Subject::of(account), day)
    }

    /// The business day an instant falls on (the data dir's time zone, as usage days).
    pub fn day_of(&self, instant: jiff::Timestamp) -> Date {
        instant.to_zoned(self.zone.clone()).date()
    }

    /// An account's health score as of a day, by the scorecards in force (the same
    /// scoring as the stored snapshots and every page).
    pub fn health(&self, account: &Account, day: Date) -> Option<f64> {
        let usage = self.usage?;
        let mut cache = self.health.borrow_mut();
        let scores = cache.entry(day).or_insert_with(|| {
            let source = mikawaya_analytics::metrics::WithFacts {
                usage,
                facts: &self.account_facts,
            };
            self.cards
                .score(&source, &self.accounts, day)
                .into_iter()
                .map(|(account, health)| (account, health.score))
                .collect()
        });
        scores.get(&account.id).copied().flatten()
    }

    /// The renewal date as it stood on `day`: the end of the subscription term in force
    /// that day when it has one (history), else the account's renewal date.
    pub fn renewal_on(&self, account: &Account, day: Date) -> Option<Date> {
        self.revenue
            .get(&account.id)
            .and_then(|rows| {
                rows.iter()
                    .filter(|row| row.term.is_active_on(day))
                    .filter_map(|row| row.term.end())
                    .min()
            })
            .or(account.renewal_date)
    }

    /// Whether the account pays on a day.
    pub fn active_on(&self, account: AccountId, day: Date) -> bool {
        self.revenue.get(&account).is_some_and(|rows| {
            rows.iter()
                .any(|row| row.mrr > 0.0 && row.term.is_active_on(day))
        })
    }
}

/// The account facts metrics read (subscription rows with seats, touchpoint days), keyed
/// by external id, for what `access` can see.
pub fn account_facts(
    store: &dyn Store,
    access: &ReadAccess,
) -> Result<mikawaya_analytics::metrics::AccountFacts> {
    facts_of(store, access, &store.all_accounts(access)?)
}

/// [`account_facts`] for accounts already loaded.
pub fn facts_of(
    store: &dyn Store,
    access: &ReadAccess,
    accounts: &[Account],
) -> Result<mikawaya_analytics::metrics::AccountFacts> {
    facts_with(store, access, accounts, &store.all_subscriptions(access)?)
}

/// [`facts_of`] for accounts and subscriptions already loaded.
pub fn facts_with(
    store: &dyn Store,
    access: &ReadAccess,
    accounts: &[Account],
    subscriptions: &[mikawaya_domain::subscription::Subscription],
) -> Result<mikawaya_analytics::metrics::AccountFacts> {
    let known: std::collections::HashSet<AccountId> = accounts.iter().map(|a| a.id).collect();
    let rows: Vec<_> = subscriptions
        .iter()
        .filter(|s| known.contains(&s.account_id))
        .map(|s| (s.account_id, s.mrr.amount(), f64::from(s.quantity), s.term))
        .collect();
    // Days of touches, answers and pulses are business days, as usage days are.
    let zone = store.business_time_zone()?;
    let day = |t: jiff::Timestamp| t.to_zoned(zone.clone()).date();
    let touches: Vec<_> = store
        .touch_times(access)?
        .into_iter()
        .filter(|(account, _)| known.contains(account))
        .map(|(account, at)| (account, day(at)))
        .collect();
    let surveys: Vec<_> = store
        .survey_responses(access, None, jiff::Timestamp::UNIX_EPOCH)?
        .into_iter()
        .filter_map(|r| {
            known
                .contains(&r.account_id)
                .then(|| (r.account_id, day(r.answered_at), r.kind, r.score as f64))
        })
        .collect();
    let pulses: Vec<_> = store
        .pulses(access, None)?
        .into_iter()
        .filter_map(|p| {
            known
                .contains(&p.account_id)
                .then(|| (p.account_id, day(p.created_at), p.score as f64))
        })
        .collect();
    Ok(
        mikawaya_analytics::metrics::AccountFacts::new(rows, touches)
            .with_surveys(surveys)
            .with_pulses(pulses),
    )
}

/// Every open task `access` can see.
pub fn open_tasks(store: &dyn Store, access: &ReadAccess) -> Result<Vec<Task>> {
    let filter = TaskFilter {
        status: Some(mikawaya_domain::work::TaskStatus::Open),
        ..TaskFilter::default()
    };
    Ok(all_pages(|page| store.list_tasks(access, &filter, page))?)
}

impl crate::journey::StageInputs for Facts<'_> {
    /// Seen before `day` (the day itself is still coming in).
    fn seen(&self, account: &Account, event: &str, day: Date) -> bool {
        match (self.usage, account.external_id.as_ref()) {
            (Some(usage), Some(key)) => usage
                .last_event_day(key.as_str(), Some(event), day)
                .is_some(),
            _ => false,
        }
    }

    fn metric(&self, account: &Account, metric: &str, day: Date) -> Option<f64> {
        Facts::metric(self, metric, account, day)
    }

    fn renewal_on(&self, account: &Account, day: Date) -> Option<Date> {
        Facts::renewal_on(self, account, day)
    }

    fn mrr_on(&self, account: &Account, day: Date) -> Option<f64> {
        let rows = self.revenue.get(&account.id)?;
        Some(
            rows.iter()
                .filter(|row| row.term.is_active_on(day))
                .map(|row| row.mrr)
                .sum(),
        )
    }
}
