//! The customer journey (カスタマージャーニー): lifecycle stages in order, each entered by a
//! rule over the data or only by hand. The set is versioned configuration (JSON):
//!
//! ```json
//! {"segment": "tier", "window_days": 90,
//!  "stages": [
//!    {"key": "onboarding", "name": {"en": "Onboarding", "ja": "オンボーディング"}, "target_days": 60},
//!    {"key": "adoption", "name": {"en": "Adoption", "ja": "定着"},
//!     "rule": {"event": "Integration Connected"}},
//!    {"key": "renewal", "name": {"en": "Renewal window", "ja": "更新期"},
//!     "rule": {"renewal_within_days": 90}},
//!    {"key": "advocacy", "name": {"en": "Advocacy", "ja": "推奨"}}]}
//! ```
//!
//! How an account moves (the daily run): its stage becomes the **furthest** stage (in the
//! journey's order) whose rule holds on the day, or the first stage when none does. A
//! stage without a rule (other than the first) is entered only by hand, and an account in
//! such a stage, in `churned`, or in a stage the journey does not name stays there until a
//! person moves it. Rules are all-of: every condition a rule states must hold.

use crate::plan_templates::localized;
use crate::spec::Localized;
use jiff::civil::Date;
use mikawaya_domain::Invalid;
use mikawaya_domain::account::{Account, CHURNED_STAGE, TouchTier};
use mikawaya_domain::value::Slug;
use serde::{Deserialize, Serialize};

/// When a stage's rule holds (every condition it states).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageRule {
    /// The account has had this event at least once (a first value event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// A metric (defined or built in) whose value must be at least `at_least`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The lowest value of `metric`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    /// At least this many days since the contract started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenure_days: Option<u32>,
    /// The renewal date is at most this many days ahead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_within_days: Option<u32>,
    /// MRR is above what it was this many days before (an expansion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expanded_within_days: Option<u32>,
    /// The account's touch tier is one of these (none listed: any), so that a stage can
    /// belong to some touch models only (a renewal window for contracts a CSM renews).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<TouchTier>,
}

impl StageRule {
    fn is_empty(&self) -> bool {
        *self == StageRule::default()
    }
}

/// One stage of the journey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JourneyStage {
    /// Its key (the account's `stage`).
    pub key: String,
    /// Its name in English and Japanese.
    pub name: Localized,
    /// How long an account should take in it, days (shown beside the measured times).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_days: Option<u32>,
    /// When the rules move an account into it (none: by hand only, or the first stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<StageRule>,
}

/// What time in stage is compared within.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentBy {
    /// The touch tier.
    #[default]
    Tier,
    /// The subscription plan.
    Plan,
    /// The partner (or direct).
    Partner,
}

impl SegmentBy {
    /// Every choice, in the order forms offer them.
    pub const ALL: [SegmentBy; 3] = [SegmentBy::Tier, SegmentBy::Plan, SegmentBy::Partner];

    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentBy::Tier => "tier",
            SegmentBy::Plan => "plan",
            SegmentBy::Partner => "partner",
        }
    }

    /// Reads a name given in `field`.
    pub fn parse(raw: &str, field: &str) -> Result<SegmentBy, Invalid> {
        let raw = raw.trim();
        SegmentBy::ALL
            .into_iter()
            .find(|by| by.as_str() == raw)
            .ok_or_else(|| {
                Invalid::new(field, format!("'{raw}' is not one of tier, plan, partner"))
            })
    }
}

/// The journey: its stages in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journey {
    /// The stages, in the order accounts go through them.
    pub stages: Vec<JourneyStage>,
    /// What time in stage and stuck accounts are compared within.
    #[serde(default)]
    pub segment: SegmentBy,
    /// Days after entering a stage within which moving to the next one counts as
    /// conversion (and leaving as churn from it).
    #[serde(default = "ninety")]
    pub window_days: u32,
}

fn ninety() -> u32 {
    90
}

/// What the rules read about an account on a day.
pub trait StageInputs {
    /// Whether the account had `event` on or before `day`.
    fn seen(&self, account: &Account, event: &str, day: Date) -> bool;
    /// A metric's value for the account as of `day` (none: missing or unknown).
    fn metric(&self, account: &Account, metric: &str, day: Date) -> Option<f64>;
    /// The renewal date in force on `day`.
    fn renewal_on(&self, account: &Account, day: Date) -> Option<Date>;
    /// The account's MRR on `day` (none: no billing history).
    fn mrr_on(&self, account: &Account, day: Date) -> Option<f64>;
}

fn days_before(day: Date, days: u32) -> Date {
    day.checked_sub(jiff::Span::new().days(i64::from(days)))
        .unwrap_or(day)
}

impl StageRule {
    /// Whether every condition holds for the account on `day`.
    pub fn holds(&self, inputs: &dyn StageInputs, account: &Account, day: Date) -> bool {
        let event = self
            .event
            .as_deref()
            .is_none_or(|e| inputs.seen(account, e, day));
        let metric = match (&self.metric, self.at_least) {
            (Some(metric), Some(min)) => inputs
                .metric(account, metric, day)
                .is_some_and(|v| v >= min),
            _ => true,
        };
        let tenure = self.tenure_days.is_none_or(|days| {
            account
                .contract_start
                .is_some_and(|start| start <= days_before(day, days))
        });
        let renewal = self.renewal_within_days.is_none_or(|days| {
            inputs.renewal_on(account, day).is_some_and(|renewal| {
                renewal >= day && i64::from((renewal - day).get_days()) <= i64::from(days)
            })
        });
        let expanded = self.expanded_within_days.is_none_or(|days| {
            match (
                inputs.mrr_on(account, day),
                inputs.mrr_on(account, days_before(day, days)),
            ) {
                (Some(now), Some(before)) => before > 0.0 && now > before,
                _ => false,
            }
        });
        let tier = self.tiers.is_empty() || account.tier.is_some_and(|t| self.tiers.contains(&t));
        tier && event && metric && tenure && renewal && expanded
    }
}

impl Journey {
    /// The journey Mikawaya proposes: onboarding until the first integration is
    /// connected, adoption, value once half the seats are in use after three months, the
    /// 90 days before a renewal (high and low touch), 90 days after an expansion, and
    /// advocacy set by hand.
    pub fn standard() -> Journey {
        let l = |en: &str, ja: &str| Localized {
            en: en.to_owned(),
            ja: Some(ja.to_owned()),
        };
        let stage = |key: &str, name: Localized, target: Option<u32>, rule: Option<StageRule>| {
            JourneyStage {
                key: key.to_owned(),
                name,
                target_days: target,
                rule,
            }
        };
        Journey {
            stages: vec![
                stage(
                    "onboarding",
                    l("Onboarding", "オンボーディング"),
                    Some(45),
                    None,
                ),
                stage(
                    "adoption",
                    l("Adoption", "利用定着"),
                    Some(90),
                    Some(StageRule {
                        event: Some("Integration Connected".into()),
                        ..StageRule::default()
                    }),
                ),
                stage(
                    "value",
                    l("Value", "価値実感"),
                    None,
                    Some(StageRule {
                        event: Some("Integration Connected".into()),
                        metric: Some("seat_use".into()),
                        at_least: Some(0.5),
                        tenure_days: Some(90),
                        ..StageRule::default()
                    }),
                ),
                stage(
                    "renewal",
                    l("Renewal window", "更新期"),
                    Some(90),
                    Some(StageRule {
                        renewal_within_days: Some(90),
                        tiers: vec![TouchTier::High, TouchTier::Low],
                        ..StageRule::default()
                    }),
                ),
                stage(
                    "expansion",
                    l("Expansion", "拡大"),
                    Some(90),
                    Some(StageRule {
                        expanded_within_days: Some(90),
                        ..StageRule::default()
                    }),
                ),
                stage("advocacy", l("Advocacy", "推奨・アドボカシー"), None, None),
            ],
            segment: SegmentBy::Tier,
            window_days: 90,
        }
    }

    /// Checks the journey: at least one stage, keys unique slugs other than `churned`,
    /// names valid, rules that state at least one condition with sensible numbers.
    /// `metric_known` says whether a metric name exists.
    pub fn check(&self, metric_known: &dyn Fn(&str) -> bool) -> Result<(), Invalid> {
        if self.stages.is_empty() {
            return Err(Invalid::new("stages", "a journey needs at least one stage"));
        }
        if self.window_days == 0 {
            return Err(Invalid::new("window_days", "must be at least 1"));
        }
        for (index, stage) in self.stages.iter().enumerate() {
            let at = format!("stages[{index}]");
            Slug::parse(&stage.key).map_err(|e| Invalid::new(format!("{at}.key"), e.reason))?;
            if stage.key == CHURNED_STAGE {
                return Err(Invalid::new(
                    format!("{at}.key"),
                    "'churned' is where churned accounts go, outside the journey",
                ));
            }
            if self.stages[..index].iter().any(|s| s.key == stage.key) {
                return Err(Invalid::new(
                    format!("{at}.key"),
                    format!("'{}' is used twice", stage.key),
                ));
            }
            localized(&stage.name, &format!("{at}.name"))?;
            if stage.target_days == Some(0) {
                return Err(Invalid::new(
                    format!("{at}.target_days"),
                    "must be at least 1",
                ));
            }
            let Some(rule) = &stage.rule else { continue };
            let at = format!("{at}.rule");
            if rule.is_empty() {
                return Err(Invalid::new(
                    at,
                    "a rule needs at least one condition (leave it out for a stage set by hand)",
                ));
            }
            if let Some(event) = &rule.event
                && event.trim().is_empty()
            {
                return Err(Invalid::new(format!("{at}.event"), "must not be empty"));
            }
            match (&rule.metric, rule.at_least) {
                (Some(metric), Some(min)) => {
                    if !metric_known(metric) {
                        return Err(Invalid::new(
                            format!("{at}.metric"),
                            format!("no metric '{metric}'"),
                        ));
                    }
                    if !min.is_finite() {
                        return Err(Invalid::new(format!("{at}.at_least"), "must be a number"));
                    }
                }
                (Some(_), None) => {
                    return Err(Invalid::new(
                        format!("{at}.at_least"),
                        "a metric condition needs the lowest value",
                    ));
                }
                (None, Some(_)) => {
                    return Err(Invalid::new(
                        format!("{at}.metric"),
                        "'at_least' needs a metric",
                    ));
                }
                (None, None) => {}
            }
            for (field, days) in [
                ("renewal_within_days", rule.renewal_within_days),
                ("expanded_within_days", rule.expanded_within_days),
            ] {
                if days == Some(0) {
                    return Err(Invalid::new(format!("{at}.{field}"), "must be at least 1"));
                }
            }
        }
        Ok(())
    }

    /// Reads and checks a journey.
    pub fn parse(json: &str, metric_known: &dyn Fn(&str) -> bool) -> Result<Journey, Invalid> {
        let journey: Journey =
            serde_json::from_str(json).map_err(|e| Invalid::new("journey", e.to_string()))?;
        journey.check(metric_known)?;
        Ok(journey)
    }

    /// A stage by key.
    pub fn stage(&self, key: &str) -> Option<&JourneyStage> {
        self.stages.iter().find(|s| s.key == key)
    }

    /// Where a stage is in the order.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.key == key)
    }

    /// The metrics the rules read.
    pub fn metrics(&self) -> Vec<&str> {
        self.stages
            .iter()
            .filter_map(|s| s.rule.as_ref()?.metric.as_deref())
            .collect()
    }

    /// Whether the rules move an account that is in `stage` (none: no stage yet): not
    /// when it is churned, or in a stage entered by hand only or not in the journey.
    pub fn moves_from(&self, stage: Option<&str>) -> bool {
        match stage {
            None => true,
            Some(CHURNED_STAGE) => false,
            Some(key) => match self.position(key) {
                Some(0) => true,
                Some(index) => self.stages[index].rule.is_some(),
                None => false,
            },
        }
    }

    /// The stage the rules put an account in on `day`: the furthest whose rule holds,
    /// else the first.
    pub fn ruled_stage(&self, inputs: &dyn StageInputs, account: &Account, day: Date) -> &str {
        self.stages
            .iter()
            .rev()
            .find(|s| {
                s.rule
                    .as_ref()
                    .is_some_and(|r| r.holds(inputs, account, day))
            })
            .or(self.stages.first())
            .map_or("", |s| s.key.as_str())
    }

    /// The stage the account should move to on `day`, when the rules move it.
    pub fn next_stage(
        &self,
        inputs: &dyn StageInputs,
        account: &Account,
        day: Date,
    ) -> Option<String> {
        let current = account.stage.as_ref().map(Slug::as_str);
        if !self.moves_from(current) {
            return None;
        }
        let ruled = self.ruled_stage(inputs, account, day);
        (Some(ruled) != current && !ruled.is_empty()).then(|| ruled.to_owned())
    }
}
