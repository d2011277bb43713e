//! Hosted surveys on a real store: a link's answer is kept once, replaced within the edit
//! window and refused after it; an expired link opens nothing; the comment becomes a feedback
//! item classed by the keyword lists in force.

use crate::{TestResult, World};
use mikawaya_app::feedback::FeedbackIndex;
use mikawaya_app::surveys::{self, AnswerForm, AnswerOutcome, SendContext, SendOutcome};
use mikawaya_domain::Actor;
use mikawaya_domain::contact::NewContact;
use mikawaya_domain::language::Language;
use mikawaya_domain::value::{Email, Name};
use mikawaya_domain::voice::SurveyChannel;
use mikawaya_store::Store;
use mikawaya_store::voice::FeedbackFilter;

#[test]
fn an_answer_is_replaced_within_the_window_and_refused_after_it() -> TestResult {
    let world = World::new()?;
    let write = Actor::system().write()?;
    let account = world.account("A", |_| {})?;
    let contact = world.store.create_contact(
        &write,
        NewContact {
            account_id: account,
            external_id: None,
            name: Name::parse("Hana")?,
            email: Some(Email::parse("hana@a.example")?),
            role: None,
            title: None,
            personal_success: None,
            sentiment: None,
            influence: None,
        },
    )?;
    let sent_at: jiff::Timestamp = "2026-05-01T09:00:00Z".parse()?;
    let context = SendContext {
        base_url: "https://cs.example".to_owned(),
        language: Language::Ja,
        emails_per_week: 3,
        now: sent_at,
    };
    let outcomes = surveys::send(
        &world.store,
        &write,
        "csat",
        &[contact.id],
        SurveyChannel::Email,
        &context,
    )?;
    let SendOutcome::Sent(send, url) = &outcomes[0] else {
        return Err(format!("{outcomes:?}").into());
    };
    assert_eq!(send.language, Language::Ja);
    let token = url.trim_start_matches("https://cs.example/s/");
    // The email is in Japanese and carries the link.
    let messages = world.store.list_messages(&Actor::system().admin()?, None)?;
    assert!(
        messages[0].body.contains(url.as_str()) && messages[0].body.contains("Hana 様"),
        "{}",
        messages[0].body
    );

    let index = FeedbackIndex::new();
    let form = |score: &str, comment: &str| AnswerForm {
        score: Some(score.to_owned()),
        comment: Some(comment.to_owned()),
        ..AnswerForm::default()
    };
    let hours = |h: i64| sent_at + jiff::SignedDuration::from_hours(h);
    // CSAT is 1-5.
    assert!(surveys::answer(&world.store, &index, token, &form("6", ""), hours(1)).is_err());
    let first = surveys::answer(
        &world.store,
        &index,
        token,
        &form("2", "画面が使いにくい"),
        hours(1),
    )?;
    assert!(
        matches!(first, AnswerOutcome::Recorded(ref r, true) if r.score == 2),
        "{first:?}"
    );
    // Within 72 hours of the first answer: replaced.
    let second = surveys::answer(
        &world.store,
        &index,
        token,
        &form("4", "慣れたら便利です"),
        hours(70),
    )?;
    assert!(
        matches!(second, AnswerOutcome::Recorded(ref r, false) if r.score == 4),
        "{second:?}"
    );
    // After: refused, the answer kept.
    assert_eq!(
        surveys::answer(&world.store, &index, token, &form("1", ""), hours(74))?,
        AnswerOutcome::Closed
    );
    let read = Actor::system().read();
    let answers = world
        .store
        .survey_responses(&read, None, jiff::Timestamp::UNIX_EPOCH)?;
    assert_eq!(answers.iter().map(|a| a.score).collect::<Vec<_>>(), vec![4]);
    let items = world.store.feedback(&read, &FeedbackFilter::default())?;
    assert_eq!(
        items.iter().map(|i| i.text.as_str()).collect::<Vec<_>>(),
        vec!["慣れたら便利です"]
    );
    // The link shows no form after the window, and nothing once expired (30 days).
    assert_eq!(
        surveys::open(&world.store, token, hours(80))?.map(|o| o.editable_until),
        Some(None)
    );
    assert!(surveys::open(&world.store, token, hours(24 * 31))?.is_none());
    assert!(surveys::open(&world.store, "sv_forged", hours(1))?.is_none());
    assert_eq!(
        surveys::answer(&world.store, &index, "sv_forged", &form("3", ""), hours(1))?,
        AnswerOutcome::NotFound
    );
    Ok(())
}
