//! Where an external id goes when a partner writes or looks it up.
//!
//! External ids are unique across the store (usage events name accounts by them). A
//! partner that writes an id held by a row it cannot see must not learn that the row
//! exists (404-never-403), so its row takes the id in its own namespace
//! ([`ExternalId::in_partner_space`]) and the partner keeps seeing the id it wrote.

use crate::Result;
use mikawaya_domain::value::ExternalId;
use mikawaya_domain::{PartnerId, Visibility};

/// The tables whose rows carry an external id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyed {
    Account,
    Contact,
    Subscription,
}

/// The stored id that `wanted`, as written by a caller with `visibility`, stands for.
/// `holder` answers whether a row holds an id and, if so, the partner of its account.
pub(crate) fn placed(
    visibility: Visibility,
    wanted: &ExternalId,
    mut holder: impl FnMut(&ExternalId) -> Result<Option<Option<PartnerId>>>,
) -> Result<ExternalId> {
    let Visibility::Partner(own) = visibility else {
        return Ok(wanted.clone());
    };
    if wanted.shown_to(visibility) != wanted.as_str() {
        return Ok(wanted.clone());
    }
    let spaced = wanted.in_partner_space(own);
    if holder(&spaced)?.is_some() {
        return Ok(spaced);
    }
    Ok(match holder(wanted)? {
        Some(partner) if partner != Some(own) => spaced,
        _ => wanted.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn placed_among(
        rows: &[(&str, Option<i64>)],
        visibility: Visibility,
        wanted: &str,
    ) -> Result<String> {
        let rows: HashMap<String, Option<PartnerId>> = rows
            .iter()
            .map(|(key, partner)| ((*key).to_owned(), partner.map(PartnerId::new)))
            .collect();
        let wanted = ExternalId::parse(wanted)?;
        let placed = placed(visibility, &wanted, |key| {
            Ok(rows.get(key.as_str()).copied())
        })?;
        Ok(placed.to_string())
    }

    #[test]
    fn a_partner_writing_an_id_it_cannot_see_gets_it_in_its_namespace() -> Result<()> {
        let mine = Visibility::Partner(PartnerId::new(1));
        let rows = [("ACME-7", None), ("BETA-1", Some(2)), ("OWN-1", Some(1))];
        assert_eq!(placed_among(&rows, mine, "ACME-7")?, "partner-1:ACME-7");
        assert_eq!(placed_among(&rows, mine, "BETA-1")?, "partner-1:BETA-1");
        // Its own ids and free ids stay as written; everyone else writes ids as they are.
        assert_eq!(placed_among(&rows, mine, "OWN-1")?, "OWN-1");
        assert_eq!(placed_among(&rows, mine, "NEW-1")?, "NEW-1");
        assert_eq!(placed_among(&rows, Visibility::All, "ACME-7")?, "ACME-7");
        // Once it holds the namespaced id, the plain id finds it even when the plain one is free.
        let later = [("partner-1:ACME-7", Some(1))];
        assert_eq!(placed_among(&later, mine, "ACME-7")?, "partner-1:ACME-7");
        assert_eq!(
            placed_among(&later, mine, "partner-1:ACME-7")?,
            "partner-1:ACME-7"
        );
        Ok(())
    }
}
