//! The voice of the customer's numbers (`shared/domain.md`): NPS, CSAT and CES of a set of
//! survey answers, and each answer's experience, friction ("minus to zero": dissatisfaction
//! and effort) or delight ("zero to plus"), by the default rules and keyword lists.
//!
//! - **NPS** = % promoters (9-10) − % detractors (0-6), from −100 to 100.
//! - **CSAT** = % of answers 4-5 on a 1-5 scale.
//! - **CES** = mean answer on a 1-7 agreement scale ("it was easy").
//! - **Friction**: CSAT 1-3, CES 1-3, NPS 0-6 with a comment, or a comment matching a
//!   friction keyword. **Delight**: NPS 9-10 with a comment, or a comment matching a delight
//!   keyword. Friction is looked for first: a customer with an open problem is not one to
//!   delight. A person's override wins (kept by the caller).

use mikawaya_domain::work::SurveyKind;
use serde::{Deserialize, Serialize};

/// NPS, CSAT and CES of some answers, each with how many answers it rests on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Scores {
    /// NPS, −100 to 100 (none without NPS answers).
    pub nps: Option<f64>,
    /// NPS answers.
    pub nps_answers: usize,
    /// CSAT, the share of 4-5 answers as a percent (none without CSAT answers).
    pub csat: Option<f64>,
    /// CSAT answers.
    pub csat_answers: usize,
    /// CES, the mean answer 1-7 (none without CES answers).
    pub ces: Option<f64>,
    /// CES answers.
    pub ces_answers: usize,
}

impl Scores {
    /// The scores of `(kind, score)` answers.
    pub fn of(answers: impl IntoIterator<Item = (SurveyKind, i64)>) -> Scores {
        let (mut promoters, mut detractors, mut nps) = (0usize, 0usize, 0usize);
        let (mut satisfied, mut csat) = (0usize, 0usize);
        let (mut effort_sum, mut ces) = (0i64, 0usize);
        for (kind, score) in answers {
            match kind {
                SurveyKind::Nps => {
                    nps += 1;
                    promoters += usize::from(score >= 9);
                    detractors += usize::from(score <= 6);
                }
                SurveyKind::Csat => {
                    csat += 1;
                    satisfied += usize::from(score >= 4);
                }
                SurveyKind::Ces => {
                    ces += 1;
                    effort_sum += score;
                }
            }
        }
        let share = |part: usize, whole: usize| 100.0 * part as f64 / whole as f64;
        Scores {
            nps: (nps > 0).then(|| share(promoters, nps) - share(detractors, nps)),
            nps_answers: nps,
            csat: (csat > 0).then(|| share(satisfied, csat)),
            csat_answers: csat,
            ces: (ces > 0).then(|| effort_sum as f64 / ces as f64),
            ces_answers: ces,
        }
    }
}

pub use mikawaya_domain::voice::Experience;

/// The keyword lists, in English and Japanese (matched case-insensitively anywhere in the
/// text: Japanese has no spaces, so a keyword is a substring, not a word).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keywords {
    /// Words of complaint, bugs, confusion and effort.
    pub friction: Vec<String>,
    /// Words of praise, success and wishes to grow.
    pub delight: Vec<String>,
}

impl Default for Keywords {
    fn default() -> Self {
        let list = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect();
        Keywords {
            friction: list(&[
                "slow",
                "bug",
                "error",
                "broken",
                "crash",
                "confusing",
                "hard to",
                "difficult",
                "can't",
                "cannot",
                "doesn't work",
                "frustrat",
                "complicated",
                "missing",
                "too many",
                "too slow",
                "too low",
                "takes forever",
                "times out",
                "timing out",
                "by mistake",
                "logged out",
                "遅い",
                "バグ",
                "エラー",
                "不具合",
                "落ちる",
                "分かりにく",
                "わかりにく",
                "使いにく",
                "難しい",
                "できない",
                "面倒",
                "不満",
                "困って",
                "多すぎ",
                "短すぎ",
                "低すぎ",
                "失敗",
                "タイムアウト",
                "消えて",
                "大変",
            ]),
            delight: list(&[
                "love",
                "great",
                "excellent",
                "amazing",
                "saved our team",
                "saves us",
                "recommend",
                "thank you to",
                "thanks to",
                "fantastic",
                "more seats",
                "expand",
                "roll out to",
                "素晴らしい",
                "最高",
                "便利",
                "助かって",
                "感謝",
                "おすすめ",
                "推薦",
                "ありがとう",
                "拡大",
                "増やしたい",
                "全社展開",
            ]),
        }
    }
}

impl Keywords {
    fn matches(list: &[String], text: &str) -> bool {
        let text = text.to_lowercase();
        list.iter()
            .map(|w| w.trim().to_lowercase())
            .any(|w| !w.is_empty() && text.contains(&w))
    }

    /// Classifies a survey answer (or, with `answer` none, a feedback text).
    pub fn classify(&self, answer: Option<(SurveyKind, i64)>, text: Option<&str>) -> Experience {
        let commented = text.is_some_and(|t| !t.trim().is_empty());
        let friction = match answer {
            Some((SurveyKind::Csat, score)) => score <= 3,
            Some((SurveyKind::Ces, score)) => score <= 3,
            Some((SurveyKind::Nps, score)) => score <= 6 && commented,
            None => false,
        } || text.is_some_and(|t| Self::matches(&self.friction, t));
        if friction {
            return Experience::Friction;
        }
        let delight = matches!(answer, Some((SurveyKind::Nps, score)) if score >= 9 && commented)
            || text.is_some_and(|t| Self::matches(&self.delight, t));
        if delight {
            Experience::Delight
        } else {
            Experience::Neutral
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_as_worked_out_by_hand() {
        // NPS: 10, 9, 8, 6, 0 → 2 promoters, 2 detractors of 5: 40% − 40% = 0.
        // CSAT: 5, 4, 2 → 2 of 3 satisfied: 66.67%. CES: 7, 5, 3 → mean 5.
        let scores = Scores::of([
            (SurveyKind::Nps, 10),
            (SurveyKind::Nps, 9),
            (SurveyKind::Nps, 8),
            (SurveyKind::Nps, 6),
            (SurveyKind::Nps, 0),
            (SurveyKind::Csat, 5),
            (SurveyKind::Csat, 4),
            (SurveyKind::Csat, 2),
            (SurveyKind::Ces, 7),
            (SurveyKind::Ces, 5),
            (SurveyKind::Ces, 3),
        ]);
        assert_eq!(scores.nps, Some(0.0));
        assert_eq!(scores.nps_answers, 5);
        assert!((scores.csat.unwrap_or_default() - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(scores.ces, Some(5.0));
        // Three promoters of four: 75 − 0 = 75; nothing else answered.
        let promoters = Scores::of([
            (SurveyKind::Nps, 10),
            (SurveyKind::Nps, 9),
            (SurveyKind::Nps, 9),
            (SurveyKind::Nps, 7),
        ]);
        assert_eq!(
            (promoters.nps, promoters.csat, promoters.ces),
            (Some(75.0), None, None)
        );
        assert_eq!(Scores::of([]).nps, None);
    }

    #[test]
    fn friction_first_then_delight_by_the_default_rules() {
        let k = Keywords::default();
        let nps = |score| Some((SurveyKind::Nps, score));
        // Scores alone.
        assert_eq!(
            k.classify(Some((SurveyKind::Csat, 3)), None),
            Experience::Friction
        );
        assert_eq!(
            k.classify(Some((SurveyKind::Csat, 4)), None),
            Experience::Neutral
        );
        assert_eq!(
            k.classify(Some((SurveyKind::Ces, 2)), None),
            Experience::Friction
        );
        assert_eq!(
            k.classify(Some((SurveyKind::Ces, 4)), None),
            Experience::Neutral
        );
        // NPS needs a comment either way.
        assert_eq!(k.classify(nps(5), None), Experience::Neutral);
        assert_eq!(k.classify(nps(5), Some("Price")), Experience::Friction);
        assert_eq!(k.classify(nps(10), None), Experience::Neutral);
        assert_eq!(k.classify(nps(10), Some("Good")), Experience::Delight);
        // Keywords, in either language, inside Japanese text without spaces.
        assert_eq!(
            k.classify(nps(8), Some("レポートの画面が使いにくいです")),
            Experience::Friction
        );
        assert_eq!(
            k.classify(nps(8), Some("チームに展開して本当に助かっています")),
            Experience::Delight
        );
        assert_eq!(
            k.classify(None, Some("We LOVE the new dashboards")),
            Experience::Delight
        );
        // A promoter who reports a bug has friction first.
        assert_eq!(
            k.classify(nps(10), Some("Great, but exports crash")),
            Experience::Friction
        );
        assert_eq!(
            k.classify(None, Some("Renewal call next week")),
            Experience::Neutral
        );
    }
}
