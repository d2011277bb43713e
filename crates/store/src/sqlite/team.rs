//! The CS team for the SQLite modules not yet written against [`Db`]: the few look-ups
//! they make, handed to the shared modules (`shared::team`, `shared::auth`,
//! `shared::partners`) with the connection they hold.

use crate::Result;
use crate::db::Db;
use crate::shared::{auth, partners, team};
use mikawaya_domain::custom_field::CustomFieldDef;
use mikawaya_domain::partner::Partner;
use mikawaya_domain::user::User;
use mikawaya_domain::{UserId, Visibility};
use rusqlite::Connection;

/// The users the caller can see.
pub(crate) fn list_users(connection: &Connection, visibility: Visibility) -> Result<Vec<User>> {
    auth::list_users(&Db::Sqlite(connection), visibility)
}

/// The partners the caller can see.
pub(crate) fn list_partners(
    connection: &Connection,
    visibility: Visibility,
) -> Result<Vec<Partner>> {
    partners::list_partners(&Db::Sqlite(connection), visibility)
}

/// Refuses a reference to a user the caller cannot see (`field` is named).
pub(crate) fn check_user_reference(
    connection: &Connection,
    visibility: Visibility,
    id: UserId,
    field: &str,
) -> Result<()> {
    team::check_user_reference(&Db::Sqlite(connection), visibility, id, field)
}

/// The custom field definitions.
pub(crate) fn custom_fields(connection: &Connection) -> Result<Vec<CustomFieldDef>> {
    team::custom_fields(&Db::Sqlite(connection))
}
