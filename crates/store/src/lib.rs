//! The Mikawaya store: where the customer data model lives.
//!
//! [`Store`] is the interface every other crate uses; [`sqlite::SqliteStore`] is the
//! embedded backend (one SQLite file in WAL mode). A PostgreSQL backend implements the
//! same trait and runs the same behaviour suite.
//!
//! Invariants:
//! - Partner scoping happens here, never in callers: every read takes a
//!   [`ReadAccess`], every write a [`WriteAccess`] (or stronger), and rows outside the
//!   caller's visibility behave as if they did not exist.
//! - A use case that writes several rows (an import, an upsert with history) commits in
//!   one transaction or not at all.
//! - Stored values are parsed back into domain types on read; a row that does not parse is
//!   reported as [`StoreError::Corrupt`], never passed on.
//! - Lists are keyset-paginated on `(sort key, id)` with an index on each pair; cursors
//!   are opaque and tied to their sort.
//! - Subscription rows are half-open terms `[start, end)`; a change of price is a new row,
//!   and every in-place change keeps the replaced version in `subscription_versions`, so
//!   revenue history is never lost.
//! - SQLite: one file in WAL mode, one writer connection behind a mutex and four readers;
//!   a multi-row write is one `BEGIN IMMEDIATE` transaction with `synchronous=FULL`, so an
//!   import is the whole file or nothing even under `kill -9`. Migrations are versioned
//!   SQL files in `migrations/`, applied on open and recorded in `PRAGMA user_version`.

mod db;
mod error;
pub mod journey;
mod page;
pub mod plans;
pub mod postgresql;
mod records;
mod rules;
mod shared;
pub mod sqlite;
pub mod voice;
pub mod work;

pub use error::{RowError, StoreError, error_chain, is_disk_full};
pub use page::{Page, PageRequest, all_pages};
pub use records::{
    AccountRecord, ContactRecord, ImportBatch, ImportRecords, ImportSummary, PlanRef,
    SubscriptionRecord, TouchpointRecord,
};

use mikawaya_domain::access::{ManageAccess, Scope};
use mikawaya_domain::account::{Account, AccountFilter, AccountPatch, AccountSort, NewAccount};
use mikawaya_domain::config::{ConfigKind, ConfigVersion};
use mikawaya_domain::contact::{Contact, ContactPatch, NewContact};
use mikawaya_domain::custom_field::CustomFieldDef;
use mikawaya_domain::partner::{NewPartner, Partner};
use mikawaya_domain::plan::{PlanEvent, SuccessPlan};
use mikawaya_domain::segment::{NewSegment, Segment};
use mikawaya_domain::subscription::{NewSubscription, Subscription, SubscriptionPatch};
use mikawaya_domain::touchpoint::{NewTouchpoint, Touchpoint};
use mikawaya_domain::user::{NewUser, User, UserChange};
use mikawaya_domain::value::{Email, Name};
use mikawaya_domain::work::{
    MessageStatus, NewSurveyResponse, NewTask, RunStatus, SurveyResponse, Task, TaskPatch,
};
use mikawaya_domain::{
    AccountId, AdminAccess, ContactId, PartnerId, PlanId, ReadAccess, SegmentId, SubscriptionId,
    TokenId, TouchpointId, UserId, WriteAccess,
};
use work::{
    AccountChange, DailyRunRecord, Delivery, HealthRow, Message, NewMessage, PlaybookVersion, Run,
    RunFilter, TaskFilter, WorkflowBatch,
};

/// Result of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database's schema against this build's migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaVersion {
    /// Migrations applied to the database.
    pub applied: u32,
    /// Migrations this build has.
    pub known: u32,
}

impl SchemaVersion {
    /// Whether the database has exactly this build's migrations.
    pub fn is_current(self) -> bool {
        self.applied == self.known
    }
}

/// An API token as stored (the secret itself is never stored, only its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    /// Its id.
    pub id: TokenId,
    /// What it is for.
    pub name: Name,
    /// What it may do at most.
    pub scope: Scope,
    /// The user it acts as; none for a service token.
    pub user_id: Option<UserId>,
    /// When it was created.
    pub created_at: jiff::Timestamp,
    /// When it was revoked.
    pub revoked_at: Option<jiff::Timestamp>,
}

/// A write key as stored (the key itself is never stored, only its hash). Its id is the
/// source number events carry.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteKey {
    /// Its id.
    pub id: i64,
    /// What sends with it.
    pub name: Name,
    /// When it was created.
    pub created_at: jiff::Timestamp,
    /// When it was revoked.
    pub revoked_at: Option<jiff::Timestamp>,
}

/// One recorded change to people, partners, segments or custom field definitions.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Its number (newer entries have larger ones).
    pub id: i64,
    /// When.
    pub at: jiff::Timestamp,
    /// Who (none: the system, or a user since deleted).
    pub actor_id: Option<UserId>,
    /// `account`, `contact`, `subscription`, `touchpoint`, `task`, `playbook`,
    /// `configuration`, `token`, `write_key`, `feature_request`, `user`, `partner`,
    /// `segment` or `custom_field`.
    pub object: String,
    /// Its id or key.
    pub object_key: String,
    /// `create`, `update`, `delete`, `deactivate` or `activate`.
    pub action: String,
    /// The object before (JSON), none when created.
    pub before: Option<String>,
    /// The object after (JSON), none when deleted.
    pub after: Option<String>,
}

/// Which audit entries to read, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// One kind of object.
    pub object: Option<String>,
    /// One object (with `object`): its id or key.
    pub object_key: Option<String>,
    /// Changes by one user.
    pub actor_id: Option<UserId>,
    /// Changes by the system only (no user).
    pub system_only: bool,
    /// At or after.
    pub from: Option<jiff::Timestamp>,
    /// Before.
    pub to: Option<jiff::Timestamp>,
    /// Entries older than this one (the next page).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// A login session as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The logged-in user.
    pub user: User,
    /// The CSRF token forms and API calls with the session cookie must echo.
    pub csrf_token: String,
    /// When it ends.
    pub expires_at: jiff::Timestamp,
}

/// One account as the sums kept over the book read it ([`Store::book_changes`]): the
/// team's workload per owner, tier, currency and whether it pays on a day; churn per cohort
/// of plan, tier, owner, partner or start month, and activity churn by usage key.
#[derive(Debug, Clone, PartialEq)]
pub struct BookFacts {
    /// The account.
    pub account_id: mikawaya_domain::AccountId,
    /// Its external id (its usage key).
    pub external_id: Option<mikawaya_domain::value::ExternalId>,
    /// Its plan.
    pub plan: Option<mikawaya_domain::value::Slug>,
    /// Its owner (as stored: possibly a user who no longer exists).
    pub owner_id: Option<mikawaya_domain::UserId>,
    /// Its partner.
    pub partner_id: Option<mikawaya_domain::PartnerId>,
    /// Its touch tier.
    pub tier: Option<mikawaya_domain::account::TouchTier>,
    /// Its currency.
    pub currency: mikawaya_domain::value::Currency,
    /// Its MRR.
    pub mrr: f64,
    /// Its renewal date.
    pub renewal_date: Option<jiff::civil::Date>,
    /// Its health in the latest signals.
    pub health: Option<f64>,
    /// Its subscriptions' revenue rows, by start.
    pub revenue: Vec<mikawaya_domain::subscription::RevenueRow>,
}

/// The visible book's facts since a book stamp ([`Store::book_changes`]).
#[derive(Debug, Clone, PartialEq)]
pub struct BookChanges {
    /// The book stamp the facts are at least as new as: ask again from it.
    pub stamp: i64,
    /// Whether `facts` is the whole visible book (the stamp asked was none, or older than
    /// the itemized changes); else they are the accounts changed since it.
    pub whole: bool,
    /// In account order.
    pub facts: Vec<BookFacts>,
    /// Accounts changed since the stamp asked that are not in the visible book (deleted,
    /// moved out of sight, or never in it), in order: none of it now.
    pub gone: Vec<mikawaya_domain::AccountId>,
}

/// One field of every visible account ([`Store::account_values`]), for work over the
/// whole book that needs no more of each account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountField {
    /// Its id in the CRM.
    ExternalId,
    /// Its plan.
    Plan,
    /// Its touch tier.
    Tier,
    /// Its owner's id.
    Owner,
    /// Its partner's id.
    Partner,
    /// A custom field's value, as its label.
    Custom(String),
}

/// Filters for listing contacts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactFilter {
    /// Only this account's contacts.
    pub account_id: Option<AccountId>,
    /// Only this role.
    pub role: Option<mikawaya_domain::contact::ContactRole>,
    /// Substring of name or email.
    pub q: Option<String>,
    /// Exact email.
    pub email: Option<Email>,
}

/// Filters for listing subscriptions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscriptionFilter {
    /// Only this account's subscriptions.
    pub account_id: Option<AccountId>,
    /// Only those active on this day.
    pub active_on: Option<jiff::civil::Date>,
    /// Only this plan.
    pub plan: Option<mikawaya_domain::value::Slug>,
}

/// Filters for listing touchpoints (newest first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TouchpointFilter {
    /// Only this account's touchpoints.
    pub account_id: Option<AccountId>,
    /// Only this kind.
    pub kind: Option<mikawaya_domain::touchpoint::TouchpointKind>,
    /// Only by this user.
    pub user_id: Option<UserId>,
    /// At or after this instant.
    pub from: Option<jiff::Timestamp>,
    /// Before this instant.
    pub to: Option<jiff::Timestamp>,
}

/// Counts for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Accounts.
    pub accounts: u64,
    /// Contacts.
    pub contacts: u64,
    /// Subscriptions.
    pub subscriptions: u64,
    /// Touchpoints.
    pub touchpoints: u64,
    /// Users.
    pub users: u64,
}

/// Writes the file `target` (which must not exist) with `write` as `target.partial`,
/// renamed when whole: a crash never leaves a half-written file under its name.
pub(crate) fn write_whole(
    target: &std::path::Path,
    write: impl FnOnce(&std::path::Path) -> Result<()>,
) -> Result<()> {
    if target.exists() {
        return Err(StoreError::Conflict {
            field: "file".into(),
            reason: format!("{} exists already", target.display()),
        });
    }
    let partial = target.with_extension("partial");
    match write(&partial) {
        Ok(()) => Ok(std::fs::rename(&partial, target)?),
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

/// The store. Methods are blocking; async callers run them on a blocking pool.
pub trait Store: Send + Sync {
    // --- accounts -------------------------------------------------------------
    /// Lists visible accounts matching a filter, in sort order, one page at a time.
    fn list_accounts(
        &self,
        access: &ReadAccess,
        filter: &AccountFilter,
        sort: AccountSort,
        page: &PageRequest,
    ) -> Result<Page<Account>>;
    /// Counts visible accounts matching a filter.
    fn count_accounts(&self, access: &ReadAccess, filter: &AccountFilter) -> Result<u64>;
    /// Every visible account at once, in id order, for analytics over the whole book.
    fn all_accounts(&self, access: &ReadAccess) -> Result<Vec<Account>>;
    /// The facts of every visible account the team's sums read, or, with `since` (a book
    /// stamp this returned before), only of those changed after it, and which of those are
    /// gone. The whole book when `since` is older than the changes the store itemizes.
    fn book_changes(&self, access: &ReadAccess, since: Option<i64>) -> Result<BookChanges>;
    /// One field of every visible account, in id order (`None` where it is empty).
    fn account_values(
        &self,
        access: &ReadAccess,
        field: &AccountField,
    ) -> Result<Vec<(AccountId, Option<String>)>>;
    /// One visible account.
    fn get_account(&self, access: &ReadAccess, id: AccountId) -> Result<Account>;
    /// Creates an account. A partner user's accounts always belong to their partner.
    fn create_account(&self, access: &WriteAccess, account: NewAccount) -> Result<Account>;
    /// Changes a visible account.
    fn update_account(
        &self,
        access: &WriteAccess,
        id: AccountId,
        patch: AccountPatch,
    ) -> Result<Account>;
    /// Deletes a visible account and everything under it.
    fn delete_account(&self, access: &WriteAccess, id: AccountId) -> Result<()>;

    // --- contacts -------------------------------------------------------------
    /// Lists visible contacts.
    fn list_contacts(
        &self,
        access: &ReadAccess,
        filter: &ContactFilter,
        page: &PageRequest,
    ) -> Result<Page<Contact>>;
    /// One visible contact.
    fn get_contact(&self, access: &ReadAccess, id: ContactId) -> Result<Contact>;
    /// Creates a contact on a visible account.
    fn create_contact(&self, access: &WriteAccess, contact: NewContact) -> Result<Contact>;
    /// Changes a visible contact.
    fn update_contact(
        &self,
        access: &WriteAccess,
        id: ContactId,
        patch: ContactPatch,
    ) -> Result<Contact>;
    /// Deletes a visible contact.
    fn delete_contact(&self, access: &WriteAccess, id: ContactId) -> Result<()>;

    // --- subscriptions --------------------------------------------------------
    /// Lists visible subscriptions.
    fn list_subscriptions(
        &self,
        access: &ReadAccess,
        filter: &SubscriptionFilter,
        page: &PageRequest,
    ) -> Result<Page<Subscription>>;
    /// What the revenue formulas need of every visible subscription (account, MRR, term),
    /// by account, start and id (the order of [`BookFacts::revenue`] too).
    fn revenue_rows(
        &self,
        access: &ReadAccess,
    ) -> Result<Vec<mikawaya_domain::subscription::RevenueRow>>;
    /// Every visible subscription row at once, for analytics over the whole book.
    fn all_subscriptions(&self, access: &ReadAccess) -> Result<Vec<Subscription>>;
    /// One visible subscription.
    fn get_subscription(&self, access: &ReadAccess, id: SubscriptionId) -> Result<Subscription>;
    /// Creates a subscription on a visible account.
    fn create_subscription(
        &self,
        access: &WriteAccess,
        subscription: NewSubscription,
    ) -> Result<Subscription>;
    /// Changes a visible subscription, keeping the replaced version in its history.
    fn update_subscription(
        &self,
        access: &WriteAccess,
        id: SubscriptionId,
        patch: SubscriptionPatch,
    ) -> Result<Subscription>;
    /// Deletes a visible subscription.
    fn delete_subscription(&self, access: &WriteAccess, id: SubscriptionId) -> Result<()>;

    // --- touchpoints ----------------------------------------------------------
    /// Lists visible touchpoints, newest first.
    fn list_touchpoints(
        &self,
        access: &ReadAccess,
        filter: &TouchpointFilter,
        page: &PageRequest,
    ) -> Result<Page<Touchpoint>>;
    /// One visible touchpoint.
    fn get_touchpoint(&self, access: &ReadAccess, id: TouchpointId) -> Result<Touchpoint>;
    /// Records a touchpoint on a visible account (idempotent on account, kind, instant, summary).
    fn create_touchpoint(
        &self,
        access: &WriteAccess,
        touchpoint: NewTouchpoint,
    ) -> Result<Touchpoint>;
    /// Deletes a visible touchpoint.
    fn delete_touchpoint(&self, access: &WriteAccess, id: TouchpointId) -> Result<()>;

    // --- segments -------------------------------------------------------------
    /// All segments (their definitions are not scoped; evaluating one is).
    fn list_segments(&self, access: &ReadAccess) -> Result<Vec<Segment>>;
    /// One segment.
    fn get_segment(&self, access: &ReadAccess, id: SegmentId) -> Result<Segment>;
    /// Creates a segment.
    fn create_segment(&self, access: &ManageAccess, segment: NewSegment) -> Result<Segment>;
    /// Replaces a segment's definition.
    fn update_segment(
        &self,
        access: &ManageAccess,
        id: SegmentId,
        segment: NewSegment,
    ) -> Result<Segment>;
    /// Deletes a segment.
    fn delete_segment(&self, access: &ManageAccess, id: SegmentId) -> Result<()>;

    // --- partners -------------------------------------------------------------
    /// Partners the caller can see (a partner user sees only its own).
    fn list_partners(&self, access: &ReadAccess) -> Result<Vec<Partner>>;
    /// One visible partner.
    fn get_partner(&self, access: &ReadAccess, id: PartnerId) -> Result<Partner>;
    /// Creates a partner (or returns the one with the same external id, renamed).
    fn upsert_partner(&self, access: &ManageAccess, partner: NewPartner) -> Result<Partner>;
    /// Deletes a partner that owns no accounts and has no users.
    fn delete_partner(&self, access: &ManageAccess, id: PartnerId) -> Result<()>;

    // --- users, tokens, sessions ----------------------------------------------
    /// Users; partner users see only their partner's colleagues.
    fn list_users(&self, access: &ReadAccess) -> Result<Vec<User>>;
    /// One user.
    fn get_user(&self, access: &ReadAccess, id: UserId) -> Result<User>;
    /// Creates a user with an optional argon2id password hash.
    fn create_user(
        &self,
        access: &AdminAccess,
        user: NewUser,
        password_hash: Option<String>,
    ) -> Result<User>;
    /// Replaces a user's password hash.
    fn set_password(&self, access: &AdminAccess, id: UserId, password_hash: String) -> Result<()>;
    /// Sets a user's preferred locale (any user may set their own).
    fn set_locale(&self, id: UserId, locale: Option<String>) -> Result<()>;
    /// Deletes a user.
    fn delete_user(&self, access: &AdminAccess, id: UserId) -> Result<()>;
    /// Changes a user's name, role or partner (recorded; the user is logged out when what
    /// they may see changes).
    fn update_user(&self, access: &AdminAccess, id: UserId, change: UserChange) -> Result<User>;
    /// Deactivates a user (logged out, their tokens revoked, no login; kept with their
    /// history) or activates them again. Nobody deactivates themselves (field `id`).
    fn set_user_active(&self, access: &AdminAccess, id: UserId, active: bool) -> Result<User>;
    /// The latest `limit` recorded changes to people, partners, segments and custom field
    /// definitions, newest first.
    fn audit_log(&self, access: &AdminAccess, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
    /// The user and password hash for a login email (authentication only).
    fn find_login(&self, email: &Email) -> Result<Option<(User, Option<String>)>>;
    /// Stores a token's hash.
    fn create_token(
        &self,
        access: &AdminAccess,
        name: Name,
        scope: Scope,
        user_id: Option<UserId>,
        token_hash: String,
    ) -> Result<ApiToken>;
    /// Tokens, newest first.
    fn list_tokens(&self, access: &AdminAccess) -> Result<Vec<ApiToken>>;
    /// Revokes a token.
    fn revoke_token(&self, access: &AdminAccess, id: TokenId) -> Result<()>;
    /// An unrevoked token and its user by hash (authentication only).
    fn find_token(&self, token_hash: &str) -> Result<Option<(ApiToken, Option<User>)>>;
    /// Stores a session.
    fn create_session(
        &self,
        token_hash: String,
        user_id: UserId,
        csrf_token: String,
        expires_at: jiff::Timestamp,
    ) -> Result<()>;
    /// A live session by hash (authentication only).
    fn find_session(&self, token_hash: &str, now: jiff::Timestamp) -> Result<Option<Session>>;
    /// Ends a session.
    fn delete_session(&self, token_hash: &str) -> Result<()>;

    /// The failed logins under a throttle key after `since`: how many, and the oldest.
    /// Kept in the store, so every node throttles alike.
    fn login_failures(
        &self,
        key: &str,
        since: jiff::Timestamp,
    ) -> Result<(u64, Option<jiff::Timestamp>)>;

    /// Records a failed login under each throttle key (forgetting failures from before
    /// `forget_before`).
    fn add_login_failure(
        &self,
        keys: &[String],
        at: jiff::Timestamp,
        forget_before: jiff::Timestamp,
    ) -> Result<()>;

    /// Forgets the failed logins under each throttle key.
    fn clear_login_failures(&self, keys: &[String]) -> Result<()>;

    // --- configuration --------------------------------------------------------
    /// Which schema migrations the database has and which this build knows.
    fn schema_version(&self) -> Result<SchemaVersion>;
    /// Custom field definitions.
    fn list_custom_fields(&self) -> Result<Vec<CustomFieldDef>>;
    /// Creates or replaces a custom field definition.
    fn put_custom_field(&self, access: &AdminAccess, definition: CustomFieldDef) -> Result<()>;
    /// Deletes a custom field definition (values stay in accounts until they are changed).
    fn delete_custom_field(&self, access: &AdminAccess, key: &str) -> Result<()>;

    /// Saves `body` as the next version of a configuration (unless it equals the latest and
    /// the kind keeps equal versions); returns the version that holds it, with who saved it
    /// and when.
    fn put_config(
        &self,
        access: &ManageAccess,
        kind: ConfigKind,
        body: &str,
    ) -> Result<ConfigVersion>;
    /// A configuration's latest version (none saved: `None`), or the one asked for
    /// (`NotFound` when there is no such version).
    fn config(
        &self,
        access: &ReadAccess,
        kind: ConfigKind,
        version: Option<i64>,
    ) -> Result<Option<ConfigVersion>>;
    /// Every saved version of a configuration, newest first.
    fn config_versions(&self, access: &ReadAccess, kind: ConfigKind) -> Result<Vec<ConfigVersion>>;
    /// Keeps the dashboards' report of `day` for the caller's visibility scope (everyone,
    /// or one partner), replacing the one kept before.
    fn put_dashboard_report(
        &self,
        access: &ReadAccess,
        day: jiff::civil::Date,
        body: &str,
    ) -> Result<()>;
    /// The dashboards' report kept for the caller's visibility scope: its day and body.
    fn dashboard_report(&self, access: &ReadAccess) -> Result<Option<(jiff::civil::Date, String)>>;
    /// The data dir's business time zone (usage days and every "today" are in it; UTC
    /// until one is set). A stored name that is not a time zone is `Corrupt`.
    fn business_time_zone(&self) -> Result<jiff::tz::TimeZone>;
    /// Sets the business time zone (an IANA name, checked: field `time_zone`).
    fn set_business_time_zone(&self, access: &ManageAccess, name: &str) -> Result<()>;
    /// The currency of amounts that do not name one (imports, new accounts); none until
    /// one is set (then USD).
    fn default_currency(&self) -> Result<Option<mikawaya_domain::value::Currency>>;
    /// Sets the default currency.
    fn set_default_currency(
        &self,
        access: &ManageAccess,
        currency: &mikawaya_domain::value::Currency,
    ) -> Result<()>;
    /// The plans' display names by slug (plans imported under a label in any language).
    fn plan_names(&self, access: &ReadAccess)
    -> Result<std::collections::BTreeMap<String, String>>;
    /// Records that the daily pipeline finished for `day`.
    fn record_daily_run(&self, access: &ManageAccess, run: &DailyRunRecord) -> Result<()>;
    /// The latest business day the daily pipeline finished.
    fn last_daily_run(&self, access: &ReadAccess) -> Result<Option<jiff::civil::Date>>;

    /// Takes (or renews) the lease on a job for `holder` until `until`, when nobody else
    /// holds it at `now`; whether `holder` holds it. Several nodes on one database run a
    /// job (the daily pipeline) once: a holder that dies leaves it to the next asker once
    /// its lease ran out.
    fn take_lease(
        &self,
        access: &ManageAccess,
        name: &str,
        holder: &str,
        until: jiff::Timestamp,
        now: jiff::Timestamp,
    ) -> Result<bool>;

    /// Gives a lease back (nothing when `holder` does not hold it).
    fn release_lease(&self, access: &ManageAccess, name: &str, holder: &str) -> Result<()>;

    // --- bulk -----------------------------------------------------------------
    /// Loads a whole file's records in one transaction: every row, or (on any row error)
    /// none, with every rejected row reported.
    fn import(&self, access: &WriteAccess, batch: ImportBatch) -> Result<ImportSummary>;
    /// Stores a write key's hash.
    fn create_write_key(
        &self,
        access: &AdminAccess,
        name: Name,
        key_hash: String,
    ) -> Result<WriteKey>;
    /// Write keys, newest first.
    fn list_write_keys(&self, access: &AdminAccess) -> Result<Vec<WriteKey>>;
    /// Revokes a write key.
    fn revoke_write_key(&self, access: &AdminAccess, id: i64) -> Result<()>;
    /// An unrevoked write key by hash (authentication only).
    fn find_write_key(&self, key_hash: &str) -> Result<Option<WriteKey>>;
    /// Stores (or replaces) a metric definition's JSON spec under its name.
    fn put_metric(&self, access: &ManageAccess, name: &str, spec: &str) -> Result<()>;
    /// Metric definitions: name and JSON spec, by name.
    fn list_metrics(&self) -> Result<Vec<(String, String)>>;
    /// One metric definition's JSON spec.
    fn get_metric(&self, name: &str) -> Result<String>;
    /// Deletes a metric definition and its stored values (`NotFound` when undefined).
    fn delete_metric(&self, access: &ManageAccess, name: &str) -> Result<()>;
    /// Renames a metric definition and its stored values (`NotFound` when undefined,
    /// `Conflict` on `to` when that name is taken).
    fn rename_metric(&self, access: &ManageAccess, from: &str, to: &str) -> Result<()>;
    /// A service fact by key.
    fn get_meta(&self, key: &str) -> Result<Option<String>>;
    /// Records a service fact.
    fn put_meta(&self, key: &str, value: &str) -> Result<()>;

    // --- playbooks, tasks, outbox ----------------------------------------------
    /// Saves a playbook spec (JSON) as its next version, unless it equals the latest;
    /// returns the version that holds it.
    fn put_playbook(&self, access: &ManageAccess, name: &str, spec: &str) -> Result<i64>;
    /// Turns a playbook's rule on or off (every version).
    fn set_playbook_enabled(&self, access: &ManageAccess, name: &str, enabled: bool) -> Result<()>;
    /// Every saved version (of one playbook, or all), by name and version.
    fn playbook_versions(
        &self,
        access: &ReadAccess,
        name: Option<&str>,
    ) -> Result<Vec<PlaybookVersion>>;
    /// Runs (and held-out firings) on visible accounts, oldest first.
    fn list_runs(&self, access: &ReadAccess, filter: &RunFilter) -> Result<Vec<Run>>;
    /// Writes one evaluation's decisions in one transaction; returns the new runs' ids.
    fn apply_workflow(&self, access: &WriteAccess, batch: WorkflowBatch) -> Result<Vec<i64>>;
    /// Cancels or otherwise sets a run's status.
    fn set_run_status(&self, access: &WriteAccess, id: i64, status: RunStatus) -> Result<()>;
    /// Tasks on visible accounts, by due day.
    fn list_tasks(
        &self,
        access: &ReadAccess,
        filter: &TaskFilter,
        page: &PageRequest,
    ) -> Result<Page<Task>>;
    /// One task.
    fn get_task(&self, access: &ReadAccess, id: i64) -> Result<Task>;
    /// Creates a task by hand.
    fn create_task(&self, access: &WriteAccess, task: NewTask) -> Result<Task>;
    /// Snoozes, reassigns, completes (an outcome is required) or reopens a task.
    fn update_task(&self, access: &WriteAccess, id: i64, patch: TaskPatch) -> Result<Task>;
    /// Queues a message outside a playbook (kept once per idempotency key).
    fn queue_message(&self, access: &WriteAccess, message: NewMessage) -> Result<()>;
    /// Outbox messages (of one status, or all), oldest first.
    fn list_messages(
        &self,
        access: &AdminAccess,
        status: Option<MessageStatus>,
    ) -> Result<Vec<Message>>;
    /// Takes due messages for sending, each with a lease until `lease_until`.
    fn claim_messages(
        &self,
        access: &WriteAccess,
        now: jiff::Timestamp,
        lease_until: jiff::Timestamp,
        limit: u32,
    ) -> Result<Vec<Message>>;
    /// Keeps a claimed message until `lease_until`, just before it is sent, when the claim
    /// is still the caller's (the message is sending and has had `attempts` attempts: no
    /// other sender claimed it since); whether it is. A sender whose lease ran out while it
    /// worked on other messages then leaves this one to the sender that claimed it anew.
    fn hold_message(
        &self,
        access: &WriteAccess,
        id: i64,
        attempts: i64,
        lease_until: jiff::Timestamp,
    ) -> Result<bool>;
    /// Records what became of a delivery attempt.
    fn finish_message(&self, access: &WriteAccess, id: i64, delivery: &Delivery) -> Result<()>;
    /// Emails to an address due since an instant (pending, sending or sent).
    fn emails_to_since(
        &self,
        access: &ReadAccess,
        recipient: &str,
        since: jiff::Timestamp,
    ) -> Result<u64>;
    /// Unsubscribes an address from all playbook email (and suppresses what is queued).
    fn unsubscribe(&self, access: &WriteAccess, email: &str) -> Result<()>;
    /// Whether an address unsubscribed.
    fn is_unsubscribed(&self, access: &ReadAccess, email: &str) -> Result<bool>;
    /// Field and stakeholder-role changes on visible accounts since an instant.
    fn account_changes(
        &self,
        access: &ReadAccess,
        since: jiff::Timestamp,
    ) -> Result<Vec<AccountChange>>;
    /// Records a survey answer.
    fn add_survey_response(
        &self,
        access: &WriteAccess,
        response: NewSurveyResponse,
    ) -> Result<SurveyResponse>;
    /// Records many survey answers at once, all or none (a bad one names its field).
    fn add_survey_responses(
        &self,
        access: &WriteAccess,
        responses: Vec<NewSurveyResponse>,
    ) -> Result<usize>;
    /// Survey answers on visible accounts (of some accounts, or all) since an instant,
    /// oldest first.
    fn survey_responses(
        &self,
        access: &ReadAccess,
        accounts: Option<&[AccountId]>,
        since: jiff::Timestamp,
    ) -> Result<Vec<SurveyResponse>>;
    /// Every visible contact.
    fn all_contacts(&self, access: &ReadAccess) -> Result<Vec<Contact>>;

    // --- health snapshots -----------------------------------------------------
    /// Replaces a scorecard's snapshot of one day.
    fn put_health(
        &self,
        access: &ManageAccess,
        scorecard: &str,
        day: jiff::civil::Date,
        rows: &[HealthRow],
    ) -> Result<()>;
    /// Replaces a metric's stored values of one day.
    fn put_metric_values(
        &self,
        access: &ManageAccess,
        metric: &str,
        day: jiff::civil::Date,
        values: &[(AccountId, Option<f64>)],
    ) -> Result<()>;
    /// Writes the computed signals of `day` (health, its change, forecast risk) of the
    /// given accounts; their last touch is kept by the store on every touchpoint.
    fn put_signals(
        &self,
        access: &ManageAccess,
        day: jiff::civil::Date,
        rows: &[work::SignalRow],
    ) -> Result<()>;
    // --- success plans ------------------------------------------------------------
    /// Creates a plan on a visible account, with the events of its making.
    fn create_plan(
        &self,
        access: &WriteAccess,
        account_id: AccountId,
        edit: plans::PlanEdit<'_>,
    ) -> Result<SuccessPlan>;
    /// Creates many plans in one transaction (all or none): a template started on a whole
    /// segment. Returns their ids in order.
    fn create_plans(
        &self,
        access: &WriteAccess,
        plans: &[(AccountId, plans::PlanEdit<'_>)],
    ) -> Result<Vec<PlanId>>;
    /// One visible plan.
    fn get_plan(&self, access: &ReadAccess, id: PlanId) -> Result<SuccessPlan>;
    /// Visible plans, by account.
    fn list_plans(
        &self,
        access: &ReadAccess,
        filter: &plans::PlanFilter,
    ) -> Result<Vec<SuccessPlan>>;
    /// Saves a plan changed from `version` (a save in between: `Conflict` on `version`),
    /// with the change's events, in one transaction.
    fn save_plan(
        &self,
        access: &WriteAccess,
        id: PlanId,
        version: i64,
        edit: plans::PlanEdit<'_>,
    ) -> Result<SuccessPlan>;
    /// Plan events on visible accounts, oldest first.
    fn plan_events(
        &self,
        access: &ReadAccess,
        filter: &plans::PlanEventFilter,
    ) -> Result<Vec<plans::PlanEventRow>>;
    /// Keeps the day's measured progress of objectives (an objective whose status changed
    /// gets an `objective_status` event) and the day's other events from Mikawaya (a
    /// milestone overdue), all at `at`; returns how many statuses changed.
    fn put_plan_progress(
        &self,
        access: &ManageAccess,
        rows: &[plans::ProgressRow],
        events: &[(PlanId, PlanEvent)],
        at: jiff::Timestamp,
    ) -> Result<usize>;
    /// The measured progress of one visible plan's objectives, or of every visible plan.
    fn plan_progress(
        &self,
        access: &ReadAccess,
        plan: Option<PlanId>,
    ) -> Result<Vec<plans::ProgressRow>>;
    /// Shares a visible plan with a contact of its account.
    fn create_share(&self, access: &WriteAccess, share: &plans::NewShare) -> Result<plans::Share>;
    /// A visible plan's shares.
    fn plan_shares(&self, access: &ReadAccess, plan: PlanId) -> Result<Vec<plans::Share>>;
    /// Revokes a share of a visible plan.
    fn revoke_share(&self, access: &WriteAccess, plan: PlanId, share: i64) -> Result<()>;
    /// The share a token opens (by the token's hash) if it is neither revoked nor expired
    /// at `now`, noting the opening: the token is the proof, as a session id is.
    fn open_share(&self, token_hash: &str, now: jiff::Timestamp) -> Result<Option<plans::Share>>;

    // --- the customer journey -------------------------------------------------------
    /// Entries into stages of visible accounts (of one account, or all of them), by
    /// account, day and id.
    fn stage_entries(
        &self,
        access: &ReadAccess,
        account: Option<AccountId>,
    ) -> Result<Vec<journey::StageEntry>>;
    /// Moves visible accounts into stages on days, all or none: each move is recorded as
    /// an entry (unless the account was already in that stage on that day) and the
    /// account's stage becomes that of its latest entry. Returns the entries recorded.
    fn enter_stages(&self, access: &WriteAccess, moves: &[journey::StageMove]) -> Result<usize>;
    /// Marks these accounts stuck in their stage, and every other account not stuck.
    fn put_stuck(&self, access: &ManageAccess, stuck: &[AccountId]) -> Result<()>;

    // --- the voice of the customer ---------------------------------------------------
    /// Records feedback items of visible accounts, all or none; an item whose source and
    /// key are already recorded is returned as it is. Returns each item and whether it is new.
    fn add_feedback(
        &self,
        access: &WriteAccess,
        items: &[mikawaya_domain::voice::NewFeedbackItem],
    ) -> Result<Vec<(mikawaya_domain::voice::FeedbackItem, bool)>>;
    /// Feedback items of visible accounts, latest first.
    fn feedback(
        &self,
        access: &ReadAccess,
        filter: &voice::FeedbackFilter,
    ) -> Result<Vec<mikawaya_domain::voice::FeedbackItem>>;
    /// One visible feedback item.
    fn get_feedback(
        &self,
        access: &ReadAccess,
        id: i64,
    ) -> Result<mikawaya_domain::voice::FeedbackItem>;
    /// Changes a visible feedback item (a merge or split is kept in the request's history).
    fn change_feedback(
        &self,
        access: &WriteAccess,
        id: i64,
        change: &voice::FeedbackChange,
    ) -> Result<mikawaya_domain::voice::FeedbackItem>;
    /// Makes a feature request from visible feedback items (merged into it).
    fn create_request(
        &self,
        access: &WriteAccess,
        title: &mikawaya_domain::value::Text,
        items: &[i64],
        source: mikawaya_domain::voice::ChangeSource,
    ) -> Result<mikawaya_domain::voice::FeatureRequest>;
    /// Moves every item of one request into another and removes the first.
    fn merge_requests(
        &self,
        access: &WriteAccess,
        into: i64,
        from: i64,
    ) -> Result<mikawaya_domain::voice::FeatureRequest>;
    /// The requests the caller may see (a partner: those holding one of its items).
    fn requests(&self, access: &ReadAccess) -> Result<Vec<mikawaya_domain::voice::FeatureRequest>>;
    /// One visible request.
    fn get_request(
        &self,
        access: &ReadAccess,
        id: i64,
    ) -> Result<mikawaya_domain::voice::FeatureRequest>;
    /// The requests linked to a product issue (for the tracker's signed webhook).
    fn requests_by_issue(&self, url: &str) -> Result<Vec<mikawaya_domain::voice::FeatureRequest>>;
    /// Changes a request's title, status or link with its history; when it becomes shipped
    /// for the first time, resolves its items and writes `closing` (emails, touchpoints) in
    /// the same transaction.
    fn change_request(
        &self,
        access: &ManageAccess,
        id: i64,
        change: &voice::RequestChange,
        source: mikawaya_domain::voice::ChangeSource,
        closing: &voice::LoopClosing,
    ) -> Result<voice::RequestChanged>;
    /// A visible request's history.
    fn request_events(
        &self,
        access: &ReadAccess,
        id: i64,
    ) -> Result<Vec<mikawaya_domain::voice::RequestEvent>>;
    /// Notes a webhook delivery; false when it was seen before (a replay).
    fn record_delivery(&self, delivery_id: &str, outcome: &str) -> Result<bool>;
    /// A person's class of a visible survey answer (none: back to the rules).
    fn set_answer_experience(
        &self,
        access: &WriteAccess,
        response: i64,
        experience: Option<mikawaya_domain::voice::Experience>,
    ) -> Result<()>;
    /// Saves a survey definition under its name.
    fn put_survey(
        &self,
        access: &ManageAccess,
        name: &str,
        kind: mikawaya_domain::work::SurveyKind,
        body: &str,
        active: bool,
    ) -> Result<voice::Survey>;
    /// Every survey definition, by name.
    fn surveys(&self) -> Result<Vec<voice::Survey>>;
    /// Records sends to contacts of visible accounts, each with its email, all or none.
    fn create_sends(
        &self,
        access: &WriteAccess,
        sends: &[voice::NewSend],
    ) -> Result<Vec<voice::SurveySend>>;
    /// Records past sends with the answers they got, all or none (their emails are not
    /// queued): survey history from another tool, or the demo's.
    fn record_past_sends(&self, access: &WriteAccess, rows: &[voice::PastSend]) -> Result<usize>;
    /// Sends to visible accounts since an instant, by time.
    fn survey_sends(
        &self,
        access: &ReadAccess,
        since: jiff::Timestamp,
    ) -> Result<Vec<voice::SurveySend>>;
    /// The send a link's token opens (by its hash) unless expired: the token is the proof.
    fn open_send(
        &self,
        token_hash: &str,
        now: jiff::Timestamp,
    ) -> Result<Option<voice::SurveySend>>;
    /// Answers the send a token opens: a first answer, a replacement within the edit
    /// window, or refused after it; none when no live send has that token.
    fn answer_send(
        &self,
        token_hash: &str,
        answer: &voice::SendAnswer,
    ) -> Result<Option<voice::Answered>>;

    /// The latest day signals were written for.
    fn signals_day(&self) -> Result<Option<jiff::civil::Date>>;
    /// A number that changes whenever accounts, subscriptions, touchpoints, survey answers,
    /// pulses, the account change log or the accounts' signals change (in any transaction
    /// that committed): work that read the book's whole history may keep it while the
    /// number stands.
    fn history_stamp(&self) -> Result<i64>;
    /// A number that changes whenever accounts, subscriptions, the account change log,
    /// the accounts' signals or the names of people and partners change (not touchpoints,
    /// answers or pulses): sums over the book (the team's workload, the cohorts table) may
    /// be kept while it stands.
    fn book_stamp(&self) -> Result<i64>;
    /// Hides a visible account from one person's Today list until a day, with a reason
    /// (replacing their earlier snooze on it).
    fn snooze(&self, access: &WriteAccess, snooze: &work::Snooze) -> Result<()>;
    /// One person's snoozes in force on `day`, on visible accounts.
    fn snoozes(
        &self,
        access: &ReadAccess,
        user: UserId,
        day: jiff::civil::Date,
    ) -> Result<Vec<work::Snooze>>;
    /// Ends one person's snooze on a visible account.
    fn wake(&self, access: &WriteAccess, user: UserId, account: AccountId) -> Result<()>;
    /// The days a metric has stored values of, oldest first.
    fn metric_days(&self, metric: &str) -> Result<Vec<jiff::civil::Date>>;
    /// One visible account's stored values of a metric from `from` to `to`, by day.
    fn metric_series(
        &self,
        access: &ReadAccess,
        metric: &str,
        account: AccountId,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<Vec<(jiff::civil::Date, Option<f64>)>>;
    /// Records a CSM's manual pulse (0-100 with a reason) on a visible account.
    fn add_pulse(&self, access: &WriteAccess, pulse: &work::Pulse) -> Result<()>;
    /// Records many pulses at once, all or none.
    fn add_pulses(&self, access: &WriteAccess, pulses: &[work::Pulse]) -> Result<usize>;
    /// Pulses on visible accounts (of some accounts, or all), oldest first.
    fn pulses(
        &self,
        access: &ReadAccess,
        accounts: Option<&[AccountId]>,
    ) -> Result<Vec<work::Pulse>>;
    /// When each touchpoint on a visible account happened (account, instant), in no
    /// particular order: what "days since the last touch" reads, without the rest of the row.
    fn touch_times(&self, access: &ReadAccess) -> Result<Vec<(AccountId, jiff::Timestamp)>>;
    /// The days a scorecard has snapshots of, oldest first.
    fn health_days(&self, scorecard: &str) -> Result<Vec<jiff::civil::Date>>;
    /// The latest day from `from` to `to` (inclusive) with a snapshot, by index.
    fn latest_health_day(
        &self,
        scorecard: &str,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<Option<jiff::civil::Date>>;
    /// Snapshot rows of visible accounts from `from` to `to` (inclusive), of some accounts
    /// or all, by account and day.
    fn health_rows(
        &self,
        access: &ReadAccess,
        scorecard: &str,
        accounts: Option<&[AccountId]>,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<Vec<HealthRow>>;

    /// Writes a consistent copy of the whole store to `path` while it stays online.
    fn backup(&self, access: &AdminAccess, path: &std::path::Path) -> Result<()>;
    /// Row counts.
    fn stats(&self) -> Result<StoreStats>;
}
