//! The outbox: sends what playbooks queued. Emails go over SMTP with a per-contact
//! unsubscribe link and `List-Unsubscribe` headers; webhooks are POSTed with an
//! HMAC-SHA256 signature over `"{timestamp}.{body}"`; failures are retried with
//! exponential backoff.
//!
//! Invariants:
//! - A message is claimed with a lease before it is sent and marked sent after the
//!   receiver accepted it. A sender that dies mid-send leaves the lease to run out; the
//!   message is then sent again **with the same idempotency key** (the email's
//!   `Message-ID`, the webhook's `Idempotency-Key` header), so the receiver can tell.
//!   Nothing queued is lost; a duplicate can only come from a crash between the
//!   receiver's "accepted" and our commit, and carries the same key.
//! - Every clock reading comes from the caller (`now`), so tests never sleep.

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use lettre::message::header::{self, HeaderName, HeaderValue};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use mikawaya_domain::language::Language;
use mikawaya_domain::work::Channel;
use mikawaya_store::Store;
use mikawaya_store::work::{Delivery, Message};
use serde::Serialize;
use sha2::Sha256;
use std::sync::Arc;

/// Errors of the outbox.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The configuration is unusable.
    #[error("outbox configuration: {0}")]
    Config(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] mikawaya_store::StoreError),
    /// A blocking task failed.
    #[error("background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Quiet hours in the configured time zone: no email from `start` to `end` o'clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// First quiet hour (0-23).
    pub start: u8,
    /// First hour that is not quiet (0-23).
    pub end: u8,
}

impl QuietHours {
    /// Parses `22-8`.
    pub fn parse(raw: &str) -> Result<QuietHours, OutboxError> {
        let bad = || OutboxError::Config(format!("quiet hours '{raw}' are not like 22-8"));
        let (start, end) = raw.split_once('-').ok_or_else(bad)?;
        let start: u8 = start.trim().parse().map_err(|_| bad())?;
        let end: u8 = end.trim().parse().map_err(|_| bad())?;
        if start > 23 || end > 23 || start == end {
            return Err(bad());
        }
        Ok(QuietHours { start, end })
    }

    /// When the quiet period covering `now` ends, or none when `now` is not quiet.
    pub fn ends_after(&self, now: Timestamp, zone: &jiff::tz::TimeZone) -> Option<Timestamp> {
        let local = now.to_zoned(zone.clone());
        let hour = u8::try_from(local.hour()).ok()?;
        let quiet = if self.start < self.end {
            hour >= self.start && hour < self.end
        } else {
            hour >= self.start || hour < self.end
        };
        if !quiet {
            return None;
        }
        let mut day = local.date();
        if hour >= self.end {
            day = day.tomorrow().ok()?;
        }
        day.at(i8::try_from(self.end).ok()?, 0, 0, 0)
            .to_zoned(zone.clone())
            .ok()
            .map(|z| z.timestamp())
    }
}

/// How the outbox sends.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// `smtp://host:port` (plain; `?tls=required` for STARTTLS) or `smtps://host:port`,
    /// with optional `user:password@`. None: emails wait until one is configured.
    pub smtp_url: Option<String>,
    /// The From address.
    pub from: String,
    /// The server's public address, for unsubscribe links.
    pub base_url: String,
    /// Secret for webhook signatures and unsubscribe tokens.
    pub secret: String,
    /// No email in these hours.
    pub quiet_hours: Option<QuietHours>,
    /// Time zone of quiet hours.
    pub time_zone: jiff::tz::TimeZone,
    /// How long a claimed message is reserved for its sender.
    pub lease: SignedDuration,
    /// Give up after this many attempts.
    pub max_attempts: i64,
    /// Per-request timeout.
    pub timeout: std::time::Duration,
}

impl OutboxConfig {
    /// A configuration with defaults around an SMTP URL and a secret.
    pub fn new(smtp_url: Option<String>, secret: String) -> OutboxConfig {
        OutboxConfig {
            smtp_url,
            from: "Mikawaya <cs@mikawaya.example>".to_owned(),
            base_url: "http://127.0.0.1:8080".to_owned(),
            secret,
            quiet_hours: None,
            time_zone: jiff::tz::TimeZone::UTC,
            lease: SignedDuration::from_mins(5),
            max_attempts: 8,
            timeout: std::time::Duration::from_secs(10),
        }
    }
}

/// What one flush did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FlushReport {
    /// Accepted by receivers.
    pub sent: usize,
    /// Failed this time; retried later.
    pub retried: usize,
    /// Failed for good.
    pub failed: usize,
    /// Not sent on purpose (unsubscribed since queued).
    pub suppressed: usize,
    /// Held back by quiet hours or a missing SMTP configuration.
    pub deferred: usize,
}

/// `v1=` + hex HMAC-SHA256 of `"{timestamp}.{body}"`: the webhook signature header.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    format!("v1={}", hex(&mac(secret, &format!("{timestamp}.{body}"))))
}

/// Whether `header` is GitHub's `X-Hub-Signature-256` of `body` under `secret`
/// (`sha256=` + hex HMAC-SHA256 of the raw body), compared in constant time.
pub fn verify_hub_signature(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(bytes) = header.trim().strip_prefix("sha256=").and_then(unhex) else {
        return false;
    };
    let Ok(mut expected) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    expected.update(body);
    expected.verify_slice(&bytes).is_ok()
}

/// GitHub's `X-Hub-Signature-256` of a body (what a tracker sends, and what tests sign with).
pub fn hub_signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// The unsubscribe token of an address (lowercased).
pub fn unsubscribe_token(secret: &str, email: &str) -> String {
    hex(&mac(
        secret,
        &format!("unsubscribe:{}", email.to_lowercase()),
    ))
}

/// Whether a token is the address's unsubscribe token (compared in constant time).
pub fn verify_unsubscribe(secret: &str, email: &str, token: &str) -> bool {
    let Ok(mut expected) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    expected.update(format!("unsubscribe:{}", email.to_lowercase()).as_bytes());
    let Some(bytes) = unhex(token) else {
        return false;
    };
    expected.verify_slice(&bytes).is_ok()
}

/// The unsubscribe link of an address; its page is shown in `language` (the parameter is
/// not signed: it changes nothing but the words).
pub fn unsubscribe_url(config: &OutboxConfig, email: &str, language: Language) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("email", email)
        .append_pair("token", &unsubscribe_token(&config.secret, email))
        .append_pair("lang", language.code())
        .finish();
    format!(
        "{}/unsubscribe?{query}",
        config.base_url.trim_end_matches('/')
    )
}

fn mac(secret: &str, text: &str) -> Vec<u8> {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(text.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The backoff before attempt `attempts + 1`: 30 s doubled per attempt, at most 6 hours.
pub fn backoff(attempts: i64) -> SignedDuration {
    let exponent = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    let seconds = 30i64.saturating_mul(1i64 << exponent).min(6 * 3600);
    SignedDuration::from_secs(seconds)
}

/// Sends everything due at `now`, batch by batch, until nothing is due.
pub async fn flush(
    store: Arc<dyn Store>,
    config: &OutboxConfig,
    now: Timestamp,
) -> Result<FlushReport, OutboxError> {
    let mailer = match &config.smtp_url {
        Some(url) => Some(
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| OutboxError::Config(format!("MIKAWAYA_SMTP_URL: {e}")))?
                .timeout(Some(config.timeout))
                .build(),
        ),
        None => None,
    };
    let http = reqwest::Client::builder()
        .timeout(config.timeout)
        .build()
        .map_err(|e| OutboxError::Config(e.to_string()))?;
    let mut report = FlushReport::default();
    // Deferred messages (no SMTP server yet, quiet hours) are not failures: one line for
    // all of them instead of a warning each.
    let mut deferred_reason: Option<String> = None;
    // The outbox sends on the system's behalf, whoever queued the message.
    let access = mikawaya_domain::Actor::system()
        .write()
        .map_err(|e| OutboxError::Config(e.to_string()))?;
    // Leases run on the clock from `now` (given, so tests can set the day): a long flush
    // claims its later messages with leases that still lie ahead.
    let started = std::time::Instant::now();
    let clock = move || now + jiff::SignedDuration::try_from(started.elapsed()).unwrap_or_default();
    loop {
        let claim_store = Arc::clone(&store);
        let now = clock();
        let lease_until = now + config.lease;
        let batch = tokio::task::spawn_blocking(move || {
            claim_store.claim_messages(&access, now, lease_until, 50)
        })
        .await??;
        if batch.is_empty() {
            if let Some(reason) = deferred_reason {
                tracing::info!(
                    messages = report.deferred,
                    %reason,
                    "messages wait to be sent"
                );
            }
            return Ok(report);
        }
        for message in batch {
            // Still ours? (Several servers send: one whose lease ran out while it sent
            // the messages before this one leaves it to whoever claimed it since.)
            let hold_store = Arc::clone(&store);
            let (id, attempts, until) = (message.id, message.attempts, clock() + config.lease);
            let held = tokio::task::spawn_blocking(move || {
                hold_store.hold_message(&access, id, attempts, until)
            })
            .await??;
            if !held {
                continue;
            }
            let now = clock();
            let delivery = match message.channel {
                Channel::Email => {
                    send_email(&store, config, mailer.as_ref(), &message, now).await?
                }
                Channel::Webhook => send_webhook(config, &http, &message, now).await,
            };
            match &delivery {
                Delivery::Sent { .. } => report.sent += 1,
                Delivery::Retry { error, .. } if error.starts_with("deferred") => {
                    report.deferred += 1
                }
                Delivery::Retry { .. } => report.retried += 1,
                Delivery::Failed { .. } => report.failed += 1,
                Delivery::Suppressed { .. } => report.suppressed += 1,
            }
            match &delivery {
                Delivery::Retry { error, .. } if error.starts_with("deferred") => {
                    deferred_reason.get_or_insert_with(|| error.clone());
                }
                Delivery::Retry { error, .. } | Delivery::Failed { error } => {
                    tracing::warn!(id = message.id, key = %message.idempotency_key, %error, "delivery failed");
                }
                _ => {}
            }
            let finish_store = Arc::clone(&store);
            let id = message.id;
            tokio::task::spawn_blocking(move || {
                finish_store.finish_message(&access, id, &delivery)
            })
            .await??;
        }
    }
}

fn retry_or_fail(
    config: &OutboxConfig,
    message: &Message,
    now: Timestamp,
    error: String,
) -> Delivery {
    if message.attempts >= config.max_attempts {
        Delivery::Failed { error }
    } else {
        Delivery::Retry {
            retry_at: now + backoff(message.attempts),
            error,
        }
    }
}

async fn send_email(
    store: &Arc<dyn Store>,
    config: &OutboxConfig,
    mailer: Option<&AsyncSmtpTransport<Tokio1Executor>>,
    message: &Message,
    now: Timestamp,
) -> Result<Delivery, OutboxError> {
    let lookup = Arc::clone(store);
    let recipient = message.recipient.clone();
    let access = mikawaya_domain::Actor::system().read();
    if tokio::task::spawn_blocking(move || lookup.is_unsubscribed(&access, &recipient)).await?? {
        return Ok(Delivery::Suppressed {
            reason: "unsubscribed".to_owned(),
        });
    }
    if let Some(until) = config
        .quiet_hours
        .and_then(|quiet| quiet.ends_after(now, &config.time_zone))
    {
        return Ok(Delivery::Retry {
            retry_at: until,
            error: format!("deferred: quiet hours until {until}"),
        });
    }
    let Some(mailer) = mailer else {
        return Ok(Delivery::Retry {
            retry_at: now + SignedDuration::from_mins(15),
            error: "deferred: no SMTP server configured (MIKAWAYA_SMTP_URL)".to_owned(),
        });
    };
    let email = match build_email(config, message) {
        Ok(email) => email,
        Err(error) => return Ok(Delivery::Failed { error }),
    };
    Ok(match mailer.send(email).await {
        Ok(_) => Delivery::Sent { at: now },
        Err(error) if error.is_permanent() => Delivery::Failed {
            error: error.to_string(),
        },
        Err(error) => retry_or_fail(config, message, now, error.to_string()),
    })
}

fn build_email(config: &OutboxConfig, message: &Message) -> Result<lettre::Message, String> {
    // The page behind the link speaks the language the email was written in.
    let unsubscribe = unsubscribe_url(
        config,
        &message.recipient,
        Language::of_text(&format!(
            "{} {}",
            message.subject.as_deref().unwrap_or(""),
            message.body
        )),
    );
    let body = format!(
        "{}\n\n--\nUnsubscribe / 配信停止: {unsubscribe}\n",
        message.body.trim_end()
    );
    let message_id = format!(
        "<{}@mikawaya>",
        hex(&mac("message-id", &message.idempotency_key))
    );
    lettre::Message::builder()
        .from(config.from.parse().map_err(|e| format!("from: {e}"))?)
        .to(message.recipient.parse().map_err(|e| format!("to: {e}"))?)
        .subject(message.subject.clone().unwrap_or_default())
        .message_id(Some(message_id))
        .header(header::MIME_VERSION_1_0)
        .header(header::ContentType::TEXT_PLAIN)
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{unsubscribe}>"),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Mikawaya-Idempotency-Key"),
            message.idempotency_key.clone(),
        ))
        .body(body)
        .map_err(|e| e.to_string())
}

async fn send_webhook(
    config: &OutboxConfig,
    http: &reqwest::Client,
    message: &Message,
    now: Timestamp,
) -> Delivery {
    let timestamp = now.as_second();
    let response = http
        .post(&message.recipient)
        .header("content-type", "application/json")
        .header("x-mikawaya-timestamp", timestamp.to_string())
        .header(
            "x-mikawaya-signature",
            sign(&config.secret, timestamp, &message.body),
        )
        .header("idempotency-key", &message.idempotency_key)
        .body(message.body.clone())
        .send()
        .await;
    match response {
        Ok(response) if response.status().is_success() => Delivery::Sent { at: now },
        Ok(response)
            if response.status().is_client_error()
                && response.status() != reqwest::StatusCode::REQUEST_TIMEOUT
                && response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS =>
        {
            Delivery::Failed {
                error: format!("receiver refused: {}", response.status()),
            }
        }
        Ok(response) => retry_or_fail(
            config,
            message,
            now,
            format!("receiver answered {}", response.status()),
        ),
        Err(error) => retry_or_fail(config, message, now, error.to_string()),
    }
}

/// Installs the TLS crypto provider (ring) once per process; call before sending.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The secret for signatures and unsubscribe tokens: the configured one, or one made at
/// first use and kept in the store (so every process of a data dir agrees).
pub fn stored_secret(store: &dyn Store) -> Result<String, OutboxError> {
    if let Some(secret) = store.get_meta("secret")? {
        return Ok(secret);
    }
    let bytes: [u8; 32] = rand::random();
    let secret = hex(&bytes);
    store.put_meta("secret", &secret)?;
    Ok(store.get_meta("secret")?.unwrap_or(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_and_tokens() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hex(&mac("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let token = unsubscribe_token("s3cret", "Kenji@Example.com");
        assert!(verify_unsubscribe("s3cret", "kenji@example.com", &token));
        assert!(!verify_unsubscribe("other", "kenji@example.com", &token));
        assert!(!verify_unsubscribe("s3cret", "kenji@example.com", "zz"));
        assert_eq!(backoff(0), SignedDuration::from_secs(30));
        assert_eq!(backoff(3), SignedDuration::from_secs(240));
        assert_eq!(backoff(30), SignedDuration::from_secs(6 * 3600));
    }

    #[test]
    fn quiet_hours_across_midnight() -> Result<(), Box<dyn std::error::Error>> {
        let quiet = QuietHours::parse("22-8")?;
        let tokyo = jiff::tz::TimeZone::get("Asia/Tokyo")?;
        // 23:30 in Tokyo → quiet until 08:00 the next morning.
        let late: Timestamp = "2026-11-22T14:30:00Z".parse()?;
        assert_eq!(
            quiet.ends_after(late, &tokyo),
            Some("2026-11-22T23:00:00Z".parse()?)
        );
        // 03:00 in Tokyo → until 08:00 the same day.
        let early: Timestamp = "2026-11-22T18:00:00Z".parse()?;
        assert_eq!(
            quiet.ends_after(early, &tokyo),
            Some("2026-11-22T23:00:00Z".parse()?)
        );
        // 12:00 in Tokyo → not quiet.
        let noon: Timestamp = "2026-11-22T03:00:00Z".parse()?;
        assert_eq!(quiet.ends_after(noon, &tokyo), None);
        assert!(QuietHours::parse("8-8").is_err());
        Ok(())
    }
}
