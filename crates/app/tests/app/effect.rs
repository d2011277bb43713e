//! The next best action on a hand-made history: one playbook with a known uplift on
//! high-touch accounts, another that does nothing; ranking, interval and counts as
//! computed by hand.

use crate::{TestResult, World, date};
use mikawaya_domain::Actor;
use mikawaya_domain::account::TouchTier;
use mikawaya_domain::work::RunStatus;
use mikawaya_store::Store;
use mikawaya_store::work::{NewRun, WorkflowBatch};

fn playbook(name: &str) -> String {
    format!(
        r#"{{"name": "{name}", "title": {{"en": "{name} title", "ja": "{name}の題"}},
        "trigger": {{"kind": "renewal_within", "days": 30}}, "holdout_percent": 20,
        "outcome": {{"kind": "retained", "days": 30}},
        "steps": [{{"kind": "task", "title": {{"en": "Call", "ja": "電話"}}}}]}}"#
    )
}

#[test]
fn playbooks_are_ranked_by_their_uplift_on_the_accounts_tier() -> TestResult {
    let world = World::new()?;
    let system = Actor::system();
    let write = system.write()?;
    let manage = system.manage()?;
    world
        .store
        .put_playbook(&manage, "call", &playbook("call"))?;
    world
        .store
        .put_playbook(&manage, "mail", &playbook("mail"))?;
    let fired_on = date(2026, 1, 5);
    let mut runs = Vec::new();
    // "call" on high-touch accounts: 10 runs of which 8 retained; 5 held out, 2 retained.
    // "mail" on high-touch accounts: 4 runs, 2 retained; 4 held out, 2 retained (no effect).
    let plan: [(&str, RunStatus, usize, usize); 4] = [
        ("call", RunStatus::Completed, 10, 8),
        ("call", RunStatus::HeldOut, 5, 2),
        ("mail", RunStatus::Completed, 4, 2),
        ("mail", RunStatus::HeldOut, 4, 2),
    ];
    let mut index = 0;
    for (name, status, n, retained) in plan {
        for i in 0..n {
            index += 1;
            let account =
                world.account(&format!("A{index}"), |a| a.tier = Some(TouchTier::High))?;
            // Retained: pays on; churned: stops ten days after the firing (within 30 days).
            let end = (i >= retained).then(|| date(2026, 1, 15));
            world.paying(account, 100.0, date(2025, 1, 1), end)?;
            runs.push(NewRun {
                playbook: name.to_owned(),
                version: 1,
                account_id: account,
                fired_on,
                reason: "renewal".to_owned(),
                reason_ja: None,
                status,
                cursor: 1,
                resume_on: None,
                effects: Default::default(),
            });
        }
    }
    world.store.apply_workflow(
        &write,
        WorkflowBatch {
            new_runs: runs,
            ..WorkflowBatch::default()
        },
    )?;
    let measured = mikawaya_app::effect::measure(&world.store, None, date(2026, 3, 1))?;
    assert_eq!(measured, 2, "one segment for each playbook");
    let target = world.account("TARGET", |a| a.tier = Some(TouchTier::High))?;
    let account = world.store.get_account(&system.read(), target)?;
    let best = mikawaya_app::effect::next_best(&world.store, &system.read(), &account)?;
    // Only "call" has a positive uplift: 0.8 - 0.4 = 0.4, se = √(0.8·0.2/10 + 0.4·0.6/5)
    // = √(0.016 + 0.048) = √0.064 = 0.252982; 95% CI 0.4 ± 0.495845.
    assert_eq!(best.len(), 1, "{best:?}");
    let call = &best[0];
    assert_eq!(
        (call.playbook.as_str(), call.runs, call.held_out),
        ("call", 10, 5)
    );
    assert!((call.uplift - 0.4).abs() < 1e-12, "{}", call.uplift);
    assert!((call.ci95.0 - (0.4 - 1.96 * 0.064f64.sqrt())).abs() < 1e-9);
    assert!((call.ci95.1 - 0.895845).abs() < 1e-6, "{:?}", call.ci95);
    assert_eq!(call.segment, "high");
    assert_eq!(call.title_ja, "callの題");
    // A low-touch account has no measured playbook.
    let other = world.account("LOW", |a| a.tier = Some(TouchTier::Low))?;
    let other = world.store.get_account(&system.read(), other)?;
    assert!(mikawaya_app::effect::next_best(&world.store, &system.read(), &other)?.is_empty());
    Ok(())
}
