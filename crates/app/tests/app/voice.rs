//! The voice of the customer on a real store: NPS, CSAT and CES overall, per touch tier and
//! per month, friction and delight by the default rules, as worked out by hand.

use crate::{TestResult, World, date};
use mikawaya_analytics::voice::Experience;
use mikawaya_app::voice;
use mikawaya_domain::Actor;
use mikawaya_domain::account::TouchTier;
use mikawaya_domain::value::Text;
use mikawaya_domain::work::{NewSurveyResponse, SurveyKind};
use mikawaya_playbooks::journey::SegmentBy;
use mikawaya_store::Store;

#[test]
fn scores_per_tier_and_month_and_friction_as_worked_out_by_hand() -> TestResult {
    let world = World::new()?;
    let write = Actor::system().write()?;
    let high = world.account("H", |_| {})?;
    let low = world.account("L", |a| a.tier = Some(TouchTier::Low))?;
    let answer = |account, kind, score: i64, comment: Option<&str>, at: &str| -> TestResult {
        world.store.add_survey_response(
            &write,
            NewSurveyResponse {
                account_id: account,
                contact_id: None,
                kind,
                score,
                comment: comment.map(Text::parse).transpose()?,
                answered_at: at.parse()?,
            },
        )?;
        Ok(())
    };
    // January: high 10 ("Love it": delight), 9; low 3 ("画面が遅い": friction), CSAT 2
    // (friction). February: high 6 (no comment: neutral), CES 6 and 2 (friction).
    // December (outside the period): high 0.
    answer(
        high,
        SurveyKind::Nps,
        10,
        Some("Love it"),
        "2026-01-05T10:00:00Z",
    )?;
    answer(high, SurveyKind::Nps, 9, None, "2026-01-20T10:00:00Z")?;
    answer(
        low,
        SurveyKind::Nps,
        3,
        Some("画面が遅い"),
        "2026-01-21T10:00:00Z",
    )?;
    answer(low, SurveyKind::Csat, 2, None, "2026-01-22T10:00:00Z")?;
    answer(high, SurveyKind::Nps, 6, None, "2026-02-03T10:00:00Z")?;
    answer(high, SurveyKind::Ces, 6, None, "2026-02-04T10:00:00Z")?;
    answer(high, SurveyKind::Ces, 2, None, "2026-02-05T10:00:00Z")?;
    answer(
        high,
        SurveyKind::Nps,
        0,
        Some("Broken"),
        "2025-12-20T10:00:00Z",
    )?;
    let report = voice::report(
        &world.store,
        &Actor::system().read(),
        date(2026, 1, 1),
        date(2026, 2, 28),
        SegmentBy::Tier,
    )?;
    assert_eq!(report.answers, 7);
    // NPS: 10, 9, 3, 6 → 2 promoters, 2 detractors of 4: 0. CSAT: 2 → 0%. CES: 6, 2 → 4.
    assert_eq!(report.overall.nps, Some(0.0));
    assert_eq!(report.overall.csat, Some(0.0));
    assert_eq!(report.overall.ces, Some(4.0));
    // High touch: 10, 9, 6 → 2/3 − 1/3 = 33.3; low touch: 3 → −100.
    let high_nps = report.by_segment["high"].nps.ok_or("high NPS")?;
    assert!((high_nps - 100.0 / 3.0).abs() < 1e-9);
    assert_eq!(report.by_segment["low"].nps, Some(-100.0));
    // January: 1 delight, 2 friction; February: 1 friction (CES 2).
    let months: Vec<(&str, usize, usize)> = report
        .by_month
        .iter()
        .map(|m| (m.month.as_str(), m.friction, m.delight))
        .collect();
    assert_eq!(months, [("2026-01", 2, 1), ("2026-02", 1, 0)]);
    // Friction: the low-touch account twice, the high-touch once.
    let friction: Vec<(mikawaya_domain::AccountId, usize)> = report
        .friction_accounts
        .iter()
        .map(|f| (f.account_id, f.friction))
        .collect();
    assert_eq!(friction, [(low, 2), (high, 1)]);
    // Verbatims: the two comments of the period, latest first.
    let verbatims: Vec<(Experience, &str)> = report
        .verbatims
        .iter()
        .map(|v| {
            (
                v.experience,
                v.answer.comment.as_ref().map_or("", |c| c.as_str()),
            )
        })
        .collect();
    assert_eq!(
        verbatims,
        [
            (Experience::Friction, "画面が遅い"),
            (Experience::Delight, "Love it")
        ]
    );
    // A period that ends before it begins is refused, naming the field.
    match voice::report(
        &world.store,
        &Actor::system().read(),
        date(2026, 2, 1),
        date(2026, 1, 1),
        SegmentBy::Tier,
    ) {
        Err(mikawaya_app::AppError::Invalid(invalid)) => assert_eq!(invalid.field, "to"),
        other => panic!("{other:?}"),
    }
    Ok(())
}
