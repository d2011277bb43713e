//! Which feedback says the same thing: text similarity for Japanese and English, so similar
//! items can be suggested for one feature request.
//!
//! A text becomes a set of features:
//! - **English words**, lower-cased, without common words, with plural and verb endings
//!   taken off (`exports`, `exporting` → `export`);
//! - **Japanese**, which has no spaces: character bigrams of each run of kanji and kana
//!   (a bigram of hiragana only is mostly grammar and is left out), and the runs of
//!   katakana and of kanji as words (script changes are where Japanese words mostly begin
//!   and end);
//! - **concepts** of a customer-success product's vocabulary (export, SSO, dashboard,
//!   notification...), each named by its English and Japanese words, so `エクスポート` and
//!   `export`, or `alert` and `通知`, meet.
//!
//! Features are weighted by their inverse document frequency over the items indexed, and
//! two texts' similarity is the cosine of their weighted feature sets (0 to 1).
//! Placing a new item walks only the items that share a feature with it (an inverted
//! index), so it stays fast on 100,000 items (`docs/benchmarks.md`).
//!
//! No segmenter with a model is used: the ones whose model ships in their crate were
//! checked and failed (ARCHITECTURE.md says which and why).

use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};

/// The similarity above which a merge is suggested (chosen on the labelled pairs of
/// `docs/benchmarks.md`: precision at least 0.9).
pub const SUGGEST_AT: f64 = 0.4;

/// Concepts of the product's vocabulary, each with the words (English stems or any text,
/// Japanese substrings) that name it. At most 128.
#[rustfmt::skip]
const CONCEPTS: &[(&str, &[&str])] = &[
    ("export", &["export", "download", "出力", "エクスポート", "ダウンロード"]),
    ("import", &["import", "upload", "取り込", "インポート", "アップロード"]),
    ("sheet", &["csv", "excel", "spreadsheet", "スプレッドシート", "エクセル"]),
    ("notify", &["notif", "alert", "通知", "アラート"]),
    ("email", &["email", "e-mail", "inbox", "メール", "受信箱"]),
    ("sso", &["sso", "saml", "single sign", "シングルサインオン", "okta", "azure ad"]),
    ("slow", &["slow", "forever", "take ages", "takes ages", "遅", "時間がかか"]),
    ("timeout", &["timeout", "time out", "timing out", "timed out", "タイムアウト"]),
    ("session", &["session", "logged out", "log out", "セッション", "ログアウト"]),
    ("two-factor", &["2fa", "two-factor", "two factor", "two-step", "二要素", "2段階"]),
    ("dashboard", &["dashboard", "ダッシュボード"]),
    ("widget", &["widget", "layout", "ウィジェット", "レイアウト", "customiz", "カスタマイズ", "並べ替え"]),
    ("date-range", &["date range", "date filter", "期間", "日付"]),
    ("read-only", &["read-only", "read only", "viewer", "view but not", "閲覧"]),
    ("permission", &["permission", "role", "権限", "ロール"]),
    ("audit", &["audit", "history of change", "who changed", "who deleted", "監査", "変更履歴"]),
    ("rate-limit", &["rate limit", "429", "requests allowed", "レート制限", "リクエスト数"]),
    ("dark-mode", &["dark mode", "dark theme", "ダークモード", "ダークテーマ"]),
    ("translation", &["translat", "日本語訳", "翻訳", "英語のまま", "英語と日本語"]),
    ("search", &["search", "find", "検索", "探し"]),
    ("invoice", &["invoice", "請求書"]),
    ("bank-transfer", &["bank transfer", "wire transfer", "振込"]),
    ("mobile", &["mobile", "iphone", "ios app", "android", "smartphone", "モバイル", "スマホ", "iosアプリ"]),
    ("bulk-edit", &["bulk edit", "mass update", "at once", "in one go", "一括編集", "一括更新", "まとめて編集", "一度に"]),
    ("restore", &["restore", "recover", "undo", "trash", "復元", "元に戻", "ゴミ箱", "取り消"]),
    ("duplicate", &["duplicate", "already exist", "重複"]),
    ("support", &["support team", "support has", "サポート"]),
    ("expand", &["seat", "licen", "expand", "roll out to", "席", "ライセンス", "拡大", "展開したい"]),
    ("calendar", &["calendar", "カレンダー"]),
    ("outlook", &["outlook", "microsoft", "exchange"]),
    ("google", &["google"]),
    ("recurring", &["recur", "repeat", "繰り返"]),
    ("reminder", &["remind", "リマインド"]),
    ("time-saved", &["saved", "half the time", "faster", "from a day to", "短縮", "半分", "減り", "速くな"]),
    ("slack", &["slack"]),
    ("salesforce", &["salesforce"]),
    ("hubspot", &["hubspot"]),
    ("contact", &["contact", "連絡先", "担当者リスト", "コンタクト"]),
    ("report", &["report", "レポート"]),
    ("pdf", &["pdf"]),
    ("task", &["task", "タスク"]),
    ("api", &["api"]),
    ("meeting", &["meeting", "会議", "打ち合わせ", "ミーティング"]),
    ("login", &["login", "log in", "logged", "sign in", "signing in", "ログイン", "サインイン"]),
    ("password", &["password", "パスワード"]),
    ("sync", &["sync", "integrat", "connect", "同期", "連携", "コネクタ"]),
];

/// English words too common to tell texts apart.
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "because", "been", "before", "being", "but", "by", "can", "could", "did", "do", "does", "for",
    "from", "get", "had", "has", "have", "help", "how", "i", "if", "in", "into", "is", "it", "its",
    "just", "let", "like", "lot", "make", "me", "more", "much", "my", "need", "no", "not", "now",
    "of", "on", "only", "or", "our", "out", "please", "so", "some", "than", "that", "the", "their",
    "them", "then", "there", "these", "they", "this", "to", "too", "up", "us", "very", "want",
    "was", "way", "we", "were", "what", "when", "which", "while", "who", "why", "will", "with",
    "would", "you", "your",
];

/// What kind of character, for finding runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Hiragana,
    Katakana,
    Kanji,
    Other,
}

fn script(c: char) -> Script {
    match c {
        'a'..='z' | '0'..='9' => Script::Latin,
        '\u{3041}'..='\u{309F}' => Script::Hiragana,
        '\u{30A0}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}' => Script::Katakana,
        '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '々' => Script::Kanji,
        _ => Script::Other,
    }
}

/// Full-width ASCII as ASCII, the ideographic space as a space, lower case.
pub fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// An English word without its plural or verb ending.
fn stem(word: &str) -> &str {
    for (suffix, keep) in [("ing", 4), ("ed", 4), ("es", 4), ("s", 3)] {
        if let Some(base) = word.strip_suffix(suffix)
            && base.len() >= keep
            && !word.ends_with("ss")
        {
            return base;
        }
    }
    word
}

fn feature(kind: u8, text: &str) -> u64 {
    let mut hasher = FxHasher::default();
    kind.hash(&mut hasher);
    text.hash(&mut hasher);
    hasher.finish()
}

/// What a text is made of for comparing: its words (hashed, sorted, each once) and the
/// concepts of the vocabulary it names (one bit each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Features {
    /// Words, Japanese bigrams and runs.
    pub words: Vec<u64>,
    /// Concepts named.
    pub concepts: u128,
}

/// A text's features.
pub fn features(text: &str) -> Features {
    let text = normalize(text);
    let mut words = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut start = 0;
    while start < chars.len() {
        let kind = script(chars[start]);
        let mut end = start + 1;
        let same_run = |c: char| match kind {
            Script::Latin => script(c) == Script::Latin || c == '\'' || c == '-',
            Script::Other => script(c) == Script::Other,
            _ => matches!(
                script(c),
                Script::Hiragana | Script::Katakana | Script::Kanji
            ),
        };
        while end < chars.len() && same_run(chars[end]) {
            end += 1;
        }
        let run = &chars[start..end];
        match kind {
            Script::Latin => {
                let word: String = run.iter().filter(|c| **c != '\'').collect();
                for part in word.split('-').filter(|w| !w.is_empty()) {
                    if !STOP_WORDS.contains(&part) {
                        words.push(feature(b'w', stem(part)));
                    }
                }
            }
            Script::Other => {}
            _ => japanese(run, &mut words),
        }
        start = end;
    }
    words.sort_unstable();
    words.dedup();
    let mut concepts = 0u128;
    for (bit, (_, names)) in CONCEPTS.iter().enumerate().take(128) {
        if names.iter().any(|w| text.contains(w)) {
            concepts |= 1 << bit;
        }
    }
    Features { words, concepts }
}

/// Bigrams of a kana and kanji run (not of hiragana alone), and its katakana and kanji runs.
fn japanese(run: &[char], out: &mut Vec<u64>) {
    let mut buffer = String::new();
    for pair in run.windows(2) {
        if pair.iter().all(|c| script(*c) == Script::Hiragana) {
            continue;
        }
        buffer.clear();
        buffer.extend(pair);
        out.push(feature(b'b', &buffer));
    }
    let mut start = 0;
    while start < run.len() {
        let kind = script(run[start]);
        let mut end = start + 1;
        while end < run.len() && script(run[end]) == kind {
            end += 1;
        }
        if matches!(kind, Script::Katakana | Script::Kanji) && end - start >= 2 {
            buffer.clear();
            buffer.extend(&run[start..end]);
            out.push(feature(b'j', &buffer));
        }
        start = end;
    }
}

struct Entry {
    key: i64,
    words: Box<[u64]>,
    concepts: u128,
    norm: f32,
}

/// How much shared concepts count against shared words, by default.
pub const CONCEPT_WEIGHT: f64 = 0.6;

/// Indexed texts, each under a key (a feedback item's id), for finding the most similar.
///
/// Two texts' similarity is `w × J + (1 − w) × cos`: `J` the share of concepts they have in
/// common (of those either names), `cos` the cosine of their words weighed by inverse
/// document frequency, `w` the concept weight (when neither names a concept, the cosine
/// alone).
pub struct Index {
    entries: Vec<Entry>,
    postings: FxHashMap<u64, Vec<u32>>,
    by_concept: Vec<Vec<u32>>,
    /// How many entries had their norm computed with the frequencies of that size.
    normed_at: usize,
    concept_weight: f64,
}

impl Default for Index {
    fn default() -> Self {
        Index::new(CONCEPT_WEIGHT)
    }
}

impl Index {
    /// An empty index (`concept_weight`: 0 leaves the vocabulary's concepts out).
    pub fn new(concept_weight: f64) -> Index {
        Index {
            entries: Vec::new(),
            postings: FxHashMap::default(),
            by_concept: vec![Vec::new(); CONCEPTS.len().min(128)],
            normed_at: 0,
            concept_weight: concept_weight.clamp(0.0, 1.0),
        }
    }

    /// Texts indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn idf(&self, feature: u64) -> f32 {
        let df = self.postings.get(&feature).map_or(0, Vec::len);
        (((self.entries.len() + 1) as f32) / ((df + 1) as f32)).ln() + 1.0
    }

    fn norm(&self, words: &[u64]) -> f32 {
        words
            .iter()
            .map(|f| self.idf(*f).powi(2))
            .sum::<f32>()
            .sqrt()
    }

    /// Adds texts under their keys, weighing the norms once at the end.
    pub fn extend<'t>(&mut self, texts: impl IntoIterator<Item = (i64, &'t str)>) {
        for (key, text) in texts {
            self.push(key, text);
        }
        self.reweigh();
    }

    /// Adds a text under a key.
    pub fn insert(&mut self, key: i64, text: &str) {
        self.push(key, text);
        // Frequencies drift as texts come in: weigh every norm again when the index has
        // grown by a tenth since they were weighed.
        if self.entries.len() > self.normed_at + self.normed_at / 10 {
            self.reweigh();
        }
    }

    fn push(&mut self, key: i64, text: &str) {
        let Features { words, concepts } = features(text);
        let position = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
        for f in &words {
            self.postings.entry(*f).or_default().push(position);
        }
        for (bit, list) in self.by_concept.iter_mut().enumerate() {
            if concepts & (1 << bit) != 0 {
                list.push(position);
            }
        }
        let norm = self.norm(&words);
        self.entries.push(Entry {
            key,
            words: words.into_boxed_slice(),
            concepts,
            norm,
        });
    }

    /// Weighs every entry's norm with today's frequencies.
    pub fn reweigh(&mut self) {
        let norms: Vec<f32> = self.entries.iter().map(|e| self.norm(&e.words)).collect();
        for (entry, norm) in self.entries.iter_mut().zip(norms) {
            entry.norm = norm;
        }
        self.normed_at = self.entries.len();
    }

    fn blend(&self, cosine: f64, a: u128, b: u128) -> f64 {
        let either = (a | b).count_ones();
        if either == 0 || self.concept_weight == 0.0 {
            return cosine;
        }
        let shared = f64::from((a & b).count_ones()) / f64::from(either);
        self.concept_weight * shared + (1.0 - self.concept_weight) * cosine
    }

    /// The `limit` indexed texts most similar to `text` (at least `at_least`), best first,
    /// leaving out `except`.
    pub fn nearest(
        &self,
        text: &str,
        limit: usize,
        at_least: f64,
        except: Option<i64>,
    ) -> Vec<(i64, f64)> {
        let query = features(text);
        let weights: Vec<(u64, f32)> = query.words.iter().map(|f| (*f, self.idf(*f))).collect();
        let query_norm = weights.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        let mut dots: FxHashMap<u32, f32> = FxHashMap::default();
        for (f, w) in &weights {
            if let Some(list) = self.postings.get(f) {
                let weight = w * w;
                for position in list {
                    *dots.entry(*position).or_default() += weight;
                }
            }
        }
        if self.concept_weight > 0.0 {
            for (bit, list) in self.by_concept.iter().enumerate() {
                if query.concepts & (1 << bit) != 0 {
                    for position in list {
                        dots.entry(*position).or_default();
                    }
                }
            }
        }
        let mut found: Vec<(i64, f64)> = dots
            .into_iter()
            .filter_map(|(position, dot)| {
                let entry = self.entries.get(position as usize)?;
                if Some(entry.key) == except {
                    return None;
                }
                let cosine = if entry.norm == 0.0 || query_norm == 0.0 {
                    0.0
                } else {
                    f64::from(dot / (query_norm * entry.norm)).min(1.0)
                };
                let score = self.blend(cosine, query.concepts, entry.concepts);
                (score >= at_least && score > 0.0).then_some((entry.key, score))
            })
            .collect();
        found.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        found.truncate(limit);
        found
    }

    /// The similarity of two texts, weighed by this index's frequencies (0 to 1).
    pub fn similarity(&self, a: &str, b: &str) -> f64 {
        let (a, b) = (features(a), features(b));
        let (na, nb) = (self.norm(&a.words), self.norm(&b.words));
        let cosine = if na == 0.0 || nb == 0.0 {
            0.0
        } else {
            let shared: f32 = a
                .words
                .iter()
                .filter(|f| b.words.binary_search(f).is_ok())
                .map(|f| self.idf(*f).powi(2))
                .sum();
            f64::from(shared / (na * nb)).min(1.0)
        };
        self.blend(cosine, a.concepts, b.concepts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_is_read_as_ascii_and_endings_are_taken_off() {
        assert_eq!(normalize("ＣＳＶ　Ｅｘｐｏｒｔ"), "csv export");
        assert_eq!(stem("exports"), "export");
        assert_eq!(stem("exporting"), "export");
        assert_eq!(stem("class"), "class");
        assert_eq!(features("ＣＳＶ"), features("csv"));
        assert_ne!(features("csv").concepts, 0);
    }

    #[test]
    fn japanese_without_spaces_meets_its_paraphrase_and_not_another_request() {
        let mut index = Index::default();
        let texts = [
            (1, "レポートをCSVでエクスポートできるようにしてほしいです。"),
            (2, "連絡先をCSVファイルから一括でインポートしたいです。"),
            (3, "ダッシュボードの表示がとても遅いです。"),
            (4, "Please let us export reports to CSV."),
            (5, "Send alerts to our Slack channel."),
        ];
        for (key, text) in texts {
            index.insert(key, text);
        }
        let found = index.nearest(
            "レポート画面からCSV出力ができると助かります。",
            3,
            0.0,
            None,
        );
        assert_eq!(found.first().map(|f| f.0), Some(1), "{found:?}");
        let english = index.nearest("We need a CSV export of the reports page", 3, 0.0, None);
        assert_eq!(english.first().map(|f| f.0), Some(4), "{english:?}");
        // Sharing "CSV" alone is not the same request.
        assert!(
            index.similarity(texts[0].1, texts[1].1) < index.similarity(texts[0].1, texts[3].1)
        );
        // Nothing in common: nothing found.
        assert!(index.nearest("まったく関係ない", 3, 0.1, None).is_empty());
    }
}
