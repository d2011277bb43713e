//! The engines' reasons (written in English) in Japanese, phrase by phrase, so a refused
//! value keeps its file, line, column and quoted value: the CLI and the pages that show
//! row errors (imports) speak the user's language without a catalogue per message.

use crate::language::Language;

/// English phrases of the engines' reasons and their Japanese, longest first where one
/// contains another.
const PHRASES: &[(&str, &str)] = &[
    (
        "is required for a new account",
        "は新しいアカウントに必須です",
    ),
    ("is required", "は必須です"),
    (": change those first", ": 先にそれらを変更してください"),
    (" is used by ", " は次で使われています: "),
    ("is empty", "が空です"),
    ("must not be empty", "は空にできません"),
    (
        "must not contain control characters",
        "に制御文字は使えません",
    ),
    ("must be a number", "は数値で書いてください"),
    ("must be after the start", "は開始日より後にしてください"),
    (
        "is not a date (YYYY-MM-DD)",
        "は日付ではありません (YYYY-MM-DD)",
    ),
    (
        "is not a timestamp (RFC 3339 or YYYY-MM-DD)",
        "は日時ではありません (RFC 3339 または YYYY-MM-DD)",
    ),
    ("is not an amount", "は金額ではありません"),
    ("is not an email address", "はメールアドレスではありません"),
    (
        "is not a three-letter currency code",
        "は3文字の通貨コードではありません",
    ),
    ("is not yes or no", "は「はい/いいえ」ではありません"),
    (
        "is not a whole number of months (0-1200)",
        "は月数 (0〜1200 の整数) ではありません",
    ),
    (
        "is not a whole number of units",
        "は整数の数量ではありません",
    ),
    ("is not one of:", "は次のどれでもありません:"),
    ("is out of range", "は範囲外です"),
    (
        "is already used by another account",
        "は別のアカウントが使っています",
    ),
    ("is already used by another", "は別の行が使っています:"),
    (
        "is used by an account you cannot change",
        "は変更できないアカウントが使っています",
    ),
    (
        "is used by a contact you cannot change",
        "は変更できない担当者が使っています",
    ),
    (
        "is used by a subscription you cannot change",
        "は変更できない契約が使っています",
    ),
    (
        "no account with external id",
        "次の外部IDのアカウントはありません:",
    ),
    (
        "no partner with external id",
        "次の外部IDの代理店はありません:",
    ),
    (
        "no user with email",
        "次のメールアドレスのユーザーはいません:",
    ),
    ("unreadable row:", "読めない行:"),
    (
        "rows rejected; nothing was imported",
        "行が拒否されました。何も取り込んでいません",
    ),
    (
        "lines rejected; nothing was imported",
        "行が拒否されました。何も取り込んでいません",
    ),
    ("not found", "が見つかりません"),
    ("column", "列"),
];

/// `text` in `language`: English as it is; in Japanese with every known phrase replaced
/// (values, ids, file names and unknown phrases stay as written).
pub fn translate(text: &str, language: Language) -> String {
    if language == Language::En {
        return text.to_owned();
    }
    let mut out = text.to_owned();
    // "must be at most N characters", "has N cells but the header has M columns" (first:
    // the phrases below would take their words apart)
    out = between(&out, "must be at most ", " characters", |n| {
        format!("は{n}文字以内にしてください")
    });
    out = between(&out, "has ", " columns", |inner| {
        match inner.split_once(" cells but the header has ") {
            Some((cells, columns)) => {
                format!("のセルは{cells}個ですが、ヘッダーは{columns}列です")
            }
            None => format!("has {inner} columns"),
        }
    });
    // "gives N observation dates, more than MAX: use M days or more"
    out = between(&out, "gives ", " days or more", |inner| {
        let numbers: Vec<&str> = inner
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .collect();
        match numbers.as_slice() {
            [count, max, least] if inner.contains("observation dates") => format!(
                "で観測日が{count}個になり、上限の{max}個を超えます。{least}日以上にしてください"
            ),
            _ => format!("gives {inner} days or more"),
        }
    });
    for (en, ja) in PHRASES {
        out = out.replace(en, ja);
    }
    out
}

/// Replaces the first `start … end` in `text` by `make(what is between)`.
fn between(text: &str, start: &str, end: &str, make: impl Fn(&str) -> String) -> String {
    let Some(from) = text.find(start) else {
        return text.to_owned();
    };
    let rest = &text[from + start.len()..];
    let Some(to) = rest.find(end) else {
        return text.to_owned();
    };
    format!(
        "{}{}{}",
        &text[..from],
        make(&rest[..to]),
        &rest[to + end.len()..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_keep_their_values_and_lose_their_english() {
        let ja = |text| translate(text, Language::Ja);
        assert_eq!(
            ja("'2026-13-01' is not a date (YYYY-MM-DD)"),
            "'2026-13-01' は日付ではありません (YYYY-MM-DD)"
        );
        assert_eq!(
            ja("crm.csv:3: column mrr: 'abc' is not an amount"),
            "crm.csv:3: 列 mrr: 'abc' は金額ではありません"
        );
        assert_eq!(
            ja("has 5 cells but the header has 4 columns"),
            "のセルは5個ですが、ヘッダーは4列です"
        );
        assert_eq!(
            ja("every_days: gives 366 observation dates, more than 120: use 4 days or more"),
            "every_days: で観測日が366個になり、上限の120個を超えます。4日以上にしてください"
        );
        assert_eq!(
            ja("must be at most 200 characters"),
            "は200文字以内にしてください"
        );
        assert_eq!(
            ja("crm.csv: 2 rows rejected; nothing was imported"),
            "crm.csv: 2 行が拒否されました。何も取り込んでいません"
        );
        assert_eq!(
            translate("'x' is not an amount", Language::En),
            "'x' is not an amount"
        );
    }
}
