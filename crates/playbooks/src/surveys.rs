//! Surveys Mikawaya hosts, as leaders define them (JSON), and the signed per-recipient
//! links that open them.
//!
//! ```json
//! {"name": "nps", "kind": "nps",
//!  "title": {"en": "How are we doing?", "ja": "ご評価のお願い"},
//!  "question": {"en": "How likely are you to recommend us?", "ja": "当社を薦める可能性は？"},
//!  "questions": [{"key": "role", "label": {"en": "Your role"}, "kind": "choice",
//!                 "choices": [{"en": "Admin", "ja": "管理者"}, {"en": "User", "ja": "利用者"}]}],
//!  "edit_hours": 72, "expires_days": 30, "rest_days": 90}
//! ```
//!
//! A link's token is `sv_` + the HMAC-SHA256 of the send's key under the data dir's secret:
//! nobody without the secret can make one, and only its SHA-256 is stored.

use crate::spec::Localized;
use hmac::{Hmac, Mac};
use mikawaya_domain::Invalid;
use mikawaya_domain::value::Slug;
use mikawaya_domain::work::SurveyKind;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Hours an answer may be changed after it was first given, by default.
pub const EDIT_HOURS: u32 = 72;
/// Days a link works, by default.
pub const EXPIRES_DAYS: u32 = 30;
/// Days a contact is not surveyed again, by default.
pub const REST_DAYS: u32 = 90;

fn edit_hours() -> u32 {
    EDIT_HOURS
}
fn expires_days() -> u32 {
    EXPIRES_DAYS
}
fn rest_days() -> u32 {
    REST_DAYS
}

/// The kind of a custom question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Free text.
    Text,
    /// One of the choices.
    Choice,
    /// 1 to 5.
    Scale,
}

/// A question after the first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Its key in the answers (a slug).
    pub key: String,
    /// The question.
    pub label: Localized,
    /// text, choice or scale.
    pub kind: QuestionKind,
    /// The choices of a choice question.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Localized>,
}

/// A survey as leaders define it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyDef {
    /// Its name (a slug).
    pub name: String,
    /// What the first question measures: nps (0-10), csat (1-5) or ces (1-7).
    pub kind: SurveyKind,
    /// The page's title.
    pub title: Localized,
    /// The first question.
    pub question: Localized,
    /// The comment box's prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<Localized>,
    /// Further questions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<Question>,
    /// Hours after the first answer during which it may be changed.
    #[serde(default = "edit_hours")]
    pub edit_hours: u32,
    /// Days the link works.
    #[serde(default = "expires_days")]
    pub expires_days: u32,
    /// Days a contact is not surveyed again (by any survey).
    #[serde(default = "rest_days")]
    pub rest_days: u32,
    /// Whether it may be sent.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl SurveyDef {
    /// Checks a definition; errors name the field.
    pub fn check(self) -> Result<SurveyDef, Invalid> {
        Slug::parse(&self.name).map_err(|e| e.in_field("name"))?;
        for (field, text) in [("title", &self.title), ("question", &self.question)] {
            if text.en.trim().is_empty() {
                return Err(Invalid::new(format!("{field}.en"), "must not be empty"));
            }
        }
        if !(1..=24 * 90).contains(&self.edit_hours) {
            return Err(Invalid::new("edit_hours", "must be 1 to 2160"));
        }
        if !(1..=365).contains(&self.expires_days) {
            return Err(Invalid::new("expires_days", "must be 1 to 365"));
        }
        if self.rest_days > 3650 {
            return Err(Invalid::new("rest_days", "must be 0 to 3650"));
        }
        if self.questions.len() > 20 {
            return Err(Invalid::new("questions", "at most 20"));
        }
        let mut keys = std::collections::BTreeSet::new();
        for (i, q) in self.questions.iter().enumerate() {
            let at = format!("questions[{i}]");
            Slug::parse(&q.key).map_err(|e| e.in_field(format!("{at}.key")))?;
            if !keys.insert(q.key.clone()) {
                return Err(Invalid::new(format!("{at}.key"), "is used twice"));
            }
            if q.label.en.trim().is_empty() {
                return Err(Invalid::new(format!("{at}.label.en"), "must not be empty"));
            }
            match (q.kind, q.choices.len()) {
                (QuestionKind::Choice, 0) => {
                    return Err(Invalid::new(
                        format!("{at}.choices"),
                        "a choice question needs choices",
                    ));
                }
                (QuestionKind::Text | QuestionKind::Scale, n) if n > 0 => {
                    return Err(Invalid::new(
                        format!("{at}.choices"),
                        "only a choice question has choices",
                    ));
                }
                _ => {}
            }
        }
        Ok(self)
    }

    /// Checks a custom answer against its question: the value kept, or the field's error.
    pub fn check_answer(&self, key: &str, raw: &str) -> Result<Option<serde_json::Value>, Invalid> {
        let Some(question) = self.questions.iter().find(|q| q.key == key) else {
            return Err(Invalid::new(key, "no such question"));
        };
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        match question.kind {
            QuestionKind::Text => {
                if raw.chars().count() > 5000 {
                    return Err(Invalid::new(key, "at most 5,000 characters"));
                }
                Ok(Some(serde_json::Value::String(raw.to_owned())))
            }
            QuestionKind::Scale => match raw.parse::<i64>() {
                Ok(n) if (1..=5).contains(&n) => Ok(Some(serde_json::Value::from(n))),
                _ => Err(Invalid::new(key, "must be 1 to 5")),
            },
            QuestionKind::Choice => match raw.parse::<usize>() {
                Ok(i) if i < question.choices.len() => Ok(Some(serde_json::Value::String(
                    question.choices[i].en.clone(),
                ))),
                _ => Err(Invalid::new(key, "is not one of the choices")),
            },
        }
    }
}

fn text(en: &str, ja: &str) -> Localized {
    Localized {
        en: en.to_owned(),
        ja: Some(ja.to_owned()),
    }
}

/// The standard survey of a kind, named after it.
pub fn standard(kind: SurveyKind) -> SurveyDef {
    let (title, question) = match kind {
        SurveyKind::Nps => (
            text("How are we doing?", "ご評価のお願い"),
            text(
                "How likely are you to recommend us to a friend or colleague? (0 = not at all likely, 10 = extremely likely)",
                "当社を友人や同僚に薦める可能性はどのくらいありますか？（0＝まったくない、10＝非常に高い）",
            ),
        ),
        SurveyKind::Csat => (
            text("How did we do?", "ご満足度のお伺い"),
            text(
                "How satisfied are you with the help you received? (1 = very dissatisfied, 5 = very satisfied)",
                "今回のサポートにどのくらい満足されましたか？（1＝非常に不満、5＝非常に満足）",
            ),
        ),
        SurveyKind::Ces => (
            text("Was it easy?", "手間についてのお伺い"),
            text(
                "The company made it easy for me to handle my issue. (1 = strongly disagree, 7 = strongly agree)",
                "問題の解決は簡単でしたか。（1＝まったくそう思わない、7＝とてもそう思う）",
            ),
        ),
    };
    SurveyDef {
        name: kind.as_str().to_owned(),
        kind,
        title,
        question,
        comment: Some(text(
            "What is the main reason for your answer?",
            "そのように回答された一番の理由を教えてください。",
        )),
        questions: Vec::new(),
        edit_hours: EDIT_HOURS,
        expires_days: EXPIRES_DAYS,
        rest_days: REST_DAYS,
        active: true,
    }
}

/// The token of a send's link: `sv_` + hex HMAC-SHA256 of `key` under `secret`.
pub fn link_token(secret: &str, key: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("survey:{key}").as_bytes());
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sv_{hex}")
}

/// What is stored of a link's token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a contact is drawn into a sample of `percent` on a day: a stable hash of
/// (playbook, contact, day), so the same evaluation draws the same contacts.
pub fn drawn(
    playbook: &str,
    contact: mikawaya_domain::ContactId,
    day: jiff::civil::Date,
    percent: u8,
) -> bool {
    if percent >= 100 {
        return true;
    }
    let hash = xxhash_rust::xxh3::xxh3_64(format!("{playbook}/{contact}/{day}").as_bytes());
    hash % 100 < u64::from(percent)
}

/// The path of a survey link.
pub fn link_path(token: &str) -> String {
    format!("/s/{token}")
}

/// The email that carries a survey link, in a language (`ja` or English).
pub fn email(
    def: &SurveyDef,
    locale: &str,
    contact: &str,
    account: &str,
    url: &str,
) -> (String, String) {
    let title = def.title.pick(locale);
    let question = def.question.pick(locale);
    if locale == "ja" {
        (
            format!("{account} 様: {title}"),
            format!(
                "{contact} 様\n\nいつもご利用いただきありがとうございます。\n\n{question}\n\n下記のリンクから1分ほどでご回答いただけます。\n{url}\n\n回答後しばらくは、同じリンクから回答を変更できます。"
            ),
        )
    } else {
        (
            format!("{title} ({account})"),
            format!(
                "Hello {contact},\n\nThank you for working with us.\n\n{question}\n\nIt takes about a minute, at this link:\n{url}\n\nFor a while after you answer, the same link lets you change your answer."
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_checked_field_by_field_and_tokens_are_signed() {
        assert!(standard(SurveyKind::Nps).check().is_ok());
        let mut bad = standard(SurveyKind::Csat);
        bad.questions.push(Question {
            key: "why".to_owned(),
            label: text("Why?", "なぜ？"),
            kind: QuestionKind::Choice,
            choices: Vec::new(),
        });
        assert_eq!(
            bad.check().map_err(|e| e.field),
            Err("questions[0].choices".to_owned())
        );
        let mut bad = standard(SurveyKind::Ces);
        bad.expires_days = 0;
        assert_eq!(
            bad.check().map_err(|e| e.field),
            Err("expires_days".to_owned())
        );
        let a = link_token("secret one", "k");
        assert!(a.starts_with("sv_") && a.len() == 67);
        assert_ne!(a, link_token("secret two", "k"));
        assert_ne!(a, link_token("secret one", "l"));
    }
}
