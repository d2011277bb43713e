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
mod tests {
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
