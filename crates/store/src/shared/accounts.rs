//! Accounts in SQLite: keyset-paginated, partner-scoped lists and checked writes.

use super::row;
use super::sql::{Keyset, Sql, contains_pattern, opt_id, opt_text, text};
use crate::db::Value;
use crate::db::{Db, Row};
use crate::journey::StageSource;
use crate::rules::external_ids::Keyed;
use crate::{Page, PageRequest, Result, StoreError};
use mikawaya_domain::account::{
    Account, AccountFilter, AccountPatch, AccountSort, AccountSortField, CHURNED_STAGE, NewAccount,
    Signals, TouchTier, check_contract, merge_custom,
};
use mikawaya_domain::custom_field::{CustomFieldDef, CustomValue, CustomValues, check_all};
use mikawaya_domain::health::Colour;
use mikawaya_domain::value::{Currency, ExternalId, Money, Name, Slug};
use mikawaya_domain::{AccountId, Invalid, PartnerId, UserId, Visibility, WriteAccess};
use std::collections::BTreeMap;

pub(crate) const COLUMNS: &str = "a.id, a.external_id, a.name, a.parent_id, a.plan, a.mrr, a.currency, a.contract_start, \
     a.contract_end, a.renewal_date, a.owner_id, a.partner_id, a.stage, a.tier, a.custom_fields, a.created_at, a.updated_at, \
     s.day, s.health, s.health_change, s.forecast_risk, s.last_touch_at, s.forecast_factors, \
     s.plans_off_track, s.plan_next_due, s.stage_since, s.stage_stuck";

/// Accounts with their signals (`a` and `s`). Every account has its signals row (made by
/// a trigger when the account is), so the inner join of [`FROM_SORTED_BY_SIGNAL`] returns
/// the same rows; it lets SQLite walk a signal's index in order.
pub(crate) const FROM: &str = "accounts a LEFT JOIN account_signals s ON s.account_id = a.id";
const FROM_SORTED_BY_SIGNAL: &str = "accounts a JOIN account_signals s ON s.account_id = a.id";

fn sorted_by_signal(sort: AccountSort) -> bool {
    matches!(
        sort.field,
        AccountSortField::Health
            | AccountSortField::HealthChange
            | AccountSortField::ForecastRisk
            | AccountSortField::LastTouch
    )
}

pub(crate) fn from_row(row: &Row<'_>) -> Result<Account> {
    Ok(Account {
        id: AccountId::new(row.get(0)?),
        external_id: row.parsed_opt(1, ExternalId::parse)?,
        name: row.parsed(2, Name::parse)?,
        parent_id: row.get::<Option<i64>>(3)?.map(AccountId::new),
        plan: row.parsed_opt(4, Slug::parse)?,
        mrr: Money::new(row.get(5)?).map_err(|e| StoreError::Corrupt(format!("column 5: {e}")))?,
        currency: row.parsed(6, Currency::parse)?,
        contract_start: row.parsed_opt(7, row::date)?,
        contract_end: row.parsed_opt(8, row::date)?,
        renewal_date: row.parsed_opt(9, row::date)?,
        owner_id: row.get::<Option<i64>>(10)?.map(UserId::new),
        partner_id: row.get::<Option<i64>>(11)?.map(PartnerId::new),
        stage: row.parsed_opt(12, Slug::parse)?,
        tier: row.parsed_opt(13, TouchTier::parse)?,
        custom_fields: row.parsed(14, decode_custom)?,
        created_at: row.parsed(15, row::timestamp)?,
        updated_at: row.parsed(16, row::timestamp)?,
        signals: Signals {
            day: row.parsed_opt(17, row::date)?,
            health: row.get(18)?,
            health_change: row.get(19)?,
            forecast_risk: row.get(20)?,
            last_touch: row.parsed_opt(21, row::timestamp)?,
            forecast_factors: row
                .get::<Option<String>>(22)?
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_default(),
            plans_off_track: row.get::<Option<u32>>(23)?.unwrap_or(0),
            plan_next_due: row.parsed_opt(24, row::date)?,
            stage_since: row.parsed_opt(25, row::date)?,
            stage_stuck: row.get::<Option<bool>>(26)?.unwrap_or(false),
        },
    })
}

/// Custom values are stored tagged with their kind, `{"key": ["date", "2025-01-31"]}`, so
/// they read back typed without the definitions.
fn encode_custom(values: &CustomValues) -> String {
    let tagged: BTreeMap<&String, (&str, serde_json::Value)> = values
        .iter()
        .map(|(key, value)| {
            let kind = match value {
                CustomValue::Text(_) => "text",
                CustomValue::Number(_) => "number",
                CustomValue::Date(_) => "date",
                CustomValue::Bool(_) => "bool",
                CustomValue::Enum(_) => "enum",
            };
            (key, (kind, value.to_json()))
        })
        .collect();
    serde_json::to_string(&tagged).unwrap_or_else(|_| "{}".to_owned())
}

fn decode_custom(raw: &str) -> Result<CustomValues, Invalid> {
    let tagged: BTreeMap<String, (String, serde_json::Value)> = row::json(raw)?;
    tagged
        .into_iter()
        .map(|(key, (kind, value))| {
            let decoded = match (kind.as_str(), &value) {
                ("text", serde_json::Value::String(s)) => CustomValue::Text(s.clone()),
                ("enum", serde_json::Value::String(s)) => CustomValue::Enum(s.clone()),
                ("number", serde_json::Value::Number(n)) => {
                    CustomValue::Number(n.as_f64().unwrap_or_default())
                }
                ("bool", serde_json::Value::Bool(b)) => CustomValue::Bool(*b),
                ("date", serde_json::Value::String(s)) => CustomValue::Date(row::date(s)?),
                _ => {
                    return Err(Invalid::new(
                        format!("custom_fields.{key}"),
                        "unreadable stored value",
                    ));
                }
            };
            Ok((key, decoded))
        })
        .collect()
}

/// What an account without a signal sorts as: last in either direction for scores and
/// risks; never touched sorts as the oldest touch.
const NO_SCORE_ASCENDING: f64 = 1.0e9;
const NO_SCORE_DESCENDING: f64 = -1.0e9;

fn sort_key(sort: AccountSort) -> (&'static str, &'static str) {
    let expression = match (sort.field, sort.descending) {
        (AccountSortField::Name, _) => "a.name",
        (AccountSortField::Mrr, _) => "a.mrr",
        (AccountSortField::RenewalDate, _) => "COALESCE(a.renewal_date, '9999-12-31')",
        (AccountSortField::CreatedAt, _) => "a.id",
        (AccountSortField::UpdatedAt, _) => "a.updated_at",
        (AccountSortField::Health, false) => "COALESCE(s.health, 1.0e9)",
        (AccountSortField::Health, true) => "COALESCE(s.health, -1.0e9)",
        (AccountSortField::HealthChange, false) => "COALESCE(s.health_change, 1.0e9)",
        (AccountSortField::HealthChange, true) => "COALESCE(s.health_change, -1.0e9)",
        (AccountSortField::ForecastRisk, false) => "COALESCE(s.forecast_risk, 1.0e9)",
        (AccountSortField::ForecastRisk, true) => "COALESCE(s.forecast_risk, -1.0e9)",
        (AccountSortField::LastTouch, _) => "COALESCE(s.last_touch_at, '')",
    };
    (expression, if sort.descending { "DESC" } else { "ASC" })
}

fn sort_name(sort: AccountSort) -> String {
    format!(
        "{}{}",
        if sort.descending { "-" } else { "" },
        sort.field.as_str()
    )
}

fn key_value(account: &Account, sort: AccountSort) -> serde_json::Value {
    match sort.field {
        AccountSortField::Name => serde_json::json!(account.name.as_str()),
        AccountSortField::Mrr => serde_json::json!(account.mrr.amount()),
        AccountSortField::RenewalDate => {
            serde_json::json!(
                account
                    .renewal_date
                    .map_or_else(|| "9999-12-31".to_owned(), |d| d.to_string())
            )
        }
        AccountSortField::CreatedAt => serde_json::json!(account.id.get()),
        AccountSortField::UpdatedAt => serde_json::json!(row::instant(account.updated_at)),
        AccountSortField::Health => score_key(account.signals.health, sort.descending),
        AccountSortField::HealthChange => score_key(account.signals.health_change, sort.descending),
        AccountSortField::ForecastRisk => score_key(account.signals.forecast_risk, sort.descending),
        AccountSortField::LastTouch => serde_json::json!(
            account
                .signals
                .last_touch
                .map_or_else(String::new, row::instant)
        ),
    }
}

fn score_key(value: Option<f64>, descending: bool) -> serde_json::Value {
    serde_json::json!(value.unwrap_or(if descending {
        NO_SCORE_DESCENDING
    } else {
        NO_SCORE_ASCENDING
    }))
}

/// Appends the WHERE conditions of a filter (the statement already has `WHERE 1=1`).
fn push_filter(
    db: &Db<'_>,
    sql: &mut Sql,
    visibility: Visibility,
    filter: &AccountFilter,
) -> Result<()> {
    sql.visible("a", visibility);
    // A partner finds its accounts by the external ids it sees.
    let external_id = filter
        .external_id
        .as_ref()
        .map(|wanted| placed_external_id(db, Keyed::Account, visibility, wanted))
        .transpose()?;
    if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let pattern = contains_pattern(q);
        sql.bind(
            &format!(
                " AND (a.name {like} ? ESCAPE '\\' OR a.external_id {like} ? ESCAPE '\\')",
                like = db.ilike()
            ),
            [pattern.clone(), pattern],
        );
    }
    let equal: [(&str, Option<Value>); 7] = [
        ("a.external_id", external_id.as_ref().map(text)),
        ("a.stage", filter.stage.as_ref().map(text)),
        ("a.tier", filter.tier.map(text)),
        ("a.plan", filter.plan.as_ref().map(text)),
        (
            "a.owner_id",
            filter.owner_id.map(|id| Value::Integer(id.get())),
        ),
        (
            "a.partner_id",
            filter.partner_id.map(|id| Value::Integer(id.get())),
        ),
        (
            "a.parent_id",
            filter.parent_id.map(|id| Value::Integer(id.get())),
        ),
    ];
    for (column, value) in equal {
        if let Some(value) = value {
            sql.bind(&format!(" AND {column} = ?"), [value]);
        }
    }
    if let Some(colour) = filter.health {
        let (low, high) = match colour {
            Colour::Red => (f64::MIN, 40.0),
            Colour::Yellow => (40.0, 70.0),
            Colour::Green => (70.0, f64::MAX),
        };
        sql.bind(
            " AND s.health >= ? AND s.health < ?",
            [Value::Real(low), Value::Real(high)],
        );
    }
    if let Some(min) = filter.risk_min {
        sql.bind(" AND s.forecast_risk >= ?", [Value::Real(min)]);
    }
    if let Some(max) = filter.health_change_max {
        sql.bind(" AND s.health_change <= ?", [Value::Real(max)]);
    }
    if let Some(off) = filter.plan_off_track {
        sql.bind(
            if off {
                " AND s.plans_off_track > 0"
            } else {
                " AND COALESCE(s.plans_off_track, 0) = 0"
            },
            [],
        );
    }
    if let Some(day) = filter.plan_overdue_on {
        sql.bind(" AND s.plan_next_due < ?", [text(day)]);
    }
    if let Some(stuck) = filter.stage_stuck {
        sql.bind(
            if stuck {
                " AND s.stage_stuck = 1"
            } else {
                " AND COALESCE(s.stage_stuck, 0) = 0"
            },
            [],
        );
    }
    if let Some(day) = filter.untouched_since {
        sql.bind(
            " AND (s.last_touch_at IS NULL OR s.last_touch_at < ?)",
            [text(day)],
        );
    }
    if let Some(key) = &filter.custom_key {
        // Stored as {"key": [kind, value]}: text, enum and date values compare as text,
        // numbers as numbers, flags by their JSON type (`true`/`false`).
        let path = format!("$.\"{}\"[1]", key.as_str());
        let wanted = filter
            .custom_value
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_owned();
        let number = wanted.parse::<f64>().map_or(Value::Null, Value::Real);
        if db.is_postgres() {
            // The same three comparisons in PostgreSQL's JSON terms: `#>>` reads a flag as
            // `true`/`false` and text as itself.
            let value = "(a.custom_fields::jsonb #> ARRAY[?, '1'])";
            sql.bind(
                &format!(
                    " AND ((a.custom_fields::jsonb #>> ARRAY[?, '1']) = ? \
                     OR (CASE WHEN jsonb_typeof({value}) = 'number' \
                     THEN ({value} #>> '{{}}')::float8 END) = ?)"
                ),
                [
                    Value::Text(key.as_str().to_owned()),
                    Value::Text(wanted.clone()),
                    Value::Text(key.as_str().to_owned()),
                    Value::Text(key.as_str().to_owned()),
                    number,
                ],
            );
        } else {
            sql.bind(
            " AND (json_extract(a.custom_fields, ?) = ? \
             OR (json_type(a.custom_fields, ?) IN ('integer', 'real') AND json_extract(a.custom_fields, ?) = ?) \
             OR json_type(a.custom_fields, ?) = ?)",
            [
                Value::Text(path.clone()),
                Value::Text(wanted.clone()),
                Value::Text(path.clone()),
                Value::Text(path.clone()),
                number,
                Value::Text(path),
                Value::Text(wanted),
            ],
        );
        }
    }
    match filter.churned {
        Some(true) => {
            sql.bind(" AND a.stage = ?", [text(CHURNED_STAGE)]);
        }
        Some(false) => {
            sql.bind(
                " AND (a.stage IS NULL OR a.stage <> ?)",
                [text(CHURNED_STAGE)],
            );
        }
        None => {}
    }
    if let Some(min) = filter.mrr_min {
        sql.bind(" AND a.mrr >= ?", [Value::Real(min)]);
    }
    if let Some(max) = filter.mrr_max {
        sql.bind(" AND a.mrr <= ?", [Value::Real(max)]);
    }
    // Renewal ranges use the indexed sort expression, so a window is an index range scan.
    if let Some(from) = filter.renewal_from {
        sql.bind(
            " AND a.renewal_date IS NOT NULL AND COALESCE(a.renewal_date, '9999-12-31') >= ?",
            [text(from)],
        );
    }
    if let Some(to) = filter.renewal_to {
        sql.bind(
            " AND a.renewal_date IS NOT NULL AND COALESCE(a.renewal_date, '9999-12-31') <= ?",
            [text(to)],
        );
    }
    Ok(())
}

pub(crate) fn list(
    db: &Db<'_>,
    visibility: Visibility,
    filter: &AccountFilter,
    sort: AccountSort,
    page: &PageRequest,
) -> Result<Page<Account>> {
    let (expression, _) = sort_key(sort);
    let (from, id_column) = if sorted_by_signal(sort) {
        (FROM_SORTED_BY_SIGNAL, "s.account_id")
    } else {
        (FROM, "a.id")
    };
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM {from} WHERE 1=1"));
    push_filter(db, &mut sql, visibility, filter)?;
    let keyset = Keyset {
        name: sort_name(sort),
        expression,
        id_column,
        descending: sort.descending,
    };
    keyset.fetch(db, sql, page, from_row, |account| {
        (key_value(account, sort), account.id.get())
    })
}

pub(crate) fn count(db: &Db<'_>, visibility: Visibility, filter: &AccountFilter) -> Result<u64> {
    // Only a filter on signals needs them; without the join SQLite counts by index.
    let from = if filter.health.is_some()
        || filter.risk_min.is_some()
        || filter.health_change_max.is_some()
        || filter.untouched_since.is_some()
        || filter.plan_off_track.is_some()
        || filter.plan_overdue_on.is_some()
        || filter.stage_stuck.is_some()
    {
        FROM
    } else {
        "accounts a"
    };
    let mut sql = Sql::new(&format!("SELECT COUNT(*) FROM {from} WHERE 1=1"));
    push_filter(db, &mut sql, visibility, filter)?;
    let count: i64 = db.query_one(&sql.text, &sql.params, |row| row.get(0))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

pub(crate) fn all(db: &Db<'_>, visibility: Visibility) -> Result<Vec<Account>> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM {FROM} WHERE 1=1"));
    sql.visible("a", visibility);
    sql.bind(" ORDER BY a.id", []);
    db.query_map(&sql.text, &sql.params, from_row)
}

/// The visible book's facts the team's sums read, for every account or, when `since` is a
/// book stamp whose changes are itemized, for the accounts changed after it (with those of
/// them now gone). Read in one transaction after the stamp, so the facts are at least as
/// new as the stamp returned; one changed later is read again by the next call.
pub(crate) fn book_changes(
    db: &Db<'_>,
    visibility: Visibility,
    since: Option<i64>,
) -> Result<crate::BookChanges> {
    let (stamp, changes_from): (i64, i64) = db.query_one(
        "SELECT n, changes_from FROM book_stamp WHERE id = 1",
        &[],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let since = since.filter(|since| (changes_from..=stamp).contains(since));
    if since == Some(stamp) {
        return Ok(crate::BookChanges {
            stamp,
            whole: false,
            facts: Vec::new(),
            gone: Vec::new(),
        });
    }
    let changed = |sql: &mut Sql, column: &str| {
        if let Some(since) = since {
            sql.bind(
                &format!(" AND {column} IN (SELECT account_id FROM book_changes WHERE stamp > ?)"),
                [Value::Integer(since)],
            );
        }
    };
    let mut sql = Sql::new(&format!(
        "SELECT a.id, a.external_id, a.plan, a.owner_id, a.partner_id, a.tier, a.currency, \
         a.mrr, a.renewal_date, s.health FROM {FROM} WHERE 1=1"
    ));
    sql.visible("a", visibility);
    changed(&mut sql, "a.id");
    sql.bind(" ORDER BY a.id", []);
    let mut facts = db.query_map(&sql.text, &sql.params, |row| {
        Ok(crate::BookFacts {
            account_id: AccountId::new(row.get(0)?),
            external_id: row.parsed_opt(1, ExternalId::parse)?,
            plan: row.parsed_opt(2, Slug::parse)?,
            owner_id: row.get::<Option<i64>>(3)?.map(UserId::new),
            partner_id: row.get::<Option<i64>>(4)?.map(PartnerId::new),
            tier: row.parsed_opt(5, TouchTier::parse)?,
            currency: row.parsed(6, Currency::parse)?,
            mrr: row.get(7)?,
            renewal_date: row.parsed_opt(8, row::date)?,
            health: row.get(9)?,
            revenue: Vec::new(),
        })
    })?;
    let mut sql = Sql::new(
        "SELECT x.account_id, x.mrr, x.start_date, x.end_date FROM subscriptions x \
         JOIN accounts a ON a.id = x.account_id WHERE 1=1",
    );
    sql.visible("a", visibility);
    changed(&mut sql, "x.account_id");
    sql.bind(" ORDER BY x.account_id, x.start_date, x.id", []);
    let revenue = db.query_map(&sql.text, &sql.params, super::children::revenue_row)?;
    for row in revenue {
        // Both are in account order; an account whose rows come is among the facts.
        if let Ok(index) = facts.binary_search_by_key(&row.account, |f| f.account_id) {
            facts[index].revenue.push(row);
        }
    }
    let gone = match since {
        None => Vec::new(),
        Some(since) => {
            let ids: Vec<i64> = db.query_map(
                "SELECT DISTINCT account_id FROM book_changes WHERE stamp > ?1 ORDER BY 1",
                &[Value::Integer(since)],
                |row| row.get(0),
            )?;
            ids.into_iter()
                .map(AccountId::new)
                .filter(|id| facts.binary_search_by_key(id, |f| f.account_id).is_err())
                .collect()
        }
    };
    Ok(crate::BookChanges {
        stamp,
        whole: since.is_none(),
        facts,
        gone,
    })
}

pub(crate) fn values(
    db: &Db<'_>,
    visibility: Visibility,
    field: &crate::AccountField,
) -> Result<Vec<(AccountId, Option<String>)>> {
    use crate::AccountField;
    let column = match field {
        AccountField::ExternalId => "a.external_id",
        AccountField::Plan => "a.plan",
        AccountField::Tier => "a.tier",
        AccountField::Owner => "CAST(a.owner_id AS TEXT)",
        AccountField::Partner => "CAST(a.partner_id AS TEXT)",
        AccountField::Custom(_) => "a.custom_fields",
    };
    let mut sql = Sql::new(&format!("SELECT a.id, {column} FROM accounts a WHERE 1=1"));
    sql.visible("a", visibility);
    sql.bind(" ORDER BY a.id", []);
    db.query_map(&sql.text, &sql.params, |row| {
        let id = AccountId::new(row.get(0)?);
        let value = match field {
            AccountField::Custom(key) => {
                let mut values = row.parsed(1, decode_custom)?;
                values.remove(key).map(|v| v.label())
            }
            _ => row.get::<Option<String>>(1)?,
        };
        Ok((id, value))
    })
}

pub(crate) fn get(db: &Db<'_>, visibility: Visibility, id: AccountId) -> Result<Account> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM {FROM} WHERE a.id = ?"));
    sql.params.push(Value::Integer(id.get()));
    sql.visible("a", visibility);
    db.query_opt(&sql.text, &sql.params, from_row)?
        .ok_or(StoreError::NotFound { entity: "account" })
}

pub(crate) fn find_by_external_id(
    db: &Db<'_>,
    external_id: &ExternalId,
) -> Result<Option<Account>> {
    let query = format!("SELECT {COLUMNS} FROM {FROM} WHERE a.external_id = ?1");
    db.query_opt(&query, &[external_id.as_str().into()], from_row)
}

/// The stored id `wanted` stands for when written or looked up by a caller with
/// `visibility` (see `rules::external_ids`).
pub(crate) fn placed_external_id(
    db: &Db<'_>,
    keyed: Keyed,
    visibility: Visibility,
    wanted: &ExternalId,
) -> Result<ExternalId> {
    let query = match keyed {
        Keyed::Account => "SELECT partner_id FROM accounts WHERE external_id = ?1",
        Keyed::Contact => {
            "SELECT a.partner_id FROM contacts x JOIN accounts a ON a.id = \
                 x.account_id WHERE x.external_id = ?1"
        }
        Keyed::Subscription => {
            "SELECT a.partner_id FROM subscriptions x JOIN accounts a ON a.id = \
                 x.account_id WHERE x.external_id = ?1"
        }
    };
    crate::rules::external_ids::placed(visibility, wanted, |key| {
        Ok(db
            .query_opt(query, &[key.as_str().into()], |row| {
                row.get::<Option<i64>>(0)
            })?
            .map(|partner| partner.map(PartnerId::new)))
    })
}

/// The external id a write by `access` stores for the one it wrote.
pub(crate) fn place(
    db: &Db<'_>,
    keyed: Keyed,
    access: &WriteAccess,
    wanted: Option<ExternalId>,
) -> Result<Option<ExternalId>> {
    wanted
        .map(|wanted| placed_external_id(db, keyed, access.visibility(), &wanted))
        .transpose()
}

pub(crate) fn custom_field_defs(db: &Db<'_>) -> Result<Vec<CustomFieldDef>> {
    super::team::custom_fields(db)
}

/// Checks the references an account holds: parent visible (and not itself), owner and
/// partner existing, contract dates in order.
pub(crate) fn check_references(
    db: &Db<'_>,
    visibility: Visibility,
    account: &Account,
) -> Result<()> {
    check_contract(account.contract_start, account.contract_end)?;
    if let Some(parent_id) = account.parent_id {
        if parent_id == account.id {
            return Err(Invalid::new("parent_id", "an account cannot be its own parent").into());
        }
        get(db, visibility, parent_id)
            .map_err(|_| Invalid::new("parent_id", format!("no account {parent_id}")))?;
        if account.id.get() != 0
            && crate::rules::accounts::closes_cycle(account.id, parent_id, |id| parent_of(db, id))?
        {
            return Err(crate::rules::accounts::cycle_refused("parent_id"));
        }
    }
    if let Some(owner_id) = account.owner_id {
        let exists: Option<i64> = db.query_opt(
            "SELECT id FROM users WHERE id = ?1",
            &[owner_id.get().into()],
            |row| row.get(0),
        )?;
        if exists.is_none() {
            return Err(Invalid::new("owner_id", format!("no user {owner_id}")).into());
        }
    }
    if let Some(partner_id) = account.partner_id {
        let exists: Option<i64> = db.query_opt(
            "SELECT id FROM partners WHERE id = ?1",
            &[partner_id.get().into()],
            |row| row.get(0),
        )?;
        if exists.is_none() {
            return Err(Invalid::new("partner_id", format!("no partner {partner_id}")).into());
        }
    }
    Ok(())
}

/// An account's parent, whoever can see it (for walking the hierarchy).
pub(crate) fn parent_of(db: &Db<'_>, id: AccountId) -> Result<Option<AccountId>> {
    Ok(db
        .query_opt(
            "SELECT parent_id FROM accounts WHERE id = ?1",
            &[id.get().into()],
            |row| row.get::<Option<i64>>(0),
        )?
        .flatten()
        .map(AccountId::new))
}

fn unique_violation(error: StoreError) -> StoreError {
    if error.is_unique_violation_of("external_id") {
        StoreError::Conflict {
            field: "external_id".into(),
            reason: "is already used by another account".into(),
        }
    } else {
        error
    }
}

/// Inserts or updates the full row of `account` (id 0 = insert) and returns its id.
pub(crate) fn save(db: &Db<'_>, account: &Account) -> Result<AccountId> {
    let mut values = vec![
        opt_text(account.external_id.as_ref()),
        text(&account.name),
        opt_id(account.parent_id.map(AccountId::get)),
        opt_text(account.plan.as_ref()),
        Value::Real(account.mrr.amount()),
        text(&account.currency),
        opt_text(account.contract_start),
        opt_text(account.contract_end),
        opt_text(account.renewal_date),
        opt_id(account.owner_id.map(UserId::get)),
        opt_id(account.partner_id.map(PartnerId::get)),
        opt_text(account.stage.as_ref()),
        opt_text(account.tier),
        Value::Text(encode_custom(&account.custom_fields)),
        text(row::instant(account.created_at)),
        text(row::instant(account.updated_at)),
    ];
    if account.id.get() == 0 {
        let id = db.query_one("INSERT INTO accounts (external_id, name, parent_id, plan, mrr, currency, contract_start, contract_end, \
                 renewal_date, owner_id, partner_id, stage, tier, custom_fields, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id", &values, |row| row.get(0))
            .map_err(unique_violation)?;
        Ok(AccountId::new(id))
    } else {
        values.push(Value::Integer(account.id.get()));
        db.execute(
            "UPDATE accounts SET external_id = ?, name = ?, parent_id = ?, plan = ?, mrr = ?, currency = ?, contract_start = ?, \
             contract_end = ?, renewal_date = ?, owner_id = ?, partner_id = ?, stage = ?, tier = ?, custom_fields = ?, \
             created_at = ?, updated_at = ? WHERE id = ?",
            &values,
        )
        .map_err(unique_violation)?;
        Ok(account.id)
    }
}

pub(crate) fn create(db: &Db<'_>, access: &WriteAccess, new: NewAccount) -> Result<Account> {
    let now = jiff::Timestamp::now();
    let definitions = custom_field_defs(db)?;
    let custom = check_all(&definitions, &new.custom_fields)?;
    let external_id = place(db, Keyed::Account, access, new.external_id)?;
    let account = Account {
        id: AccountId::new(0),
        external_id,
        name: new.name,
        parent_id: new.parent_id,
        plan: new.plan,
        mrr: new.mrr,
        currency: new.currency,
        contract_start: new.contract_start,
        contract_end: new.contract_end,
        renewal_date: new.renewal_date,
        owner_id: new.owner_id,
        partner_id: crate::rules::accounts::partner_for_write(access.visibility(), new.partner_id)?,
        stage: new.stage,
        tier: new.tier,
        custom_fields: merge_custom(CustomValues::new(), custom),
        signals: Signals::default(),
        created_at: now,
        updated_at: now,
    };
    check_references(db, access.visibility(), &account)?;
    let id = save(db, &account)?;
    super::journey::record_changed(
        db,
        id,
        None,
        account.stage.as_ref(),
        StageSource::Hand,
        access.user_id(),
    )?;
    get(db, access.visibility(), id)
}

pub(crate) fn update(
    db: &Db<'_>,
    access: &WriteAccess,
    id: AccountId,
    patch: AccountPatch,
) -> Result<Account> {
    let current = get(db, access.visibility(), id)?;
    let definitions = custom_field_defs(db)?;
    let mut account = crate::rules::accounts::apply_patch(
        current.clone(),
        patch,
        access.visibility(),
        &definitions,
    )?;
    account.external_id = place(db, Keyed::Account, access, account.external_id)?;
    check_references(db, access.visibility(), &account)?;
    save(db, &account)?;
    super::work::record_changes(db, &current, &account)?;
    super::journey::record_changed(
        db,
        id,
        current.stage.as_ref(),
        account.stage.as_ref(),
        StageSource::Hand,
        access.user_id(),
    )?;
    get(db, access.visibility(), id)
}

pub(crate) fn delete(db: &Db<'_>, access: &WriteAccess, id: AccountId) -> Result<()> {
    get(db, access.visibility(), id)?;
    db.execute("DELETE FROM accounts WHERE id = ?1", &[id.get().into()])?;
    Ok(())
}
