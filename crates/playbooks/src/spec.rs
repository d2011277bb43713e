//! Playbooks as people write them (JSON), and the checks that turn a spec into a
//! [`Playbook`] the engine runs.
//!
//! ```json
//! {"name": "renewal-90", "title": {"en": "Renewal in 90 days", "ja": "更新90日前"},
//!  "trigger": {"kind": "renewal_within", "days": 90},
//!  "conditions": {"tiers": ["high", "low"]},
//!  "cooldown_days": 180, "holdout_percent": 10,
//!  "outcome": {"kind": "retained", "days": 120},
//!  "steps": [{"kind": "task", "title": {"en": "Call {{account.name}}"}, "due_days": 7}]}
//! ```

use mikawaya_domain::Invalid;
use mikawaya_domain::account::TouchTier;
use mikawaya_domain::contact::ContactRole;
use mikawaya_domain::value::Slug;
use mikawaya_domain::work::{Priority, SurveyKind};
use serde::{Deserialize, Serialize};

/// Text in English and, optionally, Japanese.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    /// English.
    pub en: String,
    /// Japanese (English is used when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja: Option<String>,
}

impl Localized {
    /// The text for a locale (`ja` or anything else for English).
    pub fn pick(&self, locale: &str) -> &str {
        match (locale, &self.ja) {
            ("ja", Some(ja)) => ja,
            _ => &self.en,
        }
    }
}

/// What makes a playbook fire for an account on a day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// An event happened within the last `within_days` days (default 1: yesterday).
    Event {
        /// Event name.
        event: String,
        /// Days to look back.
        #[serde(default = "one")]
        within_days: u32,
    },
    /// An event did not happen for `days` days: since the account started, or (with
    /// `after`) since the last time another event happened.
    EventAbsent {
        /// The missing event (`*`: any).
        event: String,
        /// Days without it.
        days: u32,
        /// The event that should have been followed by it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    },
    /// A metric is below a threshold.
    MetricBelow {
        /// Metric name.
        metric: String,
        /// Threshold.
        threshold: f64,
    },
    /// A metric is above a threshold.
    MetricAbove {
        /// Metric name.
        metric: String,
        /// Threshold.
        threshold: f64,
    },
    /// A metric fell by at least `percent` against its value `days` ago.
    MetricDrop {
        /// Metric name.
        metric: String,
        /// Percent fallen.
        percent: f64,
        /// Compared with this many days ago.
        days: u32,
    },
    /// The health score (built-in default scorecard) is below a threshold.
    HealthBelow {
        /// 0-100.
        threshold: f64,
    },
    /// The health score fell by at least `points` against `days` ago.
    HealthDrop {
        /// Points fallen.
        points: f64,
        /// Compared with this many days ago.
        days: u32,
    },
    /// The renewal date is within the next `days` days.
    RenewalWithin {
        /// Days ahead.
        days: u32,
    },
    /// The contract started `days` days ago (or up to a week more, so a missed day still fires).
    DaysAfterStart {
        /// Days since the start.
        days: u32,
    },
    /// Every `days` days of the contract (from its start; with a week's grace, so a missed
    /// day still fires): `{"kind": "every", "days": 182}` is a relationship survey twice a
    /// year.
    Every {
        /// The period.
        days: u32,
    },
    /// A touchpoint of a kind was logged `days_after` days ago (with a week's grace): a
    /// survey after a support call.
    TouchpointLogged {
        /// meeting, call, email, qbr, note or feedback.
        touchpoint: mikawaya_domain::touchpoint::TouchpointKind,
        /// Days after it.
        #[serde(default = "one")]
        days_after: u32,
    },
    /// The account entered a lifecycle stage within the last `within_days` days.
    StageEntered {
        /// The stage.
        stage: String,
        /// Days to look back (default 7).
        #[serde(default = "seven")]
        within_days: u32,
    },
    /// A field changed within the last `within_days` days: `stage`, `tier`, `plan`,
    /// `owner`, `renewal_date`, or `champion` (the champion contact left).
    FieldChanged {
        /// The field.
        field: String,
        /// Days to look back (default 7).
        #[serde(default = "seven")]
        within_days: u32,
    },
    /// A survey answer within a score range arrived within the last `within_days` days
    /// (an NPS detractor: `{"survey": "nps", "max_score": 6}`).
    SurveyAnswer {
        /// The survey.
        survey: SurveyKind,
        /// Lowest score that fires.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_score: Option<i64>,
        /// Highest score that fires.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_score: Option<i64>,
        /// Days to look back (default 7).
        #[serde(default = "seven")]
        within_days: u32,
    },
    /// Something happened on one of the account's success plans within the last
    /// `within_days` days: `objective_off_track` (an objective became off track or was
    /// missed), `milestone_overdue`, or `deliverable_rejected` (the customer sent one back).
    PlanEvent {
        /// Which.
        event: PlanTrigger,
        /// Days to look back (default 7).
        #[serde(default = "seven")]
        within_days: u32,
    },
}

/// The success plan events a playbook can react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanTrigger {
    /// An objective became off track or was missed.
    ObjectiveOffTrack,
    /// A milestone passed its due date open.
    MilestoneOverdue,
    /// The customer sent a deliverable back.
    DeliverableRejected,
}

fn one() -> u32 {
    1
}
fn seven() -> u32 {
    7
}
fn ninety() -> u32 {
    90
}

/// Which accounts a rule applies to (every list empty: all accounts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Touch tiers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<TouchTier>,
    /// Plans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<String>,
    /// Lifecycle stages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<String>,
    /// Partners, by external id (`direct`: accounts without a partner).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partners: Vec<String>,
    /// Owners, by email (`none`: accounts without an owner).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
    /// A saved segment, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// Lowest ARR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_arr: Option<f64>,
    /// Highest ARR (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_arr: Option<f64>,
    /// Hold back accounts with open friction (an unresolved friction feedback item, or a
    /// friction survey answer in the last 30 days): a "delight" playbook waits until the
    /// problem is solved ("minus to zero" before "zero to plus").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_open_friction: bool,
}

/// Who a task goes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    /// The account's owner CSM (the team queue when it has none).
    Owner,
    /// The team queue.
    Team,
}

/// One step of a playbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// A task for a person.
    Task {
        /// What to do.
        title: Localized,
        /// How.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instructions: Option<Localized>,
        /// Who (default the owner).
        #[serde(default = "owner")]
        assignee: Assignee,
        /// Priority (default normal).
        #[serde(default = "normal")]
        priority: Priority,
        /// Due this many days after the step runs (default 7).
        #[serde(default = "seven")]
        due_days: u32,
        /// The deliverable this task produces.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deliverable: Option<String>,
        /// Phase (default `main`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
    },
    /// An email to the account's contacts of a role (or all with an email).
    Email {
        /// `all` or a contact role (`champion`, `decision_maker`, ...).
        to: String,
        /// Subject.
        subject: Localized,
        /// Body (plain text; the unsubscribe link is added when sent).
        body: Localized,
        /// Phase.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
    },
    /// A signed HTTP POST.
    Webhook {
        /// Where.
        url: String,
        /// `slack` (`{"text": ...}`) or `generic` (the account and run as JSON).
        #[serde(default = "generic")]
        format: String,
        /// Message text.
        text: Localized,
        /// Phase.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
    },
    /// Wait this many days before the next step.
    Wait {
        /// Days.
        days: u32,
        /// Phase.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
    },
    /// Run `then` when the account meets `when`, else `otherwise` (no waits inside).
    Branch {
        /// The condition.
        when: Conditions,
        /// Steps when it holds.
        #[serde(default)]
        then: Vec<Step>,
        /// Steps when it does not.
        #[serde(default)]
        otherwise: Vec<Step>,
        /// Phase.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
    },
    /// Set the touch tier.
    SetTier {
        /// The tier.
        tier: TouchTier,
        /// Phase.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
    },
    /// Move the lifecycle stage.
    MoveStage {
        /// The stage.
        stage: String,
        /// Phase.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
    },
    /// Send a survey (hosted by Mikawaya, by a signed per-recipient link in an email) to the
    /// account's contacts with `to` role (`all`: every contact with an email), to a sample
    /// of `sample_percent`, skipping unsubscribed contacts and those surveyed within the
    /// survey's rest period.
    Survey {
        /// The survey, by name.
        survey: String,
        /// A contact role, or `all`.
        #[serde(default = "all")]
        to: String,
        /// Percent of the contacts drawn (stable per contact and day).
        #[serde(default = "hundred")]
        sample_percent: u8,
        /// Phase.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
    },
    /// Start a success plan from a template (none when the account already has an active
    /// plan from it), in `language` (default: the account's `language` custom field, else
    /// the settings' locale).
    Plan {
        /// The template, by name.
        template: String,
        /// `en` or `ja`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
        /// Phase.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
    },
}

fn all() -> String {
    "all".to_owned()
}
fn hundred() -> u8 {
    100
}

fn owner() -> Assignee {
    Assignee::Owner
}
fn normal() -> Priority {
    Priority::Normal
}
fn generic() -> String {
    "generic".to_owned()
}

impl Step {
    /// The phase the step belongs to.
    pub fn phase(&self) -> &str {
        self.named_phase().unwrap_or(MAIN_PHASE)
    }

    /// The phase as written, if any.
    fn named_phase(&self) -> Option<&str> {
        match self {
            Step::Task { phase, .. }
            | Step::Email { phase, .. }
            | Step::Webhook { phase, .. }
            | Step::Wait { phase, .. }
            | Step::Branch { phase, .. }
            | Step::SetTier { phase, .. }
            | Step::MoveStage { phase, .. }
            | Step::Plan { phase, .. }
            | Step::Survey { phase, .. } => phase.as_deref(),
        }
    }
}

/// The phase of steps that name none.
pub const MAIN_PHASE: &str = "main";

/// What counts as success for the effectiveness report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// The account still pays `days` days after the firing.
    Retained {
        /// Days after the firing.
        days: u32,
    },
    /// An event (a milestone) happened within `days` days after the firing.
    EventHappened {
        /// The event.
        event: String,
        /// Days after the firing.
        days: u32,
    },
    /// The health score is at least `threshold` `days` days after the firing.
    HealthRecovered {
        /// 0-100.
        threshold: f64,
        /// Days after the firing.
        days: u32,
    },
}

impl Outcome {
    /// Days after the firing when the outcome is known.
    pub fn days(&self) -> u32 {
        match self {
            Outcome::Retained { days }
            | Outcome::EventHappened { days, .. }
            | Outcome::HealthRecovered { days, .. } => *days,
        }
    }
}

/// A content link shown with the playbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// Title.
    pub title: Localized,
    /// URL.
    pub url: String,
}

/// A playbook's place in a process of several (see `docs/playbooks.md`, "Staged
/// playbooks"): stages of one `series` read as one process. On an account, a stage does
/// not fire when a later stage fires the same day or fired within this stage's cooldown;
/// when a later stage starts, earlier stages' active runs there are cancelled and their
/// open tasks closed as superseded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// The process, a slug shared by its stages (`renewal`).
    pub series: String,
    /// Its place: later stages have larger numbers.
    pub order: u32,
}

/// A playbook as people write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookSpec {
    /// Unique name, a slug.
    pub name: String,
    /// Title.
    pub title: Localized,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Localized>,
    /// When it fires.
    pub trigger: Trigger,
    /// For which accounts.
    #[serde(default)]
    pub conditions: Conditions,
    /// Fires at most once per account per this many days (default 90).
    #[serde(default = "ninety")]
    pub cooldown_days: u32,
    /// A stage of a process made of several playbooks (e.g. renewal at 120, 90, 60 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// Percent of firings held out as a control group (0-50, default 0).
    #[serde(default)]
    pub holdout_percent: u8,
    /// Success, for the effectiveness report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Content links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// A checked playbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Playbook {
    name: Slug,
    spec: PlaybookSpec,
}

/// Variables templates may use.
pub const VARIABLES: &[&str] = &[
    "account.name",
    "account.external_id",
    "account.plan",
    "account.stage",
    "account.tier",
    "account.mrr",
    "account.arr",
    "account.renewal_date",
    "account.days_to_renewal",
    "contact.name",
    "owner.name",
    "owner.email",
    "playbook.title",
    "reason",
];

impl Playbook {
    /// Checks a spec; errors name the field (`steps[2].title.en`).
    pub fn check(spec: PlaybookSpec) -> Result<Playbook, Invalid> {
        let name = Slug::parse(&spec.name).map_err(|e| Invalid::new("name", e.reason))?;
        if spec.holdout_percent > 50 {
            return Err(Invalid::new("holdout_percent", "must be between 0 and 50"));
        }
        if spec.cooldown_days == 0 {
            return Err(Invalid::new("cooldown_days", "must be at least 1"));
        }
        if let Some(stage) = &spec.stage {
            Slug::parse(&stage.series).map_err(|e| Invalid::new("stage.series", e.reason))?;
        }
        check_trigger(&spec.trigger)?;
        check_conditions(&spec.conditions, "conditions")?;
        if spec.steps.is_empty() {
            return Err(Invalid::new("steps", "a playbook needs at least one step"));
        }
        check_text(&spec.title, "title")?;
        for (index, step) in spec.steps.iter().enumerate() {
            check_step(step, &format!("steps[{index}]"), true)?;
        }
        for (index, link) in spec.links.iter().enumerate() {
            if !(link.url.starts_with("https://") || link.url.starts_with("http://")) {
                return Err(Invalid::new(
                    format!("links[{index}].url"),
                    "must be an http(s) URL",
                ));
            }
        }
        if let Some(Outcome::EventHappened { event, .. }) = &spec.outcome
            && event.trim().is_empty()
        {
            return Err(Invalid::new("outcome.event", "must not be empty"));
        }
        Ok(Playbook { name, spec })
    }

    /// Its name.
    pub fn name(&self) -> &Slug {
        &self.name
    }

    /// Its spec.
    pub fn spec(&self) -> &PlaybookSpec {
        &self.spec
    }

    /// Phases in order of first appearance.
    pub fn phases(&self) -> Vec<&str> {
        let mut phases: Vec<&str> = Vec::new();
        for step in &self.spec.steps {
            if !phases.contains(&step.phase()) {
                phases.push(step.phase());
            }
        }
        phases
    }
}

fn check_trigger(trigger: &Trigger) -> Result<(), Invalid> {
    let nonempty = |value: &str, field: &str| {
        if value.trim().is_empty() {
            Err(Invalid::new(
                format!("trigger.{field}"),
                "must not be empty",
            ))
        } else {
            Ok(())
        }
    };
    let positive = |days: u32, field: &str| {
        if days == 0 {
            Err(Invalid::new(
                format!("trigger.{field}"),
                "must be at least 1",
            ))
        } else {
            Ok(())
        }
    };
    match trigger {
        Trigger::Event { event, within_days } => {
            nonempty(event, "event")?;
            positive(*within_days, "within_days")
        }
        Trigger::EventAbsent { event, days, after } => {
            nonempty(event, "event")?;
            if let Some(after) = after {
                nonempty(after, "after")?;
            }
            positive(*days, "days")
        }
        Trigger::MetricBelow { metric, threshold } | Trigger::MetricAbove { metric, threshold } => {
            nonempty(metric, "metric")?;
            if threshold.is_finite() {
                Ok(())
            } else {
                Err(Invalid::new("trigger.threshold", "must be a number"))
            }
        }
        Trigger::MetricDrop {
            metric,
            percent,
            days,
        } => {
            nonempty(metric, "metric")?;
            if !(percent.is_finite() && *percent > 0.0 && *percent <= 100.0) {
                return Err(Invalid::new(
                    "trigger.percent",
                    "must be above 0 and at most 100",
                ));
            }
            positive(*days, "days")
        }
        Trigger::HealthBelow { threshold } => {
            if (0.0..=100.0).contains(threshold) {
                Ok(())
            } else {
                Err(Invalid::new(
                    "trigger.threshold",
                    "must be between 0 and 100",
                ))
            }
        }
        Trigger::HealthDrop { points, days } => {
            if !(points.is_finite() && *points > 0.0 && *points <= 100.0) {
                return Err(Invalid::new(
                    "trigger.points",
                    "must be above 0 and at most 100",
                ));
            }
            positive(*days, "days")
        }
        Trigger::RenewalWithin { days } | Trigger::DaysAfterStart { days } => {
            if let Trigger::RenewalWithin { .. } = trigger {
                positive(*days, "days")?;
            }
            Ok(())
        }
        Trigger::Every { days } => positive(*days, "days"),
        Trigger::TouchpointLogged { .. } => Ok(()),
        Trigger::StageEntered { stage, within_days } => {
            Slug::parse(stage).map_err(|e| Invalid::new("trigger.stage", e.reason))?;
            positive(*within_days, "within_days")
        }
        Trigger::PlanEvent { within_days, .. } => positive(*within_days, "within_days"),
        Trigger::FieldChanged { field, within_days } => {
            const FIELDS: &[&str] = &["stage", "tier", "plan", "owner", "renewal_date", "champion"];
            if !FIELDS.contains(&field.as_str()) {
                return Err(Invalid::new(
                    "trigger.field",
                    format!("'{field}' is not one of: {}", FIELDS.join(", ")),
                ));
            }
            positive(*within_days, "within_days")
        }
        Trigger::SurveyAnswer {
            survey,
            min_score,
            max_score,
            within_days,
        } => {
            for (score, field) in [(min_score, "min_score"), (max_score, "max_score")] {
                if let Some(score) = score {
                    survey
                        .check(*score)
                        .map_err(|e| Invalid::new(format!("trigger.{field}"), e.reason))?;
                }
            }
            positive(*within_days, "within_days")
        }
    }
}

fn check_conditions(conditions: &Conditions, at: &str) -> Result<(), Invalid> {
    for (index, plan) in conditions.plans.iter().enumerate() {
        Slug::parse(plan).map_err(|e| Invalid::new(format!("{at}.plans[{index}]"), e.reason))?;
    }
    for (index, stage) in conditions.stages.iter().enumerate() {
        Slug::parse(stage).map_err(|e| Invalid::new(format!("{at}.stages[{index}]"), e.reason))?;
    }
    if let (Some(low), Some(high)) = (conditions.min_arr, conditions.max_arr)
        && low >= high
    {
        return Err(Invalid::new(
            format!("{at}.max_arr"),
            "must be above min_arr",
        ));
    }
    Ok(())
}

fn check_text(text: &Localized, at: &str) -> Result<(), Invalid> {
    if text.en.trim().is_empty() {
        return Err(Invalid::new(format!("{at}.en"), "must not be empty"));
    }
    for (language, value) in [("en", Some(&text.en)), ("ja", text.ja.as_ref())] {
        if let Some(value) = value {
            crate::template::check(value)
                .map_err(|reason| Invalid::new(format!("{at}.{language}"), reason))?;
        }
    }
    Ok(())
}

fn check_step(step: &Step, at: &str, top: bool) -> Result<(), Invalid> {
    if let Some(phase) = step.named_phase() {
        Slug::parse(phase).map_err(|e| Invalid::new(format!("{at}.phase"), e.reason))?;
    }
    match step {
        Step::Task {
            title,
            instructions,
            deliverable,
            ..
        } => {
            check_text(title, &format!("{at}.title"))?;
            if let Some(instructions) = instructions {
                check_text(instructions, &format!("{at}.instructions"))?;
            }
            if let Some(deliverable) = deliverable {
                Slug::parse(deliverable)
                    .map_err(|e| Invalid::new(format!("{at}.deliverable"), e.reason))?;
            }
            Ok(())
        }
        Step::Email {
            to, subject, body, ..
        } => {
            if to != "all" {
                ContactRole::parse(to).map_err(|e| Invalid::new(format!("{at}.to"), e.reason))?;
            }
            check_text(subject, &format!("{at}.subject"))?;
            check_text(body, &format!("{at}.body"))
        }
        Step::Webhook {
            url, format, text, ..
        } => {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(Invalid::new(format!("{at}.url"), "must be an http(s) URL"));
            }
            if format != "slack" && format != "generic" {
                return Err(Invalid::new(
                    format!("{at}.format"),
                    "must be slack or generic",
                ));
            }
            check_text(text, &format!("{at}.text"))
        }
        Step::Wait { days, .. } => {
            if !top {
                return Err(Invalid::new(
                    format!("{at}.kind"),
                    "a wait cannot be inside a branch",
                ));
            }
            if *days == 0 {
                return Err(Invalid::new(format!("{at}.days"), "must be at least 1"));
            }
            Ok(())
        }
        Step::Branch {
            when,
            then,
            otherwise,
            ..
        } => {
            check_conditions(when, &format!("{at}.when"))?;
            for (index, step) in then.iter().enumerate() {
                check_step(step, &format!("{at}.then[{index}]"), false)?;
            }
            for (index, step) in otherwise.iter().enumerate() {
                check_step(step, &format!("{at}.otherwise[{index}]"), false)?;
            }
            Ok(())
        }
        Step::SetTier { .. } => Ok(()),
        Step::MoveStage { stage, .. } => Slug::parse(stage)
            .map(|_| ())
            .map_err(|e| Invalid::new(format!("{at}.stage"), e.reason)),
        Step::Survey {
            survey,
            to,
            sample_percent,
            ..
        } => {
            Slug::parse(survey).map_err(|e| Invalid::new(format!("{at}.survey"), e.reason))?;
            if to != "all" {
                ContactRole::parse(to).map_err(|e| Invalid::new(format!("{at}.to"), e.reason))?;
            }
            if !(1..=100).contains(sample_percent) {
                return Err(Invalid::new(
                    format!("{at}.sample_percent"),
                    "must be 1 to 100",
                ));
            }
            Ok(())
        }
        Step::Plan {
            template, language, ..
        } => {
            Slug::parse(template).map_err(|e| Invalid::new(format!("{at}.template"), e.reason))?;
            match language.as_deref() {
                None | Some("en") | Some("ja") => Ok(()),
                Some(other) => Err(Invalid::new(
                    format!("{at}.language"),
                    format!("'{other}' is not one of: en, ja"),
                )),
            }
        }
    }
}

/// Parses and checks a JSON spec; errors name the field.
pub fn parse(json: &str) -> Result<Playbook, Invalid> {
    let deserializer = &mut serde_json::Deserializer::from_str(json);
    let spec: PlaybookSpec = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        Invalid::new(
            if path == "." { "body".to_owned() } else { path },
            e.inner().to_string(),
        )
    })?;
    Playbook::check(spec)
}
