//! Whether a trigger fires for an account on a day, and why; whether an account meets a
//! rule's conditions.

use crate::facts::Facts;
use crate::spec::{Conditions, Trigger};
use jiff::civil::Date;
use mikawaya_domain::account::Account;

fn days_before(day: Date, days: u32) -> Option<Date> {
    day.checked_sub(jiff::Span::new().days(i64::from(days)))
        .ok()
}

fn days_after(day: Date, days: u32) -> Option<Date> {
    day.checked_add(jiff::Span::new().days(i64::from(days)))
        .ok()
}

/// Whether an account meets every condition.
pub(crate) fn conditions_hold(
    conditions: &Conditions,
    account: &Account,
    facts: &Facts<'_>,
) -> bool {
    if conditions.no_open_friction && facts.open_friction.contains(&account.id) {
        return false;
    }
    let tier_ok =
        conditions.tiers.is_empty() || account.tier.is_some_and(|t| conditions.tiers.contains(&t));
    let plan_ok = conditions.plans.is_empty()
        || account
            .plan
            .as_ref()
            .is_some_and(|p| conditions.plans.iter().any(|c| c == p.as_str()));
    let stage_ok = conditions.stages.is_empty()
        || account
            .stage
            .as_ref()
            .is_some_and(|s| conditions.stages.iter().any(|c| c == s.as_str()));
    let partner_ok = conditions.partners.is_empty()
        || match account.partner_id {
            None => conditions.partners.iter().any(|p| p == "direct"),
            Some(id) => facts
                .partners
                .get(&id)
                .is_some_and(|external| conditions.partners.contains(external)),
        };
    let owner_ok = conditions.owners.is_empty()
        || match account.owner_id {
            None => conditions.owners.iter().any(|o| o == "none"),
            Some(id) => facts.users.get(&id).is_some_and(|user| {
                conditions
                    .owners
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(user.email.as_str()))
            }),
        };
    let segment_ok = conditions.segment.as_ref().is_none_or(|name| {
        facts
            .segments
            .get(name)
            .is_some_and(|filter| filter.matches(account))
    });
    let arr = account.arr();
    let arr_ok =
        conditions.min_arr.is_none_or(|m| arr >= m) && conditions.max_arr.is_none_or(|m| arr < m);
    tier_ok && plan_ok && stage_ok && partner_ok && owner_ok && segment_ok && arr_ok
}

/// Why a playbook fired, in both languages (stored with its run, shown on Customer 360,
/// given to templates as `{{reason}}` in the message's language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FireReason {
    /// In English.
    pub en: String,
    /// In Japanese.
    pub ja: String,
}

impl FireReason {
    /// The reason in a locale (`ja` or English).
    pub fn pick(&self, locale: &str) -> &str {
        if locale == "ja" { &self.ja } else { &self.en }
    }
}

fn both(en: String, ja: String) -> FireReason {
    FireReason { en, ja }
}

/// The reason the trigger fires for the account today, or none.
pub(crate) fn fires(
    trigger: &Trigger,
    account: &Account,
    facts: &Facts<'_>,
    today: Date,
) -> Option<FireReason> {
    let external = account.external_id.as_ref().map(|e| e.as_str());
    let yesterday = today.yesterday().ok()?;
    match trigger {
        Trigger::Event { event, within_days } => {
            let usage = facts.usage?;
            let from = days_before(today, *within_days)?;
            let count = usage.count(external?, Some(event), from, yesterday);
            (count > 0).then(|| {
                both(
                    format!("{event} happened {count} times in the last {within_days} days"),
                    format!("{event}が過去{within_days}日間に{count}回発生"),
                )
            })
        }
        Trigger::EventAbsent { event, days, after } => {
            let usage = facts.usage?;
            let account_key = external?;
            let name = (event != "*").then_some(event.as_str());
            match after {
                Some(after) => {
                    // The latest `after` whose waiting period ended within the last week.
                    let start = usage.last_event_day(
                        account_key,
                        Some(after),
                        days_before(today, *days - 1)?,
                    )?;
                    let deadline = days_after(start, *days)?;
                    let fresh = deadline <= today && deadline > days_before(today, 7)?;
                    let followed =
                        usage.count(account_key, name, start, days_before(deadline, 1)?) > 0;
                    (fresh && !followed).then(|| {
                        both(
                            format!("no {event} within {days} days after {after} on {start}"),
                            format!("{start}の{after}から{days}日以内に{event}なし"),
                        )
                    })
                }
                None => {
                    let from = days_before(today, *days)?;
                    let old_enough = account.contract_start.is_none_or(|s| s <= from);
                    let quiet = usage.count(account_key, name, from, yesterday) == 0;
                    (old_enough && quiet).then(|| {
                        both(
                            format!("no {event} in the last {days} days"),
                            format!("過去{days}日間{event}なし"),
                        )
                    })
                }
            }
        }
        Trigger::MetricBelow { metric, threshold } => {
            let value = facts.metric(metric, account, today)?;
            (value < *threshold).then(|| {
                both(
                    format!("{metric} is {value:.2}, below {threshold}"),
                    format!("{metric}が{value:.2}（{threshold}未満）"),
                )
            })
        }
        Trigger::MetricAbove { metric, threshold } => {
            let value = facts.metric(metric, account, today)?;
            (value > *threshold).then(|| {
                both(
                    format!("{metric} is {value:.2}, above {threshold}"),
                    format!("{metric}が{value:.2}（{threshold}超）"),
                )
            })
        }
        Trigger::MetricDrop {
            metric,
            percent,
            days,
        } => {
            let now = facts.metric(metric, account, today)?;
            let before = facts.metric(metric, account, days_before(today, *days)?)?;
            let fell = before > 0.0 && now <= before * (1.0 - percent / 100.0);
            fell.then(|| {
                both(
                    format!("{metric} fell from {before:.2} to {now:.2} in {days} days"),
                    format!("{metric}が{days}日間で{before:.2}から{now:.2}に低下"),
                )
            })
        }
        Trigger::HealthBelow { threshold } => {
            let score = facts.health(account, today)?;
            (score < *threshold).then(|| {
                both(
                    format!("health is {score:.0}, below {threshold}"),
                    format!("ヘルススコア{score:.0}（{threshold}未満）"),
                )
            })
        }
        Trigger::HealthDrop { points, days } => {
            let now = facts.health(account, today)?;
            let before = facts.health(account, days_before(today, *days)?)?;
            (before - now >= *points).then(|| {
                both(
                    format!("health fell from {before:.0} to {now:.0} in {days} days"),
                    format!("ヘルススコアが{days}日間で{before:.0}から{now:.0}に低下"),
                )
            })
        }
        Trigger::RenewalWithin { days } => {
            let renewal = facts.renewal_on(account, today)?;
            let left = (renewal - today).get_days();
            (renewal >= today && left <= i32::try_from(*days).ok()?).then(|| {
                both(
                    format!("renewal on {renewal} ({left} days)"),
                    format!("更新日{renewal}（あと{left}日）"),
                )
            })
        }
        Trigger::DaysAfterStart { days } => {
            let start = account.contract_start?;
            let since = i64::from((today - start).get_days());
            let days = i64::from(*days);
            (since >= days && since < days + 7).then(|| {
                both(
                    format!("started on {start} ({since} days ago)"),
                    format!("{start}に開始（{since}日前）"),
                )
            })
        }
        Trigger::Every { days } => {
            let start = account.contract_start?;
            let since = i64::from((today - start).get_days());
            let period = i64::from(*days);
            (since >= period && since % period < 7).then(|| {
                both(
                    format!("{} days into the contract (every {days} days)", since),
                    format!("契約開始から{since}日（{days}日ごと）"),
                )
            })
        }
        Trigger::TouchpointLogged {
            touchpoint,
            days_after,
        } => {
            let latest = days_before(today, *days_after)?;
            let earliest = days_before(latest, 6)?;
            let day = facts
                .touchpoints
                .get(&account.id)?
                .iter()
                .rev()
                .find(|(kind, day)| kind == touchpoint && *day >= earliest && *day <= latest)
                .map(|(_, day)| *day)?;
            Some(both(
                format!("a {touchpoint} touchpoint on {day}"),
                format!("{day}の接点（{touchpoint}）"),
            ))
        }
        Trigger::StageEntered { stage, within_days } => {
            let from = days_before(today, *within_days)?;
            let entered = facts.changes.get(&account.id)?.iter().rev().find(|c| {
                c.field == "stage" && c.new_value.as_deref() == Some(stage.as_str()) && {
                    let day = facts.day_of(c.changed_at);
                    day > from && day <= today
                }
            })?;
            let still_there = account.stage.as_ref().is_some_and(|s| s.as_str() == stage);
            still_there.then(|| {
                let day = facts.day_of(entered.changed_at);
                both(
                    format!("entered stage {stage} on {day}"),
                    format!("{day}にステージ{stage}へ移行"),
                )
            })
        }
        Trigger::FieldChanged { field, within_days } => {
            let from = days_before(today, *within_days)?;
            let change = facts.changes.get(&account.id)?.iter().rev().find(|c| {
                &c.field == field && {
                    let day = facts.day_of(c.changed_at);
                    day > from && day <= today
                }
            })?;
            let day = facts.day_of(change.changed_at);
            let old = change.old_value.as_deref();
            let new = change.new_value.as_deref();
            Some(match field.as_str() {
                "champion" => both(
                    format!("champion {} left on {day}", old.unwrap_or("?")),
                    format!("チャンピオン{}が{day}に離任", old.unwrap_or("?")),
                ),
                _ => both(
                    format!(
                        "{field} changed from {} to {} on {day}",
                        old.unwrap_or("none"),
                        new.unwrap_or("none")
                    ),
                    format!(
                        "{day}に{field}が{}から{}へ変更",
                        old.unwrap_or("なし"),
                        new.unwrap_or("なし")
                    ),
                ),
            })
        }
        Trigger::PlanEvent { event, within_days } => {
            use mikawaya_domain::plan::{ObjectiveStatus, PlanEventKind};
            let from = days_before(today, *within_days)?;
            let found = facts.plan_events.get(&account.id)?.iter().rev().find(|e| {
                let day = facts.day_of(e.at);
                let kind = match event {
                    crate::spec::PlanTrigger::ObjectiveOffTrack => {
                        e.kind == PlanEventKind::ObjectiveStatus
                            && ObjectiveStatus::parse(&e.text).is_ok_and(ObjectiveStatus::is_bad)
                    }
                    crate::spec::PlanTrigger::MilestoneOverdue => {
                        e.kind == PlanEventKind::MilestoneOverdue
                    }
                    crate::spec::PlanTrigger::DeliverableRejected => {
                        e.kind == PlanEventKind::DeliverableRejected
                    }
                };
                kind && day > from && day <= today
            })?;
            let day = facts.day_of(found.at);
            let (en, ja) = match event {
                crate::spec::PlanTrigger::ObjectiveOffTrack => (
                    "an objective of the success plan fell behind",
                    "サクセスプランの目標が遅れ",
                ),
                crate::spec::PlanTrigger::MilestoneOverdue => (
                    "a milestone of the success plan is overdue",
                    "サクセスプランのマイルストーンが期限切れ",
                ),
                crate::spec::PlanTrigger::DeliverableRejected => (
                    "the customer sent a deliverable back",
                    "お客様が成果物を差し戻し",
                ),
            };
            Some(both(
                format!("{en} on {day} ({})", found.text),
                format!("{day}に{ja}（{}）", found.text),
            ))
        }
        Trigger::SurveyAnswer {
            survey,
            min_score,
            max_score,
            within_days,
        } => {
            let from = days_before(today, *within_days)?;
            let answer = facts.surveys.get(&account.id)?.iter().rev().find(|r| {
                let day = facts.day_of(r.answered_at);
                r.kind == *survey
                    && day > from
                    && day <= today
                    && min_score.is_none_or(|m| r.score >= m)
                    && max_score.is_none_or(|m| r.score <= m)
            })?;
            let day = facts.day_of(answer.answered_at);
            Some(both(
                format!("{survey} answer {} on {day}", answer.score),
                format!("{day}の{survey}回答{}", answer.score),
            ))
        }
    }
}
