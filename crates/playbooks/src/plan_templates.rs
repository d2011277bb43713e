//! Success plan templates (型化 for expectation alignment): a leader writes once, per
//! segment, the objectives, milestones with their deliverables and the usual risks of a
//! plan, in English and Japanese; a CSM (or a playbook step) makes an account's plan from
//! it in the customer's language. The set is versioned configuration (JSON array):
//!
//! ```json
//! [{"name": "onboarding", "title": {"en": "Onboarding", "ja": "オンボーディング"},
//!   "for": {"tiers": ["high", "low"]},
//!   "objectives": [{"title": {"en": "A fifth more active users", "ja": "アクティブユーザーを2割増"},
//!                   "metric": "active_users", "target": 20, "relative": true, "due_days": 90}],
//!   "milestones": [{"title": {"en": "Kickoff", "ja": "キックオフ"}, "due_days": 14,
//!                   "deliverables": [{"title": {"en": "Project plan", "ja": "導入計画書"},
//!                                     "kind": "document"}]}],
//!   "raid": [{"kind": "risk", "title": {"en": "No admin named"}, "severity": "medium"}]}]
//! ```

use crate::spec::Localized;
use jiff::civil::Date;
use mikawaya_domain::account::{Account, TouchTier};
use mikawaya_domain::language::Language;
use mikawaya_domain::plan::{
    DeliverableKind, PlanBody, PlanChange, PlanEvent, PlanEventKind, RaidKind, Severity, Target,
};
use mikawaya_domain::value::{Slug, Text};
use mikawaya_domain::{Invalid, PartnerId};
use serde::{Deserialize, Serialize};

/// Which accounts a template suits (every list empty: all).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateFor {
    /// Touch tiers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<TouchTier>,
    /// Plans (subscription plan slugs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<String>,
    /// Partners by external id (`direct`: accounts without a partner).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partners: Vec<String>,
    /// Industries: values of the account's `industry` custom field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub industries: Vec<String>,
}

/// An objective of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateObjective {
    /// In the customer's words.
    pub title: Localized,
    /// A defined metric, by name (with `target` and `due_days`: a measured objective).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The value to reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    /// Days from the plan's start to the due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_days: Option<u32>,
    /// Whether `target` is a percent change from the value at the start (+20: up a fifth),
    /// so one template fits accounts of every size.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub relative: bool,
}

/// A deliverable of a template's milestone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateDeliverable {
    /// What.
    pub title: Localized,
    /// Its kind.
    pub kind: DeliverableKind,
}

/// A milestone of a template: its deliverables form its gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateMilestone {
    /// What.
    pub title: Localized,
    /// Days from the plan's start to the due date.
    pub due_days: u32,
    /// What the customer accepts before it closes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliverables: Vec<TemplateDeliverable>,
}

/// A RAID entry every plan of the template starts with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateRaid {
    /// Its kind.
    pub kind: RaidKind,
    /// What.
    pub title: Localized,
    /// How serious.
    pub severity: Severity,
    /// Kept from the customer.
    #[serde(default)]
    pub internal: bool,
}

/// A template as people write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanTemplate {
    /// Unique name (a slug).
    pub name: String,
    /// The plan's title.
    pub title: Localized,
    /// Which accounts it suits.
    #[serde(default, rename = "for")]
    pub suits: TemplateFor,
    /// The objectives.
    #[serde(default)]
    pub objectives: Vec<TemplateObjective>,
    /// The milestones, each gated by its deliverables.
    #[serde(default)]
    pub milestones: Vec<TemplateMilestone>,
    /// The usual risks, actions, issues and decisions.
    #[serde(default)]
    pub raid: Vec<TemplateRaid>,
}

pub(crate) fn localized(text: &Localized, at: &str) -> Result<(), Invalid> {
    for (language, value) in [("en", Some(&text.en)), ("ja", text.ja.as_ref())] {
        if let Some(value) = value {
            Text::parse(value).map_err(|e| Invalid::new(format!("{at}.{language}"), e.reason))?;
        }
    }
    Ok(())
}

/// Checks a set of templates: unique slug names, texts in both languages valid, measured
/// objectives with a target and a positive number of days.
pub fn check(templates: &[PlanTemplate]) -> Result<(), Invalid> {
    for (index, template) in templates.iter().enumerate() {
        let at = format!("[{index}]");
        Slug::parse(&template.name).map_err(|e| Invalid::new(format!("{at}.name"), e.reason))?;
        if templates[..index].iter().any(|t| t.name == template.name) {
            return Err(Invalid::new(
                format!("{at}.name"),
                format!("'{}' is used twice", template.name),
            ));
        }
        localized(&template.title, &format!("{at}.title"))?;
        for (i, plan) in template.suits.plans.iter().enumerate() {
            Slug::parse(plan)
                .map_err(|e| Invalid::new(format!("{at}.for.plans[{i}]"), e.reason))?;
        }
        for (i, objective) in template.objectives.iter().enumerate() {
            let at = format!("{at}.objectives[{i}]");
            localized(&objective.title, &format!("{at}.title"))?;
            if let Some(metric) = &objective.metric {
                Slug::parse(metric).map_err(|e| Invalid::new(format!("{at}.metric"), e.reason))?;
                if !objective.target.is_some_and(f64::is_finite) {
                    return Err(Invalid::new(
                        format!("{at}.target"),
                        "a measured objective needs a target",
                    ));
                }
                if objective.due_days.is_none_or(|d| d == 0) {
                    return Err(Invalid::new(format!("{at}.due_days"), "must be at least 1"));
                }
            }
        }
        for (i, milestone) in template.milestones.iter().enumerate() {
            let at = format!("{at}.milestones[{i}]");
            localized(&milestone.title, &format!("{at}.title"))?;
            for (j, deliverable) in milestone.deliverables.iter().enumerate() {
                localized(&deliverable.title, &format!("{at}.deliverables[{j}].title"))?;
            }
        }
        for (i, entry) in template.raid.iter().enumerate() {
            localized(&entry.title, &format!("{at}.raid[{i}].title"))?;
        }
    }
    Ok(())
}

/// Parses and checks a stored or submitted set of templates.
pub fn parse(json: &str) -> Result<Vec<PlanTemplate>, Invalid> {
    let templates: Vec<PlanTemplate> =
        serde_json::from_str(json).map_err(|e| Invalid::new("templates", e.to_string()))?;
    check(&templates)?;
    Ok(templates)
}

impl PlanTemplate {
    /// Whether it suits an account (`partner` is the account's partner's external id).
    pub fn suits(&self, account: &Account, partner: Option<&str>) -> bool {
        let suits = &self.suits;
        let tier = suits.tiers.is_empty() || account.tier.is_some_and(|t| suits.tiers.contains(&t));
        let plan = suits.plans.is_empty()
            || account
                .plan
                .as_ref()
                .is_some_and(|p| suits.plans.iter().any(|c| c == p.as_str()));
        let partner_ok = suits.partners.is_empty()
            || match (account.partner_id, partner) {
                (None, _) => suits.partners.iter().any(|p| p == "direct"),
                (Some(_), Some(external)) => suits.partners.iter().any(|p| p == external),
                (Some(PartnerId { .. }), None) => false,
            };
        let industry = suits.industries.is_empty()
            || account
                .custom_fields
                .get("industry")
                .is_some_and(|v| suits.industries.iter().any(|i| *i == v.label()));
        tier && plan && partner_ok && industry
    }

    /// A plan from the template in `language`, starting on `start` (due dates count from
    /// it; `today` checks them): its body and the events of its making.
    pub fn instantiate(
        &self,
        language: Language,
        start: Date,
        today: Date,
        version: i64,
    ) -> Result<(PlanBody, Vec<PlanEvent>), Invalid> {
        let pick = |text: &Localized| Text::parse(text.pick(language.code()));
        let after = |days: u32| {
            start
                .checked_add(jiff::Span::new().days(i64::from(days)))
                .map_err(|_| Invalid::new("due_days", "is too far ahead"))
        };
        let mut body = PlanBody::new(pick(&self.title)?, language);
        body.template = Some((self.name.clone(), version));
        let mut events = vec![PlanEvent {
            kind: PlanEventKind::Created,
            item: None,
            text: format!("{} v{version}", self.name),
        }];
        let now = jiff::Timestamp::UNIX_EPOCH;
        for objective in &self.objectives {
            let target = match (&objective.metric, objective.target, objective.due_days) {
                (Some(metric), Some(target), Some(days)) => {
                    let made =
                        Target::new(Slug::parse(metric)?, target, start, after(days)?, today)?;
                    Some(if objective.relative {
                        made.relative()?
                    } else {
                        made
                    })
                }
                _ => None,
            };
            events.extend(body.apply(
                PlanChange::AddObjective {
                    title: pick(&objective.title)?,
                    target,
                    manual_status: None,
                },
                None,
                now,
            )?);
        }
        for milestone in &self.milestones {
            let mut gate = Vec::new();
            for deliverable in &milestone.deliverables {
                events.extend(body.apply(
                    PlanChange::AddDeliverable {
                        title: pick(&deliverable.title)?,
                        kind: deliverable.kind,
                        url: None,
                    },
                    None,
                    now,
                )?);
                gate.extend(body.deliverables.last().map(|d| d.id));
            }
            events.extend(body.apply(
                PlanChange::AddMilestone {
                    title: pick(&milestone.title)?,
                    due_on: after(milestone.due_days)?,
                    gate,
                },
                None,
                now,
            )?);
        }
        for entry in &self.raid {
            events.extend(body.apply(
                PlanChange::AddRaid {
                    kind: entry.kind,
                    title: pick(&entry.title)?,
                    owner: None,
                    due_on: None,
                    severity: entry.severity,
                    internal: entry.internal,
                },
                None,
                now,
            )?);
        }
        Ok((body, events))
    }
}

/// The templates the product starts with, for a new data dir and the demo.
pub fn starters() -> Vec<PlanTemplate> {
    let l = |en: &str, ja: &str| Localized {
        en: en.to_owned(),
        ja: Some(ja.to_owned()),
    };
    vec![
        PlanTemplate {
            name: "onboarding".into(),
            title: l("Onboarding to first value", "導入から初回の価値実現まで"),
            suits: TemplateFor {
                tiers: vec![TouchTier::High, TouchTier::Low],
                ..TemplateFor::default()
            },
            objectives: vec![
                TemplateObjective {
                    title: l(
                        "A fifth more of the team uses it every month",
                        "毎月使うメンバーを2割増やす",
                    ),
                    metric: Some("active_users".into()),
                    target: Some(20.0),
                    due_days: Some(90),
                    relative: true,
                },
                TemplateObjective {
                    title: l(
                        "Reports replace the spreadsheet",
                        "レポートが表計算を置き換える",
                    ),
                    metric: None,
                    target: None,
                    due_days: None,
                    relative: false,
                },
            ],
            milestones: vec![
                TemplateMilestone {
                    title: l("Kickoff", "キックオフ"),
                    due_days: 14,
                    deliverables: vec![TemplateDeliverable {
                        title: l("Project plan with goals", "目標を記した導入計画書"),
                        kind: DeliverableKind::Document,
                    }],
                },
                TemplateMilestone {
                    title: l("Admins trained", "管理者トレーニング完了"),
                    due_days: 45,
                    deliverables: vec![TemplateDeliverable {
                        title: l("Admin workshop", "管理者向けワークショップ"),
                        kind: DeliverableKind::Workshop,
                    }],
                },
                TemplateMilestone {
                    title: l("First value review", "初回の価値レビュー"),
                    due_days: 90,
                    deliverables: vec![TemplateDeliverable {
                        title: l("Value report", "効果レポート"),
                        kind: DeliverableKind::Document,
                    }],
                },
            ],
            raid: vec![TemplateRaid {
                kind: RaidKind::Risk,
                title: l(
                    "No named admin at the customer",
                    "顧客側の管理者が決まっていない",
                ),
                severity: Severity::Medium,
                internal: false,
            }],
        },
        PlanTemplate {
            name: "renewal".into(),
            title: l("Value before renewal", "更新前の価値確認"),
            suits: TemplateFor::default(),
            objectives: vec![TemplateObjective {
                title: l(
                    "Use grows a tenth before the renewal",
                    "更新までに利用を1割伸ばす",
                ),
                metric: Some("activity".into()),
                target: Some(10.0),
                due_days: Some(60),
                relative: true,
            }],
            milestones: vec![TemplateMilestone {
                title: l("Business review", "ビジネスレビュー"),
                due_days: 30,
                deliverables: vec![TemplateDeliverable {
                    title: l("Review deck with outcomes", "成果をまとめたレビュー資料"),
                    kind: DeliverableKind::Document,
                }],
            }],
            raid: vec![TemplateRaid {
                kind: RaidKind::Risk,
                title: l("Budget owner changed", "予算責任者が交代した"),
                severity: Severity::High,
                internal: true,
            }],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_makes_a_plan_in_the_customers_language_with_gates() {
        let templates = starters();
        check(&templates).unwrap_or_else(|e| panic!("{e}"));
        let start = jiff::civil::date(2026, 4, 1);
        let (body, events) = templates[0]
            .instantiate(Language::Ja, start, start, 3)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(body.title.as_str(), "導入から初回の価値実現まで");
        assert_eq!(body.template, Some(("onboarding".to_owned(), 3)));
        assert_eq!(body.objectives.len(), 2);
        let target = body.objectives[0]
            .target
            .as_ref()
            .map(|t| (t.target, t.due));
        assert_eq!(target, Some((20.0, jiff::civil::date(2026, 6, 30))));
        assert!(
            body.objectives[0]
                .target
                .as_ref()
                .is_some_and(|t| t.relative)
        );
        assert_eq!(body.milestones.len(), 3);
        // Each milestone is gated by its own deliverable.
        for milestone in &body.milestones {
            assert_eq!(milestone.gate.len(), 1);
        }
        assert_eq!(body.milestones[1].due_on, jiff::civil::date(2026, 5, 16));
        assert_eq!(events.first().map(|e| e.kind), Some(PlanEventKind::Created));
    }

    #[test]
    fn bad_templates_name_the_field() {
        let mut templates = starters();
        templates[1].name = "onboarding".into();
        assert_eq!(
            check(&templates).map_err(|e| e.field),
            Err("[1].name".to_owned())
        );
        let mut templates = starters();
        templates[0].objectives[0].target = None;
        assert_eq!(
            check(&templates).map_err(|e| e.field),
            Err("[0].objectives[0].target".to_owned())
        );
        assert!(parse("{}").is_err());
    }
}
