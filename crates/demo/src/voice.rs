//! What the demo's customers say and how their people feel: stakeholders' personal success,
//! influence and sentiment; NPS and CSAT answers with verbatims; the CSMs' monthly pulses.
//! All driven by each account's hidden value received, from a random stream of its own (so
//! adding it left the rest of the company as it was).

use jiff::civil::Date;
use mikawaya_domain::contact::{ContactRole, Influence, Sentiment};
use mikawaya_domain::value::Email;
use mikawaya_domain::work::SurveyKind;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

/// A survey answer to store once the accounts and contacts exist.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyPlan {
    /// The account, by external id.
    pub account: String,
    /// Who answered, by contact external id.
    pub contact: Option<String>,
    /// NPS or CSAT.
    pub kind: SurveyKind,
    /// The score.
    pub score: i64,
    /// What they wrote.
    pub comment: Option<String>,
    /// When answered (or, unanswered, when sent).
    pub at: jiff::Timestamp,
    /// When the survey was sent.
    pub sent_at: jiff::Timestamp,
    /// Whether it was answered (unanswered sends keep the response rate honest).
    pub answered: bool,
}

/// A CSM's pulse to store.
#[derive(Debug, Clone, PartialEq)]
pub struct PulsePlan {
    /// The account, by external id.
    pub account: String,
    /// The CSM.
    pub owner: Email,
    /// 0-100.
    pub score: i64,
    /// Why.
    pub reason: String,
    /// When.
    pub at: jiff::Timestamp,
}

/// The stream for one account's voice data.
pub(crate) fn stream(seed: u64, index: u32) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ 0x766f_6963_6500_0000 ^ u64::from(index).rotate_left(17))
}

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// A stakeholder's personal success, influence and sentiment, by role and the value the
/// account receives.
pub(crate) fn stakeholder(
    rng: &mut ChaCha8Rng,
    role: ContactRole,
    value: f64,
    ja: bool,
) -> (Option<String>, Option<Influence>, Option<Sentiment>) {
    let (en, jp, influence) = match role {
        ContactRole::DecisionMaker => (
            "Show the board a 20% cut in support costs this year",
            "今期中にサポートコスト20%削減を経営会議で報告する",
            Influence::High,
        ),
        ContactRole::ExecutiveSponsor => (
            "A reporting process the auditors accept first time",
            "監査で一度で通る報告プロセスを整える",
            Influence::High,
        ),
        ContactRole::Champion => (
            "Be recognised for rolling the product out to every team",
            "全部署への展開を主導した実績を評価されたい",
            if rng.random_bool(0.6) {
                Influence::High
            } else {
                Influence::Medium
            },
        ),
        ContactRole::Admin => (
            "Set up a new hire in one day, not a week",
            "新入社員のアカウント設定を1週間から1日に短縮したい",
            Influence::Medium,
        ),
        ContactRole::Billing => (
            "One invoice a month that matches the purchase order",
            "発注書と一致する請求書を月1回にまとめたい",
            Influence::Low,
        ),
        ContactRole::EndUser => (
            "Finish the monthly report in an hour instead of a day",
            "月次レポートを1日ではなく1時間で終わらせたい",
            if rng.random_bool(0.3) {
                Influence::Medium
            } else {
                Influence::Low
            },
        ),
    };
    let known = match role {
        ContactRole::EndUser | ContactRole::Billing => rng.random_bool(0.35),
        _ => rng.random_bool(0.8),
    };
    let noisy = (value + rng.random_range(-0.25..0.25)).clamp(0.0, 1.0);
    let sentiment = if !rng.random_bool(0.85) {
        None
    } else if noisy > 0.66 {
        Some(Sentiment::Positive)
    } else if noisy < 0.36 {
        Some(Sentiment::Negative)
    } else {
        Some(Sentiment::Neutral)
    };
    let text = if ja { jp } else { en };
    (known.then(|| text.to_owned()), Some(influence), sentiment)
}

const EN_PROMOTER: &[&str] = &[
    "The weekly report saves my team hours.",
    "Support answers the same day. Great partner.",
    "Rolled out to two more departments; everyone likes it.",
];
const JA_PROMOTER: &[&str] = &[
    "週次レポートでチームの作業時間が大幅に減りました。",
    "サポートの回答が早く、頼れるパートナーです。",
    "他の2部署にも展開し、好評です。",
];
const EN_PASSIVE: &[&str] = &[
    "Does the job, but exports are slow.",
    "Fine overall; the admin screens are confusing.",
];
const JA_PASSIVE: &[&str] = &[
    "用途は満たしているが、エクスポートが遅い。",
    "全体的には良いが、管理画面がわかりにくい。",
];
const EN_DETRACTOR: &[&str] = &[
    "Too hard to set up; we still use spreadsheets.",
    "The sync broke twice this month and nobody told us.",
    "Price went up but we use fewer features.",
];
const JA_DETRACTOR: &[&str] = &[
    "設定が難しく、結局まだスプレッドシートを使っている。",
    "今月2回同期が止まったのに連絡がなかった。",
    "値上げされたが、使っている機能は減っている。",
];

fn noon(day: Date, hour: i8) -> jiff::Timestamp {
    day.at(hour, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_or(jiff::Timestamp::UNIX_EPOCH, |z| z.timestamp())
}

/// Relationship NPS twice a year and a CSAT after some quarters, from `from` to `until`,
/// answered by the account's stakeholders.
pub(crate) fn surveys(
    rng: &mut ChaCha8Rng,
    account: &str,
    contacts: &[String],
    value: f64,
    from: Date,
    until: Date,
    ja: bool,
) -> Vec<SurveyPlan> {
    let mut answers = Vec::new();
    if contacts.is_empty() || from >= until {
        return answers;
    }
    let mut day = from
        .checked_add(jiff::Span::new().days(rng.random_range(20..120)))
        .unwrap_or(from);
    while day < until {
        let hour = |h: i8| noon(day, h);
        if !rng.random_bool(0.7) {
            // Sent, never answered (no draw from the stream, so the rest stays as it was).
            let contact = contacts[day.day() as usize % contacts.len()].clone();
            answers.push(SurveyPlan {
                account: account.to_owned(),
                contact: Some(contact),
                kind: SurveyKind::Nps,
                score: 0,
                comment: None,
                at: hour(0),
                sent_at: hour(0),
                answered: false,
            });
        } else {
            let contact = contacts[rng.random_range(0..contacts.len())].clone();
            let score = (value * 10.0 + rng.random_range(-2.5..2.0))
                .round()
                .clamp(0.0, 10.0) as i64;
            let texts = match (score, ja) {
                (9..=10, false) => EN_PROMOTER,
                (9..=10, true) => JA_PROMOTER,
                (7..=8, false) => EN_PASSIVE,
                (7..=8, true) => JA_PASSIVE,
                (_, false) => EN_DETRACTOR,
                (_, true) => JA_DETRACTOR,
            };
            let comment = rng.random_bool(0.6).then(|| pick(rng, texts).to_owned());
            answers.push(SurveyPlan {
                account: account.to_owned(),
                contact: Some(contact),
                kind: SurveyKind::Nps,
                score,
                comment,
                at: noon(day, rng.random_range(1..9)),
                sent_at: hour(0),
                answered: true,
            });
        }
        let quarter = day
            .checked_add(jiff::Span::new().days(rng.random_range(80..100)))
            .unwrap_or(until);
        if quarter < until && rng.random_bool(0.4) {
            let score = (1.0 + value * 4.0 + rng.random_range(-1.0..1.0))
                .round()
                .clamp(1.0, 5.0) as i64;
            answers.push(SurveyPlan {
                account: account.to_owned(),
                contact: Some(contacts[rng.random_range(0..contacts.len())].clone()),
                kind: SurveyKind::Csat,
                score,
                comment: None,
                at: noon(quarter, rng.random_range(1..9)),
                sent_at: noon(quarter, 0),
                answered: true,
            });
        }
        day = day
            .checked_add(jiff::Span::new().days(rng.random_range(170..195)))
            .unwrap_or(until);
    }
    answers
}

const EN_PULSE: &[(&str, &str, &str)] = &[(
    "Champion engaged, new team onboarding",
    "Usage flat; waiting on their IT",
    "Sponsor left; renewal at risk",
)];
const JA_PULSE: &[(&str, &str, &str)] = &[(
    "チャンピオンが積極的、新チームを導入中",
    "利用は横ばい、先方ITの対応待ち",
    "スポンサーが退職、更新リスクあり",
)];

/// The owner's pulse on a high-touch account each month of the last six.
pub(crate) fn pulses(
    rng: &mut ChaCha8Rng,
    account: &str,
    owner: &Email,
    value: f64,
    until: Date,
    ja: bool,
) -> Vec<PulsePlan> {
    let (good, middling, bad) = if ja { JA_PULSE[0] } else { EN_PULSE[0] };
    (1..=6)
        .rev()
        .filter_map(|months_back| {
            let day = until
                .checked_sub(jiff::Span::new().months(months_back))
                .ok()?
                .checked_add(jiff::Span::new().days(rng.random_range(0..20)))
                .ok()?;
            let score = (value * 100.0 + rng.random_range(-15.0..15.0))
                .round()
                .clamp(0.0, 100.0) as i64;
            let reason = match score {
                70.. => good,
                40..=69 => middling,
                _ => bad,
            };
            Some(PulsePlan {
                account: account.to_owned(),
                owner: owner.clone(),
                score,
                reason: reason.to_owned(),
                at: noon(day, 8),
            })
        })
        .collect()
}
