//! The CLI's language: Japanese or English, from `MIKAWAYA_LOCALE`, else the POSIX locale
//! (`LC_ALL`, `LC_MESSAGES`, `LANG`, the first set); anything not Japanese is English.
//! Messages the CLI writes pick one of two texts; the reasons the engines give (in
//! English) go through `mikawaya_domain::reasons`.

use mikawaya_domain::language::Language;
use std::sync::OnceLock;

/// The language of this run.
pub fn language() -> Language {
    static LANGUAGE: OnceLock<Language> = OnceLock::new();
    *LANGUAGE.get_or_init(|| {
        let get = |name: &str| std::env::var(name).ok();
        of_environment(&get)
    })
}

/// The language the environment asks for (`get` reads a variable).
pub fn of_environment(get: &dyn Fn(&str) -> Option<String>) -> Language {
    ["MIKAWAYA_LOCALE", "LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|name| get(name))
        .map(|value| value.trim().to_owned())
        .find(|value| !value.is_empty())
        .map_or(Language::En, |value| Language::of_tag(&value))
}

/// One of two texts, in the language of this run.
pub fn say(en: &str, ja: &str) -> String {
    language().pick(en, ja).to_owned()
}

/// A reason from the engines in the language of this run.
pub fn reason(text: &str) -> String {
    mikawaya_domain::reasons::translate(text, language())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locale_comes_from_mikawaya_locale_then_the_posix_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(of_environment(&env(&[])), Language::En);
        assert_eq!(
            of_environment(&env(&[("LANG", "ja_JP.UTF-8")])),
            Language::Ja
        );
        assert_eq!(
            of_environment(&env(&[("LANG", "ja_JP.UTF-8"), ("LC_ALL", "C")])),
            Language::En
        );
        assert_eq!(
            of_environment(&env(&[("LC_ALL", "C"), ("MIKAWAYA_LOCALE", "ja")])),
            Language::Ja
        );
        assert_eq!(
            of_environment(&env(&[("MIKAWAYA_LOCALE", " "), ("LANG", "ja_JP")])),
            Language::Ja
        );
    }
}
