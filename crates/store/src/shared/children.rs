//! Contacts, subscriptions and touchpoints: rows that belong to an account and are visible
//! exactly when their account is.

use super::accounts;
use super::row;
use super::sql::{Keyset, Sql, contains_pattern, opt_id, opt_text, text};
use crate::db::Value;
use crate::db::{Db, Row};
use crate::rules::external_ids::Keyed;
use crate::{
    ContactFilter, Page, PageRequest, Result, StoreError, SubscriptionFilter, TouchpointFilter,
};
use mikawaya_domain::contact::{
    Contact, ContactPatch, ContactRole, ContactSource, Influence, NewContact, Sentiment,
};
use mikawaya_domain::subscription::{NewSubscription, Subscription, SubscriptionPatch, Term};
use mikawaya_domain::touchpoint::{NewTouchpoint, Touchpoint, TouchpointKind};
use mikawaya_domain::value::{Email, ExternalId, Money, Name, Slug, Text};
use mikawaya_domain::{
    AccountId, ContactId, Invalid, SubscriptionId, TouchpointId, UserId, Visibility, WriteAccess,
};

fn not_found(entity: &'static str) -> impl FnOnce() -> StoreError {
    move || StoreError::NotFound { entity }
}

fn conflict_on_external_id(entity: &'static str) -> impl Fn(StoreError) -> StoreError {
    move |error| {
        if error.is_unique_violation_of("external_id") {
            StoreError::Conflict {
                field: "external_id".into(),
                reason: format!("is already used by another {entity}"),
            }
        } else {
            error
        }
    }
}

/// Fetches one child row by id, through its account's visibility.
fn get_one<T>(
    db: &Db<'_>,
    visibility: Visibility,
    select: &str,
    id: i64,
    from_row: impl FnOnce(&Row<'_>) -> Result<T>,
    entity: &'static str,
) -> Result<T> {
    let mut sql = Sql::new(select);
    sql.bind(" AND x.id = ?", [Value::Integer(id)]);
    sql.visible("a", visibility);
    db.query_opt(&sql.text, &sql.params, from_row)?
        .ok_or_else(not_found(entity))
}

/// Deletes one child row after checking it is visible.
fn delete_one(
    db: &Db<'_>,
    visibility: Visibility,
    table: &str,
    id: i64,
    entity: &'static str,
) -> Result<()> {
    let mut sql = Sql::new(&format!(
        "SELECT x.id FROM {table} x JOIN accounts a ON a.id = x.account_id WHERE 1=1"
    ));
    sql.bind(" AND x.id = ?", [Value::Integer(id)]);
    sql.visible("a", visibility);
    let found: Option<i64> = db.query_opt(&sql.text, &sql.params, |row| row.get(0))?;
    found.ok_or_else(not_found(entity))?;
    db.execute(&format!("DELETE FROM {table} WHERE id = ?1"), &[id.into()])?;
    Ok(())
}

/// Checks the account exists and is visible to a writer.
fn writable_account(db: &Db<'_>, visibility: Visibility, account_id: AccountId) -> Result<()> {
    accounts::get(db, visibility, account_id)
        .map(|_| ())
        .map_err(|_| Invalid::new("account_id", format!("no account {account_id}")).into())
}

// --- contacts ---------------------------------------------------------------

const CONTACT_SELECT: &str = "SELECT x.id, x.account_id, x.external_id, x.name, x.email, x.role, x.title, x.personal_success, \
     x.sentiment, x.created_at, x.updated_at, x.influence, x.source FROM contacts x JOIN accounts a ON a.id = x.account_id WHERE 1=1";

fn contact_from_row(row: &Row<'_>) -> Result<Contact> {
    Ok(Contact {
        id: ContactId::new(row.get(0)?),
        account_id: AccountId::new(row.get(1)?),
        external_id: row.parsed_opt(2, ExternalId::parse)?,
        name: row.parsed(3, Name::parse)?,
        email: row.parsed_opt(4, Email::parse)?,
        role: row.parsed_opt(5, ContactRole::parse)?,
        title: row.parsed_opt(6, Name::parse)?,
        personal_success: row.parsed_opt(7, Text::parse)?,
        sentiment: row.parsed_opt(8, Sentiment::parse)?,
        created_at: row.parsed(9, row::timestamp)?,
        updated_at: row.parsed(10, row::timestamp)?,
        influence: row.parsed_opt(11, Influence::parse)?,
        source: row.parsed(12, ContactSource::parse)?,
    })
}

pub(crate) fn list_contacts(
    db: &Db<'_>,
    visibility: Visibility,
    filter: &ContactFilter,
    page: &PageRequest,
) -> Result<Page<Contact>> {
    let mut sql = Sql::new(CONTACT_SELECT);
    sql.visible("a", visibility);
    if let Some(account_id) = filter.account_id {
        sql.bind(" AND x.account_id = ?", [Value::Integer(account_id.get())]);
    }
    if let Some(role) = filter.role {
        sql.bind(" AND x.role = ?", [text(role)]);
    }
    if let Some(email) = &filter.email {
        sql.bind(" AND x.email = ?", [text(email)]);
    }
    if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let pattern = contains_pattern(q);
        sql.bind(
            &format!(
                " AND (x.name {like} ? ESCAPE '\\' OR x.email {like} ? ESCAPE '\\')",
                like = db.ilike()
            ),
            [pattern.clone(), pattern],
        );
    }
    let keyset = Keyset {
        name: "id".into(),
        expression: "x.id",
        id_column: "x.id",
        descending: false,
    };
    keyset.fetch(db, sql, page, contact_from_row, |c| {
        (serde_json::json!(c.id.get()), c.id.get())
    })
}

pub(crate) fn get_contact(db: &Db<'_>, visibility: Visibility, id: ContactId) -> Result<Contact> {
    get_one(
        db,
        visibility,
        CONTACT_SELECT,
        id.get(),
        contact_from_row,
        "contact",
    )
}

fn save_contact(db: &Db<'_>, contact: &Contact) -> Result<ContactId> {
    let mut values = vec![
        Value::Integer(contact.account_id.get()),
        opt_text(contact.external_id.as_ref()),
        text(&contact.name),
        opt_text(contact.email.as_ref()),
        opt_text(contact.role),
        opt_text(contact.title.as_ref()),
        opt_text(contact.personal_success.as_ref()),
        opt_text(contact.sentiment),
        text(row::instant(contact.created_at)),
        text(row::instant(contact.updated_at)),
        opt_text(contact.influence),
        text(contact.source),
    ];
    let conflict = conflict_on_external_id("contact");
    if contact.id.get() == 0 {
        let id = db
            .query_one(
                "INSERT INTO contacts (account_id, external_id, name, email, role, title, personal_success, sentiment, \
                 created_at, updated_at, influence, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                &values,
                |row| row.get(0),
            )
            .map_err(conflict)?;
        Ok(ContactId::new(id))
    } else {
        values.push(Value::Integer(contact.id.get()));
        db.execute("UPDATE contacts SET account_id = ?, external_id = ?, name = ?, email = ?, role = ?, title = ?, \
                 personal_success = ?, sentiment = ?, created_at = ?, updated_at = ?, influence = ?, source = ? WHERE id = ?", &values)
            .map_err(conflict)?;
        Ok(contact.id)
    }
}

pub(crate) fn create_contact(
    db: &Db<'_>,
    access: &WriteAccess,
    new: NewContact,
) -> Result<Contact> {
    writable_account(db, access.visibility(), new.account_id)?;
    let now = jiff::Timestamp::now();
    let contact = Contact {
        id: ContactId::new(0),
        account_id: new.account_id,
        external_id: accounts::place(db, Keyed::Contact, access, new.external_id)?,
        name: new.name,
        email: new.email,
        role: new.role,
        title: new.title,
        personal_success: new.personal_success,
        sentiment: new.sentiment,
        influence: new.influence,
        source: ContactSource::Crm,
        created_at: now,
        updated_at: now,
    };
    let id = save_contact(db, &contact)?;
    get_contact(db, access.visibility(), id)
}

pub(crate) fn update_contact(
    db: &Db<'_>,
    access: &WriteAccess,
    id: ContactId,
    patch: ContactPatch,
) -> Result<Contact> {
    let mut contact = get_contact(db, access.visibility(), id)?;
    let before = contact.clone();
    if let Some(account_id) = patch.account_id {
        writable_account(db, access.visibility(), account_id)?;
        contact.account_id = account_id;
    }
    let mut contact = crate::rules::children::apply_contact_patch(contact, patch);
    contact.external_id = accounts::place(db, Keyed::Contact, access, contact.external_id)?;
    save_contact(db, &contact)?;
    if crate::rules::children::champion_left(&before, &contact) {
        champion_left(db, &before)?;
    }
    get_contact(db, access.visibility(), id)
}

/// Records that an account lost a champion (their role changed, or they were removed).
fn champion_left(db: &Db<'_>, contact: &Contact) -> Result<()> {
    super::work::record_change(
        db,
        contact.account_id,
        "champion",
        Some(contact.name.to_string()),
        None,
    )
}

/// Every visible contact, in id order.
pub(crate) fn all_contacts(db: &Db<'_>, visibility: Visibility) -> Result<Vec<Contact>> {
    let mut sql = Sql::new(CONTACT_SELECT);
    sql.visible("a", visibility);
    sql.bind(" ORDER BY x.id", []);
    let statement = &sql.text;
    let contacts = db.query_map(statement, &sql.params, contact_from_row)?;
    Ok(contacts)
}

pub(crate) fn delete_contact(db: &Db<'_>, access: &WriteAccess, id: ContactId) -> Result<()> {
    let contact = get_contact(db, access.visibility(), id)?;
    if contact.role == Some(ContactRole::Champion) {
        champion_left(db, &contact)?;
    }
    delete_one(db, access.visibility(), "contacts", id.get(), "contact")
}

/// Finds the contact an import row updates: by external id, else by account and email.
pub(crate) fn find_contact_for_upsert(
    db: &Db<'_>,
    external_id: Option<&ExternalId>,
    account_id: AccountId,
    email: Option<&Email>,
) -> Result<Option<Contact>> {
    let (condition, values) = match (external_id, email) {
        (Some(external_id), _) => (" AND x.external_id = ?", vec![text(external_id)]),
        (None, Some(email)) => (
            " AND x.account_id = ? AND x.email = ?",
            vec![Value::Integer(account_id.get()), text(email)],
        ),
        (None, None) => return Ok(None),
    };
    let mut sql = Sql::new(CONTACT_SELECT);
    sql.bind(condition, values);
    db.query_opt(&sql.text, &sql.params, contact_from_row)
}

pub(crate) fn upsert_contact(db: &Db<'_>, contact: &Contact) -> Result<ContactId> {
    save_contact(db, contact)
}

// --- subscriptions ----------------------------------------------------------

const SUBSCRIPTION_SELECT: &str = "SELECT x.id, x.account_id, x.external_id, x.plan, x.quantity, x.mrr, x.start_date, x.end_date, \
     x.created_at, x.updated_at FROM subscriptions x JOIN accounts a ON a.id = x.account_id WHERE 1=1";

fn subscription_from_row(row: &Row<'_>) -> Result<Subscription> {
    let start = row.parsed(6, row::date)?;
    let end = row.parsed_opt(7, row::date)?;
    let conversion =
        |index: usize, error: Invalid| StoreError::Corrupt(format!("column {index}: {error}"));
    Ok(Subscription {
        id: SubscriptionId::new(row.get(0)?),
        account_id: AccountId::new(row.get(1)?),
        external_id: row.parsed_opt(2, ExternalId::parse)?,
        plan: row.parsed(3, Slug::parse)?,
        quantity: u32::try_from(row.get::<i64>(4)?).unwrap_or(0),
        mrr: Money::new(row.get(5)?).map_err(|e| conversion(5, e))?,
        term: Term::new(start, end).map_err(|e| conversion(7, e))?,
        created_at: row.parsed(8, row::timestamp)?,
        updated_at: row.parsed(9, row::timestamp)?,
    })
}

pub(crate) fn list_subscriptions(
    db: &Db<'_>,
    visibility: Visibility,
    filter: &SubscriptionFilter,
    page: &PageRequest,
) -> Result<Page<Subscription>> {
    let mut sql = Sql::new(SUBSCRIPTION_SELECT);
    sql.visible("a", visibility);
    if let Some(account_id) = filter.account_id {
        sql.bind(" AND x.account_id = ?", [Value::Integer(account_id.get())]);
    }
    if let Some(day) = filter.active_on {
        sql.bind(
            " AND x.start_date <= ? AND (x.end_date IS NULL OR x.end_date > ?)",
            [text(day), text(day)],
        );
    }
    if let Some(plan) = &filter.plan {
        sql.bind(" AND x.plan = ?", [text(plan)]);
    }
    let keyset = Keyset {
        name: "id".into(),
        expression: "x.id",
        id_column: "x.id",
        descending: false,
    };
    keyset.fetch(db, sql, page, subscription_from_row, |s| {
        (serde_json::json!(s.id.get()), s.id.get())
    })
}

pub(crate) fn all_subscriptions(db: &Db<'_>, visibility: Visibility) -> Result<Vec<Subscription>> {
    let mut sql = Sql::new(SUBSCRIPTION_SELECT);
    sql.visible("a", visibility);
    let statement = &sql.text;
    let rows = db.query_map(statement, &sql.params, subscription_from_row)?;
    Ok(rows)
}

pub(crate) fn revenue_rows(
    db: &Db<'_>,
    visibility: Visibility,
) -> Result<Vec<mikawaya_domain::subscription::RevenueRow>> {
    // Every subscription has its account: the accounts are joined for a partner only.
    let mut sql = Sql::new(match visibility {
        Visibility::All => {
            "SELECT x.account_id, x.mrr, x.start_date, x.end_date FROM subscriptions x WHERE 1=1"
        }
        Visibility::Partner(_) => {
            "SELECT x.account_id, x.mrr, x.start_date, x.end_date \
             FROM subscriptions x JOIN accounts a ON a.id = x.account_id WHERE 1=1"
        }
    });
    sql.visible("a", visibility);
    sql.bind(" ORDER BY x.account_id, x.start_date, x.id", []);
    db.query_map(&sql.text, &sql.params, revenue_row)
}

/// A revenue row from `x.account_id, x.mrr, x.start_date, x.end_date`.
pub(crate) fn revenue_row(row: &Row<'_>) -> Result<mikawaya_domain::subscription::RevenueRow> {
    let term = Term::new(row.parsed(2, row::date)?, row.parsed_opt(3, row::date)?)
        .map_err(|e| StoreError::Corrupt(format!("subscription term: {e}")))?;
    Ok(mikawaya_domain::subscription::RevenueRow {
        account: AccountId::new(row.get(0)?),
        mrr: row.get(1)?,
        term,
    })
}

pub(crate) fn get_subscription(
    db: &Db<'_>,
    visibility: Visibility,
    id: SubscriptionId,
) -> Result<Subscription> {
    get_one(
        db,
        visibility,
        SUBSCRIPTION_SELECT,
        id.get(),
        subscription_from_row,
        "subscription",
    )
}

pub(crate) fn save_subscription(
    db: &Db<'_>,
    subscription: &Subscription,
) -> Result<SubscriptionId> {
    let mut values = vec![
        Value::Integer(subscription.account_id.get()),
        opt_text(subscription.external_id.as_ref()),
        text(&subscription.plan),
        Value::Integer(i64::from(subscription.quantity)),
        Value::Real(subscription.mrr.amount()),
        text(subscription.term.start()),
        opt_text(subscription.term.end()),
        text(row::instant(subscription.created_at)),
        text(row::instant(subscription.updated_at)),
    ];
    let conflict = conflict_on_external_id("subscription");
    if subscription.id.get() == 0 {
        let id = db
            .query_one(
                "INSERT INTO subscriptions (account_id, external_id, plan, quantity, mrr, start_date, end_date, created_at, \
                 updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                &values,
                |row| row.get(0),
            )
            .map_err(conflict)?;
        Ok(SubscriptionId::new(id))
    } else {
        values.push(Value::Integer(subscription.id.get()));
        db.execute("UPDATE subscriptions SET account_id = ?, external_id = ?, plan = ?, quantity = ?, mrr = ?, start_date = ?, \
                 end_date = ?, created_at = ?, updated_at = ? WHERE id = ?", &values)
            .map_err(conflict)?;
        Ok(subscription.id)
    }
}

/// Keeps the version a change replaces, so the revenue history is never lost.
pub(crate) fn keep_version(db: &Db<'_>, previous: &Subscription, by: Option<UserId>) -> Result<()> {
    db.execute("INSERT INTO subscription_versions (subscription_id, replaced_at, replaced_by, plan, quantity, mrr, start_date, end_date) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &[
            Value::Integer(previous.id.get()),
            text(row::now()),
            opt_id(by.map(UserId::get)),
            text(&previous.plan),
            Value::Integer(i64::from(previous.quantity)),
            Value::Real(previous.mrr.amount()),
            text(previous.term.start()),
            opt_text(previous.term.end()),
        ])?;
    Ok(())
}

pub(crate) fn create_subscription(
    db: &Db<'_>,
    access: &WriteAccess,
    new: NewSubscription,
) -> Result<Subscription> {
    writable_account(db, access.visibility(), new.account_id)?;
    let now = jiff::Timestamp::now();
    let subscription = Subscription {
        id: SubscriptionId::new(0),
        account_id: new.account_id,
        external_id: accounts::place(db, Keyed::Subscription, access, new.external_id)?,
        plan: new.plan,
        quantity: new.quantity,
        mrr: new.mrr,
        term: new.term,
        created_at: now,
        updated_at: now,
    };
    let id = save_subscription(db, &subscription)?;
    get_subscription(db, access.visibility(), id)
}

pub(crate) fn update_subscription(
    db: &Db<'_>,
    access: &WriteAccess,
    id: SubscriptionId,
    patch: SubscriptionPatch,
) -> Result<Subscription> {
    let previous = get_subscription(db, access.visibility(), id)?;
    let mut subscription = crate::rules::children::apply_subscription_patch(&previous, patch)?;
    subscription.external_id =
        accounts::place(db, Keyed::Subscription, access, subscription.external_id)?;
    keep_version(db, &previous, access.user_id())?;
    save_subscription(db, &subscription)?;
    get_subscription(db, access.visibility(), id)
}

pub(crate) fn delete_subscription(
    db: &Db<'_>,
    access: &WriteAccess,
    id: SubscriptionId,
) -> Result<()> {
    delete_one(
        db,
        access.visibility(),
        "subscriptions",
        id.get(),
        "subscription",
    )
}

/// Finds the subscription an import row updates: by external id, else by account, plan and start.
pub(crate) fn find_subscription_for_upsert(
    db: &Db<'_>,
    external_id: Option<&ExternalId>,
    account_id: AccountId,
    plan: &Slug,
    start: jiff::civil::Date,
) -> Result<Option<Subscription>> {
    let mut sql = Sql::new(SUBSCRIPTION_SELECT);
    match external_id {
        Some(external_id) => sql.bind(" AND x.external_id = ?", [text(external_id)]),
        None => sql.bind(
            " AND x.account_id = ? AND x.plan = ? AND x.start_date = ? AND x.external_id IS NULL",
            [Value::Integer(account_id.get()), text(plan), text(start)],
        ),
    };
    db.query_opt(&sql.text, &sql.params, subscription_from_row)
}

// --- touchpoints ------------------------------------------------------------

const TOUCHPOINT_SELECT: &str = "SELECT x.id, x.account_id, x.kind, x.occurred_at, x.user_id, x.summary, x.attendees, x.created_at, \
     x.notes, x.sentiment \
     FROM touchpoints x JOIN accounts a ON a.id = x.account_id WHERE 1=1";

fn touchpoint_from_row(row: &Row<'_>) -> Result<Touchpoint> {
    Ok(Touchpoint {
        id: TouchpointId::new(row.get(0)?),
        account_id: AccountId::new(row.get(1)?),
        kind: row.parsed(2, TouchpointKind::parse)?,
        occurred_at: row.parsed(3, row::timestamp)?,
        user_id: row.get::<Option<i64>>(4)?.map(UserId::new),
        summary: row.parsed_opt(5, Text::parse)?,
        attendees: row.parsed(6, row::json)?,
        created_at: row.parsed(7, row::timestamp)?,
        notes: row.parsed_opt(8, Text::parse)?,
        sentiment: row.parsed_opt(9, Sentiment::parse)?,
    })
}

pub(crate) fn list_touchpoints(
    db: &Db<'_>,
    visibility: Visibility,
    filter: &TouchpointFilter,
    page: &PageRequest,
) -> Result<Page<Touchpoint>> {
    let mut sql = Sql::new(TOUCHPOINT_SELECT);
    sql.visible("a", visibility);
    if let Some(account_id) = filter.account_id {
        sql.bind(" AND x.account_id = ?", [Value::Integer(account_id.get())]);
    }
    if let Some(kind) = filter.kind {
        sql.bind(" AND x.kind = ?", [text(kind)]);
    }
    if let Some(user_id) = filter.user_id {
        sql.bind(" AND x.user_id = ?", [Value::Integer(user_id.get())]);
    }
    if let Some(from) = filter.from {
        sql.bind(" AND x.occurred_at >= ?", [text(row::instant(from))]);
    }
    if let Some(to) = filter.to {
        sql.bind(" AND x.occurred_at < ?", [text(row::instant(to))]);
    }
    let keyset = Keyset {
        name: "-occurred_at".into(),
        expression: "x.occurred_at",
        id_column: "x.id",
        descending: true,
    };
    keyset.fetch(db, sql, page, touchpoint_from_row, |t| {
        (serde_json::json!(row::instant(t.occurred_at)), t.id.get())
    })
}

pub(crate) fn get_touchpoint(
    db: &Db<'_>,
    visibility: Visibility,
    id: TouchpointId,
) -> Result<Touchpoint> {
    get_one(
        db,
        visibility,
        TOUCHPOINT_SELECT,
        id.get(),
        touchpoint_from_row,
        "touchpoint",
    )
}

/// Inserts a touchpoint unless the same one is there; returns its id and whether it is new.
pub(crate) fn insert_touchpoint(db: &Db<'_>, new: &NewTouchpoint) -> Result<(TouchpointId, bool)> {
    let occurred_at = row::instant(new.occurred_at);
    let attendees = serde_json::to_string(&new.attendees).unwrap_or_else(|_| "[]".to_owned());
    let inserted: Option<i64> = db.query_opt("INSERT INTO touchpoints (account_id, kind, occurred_at, user_id, summary, attendees, created_at, notes, sentiment) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING RETURNING id", &[
            Value::Integer(new.account_id.get()),
            text(new.kind),
            text(&occurred_at),
            opt_id(new.user_id.map(UserId::get)),
            opt_text(new.summary.as_ref()),
            Value::Text(attendees),
            text(row::now()),
            opt_text(new.notes.as_ref()),
            opt_text(new.sentiment),
        ], |row| row.get(0))?;
    if let Some(id) = inserted {
        return Ok((TouchpointId::new(id), true));
    }
    let id: i64 = db.query_one(
        "SELECT id FROM touchpoints WHERE account_id = ?1 AND kind = ?2 AND \
         occurred_at = ?3 AND COALESCE(summary, '') = ?4",
        &[
            Value::Integer(new.account_id.get()),
            text(new.kind),
            text(&occurred_at),
            text(new.summary.as_ref().map_or("", Text::as_str)),
        ],
        |row| row.get(0),
    )?;
    Ok((TouchpointId::new(id), false))
}

pub(crate) fn create_touchpoint(
    db: &Db<'_>,
    access: &WriteAccess,
    new: NewTouchpoint,
) -> Result<Touchpoint> {
    writable_account(db, access.visibility(), new.account_id)?;
    if let Some(user) = new.user_id {
        super::team::check_user_reference(db, access.visibility(), user, "user_id")?;
    }
    let (id, _) = insert_touchpoint(db, &new)?;
    get_touchpoint(db, access.visibility(), id)
}

pub(crate) fn delete_touchpoint(db: &Db<'_>, access: &WriteAccess, id: TouchpointId) -> Result<()> {
    delete_one(
        db,
        access.visibility(),
        "touchpoints",
        id.get(),
        "touchpoint",
    )
}
