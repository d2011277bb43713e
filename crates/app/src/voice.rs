//! The voice of the customer: NPS, CSAT and CES overall, per segment and per month, each
//! answer classified as friction or delight (`mikawaya_analytics::voice`, the default rules
//! and keyword lists), the verbatims, and the accounts with friction — for the dashboards,
//! Customer 360, the API and the CLI.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::voice::{Experience, Keywords, Scores};
use mikawaya_domain::account::Account;
use mikawaya_domain::work::{SurveyKind, SurveyResponse};
use mikawaya_domain::{AccountId, Invalid, ReadAccess};
use mikawaya_playbooks::journey::SegmentBy;
use mikawaya_store::Store;
use std::collections::{BTreeMap, HashMap};

/// One answer with what it tells.
#[derive(Debug, Clone, PartialEq)]
pub struct Verbatim {
    /// The answer.
    pub answer: SurveyResponse,
    /// Its account's name.
    pub account_name: String,
    /// Friction, delight or neither.
    pub experience: Experience,
}

/// One month of answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Month {
    /// YYYY-MM.
    pub month: String,
    /// Its scores.
    pub scores: Scores,
    /// Answers classified friction.
    pub friction: usize,
    /// Answers classified delight.
    pub delight: usize,
}

/// An account with friction in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct FrictionAccount {
    /// The account.
    pub account_id: AccountId,
    /// Its name.
    pub name: String,
    /// Its ARR.
    pub arr: f64,
    /// Answers classified friction.
    pub friction: usize,
}

/// The voice of the customer over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceReport {
    /// The first day.
    pub from: Date,
    /// The last day.
    pub to: Date,
    /// Every answer's scores.
    pub overall: Scores,
    /// Per segment (touch tier, plan or partner).
    pub by_segment: BTreeMap<String, Scores>,
    /// Per month, with friction and delight.
    pub by_month: Vec<Month>,
    /// Friction and delight answers per (segment, YYYY-MM).
    pub by_segment_month: BTreeMap<(String, String), (usize, usize)>,
    /// Answers with a comment, latest first (at most 100).
    pub verbatims: Vec<Verbatim>,
    /// Accounts with friction, most first (at most 100).
    pub friction_accounts: Vec<FrictionAccount>,
    /// Answers in the period.
    pub answers: usize,
}

/// One month's answers while they are counted.
#[derive(Default)]
struct MonthAnswers {
    answers: Vec<(SurveyKind, i64)>,
    friction: usize,
    delight: usize,
}

/// Classifies one answer: a person's class, else the rules with the keyword lists given.
pub fn classify(answer: &SurveyResponse, keywords: &Keywords) -> Experience {
    answer.experience_override.unwrap_or_else(|| {
        keywords.classify(
            Some((answer.kind, answer.score)),
            answer.comment.as_ref().map(|c| c.as_str()),
        )
    })
}

/// The voice of the customer of the visible accounts from `from` to `to` (inclusive, in the
/// data dir's business days), by `by`.
pub fn report(
    store: &dyn Store,
    access: &ReadAccess,
    from: Date,
    to: Date,
    by: SegmentBy,
) -> Result<VoiceReport> {
    if to < from {
        return Err(Invalid::new("to", "must not be before from").into());
    }
    let zone = store.business_time_zone()?;
    let since = from
        .to_zoned(zone.clone())
        .map_err(|e| Invalid::new("from", e.to_string()))?
        .timestamp();
    let accounts: HashMap<AccountId, Account> = store
        .all_accounts(access)?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let partners = crate::journey::partner_keys(store, access)?;
    let (keywords, _) = crate::feedback::keywords(store, access)?;
    let answers: Vec<SurveyResponse> = store
        .survey_responses(access, None, since)?
        .into_iter()
        .filter(|a| a.answered_at.to_zoned(zone.clone()).date() <= to)
        .collect();
    let mut segments: BTreeMap<String, Vec<(SurveyKind, i64)>> = BTreeMap::new();
    let mut months: BTreeMap<String, MonthAnswers> = BTreeMap::new();
    let mut friction: HashMap<AccountId, usize> = HashMap::new();
    let mut by_segment_month: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    let mut verbatims = Vec::new();
    for answer in &answers {
        let pair = (answer.kind, answer.score);
        let experience = classify(answer, &keywords);
        let account = accounts.get(&answer.account_id);
        let segment = account.map_or_else(
            || "none".to_owned(),
            |a| crate::journey::segment_of(by, a, &partners),
        );
        let day = answer.answered_at.to_zoned(zone.clone()).date();
        let month_key = format!("{:04}-{:02}", day.year(), day.month());
        let cell = by_segment_month
            .entry((segment.clone(), month_key.clone()))
            .or_default();
        match experience {
            Experience::Friction => cell.0 += 1,
            Experience::Delight => cell.1 += 1,
            Experience::Neutral => {}
        }
        segments.entry(segment).or_default().push(pair);
        let month = months.entry(month_key).or_default();
        month.answers.push(pair);
        match experience {
            Experience::Friction => {
                month.friction += 1;
                *friction.entry(answer.account_id).or_default() += 1;
            }
            Experience::Delight => month.delight += 1,
            Experience::Neutral => {}
        }
        if answer.comment.is_some() {
            verbatims.push(Verbatim {
                answer: answer.clone(),
                account_name: account.map_or_else(String::new, |a| a.name.to_string()),
                experience,
            });
        }
    }
    verbatims.sort_by_key(|v| std::cmp::Reverse(v.answer.answered_at));
    verbatims.truncate(100);
    let mut friction_accounts: Vec<FrictionAccount> = friction
        .into_iter()
        .filter_map(|(id, count)| {
            let account = accounts.get(&id)?;
            Some(FrictionAccount {
                account_id: id,
                name: account.name.to_string(),
                arr: account.arr(),
                friction: count,
            })
        })
        .collect();
    friction_accounts.sort_by(|a, b| {
        b.friction
            .cmp(&a.friction)
            .then(b.arr.total_cmp(&a.arr))
            .then(a.account_id.cmp(&b.account_id))
    });
    friction_accounts.truncate(100);
    Ok(VoiceReport {
        from,
        to,
        overall: Scores::of(answers.iter().map(|a| (a.kind, a.score))),
        by_segment: segments
            .into_iter()
            .map(|(segment, pairs)| (segment, Scores::of(pairs)))
            .collect(),
        by_month: months
            .into_iter()
            .map(|(month, counted)| Month {
                month,
                scores: Scores::of(counted.answers),
                friction: counted.friction,
                delight: counted.delight,
            })
            .collect(),
        by_segment_month,
        verbatims,
        friction_accounts,
        answers: answers.len(),
    })
}
