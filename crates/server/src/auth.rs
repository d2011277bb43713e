//! Authentication over HTTP: session and CSRF cookies, and a throttle on failed logins.
//! Passwords, tokens and the actors behind them are `mikawaya_app::credentials` (the CLI
//! makes them too).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    /// Failures per email and client address within the window.
    pub const MAX_PER_PAIR: usize = 5;
    /// Failures per client address within the window.
    pub const MAX_PER_ADDRESS: usize = 20;
    /// Failures per email (from anywhere) before its logins are slowed down.
    pub const FREE_PER_EMAIL: usize = 5;
    /// The longest delay an email's failures put on its logins.
    pub const MAX_DELAY: Duration = Duration::from_secs(4);
    /// The window.
    pub const WINDOW: Duration = Duration::from_secs(15 * 60);

    fn recent(failures: &mut HashMap<String, Vec<Instant>>, key: &str, now: Instant) -> usize {
        failures.get_mut(key).map_or(0, |entries| {
            entries.retain(|at| now.duration_since(*at) < Self::WINDOW);
            entries.len()
        })
    }

    /// Seconds this address must wait before trying this email again, if it is locked out.
    pub fn locked_for(&self, email: &str, address: &str) -> Option<u64> {
        let mut failures = self.failures.lock().ok()?;
        let now = Instant::now();
        [
            (format!("pair:{email}|{address}"), Self::MAX_PER_PAIR),
            (format!("addr:{address}"), Self::MAX_PER_ADDRESS),
        ]
        .into_iter()
        .filter_map(|(key, max)| {
            (Self::recent(&mut failures, &key, now) >= max).then(|| {
                let oldest = failures
                    .get(&key)
                    .and_then(|entries| entries.iter().min().copied())
                    .unwrap_or(now);
                Self::WINDOW
                    .saturating_sub(now.duration_since(oldest))
                    .as_secs()
                    .max(1)
            })
        })
        .max()
    }

    /// How long a login for this email waits first: nothing up to `FREE_PER_EMAIL`
    /// failures in the window, then 250 ms doubling with each failure, at most `MAX_DELAY`.
    pub fn delay_for(&self, email: &str) -> Duration {
        let Ok(mut failures) = self.failures.lock() else {
            return Duration::ZERO;
        };
        let count = Self::recent(&mut failures, &format!("email:{email}"), Instant::now());
        match count.checked_sub(Self::FREE_PER_EMAIL) {
            None => Duration::ZERO,
            Some(over) => Duration::from_millis(250)
                .saturating_mul(1u32 << over.min(8))
                .min(Self::MAX_DELAY),
        }
    }

    /// Records a failure.
    pub fn record_failure(&self, email: &str, address: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            let now = Instant::now();
            for key in [
                format!("pair:{email}|{address}"),
                format!("addr:{address}"),
                format!("email:{email}"),
            ] {
                failures.entry(key).or_default().push(now);
            }
        }
    }

    /// Forgets an email's failures after a successful login from `address`.
    pub fn record_success(&self, email: &str, address: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&format!("email:{email}"));
            failures.remove(&format!("pair:{email}|{address}"));
        }
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

    #[test]
    fn five_wrong_passwords_lock_the_guesser_out_but_not_the_real_user() {
        let limiter = LoginLimiter::default();
        for _ in 0..LoginLimiter::MAX_PER_PAIR {
            assert!(limiter.locked_for("a@b.c", "1.2.3.4").is_none());
            limiter.record_failure("a@b.c", "1.2.3.4");
        }
        // The guessing address is locked out of that email...
        assert!(limiter.locked_for("a@b.c", "1.2.3.4").is_some());
        // ...the real user, elsewhere, is not (only slowed down a little from now on).
        assert!(limiter.locked_for("a@b.c", "5.6.7.8").is_none());
        assert_eq!(limiter.delay_for("a@b.c"), Duration::from_millis(250));
        assert!(limiter.locked_for("other@b.c", "1.2.3.4").is_none());
        assert_eq!(limiter.delay_for("other@b.c"), Duration::ZERO);
    }

    #[test]
    fn guesses_from_many_addresses_slow_an_email_down_to_at_most_four_seconds() {
        let limiter = LoginLimiter::default();
        for address in 0..40 {
            limiter.record_failure("a@b.c", &format!("10.0.0.{address}"));
        }
        assert_eq!(limiter.delay_for("a@b.c"), LoginLimiter::MAX_DELAY);
        assert!(limiter.locked_for("a@b.c", "5.6.7.8").is_none());
        // The owner gets in and the slate is clean.
        limiter.record_success("a@b.c", "5.6.7.8");
        assert_eq!(limiter.delay_for("a@b.c"), Duration::ZERO);
        // One address failing on many emails is locked out after twenty.
        for n in 0..LoginLimiter::MAX_PER_ADDRESS {
            limiter.record_failure(&format!("u{n}@b.c"), "9.9.9.9");
        }
        assert!(limiter.locked_for("new@b.c", "9.9.9.9").is_some());
    }
}
