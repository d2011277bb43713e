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

/// Throttles failed logins per email and per client address: after `MAX_PER_EMAIL`
/// failures for one email (or `MAX_PER_ADDRESS` from one address) within the window,
/// further attempts are refused until the oldest failure leaves the window.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    /// Failures per email within the window.
    pub const MAX_PER_EMAIL: usize = 5;
    /// Failures per client address within the window.
    pub const MAX_PER_ADDRESS: usize = 20;
    /// The window.
    pub const WINDOW: Duration = Duration::from_secs(15 * 60);

    /// Seconds to wait if these keys are locked out now.
    pub fn locked_for(&self, email: &str, address: &str) -> Option<u64> {
        let mut failures = self.failures.lock().ok()?;
        let now = Instant::now();
        [
            (format!("email:{email}"), Self::MAX_PER_EMAIL),
            (format!("addr:{address}"), Self::MAX_PER_ADDRESS),
        ]
        .into_iter()
        .filter_map(|(key, max)| {
            let entries = failures.get_mut(&key)?;
            entries.retain(|at| now.duration_since(*at) < Self::WINDOW);
            (entries.len() >= max).then(|| {
                let oldest = entries.iter().min().copied().unwrap_or(now);
                Self::WINDOW
                    .saturating_sub(now.duration_since(oldest))
                    .as_secs()
                    .max(1)
            })
        })
        .max()
    }

    /// Records a failure.
    pub fn record_failure(&self, email: &str, address: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            let now = Instant::now();
            for key in [format!("email:{email}"), format!("addr:{address}")] {
                failures.entry(key).or_default().push(now);
            }
        }
    }

    /// Forgets an email's failures after a successful login.
    pub fn record_success(&self, email: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&format!("email:{email}"));
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
    fn the_limiter_locks_an_email_after_five_failures() {
        let limiter = LoginLimiter::default();
        for _ in 0..LoginLimiter::MAX_PER_EMAIL {
            assert!(limiter.locked_for("a@b.c", "1.2.3.4").is_none());
            limiter.record_failure("a@b.c", "1.2.3.4");
        }
        assert!(limiter.locked_for("a@b.c", "5.6.7.8").is_some());
        assert!(limiter.locked_for("other@b.c", "5.6.7.8").is_none());
    }
}
