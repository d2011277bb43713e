//! Authentication: argon2id passwords, hashed API tokens, login sessions with CSRF tokens,
//! and a throttle on failed logins.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use base64::Engine;
use mikawaya_domain::Actor;
use mikawaya_domain::access::{Role, Scope};
use mikawaya_domain::user::User;
use mikawaya_store::ApiToken;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Prefix of API tokens, so leaked ones are easy to spot.
pub const TOKEN_PREFIX: &str = "mkw_";
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "mikawaya_session";
/// Name of the pre-login CSRF cookie (double submit on the login form).
pub const LOGIN_CSRF_COOKIE: &str = "mikawaya_login_csrf";
/// Header that cookie-authenticated API changes must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a stored hash; a malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A random secret: 32 bytes from the OS, URL-safe base64.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API token (shown once) and the hash to store.
pub fn new_token() -> (String, String) {
    let token = format!("{TOKEN_PREFIX}{}", random_secret());
    let hash = secret_hash(&token);
    (token, hash)
}

/// A new write key (shown once) and the hash to store.
pub fn new_write_key() -> (String, String) {
    let key = format!("wk_{}", random_secret());
    let hash = secret_hash(&key);
    (key, hash)
}

/// The stored form of a high-entropy secret (token or session id): SHA-256, hex. A slow
/// hash is not needed for 256-bit random secrets, and lookups stay O(1) by index.
pub fn secret_hash(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

/// Compares two secrets in time independent of where they differ.
pub fn secrets_match(left: &str, right: &str) -> bool {
    left.len() == right.len()
        && left
            .bytes()
            .zip(right.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The actor behind an API token: its user's role capped by the token's scope, or for a
/// service token, the role its scope implies.
pub fn token_actor(token: &ApiToken, user: Option<&User>) -> Option<Actor> {
    match user {
        Some(user) => Actor::new(Some(user.id), user.role, user.partner_id, token.scope).ok(),
        None => {
            let role = match token.scope {
                Scope::Admin => Role::Admin,
                Scope::Write => Role::Csm,
                Scope::Read => Role::Viewer,
            };
            Actor::new(None, role, None, token.scope).ok()
        }
    }
}

/// The actor behind a login session: the user's full role.
pub fn session_actor(user: &User) -> Option<Actor> {
    Actor::new(Some(user.id), user.role, user.partner_id, Scope::Admin).ok()
}

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
