//! Use-case tests: a real SQLite store in a temporary folder and real usage rollups built
//! from Segment messages, no server.

mod backtest;
mod churn;
mod effect;
mod feedback;
mod health;
mod journey;
mod metrics;
mod plans;
mod sso;
mod surveys;
mod team;
mod today;
mod voice;

use jiff::civil::Date;
use mikawaya_domain::account::{NewAccount, TouchTier};
use mikawaya_domain::value::{ExternalId, Name};
use mikawaya_domain::{AccountId, Actor};
use mikawaya_store::Store;
use mikawaya_store::sqlite::SqliteStore;
use mikawaya_usage::rollup::Rollups;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A store in a temporary folder.
struct World {
    _dir: tempfile::TempDir,
    store: SqliteStore,
}

impl World {
    fn new() -> Result<World, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = SqliteStore::open_dir(dir.path())?;
        Ok(World { _dir: dir, store })
    }

    /// A high-touch account whose external id (its usage key) is `key`, edited by `edit`.
    fn account(
        &self,
        key: &str,
        edit: impl FnOnce(&mut NewAccount),
    ) -> Result<AccountId, Box<dyn std::error::Error>> {
        let mut new = NewAccount::named(Name::parse(&format!("Account {key}"))?);
        new.external_id = Some(ExternalId::parse(key)?);
        new.tier = Some(TouchTier::High);
        edit(&mut new);
        Ok(self
            .store
            .create_account(&Actor::system().write()?, new)?
            .id)
    }

    /// A CSM of the team named `name`, whose email is `email`.
    fn csm(
        &self,
        email: &str,
        name: &str,
    ) -> Result<mikawaya_domain::UserId, Box<dyn std::error::Error>> {
        let user = mikawaya_domain::user::NewUser::new(
            mikawaya_domain::value::Email::parse(email)?,
            Name::parse(name)?,
            mikawaya_domain::access::Role::Csm,
            None,
        )?;
        Ok(self
            .store
            .create_user(&Actor::system().admin()?, user, None)?
            .id)
    }

    /// A "pro" subscription of `mrr` a month on `account`, from `start` (to `end`).
    fn paying(
        &self,
        account: AccountId,
        mrr: f64,
        start: Date,
        end: Option<Date>,
    ) -> Result<mikawaya_domain::subscription::Subscription, Box<dyn std::error::Error>> {
        Ok(self.store.create_subscription(
            &Actor::system().write()?,
            mikawaya_domain::subscription::NewSubscription {
                account_id: account,
                external_id: None,
                plan: mikawaya_domain::value::Slug::parse("pro")?,
                quantity: 1,
                mrr: mikawaya_domain::value::Money::new(mrr)?,
                term: mikawaya_domain::subscription::Term::new(start, end)?,
            },
        )?)
    }
}

/// Rollups of `(account, user, event, instant)` track calls.
fn rollups(events: &[(&str, &str, &str, &str)]) -> Rollups {
    Rollups::of_track_calls(events).unwrap_or_else(|e| panic!("{e}"))
}

fn date(year: i16, month: i8, day: i8) -> Date {
    jiff::civil::date(year, month, day)
}
