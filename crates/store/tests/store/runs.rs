//! Playbook runs: one evaluation's decisions are written together (runs, their tasks and
//! messages), read back within the caller's scope, and a run's status can be changed only
//! on a visible account.

use crate::{DAY, backends, new_task, ok, partner_actor, seed};
use mikawaya_domain::Actor;
use mikawaya_domain::work::RunStatus;
use mikawaya_store::PageRequest;
use mikawaya_store::StoreError;
use mikawaya_store::work::{Effects, NewRun, RunFilter, TaskFilter, WorkflowBatch};

fn run_on(account: mikawaya_domain::AccountId) -> NewRun {
    NewRun {
        playbook: "renewal".to_owned(),
        version: 1,
        account_id: account,
        fired_on: DAY,
        reason: "renewal in 90 days".to_owned(),
        reason_ja: Some("90日以内に更新".to_owned()),
        status: RunStatus::Active,
        cursor: 1,
        resume_on: None,
        effects: Effects {
            tasks: vec![new_task(account)],
            messages: Vec::new(),
            fields: Vec::new(),
            plans: Vec::new(),
            surveys: Vec::new(),
        },
    }
}

#[test]
fn an_evaluations_runs_are_written_together_and_read_in_scope() {
    for backend in backends() {
        let store = backend.store.as_ref();
        let world = seed(store);
        let write = ok(Actor::system().write());
        // A run runs a saved playbook version.
        ok(store.put_playbook(&ok(Actor::system().manage()), "renewal", "{}"));
        let ids = ok(store.apply_workflow(
            &write,
            WorkflowBatch {
                new_runs: vec![run_on(world.a.account), run_on(world.b.account)],
                progress: Vec::new(),
            },
        ));
        assert_eq!(ids.len(), 2, "{}", backend.name);
        // Each run's first task carries its run.
        let tasks = ok(store.list_tasks(
            &Actor::system().read(),
            &TaskFilter {
                run_id: Some(ids[0]),
                ..TaskFilter::default()
            },
            &PageRequest::first(10),
        ));
        assert_eq!(tasks.data.len(), 1, "{}", backend.name);
        let partner = partner_actor(world.partner_a);
        let seen = ok(store.list_runs(&partner.read(), &RunFilter::default()));
        assert_eq!(
            seen.iter().map(|r| r.account_id).collect::<Vec<_>>(),
            vec![world.a.account]
        );
        // Partner A cannot cancel B's run; B's run is as if it did not exist.
        let refused = store.set_run_status(&ok(partner.write()), ids[1], RunStatus::Cancelled);
        assert!(
            matches!(refused, Err(StoreError::NotFound { .. })),
            "{}: {refused:?}",
            backend.name
        );
        ok(store.set_run_status(&ok(partner.write()), ids[0], RunStatus::Cancelled));
        let cancelled = ok(store.list_runs(
            &Actor::system().read(),
            &RunFilter {
                status: Some(RunStatus::Cancelled),
                ..RunFilter::default()
            },
        ));
        assert_eq!(
            cancelled.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![ids[0]]
        );
    }
}
