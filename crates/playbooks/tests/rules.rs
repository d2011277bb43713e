//! Every trigger type on a virtual clock, against a real SQLite store and real usage
//! rollups: it fires when it should, once (the cooldown), and not when it should not.
//! Plus holdout, conditions, phase gates, waits and versions.

use jiff::civil::{Date, date};
use mikawaya_domain::access::Role;
use mikawaya_domain::account::{AccountPatch, NewAccount, TouchTier};
use mikawaya_domain::contact::{ContactPatch, ContactRole, NewContact};
use mikawaya_domain::user::NewUser;
use mikawaya_domain::value::{Email, ExternalId, Name, Slug, Text};
use mikawaya_domain::work::{
    MessageStatus, NewSurveyResponse, RunStatus, SurveyKind, TaskPatch, TaskStatus,
};
use mikawaya_domain::{AccountId, Actor, Patch, UserId};
use mikawaya_playbooks::{Clock, Report, Settings, evaluate};
use mikawaya_store::sqlite::SqliteStore;
use mikawaya_store::work::{RunFilter, TaskFilter};
use mikawaya_store::{PageRequest, Store};
use mikawaya_usage::rollup::Rollups;

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct World {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    csm: UserId,
}

impl World {
    fn new() -> Result<World, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = SqliteStore::open_dir(dir.path())?;
        let admin = Actor::system().admin()?;
        let csm = store.create_user(
            &admin,
            NewUser::new(
                Email::parse("aoi@cs.example")?,
                Name::parse("Aoi")?,
                Role::Csm,
                None,
            )?,
            None,
        )?;
        Ok(World {
            _dir: dir,
            store,
            csm: csm.id,
        })
    }

    fn account(
        &self,
        key: &str,
        edit: impl FnOnce(&mut NewAccount),
    ) -> Result<AccountId, Box<dyn std::error::Error>> {
        let mut new = NewAccount::named(Name::parse(&format!("Account {key}"))?);
        new.external_id = Some(ExternalId::parse(key)?);
        new.owner_id = Some(self.csm);
        new.tier = Some(TouchTier::High);
        edit(&mut new);
        Ok(self
            .store
            .create_account(&Actor::system().write()?, new)?
            .id)
    }

    fn contact(
        &self,
        account: AccountId,
        name: &str,
        role: ContactRole,
    ) -> Result<mikawaya_domain::ContactId, Box<dyn std::error::Error>> {
        let contact = self.store.create_contact(
            &Actor::system().write()?,
            NewContact {
                account_id: account,
                external_id: None,
                name: Name::parse(name)?,
                email: Some(Email::parse(&format!(
                    "{}@customer.example",
                    name.to_lowercase()
                ))?),
                role: Some(role),
                title: None,
                personal_success: None,
                sentiment: None,
                influence: None,
            },
        )?;
        Ok(contact.id)
    }

    fn playbook(&self, json: serde_json::Value) -> Result<i64, Box<dyn std::error::Error>> {
        let playbook = mikawaya_playbooks::spec::parse(&json.to_string())?;
        let spec = serde_json::to_string(playbook.spec())?;
        Ok(self
            .store
            .put_playbook(&Actor::system().manage()?, playbook.name().as_str(), &spec)?)
    }

    fn evaluate(
        &self,
        day: Date,
        usage: Option<&Rollups>,
    ) -> Result<Report, Box<dyn std::error::Error>> {
        let usage = usage.map(|r| r as &dyn mikawaya_analytics::metrics::UsageSource);
        Ok(evaluate(
            &self.store,
            &Actor::system().write()?,
            usage,
            Clock::on(day),
            &Settings::default(),
            false,
            None,
        )?)
    }

    fn fired(
        &self,
        day: Date,
        usage: Option<&Rollups>,
    ) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let mut accounts: Vec<String> = self
            .evaluate(day, usage)?
            .fired
            .into_iter()
            .map(|f| f.account_external_id.unwrap_or_default())
            .collect();
        accounts.sort();
        Ok(accounts)
    }
}

fn task_step() -> serde_json::Value {
    serde_json::json!([{"kind": "task", "title": {"en": "Call {{account.name}}", "ja": "{{account.name}}様に電話"}}])
}

fn rollups(events: &[(&str, &str, &str, &str)]) -> Rollups {
    Rollups::of_track_calls(events).unwrap_or_else(|e| panic!("{e}"))
}

fn today() -> Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

fn days(n: i64) -> jiff::Span {
    jiff::Span::new().days(n)
}

#[test]
fn renewal_window_fires_once_per_cooldown_and_not_outside_it() -> TestResult {
    let world = World::new()?;
    let day = date(2026, 6, 1);
    world.account("soon", |a| a.renewal_date = Some(date(2026, 7, 1)))?;
    world.account("later", |a| a.renewal_date = Some(date(2026, 9, 1)))?; // 92 days
    world.account("past", |a| a.renewal_date = Some(date(2026, 5, 31)))?;
    world.playbook(serde_json::json!({"name": "renewal-90", "title": {"en": "Renewal"},
        "trigger": {"kind": "renewal_within", "days": 90}, "cooldown_days": 200, "steps": task_step()}))?;
    assert_eq!(world.fired(day, None)?, ["soon"]);
    assert!(
        world.fired(day, None)?.is_empty(),
        "a second evaluation the same day fires nothing"
    );
    assert_eq!(
        world.fired(day.checked_add(days(2))?, None)?,
        ["later"],
        "92 days out: enters the window two days later"
    );
    assert!(
        world.fired(day.checked_add(days(30))?, None)?.is_empty(),
        "cooldown holds"
    );
    let run = &world
        .store
        .list_runs(&Actor::system().read(), &RunFilter::default())?[0];
    assert_eq!(run.reason, "renewal on 2026-07-01 (30 days)");
    assert_eq!(
        run.reason_ja.as_deref(),
        Some("更新日2026-07-01（あと30日）")
    );
    Ok(())
}

#[test]
fn days_after_start_fires_on_the_day_and_within_a_week_only() -> TestResult {
    let world = World::new()?;
    world.account("new", |a| a.contract_start = Some(date(2026, 6, 1)))?;
    world.account("old", |a| a.contract_start = Some(date(2026, 4, 1)))?;
    world.playbook(serde_json::json!({"name": "day-30", "title": {"en": "Day 30"},
        "trigger": {"kind": "days_after_start", "days": 30}, "cooldown_days": 365, "steps": task_step()}))?;
    assert!(world.fired(date(2026, 6, 30), None)?.is_empty(), "day 29");
    assert_eq!(world.fired(date(2026, 7, 1), None)?, ["new"]);
    assert!(world.fired(date(2026, 7, 2), None)?.is_empty(), "once");
    Ok(())
}

#[test]
fn event_and_event_absence_triggers() -> TestResult {
    let world = World::new()?;
    for key in ["busy", "quiet", "ghost", "invited"] {
        world.account(key, |a| a.contract_start = Some(date(2026, 1, 1)))?;
    }
    let usage = rollups(&[
        ("busy", "u1", "Export", "2026-05-31T10:00:00Z"),
        ("busy", "u1", "Login", "2026-05-30T10:00:00Z"),
        ("quiet", "u2", "Login", "2026-05-01T10:00:00Z"),
        ("ghost", "u3", "Signup", "2026-05-25T10:00:00Z"),
        ("invited", "u4", "Signup", "2026-05-25T10:00:00Z"),
        ("invited", "u4", "Invite", "2026-05-27T10:00:00Z"),
    ]);
    world.playbook(
        serde_json::json!({"name": "exported", "title": {"en": "Exported"},
        "trigger": {"kind": "event", "event": "Export"}, "steps": task_step()}),
    )?;
    world.playbook(serde_json::json!({"name": "no-login", "title": {"en": "No login"},
        "trigger": {"kind": "event_absent", "event": "Login", "days": 14}, "conditions": {"plans": []}, "steps": task_step()}))?;
    world.playbook(serde_json::json!({"name": "no-invite", "title": {"en": "No invite"},
        "trigger": {"kind": "event_absent", "event": "Invite", "days": 7, "after": "Signup"}, "steps": task_step()}))?;
    // June 1st: Export yesterday (busy); no Login for 14 days (quiet, ghost, invited);
    // Signup on May 25 is only 7 days old on June 1st → its deadline is today.
    let report = world.evaluate(date(2026, 6, 1), Some(&usage))?;
    let mut fired: Vec<(String, String)> = report
        .fired
        .iter()
        .map(|f| {
            (
                f.playbook.clone(),
                f.account_external_id.clone().unwrap_or_default(),
            )
        })
        .collect();
    fired.sort();
    let expected: Vec<(String, String)> = [
        ("exported", "busy"),
        ("no-invite", "ghost"),
        ("no-login", "ghost"),
        ("no-login", "invited"),
        ("no-login", "quiet"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(fired, expected);
    // The day after: Export was two days ago; nothing new (and nothing twice).
    assert!(world.fired(date(2026, 6, 2), Some(&usage))?.is_empty());
    Ok(())
}

#[test]
fn metric_and_health_triggers() -> TestResult {
    let world = World::new()?;
    world.account("grow", |_| {})?;
    world.account("fall", |_| {})?;
    world.store.put_metric(
        &Actor::system().manage()?,
        "logins",
        r#"{"name":"logins","kind":"count","event":"Login","window_days":7}"#,
    )?;
    let mut events = Vec::new();
    let stamps: Vec<String> = (1..=14)
        .map(|d| format!("2026-05-{d:02}T09:00:00Z"))
        .collect();
    for (index, stamp) in stamps.iter().enumerate() {
        // grow: 1 login a day in the first week, 3 a day in the second.
        let grow = if index < 7 { 1 } else { 3 };
        for _ in 0..grow {
            events.push(("grow", "g", "Login", stamp.as_str()));
        }
        // fall: 4 a day in the first week, 1 a day in the second.
        let fall = if index < 7 { 4 } else { 1 };
        for _ in 0..fall {
            events.push(("fall", "f", "Login", stamp.as_str()));
        }
    }
    let usage = rollups(&events);
    // As of May 15 (window May 8-14): grow 21, fall 7. A week before: grow 7, fall 28.
    world.playbook(serde_json::json!({"name": "low", "title": {"en": "Low"},
        "trigger": {"kind": "metric_below", "metric": "logins", "threshold": 10}, "steps": task_step()}))?;
    world.playbook(serde_json::json!({"name": "high", "title": {"en": "High"},
        "trigger": {"kind": "metric_above", "metric": "logins", "threshold": 20}, "steps": task_step()}))?;
    world.playbook(serde_json::json!({"name": "drop", "title": {"en": "Drop"},
        "trigger": {"kind": "metric_drop", "metric": "logins", "percent": 75, "days": 7}, "steps": task_step()}))?;
    world.playbook(serde_json::json!({"name": "drop-more", "title": {"en": "Drop more"},
        "trigger": {"kind": "metric_drop", "metric": "logins", "percent": 76, "days": 7}, "steps": task_step()}))?;
    let report = world.evaluate(date(2026, 5, 15), Some(&usage))?;
    let mut fired: Vec<String> = report
        .fired
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f.playbook,
                f.account_external_id.clone().unwrap_or_default()
            )
        })
        .collect();
    fired.sort();
    // fall fell from 28 to 7: exactly 75%, which meets 75 and not 76.
    assert_eq!(fired, ["drop:fall", "high:grow", "low:fall"]);
    let reason = report
        .fired
        .iter()
        .find(|f| f.playbook == "drop")
        .map(|f| f.reason.clone());
    assert_eq!(
        reason.as_deref(),
        Some("logins fell from 28.00 to 7.00 in 7 days")
    );
    // Without usage data nothing metric-based can fire.
    let other = World::new()?;
    other.account("grow", |_| {})?;
    other.playbook(
        serde_json::json!({"name": "health", "title": {"en": "Health"},
        "trigger": {"kind": "health_below", "threshold": 100}, "steps": task_step()}),
    )?;
    assert!(other.fired(date(2026, 5, 15), None)?.is_empty());
    assert_eq!(
        other.fired(date(2026, 5, 15), Some(&usage))?,
        ["grow"],
        "a health score exists with usage"
    );
    Ok(())
}

#[test]
fn stage_field_and_survey_triggers() -> TestResult {
    let world = World::new()?;
    let write = Actor::system().write()?;
    let moved = world.account("moved", |a| {
        a.stage = Some(Slug::parse("onboarding").unwrap_or_else(|e| panic!("{e}")))
    })?;
    world.account("born-there", |a| {
        a.stage = Some(Slug::parse("adoption").unwrap_or_else(|e| panic!("{e}")))
    })?;
    let lost = world.account("lost", |_| {})?;
    let kept = world.account("kept", |_| {})?;
    let champion = world.contact(lost, "Haruka", ContactRole::Champion)?;
    let other = world.contact(kept, "Ren", ContactRole::EndUser)?;
    world.playbook(
        serde_json::json!({"name": "adoption", "title": {"en": "Adoption"},
        "trigger": {"kind": "stage_entered", "stage": "adoption"}, "steps": task_step()}),
    )?;
    world.playbook(
        serde_json::json!({"name": "champion-left", "title": {"en": "Champion left"},
        "trigger": {"kind": "field_changed", "field": "champion"}, "steps": task_step()}),
    )?;
    world.playbook(serde_json::json!({"name": "detractor", "title": {"en": "Detractor"},
        "trigger": {"kind": "survey_answer", "survey": "nps", "max_score": 6}, "steps": task_step()}))?;
    let day = today();
    assert!(world.fired(day, None)?.is_empty(), "nothing changed yet");

    let patch = AccountPatch {
        stage: Patch::Set(Slug::parse("adoption")?),
        ..AccountPatch::default()
    };
    world.store.update_account(&write, moved, patch)?;
    world.store.delete_contact(&write, champion)?;
    world.store.update_contact(
        &write,
        other,
        ContactPatch {
            role: Patch::Set(ContactRole::Champion),
            ..ContactPatch::default()
        },
    )?;
    for (account, score) in [(lost, 3), (kept, 9)] {
        world.store.add_survey_response(
            &write,
            NewSurveyResponse {
                account_id: account,
                contact_id: None,
                kind: SurveyKind::Nps,
                score,
                comment: Some(Text::parse("使いにくい")?),
                answered_at: jiff::Timestamp::now(),
            },
        )?;
    }
    let report = world.evaluate(day, None)?;
    let mut fired: Vec<String> = report
        .fired
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f.playbook,
                f.account_external_id.clone().unwrap_or_default()
            )
        })
        .collect();
    fired.sort();
    assert_eq!(
        fired,
        ["adoption:moved", "champion-left:lost", "detractor:lost"]
    );
    // Seen from a day before the change, nothing had happened yet.
    let yesterday = day.yesterday()?;
    assert!(world.fired(yesterday, None)?.is_empty());
    // And from 8 days later the changes are out of the 7-day look-back.
    assert!(world.fired(day.checked_add(days(8))?, None)?.is_empty());
    Ok(())
}

#[test]
fn conditions_holdout_tasks_and_messages() -> TestResult {
    let world = World::new()?;
    let mut ids = Vec::new();
    for index in 0..40 {
        let tier = if index % 4 == 0 {
            TouchTier::Tech
        } else {
            TouchTier::High
        };
        let id = world.account(&format!("a{index:02}"), |a| {
            a.renewal_date = Some(date(2026, 7, 1));
            a.tier = Some(tier);
        })?;
        world.contact(id, &format!("Champion{index:02}"), ContactRole::Champion)?;
        world.contact(id, &format!("User{index:02}"), ContactRole::EndUser)?;
        ids.push((id, tier));
    }
    world.playbook(serde_json::json!({"name": "renewal", "title": {"en": "Renewal", "ja": "更新"},
        "trigger": {"kind": "renewal_within", "days": 90}, "conditions": {"tiers": ["high"]},
        "holdout_percent": 25,
        "steps": [
            {"kind": "task", "title": {"en": "Review with {{account.name}}"}, "priority": "high", "due_days": 14},
            {"kind": "email", "to": "champion", "subject": {"en": "Renewal on {{account.renewal_date}}"}, "body": {"en": "Dear {{contact.name}}"}}
        ]}))?;
    let report = world.evaluate(date(2026, 6, 1), None)?;
    assert_eq!(report.fired.len(), 30, "only high-touch accounts");
    let held: Vec<_> = report.fired.iter().filter(|f| f.holdout).collect();
    assert!(
        !held.is_empty() && held.len() < 15,
        "about a quarter held out, got {}",
        held.len()
    );
    let treated = 30 - held.len();
    assert_eq!(report.tasks.len(), treated);
    assert_eq!(
        report.messages.len(),
        treated,
        "one email per treated account's champion"
    );
    let page = world.store.list_tasks(
        &Actor::system().read(),
        &TaskFilter {
            owner_id: Some(world.csm),
            ..TaskFilter::default()
        },
        &PageRequest::first(1000),
    )?;
    assert_eq!(page.data.len(), treated);
    assert!(
        page.data.iter().all(|t| t.due_on == date(2026, 6, 15)
            && t.title.as_str().starts_with("Review with Account a"))
    );
    let messages = world.store.list_messages(&Actor::system().admin()?, None)?;
    assert_eq!(messages.len(), treated);
    assert!(messages.iter().all(|m| m.recipient.starts_with("champion")
        && m.subject.as_deref() == Some("Renewal on 2026-07-01")));
    assert!(messages.iter().all(|m| m.body.starts_with("Dear Champion")));
    // Held-out accounts got nothing.
    for firing in held {
        let tasks = world.store.list_tasks(
            &Actor::system().read(),
            &TaskFilter {
                account_id: Some(firing.account_id),
                ..TaskFilter::default()
            },
            &PageRequest::first(10),
        )?;
        assert!(tasks.data.is_empty());
    }
    // The same draw on a rerun (a fresh store with the same data).
    assert!(
        mikawaya_playbooks::engine::held_out("renewal", ids[1].0, date(2026, 6, 1), 25)
            == report
                .fired
                .iter()
                .any(|f| f.account_id == ids[1].0 && f.holdout)
    );
    Ok(())
}

#[test]
fn frequency_cap_and_unsubscribe_suppress_emails() -> TestResult {
    let world = World::new()?;
    let id = world.account("capped", |a| a.renewal_date = Some(date(2026, 7, 1)))?;
    world.contact(id, "Mio", ContactRole::Champion)?;
    let gone = world.account("gone", |a| a.renewal_date = Some(date(2026, 7, 1)))?;
    world.contact(gone, "Sora", ContactRole::Champion)?;
    world
        .store
        .unsubscribe(&Actor::system().write()?, "SORA@customer.example")?;
    let email = serde_json::json!({"kind": "email", "to": "champion", "subject": {"en": "Hi"}, "body": {"en": "Hello"}});
    world.playbook(
        serde_json::json!({"name": "chatty", "title": {"en": "Chatty"},
        "trigger": {"kind": "renewal_within", "days": 90},
        "steps": [email.clone(), email.clone(), email.clone(), email]}),
    )?;
    let report = world.evaluate(date(2026, 6, 1), None)?;
    let statuses: Vec<(String, MessageStatus, Option<String>)> = report
        .messages
        .iter()
        .map(|m| (m.recipient.clone(), m.status, m.reason.clone()))
        .collect();
    let capped: Vec<_> = statuses
        .iter()
        .filter(|(r, _, _)| r == "mio@customer.example")
        .collect();
    assert_eq!(
        capped
            .iter()
            .filter(|(_, s, _)| *s == MessageStatus::Pending)
            .count(),
        3
    );
    assert_eq!(
        capped
            .iter()
            .filter(|(_, s, _)| *s == MessageStatus::Suppressed)
            .count(),
        1
    );
    assert!(
        statuses
            .iter()
            .filter(|(r, _, _)| r == "sora@customer.example")
            .all(|(_, s, reason)| *s == MessageStatus::Suppressed
                && reason.as_deref() == Some("unsubscribed"))
    );
    Ok(())
}

#[test]
fn waits_phase_gates_and_versions() -> TestResult {
    let world = World::new()?;
    let write = Actor::system().write()?;
    world.account("new", |a| a.contract_start = Some(date(2026, 6, 1)))?;
    let spec = |title: &str| {
        serde_json::json!({"name": "onboarding", "title": {"en": "Onboarding"},
        "trigger": {"kind": "days_after_start", "days": 0}, "cooldown_days": 365,
        "steps": [
            {"kind": "task", "phase": "kickoff", "title": {"en": title}, "deliverable": "success-plan"},
            {"kind": "wait", "phase": "adoption", "days": 14},
            {"kind": "task", "phase": "adoption", "title": {"en": "Check first value"}},
            {"kind": "move_stage", "phase": "adoption", "stage": "adoption"}
        ]})
    };
    assert_eq!(world.playbook(spec("Write the success plan"))?, 1);
    assert_eq!(
        world.playbook(spec("Write the success plan"))?,
        1,
        "same spec, same version"
    );
    world.fired(date(2026, 6, 1), None)?;
    // A new version while the run is under way: the run keeps v1.
    assert_eq!(world.playbook(spec("Write the plan (v2)"))?, 2);
    let read = Actor::system().read();
    let run = world
        .store
        .list_runs(&read, &RunFilter::default())?
        .remove(0);
    assert_eq!(
        (run.version, run.status, run.cursor),
        (1, RunStatus::Active, 1),
        "waiting at the kickoff gate"
    );
    // The gate holds while the deliverable is open, whatever the date.
    world.evaluate(date(2026, 6, 20), None)?;
    let run = world
        .store
        .list_runs(&read, &RunFilter::default())?
        .remove(0);
    assert_eq!(run.cursor, 1);
    let task = world
        .store
        .list_tasks(
            &read,
            &TaskFilter {
                run_id: Some(run.id),
                ..TaskFilter::default()
            },
            &PageRequest::first(10),
        )?
        .data
        .remove(0);
    assert_eq!(task.title.as_str(), "Write the success plan");
    let refused = world.store.update_task(
        &write,
        task.id,
        TaskPatch {
            status: Some(TaskStatus::Done),
            ..TaskPatch::default()
        },
    );
    assert!(refused.is_err(), "completing needs an outcome");
    world.store.update_task(
        &write,
        task.id,
        TaskPatch {
            status: Some(TaskStatus::Done),
            outcome: Patch::Set(Text::parse("plan shared")?),
            ..TaskPatch::default()
        },
    )?;
    // Gate open: the wait starts on the day of the next evaluation.
    let report = world.evaluate(date(2026, 6, 21), None)?;
    assert_eq!(report.advanced, 1);
    let run = world
        .store
        .list_runs(&read, &RunFilter::default())?
        .remove(0);
    assert_eq!((run.cursor, run.resume_on), (2, Some(date(2026, 7, 5))));
    assert_eq!(
        world.evaluate(date(2026, 7, 4), None)?.advanced,
        0,
        "still waiting"
    );
    let report = world.evaluate(date(2026, 7, 5), None)?;
    assert_eq!(
        (report.advanced, report.completed, report.field_updates),
        (1, 1, 1)
    );
    let run = world
        .store
        .list_runs(&read, &RunFilter::default())?
        .remove(0);
    assert_eq!(run.status, RunStatus::Completed);
    let account = world.store.all_accounts(&read)?.remove(0);
    assert_eq!(
        account.stage.map(|s| s.to_string()).as_deref(),
        Some("adoption")
    );
    Ok(())
}

#[test]
fn dry_run_writes_nothing() -> TestResult {
    let world = World::new()?;
    world.account("soon", |a| a.renewal_date = Some(date(2026, 7, 1)))?;
    world.playbook(
        serde_json::json!({"name": "renewal", "title": {"en": "Renewal"},
        "trigger": {"kind": "renewal_within", "days": 90}, "steps": task_step()}),
    )?;
    let report = evaluate(
        &world.store,
        &Actor::system().write()?,
        None,
        Clock::on(date(2026, 6, 1)),
        &Settings::default(),
        true,
        None,
    )?;
    assert_eq!((report.fired.len(), report.tasks.len()), (1, 1));
    assert!(
        world
            .store
            .list_runs(&Actor::system().read(), &RunFilter::default())?
            .is_empty()
    );
    assert_eq!(
        world.fired(date(2026, 6, 1), None)?,
        ["soon"],
        "the real run still fires"
    );
    Ok(())
}

#[test]
fn bad_specs_name_the_field() {
    let cases = [
        (
            serde_json::json!({"name": "x", "title": {"en": "X"}, "trigger": {"kind": "renewal_within", "days": 0}, "steps": task_step()}),
            "trigger.days",
        ),
        (
            serde_json::json!({"name": "x", "title": {"en": "X"}, "trigger": {"kind": "teleport"}, "steps": task_step()}),
            "trigger.kind",
        ),
        (
            serde_json::json!({"name": "x", "title": {"en": "X"}, "trigger": {"kind": "renewal_within", "days": 9}, "steps": []}),
            "steps",
        ),
        (
            serde_json::json!({"name": "x", "title": {"en": "X"}, "trigger": {"kind": "renewal_within", "days": 9}, "holdout_percent": 80, "steps": task_step()}),
            "holdout_percent",
        ),
        (
            serde_json::json!({"name": "x", "title": {"en": "X"}, "trigger": {"kind": "renewal_within", "days": 9},
            "steps": [{"kind": "task", "title": {"en": "Hi {{account.password}}"}}]}),
            "steps[0].title.en",
        ),
        (
            serde_json::json!({"name": "x", "title": {"en": "X"}, "trigger": {"kind": "renewal_within", "days": 9},
            "steps": [{"kind": "email", "to": "ceo", "subject": {"en": "s"}, "body": {"en": "b"}}]}),
            "steps[0].to",
        ),
        (
            serde_json::json!({"name": "x", "title": {"en": "X"}, "trigger": {"kind": "renewal_within", "days": 9},
            "steps": [{"kind": "branch", "when": {}, "then": [{"kind": "wait", "days": 3}]}]}),
            "steps[0].then[0].kind",
        ),
        (
            serde_json::json!({"name": "x", "title": {"en": "X"}, "trigger": {"kind": "field_changed", "field": "mood"}, "steps": task_step()}),
            "trigger.field",
        ),
    ];
    for (spec, field) in cases {
        match mikawaya_playbooks::spec::parse(&spec.to_string()) {
            Ok(_) => panic!("accepted {spec}"),
            Err(e) => assert_eq!(e.field, field, "{spec}: {e}"),
        }
    }
}

#[test]
fn renewal_dates_are_read_as_they_stood_on_the_day() -> TestResult {
    use mikawaya_domain::subscription::{NewSubscription, Term};
    use mikawaya_domain::value::Money;
    let world = World::new()?;
    let write = Actor::system().write()?;
    // Renewed on 2026-07-01: the first year's term ends then; the account now shows 2027.
    let renewed = world.account("renewed", |a| a.renewal_date = Some(date(2027, 7, 1)))?;
    // Left on 2026-07-01: its only term ends then; no renewal date any more.
    let churned = world.account("churned", |_| {})?;
    for (account, terms) in [
        (
            renewed,
            vec![
                (date(2025, 7, 1), Some(date(2026, 7, 1))),
                (date(2026, 7, 1), None),
            ],
        ),
        (churned, vec![(date(2025, 7, 1), Some(date(2026, 7, 1)))]),
    ] {
        for (start, end) in terms {
            world.store.create_subscription(
                &write,
                NewSubscription {
                    account_id: account,
                    external_id: None,
                    plan: Slug::parse("pro")?,
                    quantity: 5,
                    mrr: Money::new(500.0)?,
                    term: Term::new(start, end)?,
                },
            )?;
        }
    }
    world.playbook(serde_json::json!({"name": "renewal-90", "title": {"en": "Renewal"},
        "trigger": {"kind": "renewal_within", "days": 90}, "cooldown_days": 200, "steps": task_step()}))?;
    let report = world.evaluate(date(2026, 5, 1), None)?;
    let reasons: Vec<(String, String)> = report
        .fired
        .iter()
        .map(|f| {
            (
                f.account_external_id.clone().unwrap_or_default(),
                f.reason.clone(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "renewed".to_owned(),
                "renewal on 2026-07-01 (61 days)".to_owned()
            ),
            (
                "churned".to_owned(),
                "renewal on 2026-07-01 (61 days)".to_owned()
            ),
        ]
    );
    // After the churn, the churned account no longer pays: nothing fires for it.
    assert!(
        world
            .fired(date(2027, 4, 15), None)?
            .contains(&"renewed".to_owned())
    );
    assert!(
        !world
            .fired(date(2027, 4, 16), None)?
            .contains(&"churned".to_owned())
    );
    Ok(())
}

/// The starter renewal playbooks (120, 90, 60 days) are stages of one series: on the first
/// day only the latest stage due fires; an earlier stage never fires after a later one; a
/// later stage cancels an earlier one's run and closes its open tasks as superseded.
#[test]
fn staged_playbooks_read_as_one_process() -> TestResult {
    let world = World::new()?;
    let day = date(2026, 6, 1);
    let close = world.account("close", |a| a.renewal_date = Some(date(2026, 7, 20)))?; // 49 days
    let far = world.account("far", |a| a.renewal_date = Some(date(2026, 9, 20)))?; // 111 days
    let manage = Actor::system().manage()?;
    for (name, spec) in mikawaya_playbooks::starter::PLAYBOOKS
        .iter()
        .filter(|(name, _)| name.starts_with("renewal-"))
    {
        world.store.put_playbook(&manage, name, spec)?;
    }
    let report = world.evaluate(day, None)?;
    let mut fired: Vec<(String, String)> = report
        .fired
        .iter()
        .map(|f| {
            (
                f.account_external_id.clone().unwrap_or_default(),
                f.playbook.clone(),
            )
        })
        .collect();
    fired.sort();
    assert_eq!(
        fired,
        [
            ("close".to_owned(), "renewal-60".to_owned()),
            ("far".to_owned(), "renewal-120".to_owned())
        ],
        "one stage per account on the first day"
    );
    let read = Actor::system().read();
    let open_tasks = |account: AccountId| -> Result<Vec<String>, Box<dyn std::error::Error>> {
        Ok(world
            .store
            .list_tasks(
                &read,
                &TaskFilter {
                    account_id: Some(account),
                    status: Some(TaskStatus::Open),
                    ..TaskFilter::default()
                },
                &PageRequest::first(50),
            )?
            .data
            .iter()
            .map(|t| t.title.to_string())
            .collect())
    };
    assert_eq!(open_tasks(close)?.len(), 1, "one renewal task, not three");
    // 30 days later "far" is 81 days out: renewal-90 supersedes renewal-120.
    let later = day.checked_add(days(30))?;
    let report = world.evaluate(later, None)?;
    let fired: Vec<(Option<String>, String)> = report
        .fired
        .iter()
        .map(|f| (f.account_external_id.clone(), f.playbook.clone()))
        .collect();
    assert_eq!(
        fired,
        [(Some("far".to_owned()), "renewal-90".to_owned())],
        "earlier stages yield to the 60-day stage on \"close\""
    );
    let runs = world.store.list_runs(
        &read,
        &RunFilter {
            account_id: Some(far),
            ..RunFilter::default()
        },
    )?;
    let status_of = |name: &str| runs.iter().find(|r| r.playbook == name).map(|r| r.status);
    // The 120-day stage waits for its deliverable: cancelled. The 90-day one's task step
    // completes its run at once.
    assert_eq!(status_of("renewal-120"), Some(RunStatus::Cancelled));
    assert_eq!(status_of("renewal-90"), Some(RunStatus::Completed));
    let done = world.store.list_tasks(
        &read,
        &TaskFilter {
            account_id: Some(far),
            status: Some(TaskStatus::Done),
            ..TaskFilter::default()
        },
        &PageRequest::first(50),
    )?;
    assert_eq!(
        done.data
            .iter()
            .map(|t| t.outcome.as_ref().map(ToString::to_string))
            .collect::<Vec<_>>(),
        [Some("Superseded by renewal-90".to_owned())]
    );
    assert_eq!(
        open_tasks(far)?.len(),
        1,
        "only the 90-day stage's task is open"
    );
    // The earlier stage does not fire again while the later one is within its cooldown.
    assert!(
        world
            .evaluate(later.checked_add(days(1))?, None)?
            .fired
            .is_empty()
    );
    Ok(())
}

#[test]
fn success_plan_events_trigger_playbooks() -> TestResult {
    use mikawaya_domain::language::Language;
    use mikawaya_domain::plan::{Author, DeliverableKind, PlanBody, PlanChange};
    use mikawaya_store::plans::{PlanEdit, ProgressRow};
    let world = World::new()?;
    let write = Actor::system().write()?;
    let rejected = world.account("rejected", |_| {})?;
    let behind = world.account("behind", |_| {})?;
    let calm = world.account("calm", |_| {})?;
    let contact = world.contact(rejected, "Aoi", ContactRole::Champion)?;
    for (name, event) in [
        ("sent-back", "deliverable_rejected"),
        ("off-track", "objective_off_track"),
        ("late", "milestone_overdue"),
    ] {
        world.playbook(serde_json::json!({"name": name, "title": {"en": name},
            "trigger": {"kind": "plan_event", "event": event}, "steps": task_step()}))?;
    }
    let now = jiff::Timestamp::now();
    let mut ids = Vec::new();
    for account in [rejected, behind, calm] {
        let mut body = PlanBody::new(Text::parse("Plan")?, Language::En);
        let mut events = body.apply(
            PlanChange::AddDeliverable {
                title: Text::parse("Project plan")?,
                kind: DeliverableKind::Document,
                url: None,
            },
            None,
            now,
        )?;
        events.extend(body.apply(PlanChange::Deliver { deliverable: 1 }, None, now)?);
        let edit = PlanEdit {
            body: &body,
            events: &events,
            author: None,
            at: now,
        };
        ids.push(world.store.create_plan(&write, account, edit)?);
    }
    // The customer sends the deliverable back on one plan.
    let mut sent_back = ids[0].body.clone();
    let who = Some(Author::Contact(contact));
    let events = sent_back.apply(
        PlanChange::Decide {
            deliverable: 1,
            accept: false,
            remark: Some(Text::parse("missing our numbers")?),
        },
        who,
        now,
    )?;
    let edit = PlanEdit {
        body: &sent_back,
        events: &events,
        author: who,
        at: now,
    };
    world
        .store
        .save_plan(&write, ids[0].id, ids[0].version, edit)?;
    // An objective falls behind on another (the daily measurement's event).
    let progress = ProgressRow {
        plan_id: ids[1].id,
        objective: 1,
        progress: mikawaya_domain::plan::Progress {
            day: today(),
            baseline: Some(1.0),
            value: Some(1.0),
            expected: 0.6,
            actual: Some(0.0),
            status: mikawaya_domain::plan::ObjectiveStatus::OffTrack,
            achieved_on: None,
        },
    };
    world
        .store
        .put_plan_progress(&Actor::system().manage()?, &[progress], &[], now)?;
    let report = world.evaluate(today(), None)?;
    let mut fired: Vec<String> = report
        .fired
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f.playbook,
                f.account_external_id.clone().unwrap_or_default()
            )
        })
        .collect();
    fired.sort();
    assert_eq!(fired, ["off-track:behind", "sent-back:rejected"]);
    assert!(
        report
            .fired
            .iter()
            .any(|f| f.reason.contains("sent a deliverable back")),
        "the reason says what happened"
    );
    // Eight days later the events are out of the 7-day look-back.
    assert!(world.fired(today().checked_add(days(8))?, None)?.is_empty());
    Ok(())
}

#[test]
fn a_step_starts_a_success_plan_from_a_template_once() -> TestResult {
    let world = World::new()?;
    let fresh = world.account("fresh", |a| {
        a.contract_start = Some(today());
    })?;
    world.playbook(
        serde_json::json!({"name": "kickoff", "title": {"en": "Kickoff"},
        "trigger": {"kind": "days_after_start", "days": 0},
        "steps": [{"kind": "plan", "template": "onboarding", "language": "ja"}]}),
    )?;
    let report = world.evaluate(today(), None)?;
    assert_eq!(report.plans_started, 1);
    let plans = world.store.list_plans(
        &Actor::system().read(),
        &mikawaya_store::plans::PlanFilter {
            account_id: Some(fresh),
            ..Default::default()
        },
    )?;
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].body.title.as_str(), "導入から初回の価値実現まで");
    assert_eq!(plans[0].body.milestones.len(), 3);
    // Another playbook with the same step does not start a second plan from the template.
    world.playbook(
        serde_json::json!({"name": "kickoff-again", "title": {"en": "Again"},
        "trigger": {"kind": "days_after_start", "days": 0},
        "steps": [{"kind": "plan", "template": "onboarding"}]}),
    )?;
    let again = world.evaluate(today(), None)?;
    assert_eq!((again.fired.len(), again.plans_started), (1, 0));
    // A bad step names the field.
    let refused = mikawaya_playbooks::spec::parse(
        &serde_json::json!({"name": "x", "title": {"en": "x"},
            "trigger": {"kind": "days_after_start", "days": 0},
            "steps": [{"kind": "plan", "template": "onboarding", "language": "fr"}]})
        .to_string(),
    );
    assert_eq!(
        refused.map(|_| ()).map_err(|e| e.field),
        Err("steps[0].language".to_owned())
    );
    Ok(())
}

#[test]
fn survey_steps_send_signed_links_skip_the_resting_and_unsubscribed_and_friction_holds_delight()
-> TestResult {
    let world = World::new()?;
    let manage = Actor::system().manage()?;
    let write = Actor::system().write()?;
    let nps = mikawaya_playbooks::surveys::standard(SurveyKind::Nps);
    world.store.put_survey(
        &manage,
        "nps",
        SurveyKind::Nps,
        &serde_json::to_string(&nps)?,
        true,
    )?;
    world.store.put_meta("secret", "a secret for the links")?;
    let start = today().checked_sub(days(182))?;
    let a = world.account("a", |n| n.contract_start = Some(start))?;
    let b = world.account("b", |n| n.contract_start = Some(start))?;
    world.contact(a, "Hana", ContactRole::Champion)?;
    world.contact(a, "Ken", ContactRole::EndUser)?;
    world.contact(b, "Mia", ContactRole::Champion)?;
    world.store.unsubscribe(&write, "ken@customer.example")?;
    world.playbook(
        serde_json::json!({"name": "relationship-nps", "title": {"en": "NPS"},
        "trigger": {"kind": "every", "days": 182}, "cooldown_days": 150,
        "steps": [{"kind": "survey", "survey": "nps", "to": "all"}]}),
    )?;
    // A delight playbook held back where there is open friction (b's complaint).
    world.store.add_feedback(
        &write,
        &[mikawaya_domain::voice::NewFeedbackItem {
            account_id: b,
            contact_id: None,
            source: mikawaya_domain::voice::FeedbackSource::Api,
            source_key: None,
            text: Text::parse("The dashboard is broken again")?,
            created_at: None,
        }],
    )?;
    world.playbook(
        serde_json::json!({"name": "ask-for-a-review", "title": {"en": "Ask for a review"},
        "trigger": {"kind": "every", "days": 182}, "conditions": {"no_open_friction": true},
        "cooldown_days": 150, "steps": task_step()}),
    )?;

    let report = world.evaluate(today(), None)?;
    let mut fired: Vec<(String, String)> = report
        .fired
        .iter()
        .map(|f| {
            (
                f.playbook.clone(),
                f.account_external_id.clone().unwrap_or_default(),
            )
        })
        .collect();
    fired.sort();
    assert_eq!(
        fired,
        vec![
            ("ask-for-a-review".to_owned(), "a".to_owned()),
            ("relationship-nps".to_owned(), "a".to_owned()),
            ("relationship-nps".to_owned(), "b".to_owned())
        ]
    );
    // Hana and Mia get a link; Ken (unsubscribed) is never surveyed.
    let read = Actor::system().read();
    let sends = world
        .store
        .survey_sends(&read, jiff::Timestamp::UNIX_EPOCH)?;
    assert_eq!(sends.len(), 2, "{sends:?}");
    let messages = world.store.list_messages(&Actor::system().admin()?, None)?;
    let mut to: Vec<&str> = messages.iter().map(|m| m.recipient.as_str()).collect();
    to.sort();
    assert_eq!(to, vec!["hana@customer.example", "mia@customer.example"]);
    // The emailed link opens its send: the token is signed, only its hash is stored.
    let body = &messages[0].body;
    let token = body
        .split("/s/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default();
    assert!(token.starts_with("sv_"), "{body}");
    let hash = mikawaya_playbooks::surveys::token_hash(token);
    assert!(
        world
            .store
            .open_send(&hash, jiff::Timestamp::now())?
            .is_some()
    );
    assert!(
        world
            .store
            .open_send(token, jiff::Timestamp::now())?
            .is_none()
    );
    // A second relationship playbook a week later finds everyone resting.
    world.playbook(
        serde_json::json!({"name": "second-nps", "title": {"en": "NPS again"},
        "trigger": {"kind": "every", "days": 182}, "cooldown_days": 150,
        "steps": [{"kind": "survey", "survey": "nps", "to": "all"}]}),
    )?;
    world.evaluate(today().checked_add(days(3))?, None)?;
    assert_eq!(
        world
            .store
            .survey_sends(&read, jiff::Timestamp::UNIX_EPOCH)?
            .len(),
        2
    );
    // Sampling is stable and roughly the share asked for.
    let drawn = (0..1000)
        .filter(|i| {
            mikawaya_playbooks::surveys::drawn(
                "p",
                mikawaya_domain::ContactId::new(*i),
                today(),
                30,
            )
        })
        .count();
    assert!((240..=360).contains(&drawn), "{drawn}");
    Ok(())
}
