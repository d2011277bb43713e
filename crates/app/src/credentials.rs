//! Credentials: argon2id password hashes, API tokens and write keys stored as SHA-256
//! hashes, and the actor behind a token or a login session. Used by the server (logins,
//! bearer tokens) and the CLI (`user create`, `token create`, `writekey create`).

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

/// Prefix of API tokens, so leaked ones are easy to spot.
pub const TOKEN_PREFIX: &str = "mkw_";

/// The fewest characters a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The most (a longer one only costs the hash's time: it is a denial of service).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The rule for a new password: 12 to 1024 characters, not only white space, not one
/// character repeated.
pub fn check_password(password: &str) -> Result<(), mikawaya_domain::Invalid> {
    let count = password.chars().count();
    let reason = if count < MIN_PASSWORD_CHARS {
        format!("must be at least {MIN_PASSWORD_CHARS} characters")
    } else if count > MAX_PASSWORD_CHARS {
        format!("must be at most {MAX_PASSWORD_CHARS} characters")
    } else if password.trim().is_empty() {
        "must not be only spaces".to_owned()
    } else if password.chars().all(|c| password.starts_with(c)) {
        "must not be one character repeated".to_owned()
    } else {
        return Ok(());
    };
    Err(mikawaya_domain::Invalid::new("password", reason))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passwords_are_long_enough_not_too_long_and_not_blank() {
        assert!(check_password("correct horse battery").is_ok());
        for bad in [
            "short",
            "            ",
            "aaaaaaaaaaaaaaaa",
            &"x1".repeat(600),
        ] {
            assert_eq!(
                check_password(bad).map_err(|e| e.field),
                Err("password".to_owned()),
                "{bad:.20}"
            );
        }
    }
}
