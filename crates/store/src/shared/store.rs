//! The [`Store`] over both engines, written once: every method runs a shared module in a
//! read or write transaction of the engine (`read_db`, `write_db`); the few that differ by
//! engine (schema version, history stamp, backup, row counts, statistics after an import)
//! call the engine's own method of the same purpose.

use crate::shared::{
    accounts, attention, audit, auth, children, config, import, journey, partners, plans,
    team as shared_team, voice, work,
};
use crate::work::{
    AccountChange, DailyRunRecord, Delivery, HealthRow, Message, NewMessage, PlaybookVersion, Run,
    RunFilter, TaskFilter, WorkflowBatch,
};
use crate::{
    ApiToken, AuditEntry, AuditFilter, ContactFilter, ImportBatch, ImportSummary, Page,
    PageRequest, Result, Session, Store, StoreStats, SubscriptionFilter, TouchpointFilter,
    WriteKey,
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

macro_rules! store_over_db {
    ($engine:ty) => {
        impl Store for $engine {
            fn list_accounts(
                &self,
                access: &ReadAccess,
                filter: &AccountFilter,
                sort: AccountSort,
                page: &PageRequest,
            ) -> Result<Page<Account>> {
                self.read_db(|c| accounts::list(c, access.visibility(), filter, sort, page))
            }
            fn count_accounts(&self, access: &ReadAccess, filter: &AccountFilter) -> Result<u64> {
                self.read_db(|c| accounts::count(c, access.visibility(), filter))
            }
            fn all_accounts(&self, access: &ReadAccess) -> Result<Vec<Account>> {
                self.read_db(|c| accounts::all(c, access.visibility()))
            }
            fn book_changes(
                &self,
                access: &ReadAccess,
                since: Option<i64>,
            ) -> Result<$crate::BookChanges> {
                self.read_db(|c| accounts::book_changes(c, access.visibility(), since))
            }
            fn account_values(
                &self,
                access: &ReadAccess,
                field: &$crate::AccountField,
            ) -> Result<Vec<(AccountId, Option<String>)>> {
                self.read_db(|c| accounts::values(c, access.visibility(), field))
            }
            fn get_account(&self, access: &ReadAccess, id: AccountId) -> Result<Account> {
                self.read_db(|c| accounts::get(c, access.visibility(), id))
            }
            fn create_account(&self, access: &WriteAccess, account: NewAccount) -> Result<Account> {
                self.write_db(access.user_id(), |c| accounts::create(c, access, account))
            }
            fn update_account(
                &self,
                access: &WriteAccess,
                id: AccountId,
                patch: AccountPatch,
            ) -> Result<Account> {
                self.write_db(access.user_id(), |c| accounts::update(c, access, id, patch))
            }
            fn delete_account(&self, access: &WriteAccess, id: AccountId) -> Result<()> {
                self.write_db(access.user_id(), |c| accounts::delete(c, access, id))
            }

            fn list_contacts(
                &self,
                access: &ReadAccess,
                filter: &ContactFilter,
                page: &PageRequest,
            ) -> Result<Page<Contact>> {
                self.read_db(|c| children::list_contacts(c, access.visibility(), filter, page))
            }
            fn get_contact(&self, access: &ReadAccess, id: ContactId) -> Result<Contact> {
                self.read_db(|c| children::get_contact(c, access.visibility(), id))
            }
            fn create_contact(&self, access: &WriteAccess, contact: NewContact) -> Result<Contact> {
                self.write_db(access.user_id(), |c| {
                    children::create_contact(c, access, contact)
                })
            }
            fn update_contact(
                &self,
                access: &WriteAccess,
                id: ContactId,
                patch: ContactPatch,
            ) -> Result<Contact> {
                self.write_db(access.user_id(), |c| {
                    children::update_contact(c, access, id, patch)
                })
            }
            fn delete_contact(&self, access: &WriteAccess, id: ContactId) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    children::delete_contact(c, access, id)
                })
            }

            fn list_subscriptions(
                &self,
                access: &ReadAccess,
                filter: &SubscriptionFilter,
                page: &PageRequest,
            ) -> Result<Page<Subscription>> {
                self.read_db(|c| children::list_subscriptions(c, access.visibility(), filter, page))
            }
            fn revenue_rows(
                &self,
                access: &ReadAccess,
            ) -> Result<Vec<mikawaya_domain::subscription::RevenueRow>> {
                self.read_db(|c| children::revenue_rows(c, access.visibility()))
            }
            fn all_subscriptions(&self, access: &ReadAccess) -> Result<Vec<Subscription>> {
                self.read_db(|c| children::all_subscriptions(c, access.visibility()))
            }
            fn get_subscription(
                &self,
                access: &ReadAccess,
                id: SubscriptionId,
            ) -> Result<Subscription> {
                self.read_db(|c| children::get_subscription(c, access.visibility(), id))
            }
            fn create_subscription(
                &self,
                access: &WriteAccess,
                subscription: NewSubscription,
            ) -> Result<Subscription> {
                self.write_db(access.user_id(), |c| {
                    children::create_subscription(c, access, subscription)
                })
            }
            fn update_subscription(
                &self,
                access: &WriteAccess,
                id: SubscriptionId,
                patch: SubscriptionPatch,
            ) -> Result<Subscription> {
                self.write_db(access.user_id(), |c| {
                    children::update_subscription(c, access, id, patch)
                })
            }
            fn delete_subscription(&self, access: &WriteAccess, id: SubscriptionId) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    children::delete_subscription(c, access, id)
                })
            }

            fn list_touchpoints(
                &self,
                access: &ReadAccess,
                filter: &TouchpointFilter,
                page: &PageRequest,
            ) -> Result<Page<Touchpoint>> {
                self.read_db(|c| children::list_touchpoints(c, access.visibility(), filter, page))
            }
            fn get_touchpoint(&self, access: &ReadAccess, id: TouchpointId) -> Result<Touchpoint> {
                self.read_db(|c| children::get_touchpoint(c, access.visibility(), id))
            }
            fn create_touchpoint(
                &self,
                access: &WriteAccess,
                touchpoint: NewTouchpoint,
            ) -> Result<Touchpoint> {
                self.write_db(access.user_id(), |c| {
                    children::create_touchpoint(c, access, touchpoint)
                })
            }
            fn delete_touchpoint(&self, access: &WriteAccess, id: TouchpointId) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    children::delete_touchpoint(c, access, id)
                })
            }

            fn list_segments(&self, _access: &ReadAccess) -> Result<Vec<Segment>> {
                self.read_db(shared_team::list_segments)
            }
            fn get_segment(&self, _access: &ReadAccess, id: SegmentId) -> Result<Segment> {
                self.read_db(|c| shared_team::get_segment(c, id))
            }
            fn create_segment(
                &self,
                access: &ManageAccess,
                segment: NewSegment,
            ) -> Result<Segment> {
                self.write_db(access.user_id(), |c| {
                    shared_team::save_segment(c, access.user_id(), None, segment)
                })
            }
            fn update_segment(
                &self,
                access: &ManageAccess,
                id: SegmentId,
                segment: NewSegment,
            ) -> Result<Segment> {
                self.write_db(access.user_id(), |c| {
                    shared_team::save_segment(c, access.user_id(), Some(id), segment)
                })
            }
            fn delete_segment(&self, access: &ManageAccess, id: SegmentId) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    shared_team::delete_segment(c, access.user_id(), id)
                })
            }

            fn list_partners(&self, access: &ReadAccess) -> Result<Vec<Partner>> {
                self.read_db(|db| partners::list_partners(db, access.visibility()))
            }
            fn get_partner(&self, access: &ReadAccess, id: PartnerId) -> Result<Partner> {
                self.read_db(|db| partners::get_partner(db, access.visibility(), id))
            }
            fn upsert_partner(
                &self,
                access: &ManageAccess,
                partner: NewPartner,
            ) -> Result<Partner> {
                self.write_db(access.user_id(), |c| {
                    partners::upsert_partner(c, access.user_id(), partner)
                })
            }
            fn delete_partner(&self, access: &ManageAccess, id: PartnerId) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    partners::delete_partner(c, access.user_id(), id)
                })
            }

            fn list_users(&self, access: &ReadAccess) -> Result<Vec<User>> {
                self.read_db(|db| auth::list_users(db, access.visibility()))
            }
            fn get_user(&self, access: &ReadAccess, id: UserId) -> Result<User> {
                self.read_db(|db| auth::get_user(db, access.visibility(), id))
            }
            fn create_user(
                &self,
                access: &AdminAccess,
                user: NewUser,
                password_hash: Option<String>,
            ) -> Result<User> {
                self.write_db(access.user_id(), |c| {
                    shared_team::create_user(c, access.manage().user_id(), user, password_hash)
                })
            }
            fn set_password(
                &self,
                access: &AdminAccess,
                id: UserId,
                password_hash: String,
            ) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    shared_team::set_user_column(c, id, "password_hash", Some(password_hash))
                })
            }
            fn set_locale(&self, id: UserId, locale: Option<String>) -> Result<()> {
                self.write_db(None, |c| {
                    shared_team::set_user_column(c, id, "locale", locale)
                })
            }
            fn delete_user(&self, access: &AdminAccess, id: UserId) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    shared_team::delete_user(c, access.manage().user_id(), id)
                })
            }
            fn update_user(
                &self,
                access: &AdminAccess,
                id: UserId,
                change: UserChange,
            ) -> Result<User> {
                self.write_db(access.user_id(), |c| {
                    shared_team::update_user(c, access.manage().user_id(), id, change)
                })
            }
            fn set_user_active(
                &self,
                access: &AdminAccess,
                id: UserId,
                active: bool,
            ) -> Result<User> {
                self.write_db(access.user_id(), |c| {
                    shared_team::set_user_active(c, access.manage().user_id(), id, active)
                })
            }
            fn audit_log(
                &self,
                _access: &AdminAccess,
                filter: &AuditFilter,
            ) -> Result<Vec<AuditEntry>> {
                self.read_db(|db| audit::audit_log(db, filter))
            }
            fn find_login(&self, email: &Email) -> Result<Option<(User, Option<String>)>> {
                self.read_db(|db| auth::find_user_by_email(db, email))
            }
            fn create_token(
                &self,
                access: &AdminAccess,
                name: Name,
                scope: Scope,
                user_id: Option<UserId>,
                token_hash: String,
            ) -> Result<ApiToken> {
                self.write_db(access.user_id(), |db| {
                    auth::create_token(db, name, scope, user_id, token_hash)
                })
            }
            fn list_tokens(&self, _access: &AdminAccess) -> Result<Vec<ApiToken>> {
                self.read_db(auth::list_tokens)
            }
            fn revoke_token(&self, access: &AdminAccess, id: TokenId) -> Result<()> {
                self.write_db(access.user_id(), |db| auth::revoke_token(db, id))
            }
            fn find_token(&self, token_hash: &str) -> Result<Option<(ApiToken, Option<User>)>> {
                self.read_db(|db| auth::find_token(db, token_hash))
            }
            fn create_session(
                &self,
                token_hash: String,
                user_id: UserId,
                csrf_token: String,
                expires_at: jiff::Timestamp,
            ) -> Result<()> {
                self.write_db(None, |db| {
                    auth::create_session(db, token_hash, user_id, csrf_token, expires_at)
                })
            }
            fn find_session(
                &self,
                token_hash: &str,
                now: jiff::Timestamp,
            ) -> Result<Option<Session>> {
                self.read_db(|db| auth::find_session(db, token_hash, now))
            }
            fn login_failures(
                &self,
                key: &str,
                since: jiff::Timestamp,
            ) -> Result<(u64, Option<jiff::Timestamp>)> {
                self.read_db(|db| auth::login_failures(db, key, since))
            }
            fn add_login_failure(
                &self,
                keys: &[String],
                at: jiff::Timestamp,
                forget_before: jiff::Timestamp,
            ) -> Result<()> {
                self.write_db(None, |db| {
                    auth::add_login_failure(db, keys, at, forget_before)
                })
            }
            fn clear_login_failures(&self, keys: &[String]) -> Result<()> {
                self.write_db(None, |db| auth::clear_login_failures(db, keys))
            }
            fn delete_session(&self, token_hash: &str) -> Result<()> {
                self.write_db(None, |db| auth::delete_session(db, token_hash))
            }

            fn schema_version(&self) -> Result<crate::SchemaVersion> {
                self.engine_schema_version()
            }
            fn list_custom_fields(&self) -> Result<Vec<CustomFieldDef>> {
                self.read_db(shared_team::custom_fields)
            }
            fn put_custom_field(
                &self,
                access: &AdminAccess,
                definition: CustomFieldDef,
            ) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    shared_team::put_custom_field(c, access.manage().user_id(), &definition)
                })
            }
            fn delete_custom_field(&self, access: &AdminAccess, key: &str) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    shared_team::delete_custom_field(c, access.manage().user_id(), key)
                })
            }

            fn import(&self, access: &WriteAccess, batch: ImportBatch) -> Result<ImportSummary> {
                let summary = self.write_db(access.user_id(), |c| {
                    crate::rules::import::import(&import::Target(c), access, &batch)
                })?;
                // A bulk load changes the shape of the data; refresh the planner's statistics so a
                // filter picks the right index (e.g. a renewal window over a lifecycle stage).
                self.refresh_statistics();
                Ok(summary)
            }
            fn create_write_key(
                &self,
                access: &AdminAccess,
                name: Name,
                key_hash: String,
            ) -> Result<WriteKey> {
                self.write_db(access.user_id(), |c| {
                    shared_team::create_write_key(c, name, key_hash)
                })
            }
            fn list_write_keys(&self, _access: &AdminAccess) -> Result<Vec<WriteKey>> {
                self.read_db(shared_team::list_write_keys)
            }
            fn revoke_write_key(&self, access: &AdminAccess, id: i64) -> Result<()> {
                self.write_db(access.user_id(), |c| shared_team::revoke_write_key(c, id))
            }
            fn find_write_key(&self, key_hash: &str) -> Result<Option<WriteKey>> {
                self.read_db(|c| shared_team::find_write_key(c, key_hash))
            }
            fn put_metric(&self, access: &ManageAccess, name: &str, spec: &str) -> Result<()> {
                self.write_db(access.user_id(), |db| config::put_metric(db, name, spec))
            }
            fn list_metrics(&self) -> Result<Vec<(String, String)>> {
                self.read_db(config::list_metrics)
            }
            fn delete_metric(&self, access: &ManageAccess, name: &str) -> Result<()> {
                self.write_db(access.user_id(), |db| config::delete_metric(db, name))
            }
            fn rename_metric(&self, access: &ManageAccess, from: &str, to: &str) -> Result<()> {
                self.write_db(access.user_id(), |db| config::rename_metric(db, from, to))
            }
            fn get_metric(&self, name: &str) -> Result<String> {
                self.read_db(|db| config::get_metric(db, name))
            }
            fn get_meta(&self, key: &str) -> Result<Option<String>> {
                self.read_db(|db| config::meta(db, key))
            }
            fn put_meta(&self, key: &str, value: &str) -> Result<()> {
                self.write_db(None, |db| config::set_meta(db, key, value))
            }
            fn put_config(
                &self,
                access: &ManageAccess,
                kind: ConfigKind,
                body: &str,
            ) -> Result<ConfigVersion> {
                let saved_by = access.user_id();
                self.write_db(access.user_id(), |db| {
                    config::put_config(db, kind, body, saved_by)
                })
            }
            fn config(
                &self,
                _access: &ReadAccess,
                kind: ConfigKind,
                version: Option<i64>,
            ) -> Result<Option<ConfigVersion>> {
                self.read_db(|db| config::config(db, kind, version))
            }
            fn config_versions(
                &self,
                _access: &ReadAccess,
                kind: ConfigKind,
            ) -> Result<Vec<ConfigVersion>> {
                self.read_db(|db| config::config_versions(db, kind))
            }
            fn put_dashboard_report(
                &self,
                access: &ReadAccess,
                day: jiff::civil::Date,
                body: &str,
            ) -> Result<()> {
                let visibility = access.visibility();
                self.write_db(None, |db| {
                    config::put_dashboard_report(db, visibility, day, body)
                })
            }
            fn dashboard_report(
                &self,
                access: &ReadAccess,
            ) -> Result<Option<(jiff::civil::Date, String)>> {
                let visibility = access.visibility();
                self.read_db(|db| config::dashboard_report(db, visibility))
            }
            fn business_time_zone(&self) -> Result<jiff::tz::TimeZone> {
                self.read_db(config::business_time_zone)
            }
            fn set_business_time_zone(&self, access: &ManageAccess, name: &str) -> Result<()> {
                self.write_db(access.user_id(), |db| {
                    config::set_business_time_zone(db, name)
                })
            }
            fn default_currency(&self) -> Result<Option<mikawaya_domain::value::Currency>> {
                self.read_db(config::default_currency)
            }
            fn set_default_currency(
                &self,
                access: &ManageAccess,
                currency: &mikawaya_domain::value::Currency,
            ) -> Result<()> {
                self.write_db(access.user_id(), |db| {
                    config::set_default_currency(db, currency)
                })
            }
            fn plan_names(
                &self,
                _access: &ReadAccess,
            ) -> Result<std::collections::BTreeMap<String, String>> {
                self.read_db(import::plan_names)
            }
            fn record_daily_run(&self, access: &ManageAccess, run: &DailyRunRecord) -> Result<()> {
                self.write_db(access.user_id(), |db| config::record_daily_run(db, run))
            }
            fn take_lease(
                &self,
                access: &ManageAccess,
                name: &str,
                holder: &str,
                until: jiff::Timestamp,
                now: jiff::Timestamp,
            ) -> Result<bool> {
                self.write_db(access.user_id(), |db| {
                    config::take_lease(db, name, holder, until, now)
                })
            }
            fn release_lease(&self, access: &ManageAccess, name: &str, holder: &str) -> Result<()> {
                self.write_db(access.user_id(), |db| {
                    config::release_lease(db, name, holder)
                })
            }
            fn last_daily_run(&self, _access: &ReadAccess) -> Result<Option<jiff::civil::Date>> {
                self.read_db(config::last_daily_run)
            }
            fn put_playbook(&self, access: &ManageAccess, name: &str, spec: &str) -> Result<i64> {
                self.write_db(access.user_id(), |c| work::put_playbook(c, name, spec))
            }
            fn set_playbook_enabled(
                &self,
                access: &ManageAccess,
                name: &str,
                enabled: bool,
            ) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    work::set_playbook_enabled(c, name, enabled)
                })
            }
            fn playbook_versions(
                &self,
                _access: &ReadAccess,
                name: Option<&str>,
            ) -> Result<Vec<PlaybookVersion>> {
                self.read_db(|c| work::playbook_versions(c, name))
            }
            fn list_runs(&self, access: &ReadAccess, filter: &RunFilter) -> Result<Vec<Run>> {
                self.read_db(|c| work::list_runs(c, access.visibility(), filter))
            }
            fn apply_workflow(
                &self,
                access: &WriteAccess,
                batch: WorkflowBatch,
            ) -> Result<Vec<i64>> {
                self.write_db(access.user_id(), |c| work::apply_workflow(c, access, batch))
            }
            fn set_run_status(
                &self,
                access: &WriteAccess,
                id: i64,
                status: RunStatus,
            ) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    work::set_run_status(c, access.visibility(), id, status)
                })
            }
            fn list_tasks(
                &self,
                access: &ReadAccess,
                filter: &TaskFilter,
                page: &PageRequest,
            ) -> Result<Page<Task>> {
                self.read_db(|c| work::list_tasks(c, access.visibility(), filter, page))
            }
            fn get_task(&self, access: &ReadAccess, id: i64) -> Result<Task> {
                self.read_db(|c| work::get_task(c, access.visibility(), id))
            }
            fn create_task(&self, access: &WriteAccess, task: NewTask) -> Result<Task> {
                self.write_db(access.user_id(), |c| work::create_task(c, access, task))
            }
            fn update_task(&self, access: &WriteAccess, id: i64, patch: TaskPatch) -> Result<Task> {
                self.write_db(access.user_id(), |c| {
                    work::update_task(c, access, id, patch)
                })
            }
            fn queue_message(&self, access: &WriteAccess, message: NewMessage) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    work::insert_message(c, None, &message)
                })
            }
            fn list_messages(
                &self,
                _access: &AdminAccess,
                status: Option<MessageStatus>,
            ) -> Result<Vec<Message>> {
                self.read_db(|c| work::list_messages(c, status))
            }
            fn claim_messages(
                &self,
                access: &WriteAccess,
                now: jiff::Timestamp,
                lease_until: jiff::Timestamp,
                limit: u32,
            ) -> Result<Vec<Message>> {
                self.write_db(access.user_id(), |c| {
                    work::claim_messages(c, now, lease_until, limit)
                })
            }
            fn hold_message(
                &self,
                access: &WriteAccess,
                id: i64,
                attempts: i64,
                lease_until: jiff::Timestamp,
            ) -> Result<bool> {
                self.write_db(access.user_id(), |db| {
                    work::hold_message(db, id, attempts, lease_until)
                })
            }
            fn finish_message(
                &self,
                access: &WriteAccess,
                id: i64,
                delivery: &Delivery,
            ) -> Result<()> {
                self.write_db(access.user_id(), |c| work::finish_message(c, id, delivery))
            }
            fn emails_to_since(
                &self,
                _access: &ReadAccess,
                recipient: &str,
                since: jiff::Timestamp,
            ) -> Result<u64> {
                self.read_db(|c| work::emails_to_since(c, recipient, since))
            }
            fn unsubscribe(&self, access: &WriteAccess, email: &str) -> Result<()> {
                self.write_db(access.user_id(), |c| work::unsubscribe(c, email))
            }
            fn is_unsubscribed(&self, _access: &ReadAccess, email: &str) -> Result<bool> {
                self.read_db(|c| work::is_unsubscribed(c, email))
            }
            fn account_changes(
                &self,
                access: &ReadAccess,
                since: jiff::Timestamp,
            ) -> Result<Vec<AccountChange>> {
                self.read_db(|c| work::account_changes(c, access.visibility(), since))
            }
            fn add_survey_response(
                &self,
                access: &WriteAccess,
                response: NewSurveyResponse,
            ) -> Result<SurveyResponse> {
                self.write_db(access.user_id(), |c| {
                    work::add_survey_response(c, access, response)
                })
            }
            fn add_survey_responses(
                &self,
                access: &WriteAccess,
                responses: Vec<NewSurveyResponse>,
            ) -> Result<usize> {
                self.write_db(access.user_id(), |c| {
                    let count = responses.len();
                    for response in responses {
                        work::add_survey_response(c, access, response)?;
                    }
                    Ok(count)
                })
            }
            fn survey_responses(
                &self,
                access: &ReadAccess,
                accounts: Option<&[AccountId]>,
                since: jiff::Timestamp,
            ) -> Result<Vec<SurveyResponse>> {
                self.read_db(|c| work::survey_responses(c, access.visibility(), accounts, since))
            }
            fn all_contacts(&self, access: &ReadAccess) -> Result<Vec<Contact>> {
                self.read_db(|c| children::all_contacts(c, access.visibility()))
            }
            fn put_health(
                &self,
                access: &ManageAccess,
                scorecard: &str,
                day: jiff::civil::Date,
                rows: &[HealthRow],
            ) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    work::put_health(c, scorecard, day, rows)
                })
            }
            fn put_metric_values(
                &self,
                access: &ManageAccess,
                metric: &str,
                day: jiff::civil::Date,
                values: &[(AccountId, Option<f64>)],
            ) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    work::put_metric_values(c, metric, day, values)
                })
            }
            fn metric_days(&self, metric: &str) -> Result<Vec<jiff::civil::Date>> {
                self.read_db(|c| work::metric_days(c, metric))
            }
            fn put_signals(
                &self,
                access: &ManageAccess,
                day: jiff::civil::Date,
                rows: &[crate::work::SignalRow],
            ) -> Result<()> {
                self.write_db(access.user_id(), |c| attention::put_signals(c, day, rows))
            }
            fn signals_day(&self) -> Result<Option<jiff::civil::Date>> {
                self.read_db(attention::signals_day)
            }
            fn create_plan(
                &self,
                access: &WriteAccess,
                account_id: AccountId,
                edit: crate::plans::PlanEdit<'_>,
            ) -> Result<SuccessPlan> {
                self.write_db(access.user_id(), |c| {
                    plans::create_plan(c, access.visibility(), account_id, edit)
                })
            }
            fn create_plans(
                &self,
                access: &WriteAccess,
                many: &[(AccountId, crate::plans::PlanEdit<'_>)],
            ) -> Result<Vec<PlanId>> {
                self.write_db(access.user_id(), |c| {
                    many.iter()
                        .map(|(account, edit)| {
                            plans::insert_plan(c, access.visibility(), *account, *edit)
                        })
                        .collect()
                })
            }
            fn get_plan(&self, access: &ReadAccess, id: PlanId) -> Result<SuccessPlan> {
                self.read_db(|c| plans::get_plan(c, access.visibility(), id))
            }
            fn list_plans(
                &self,
                access: &ReadAccess,
                filter: &crate::plans::PlanFilter,
            ) -> Result<Vec<SuccessPlan>> {
                self.read_db(|c| plans::list_plans(c, access.visibility(), filter))
            }
            fn save_plan(
                &self,
                access: &WriteAccess,
                id: PlanId,
                version: i64,
                edit: crate::plans::PlanEdit<'_>,
            ) -> Result<SuccessPlan> {
                self.write_db(access.user_id(), |c| {
                    plans::save_plan(c, access.visibility(), id, version, edit)
                })
            }
            fn plan_events(
                &self,
                access: &ReadAccess,
                filter: &crate::plans::PlanEventFilter,
            ) -> Result<Vec<crate::plans::PlanEventRow>> {
                self.read_db(|c| plans::plan_events(c, access.visibility(), filter))
            }
            fn put_plan_progress(
                &self,
                access: &ManageAccess,
                rows: &[crate::plans::ProgressRow],
                events: &[(PlanId, PlanEvent)],
                at: jiff::Timestamp,
            ) -> Result<usize> {
                self.write_db(access.user_id(), |c| {
                    plans::put_plan_progress(c, rows, events, at)
                })
            }
            fn plan_progress(
                &self,
                access: &ReadAccess,
                plan: Option<PlanId>,
            ) -> Result<Vec<crate::plans::ProgressRow>> {
                self.read_db(|c| plans::plan_progress(c, access.visibility(), plan))
            }
            fn create_share(
                &self,
                access: &WriteAccess,
                share: &crate::plans::NewShare,
            ) -> Result<crate::plans::Share> {
                self.write_db(access.user_id(), |c| {
                    plans::create_share(c, access.visibility(), access.user_id(), share)
                })
            }
            fn plan_shares(
                &self,
                access: &ReadAccess,
                plan: PlanId,
            ) -> Result<Vec<crate::plans::Share>> {
                self.read_db(|c| plans::plan_shares(c, access.visibility(), plan))
            }
            fn revoke_share(&self, access: &WriteAccess, plan: PlanId, share: i64) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    plans::revoke_share(c, access.visibility(), access.user_id(), plan, share)
                })
            }
            fn open_share(
                &self,
                token_hash: &str,
                now: jiff::Timestamp,
            ) -> Result<Option<crate::plans::Share>> {
                self.write_db(None, |c| plans::open_share(c, token_hash, now))
            }
            fn stage_entries(
                &self,
                access: &ReadAccess,
                account: Option<AccountId>,
            ) -> Result<Vec<crate::journey::StageEntry>> {
                self.read_db(|c| journey::stage_entries(c, access.visibility(), account))
            }
            fn enter_stages(
                &self,
                access: &WriteAccess,
                moves: &[crate::journey::StageMove],
            ) -> Result<usize> {
                self.write_db(access.user_id(), |c| {
                    journey::enter_stages(c, access.visibility(), access.user_id(), moves)
                })
            }
            fn put_stuck(&self, access: &ManageAccess, stuck: &[AccountId]) -> Result<()> {
                self.write_db(access.user_id(), |c| journey::put_stuck(c, stuck))
            }
            fn add_feedback(
                &self,
                access: &WriteAccess,
                items: &[mikawaya_domain::voice::NewFeedbackItem],
            ) -> Result<Vec<(mikawaya_domain::voice::FeedbackItem, bool)>> {
                self.write_db(access.user_id(), |c| {
                    voice::add_feedback(c, access.visibility(), access.user_id(), items)
                })
            }
            fn feedback(
                &self,
                access: &ReadAccess,
                filter: &crate::voice::FeedbackFilter,
            ) -> Result<Vec<mikawaya_domain::voice::FeedbackItem>> {
                self.read_db(|c| voice::feedback(c, access.visibility(), filter))
            }
            fn get_feedback(
                &self,
                access: &ReadAccess,
                id: i64,
            ) -> Result<mikawaya_domain::voice::FeedbackItem> {
                self.read_db(|c| voice::get_feedback(c, access.visibility(), id))
            }
            fn change_feedback(
                &self,
                access: &WriteAccess,
                id: i64,
                change: &crate::voice::FeedbackChange,
            ) -> Result<mikawaya_domain::voice::FeedbackItem> {
                self.write_db(access.user_id(), |c| {
                    voice::change_feedback(c, access.visibility(), access.user_id(), id, change)
                })
            }
            fn create_request(
                &self,
                access: &WriteAccess,
                title: &mikawaya_domain::value::Text,
                items: &[i64],
                source: mikawaya_domain::voice::ChangeSource,
            ) -> Result<mikawaya_domain::voice::FeatureRequest> {
                self.write_db(access.user_id(), |c| {
                    voice::create_request(
                        c,
                        access.visibility(),
                        access.user_id(),
                        title,
                        items,
                        source,
                    )
                })
            }
            fn merge_requests(
                &self,
                access: &WriteAccess,
                into: i64,
                from: i64,
            ) -> Result<mikawaya_domain::voice::FeatureRequest> {
                self.write_db(access.user_id(), |c| {
                    voice::merge_requests(c, access.visibility(), access.user_id(), into, from)
                })
            }
            fn requests(
                &self,
                access: &ReadAccess,
            ) -> Result<Vec<mikawaya_domain::voice::FeatureRequest>> {
                self.read_db(|c| voice::requests(c, access.visibility()))
            }
            fn get_request(
                &self,
                access: &ReadAccess,
                id: i64,
            ) -> Result<mikawaya_domain::voice::FeatureRequest> {
                self.read_db(|c| voice::get_request(c, access.visibility(), id))
            }
            fn requests_by_issue(
                &self,
                url: &str,
            ) -> Result<Vec<mikawaya_domain::voice::FeatureRequest>> {
                self.read_db(|c| voice::requests_by_issue(c, url))
            }
            fn change_request(
                &self,
                access: &ManageAccess,
                id: i64,
                change: &crate::voice::RequestChange,
                source: mikawaya_domain::voice::ChangeSource,
                closing: &crate::voice::LoopClosing,
            ) -> Result<crate::voice::RequestChanged> {
                self.write_db(access.user_id(), |c| {
                    voice::change_request(c, access.user_id(), id, change, source, closing)
                })
            }
            fn request_events(
                &self,
                access: &ReadAccess,
                id: i64,
            ) -> Result<Vec<mikawaya_domain::voice::RequestEvent>> {
                self.read_db(|c| voice::request_events(c, access.visibility(), id))
            }
            fn record_delivery(&self, delivery_id: &str, outcome: &str) -> Result<bool> {
                self.write_db(None, |c| voice::record_delivery(c, delivery_id, outcome))
            }
            fn set_answer_experience(
                &self,
                access: &WriteAccess,
                response: i64,
                experience: Option<mikawaya_domain::voice::Experience>,
            ) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    voice::set_answer_experience(
                        c,
                        access.visibility(),
                        access.user_id(),
                        response,
                        experience,
                    )
                })
            }
            fn put_survey(
                &self,
                access: &ManageAccess,
                name: &str,
                kind: mikawaya_domain::work::SurveyKind,
                body: &str,
                active: bool,
            ) -> Result<crate::voice::Survey> {
                self.write_db(access.user_id(), |c| {
                    voice::put_survey(c, access.user_id(), name, kind, body, active)
                })
            }
            fn surveys(&self) -> Result<Vec<crate::voice::Survey>> {
                self.read_db(voice::surveys)
            }
            fn create_sends(
                &self,
                access: &WriteAccess,
                sends: &[crate::voice::NewSend],
            ) -> Result<Vec<crate::voice::SurveySend>> {
                self.write_db(access.user_id(), |c| {
                    voice::create_sends(c, access.visibility(), sends)
                })
            }
            fn record_past_sends(
                &self,
                access: &WriteAccess,
                rows: &[crate::voice::PastSend],
            ) -> Result<usize> {
                self.write_db(access.user_id(), |c| {
                    voice::record_past_sends(c, access.visibility(), rows)
                })
            }
            fn survey_sends(
                &self,
                access: &ReadAccess,
                since: jiff::Timestamp,
            ) -> Result<Vec<crate::voice::SurveySend>> {
                self.read_db(|c| voice::survey_sends(c, access.visibility(), since))
            }
            fn open_send(
                &self,
                token_hash: &str,
                now: jiff::Timestamp,
            ) -> Result<Option<crate::voice::SurveySend>> {
                self.read_db(|c| voice::open_send(c, token_hash, now))
            }
            fn answer_send(
                &self,
                token_hash: &str,
                answer: &crate::voice::SendAnswer,
            ) -> Result<Option<crate::voice::Answered>> {
                self.write_db(None, |c| voice::answer_send(c, token_hash, answer))
            }
            fn history_stamp(&self) -> Result<i64> {
                self.read_db(config::history_stamp)
            }
            fn book_stamp(&self) -> Result<i64> {
                self.read_db(config::book_stamp)
            }
            fn snooze(&self, access: &WriteAccess, snooze: &crate::work::Snooze) -> Result<()> {
                self.write_db(access.user_id(), |c| attention::snooze(c, access, snooze))
            }
            fn snoozes(
                &self,
                access: &ReadAccess,
                user: UserId,
                day: jiff::civil::Date,
            ) -> Result<Vec<crate::work::Snooze>> {
                self.read_db(|c| attention::snoozes(c, access.visibility(), user, day))
            }
            fn wake(&self, access: &WriteAccess, user: UserId, account: AccountId) -> Result<()> {
                self.write_db(access.user_id(), |c| {
                    attention::wake(c, access, user, account)
                })
            }
            fn metric_series(
                &self,
                access: &ReadAccess,
                metric: &str,
                account: AccountId,
                from: jiff::civil::Date,
                to: jiff::civil::Date,
            ) -> Result<Vec<(jiff::civil::Date, Option<f64>)>> {
                self.read_db(|c| {
                    work::metric_series(c, access.visibility(), metric, account, from, to)
                })
            }
            fn add_pulse(&self, access: &WriteAccess, pulse: &crate::work::Pulse) -> Result<()> {
                self.write_db(access.user_id(), |c| work::add_pulse(c, access, pulse))
            }
            fn add_pulses(
                &self,
                access: &WriteAccess,
                pulses: &[crate::work::Pulse],
            ) -> Result<usize> {
                self.write_db(access.user_id(), |c| {
                    for pulse in pulses {
                        work::add_pulse(c, access, pulse)?;
                    }
                    Ok(pulses.len())
                })
            }
            fn pulses(
                &self,
                access: &ReadAccess,
                accounts: Option<&[AccountId]>,
            ) -> Result<Vec<crate::work::Pulse>> {
                self.read_db(|c| work::pulses(c, access.visibility(), accounts))
            }
            fn touch_times(
                &self,
                access: &ReadAccess,
            ) -> Result<Vec<(AccountId, jiff::Timestamp)>> {
                self.read_db(|c| work::touch_times(c, access.visibility()))
            }
            fn health_days(&self, scorecard: &str) -> Result<Vec<jiff::civil::Date>> {
                self.read_db(|c| work::health_days(c, scorecard))
            }
            fn latest_health_day(
                &self,
                scorecard: &str,
                from: jiff::civil::Date,
                to: jiff::civil::Date,
            ) -> Result<Option<jiff::civil::Date>> {
                self.read_db(|c| work::latest_health_day(c, scorecard, from, to))
            }
            fn health_rows(
                &self,
                access: &ReadAccess,
                scorecard: &str,
                accounts: Option<&[AccountId]>,
                from: jiff::civil::Date,
                to: jiff::civil::Date,
            ) -> Result<Vec<HealthRow>> {
                self.read_db(|c| {
                    work::health_rows(c, access.visibility(), scorecard, accounts, from, to)
                })
            }

            fn backup(&self, _access: &AdminAccess, path: &std::path::Path) -> Result<()> {
                self.backup_to(path)
            }
            fn stats(&self) -> Result<StoreStats> {
                self.read_db(config::count_rows)
            }
        }
    };
}

store_over_db!(crate::sqlite::SqliteStore);
store_over_db!(crate::postgresql::PostgresStore);
