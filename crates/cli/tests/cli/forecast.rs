//! The churn forecast end to end on a demo company: train (versions saved), predict
//! (probabilities with their factors), and the forecast's own backtest on held-out time.

use crate::util::{Workspace, ok, stderr};

#[test]
fn the_forecast_trains_predicts_and_backtests_on_the_demo() {
    let empty = Workspace::new();
    let refused = empty.expect(&["forecast", "predict"], None, 2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("forecast train"));

    // The demo trains a first model (v1) so its pages show each account's risk.
    let workspace = Workspace::new();
    workspace.expect(&["demo", "--accounts", "250"], None, 0);
    let trained = workspace.expect(&["forecast", "train", "--json"], None, 0);
    let trained: serde_json::Value = ok(serde_json::from_slice(&trained.stdout));
    assert_eq!(trained["version"], 2);
    let candidates = trained["model"]["candidates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        candidates.len(),
        6,
        "every regularization strength was cross-validated"
    );
    let again = workspace.expect(&["forecast", "train", "--json"], None, 0);
    let again: serde_json::Value = ok(serde_json::from_slice(&again.stdout));
    assert_eq!(again["version"], 3, "each training saves a new version");

    let predicted = workspace.expect(&["forecast", "predict", "--top", "5", "--json"], None, 0);
    let predicted: Vec<serde_json::Value> = ok(serde_json::from_slice(&predicted.stdout));
    assert_eq!(predicted.len(), 5);
    let probabilities: Vec<f64> = predicted
        .iter()
        .filter_map(|p| p["probability"].as_f64())
        .collect();
    assert!(probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!(
        probabilities.windows(2).all(|w| w[0] >= w[1]),
        "riskiest first: {probabilities:?}"
    );
    assert!(
        predicted
            .iter()
            .all(|p| p["top_factors"].as_array().is_some_and(|f| f
                .iter()
                .all(|f| f["contribution"].as_f64().is_some_and(|c| c > 0.0))))
    );

    let report = workspace.expect(&["forecast", "backtest", "--json"], None, 0);
    let report: serde_json::Value = ok(serde_json::from_slice(&report.stdout));
    let forecast = report["forecast"]["auc"].as_f64().unwrap_or_default();
    let card = report["default_scorecard"]["auc"]
        .as_f64()
        .unwrap_or_default();
    assert_eq!(
        report["forecast"]["n"], report["default_scorecard"]["n"],
        "the same observations"
    );
    assert!(forecast > 0.65, "forecast AUC {forecast}");
    // The demo's default card is learned from the history (`scorecard suggest`): a card
    // people can read that ranks nearly as well as the forecast.
    assert!(
        card > forecast - 0.1,
        "the learned default card ({card}) is close to the forecast ({forecast})"
    );
    // Training dates end a horizon before the first test date (no outcome seen twice).
    let train_to: jiff::civil::Date =
        ok(report["train_dates"]["to"].as_str().unwrap_or("").parse());
    let test_from: jiff::civil::Date =
        ok(report["test_dates"]["from"].as_str().unwrap_or("").parse());
    assert!(ok(train_to.checked_add(jiff::Span::new().days(90))) <= test_from);
}

/// A history that ended a year ago: `--as-of` its last day trains the model the clock at
/// that day trained (the demo trains its first model on its own simulated today), and
/// the backtest runs on it without a faked clock.
#[test]
fn a_history_that_ended_a_year_ago_forecasts_as_of_its_end() {
    let workspace = Workspace::new();
    let end = jiff::Zoned::now()
        .date()
        .checked_sub(jiff::Span::new().days(400))
        .map(|d| d.to_string())
        .unwrap_or_default();
    workspace.expect(&["demo", "--accounts", "200", "--as-of", &end], None, 0);
    let read = |output: &std::process::Output| {
        let predicted: Vec<serde_json::Value> = ok(serde_json::from_slice(&output.stdout));
        predicted
            .iter()
            .map(|p| (p["account_id"].as_i64(), p["probability"].as_f64()))
            .collect::<Vec<_>>()
    };
    let predict_on = |workspace: &Workspace, day: &str| {
        read(&workspace.expect(&["forecast", "predict", "--as-of", day, "--json"], None, 0))
    };
    let predict = |workspace: &Workspace| predict_on(workspace, &end);
    let by_the_clock = predict(&workspace);
    assert!(by_the_clock.len() > 100, "{}", by_the_clock.len());
    let trained = workspace.expect(&["forecast", "train", "--as-of", &end, "--json"], None, 0);
    let trained: serde_json::Value = ok(serde_json::from_slice(&trained.stdout));
    assert_eq!(trained["version"], 2);
    assert_eq!(
        predict(&workspace),
        by_the_clock,
        "the same model as the clock at its end"
    );
    let report = workspace.expect(
        &["forecast", "backtest", "--as-of", &end, "--json"],
        None,
        0,
    );
    let report: serde_json::Value = ok(serde_json::from_slice(&report.stdout));
    assert!(
        report["forecast"]["n"].as_u64().is_some_and(|n| n > 100),
        "{report}"
    );
    assert!(
        report["forecast"]["auc"]
            .as_f64()
            .is_some_and(|auc| auc > 0.6),
        "{report}"
    );
    let test_to = report["test_dates"]["to"].as_str().unwrap_or("");
    assert!(
        test_to < end.as_str(),
        "observations end before {end}: {test_to}"
    );
    // Without --as-of the day follows the data (the day after its last usage event, said
    // on the standard error), not the wall clock a year later.
    let followed = workspace.expect(&["forecast", "predict", "--json"], None, 0);
    let said = stderr(&followed);
    let day = said
        .split("as of ")
        .nth(1)
        .and_then(|rest| rest.get(..10))
        .unwrap_or("")
        .to_owned();
    let after_end = jiff::civil::Date::strptime("%Y-%m-%d", &end)
        .ok()
        .and_then(|d| d.tomorrow().ok())
        .map(|d| d.to_string())
        .unwrap_or_default();
    assert!(day == end || day == after_end, "{said}");
    assert_eq!(read(&followed), predict_on(&workspace, &day));
    let backtest = workspace.expect(
        &["backtest", "--metric", "active-users-28d", "--json"],
        None,
        0,
    );
    assert!(
        stderr(&backtest).contains(&format!("as of {day}")),
        "{}",
        stderr(&backtest)
    );
    let backtest: serde_json::Value = ok(serde_json::from_slice(&backtest.stdout));
    assert!(
        backtest["n"].as_u64().is_some_and(|n| n > 100),
        "{backtest}"
    );
}
