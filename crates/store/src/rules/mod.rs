//! Rules above the backend: what an import or an account change means, written once
//! against storage primitives, so a second backend implements storage only.

pub(crate) mod accounts;
pub(crate) mod children;
pub(crate) mod external_ids;
pub(crate) mod import;
