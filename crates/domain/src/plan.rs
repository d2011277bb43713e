//! Success plans (期待値調整, expectation alignment): what the customer wants to achieve
//! in their own words (objectives, some bound to a measured target), the way there
//! (milestones gated by deliverables the customer accepts), what could go wrong (the RAID
//! log), and each stakeholder's personal success.
//!
//! A plan is one document: every change is checked against the whole plan and saved with
//! it (a milestone's gate names deliverables of the same plan, a milestone closes only
//! when its gate is accepted), and each change yields the events the plan's history keeps.
//! Measured progress is not part of the document: it is computed from the data every day
//! ([`measure`]) and kept beside it.

use crate::value::{Slug, Text};
use crate::{AccountId, ContactId, Invalid, PlanId, UserId, wire_enum};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

wire_enum!(
    /// Where a plan stands.
    PlanStatus, "status" {
        /// Being worked on.
        Active = "active" | "進行中",
        /// Done: the outcome was reached or the plan was closed.
        Completed = "completed" | "完了",
        /// Dropped.
        Cancelled = "cancelled" | "canceled" | "中止",
    }
);

wire_enum!(
    /// An objective's status: computed for a measured objective, set by a person otherwise.
    ObjectiveStatus, "status" {
        /// Progress keeps up with the time gone.
        OnTrack = "on_track",
        /// Somewhat behind.
        AtRisk = "at_risk",
        /// Far behind.
        OffTrack = "off_track",
        /// The target was reached.
        Achieved = "achieved",
        /// The due date passed first.
        Missed = "missed",
        /// The metric has no value (yet).
        NoData = "no_data",
    }
);

impl ObjectiveStatus {
    /// Whether the objective needs attention (off track or missed).
    pub fn is_bad(self) -> bool {
        matches!(self, ObjectiveStatus::OffTrack | ObjectiveStatus::Missed)
    }
}

wire_enum!(
    /// What a deliverable is.
    DeliverableKind, "kind" {
        /// A document (a plan, a report, a design).
        Document = "document" | "doc" | "資料",
        /// A link to something online.
        Link = "link" | "url" | "リンク",
        /// A workshop or training session.
        Workshop = "workshop" | "training" | "ワークショップ",
        /// Anything else.
        Other = "other" | "その他",
    }
);

wire_enum!(
    /// Where a deliverable stands; only the customer accepts or rejects.
    DeliverableStatus, "status" {
        /// Not handed over yet.
        Pending = "pending",
        /// Handed over, waiting for the customer.
        Delivered = "delivered",
        /// The customer accepted it.
        Accepted = "accepted",
        /// The customer rejected it (with a reason).
        Rejected = "rejected",
    }
);

wire_enum!(
    /// The four kinds of a RAID log entry.
    RaidKind, "kind" {
        /// Something that may go wrong.
        Risk = "risk" | "リスク",
        /// Something to do.
        Action = "action" | "アクション",
        /// Something that went wrong.
        Issue = "issue" | "課題",
        /// Something decided.
        Decision = "decision" | "決定",
    }
);

wire_enum!(
    /// How serious a RAID entry is.
    Severity, "severity" {
        /// Minor.
        Low = "low" | "低",
        /// Notable.
        Medium = "medium" | "中",
        /// Serious.
        High = "high" | "高",
    }
);

wire_enum!(
    /// Whether a RAID entry is still open.
    RaidStatus, "status" {
        /// Open.
        Open = "open",
        /// Closed (mitigated, done, resolved).
        Closed = "closed",
    }
);

wire_enum!(
    /// Where a stakeholder's personal success stands.
    PersonalStatus, "status" {
        /// Not started.
        NotStarted = "not_started",
        /// Being worked on.
        InProgress = "in_progress",
        /// Reached.
        Achieved = "achieved",
    }
);

/// A measured target: the metric should reach `target` by `due`, starting from its value on
/// `start` (the baseline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// A defined metric, by name.
    pub metric: Slug,
    /// The value to reach (below the baseline: the metric should fall), or with
    /// `relative` the percent change from the baseline (+20: up a fifth).
    pub target: f64,
    /// From when progress counts (the baseline day).
    pub start: Date,
    /// By when.
    pub due: Date,
    /// Whether `target` is a percent change from the baseline.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub relative: bool,
}

impl Target {
    /// Checks a target: a finite value, a due date after the start and not before `today`.
    pub fn new(
        metric: Slug,
        target: f64,
        start: Date,
        due: Date,
        today: Date,
    ) -> Result<Target, Invalid> {
        if !target.is_finite() {
            return Err(Invalid::new("target", "must be a number"));
        }
        if due <= start {
            return Err(Invalid::new("due", "must be after the start"));
        }
        if due < today {
            return Err(Invalid::new(
                "due",
                format!("{due} is in the past (today is {today})"),
            ));
        }
        Ok(Target {
            metric,
            target,
            start,
            due,
            relative: false,
        })
    }

    /// The same target as a percent change from the baseline (`target` then must be above
    /// -100: a metric cannot fall below nothing).
    pub fn relative(self) -> Result<Target, Invalid> {
        if self.target <= -100.0 {
            return Err(Invalid::new("target", "a change must be above -100%"));
        }
        Ok(Target {
            relative: true,
            ..self
        })
    }

    /// The value to reach, given the baseline (a relative target needs one).
    pub fn goal(&self, baseline: Option<f64>) -> Option<f64> {
        if self.relative {
            baseline.map(|b| b * (1.0 + self.target / 100.0))
        } else {
            Some(self.target)
        }
    }
}

/// One objective (the customer outcome, CO), in the customer's words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// Its number within the plan.
    pub id: u32,
    /// In the customer's words.
    pub title: Text,
    /// The measured target, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// The status a person sets (objectives without a target only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_status: Option<ObjectiveStatus>,
}

impl Objective {
    /// Its status: for a measured objective the measured one (`measured`, none until the
    /// daily run measured it), for the others the one set by hand.
    pub fn status(&self, measured: Option<ObjectiveStatus>) -> Option<ObjectiveStatus> {
        match &self.target {
            Some(_) => measured,
            None => self.manual_status,
        }
    }
}

/// A milestone on the way, closed only when every deliverable of its gate is accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    /// Its number within the plan.
    pub id: u32,
    /// What it is.
    pub title: Text,
    /// When it is due.
    pub due_on: Date,
    /// The deliverables (of this plan) the customer must accept before it closes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gate: Vec<u32>,
    /// When it closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<jiff::Timestamp>,
    /// Who closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<Author>,
}

impl Milestone {
    /// Open and past its due day.
    pub fn overdue(&self, today: Date) -> bool {
        self.closed_at.is_none() && self.due_on < today
    }
}

/// Something handed to the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deliverable {
    /// Its number within the plan.
    pub id: u32,
    /// What it is.
    pub title: Text,
    /// Its kind.
    pub kind: DeliverableKind,
    /// Where to find it (a document or a link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Where it stands.
    pub status: DeliverableStatus,
    /// Who accepted or rejected it, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<Author>,
    /// When it was accepted or rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<jiff::Timestamp>,
    /// The customer's reason (on a rejection) or remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<Text>,
}

/// A person on either side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Author {
    /// A Mikawaya user (the CS team or a partner).
    User(UserId),
    /// A contact at the customer, through a shared link.
    Contact(ContactId),
}

/// An entry of the RAID log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaidEntry {
    /// Its number within the plan.
    pub id: u32,
    /// Risk, action, issue or decision.
    pub kind: RaidKind,
    /// What.
    pub title: Text,
    /// Who handles it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Author>,
    /// By when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_on: Option<Date>,
    /// How serious.
    pub severity: Severity,
    /// Open or closed.
    pub status: RaidStatus,
    /// Kept from the customer's view.
    #[serde(default)]
    pub internal: bool,
}

/// A stakeholder's personal success: what they want for themselves (the end user an easier
/// job, the decision maker recognition) and how we help.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalSuccess {
    /// The stakeholder.
    pub contact_id: ContactId,
    /// Their goal, in their words.
    pub goal: Text,
    /// How we help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how_we_help: Option<Text>,
    /// Where it stands.
    pub status: PersonalStatus,
}

/// A comment on the plan; internal ones never reach the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comment {
    /// Who (none: Mikawaya, or an integration's token).
    pub author: Option<Author>,
    /// When.
    pub at: jiff::Timestamp,
    /// What.
    pub text: Text,
    /// Kept from the customer's view.
    #[serde(default)]
    pub internal: bool,
}

/// What people write in a plan (everything but its id, account and version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    /// Its title (the outcome in one line).
    pub title: Text,
    /// The customer's language: the shared view and its emails use it.
    pub language: crate::language::Language,
    /// Active, completed or cancelled.
    pub status: PlanStatus,
    /// The owner on our side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<UserId>,
    /// The owner on the customer's side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_owner_id: Option<ContactId>,
    /// The template it came from (name and version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<(String, i64)>,
    /// The objectives.
    #[serde(default)]
    pub objectives: Vec<Objective>,
    /// The milestones, in due order.
    #[serde(default)]
    pub milestones: Vec<Milestone>,
    /// The deliverables.
    #[serde(default)]
    pub deliverables: Vec<Deliverable>,
    /// The RAID log.
    #[serde(default)]
    pub raid: Vec<RaidEntry>,
    /// Personal success per stakeholder.
    #[serde(default)]
    pub personal: Vec<PersonalSuccess>,
    /// Comments, oldest first.
    #[serde(default)]
    pub comments: Vec<Comment>,
}

impl PlanBody {
    /// An empty active plan.
    pub fn new(title: Text, language: crate::language::Language) -> PlanBody {
        PlanBody {
            title,
            language,
            status: PlanStatus::Active,
            owner_id: None,
            customer_owner_id: None,
            template: None,
            objectives: Vec::new(),
            milestones: Vec::new(),
            deliverables: Vec::new(),
            raid: Vec::new(),
            personal: Vec::new(),
            comments: Vec::new(),
        }
    }

    /// What the customer sees through a shared link: the plan without internal notes and
    /// internal RAID entries.
    pub fn for_customer(&self) -> PlanBody {
        let mut shared = self.clone();
        shared.comments.retain(|c| !c.internal);
        shared.raid.retain(|r| !r.internal);
        shared
    }

    /// The objectives off track or missed, given each measured objective's status by its
    /// number.
    pub fn objectives_off_track(&self, measured: impl Fn(u32) -> Option<ObjectiveStatus>) -> usize {
        self.objectives
            .iter()
            .filter(|o| {
                o.status(measured(o.id))
                    .is_some_and(ObjectiveStatus::is_bad)
            })
            .count()
    }

    /// The milestones open and past due on `today`.
    pub fn overdue_milestones(&self, today: Date) -> usize {
        self.milestones.iter().filter(|m| m.overdue(today)).count()
    }

    /// One deliverable.
    pub fn deliverable(&self, id: u32) -> Option<&Deliverable> {
        self.deliverables.iter().find(|d| d.id == id)
    }

    /// Applies a change by `who` (none: Mikawaya, or an integration's token) at `now`: the
    /// events it makes, or the field that is wrong (the plan is then unchanged). Dates are
    /// checked where they are made ([`Target::new`]).
    pub fn apply(
        &mut self,
        change: PlanChange,
        who: Option<Author>,
        now: jiff::Timestamp,
    ) -> Result<Vec<PlanEvent>, Invalid> {
        let mut draft = self.clone();
        let events = draft.apply_to_draft(change, who, now)?;
        *self = draft;
        Ok(events)
    }

    fn apply_to_draft(
        &mut self,
        change: PlanChange,
        who: Option<Author>,
        now: jiff::Timestamp,
    ) -> Result<Vec<PlanEvent>, Invalid> {
        let customer = matches!(who, Some(Author::Contact(_)));
        if customer && !change.customer_may() {
            return Err(Invalid::new("kind", "a customer cannot make this change"));
        }
        let event = |kind: PlanEventKind, item: Option<u32>, text: &str| PlanEvent {
            kind,
            item,
            text: text.to_owned(),
        };
        Ok(match change {
            PlanChange::Details {
                title,
                status,
                owner_id,
                customer_owner_id,
                language,
            } => {
                let mut events = Vec::new();
                if let Some(title) = title {
                    self.title = title;
                }
                if let Some(language) = language {
                    self.language = language;
                }
                self.owner_id = owner_id.apply(self.owner_id);
                self.customer_owner_id = customer_owner_id.apply(self.customer_owner_id);
                if let Some(status) = status
                    && status != self.status
                {
                    self.status = status;
                    events.push(event(PlanEventKind::StatusChanged, None, status.as_str()));
                }
                events.push(event(PlanEventKind::Edited, None, self.title.as_str()));
                events
            }
            PlanChange::AddObjective {
                title,
                target,
                manual_status,
            } => {
                if target.is_some() && manual_status.is_some() {
                    return Err(Invalid::new(
                        "manual_status",
                        "a measured objective's status is computed from the data",
                    ));
                }
                let id = next_id(self.objectives.iter().map(|o| o.id));
                let text = title.to_string();
                self.objectives.push(Objective {
                    id,
                    title,
                    target,
                    manual_status,
                });
                vec![event(PlanEventKind::ObjectiveAdded, Some(id), &text)]
            }
            PlanChange::SetObjectiveStatus { objective, status } => {
                let found = self
                    .objectives
                    .iter_mut()
                    .find(|o| o.id == objective)
                    .ok_or_else(|| unknown("objective", objective))?;
                if found.target.is_some() {
                    return Err(Invalid::new(
                        "status",
                        "a measured objective's status is computed from the data",
                    ));
                }
                found.manual_status = Some(status);
                vec![event(
                    PlanEventKind::ObjectiveStatus,
                    Some(objective),
                    status.as_str(),
                )]
            }
            PlanChange::RemoveObjective { objective } => {
                let before = self.objectives.len();
                self.objectives.retain(|o| o.id != objective);
                if self.objectives.len() == before {
                    return Err(unknown("objective", objective));
                }
                vec![event(PlanEventKind::ObjectiveRemoved, Some(objective), "")]
            }
            PlanChange::AddDeliverable { title, kind, url } => {
                let url = url.map(check_url).transpose()?;
                let id = next_id(self.deliverables.iter().map(|d| d.id));
                let text = title.to_string();
                self.deliverables.push(Deliverable {
                    id,
                    title,
                    kind,
                    url,
                    status: DeliverableStatus::Pending,
                    decided_by: None,
                    decided_at: None,
                    remark: None,
                });
                vec![event(PlanEventKind::DeliverableAdded, Some(id), &text)]
            }
            PlanChange::Deliver { deliverable } => {
                let found = self.deliverable_mut(deliverable)?;
                if found.status == DeliverableStatus::Accepted {
                    return Err(Invalid::new("deliverable", "is already accepted"));
                }
                found.status = DeliverableStatus::Delivered;
                let text = found.title.to_string();
                vec![event(
                    PlanEventKind::DeliverableDelivered,
                    Some(deliverable),
                    &text,
                )]
            }
            PlanChange::Decide {
                deliverable,
                accept,
                remark,
            } => {
                if !customer {
                    return Err(Invalid::new(
                        "kind",
                        "only the customer accepts or rejects a deliverable",
                    ));
                }
                if !accept && remark.is_none() {
                    return Err(Invalid::new(
                        "remark",
                        "say why the deliverable is rejected",
                    ));
                }
                let found = self.deliverable_mut(deliverable)?;
                if found.status != DeliverableStatus::Delivered {
                    return Err(Invalid::new(
                        "deliverable",
                        format!("is {}, not waiting for the customer", found.status),
                    ));
                }
                found.status = if accept {
                    DeliverableStatus::Accepted
                } else {
                    DeliverableStatus::Rejected
                };
                found.decided_by = who;
                found.decided_at = Some(now);
                found.remark = remark;
                let text = found.title.to_string();
                let kind = if accept {
                    PlanEventKind::DeliverableAccepted
                } else {
                    PlanEventKind::DeliverableRejected
                };
                let mut events = vec![event(kind, Some(deliverable), &text)];
                // A milestone whose whole gate is now accepted closes (the phase gate).
                if accept {
                    let accepted: Vec<u32> = self
                        .deliverables
                        .iter()
                        .filter(|d| d.status == DeliverableStatus::Accepted)
                        .map(|d| d.id)
                        .collect();
                    for milestone in &mut self.milestones {
                        if milestone.closed_at.is_none()
                            && milestone.gate.contains(&deliverable)
                            && milestone.gate.iter().all(|d| accepted.contains(d))
                        {
                            milestone.closed_at = Some(now);
                            milestone.closed_by = who;
                            events.push(event(
                                PlanEventKind::MilestoneClosed,
                                Some(milestone.id),
                                milestone.title.as_str(),
                            ));
                        }
                    }
                }
                events
            }
            PlanChange::AddMilestone {
                title,
                due_on,
                gate,
            } => {
                for id in &gate {
                    if self.deliverable(*id).is_none() {
                        return Err(Invalid::new(
                            "gate",
                            format!("deliverable {id} is not part of this plan"),
                        ));
                    }
                }
                let id = next_id(self.milestones.iter().map(|m| m.id));
                let text = title.to_string();
                self.milestones.push(Milestone {
                    id,
                    title,
                    due_on,
                    gate,
                    closed_at: None,
                    closed_by: None,
                });
                self.milestones.sort_by_key(|m| (m.due_on, m.id));
                vec![event(PlanEventKind::MilestoneAdded, Some(id), &text)]
            }
            PlanChange::CloseMilestone { milestone } => {
                let gate_open: Vec<u32> = {
                    let found = self
                        .milestones
                        .iter()
                        .find(|m| m.id == milestone)
                        .ok_or_else(|| unknown("milestone", milestone))?;
                    if found.closed_at.is_some() {
                        return Err(Invalid::new("milestone", "is already closed"));
                    }
                    found
                        .gate
                        .iter()
                        .copied()
                        .filter(|d| {
                            self.deliverable(*d)
                                .is_none_or(|d| d.status != DeliverableStatus::Accepted)
                        })
                        .collect()
                };
                if !gate_open.is_empty() {
                    return Err(Invalid::new(
                        "milestone",
                        format!(
                            "its gate is not passed: deliverable {} is not accepted yet",
                            gate_open
                                .iter()
                                .map(u32::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                let found = self
                    .milestones
                    .iter_mut()
                    .find(|m| m.id == milestone)
                    .ok_or_else(|| unknown("milestone", milestone))?;
                found.closed_at = Some(now);
                found.closed_by = who;
                vec![event(
                    PlanEventKind::MilestoneClosed,
                    Some(milestone),
                    found.title.as_str(),
                )]
            }
            PlanChange::AddRaid {
                kind,
                title,
                owner,
                due_on,
                severity,
                internal,
            } => {
                let id = next_id(self.raid.iter().map(|r| r.id));
                let text = title.to_string();
                self.raid.push(RaidEntry {
                    id,
                    kind,
                    title,
                    owner,
                    due_on,
                    severity,
                    status: RaidStatus::Open,
                    internal,
                });
                vec![event(PlanEventKind::RaidAdded, Some(id), &text)]
            }
            PlanChange::SetRaidStatus { entry, status } => {
                let found = self
                    .raid
                    .iter_mut()
                    .find(|r| r.id == entry)
                    .ok_or_else(|| unknown("entry", entry))?;
                found.status = status;
                vec![event(
                    PlanEventKind::RaidChanged,
                    Some(entry),
                    status.as_str(),
                )]
            }
            PlanChange::SetPersonal {
                contact_id,
                goal,
                how_we_help,
                status,
            } => {
                let entry = PersonalSuccess {
                    contact_id,
                    goal,
                    how_we_help,
                    status,
                };
                match self
                    .personal
                    .iter_mut()
                    .find(|p| p.contact_id == contact_id)
                {
                    Some(found) => *found = entry,
                    None => self.personal.push(entry),
                }
                vec![event(PlanEventKind::PersonalSet, None, status.as_str())]
            }
            PlanChange::Comment { text, internal } => {
                if customer && internal {
                    return Err(Invalid::new("internal", "a customer's comment is shared"));
                }
                let said = text.to_string();
                self.comments.push(Comment {
                    author: who,
                    at: now,
                    text,
                    internal,
                });
                let kind = if internal {
                    PlanEventKind::NoteAdded
                } else {
                    PlanEventKind::Commented
                };
                vec![event(kind, None, &said)]
            }
        })
    }

    fn deliverable_mut(&mut self, id: u32) -> Result<&mut Deliverable, Invalid> {
        self.deliverables
            .iter_mut()
            .find(|d| d.id == id)
            .ok_or_else(|| unknown("deliverable", id))
    }
}

fn next_id(ids: impl Iterator<Item = u32>) -> u32 {
    ids.max().unwrap_or(0) + 1
}

fn unknown(field: &str, id: u32) -> Invalid {
    Invalid::new(field, format!("{id} is not part of this plan"))
}

/// A link people can open: http or https, at most 2,000 characters.
fn check_url(raw: String) -> Result<String, Invalid> {
    let url = raw.trim();
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid::new("url", "must be an http(s) link"));
    }
    Ok(url.to_owned())
}

/// A change to a plan, from a person on our side or (a few kinds) from the customer.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanChange {
    /// Title, status, owners, language.
    Details {
        /// New title.
        title: Option<Text>,
        /// New status.
        status: Option<PlanStatus>,
        /// New owner on our side.
        owner_id: crate::Patch<UserId>,
        /// New owner at the customer.
        customer_owner_id: crate::Patch<ContactId>,
        /// New language.
        language: Option<crate::language::Language>,
    },
    /// A new objective.
    AddObjective {
        /// In the customer's words.
        title: Text,
        /// A measured target.
        target: Option<Target>,
        /// A status set by hand (objectives without a target).
        manual_status: Option<ObjectiveStatus>,
    },
    /// The status of an objective without a target.
    SetObjectiveStatus {
        /// Which.
        objective: u32,
        /// Its status.
        status: ObjectiveStatus,
    },
    /// Removes an objective.
    RemoveObjective {
        /// Which.
        objective: u32,
    },
    /// A new deliverable.
    AddDeliverable {
        /// What.
        title: Text,
        /// Its kind.
        kind: DeliverableKind,
        /// Where.
        url: Option<String>,
    },
    /// Hands a deliverable over to the customer.
    Deliver {
        /// Which.
        deliverable: u32,
    },
    /// The customer accepts or rejects a deliverable.
    Decide {
        /// Which.
        deliverable: u32,
        /// Accept (true) or reject.
        accept: bool,
        /// Why (required to reject).
        remark: Option<Text>,
    },
    /// A new milestone.
    AddMilestone {
        /// What.
        title: Text,
        /// When.
        due_on: Date,
        /// Deliverables of this plan to accept before it closes.
        gate: Vec<u32>,
    },
    /// Closes (approves) a milestone whose gate is passed.
    CloseMilestone {
        /// Which.
        milestone: u32,
    },
    /// A new RAID entry.
    AddRaid {
        /// Its kind.
        kind: RaidKind,
        /// What.
        title: Text,
        /// Who handles it.
        owner: Option<Author>,
        /// By when.
        due_on: Option<Date>,
        /// How serious.
        severity: Severity,
        /// Kept from the customer.
        internal: bool,
    },
    /// Opens or closes a RAID entry.
    SetRaidStatus {
        /// Which.
        entry: u32,
        /// Open or closed.
        status: RaidStatus,
    },
    /// A stakeholder's personal success (replaces theirs).
    SetPersonal {
        /// The stakeholder.
        contact_id: ContactId,
        /// Their goal.
        goal: Text,
        /// How we help.
        how_we_help: Option<Text>,
        /// Where it stands.
        status: PersonalStatus,
    },
    /// A comment (internal: a note the customer never sees).
    Comment {
        /// What.
        text: Text,
        /// Kept from the customer.
        internal: bool,
    },
}

impl PlanChange {
    /// Whether a customer may make it through a shared link: comment, accept or reject a
    /// deliverable, approve a milestone.
    pub fn customer_may(&self) -> bool {
        matches!(
            self,
            PlanChange::Comment { .. }
                | PlanChange::Decide { .. }
                | PlanChange::CloseMilestone { .. }
        )
    }
}

wire_enum!(
    /// What happened to a plan (its history, and what playbooks react to).
    PlanEventKind, "kind" {
        /// Created.
        Created = "created",
        /// Title, owners or language changed.
        Edited = "edited",
        /// Status changed.
        StatusChanged = "status_changed",
        /// An objective was added.
        ObjectiveAdded = "objective_added",
        /// An objective was removed.
        ObjectiveRemoved = "objective_removed",
        /// An objective's status changed (by a person, or by the daily measurement).
        ObjectiveStatus = "objective_status",
        /// A deliverable was added.
        DeliverableAdded = "deliverable_added",
        /// A deliverable was handed over.
        DeliverableDelivered = "deliverable_delivered",
        /// The customer accepted a deliverable.
        DeliverableAccepted = "deliverable_accepted",
        /// The customer rejected a deliverable.
        DeliverableRejected = "deliverable_rejected",
        /// A milestone was added.
        MilestoneAdded = "milestone_added",
        /// A milestone closed.
        MilestoneClosed = "milestone_closed",
        /// A milestone became overdue (daily).
        MilestoneOverdue = "milestone_overdue",
        /// A RAID entry was added.
        RaidAdded = "raid_added",
        /// A RAID entry was opened or closed.
        RaidChanged = "raid_changed",
        /// A stakeholder's personal success was set.
        PersonalSet = "personal_set",
        /// A shared comment.
        Commented = "commented",
        /// An internal note.
        NoteAdded = "note_added",
        /// Shared with a contact.
        Shared = "shared",
        /// A share was revoked.
        ShareRevoked = "share_revoked",
    }
);

/// One event a change makes.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanEvent {
    /// What happened.
    pub kind: PlanEventKind,
    /// The objective, deliverable, milestone or entry it is about.
    pub item: Option<u32>,
    /// A short text (a title, a status, a comment).
    pub text: String,
}

/// A stored plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SuccessPlan {
    /// Its id.
    pub id: PlanId,
    /// The account.
    pub account_id: AccountId,
    /// What people wrote.
    pub body: PlanBody,
    /// Bumped on every change; a change names the version it was made on.
    pub version: i64,
    /// When created.
    pub created_at: jiff::Timestamp,
    /// When last changed.
    pub updated_at: jiff::Timestamp,
}

/// The thresholds of the objective status rule (default: within 0.10 of the expected
/// progress is on track, within 0.25 at risk).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StatusRule {
    /// How far behind the expected progress still counts as on track.
    pub on_track_within: f64,
    /// How far behind still counts as at risk (beyond: off track).
    pub at_risk_within: f64,
}

impl Default for StatusRule {
    fn default() -> StatusRule {
        StatusRule {
            on_track_within: 0.10,
            at_risk_within: 0.25,
        }
    }
}

/// A measured objective's progress on a day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The day measured.
    pub day: Date,
    /// The metric's value on the start day.
    pub baseline: Option<f64>,
    /// Its value on the day.
    pub value: Option<f64>,
    /// The share of the time gone, 0 to 1.
    pub expected: f64,
    /// The share of the way made, capped to 0 to 1 (none without a baseline or value).
    pub actual: Option<f64>,
    /// The status.
    pub status: ObjectiveStatus,
    /// The day the target was first reached.
    pub achieved_on: Option<Date>,
}

/// Measures an objective on `day` (domain formula "objective status"): baseline `b` on the
/// start day, target `T` due `e`, value `v` on `day`; expected progress
/// x = (day - start) / (e - start), actual p = (v - b) / (T - b) (direction-aware: a
/// target below the baseline means the metric should fall). Achieved when `v` reaches `T`
/// (and stays achieved: `achieved_on` is carried from the day before); missed when `e`
/// passes first; otherwise on track when p ≥ x − 0.10, at risk when p ≥ x − 0.25, off track
/// below (`rule` holds the two margins).
pub fn measure(
    target: &Target,
    baseline: Option<f64>,
    value: Option<f64>,
    day: Date,
    achieved_on: Option<Date>,
    rule: StatusRule,
) -> Progress {
    let span = (target.due - target.start).get_days() as f64;
    let gone = (day - target.start).get_days() as f64;
    let expected = if span > 0.0 {
        (gone / span).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let goal = target.goal(baseline);
    let rising = match (goal, baseline) {
        (Some(goal), Some(b)) => goal >= b,
        _ => !(target.relative && target.target < 0.0),
    };
    let reached = goal
        .zip(value)
        .is_some_and(|(goal, v)| if rising { v >= goal } else { v <= goal });
    let achieved_on = achieved_on.or(reached.then_some(day));
    let raw = match (baseline, value, goal) {
        (Some(b), Some(v), Some(goal)) if goal != b => Some((v - b) / (goal - b)),
        (Some(_), Some(_), Some(_)) => Some(if reached { 1.0 } else { 0.0 }),
        _ => None,
    };
    let actual = raw.map(|p| p.clamp(0.0, 1.0));
    let status = if achieved_on.is_some() {
        ObjectiveStatus::Achieved
    } else if day > target.due {
        ObjectiveStatus::Missed
    } else {
        match raw {
            None => ObjectiveStatus::NoData,
            Some(p) if p >= expected - rule.on_track_within => ObjectiveStatus::OnTrack,
            Some(p) if p >= expected - rule.at_risk_within => ObjectiveStatus::AtRisk,
            Some(_) => ObjectiveStatus::OffTrack,
        }
    };
    Progress {
        day,
        baseline,
        value,
        expected,
        actual,
        status,
        achieved_on,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn target(value: f64) -> Target {
        Target {
            metric: Slug::parse("weekly_active_users").unwrap_or_else(|e| panic!("{e}")),
            target: value,
            start: date(2027, 1, 1),
            due: date(2027, 4, 11), // 100 days
            relative: false,
        }
    }

    #[test]
    fn a_relative_target_counts_from_the_baseline() {
        let up = target(50.0).relative().unwrap_or_else(|e| panic!("{e}"));
        // Baseline 40, +50%: the goal is 60; on day 50 at 50 the way made is 0.5.
        assert_eq!(up.goal(Some(40.0)), Some(60.0));
        let p = measure(
            &up,
            Some(40.0),
            Some(50.0),
            date(2027, 2, 20),
            None,
            StatusRule::default(),
        );
        assert_eq!((p.actual, p.status), (Some(0.5), ObjectiveStatus::OnTrack));
        let down = target(-25.0).relative().unwrap_or_else(|e| panic!("{e}"));
        let p = measure(
            &down,
            Some(40.0),
            Some(30.0),
            date(2027, 2, 20),
            None,
            StatusRule::default(),
        );
        assert_eq!(p.status, ObjectiveStatus::Achieved);
        let none = measure(
            &up,
            None,
            Some(50.0),
            date(2027, 2, 20),
            None,
            StatusRule::default(),
        );
        assert_eq!(none.status, ObjectiveStatus::NoData);
        assert!(target(-100.0).relative().is_err());
    }

    #[test]
    fn status_follows_the_trajectory_against_the_time_gone() {
        let rule = StatusRule::default();
        let t = target(60.0);
        // Day 50 of 100: expected 0.5. Baseline 10, target 60: each unit is 1/50.
        let on = measure(&t, Some(10.0), Some(32.0), date(2027, 2, 20), None, rule);
        assert_eq!(on.expected, 0.5);
        assert_eq!(on.actual, Some(0.44));
        assert_eq!(on.status, ObjectiveStatus::OnTrack); // 0.44 >= 0.40
        let risk = measure(&t, Some(10.0), Some(25.0), date(2027, 2, 20), None, rule);
        assert_eq!(risk.actual, Some(0.3));
        assert_eq!(risk.status, ObjectiveStatus::AtRisk); // 0.30 >= 0.25
        let off = measure(&t, Some(10.0), Some(22.0), date(2027, 2, 20), None, rule);
        assert_eq!(off.status, ObjectiveStatus::OffTrack); // 0.24 < 0.25
        // Falling below the baseline shows 0, not a negative share.
        let fallen = measure(&t, Some(10.0), Some(5.0), date(2027, 2, 20), None, rule);
        assert_eq!(fallen.actual, Some(0.0));
        assert_eq!(fallen.status, ObjectiveStatus::OffTrack);
    }

    #[test]
    fn a_target_below_the_baseline_means_falling() {
        let t = target(2.0); // e.g. open tickets from 10 down to 2
        let day = date(2027, 1, 26); // day 25: expected 0.25
        let p = measure(&t, Some(10.0), Some(8.0), day, None, StatusRule::default());
        assert_eq!(p.actual, Some(0.25));
        assert_eq!(p.status, ObjectiveStatus::OnTrack);
        let reached = measure(&t, Some(10.0), Some(2.0), day, None, StatusRule::default());
        assert_eq!(reached.status, ObjectiveStatus::Achieved);
    }

    #[test]
    fn achieved_early_stays_achieved_missed_after_the_due_date_no_data_without_values() {
        let t = target(60.0);
        let rule = StatusRule::default();
        let early = measure(&t, Some(10.0), Some(61.0), date(2027, 1, 20), None, rule);
        assert_eq!(early.status, ObjectiveStatus::Achieved);
        assert_eq!(early.achieved_on, Some(date(2027, 1, 20)));
        // Later the value drops, after the due date: still achieved on that day.
        let later = measure(
            &t,
            Some(10.0),
            Some(40.0),
            date(2027, 5, 1),
            early.achieved_on,
            rule,
        );
        assert_eq!(later.status, ObjectiveStatus::Achieved);
        let missed = measure(&t, Some(10.0), Some(59.0), date(2027, 4, 12), None, rule);
        assert_eq!(missed.status, ObjectiveStatus::Missed);
        // On the due day itself it is still measured against the trajectory.
        let due = measure(&t, Some(10.0), Some(59.0), date(2027, 4, 11), None, rule);
        assert_eq!(due.expected, 1.0);
        assert_eq!(due.status, ObjectiveStatus::OnTrack); // 0.98 >= 0.90
        let none = measure(&t, None, None, date(2027, 2, 1), None, rule);
        assert_eq!(none.status, ObjectiveStatus::NoData);
        assert_eq!(none.actual, None);
    }

    fn text(raw: &str) -> Text {
        Text::parse(raw).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_milestone_closes_only_through_its_gate() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        let csm = Some(Author::User(UserId::new(1)));
        let customer = Some(Author::Contact(ContactId::new(7)));
        let mut plan = PlanBody::new(text("Onboarding"), crate::language::Language::Ja);
        let add = PlanChange::AddDeliverable {
            title: text("導入計画書"),
            kind: DeliverableKind::Document,
            url: None,
        };
        plan.apply(add, csm, now).unwrap_or_else(|e| panic!("{e}"));
        let bad_gate = PlanChange::AddMilestone {
            title: text("Kickoff"),
            due_on: date(2027, 2, 1),
            gate: vec![9],
        };
        let refused = plan.apply(bad_gate, csm, now);
        assert_eq!(refused.map_err(|e| e.field), Err("gate".to_owned()));
        let milestone = PlanChange::AddMilestone {
            title: text("Kickoff"),
            due_on: date(2027, 2, 1),
            gate: vec![1],
        };
        plan.apply(milestone, csm, now)
            .unwrap_or_else(|e| panic!("{e}"));
        let close = PlanChange::CloseMilestone { milestone: 1 };
        let early = plan.apply(close.clone(), customer, now);
        assert_eq!(early.map_err(|e| e.field), Err("milestone".to_owned()));
        plan.apply(PlanChange::Deliver { deliverable: 1 }, csm, now)
            .unwrap_or_else(|e| panic!("{e}"));
        let accept_by_csm = PlanChange::Decide {
            deliverable: 1,
            accept: true,
            remark: None,
        };
        assert!(plan.apply(accept_by_csm.clone(), csm, now).is_err());
        let events = plan
            .apply(accept_by_csm, customer, now)
            .unwrap_or_else(|e| panic!("{e}"));
        let kinds: Vec<PlanEventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                PlanEventKind::DeliverableAccepted,
                PlanEventKind::MilestoneClosed
            ]
        );
        assert_eq!(plan.milestones[0].closed_by, customer);
        // A customer cannot add to the plan or write internal notes.
        let internal = PlanChange::Comment {
            text: text("secret"),
            internal: true,
        };
        assert!(plan.apply(internal, customer, now).is_err());
        let add_raid = PlanChange::AddRaid {
            kind: RaidKind::Risk,
            title: text("x"),
            owner: None,
            due_on: None,
            severity: Severity::Low,
            internal: false,
        };
        assert!(plan.apply(add_raid, customer, now).is_err());
    }
}
