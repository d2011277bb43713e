//! Feedback and feature requests on a real store: items from the API and from a feedback
//! touchpoint, a suggestion confirmed, requests ranked by ARR with the ARR at risk, and the
//! loop closed once by a signed GitHub-style webhook (a replay and a bad signature change
//! nothing).

use crate::{TestResult, World};
use mikawaya_app::feedback::{self, FeedbackIndex, WebhookOutcome};
use mikawaya_domain::Actor;
use mikawaya_domain::contact::NewContact;
use mikawaya_domain::language::Language;
use mikawaya_domain::value::{Email, Money, Name, Text};
use mikawaya_domain::voice::{
    ChangeSource, Experience, FeedbackSource, NewFeedbackItem, RequestStatus,
};
use mikawaya_store::Store;
use mikawaya_store::voice::{FeedbackFilter, RequestChange};

fn item(
    account: mikawaya_domain::AccountId,
    contact: Option<mikawaya_domain::ContactId>,
    key: &str,
    text: &str,
) -> Result<NewFeedbackItem, Box<dyn std::error::Error>> {
    Ok(NewFeedbackItem {
        account_id: account,
        contact_id: contact,
        source: FeedbackSource::Api,
        source_key: Some(key.to_owned()),
        text: Text::parse(text)?,
        created_at: None,
    })
}

#[test]
fn similar_items_meet_in_a_request_ranked_by_arr_and_shipping_closes_the_loop_once() -> TestResult {
    let world = World::new()?;
    let system = Actor::system();
    let write = system.write()?;
    let read = system.read();
    world.store.put_custom_field(
        &system.admin()?,
        mikawaya_domain::custom_field::CustomFieldDef::new(
            mikawaya_domain::value::Slug::parse("language")?,
            Name::parse("Language")?,
            mikawaya_domain::custom_field::CustomFieldKind::Enum,
            vec!["en".to_owned(), "ja".to_owned()],
        )?,
    )?;
    // A: 1,000/month (ARR 12,000), in Japanese; B: 500/month (ARR 6,000), English.
    let a = world.account("A", |n| {
        n.mrr = Money::parse("1000").unwrap_or_else(|e| panic!("{e}"));
        n.custom_fields
            .insert("language".to_owned(), serde_json::json!("ja"));
    })?;
    let b = world.account("B", |n| {
        n.mrr = Money::parse("500").unwrap_or_else(|e| panic!("{e}"))
    })?;
    let contact = |account, name: &str, email: &str| -> Result<_, Box<dyn std::error::Error>> {
        let new = NewContact {
            account_id: account,
            external_id: None,
            name: Name::parse(name)?,
            email: Some(Email::parse(email)?),
            role: None,
            title: None,
            personal_success: None,
            sentiment: None,
            influence: None,
        };
        Ok(world.store.create_contact(&write, new)?.id)
    };
    let hanako = contact(a, "山田 花子", "hanako@a.example")?;
    let bob = contact(b, "Bob", "bob@b.example")?;
    let index = FeedbackIndex::new();

    let placed = feedback::add(
        &world.store,
        &write,
        &index,
        &[
            item(
                a,
                Some(hanako),
                "1",
                "レポートをCSVでエクスポートできるようにしてほしいです。",
            )?,
            item(
                b,
                Some(bob),
                "2",
                "Please let us export reports to CSV so we can open them in Excel.",
            )?,
        ],
    )?;
    assert!(placed.iter().all(|p| p.created));
    let request = feedback::create_request(
        &world.store,
        &write,
        "CSV export of reports",
        &[placed[0].item.id],
        ChangeSource::Api,
    )?;
    // The English paraphrase, placed before the request existed, gets its suggestion now.
    assert_eq!(feedback::suggest_pending(&world.store, &index)?, 1);
    let english = world.store.get_feedback(&read, placed[1].item.id)?;
    assert_eq!(english.suggestion.map(|s| s.0), Some(request.id));
    // A new Japanese paraphrase is suggested the request as it is placed.
    let third = feedback::add(
        &world.store,
        &write,
        &index,
        &[item(
            b,
            Some(bob),
            "3",
            "レポート画面からCSV出力ができると助かります。",
        )?],
    )?;
    assert_eq!(
        third[0].item.suggestion.map(|s| s.0),
        Some(request.id),
        "{third:?}"
    );
    // The same source and key again is the same item.
    let again = feedback::add(
        &world.store,
        &write,
        &index,
        &[item(
            b,
            Some(bob),
            "3",
            "レポート画面からCSV出力ができると助かります。",
        )?],
    )?;
    assert!(!again[0].created);
    feedback::merge(&world.store, &write, english.id, Some(request.id))?;
    feedback::merge(&world.store, &write, third[0].item.id, Some(request.id))?;

    // A friction touchpoint becomes an item; a person's class wins over the rules.
    let other = feedback::create_request(
        &world.store,
        &write,
        "Faster dashboards",
        &[],
        ChangeSource::Api,
    )?;
    let slow = feedback::add(
        &world.store,
        &write,
        &index,
        &[item(b, None, "4", "The dashboard is really slow")?],
    )?;
    let (keywords, version) = feedback::keywords(&world.store, &read)?;
    assert_eq!(version, 0);
    assert_eq!(
        feedback::experience_of(&slow[0].item, &keywords),
        Experience::Friction
    );
    feedback::merge(&world.store, &write, slow[0].item.id, Some(other.id))?;

    // Ranked: the CSV request has A and B (18,000 ARR), the other B only (6,000).
    let ranked = feedback::ranked(&world.store, &read)?;
    assert_eq!(
        ranked
            .iter()
            .map(|r| (r.request.id, r.arr, r.items))
            .collect::<Vec<_>>(),
        vec![(request.id, 18_000.0, 3), (other.id, 6_000.0, 1)]
    );
    assert_eq!(ranked[0].requesters[0].name, "Account A");

    // Linked to an issue; the tracker's webhook says it was closed as completed.
    let manage = system.manage()?;
    let url = "https://github.com/example/product/issues/42";
    feedback::change_request(
        &world.store,
        &manage,
        request.id,
        &RequestChange {
            issue_url: Some(Some(url.to_owned())),
            ..RequestChange::default()
        },
        ChangeSource::App,
        Language::En,
    )?;
    let body = serde_json::json!({"action": "closed", "issue": {"html_url": url, "state": "closed", "state_reason": "completed"}}).to_string();
    let secret = feedback::webhook_secret(&world.store)?;
    let signature = mikawaya_outbox::hub_signature(&secret, body.as_bytes());
    let forged = mikawaya_outbox::hub_signature("not the secret", body.as_bytes());
    assert_eq!(
        feedback::webhook(
            &world.store,
            body.as_bytes(),
            Some(&forged),
            Some("d1"),
            Language::En
        )?,
        WebhookOutcome::BadSignature
    );
    assert_eq!(
        world.store.get_request(&read, request.id)?.status,
        RequestStatus::UnderReview
    );
    assert_eq!(
        feedback::webhook(
            &world.store,
            body.as_bytes(),
            Some(&signature),
            Some("d1"),
            Language::En
        )?,
        WebhookOutcome::Changed(vec![(request.id, true)])
    );
    assert_eq!(
        feedback::webhook(
            &world.store,
            body.as_bytes(),
            Some(&signature),
            Some("d1"),
            Language::En
        )?,
        WebhookOutcome::Replayed
    );
    // Another delivery of the same event changes nothing either.
    assert_eq!(
        feedback::webhook(
            &world.store,
            body.as_bytes(),
            Some(&signature),
            Some("d2"),
            Language::En
        )?,
        WebhookOutcome::Changed(vec![])
    );

    // One email per requester, in the account's language, and one touchpoint per account.
    let messages = world.store.list_messages(&system.admin()?, None)?;
    let mut to: Vec<(String, bool)> = messages
        .iter()
        .map(|m| {
            (
                m.recipient.clone(),
                m.subject.as_deref().unwrap_or("").starts_with("ご要望"),
            )
        })
        .collect();
    to.sort();
    assert_eq!(
        to,
        vec![
            ("bob@b.example".to_owned(), false),
            ("hanako@a.example".to_owned(), true)
        ]
    );
    for account in [a, b] {
        let touchpoints = world.store.list_touchpoints(
            &read,
            &mikawaya_store::TouchpointFilter {
                account_id: Some(account),
                ..Default::default()
            },
            &mikawaya_store::PageRequest::new(None, None)?,
        )?;
        assert_eq!(touchpoints.data.len(), 1, "{touchpoints:?}");
    }
    // Its items are resolved; the other request's are not.
    let items = world.store.feedback(&read, &FeedbackFilter::default())?;
    assert!(
        items
            .iter()
            .filter(|i| i.request_id == Some(request.id))
            .all(|i| i.resolved_at.is_some())
    );
    assert!(
        items
            .iter()
            .filter(|i| i.request_id == Some(other.id))
            .all(|i| i.resolved_at.is_none())
    );
    let detail = feedback::detail(&world.store, &read, request.id, crate::date(2026, 12, 1))?;
    assert!(
        detail
            .events
            .iter()
            .any(|e| e.kind == "loop_closed" && e.source == "webhook")
    );
    Ok(())
}
