//! The two languages Mikawaya speaks, and how numbers, money and dates are written in them
//! (pages, emails, the CLI and the API's sentences all format through here).

use crate::value::Currency;
use jiff::civil::Date;

/// A language of the product.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English.
    #[default]
    En,
    /// Japanese.
    Ja,
}

impl Language {
    /// The language of a tag or locale (`ja`, `ja-JP`, `en-US`); anything else is English.
    pub fn of_tag(tag: &str) -> Language {
        if tag.trim().to_lowercase().starts_with("ja") {
            Language::Ja
        } else {
            Language::En
        }
    }

    /// The language a text was written in: Japanese when it has kana (every Japanese
    /// sentence has some; Chinese has none), else English. Used where only the text is
    /// at hand, such as a queued email's unsubscribe page.
    pub fn of_text(text: &str) -> Language {
        if text
            .chars()
            .any(|c| matches!(c, '\u{3041}'..='\u{309F}' | '\u{30A0}'..='\u{30FF}'))
        {
            Language::Ja
        } else {
            Language::En
        }
    }

    /// The BCP 47 code.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ja => "ja",
        }
    }

    /// One of two texts.
    pub fn pick<'t>(self, en: &'t str, ja: &'t str) -> &'t str {
        match self {
            Language::En => en,
            Language::Ja => ja,
        }
    }
}

/// Groups digits in threes: 1234567 → "1,234,567".
pub fn group_digits(whole: u64) -> String {
    let digits = whole.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// Formats money for people: `¥1,234,567` (no decimals), `$1,234.50`, `1,234.50 EUR`.
/// Negative amounts get a minus sign; an amount that rounds to zero is never "-0".
pub fn money(amount: f64, currency: &Currency) -> String {
    let digits = currency.minor_digits();
    let scale = 10f64.powi(digits as i32);
    let rounded = (amount.abs() * scale).round() / scale;
    let sign = if amount < 0.0 && rounded > 0.0 {
        "-"
    } else {
        ""
    };
    let whole = rounded.trunc() as u64;
    let fraction = if digits == 0 {
        String::new()
    } else {
        format!(
            ".{:0width$}",
            ((rounded.fract() * scale).round() as u64),
            width = digits as usize
        )
    };
    let number = format!("{}{fraction}", group_digits(whole));
    match currency.as_str() {
        "JPY" => format!("{sign}¥{number}"),
        "USD" => format!("{sign}${number}"),
        "EUR" => format!("{sign}€{number}"),
        "GBP" => format!("{sign}£{number}"),
        other => format!("{sign}{number} {other}"),
    }
}

/// Formats a date: `2026-04-01` or `2026年4月1日`.
pub fn date(date: Date, language: Language) -> String {
    match language {
        Language::En => date.to_string(),
        Language::Ja => format!("{}年{}月{}日", date.year(), date.month(), date.day()),
    }
}

/// A short date without the year: `11-20` or `11月20日`.
pub fn month_day(date: Date, language: Language) -> String {
    match language {
        Language::En => format!("{:02}-{:02}", date.month(), date.day()),
        Language::Ja => format!("{}月{}日", date.month(), date.day()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn yen_has_no_decimals_and_dollars_have_two() {
        assert_eq!(money(1_234_567.4, &currency("JPY")), "¥1,234,567");
        assert_eq!(money(1234.5, &currency("USD")), "$1,234.50");
        assert_eq!(money(0.0, &currency("CHF")), "0.00 CHF");
    }

    #[test]
    fn nothing_is_minus_zero() {
        assert_eq!(money(-0.0, &currency("USD")), "$0.00");
        assert_eq!(money(-0.001, &currency("JPY")), "¥0");
        assert_eq!(money(-12.0, &currency("JPY")), "-¥12");
    }

    #[test]
    fn a_text_with_kana_is_japanese() {
        assert_eq!(Language::of_text("更新のご案内です"), Language::Ja);
        assert_eq!(
            Language::of_text("Your renewal on 2026-12-01"),
            Language::En
        );
        assert_eq!(Language::of_text("カスタマー"), Language::Ja);
        assert_eq!(Language::of_text(""), Language::En);
    }

    #[test]
    fn dates_read_naturally_in_each_language() {
        let day = jiff::civil::date(2026, 11, 20);
        assert_eq!(date(day, Language::Ja), "2026年11月20日");
        assert_eq!(month_day(day, Language::En), "11-20");
        assert_eq!(month_day(day, Language::Ja), "11月20日");
    }
}
