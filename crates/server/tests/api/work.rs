//! The playbook side over HTTP: the task inbox (create, snooze, reassign, complete),
//! partner scoping, playbook versions, evaluation rights, survey answers, and every bad
//! input answered with the field at fault.

use crate::helpers::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn user_id(app: &TestApp, email: &str) -> i64 {
    let users = app.get("admin", "/api/v1/users").await;
    users
        .body
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|u| u["email"] == email)
                .and_then(|u| u["id"].as_i64())
        })
        .unwrap_or_else(|| panic!("no user {email}: {}", users.text))
}

#[tokio::test]
async fn the_task_inbox_creates_snoozes_reassigns_and_completes() {
    let app = TestApp::spawn().await;
    let csm = user_id(&app, "csm@team.example").await;
    let leader = user_id(&app, "leader@team.example").await;
    let created = app
        .call(
            Some("csm"),
            Method::POST,
            "/api/v1/tasks",
            Some(json!({
            "account_id": app.account("a"), "owner_id": csm, "title": "QBRの準備",
            "priority": "high", "due_on": "2020-01-10"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap_or_default();
    assert_eq!(created.body["overdue"], true);
    let mine = app.get("csm", "/api/v1/tasks?owner=me&status=open").await;
    assert_eq!(
        mine.body["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        mine.text
    );
    let overdue = app
        .get("csm", "/api/v1/tasks?owner=csm@team.example&overdue=true")
        .await;
    assert_eq!(overdue.body["data"].as_array().map(Vec::len), Some(1));

    // Snoozed: hidden from the inbox until the day, unless asked for.
    let path = format!("/api/v1/tasks/{id}");
    let snoozed = app
        .call(
            Some("csm"),
            Method::PATCH,
            &path,
            Some(json!({"snoozed_until": "2999-01-01"})),
        )
        .await;
    assert_eq!(snoozed.status, StatusCode::OK, "{}", snoozed.text);
    assert_eq!(
        app.get("csm", "/api/v1/tasks?owner=me").await.body["data"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert_eq!(
        app.get("csm", "/api/v1/tasks?owner=me&include_snoozed=true")
            .await
            .body["data"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Reassigned to the leader, then completed with an outcome.
    let moved = app
        .call(
            Some("csm"),
            Method::PATCH,
            &path,
            Some(json!({"owner_id": leader, "snoozed_until": null})),
        )
        .await;
    assert_eq!(moved.body["owner_id"], leader);
    let refused = app
        .call(
            Some("leader"),
            Method::PATCH,
            &path,
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.body["error"]["field"], "outcome");
    let done = app
        .call(
            Some("leader"),
            Method::PATCH,
            &path,
            Some(json!({"status": "done", "outcome": "renewed", "note": "3年契約"})),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(
        (done.body["status"].clone(), done.body["overdue"].clone()),
        (json!("done"), json!(false))
    );
    assert!(done.body["completed_at"].is_string());
    let queue = app.get("admin", "/api/v1/tasks?owner=none").await;
    assert_eq!(queue.body["data"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn partners_see_only_their_accounts_tasks() {
    let app = TestApp::spawn().await;
    for key in ["a", "b"] {
        let created = app
            .call(Some("admin"), Method::POST, "/api/v1/tasks", Some(json!({
                "account_id": app.account(key), "title": format!("call {key}"), "due_on": "2030-01-01"})))
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
    }
    let seen = app.get("partner", "/api/v1/tasks").await;
    let titles: Vec<Value> = seen.body["data"]
        .as_array()
        .map(|d| d.iter().map(|t| t["title"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(titles, [json!("call a")]);
    let all = app.get("admin", "/api/v1/tasks").await;
    let other = all.body["data"]
        .as_array()
        .and_then(|d| d.iter().find(|t| t["title"] == "call b"))
        .and_then(|t| t["id"].as_i64())
        .unwrap_or_default();
    assert_eq!(
        app.get("partner", &format!("/api/v1/tasks/{other}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let write = app
        .call(
            Some("partner"),
            Method::PATCH,
            &format!("/api/v1/tasks/{other}"),
            Some(json!({"note": "x"})),
        )
        .await;
    assert_eq!(write.status, StatusCode::NOT_FOUND);
    let create = app
        .call(
            Some("partner"),
            Method::POST,
            "/api/v1/tasks",
            Some(json!({"account_id": app.account("b"), "title": "x", "due_on": "2030-01-01"})),
        )
        .await;
    assert_eq!(
        (create.status, create.body["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("account_id"))
    );
}

#[tokio::test]
async fn playbooks_are_versioned_evaluated_by_leaders_and_fire_on_survey_answers() {
    let app = TestApp::spawn().await;
    let spec = json!({"name": "detractor", "title": {"en": "Detractor", "ja": "批判者"},
        "trigger": {"kind": "survey_answer", "survey": "nps", "max_score": 6},
        "steps": [{"kind": "task", "title": {"en": "Call {{account.name}}"}, "priority": "urgent", "due_days": 2}]});
    let saved = app
        .call(
            Some("leader"),
            Method::POST,
            "/api/v1/playbooks",
            Some(spec.clone()),
        )
        .await;
    assert_eq!(
        (saved.status, saved.body["version"].clone()),
        (StatusCode::CREATED, json!(1)),
        "{}",
        saved.text
    );
    let same = app
        .call(
            Some("leader"),
            Method::POST,
            "/api/v1/playbooks",
            Some(spec.clone()),
        )
        .await;
    assert_eq!(
        same.body["version"], 1,
        "an unchanged spec keeps its version"
    );
    let csm = app
        .call(Some("csm"), Method::POST, "/api/v1/playbooks", Some(spec))
        .await;
    assert_eq!(csm.status, StatusCode::FORBIDDEN, "{}", csm.text);
    let evaluate = app
        .call(
            Some("csm"),
            Method::POST,
            "/api/v1/rules/evaluate",
            Some(json!({})),
        )
        .await;
    assert_eq!(evaluate.status, StatusCode::FORBIDDEN);

    // A detractor answer fires the playbook for that account at once (no evaluation call).
    let answer = app
        .call(
            Some("csm"),
            Method::POST,
            "/api/v1/surveys/responses",
            Some(json!({
            "account_id": app.account("direct"), "kind": "nps", "score": 4, "comment": "遅い"})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let mut runs = Value::Null;
    for _ in 0..100 {
        runs = app
            .get("admin", "/api/v1/runs?playbook=detractor")
            .await
            .body;
        if runs.as_array().is_some_and(|r| !r.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(runs[0]["account_id"], app.account("direct"), "{runs}");
    assert!(
        runs[0]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("nps answer 4 on "))
    );
    let tasks = app
        .get(
            "admin",
            &format!("/api/v1/tasks?account_id={}", app.account("direct")),
        )
        .await;
    assert_eq!(
        tasks.body["data"][0]["title"], "Call Account direct",
        "{}",
        tasks.text
    );
    // Evaluating again the same day fires nothing more.
    let again = app
        .call(
            Some("leader"),
            Method::POST,
            "/api/v1/rules/evaluate",
            Some(json!({})),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["fired"].as_array().map(Vec::len), Some(0));
    let effect = app
        .get("admin", "/api/v1/playbooks/detractor/effectiveness")
        .await;
    assert_eq!(
        (effect.status, effect.body["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("outcome"))
    );
    let missing = app
        .get("admin", "/api/v1/playbooks/nothing/effectiveness")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let switched = app
        .call(
            Some("leader"),
            Method::PATCH,
            "/api/v1/playbooks/detractor",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(switched.status, StatusCode::NO_CONTENT);
    let listed = app.get("viewer", "/api/v1/playbooks").await;
    assert_eq!(listed.body[0]["enabled"], false);
}

#[tokio::test]
async fn bad_playbook_input_names_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            "/api/v1/playbooks",
            json!({"name": "x", "title": {"en": "X"}, "trigger": {"kind": "renewal_within", "days": 0}, "steps": []}),
            "trigger.days",
        ),
        (
            "/api/v1/playbooks",
            json!({"name": "x", "title": {"en": "X"}, "trigger": {"kind": "renewal_within", "days": 9},
            "steps": [{"kind": "webhook", "url": "ftp://x", "text": {"en": "t"}}]}),
            "steps[0].url",
        ),
        (
            "/api/v1/surveys/responses",
            json!({"account_id": 1, "kind": "nps", "score": 11}),
            "score",
        ),
        (
            "/api/v1/surveys/responses",
            json!({"account_id": 1, "kind": "mood", "score": 1}),
            "kind",
        ),
        (
            "/api/v1/tasks",
            json!({"account_id": 1, "title": "x", "due_on": "tomorrow"}),
            "due_on",
        ),
        (
            "/api/v1/tasks",
            json!({"account_id": 1, "title": "x", "due_on": "2030-01-01", "priority": "asap"}),
            "priority",
        ),
        (
            "/api/v1/tasks",
            json!({"account_id": 999999, "title": "x", "due_on": "2030-01-01"}),
            "account_id",
        ),
        (
            "/api/v1/rules/evaluate",
            json!({"as_of": "2026-13-01"}),
            "as_of",
        ),
        (
            "/api/v1/tiers/assign",
            json!({"rules": {"tiers": [{"tier": "high", "min_arr": -1}], "capacity": {}}}),
            "tiers[0].min_arr",
        ),
    ];
    for (path, body, field) in cases {
        let reply = app
            .call(Some("admin"), Method::POST, path, Some(body.clone()))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path} {body}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["error"]["field"], field,
            "{path} {body}: {}",
            reply.text
        );
    }
    assert_eq!(app.get("admin", "/api/v1/playbooks").await.body, json!([]));
    assert_eq!(
        app.get("admin", "/api/v1/tasks").await.body["data"],
        json!([])
    );
}

#[tokio::test]
async fn tiers_and_owners_are_assigned_within_capacity() {
    let app = TestApp::spawn().await;
    let plan = app
        .call(Some("leader"), Method::POST, "/api/v1/tiers/assign", Some(json!({
            "rules": {"tiers": [{"tier": "high", "min_arr": 3000}, {"tier": "low", "min_arr": 2000}],
                      "capacity": {"high": 1, "low": 1}, "rebalance": true}})))
        .await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.text);
    // Seed MRR: a 100, b 200, direct 300 → ARR 1,200 / 2,400 / 3,600: tech, low, high.
    let accounts = app.get("admin", "/api/v1/accounts?sort=mrr").await;
    let tiers: Vec<Value> = accounts.body["data"]
        .as_array()
        .map(|d| d.iter().map(|a| a["tier"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        tiers,
        [json!("tech"), json!("low"), json!("high")],
        "{}",
        accounts.text
    );
    let csm = user_id(&app, "csm@team.example").await;
    let owners: Vec<Value> = accounts.body["data"]
        .as_array()
        .map(|d| d.iter().map(|a| a["owner_id"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        owners[1], csm,
        "one CSM, capacity 1 per tier: low and high both get them"
    );
    assert_eq!(owners[2], csm);
    let book = app.get("admin", "/api/v1/book").await;
    let row = book
        .body
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["owner_id"] == csm))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        row["accounts"],
        json!({"high": 1, "low": 1}),
        "{}",
        book.text
    );
    assert_eq!(row["arr"], json!(6000.0));
    // As of a day before any subscription started: nobody's book holds a paying account.
    let before = app.get("admin", "/api/v1/book?as_of=2000-01-01").await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    let arr: f64 = before
        .body
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["arr"].as_f64()).sum())
        .unwrap_or(-1.0);
    assert_eq!(arr, 0.0, "{}", before.text);
    let bad = app.get("admin", "/api/v1/book?as_of=2000-13-01").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert_eq!(bad.body["error"]["field"], "as_of");

    // The team: workload per owner with effort by tier, the unowned row last, and the task
    // board with the overdue task first.
    for (title, due_on) in [
        ("later", "2100-01-01"),
        ("late", "2020-01-10"),
        ("soon", "2099-01-01"),
    ] {
        let created = app
            .call(Some("leader"), Method::POST, "/api/v1/tasks", Some(json!({
                "account_id": app.account("a"), "owner_id": csm, "title": title, "due_on": due_on})))
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }
    let team = app.get("leader", "/api/v1/team").await;
    assert_eq!(team.status, StatusCode::OK, "{}", team.text);
    let workload = team.body["workload"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(workload.len(), 2, "{}", team.text);
    assert_eq!(workload[0]["owner_id"], csm);
    assert_eq!(workload[0]["accounts"], json!({"high": 1, "low": 1}));
    assert_eq!(workload[0]["effort"], json!(10.0), "8 × 1 high + 2 × 1 low");
    assert_eq!(workload[0]["arr"], json!(6000.0));
    assert_eq!(
        (
            workload[0]["open_tasks"].clone(),
            workload[0]["overdue_tasks"].clone()
        ),
        (json!(3), json!(1))
    );
    assert_eq!(workload[1]["owner_id"], json!(null), "the unowned row last");
    assert_eq!(workload[1]["accounts"], json!({"tech": 1}));
    assert_eq!(workload[1]["effort"], json!(0.5));
    let board: Vec<Value> = team.body["board"][0]["tasks"]
        .as_array()
        .map(|t| t.iter().map(|t| t["title"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(board, [json!("late"), json!("soon"), json!("later")]);
    assert_eq!(team.body["board"][0]["tasks"][0]["overdue"], json!(true));
    // The sums are kept between views while the book stands, and follow a change at once:
    // the unowned tech-touch account given to the CSM.
    let again = app.get("leader", "/api/v1/team").await;
    assert_eq!(again.body, team.body);
    let moved = app
        .call(
            Some("leader"),
            Method::PATCH,
            &format!("/api/v1/accounts/{}", app.account("a")),
            Some(json!({"owner_id": csm})),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    let after = app.get("leader", "/api/v1/team").await;
    let workload = after.body["workload"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(workload.len(), 1, "{}", after.text);
    assert_eq!(
        workload[0]["accounts"],
        json!({"high": 1, "low": 1, "tech": 1})
    );
    assert_eq!(workload[0]["effort"], json!(10.5));
}

#[tokio::test]
async fn segment_scorecards_are_checked_and_stored_by_leaders() {
    let app = TestApp::spawn().await;
    let card = json!({"segments": [{"segment": {"field": "tier", "value": "high"},
        "scorecard": {"name": "enterprise", "measures": [{"metric": {"name": "logins", "kind": "count", "event": "Login"}, "weight": 1, "red": 0, "green": 20}]}}]});
    let csm = app
        .call(
            Some("csm"),
            Method::PUT,
            "/api/v1/scorecards/segments",
            Some(card.clone()),
        )
        .await;
    assert_eq!(csm.status, StatusCode::FORBIDDEN, "{}", csm.text);
    let bad = json!({"segments": [{"segment": {"field": "tier", "value": "high"}, "scorecard": {"name": "x", "measures": []}}]});
    let refused = app
        .call(
            Some("leader"),
            Method::PUT,
            "/api/v1/scorecards/segments",
            Some(bad),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(
        refused.body["error"]["field"]
            .as_str()
            .is_some_and(|f| f.starts_with("segments[0].scorecard")),
        "{}",
        refused.text
    );
    let none = app.get("viewer", "/api/v1/scorecards/segments").await.body;
    assert_eq!(none["segments"], json!([]));
    assert_eq!(none["version"], json!(null));
    assert_eq!(none["default"]["name"], "default", "the built-in card");
    let saved = app
        .call(
            Some("leader"),
            Method::PUT,
            "/api/v1/scorecards/segments",
            Some(card.clone()),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    assert_eq!(
        app.get("viewer", "/api/v1/scorecards/segments").await.body["segments"][0]["scorecard"]["name"],
        "enterprise"
    );

    // The whole set: a default card of one's own, versions, a rollback.
    let default = json!({"name": "adoption", "measures": [{"metric": {"name": "idle", "kind": "days_since"}, "weight": 1, "red": 14, "green": 2}]});
    let set = json!({"default": default, "segments": card["segments"]});
    let put = app
        .call(Some("leader"), Method::PUT, "/api/v1/scorecards", Some(set))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.body["version"], 2);
    assert_eq!(put.body["default"]["name"], "adoption");
    let bad_default = json!({"default": {"name": "x", "measures": [{"metric": {"name": "idle", "kind": "days_since"}, "weight": 1, "red": 3, "green": 3}]}});
    let refused = app
        .call(
            Some("leader"),
            Method::PUT,
            "/api/v1/scorecards",
            Some(bad_default),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(refused.body["error"]["field"], "default.measures[0].red");
    let draft = json!({"cards": {"segments": []}, "horizon_days": 30});
    let compared = app
        .call(
            Some("csm"),
            Method::POST,
            "/api/v1/scorecards/backtest",
            Some(draft),
        )
        .await;
    assert_eq!(compared.status, StatusCode::OK, "{}", compared.text);
    assert_eq!(compared.body["current"]["n"], compared.body["draft"]["n"]);
    assert_eq!(compared.body["horizon_days"], 30);
    let versions = app.get("viewer", "/api/v1/scorecards/versions").await.body;
    let numbers: Vec<i64> = versions
        .as_array()
        .map(|v| v.iter().filter_map(|v| v["version"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(
        numbers,
        vec![2, 1],
        "newest first, the refused one not saved"
    );
    assert_eq!(versions[1]["default"]["name"], "default");
    let csm_rollback = app
        .call(
            Some("csm"),
            Method::POST,
            "/api/v1/scorecards/rollback",
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(csm_rollback.status, StatusCode::FORBIDDEN);
    let back = app
        .call(
            Some("leader"),
            Method::POST,
            "/api/v1/scorecards/rollback",
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);
    assert_eq!(
        (
            back.body["version"].clone(),
            back.body["default"]["name"].clone()
        ),
        (json!(3), json!("default"))
    );
    assert_eq!(
        back.body["saved_by"], put.body["saved_by"],
        "who saved it is kept"
    );
    let missing = app
        .call(
            Some("leader"),
            Method::POST,
            "/api/v1/scorecards/rollback",
            Some(json!({"version": 9})),
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.text);
    assert_eq!(missing.body["error"]["field"], "version");
}
