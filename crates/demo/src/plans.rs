//! The demo's success plans, driven by each account's hidden value received: high-touch
//! accounts run the onboarding template, low-touch ones the renewal template, in the
//! company's language. Where the customer gets value, deliverables are accepted soon after
//! they are handed over and milestones close; where it does not, deliverables are sent
//! back or wait, milestones run late, issues are logged and the CSM writes internal notes.
//! The objectives are measured from the product usage by the daily run, so the accounts
//! that use the product less are the ones off track.

use crate::DemoError;
use crate::simulate::{DemoOptions, Locale};
use jiff::civil::Date;
use mikawaya_domain::account::{Account, TouchTier};
use mikawaya_domain::contact::{Contact, ContactRole};
use mikawaya_domain::language::Language;
use mikawaya_domain::plan::{Author, PersonalStatus, PlanChange, RaidKind, Severity};
use mikawaya_domain::value::Text;
use mikawaya_domain::{Actor, WriteAccess};
use mikawaya_playbooks::plan_templates::{PlanTemplate, starters};
use mikawaya_store::Store;
use mikawaya_store::plans::PlanEdit;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use std::collections::BTreeMap;

/// At most this many plans on high-touch and on low-touch accounts (a demo of 100,000
/// accounts stays quick to make).
const MAX_HIGH: usize = 300;
const MAX_LOW: usize = 200;
/// Plans of accounts that churned since they began.
const MAX_LOST: usize = 60;

fn text(raw: &str) -> Text {
    // The texts below are fixed and valid; an empty fallback cannot happen.
    Text::parse(raw).unwrap_or_else(|_| unreachable_text())
}

fn unreachable_text() -> Text {
    panic!("a demo plan text is invalid")
}

fn at(day: Date, hour: i8) -> jiff::Timestamp {
    day.at(hour, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_or(jiff::Timestamp::UNIX_EPOCH, |z| z.timestamp())
}

fn days(day: Date, n: i64) -> Date {
    day.checked_add(jiff::Span::new().days(n)).unwrap_or(day)
}

/// One plan's history as it is written: each change at its time.
struct Writer<'a> {
    store: &'a dyn Store,
    write: &'a WriteAccess,
    plan: mikawaya_domain::plan::SuccessPlan,
}

impl Writer<'_> {
    fn change(
        &mut self,
        change: PlanChange,
        who: Option<Author>,
        when: jiff::Timestamp,
    ) -> Result<(), DemoError> {
        let mut body = self.plan.body.clone();
        let events = body
            .apply(change, who, when)
            .map_err(mikawaya_store::StoreError::from)?;
        self.plan = self.store.save_plan(
            self.write,
            self.plan.id,
            self.plan.version,
            PlanEdit {
                body: &body,
                events: &events,
                author: who,
                at: when,
            },
        )?;
        Ok(())
    }
}

fn pick<'a>(language: Language, en: &'a str, ja: &'a str) -> &'a str {
    language.pick(en, ja)
}

/// Makes the demo's plans; returns how many.
pub(crate) fn load(
    store: &dyn Store,
    write: &WriteAccess,
    truth: &BTreeMap<String, (f64, bool)>,
    options: &DemoOptions,
) -> Result<u64, DemoError> {
    let read = Actor::system().read();
    let language = if options.locale == Locale::Ja {
        Language::Ja
    } else {
        Language::En
    };
    let templates = starters();
    let accounts = store.all_accounts(&read)?;
    let live = |a: &&Account| {
        a.external_id
            .as_ref()
            .and_then(|e| truth.get(e.as_str()))
            .is_some_and(|(_, churned)| !churned)
    };
    let high: Vec<&Account> = accounts
        .iter()
        .filter(live)
        .filter(|a| a.tier == Some(TouchTier::High))
        .take(MAX_HIGH)
        .collect();
    let low: Vec<&Account> = accounts
        .iter()
        .filter(live)
        .filter(|a| a.tier == Some(TouchTier::Low))
        .step_by(2)
        .take(MAX_LOW)
        .collect();
    // Some accounts that churned in the last five months had a plan too, begun before they
    // left, so the leader's comparison of churn by plan status has both kinds.
    let lost: Vec<(&Account, Date)> = accounts
        .iter()
        .filter(|a| matches!(a.tier, Some(TouchTier::High | TouchTier::Low)))
        .filter(|a| !live(a))
        .filter_map(|a| {
            let churned_on = a.contract_end?;
            let recent =
                churned_on >= days(options.as_of, -150) && churned_on <= days(options.as_of, -10);
            let long_enough = a.contract_start.is_some_and(|s| s <= days(churned_on, -60));
            (recent && long_enough).then_some((a, churned_on))
        })
        .take(MAX_LOST)
        .collect();
    let mut made = 0;
    for (account, template, start) in high
        .into_iter()
        .map(|a| (a, "onboarding", None))
        .chain(low.into_iter().map(|a| (a, "renewal", None)))
        .chain(lost.into_iter().map(|(a, churned_on)| {
            let start = a
                .contract_start
                .map_or(days(churned_on, -120), |s| s.max(days(churned_on, -120)))
                .min(days(churned_on, -30));
            (a, "onboarding", Some(start))
        }))
    {
        let Some(template) = templates.iter().find(|t| t.name == template) else {
            continue;
        };
        let value = account
            .external_id
            .as_ref()
            .and_then(|e| truth.get(e.as_str()))
            .map_or(0.5, |(v, _)| *v);
        let seed = options.seed
            ^ account
                .id
                .get()
                .unsigned_abs()
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        plan_for(
            store,
            write,
            account,
            template,
            start,
            value,
            language,
            options.as_of,
            &mut rng,
        )?;
        made += 1;
    }
    Ok(made)
}

#[allow(clippy::too_many_arguments)]
fn plan_for(
    store: &dyn Store,
    write: &WriteAccess,
    account: &Account,
    template: &PlanTemplate,
    start: Option<Date>,
    value: f64,
    language: Language,
    as_of: Date,
    rng: &mut ChaCha8Rng,
) -> Result<(), DemoError> {
    let read = Actor::system().read();
    // Onboarding starts with the contract (at most 160 days back, so some accounts are
    // still on their way); the renewal plan starts 45 days before today.
    let start = start.unwrap_or_else(|| match template.name.as_str() {
        "onboarding" => {
            let earliest = days(as_of, -160);
            account
                .contract_start
                .map_or(earliest, |s| s.max(earliest))
                .min(days(as_of, -20))
        }
        _ => days(as_of, -45),
    });
    let (mut body, events) = template
        .instantiate(language, start, start, 0)
        .map_err(mikawaya_store::StoreError::from)?;
    let contacts: Vec<Contact> = mikawaya_store::all_pages(|page| {
        store.list_contacts(
            &read,
            &mikawaya_store::ContactFilter {
                account_id: Some(account.id),
                ..Default::default()
            },
            page,
        )
    })?;
    let with_role = |roles: &[ContactRole]| {
        contacts
            .iter()
            .find(|c| c.role.is_some_and(|r| roles.contains(&r)))
    };
    let champion = with_role(&[ContactRole::Champion, ContactRole::Admin]).or(contacts.first());
    let decider = with_role(&[ContactRole::DecisionMaker, ContactRole::ExecutiveSponsor]);
    body.owner_id = account.owner_id;
    body.customer_owner_id = champion.map(|c| c.id);
    let created = at(start, 9);
    let plan = store.create_plan(
        write,
        account.id,
        PlanEdit {
            body: &body,
            events: &events,
            author: account.owner_id.map(Author::User),
            at: created,
        },
    )?;
    let csm = account.owner_id.map(Author::User);
    let mut writer = Writer { store, write, plan };
    // Each stakeholder's own success: the decision maker's recognition, the champion's
    // easier week.
    if let Some(decider) = decider {
        writer.change(
            PlanChange::SetPersonal {
                contact_id: decider.id,
                goal: text(pick(
                    language,
                    "Be recognised at the board for a rollout that paid off",
                    "導入の成果が役員会で評価されること",
                )),
                how_we_help: Some(text(pick(
                    language,
                    "A value report with the numbers for the board",
                    "役員会向けの効果レポートを用意する",
                ))),
                status: if value > 0.6 {
                    PersonalStatus::InProgress
                } else {
                    PersonalStatus::NotStarted
                },
            },
            csm,
            at(start, 11),
        )?;
    }
    if let Some(champion) = champion {
        writer.change(
            PlanChange::SetPersonal {
                contact_id: champion.id,
                goal: text(pick(
                    language,
                    "Spend less time on weekly reporting",
                    "週次レポートの作成時間を減らしたい",
                )),
                how_we_help: Some(text(pick(
                    language,
                    "Report templates set up in the admin workshop",
                    "管理者ワークショップでレポートのテンプレートを設定する",
                ))),
                status: if value > 0.5 {
                    PersonalStatus::Achieved
                } else {
                    PersonalStatus::InProgress
                },
            },
            csm,
            at(start, 11),
        )?;
    }
    let customer = champion.map(|c| Author::Contact(c.id));
    // The milestones in order: handed over three days before the due date, then the
    // customer's answer; a milestone not closed holds the next ones.
    let milestones = writer.plan.body.milestones.clone();
    for milestone in milestones {
        if milestone.due_on >= as_of {
            break;
        }
        let handed = days(milestone.due_on, -3);
        for deliverable in &milestone.gate {
            writer.change(
                PlanChange::Deliver {
                    deliverable: *deliverable,
                },
                csm,
                at(handed, 10),
            )?;
        }
        let answered = days(milestone.due_on, rng.random_range(0..4));
        if customer.is_none() || answered >= as_of {
            break;
        }
        if value >= 0.5 {
            for deliverable in &milestone.gate {
                writer.change(
                    PlanChange::Decide {
                        deliverable: *deliverable,
                        accept: true,
                        remark: None,
                    },
                    customer,
                    at(answered, 14),
                )?;
            }
            if rng.random_bool(0.4) {
                writer.change(
                    PlanChange::Comment {
                        text: text(pick(
                            language,
                            "Thank you, this was very useful for the team.",
                            "ありがとうございます。チームにとても役立ちました。",
                        )),
                        internal: false,
                    },
                    customer,
                    at(answered, 15),
                )?;
            }
            continue;
        }
        if value >= 0.3 {
            for deliverable in &milestone.gate {
                writer.change(
                    PlanChange::Decide {
                        deliverable: *deliverable,
                        accept: false,
                        remark: Some(text(pick(
                            language,
                            "It does not show our department's numbers yet.",
                            "当部門の数値がまだ反映されていません。",
                        ))),
                    },
                    customer,
                    at(answered, 14),
                )?;
            }
        }
        writer.change(
            PlanChange::Comment {
                text: text(pick(language, "Slow uptake: the admin has little time. Plan a call with the sponsor.", "活用が進んでいない。管理者の時間が取れていないため、スポンサーとの打ち合わせを設定する。")),
                internal: true,
            },
            csm,
            at(days(answered, 1), 9),
        )?;
        break;
    }
    if value < 0.4 {
        writer.change(
            PlanChange::AddRaid {
                kind: RaidKind::Issue,
                title: text(pick(
                    language,
                    "The customer's admin left the company",
                    "お客様側の管理者が退職した",
                )),
                owner: customer,
                due_on: Some(days(as_of, 14)),
                severity: Severity::High,
                internal: false,
            },
            csm,
            at(days(as_of, -10), 10),
        )?;
        writer.change(
            PlanChange::AddRaid {
                kind: RaidKind::Action,
                title: text(pick(
                    language,
                    "Name a new admin and repeat the admin workshop",
                    "新しい管理者を決め、管理者ワークショップを再実施する",
                )),
                owner: csm,
                due_on: Some(days(as_of, 21)),
                severity: Severity::Medium,
                internal: false,
            },
            csm,
            at(days(as_of, -10), 10),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_follow_the_value_received() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = mikawaya_store::sqlite::SqliteStore::open_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"));
        let company = crate::generate(DemoOptions {
            accounts: 120,
            seed: 7,
            locale: Locale::Ja,
            as_of: jiff::civil::date(2026, 6, 1),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let truth = company.truth.clone();
        let summary = crate::load(&store, company, "x", &dir.path().join("truth.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(summary.plans > 10, "{summary:?}");
        let read = Actor::system().read();
        let plans = store
            .list_plans(&read, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let accounts = store.all_accounts(&read).unwrap_or_else(|e| panic!("{e}"));
        let value_of = |plan: &mikawaya_domain::plan::SuccessPlan| {
            accounts
                .iter()
                .find(|a| a.id == plan.account_id)
                .and_then(|a| a.external_id.as_ref())
                .and_then(|e| truth.get(e.as_str()))
                .map_or(0.0, |(v, _)| *v)
        };
        let closed = |plan: &mikawaya_domain::plan::SuccessPlan| {
            plan.body
                .milestones
                .iter()
                .filter(|m| m.closed_at.is_some())
                .count()
        };
        // Milestones close where customers get value, and not where they do not.
        let (good, poor): (Vec<_>, Vec<_>) = plans.iter().partition(|p| value_of(p) >= 0.5);
        assert!(good.iter().any(|p| closed(p) > 0));
        assert!(poor.iter().all(|p| closed(p) == 0));
        assert!(
            poor.iter()
                .filter(|p| value_of(p) < 0.4)
                .all(|p| !p.body.raid.is_empty())
        );
        assert!(plans.iter().all(|p| p.body.language == Language::Ja));
    }
}
