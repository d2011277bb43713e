//! Authentication over HTTP: session and CSRF cookies, and a throttle on failed logins.
//! Passwords, tokens and the actors behind them are `mikawaya_app::credentials` (the CLI
//! makes them too).

use mikawaya_store::{Store, StoreError};
use std::time::Duration;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "mikawaya_session";
/// Name of the pre-login CSRF cookie (double submit on the login form).
pub const LOGIN_CSRF_COOKIE: &str = "mikawaya_login_csrf";
/// Header that cookie-authenticated API changes must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

pub use mikawaya_app::credentials::{
    TOKEN_PREFIX, hash_password, new_token, new_write_key, random_secret, secret_hash,
    secrets_match, session_actor, token_actor, verify_password,
};

/// Throttles failed logins without locking the real user out (OWASP's guidance): after
/// `MAX_PER_PAIR` failures for one email from one client address, or `MAX_PER_ADDRESS`
/// from one address, that address waits until the oldest failure leaves the window. An
/// email's failures from every address only slow its logins down (a growing delay, at
/// most `MAX_DELAY`), so someone guessing from elsewhere cannot keep its owner out.
///
/// The failures are kept in the store, so every node of a cluster counts the same ones.
/// Its methods block on the store: call them off the async runtime.
#[derive(Debug, Default)]
pub struct LoginLimiter;

impl LoginLimiter {
    /// Failures per email and client address within the window.
    pub const MAX_PER_PAIR: u64 = 5;
    /// Failures per client address within the window.
    pub const MAX_PER_ADDRESS: u64 = 20;
    /// Failures per email (from anywhere) before its logins are slowed down.
    pub const FREE_PER_EMAIL: u64 = 5;
    /// The longest delay an email's failures put on its logins.
    pub const MAX_DELAY: Duration = Duration::from_secs(4);
    /// The window.
    pub const WINDOW: Duration = Duration::from_secs(15 * 60);

    fn window() -> jiff::SignedDuration {
        jiff::SignedDuration::from_secs(Self::WINDOW.as_secs() as i64)
    }

    fn pair(email: &str, address: &str) -> String {
        format!("pair:{email}|{address}")
    }

    fn address(address: &str) -> String {
        format!("addr:{address}")
    }

    fn email(email: &str) -> String {
        format!("email:{email}")
    }

    /// Seconds this address must wait at `now` before trying this email again, if it is
    /// locked out.
    pub fn locked_for(
        store: &dyn Store,
        email: &str,
        address: &str,
        now: jiff::Timestamp,
    ) -> Result<Option<u64>, StoreError> {
        let since = now - Self::window();
        let mut wait = None;
        for (key, max) in [
            (Self::pair(email, address), Self::MAX_PER_PAIR),
            (Self::address(address), Self::MAX_PER_ADDRESS),
        ] {
            let (count, oldest) = store.login_failures(&key, since)?;
            if count >= max {
                let left = oldest.map_or(Self::window(), |oldest| {
                    (oldest + Self::window()).duration_since(now)
                });
                let seconds = u64::try_from(left.as_secs()).unwrap_or(0).max(1);
                wait = Some(wait.map_or(seconds, |w: u64| w.max(seconds)));
            }
        }
        Ok(wait)
    }

    /// How long a login for this email waits first: nothing up to `FREE_PER_EMAIL`
    /// failures in the window, then 250 ms doubling with each failure, at most `MAX_DELAY`.
    pub fn delay_for(
        store: &dyn Store,
        email: &str,
        now: jiff::Timestamp,
    ) -> Result<Duration, StoreError> {
        let (count, _) = store.login_failures(&Self::email(email), now - Self::window())?;
        Ok(match count.checked_sub(Self::FREE_PER_EMAIL) {
            None => Duration::ZERO,
            Some(over) => Duration::from_millis(250)
                .saturating_mul(1u32 << over.min(8))
                .min(Self::MAX_DELAY),
        })
    }

    /// Records a failure at `now`.
    pub fn record_failure(
        store: &dyn Store,
        email: &str,
        address: &str,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        store.add_login_failure(
            &[
                Self::pair(email, address),
                Self::address(address),
                Self::email(email),
            ],
            now,
            now - Self::window(),
        )
    }

    /// Forgets an email's failures after a successful login from `address`.
    pub fn record_success(store: &dyn Store, email: &str, address: &str) -> Result<(), StoreError> {
        store.clear_login_failures(&[Self::email(email), Self::pair(email, address)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse").unwrap_or_else(|e| panic!("{e}"));
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    fn store() -> (tempfile::TempDir, mikawaya_store::sqlite::SqliteStore) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = mikawaya_store::sqlite::SqliteStore::open_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"));
        (dir, store)
    }

    fn ok<T>(result: Result<T, StoreError>) -> T {
        result.unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn five_wrong_passwords_lock_the_guesser_out_but_not_the_real_user() {
        let (_dir, store) = store();
        let now = jiff::Timestamp::now();
        for _ in 0..LoginLimiter::MAX_PER_PAIR {
            assert!(ok(LoginLimiter::locked_for(&store, "a@b.c", "1.2.3.4", now)).is_none());
            ok(LoginLimiter::record_failure(
                &store, "a@b.c", "1.2.3.4", now,
            ));
        }
        // The guessing address is locked out of that email for the window...
        // (Failures are kept to the second: the oldest may be up to half a second before.)
        let locked = ok(LoginLimiter::locked_for(&store, "a@b.c", "1.2.3.4", now));
        let window = LoginLimiter::WINDOW.as_secs();
        assert!(
            locked.is_some_and(|seconds| (window - 1..=window).contains(&seconds)),
            "{locked:?}"
        );
        // ...the real user, elsewhere, is not (only slowed down a little from now on).
        assert!(ok(LoginLimiter::locked_for(&store, "a@b.c", "5.6.7.8", now)).is_none());
        assert_eq!(
            ok(LoginLimiter::delay_for(&store, "a@b.c", now)),
            Duration::from_millis(250)
        );
        assert!(
            ok(LoginLimiter::locked_for(
                &store,
                "other@b.c",
                "1.2.3.4",
                now
            ))
            .is_none()
        );
        // The window passes: the address may try again.
        let later = now + LoginLimiter::window() + jiff::SignedDuration::from_secs(1);
        assert!(ok(LoginLimiter::locked_for(&store, "a@b.c", "1.2.3.4", later)).is_none());
    }

    #[test]
    fn guesses_from_many_addresses_slow_an_email_down_to_at_most_four_seconds() {
        let (_dir, store) = store();
        let now = jiff::Timestamp::now();
        for address in 0..40 {
            ok(LoginLimiter::record_failure(
                &store,
                "a@b.c",
                &format!("10.0.0.{address}"),
                now,
            ));
        }
        assert_eq!(
            ok(LoginLimiter::delay_for(&store, "a@b.c", now)),
            LoginLimiter::MAX_DELAY
        );
        assert!(ok(LoginLimiter::locked_for(&store, "a@b.c", "5.6.7.8", now)).is_none());
        // The owner gets in and the slate is clean.
        ok(LoginLimiter::record_success(&store, "a@b.c", "5.6.7.8"));
        assert_eq!(
            ok(LoginLimiter::delay_for(&store, "a@b.c", now)),
            Duration::ZERO
        );
        // One address failing on many emails is locked out after twenty.
        for n in 0..LoginLimiter::MAX_PER_ADDRESS {
            ok(LoginLimiter::record_failure(
                &store,
                &format!("u{n}@b.c"),
                "9.9.9.9",
                now,
            ));
        }
        assert!(ok(LoginLimiter::locked_for(&store, "new@b.c", "9.9.9.9", now)).is_some());
    }
}
