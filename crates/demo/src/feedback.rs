//! The feedback customers give in the demo: texts written by hand (`data/feedback.tsv`), in
//! Japanese and English, grouped by topic (texts of one topic ask for the same thing) and
//! family (topics of one family share words but ask for different things). The demo draws
//! its feedback items from them, and the merge-quality benchmark uses them as its labelled
//! pairs.

use mikawaya_domain::language::Language;

const BANK: &str = include_str!("../data/feedback.tsv");

/// One text of the bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankText {
    /// What it asks for (texts of one topic are paraphrases).
    pub topic: &'static str,
    /// Topics that share words.
    pub family: &'static str,
    /// Its language.
    pub language: Language,
    /// The text.
    pub text: &'static str,
}

/// Every text of the bank, in file order.
pub fn bank() -> Vec<BankText> {
    BANK.lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with("topic\t"))
        .filter_map(|line| {
            let mut cells = line.split('\t');
            let (topic, family, language, text) =
                (cells.next()?, cells.next()?, cells.next()?, cells.next()?);
            Some(BankText {
                topic,
                family,
                language: Language::of_tag(language),
                text,
            })
        })
        .collect()
}

/// Whether a topic is praise or a wish to grow (delight), a complaint (friction), or a
/// request.
pub fn topic_kind(topic: &str) -> &'static str {
    match topic {
        "great-support" | "saved-time" | "more-seats" => "delight",
        "import-slow" | "too-many-emails" | "session-timeout" | "dashboard-slow"
        | "translation" | "search" | "undo-delete" | "api-rate-limit" => "friction",
        _ => "request",
    }
}

#[cfg(test)]
mod bank_tests {
    use super::*;

    #[test]
    fn the_bank_has_four_texts_per_topic_and_language() {
        let bank = bank();
        assert_eq!(bank.len(), 256);
        let mut counts = std::collections::BTreeMap::new();
        for text in &bank {
            *counts
                .entry((text.topic, text.language.code()))
                .or_insert(0) += 1;
        }
        assert!(counts.values().all(|n| *n == 4), "{counts:?}");
    }
}

/// Each topic's request title, in English and Japanese.
const TITLES: &[(&str, &str, &str)] = &[
    (
        "export-csv",
        "CSV export of reports",
        "レポートのCSVエクスポート",
    ),
    (
        "import-contacts",
        "Bulk import of contacts from CSV",
        "連絡先のCSV一括インポート",
    ),
    (
        "import-slow",
        "Faster imports of large files",
        "大きなファイルの取り込みの高速化",
    ),
    (
        "slack-alerts",
        "Health alerts in Slack",
        "ヘルスアラートのSlack通知",
    ),
    (
        "too-many-emails",
        "Fewer notification emails (daily digest)",
        "通知メールの削減（日次まとめ）",
    ),
    ("sso-saml", "SAML single sign-on", "SAMLシングルサインオン"),
    (
        "session-timeout",
        "Longer login sessions",
        "ログインセッションの延長",
    ),
    ("two-factor", "Two-factor authentication", "二要素認証"),
    (
        "dashboard-slow",
        "Faster dashboards",
        "ダッシュボードの高速化",
    ),
    (
        "dashboard-custom",
        "Customizable dashboard widgets",
        "ダッシュボードのウィジェットのカスタマイズ",
    ),
    (
        "report-filter",
        "Any date range on reports",
        "レポートの任意期間フィルタ",
    ),
    ("read-only-role", "Read-only role", "閲覧専用ロール"),
    ("audit-log", "Audit log of changes", "変更の監査ログ"),
    (
        "salesforce-sync",
        "Salesforce two-way sync",
        "Salesforceとの双方向同期",
    ),
    ("hubspot-sync", "HubSpot integration", "HubSpot連携"),
    (
        "api-rate-limit",
        "Higher API rate limits",
        "APIレート制限の緩和",
    ),
    ("dark-mode", "Dark mode", "ダークモード"),
    (
        "translation",
        "Complete Japanese translation",
        "日本語訳の完全化",
    ),
    ("search", "Partial-match search", "部分一致検索"),
    ("invoice-pdf", "Invoice PDFs", "請求書PDF"),
    (
        "bank-transfer",
        "Payment by bank transfer",
        "銀行振込での支払い",
    ),
    ("mobile-app", "Mobile app", "モバイルアプリ"),
    ("bulk-edit", "Bulk edit of records", "レコードの一括編集"),
    (
        "undo-delete",
        "Restore deleted records",
        "削除したデータの復元",
    ),
    (
        "duplicate-contacts",
        "Duplicate contact detection",
        "重複連絡先の検出",
    ),
    (
        "calendar-google",
        "Google Calendar sync",
        "Googleカレンダー同期",
    ),
    (
        "calendar-outlook",
        "Outlook calendar sync",
        "Outlookカレンダー同期",
    ),
    ("recurring-tasks", "Recurring tasks", "繰り返しタスク"),
    (
        "task-reminders",
        "Task due-date reminders",
        "タスク期限のリマインダー",
    ),
];

/// A request's title in a language (the topic itself when it has none: praise).
pub fn title(topic: &str, language: Language) -> Option<&'static str> {
    TITLES
        .iter()
        .find(|(t, _, _)| *t == topic)
        .map(|(_, en, ja)| language.pick(en, ja))
}

/// Words around a text, so near-duplicates are not identical.
const EN_AROUND: &[(&str, &str)] = &[
    ("", ""),
    ("", ""),
    ("Again: ", ""),
    ("From our QBR: ", ""),
    ("", " Thanks!"),
    ("Our admins say: ", ""),
    ("", " This came up twice this month."),
];
const JA_AROUND: &[(&str, &str)] = &[
    ("", ""),
    ("", ""),
    ("前回もお伝えしましたが、", ""),
    ("定例会で出た要望です。", ""),
    ("", "よろしくお願いします。"),
    ("管理者からの意見です。", ""),
    ("", "今月2回目のご相談です。"),
];

/// One feedback item the demo records.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemPlan {
    /// Index of the account in the list given.
    pub account: usize,
    /// The topic it is about.
    pub topic: &'static str,
    /// What was said.
    pub text: String,
    /// api, email or csv.
    pub source: &'static str,
    /// Days before `as_of`.
    pub days_ago: i64,
}

/// About two items per account (at most 20,000): friction topics weigh more with low
/// value, praise and expansion with high value; each text drawn from the bank in the
/// account's language, with words around it now and then.
pub fn plan_items(seed: u64, accounts: &[(f64, Language)], window_days: i64) -> Vec<ItemPlan> {
    use rand::Rng;
    use rand_chacha::rand_core::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x6665_6564_6261_636b);
    let bank = bank();
    let topics: Vec<&'static str> = {
        let mut t: Vec<&'static str> = bank.iter().map(|b| b.topic).collect();
        t.dedup();
        t
    };
    let count = (accounts.len() * 2).min(20_000);
    let mut out = Vec::with_capacity(count);
    if accounts.is_empty() {
        return out;
    }
    for _ in 0..count {
        let account = rng.random_range(0..accounts.len());
        let (value, language) = accounts[account];
        let weights: Vec<f64> = topics
            .iter()
            .map(|t| match topic_kind(t) {
                "friction" => 0.4 + 2.0 * (1.0 - value),
                "delight" => 0.2 + 2.0 * value,
                _ => 1.0,
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let mut draw = rng.random_range(0.0..total);
        let mut topic = topics[0];
        for (t, w) in topics.iter().zip(&weights) {
            if draw < *w {
                topic = t;
                break;
            }
            draw -= w;
        }
        let texts: Vec<&BankText> = bank
            .iter()
            .filter(|b| b.topic == topic && b.language == language)
            .collect();
        let text = texts[rng.random_range(0..texts.len())].text;
        let around = match language {
            Language::Ja => JA_AROUND,
            Language::En => EN_AROUND,
        };
        let (before, after) = around[rng.random_range(0..around.len())];
        let source = match rng.random_range(0..10) {
            0..=4 => "api",
            5..=7 => "email",
            _ => "csv",
        };
        out.push(ItemPlan {
            account,
            topic,
            text: format!("{before}{text}{after}"),
            source,
            days_ago: rng.random_range(0..window_days.max(1)),
        });
    }
    out
}

/// Stores the demo's feedback: every answer's comment, about two items per account drawn
/// from the bank, requests for the topics asked most (seven items in ten merged, the rest
/// left for the inbox's suggestions), some linked to product issues, some shipped (their
/// requesters told, a touchpoint on each account), some declined. Returns (items, requests).
pub(crate) fn load(
    store: &dyn mikawaya_store::Store,
    truth: &std::collections::BTreeMap<String, (f64, bool)>,
    options: &crate::DemoOptions,
) -> Result<(usize, usize), crate::DemoError> {
    use mikawaya_domain::Actor;
    use mikawaya_domain::value::Text;
    use mikawaya_domain::voice::{ChangeSource, FeedbackSource, NewFeedbackItem, RequestStatus};
    use mikawaya_store::voice::{FeedbackFilter, LoopClosing, RequestChange};
    let system = Actor::system();
    let options_error = |e: mikawaya_domain::DomainError| crate::DemoError::Options(e.to_string());
    let write = system.write().map_err(options_error)?;
    let manage = system.manage().map_err(options_error)?;
    let read = system.read();
    let company = match options.locale {
        crate::Locale::Ja => Language::Ja,
        crate::Locale::En => Language::En,
    };
    let accounts: Vec<mikawaya_domain::account::Account> = store.all_accounts(&read)?;
    let language = |a: &mikawaya_domain::account::Account| match a.custom_fields.get("language") {
        Some(mikawaya_domain::custom_field::CustomValue::Enum(l)) if l == "ja" => Language::Ja,
        _ => Language::En,
    };
    let mut contacts: std::collections::HashMap<
        mikawaya_domain::AccountId,
        Vec<mikawaya_domain::ContactId>,
    > = std::collections::HashMap::new();
    for contact in store.all_contacts(&read)? {
        contacts
            .entry(contact.account_id)
            .or_default()
            .push(contact.id);
    }
    let noon = options
        .as_of
        .at(12, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_or(jiff::Timestamp::UNIX_EPOCH, |z| z.timestamp());
    let mut items = Vec::new();
    for answer in store.survey_responses(&read, None, jiff::Timestamp::UNIX_EPOCH)? {
        if let Some(comment) = answer.comment {
            items.push((
                None,
                NewFeedbackItem {
                    account_id: answer.account_id,
                    contact_id: answer.contact_id,
                    source: FeedbackSource::Survey,
                    source_key: Some(answer.id.to_string()),
                    text: comment,
                    created_at: Some(answer.answered_at),
                },
            ));
        }
    }
    let values: Vec<(f64, Language)> = accounts
        .iter()
        .map(|a| {
            let value = a
                .external_id
                .as_ref()
                .and_then(|e| truth.get(e.as_str()))
                .map_or(0.5, |(v, _)| *v);
            (value, language(a))
        })
        .collect();
    for (n, plan) in plan_items(options.seed, &values, 540)
        .into_iter()
        .enumerate()
    {
        let account = &accounts[plan.account];
        let contact = contacts
            .get(&account.id)
            .and_then(|list| list.get(n % list.len().max(1)))
            .copied();
        let text = Text::parse(&plan.text).map_err(|e| crate::DemoError::Options(e.to_string()))?;
        items.push((
            Some(plan.topic),
            NewFeedbackItem {
                account_id: account.id,
                contact_id: contact,
                source: FeedbackSource::parse(plan.source)
                    .map_err(|e| crate::DemoError::Options(e.to_string()))?,
                source_key: Some(format!("demo-{n}")),
                text,
                created_at: Some(noon - jiff::SignedDuration::from_hours(24 * plan.days_ago)),
            },
        ));
    }
    let new: Vec<NewFeedbackItem> = items.iter().map(|(_, item)| item.clone()).collect();
    let stored = store.add_feedback(&write, &new)?;
    let mut by_topic: std::collections::BTreeMap<&str, Vec<i64>> =
        std::collections::BTreeMap::new();
    for ((topic, _), (item, _)) in items.iter().zip(&stored) {
        if let Some(topic) = topic {
            by_topic.entry(topic).or_default().push(item.id);
        }
    }
    let mut ranked: Vec<(&str, Vec<i64>)> = by_topic
        .into_iter()
        .filter(|(topic, _)| title(topic, company).is_some())
        .collect();
    ranked.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    let mut requests = 0;
    for (rank, (topic, ids)) in ranked.iter().enumerate() {
        let merged: Vec<i64> = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 10 < 7)
            .map(|(_, id)| *id)
            .collect();
        let Some(title) = title(topic, company) else {
            continue;
        };
        let request = store.create_request(
            &write,
            &Text::parse(title).map_err(|e| crate::DemoError::Options(e.to_string()))?,
            &merged,
            ChangeSource::App,
        )?;
        requests += 1;
        let issue = Some(Some(format!(
            "https://github.com/mikawaya-demo/product/issues/{}",
            100 + rank
        )));
        let (status, days_ago) = match rank {
            2 | 5 | 9 | 13 | 17 => (RequestStatus::Shipped, 40 + 15 * rank as i64),
            0 | 7 => (RequestStatus::InProgress, 20),
            3 | 11 => (RequestStatus::Planned, 30),
            15 | 20 => (RequestStatus::Declined, 60),
            _ => continue,
        };
        let at = noon - jiff::SignedDuration::from_hours(24 * days_ago);
        let closing = if status == RequestStatus::Shipped {
            let mut closing = LoopClosing::default();
            let mut told = std::collections::BTreeSet::new();
            for item in store.feedback(
                &read,
                &FeedbackFilter {
                    request: Some(request.id),
                    ..FeedbackFilter::default()
                },
            )? {
                if told.insert(item.account_id) {
                    let summary = match company {
                        Language::Ja => format!("ご要望のリリースをお知らせ: {title}"),
                        Language::En => format!("Told the customer it shipped: {title}"),
                    };
                    closing
                        .touchpoints
                        .push(mikawaya_domain::touchpoint::NewTouchpoint {
                            account_id: item.account_id,
                            kind: mikawaya_domain::touchpoint::TouchpointKind::Email,
                            occurred_at: at,
                            user_id: None,
                            summary: Some(
                                Text::parse(&summary)
                                    .map_err(|e| crate::DemoError::Options(e.to_string()))?,
                            ),
                            attendees: Vec::new(),
                            notes: None,
                            sentiment: None,
                        });
                }
            }
            closing
        } else {
            LoopClosing::default()
        };
        store.change_request(
            &manage,
            request.id,
            &RequestChange {
                status: Some(status),
                issue_url: issue,
                title: None,
                at: Some(at),
            },
            ChangeSource::Webhook,
            &closing,
        )?;
    }
    Ok((stored.len(), requests))
}
