//! Validated scalar values shared by the entities: names, external ids, emails, money,
//! currencies, slugs and dates.

use crate::{Invalid, PartnerId, Visibility};
use serde::{Deserialize, Serialize};

macro_rules! string_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = Invalid;
            fn try_from(raw: String) -> Result<Self, Invalid> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn bounded_text(raw: &str, field: &str, max_chars: usize) -> Result<String, Invalid> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    if trimmed.chars().count() > max_chars {
        return Err(Invalid::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Invalid::new(field, "must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

string_value!(
    /// A display name: trimmed, 1-200 characters, no control characters.
    Name
);
impl Name {
    /// Parses a name.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        bounded_text(raw, "name", 200).map(Self)
    }
}

string_value!(
    /// An id from the customer's own systems (CRM, billing): trimmed, 1-128 characters.
    ExternalId
);
impl ExternalId {
    /// Parses an external id (up to 128 characters after a partner's namespace, if any).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        match partner_space(trimmed) {
            Some((_, rest)) => {
                bounded_text(rest, "external_id", 128).map(|_| Self(trimmed.to_owned()))
            }
            None => bounded_text(raw, "external_id", 128).map(Self),
        }
    }

    /// The same id in a partner's own namespace (`partner-7:ACME-1`). External ids are
    /// unique across the store, since usage events name accounts by them; when a partner
    /// writes an id that an account it cannot see already holds, the partner's row takes
    /// the id in its namespace instead of being refused, so a refusal never tells the
    /// partner that someone else's account exists. The partner sees it without the prefix
    /// ([`ExternalId::shown_to`]); usage events sent under the plain id stay with the
    /// account that holds it.
    pub fn in_partner_space(&self, partner: PartnerId) -> Self {
        Self(format!("partner-{}:{}", partner.get(), self.0))
    }

    /// The id as the reader should see it: a partner sees its own namespaced ids plain.
    pub fn shown_to(&self, visibility: Visibility) -> &str {
        shown_to(&self.0, visibility)
    }
}

/// A stored external id (or usage key) as the reader should see it; see
/// [`ExternalId::shown_to`].
pub fn shown_to(stored: &str, visibility: Visibility) -> &str {
    match (visibility, partner_space(stored)) {
        (Visibility::Partner(own), Some((partner, rest))) if partner == own.get() => rest,
        _ => stored,
    }
}

/// Splits `partner-<n>:<rest>` into the partner's id and the rest.
fn partner_space(raw: &str) -> Option<(i64, &str)> {
    let after = raw.strip_prefix("partner-")?;
    let (digits, rest) = after.split_once(':')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, rest))
}

string_value!(
    /// Free text such as a summary or personal success criteria: 1-10,000 characters.
    Text
);
impl Text {
    /// Parses free text; newlines and tabs are allowed.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Invalid::new("text", "must not be empty"));
        }
        if trimmed.chars().count() > 10_000 {
            return Err(Invalid::new("text", "must be at most 10000 characters"));
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            return Err(Invalid::new("text", "must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }
}

string_value!(
    /// An email address, lowercased; a pragmatic check (one `@`, a dot in the domain).
    Email
);
impl Email {
    /// Parses an email address.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim().to_lowercase();
        let invalid = || Invalid::new("email", format!("'{}' is not an email address", raw.trim()));
        if trimmed.len() > 254 || trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = trimmed.split_once('@').ok_or_else(invalid)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(invalid());
        }
        Ok(Self(trimmed))
    }
}

string_value!(
    /// A configurable key such as a plan, a lifecycle stage or a custom field key:
    /// lowercase ASCII letters, digits, `_` and `-`, 1-64 characters, starting with a letter.
    Slug
);
impl Slug {
    /// Parses a slug; upper case is folded to lower case and spaces to `_`.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let folded: String = raw.trim().to_lowercase().replace(' ', "_");
        let valid_chars = folded
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        let starts_with_letter = folded
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase());
        if folded.is_empty() || folded.len() > 64 || !valid_chars || !starts_with_letter {
            return Err(Invalid::new(
                "slug",
                format!(
                    "'{}' must be 1-64 of a-z, 0-9, _ or -, starting with a letter",
                    raw.trim()
                ),
            ));
        }
        Ok(Self(folded))
    }
}

string_value!(
    /// An ISO 4217 currency code, three upper-case letters.
    Currency
);
impl Currency {
    /// Parses a currency code; lower case is accepted.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let upper = raw.trim().to_uppercase();
        if upper.len() != 3 || !upper.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(Invalid::new(
                "currency",
                format!("'{}' is not a three-letter currency code", raw.trim()),
            ));
        }
        Ok(Self(upper))
    }

    /// The currency an amount's sign names: `¥`, `￥`, `円` and `\\` (the yen sign of
    /// Shift_JIS files, whose byte 0x5C decodes as a backslash) are JPY, `$` USD, `€` EUR,
    /// `£` GBP; none for a bare number.
    pub fn of_sign(amount: &str) -> Option<Currency> {
        let code = amount.chars().find_map(|c| match c {
            '¥' | '￥' | '円' | '\\' => Some("JPY"),
            '$' => Some("USD"),
            '€' => Some("EUR"),
            '£' => Some("GBP"),
            _ => None,
        })?;
        Some(Currency(code.to_owned()))
    }

    /// The number of minor-unit digits shown for this currency (¥ has none).
    pub fn minor_digits(&self) -> u32 {
        match self.0.as_str() {
            "JPY" | "KRW" | "VND" | "CLP" | "ISK" => 0,
            _ => 2,
        }
    }
}

impl Default for Currency {
    fn default() -> Self {
        Self("USD".to_owned())
    }
}

/// A non-negative, finite amount of money per month (MRR), in the account's currency.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize, Default)]
#[serde(try_from = "f64", into = "f64")]
pub struct Money(f64);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0.0);

    /// Checks an amount: finite, not negative, below 10^13; rounded to 1/100.
    pub fn new(amount: f64) -> Result<Self, Invalid> {
        if !amount.is_finite() || !(0.0..1e13).contains(&amount) {
            return Err(Invalid::new(
                "mrr",
                format!("{amount} must be a finite amount between 0 and 10^13"),
            ));
        }
        Ok(Self((amount * 100.0).round() / 100.0))
    }

    /// Parses an amount written by people: `1,200.50`, `¥120,000`, `$99`.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let cleaned: String = half_width(raw.trim())
            .chars()
            .filter(|c| {
                !matches!(
                    c,
                    ',' | '¥' | '￥' | '\\' | '$' | '€' | '£' | '円' | ' ' | '\u{a0}'
                )
            })
            .collect();
        let amount: f64 = cleaned
            .parse()
            .map_err(|_| Invalid::new("mrr", format!("'{}' is not an amount", raw.trim())))?;
        Self::new(amount)
    }

    /// The amount as a float.
    pub fn amount(self) -> f64 {
        self.0
    }

    /// Twelve times the monthly amount.
    pub fn annual(self) -> f64 {
        self.0 * 12.0
    }
}

impl TryFrom<f64> for Money {
    type Error = Invalid;
    fn try_from(amount: f64) -> Result<Self, Invalid> {
        Self::new(amount)
    }
}

impl From<Money> for f64 {
    fn from(value: Money) -> f64 {
        value.0
    }
}

/// `day` moved by `days` (back when negative); none beyond the calendar's range. Day
/// counts that come from input go through here: jiff's `Span::days` panics on a count
/// beyond its range (about 20,000 years), which a client could send.
pub fn add_days(day: jiff::civil::Date, days: i64) -> Option<jiff::civil::Date> {
    let span = jiff::Span::new().try_days(days).ok()?;
    day.checked_add(span).ok()
}

/// Parses a calendar date written as `YYYY-MM-DD` (also `YYYY/MM/DD`, as Japanese Excel writes it).
pub fn parse_date(raw: &str, field: &str) -> Result<jiff::civil::Date, Invalid> {
    let normalized = half_width(raw.trim()).replace('/', "-");
    let mut parts = normalized.split('-');
    let parsed = (|| {
        let year: i16 = parts.next()?.parse().ok()?;
        let month: i8 = parts.next()?.parse().ok()?;
        let day: i8 = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        jiff::civil::Date::new(year, month, day).ok()
    })();
    parsed.ok_or_else(|| {
        Invalid::new(
            field,
            format!("'{}' is not a date (YYYY-MM-DD)", raw.trim()),
        )
    })
}

/// Parses an instant: RFC 3339 (`2024-05-01T09:30:00+09:00`), or a bare date taken as 00:00 UTC.
pub fn parse_timestamp(raw: &str, field: &str) -> Result<jiff::Timestamp, Invalid> {
    let trimmed = raw.trim();
    if let Ok(timestamp) = trimmed.parse::<jiff::Timestamp>() {
        return Ok(timestamp);
    }
    let civil = trimmed
        .replace('/', "-")
        .replace(' ', "T")
        .parse::<jiff::civil::DateTime>();
    if let Ok(zoned) = civil.and_then(|datetime| datetime.to_zoned(jiff::tz::TimeZone::UTC)) {
        return Ok(zoned.timestamp());
    }
    let date = parse_date(trimmed, field).map_err(|_| {
        Invalid::new(
            field,
            format!("'{trimmed}' is not a timestamp (RFC 3339 or YYYY-MM-DD)"),
        )
    })?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|zoned| zoned.timestamp())
        .map_err(|_| Invalid::new(field, format!("'{trimmed}' is out of range")))
}

/// Full-width ASCII (`１２０，０００`, `２０２６／０４／０１`, the ideographic space) as
/// half-width, as Japanese spreadsheets and CRMs often write numbers and dates.
pub fn half_width(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            other => other,
        })
        .collect()
}

/// Declares a closed set of lowercase wire names as an enum with `parse`/`as_str`.
#[macro_export]
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($(#[$vdoc:meta])* $variant:ident = $wire:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses the wire name (case-insensitive; spaces and dashes read as `_`; a few aliases).
            pub fn parse(raw: &str) -> Result<Self, $crate::Invalid> {
                let folded = raw.trim().to_lowercase().replace([' ', '-'], "_");
                match folded.as_str() {
                    $($wire $(| $alias)* => Ok($name::$variant),)+
                    _ => Err($crate::Invalid::new(
                        $field,
                        format!("'{}' is not one of: {}", raw.trim(), [$($wire),+].join(", ")),
                    )),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::Invalid;
            fn try_from(raw: String) -> Result<Self, $crate::Invalid> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> &'static str {
                value.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partners_namespaced_id_reads_back_and_shows_plain_to_that_partner_only() {
        let own = Visibility::Partner(PartnerId::new(3));
        let spaced = ExternalId::parse("ACME-7").map(|id| id.in_partner_space(PartnerId::new(3)));
        assert_eq!(
            spaced.as_ref().map(ExternalId::as_str),
            Ok("partner-3:ACME-7")
        );
        assert_eq!(
            spaced.as_ref().map(|id| ExternalId::parse(id.as_str())),
            Ok(spaced.clone())
        );
        assert_eq!(spaced.as_ref().map(|id| id.shown_to(own)), Ok("ACME-7"));
        let other = Visibility::Partner(PartnerId::new(4));
        assert_eq!(shown_to("partner-3:ACME-7", other), "partner-3:ACME-7");
        assert_eq!(
            shown_to("partner-3:ACME-7", Visibility::All),
            "partner-3:ACME-7"
        );
        assert_eq!(shown_to("partner-x:ACME-7", own), "partner-x:ACME-7");
        let longest = ExternalId::parse(&"x".repeat(128))
            .map(|id| id.in_partner_space(PartnerId::new(12)).to_string());
        assert!(
            longest
                .as_deref()
                .is_ok_and(|id| ExternalId::parse(id).is_ok())
        );
        assert!(ExternalId::parse(&"x".repeat(129)).is_err());
        assert!(ExternalId::parse(&format!("partner-1:{}", "x".repeat(129))).is_err());
        assert!(ExternalId::parse("partner-1:").is_err());
    }

    #[test]
    fn full_width_yen_digits_and_dates_are_read() {
        assert_eq!(
            Money::parse("￥７０，０００").map(Money::amount),
            Ok(70000.0)
        );
        assert_eq!(Money::parse("70,000円").map(Money::amount), Ok(70000.0));
        assert_eq!(
            parse_date("２０２６／０４／０１", "d").map(|d| d.to_string()),
            Ok("2026-04-01".to_owned())
        );
    }

    #[test]
    fn money_reads_amounts_written_by_people() {
        assert_eq!(Money::parse("1,200.50").map(Money::amount), Ok(1200.5));
        assert_eq!(Money::parse("¥120,000").map(Money::amount), Ok(120000.0));
        assert_eq!(Money::parse("\\70,000").map(Money::amount), Ok(70000.0));
        assert_eq!(
            Currency::of_sign("\\70,000").map(String::from).as_deref(),
            Some("JPY")
        );
        assert_eq!(
            Currency::of_sign("￥７０，０００")
                .map(String::from)
                .as_deref(),
            Some("JPY")
        );
        assert_eq!(
            Currency::of_sign("$12").map(String::from).as_deref(),
            Some("USD")
        );
        assert_eq!(Currency::of_sign("1,200"), None);
        assert!(Money::parse("-5").is_err());
        assert!(Money::parse("abc").is_err());
        assert!(Money::new(f64::NAN).is_err());
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse(" Aki@Example.JP ").map(|e| e.to_string()),
            Ok("aki@example.jp".to_owned())
        );
        for bad in ["", "a", "a@b", "@b.c", "a@@b.c", "a b@c.d", "a@.c"] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn dates_accept_slashes_and_reject_impossible_days() {
        assert_eq!(
            parse_date("2024/02/29", "d").map(|d| d.to_string()),
            Ok("2024-02-29".to_owned())
        );
        assert!(parse_date("2023-02-29", "d").is_err());
        assert!(parse_date("2023-02", "d").is_err());
    }

    #[test]
    fn timestamps_accept_offsets_and_bare_dates() {
        let with_offset = parse_timestamp("2024-05-01T09:30:00+09:00", "t").map(|t| t.to_string());
        assert_eq!(with_offset, Ok("2024-05-01T00:30:00Z".to_owned()));
        assert_eq!(
            parse_timestamp("2024-05-01", "t").map(|t| t.to_string()),
            Ok("2024-05-01T00:00:00Z".to_owned())
        );
        assert!(parse_timestamp("yesterday", "t").is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            Name::parse("  三河屋  ").map(String::from),
            Ok("三河屋".to_owned())
        );
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn slugs_fold_case_and_spaces() {
        assert_eq!(
            Slug::parse("Pro Plan").map(String::from),
            Ok("pro_plan".to_owned())
        );
        assert!(Slug::parse("9lives").is_err());
        assert!(Slug::parse("プラン").is_err());
    }
}
