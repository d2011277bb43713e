//! Templates: text with `{{variable}}` placeholders (see [`crate::spec::VARIABLES`]).
//! Unknown variables are refused when a playbook is saved, so a sent message never shows
//! a placeholder.

use std::collections::BTreeMap;

/// Checks that every placeholder is closed and known.
pub fn check(template: &str) -> Result<(), String> {
    for name in placeholders(template)? {
        if !crate::spec::VARIABLES.contains(&name) {
            return Err(format!(
                "unknown variable {{{{{name}}}}}; known: {}",
                crate::spec::VARIABLES.join(", ")
            ));
        }
    }
    Ok(())
}

fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "a {{ is not closed by }}".to_owned())?;
        names.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    Ok(names)
}

/// Fills placeholders from `values`; a variable without a value becomes empty.
pub fn render(template: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                if let Some(value) = values.get(after[..end].trim()) {
                    out.push_str(value);
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_variables_and_refuses_unknown_ones() {
        let values = BTreeMap::from([("account.name", "三河屋".to_owned())]);
        assert_eq!(
            render(
                "{{ account.name }}様、更新は{{account.renewal_date}}です",
                &values
            ),
            "三河屋様、更新はです"
        );
        assert!(check("Hello {{account.name}}").is_ok());
        assert!(check("Hello {{account.secret}}").is_err());
        assert!(check("Hello {{account.name").is_err());
    }
}
