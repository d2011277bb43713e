//! Segment messages: parsing, validation and normalization into [`EventRef`], the event the
//! log's records hold (see `record.rs`), borrowed from the request bytes or the file's
//! line; [`StoredEvent`] is its owned form. `properties`, `traits` and `context` stay raw
//! JSON text, so the hot path does not build value trees.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The largest message Segment accepts, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
/// The largest batch Segment accepts, in bytes.
pub const MAX_BATCH_BYTES: usize = 500 * 1024;
/// The longest id (user, anonymous, message, group, previous), in bytes.
const MAX_ID_BYTES: usize = 1024;

/// A message that cannot be accepted; `field` names the offending field (with its batch
/// index, e.g. `batch[3].event`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct MessageError {
    /// The field.
    pub field: String,
    /// Why.
    pub reason: String,
}

impl MessageError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    fn within(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

/// The message types of the Segment spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A user did something.
    Track,
    /// Who a user is (traits).
    Identify,
    /// Which account (group) a user belongs to.
    Group,
    /// A web page view.
    Page,
    /// A mobile screen view.
    Screen,
    /// Two user ids are the same person.
    Alias,
}

impl Kind {
    /// Parses a `type` value.
    pub fn parse(raw: &str) -> Option<Kind> {
        Some(match raw {
            "track" => Kind::Track,
            "identify" => Kind::Identify,
            "group" => Kind::Group,
            "page" => Kind::Page,
            "screen" => Kind::Screen,
            "alias" => Kind::Alias,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Track => "track",
            Kind::Identify => "identify",
            Kind::Group => "group",
            Kind::Page => "page",
            Kind::Screen => "screen",
            Kind::Alias => "alias",
        }
    }
}

/// An id the spec allows as a string or a number; kept as text.
#[derive(Debug, Clone, PartialEq)]
struct Id<'a>(Cow<'a, str>);

/// Text borrowed when it can be (it cannot when it holds escapes), numbers as their
/// decimal text: read directly, without buffering the value as an untagged enum would.
/// (serde's own `Cow<str>` always copies unless a struct field says `borrow`.)
struct TextVisitor;

impl<'de> serde::de::Visitor<'de> for TextVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a string or a number")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Id<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = deserializer.deserialize_any(TextVisitor)?;
        if id.len() > MAX_ID_BYTES {
            return Err(D::Error::custom(format!(
                "an id must be at most {MAX_ID_BYTES} bytes"
            )));
        }
        Ok(Id(id))
    }
}

/// An object's key, borrowed from the text when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor).map(Key)
    }
}

/// A JSON value's text as sent (checked by serde_json, or by the scanner).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    fn get(self) -> &'a str {
        self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Raw<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(deserializer).map(|raw| Raw(raw.get()))
    }
}

/// One message as sent, borrowed from the request body.
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Incoming<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message_id: Option<Id<'a>>,
    #[serde(borrow, default)]
    user_id: Option<Id<'a>>,
    #[serde(borrow, default)]
    anonymous_id: Option<Id<'a>>,
    #[serde(borrow, default)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    group_id: Option<Id<'a>>,
    #[serde(borrow, default)]
    previous_id: Option<Id<'a>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    original_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    sent_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    properties: Option<Raw<'a>>,
    #[serde(borrow, default)]
    traits: Option<Raw<'a>>,
    #[serde(borrow, default)]
    context: Option<Raw<'a>>,
    /// `context.groupId` as [`group_in`] reads it, when the scanner read it with the
    /// context (`Some(None)`: none given); `None` leaves it to `group_in`.
    #[serde(skip)]
    context_group: Option<Option<&'a str>>,
}

impl<'a> Incoming<'a> {
    /// Reads a message with the scanner into `message` (a default one): the fast path for
    /// the usual shape (keys without escapes, ids and names as plain strings). `None` when
    /// the text is anything else, for serde_json to read or refuse (`message` then holds
    /// part of it); when it answers, serde_json reads the same. With `numbers`, the numeric
    /// top-level properties are read into it in the same walk (it may hold some when the
    /// answer is `None`). Written in place: a message is a few hundred bytes to copy.
    fn scan(
        text: &'a str,
        mut numbers: Option<&mut Vec<(&'a str, f64)>>,
        message: &mut Self,
    ) -> Option<()> {
        type Scanner<'s, 'q> = crate::scan::Scanner<'s, 'q>;
        fn text_field<'s>(scanner: &mut Scanner<'s, '_>) -> Option<Option<Cow<'s, str>>> {
            scanner.text().map(|text| text.map(Cow::Borrowed))
        }
        fn id_field<'s>(scanner: &mut Scanner<'s, '_>) -> Option<Option<Id<'s>>> {
            let text = scanner.text()?;
            // Longer ids are refused by serde_json, in its words.
            if text.is_some_and(|t| t.len() > MAX_ID_BYTES) {
                return None;
            }
            Some(text.map(|t| Id(Cow::Borrowed(t))))
        }
        /// An object's text as given (`null` is none).
        fn raw_field(raw: &str) -> Option<Raw<'_>> {
            (raw != "null").then_some(Raw(raw))
        }
        let quotes = crate::scan::Quotes::of(text);
        let mut scanner = match &quotes {
            Some(quotes) => Scanner::indexed(text, quotes),
            None => Scanner::new(text),
        };
        scanner.begin_object()?;
        // The fields given so far: a key given twice is an error serde_json words.
        let mut seen = 0u16;
        while let Some(key) = scanner.key()? {
            let s = &mut scanner;
            let bit = match key {
                "type" => {
                    message.kind = text_field(s)?;
                    0
                }
                "messageId" => {
                    message.message_id = id_field(s)?;
                    1
                }
                "userId" => {
                    message.user_id = id_field(s)?;
                    2
                }
                "anonymousId" => {
                    message.anonymous_id = id_field(s)?;
                    3
                }
                "event" => {
                    message.event = text_field(s)?;
                    4
                }
                "name" => {
                    message.name = text_field(s)?;
                    5
                }
                "groupId" => {
                    message.group_id = id_field(s)?;
                    6
                }
                "previousId" => {
                    message.previous_id = id_field(s)?;
                    7
                }
                "timestamp" => {
                    message.timestamp = text_field(s)?;
                    8
                }
                "originalTimestamp" => {
                    message.original_timestamp = text_field(s)?;
                    9
                }
                "sentAt" => {
                    message.sent_at = text_field(s)?;
                    10
                }
                "properties" => {
                    message.properties = raw_field(match numbers.as_deref_mut() {
                        Some(numbers) => {
                            s.raw_numbers(&mut |key, value| numbers.push((key, value)))?
                        }
                        None => s.raw()?,
                    });
                    11
                }
                "traits" => {
                    message.traits = raw_field(s.raw()?);
                    12
                }
                "context" => {
                    let (raw, group) = s.raw_and_text_of_key("groupId")?;
                    message.context = raw_field(raw);
                    message.context_group = scanned_group(group);
                    13
                }
                _ => {
                    s.raw()?;
                    continue;
                }
            };
            if seen & (1 << bit) != 0 {
                return None;
            }
            seen |= 1 << bit;
        }
        scanner.at_end().then_some(())
    }
}

/// A batch as sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IncomingBatch<'a> {
    #[serde(borrow)]
    batch: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    context: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sent_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    write_key: Option<Cow<'a, str>>,
}

/// A normalized event, owned. Its serde form is the record layout of logs written before
/// the binary one (still read by `record::decode`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Message type.
    #[serde(rename = "t")]
    pub kind: Kind,
    /// The sender's message id (generated when absent).
    #[serde(rename = "m")]
    pub message_id: String,
    /// The write key that sent it.
    #[serde(rename = "k")]
    pub source: u32,
    /// Known user id.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Anonymous id.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<String>,
    /// Event name: the `event` of a track, the `name` of a page or screen.
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The account: `groupId` of a group call, or `context.groupId`.
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// `previousId` of an alias.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub previous_id: Option<String>,
    /// When it happened, skew-corrected, in milliseconds since the Unix epoch.
    #[serde(rename = "ts")]
    pub timestamp_ms: i64,
    /// When the server received it, in milliseconds since the Unix epoch.
    #[serde(rename = "rx")]
    pub received_ms: i64,
    /// `properties`, raw.
    #[serde(rename = "pr", default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Box<RawValue>>,
    /// `traits`, raw.
    #[serde(rename = "tr", default, skip_serializing_if = "Option::is_none")]
    pub traits: Option<Box<RawValue>>,
    /// `context`, raw (batch context merged in).
    #[serde(rename = "cx", default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Box<RawValue>>,
}

impl StoredEvent {
    /// The same event as an `EventRef` that owns its parts (moved, not copied).
    pub fn into_ref(self) -> EventRef<'static> {
        let text = |value: Option<String>| value.map(Cow::Owned);
        let raw = |value: Option<Box<RawValue>>| {
            value.map(|raw| Cow::Owned(String::from(Box::<str>::from(raw))))
        };
        EventRef {
            kind: self.kind,
            message_id: Cow::Owned(self.message_id),
            source: self.source,
            user_id: text(self.user_id),
            anonymous_id: text(self.anonymous_id),
            event: text(self.event),
            group_id: text(self.group_id),
            previous_id: text(self.previous_id),
            timestamp_ms: self.timestamp_ms,
            received_ms: self.received_ms,
            properties: raw(self.properties),
            traits: raw(self.traits),
            context: raw(self.context),
        }
    }

    /// The same event, borrowed.
    pub fn as_ref(&self) -> EventRef<'_> {
        fn text(value: &Option<String>) -> Option<Cow<'_, str>> {
            value.as_deref().map(Cow::Borrowed)
        }
        fn raw(value: &Option<Box<RawValue>>) -> Option<Cow<'_, str>> {
            value.as_ref().map(|raw| Cow::Borrowed(raw.get()))
        }
        EventRef {
            kind: self.kind,
            message_id: Cow::Borrowed(&self.message_id),
            source: self.source,
            user_id: text(&self.user_id),
            anonymous_id: text(&self.anonymous_id),
            event: text(&self.event),
            group_id: text(&self.group_id),
            previous_id: text(&self.previous_id),
            timestamp_ms: self.timestamp_ms,
            received_ms: self.received_ms,
            properties: raw(&self.properties),
            traits: raw(&self.traits),
            context: raw(&self.context),
        }
    }
}

/// The numeric top-level properties of a message, read while the message is parsed, so
/// that the rollups need not read them again from the stored text. Read only where the
/// parse took the scanner's path and the properties hold no backslash: exactly where
/// [`EventRef::numeric_properties`] reads the stored text with the same scanner, so both
/// give the same numbers in the same order. Reused from message to message.
#[derive(Debug, Default)]
pub struct PropertyNumbers<'a> {
    read: bool,
    values: Vec<(&'a str, f64)>,
}

impl<'a> PropertyNumbers<'a> {
    /// The numbers, when they were read with the message.
    pub fn get(&self) -> Option<&[(&'a str, f64)]> {
        self.read.then_some(self.values.as_slice())
    }

    fn clear(&mut self) {
        self.read = false;
        self.values.clear();
    }
}

/// Whether the numeric properties of this properties text are read by the scanner (no
/// backslash in it) rather than by serde_json: the one rule both
/// [`EventRef::numeric_properties`] and the reading at parse time follow, so they agree.
fn numbers_by_scanner(properties: &str) -> bool {
    memchr::memchr(b'\\', properties.as_bytes()).is_none()
}

/// What a line of an import file adds to its parse: the message id for a message
/// without one, and where to read its numeric properties.
struct ImportLine<'f, 'a> {
    fallback_message_id: &'f dyn Fn() -> String,
    numbers: &'f mut PropertyNumbers<'a>,
}

/// A normalized event borrowed from where it was read (a request body, a file's line, a
/// log record): what parsing, the log's records and the rollups work on without copying.
/// `properties`, `traits` and `context` are JSON objects' text.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRef<'a> {
    /// Message type.
    pub kind: Kind,
    /// The sender's message id (generated when absent).
    pub message_id: Cow<'a, str>,
    /// The write key that sent it.
    pub source: u32,
    /// Known user id.
    pub user_id: Option<Cow<'a, str>>,
    /// Anonymous id.
    pub anonymous_id: Option<Cow<'a, str>>,
    /// Event name: the `event` of a track, the `name` of a page or screen.
    pub event: Option<Cow<'a, str>>,
    /// The account: `groupId` of a group call, or `context.groupId`.
    pub group_id: Option<Cow<'a, str>>,
    /// `previousId` of an alias.
    pub previous_id: Option<Cow<'a, str>>,
    /// When it happened, skew-corrected, in milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// When the server received it, in milliseconds since the Unix epoch.
    pub received_ms: i64,
    /// `properties`, JSON text.
    pub properties: Option<Cow<'a, str>>,
    /// `traits`, JSON text.
    pub traits: Option<Cow<'a, str>>,
    /// `context`, JSON text (batch context merged in).
    pub context: Option<Cow<'a, str>>,
}

impl EventRef<'_> {
    /// An owned copy (the JSON parts checked once more as they become raw values).
    pub fn to_stored(&self) -> StoredEvent {
        let text = |value: &Option<Cow<'_, str>>| value.as_deref().map(str::to_owned);
        let raw = |value: &Option<Cow<'_, str>>| {
            value
                .as_deref()
                .and_then(|text| RawValue::from_string(text.to_owned()).ok())
        };
        StoredEvent {
            kind: self.kind,
            message_id: self.message_id.clone().into_owned(),
            source: self.source,
            user_id: text(&self.user_id),
            anonymous_id: text(&self.anonymous_id),
            event: text(&self.event),
            group_id: text(&self.group_id),
            previous_id: text(&self.previous_id),
            timestamp_ms: self.timestamp_ms,
            received_ms: self.received_ms,
            properties: raw(&self.properties),
            traits: raw(&self.traits),
            context: raw(&self.context),
        }
    }
}

impl EventRef<'_> {
    /// The user key rollups count: the user id, else the anonymous id.
    pub fn user_key(&self) -> Option<&str> {
        self.user_id.as_deref().or(self.anonymous_id.as_deref())
    }

    /// The name rollups count it under: the track event; `Page Viewed` / `Screen Viewed`
    /// (or `Page Viewed: NAME`) for pages and screens; none for identify, group and alias.
    pub fn rollup_name(&self) -> Option<Cow<'_, str>> {
        match self.kind {
            Kind::Track => self.event.as_deref().map(Cow::Borrowed),
            Kind::Page => Some(Cow::Borrowed("Page Viewed")),
            Kind::Screen => Some(Cow::Borrowed("Screen Viewed")),
            _ => None,
        }
    }

    /// Calls `visit` with each numeric top-level property, for rollup sums. Other values are
    /// skipped without being built.
    pub fn numeric_properties(&self, visit: &mut dyn FnMut(&str, f64)) {
        /// A property value: its number when it is one, anything else skipped without
        /// building an error (most properties are strings).
        struct Number(Option<f64>);
        impl<'de> Deserialize<'de> for Number {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Value;
                impl<'de> serde::de::Visitor<'de> for Value {
                    type Value = Number;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("any value")
                    }
                    fn visit_f64<E>(self, v: f64) -> Result<Number, E> {
                        Ok(Number(Some(v)))
                    }
                    fn visit_i64<E>(self, v: i64) -> Result<Number, E> {
                        Ok(Number(Some(v as f64)))
                    }
                    fn visit_u64<E>(self, v: u64) -> Result<Number, E> {
                        Ok(Number(Some(v as f64)))
                    }
                    fn visit_str<E>(self, _: &str) -> Result<Number, E> {
                        Ok(Number(None))
                    }
                    fn visit_bool<E>(self, _: bool) -> Result<Number, E> {
                        Ok(Number(None))
                    }
                    fn visit_unit<E>(self) -> Result<Number, E> {
                        Ok(Number(None))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<Number, A::Error> {
                        while map
                            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                            .is_some()
                        {}
                        Ok(Number(None))
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> Result<Number, A::Error> {
                        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                        Ok(Number(None))
                    }
                }
                deserializer.deserialize_any(Value)
            }
        }
        struct Numbers<'v>(&'v mut dyn FnMut(&str, f64));
        impl<'de> serde::de::Visitor<'de> for Numbers<'_> {
            type Value = ();
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    if let Number(Some(value)) = map.next_value::<Number>()?
                        && value.is_finite()
                    {
                        (self.0)(&key, value);
                    }
                }
                Ok(())
            }
        }
        let Some(raw) = self.properties.as_deref() else {
            return;
        };
        // The scanner reads keys without escapes (nearly all); serde_json the others, so
        // no key is visited twice.
        if numbers_by_scanner(raw) {
            // On text already checked as JSON it stops early only at nesting deeper than it
            // follows; the keys before stand, as they do when serde_json meets a number
            // out of range.
            let _ = crate::scan::Scanner::new(raw).numbers(&mut |key, value| visit(key, value));
            return;
        }
        let mut deserializer = serde_json::Deserializer::from_str(raw);
        let _ = serde::Deserializer::deserialize_map(&mut deserializer, Numbers(visit));
    }
}

/// What a request needs to know besides its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// Server receive time, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Oldest acceptable event time, milliseconds (the late-arrival window).
    pub oldest_ms: Option<i64>,
    /// Latest acceptable event time, milliseconds.
    pub newest_ms: Option<i64>,
}

/// A write key found in a body (`writeKey`), to authenticate when no Basic header came.
pub fn body_write_key(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct KeyOnly<'a> {
        #[serde(rename = "writeKey", borrow, default)]
        write_key: Option<Cow<'a, str>>,
    }
    serde_json::from_slice::<KeyOnly<'_>>(body)
        .ok()
        .and_then(|k| k.write_key)
        .map(Cow::into_owned)
}

fn parse_instant(raw: &str, field: &str) -> Result<i64, MessageError> {
    if let Some(millis) = utc_instant(raw.as_bytes()) {
        return Ok(millis);
    }
    raw.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| MessageError::new(field, format!("'{raw}' is not an ISO 8601 timestamp")))
}

/// The milliseconds of the timestamp form SDKs send nearly always,
/// `YYYY-MM-DDTHH:MM:SS[.fraction]` then `Z` or `+00:00`, from 1970 on, read directly;
/// `None` for anything else (which jiff then reads, or rejects). Agrees with jiff on every
/// text it accepts (tested against it).
fn utc_instant(raw: &[u8]) -> Option<i64> {
    fn number(digits: &[u8]) -> Option<i64> {
        digits.iter().try_fold(0i64, |value, digit| {
            digit
                .is_ascii_digit()
                .then(|| value * 10 + i64::from(digit - b'0'))
        })
    }
    let (head, rest) = raw.split_at_checked(19)?;
    if [head[4], head[7], head[10], head[13], head[16]] != *b"--T::" {
        return None;
    }
    let (year, month, day) = (
        number(&head[..4])?,
        number(&head[5..7])?,
        number(&head[8..10])?,
    );
    let (hour, minute, second) = (
        number(&head[11..13])?,
        number(&head[14..16])?,
        number(&head[17..19])?,
    );
    let (fraction, zone) = match rest.split_first() {
        Some((b'.', after)) => {
            let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
            if !(1..=9).contains(&digits) {
                return None;
            }
            // Milliseconds: the first three digits, the missing ones as zeros.
            let kept = digits.min(3);
            let millis = number(&after[..kept])? * 10i64.pow((3 - kept) as u32);
            (millis, &after[digits..])
        }
        _ => (0, rest),
    };
    if zone != b"Z" && zone != b"+00:00" {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if year < 1970 || !(1..=month_days).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days since the epoch of a proleptic Gregorian date (the era-based civil-from-days
    // inverse: eras of 400 years starting in March).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + fraction)
}

/// The body as text; JSON is UTF-8 (checked with SIMD: a file's every byte passes here).
fn text_of(body: &[u8]) -> Result<&str, MessageError> {
    simdutf8::basic::from_utf8(body)
        .map_err(|_| MessageError::new("", "malformed JSON: the body is not UTF-8"))
}

fn json_error(error: &serde_json::Error) -> String {
    error
        .to_string()
        .split(" at line ")
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Parses one message of a given endpoint type (`None` for a batch element, which must
/// name its own `type`). `batch_context` and `batch_sent_at` come from the batch envelope.
fn normalize<'a>(
    text: &'a str,
    endpoint: Option<Kind>,
    batch_context: Option<&'a RawValue>,
    batch_sent_at: Option<&str>,
    source: u32,
    received: Received,
    import: Option<ImportLine<'_, 'a>>,
) -> Result<EventRef<'a>, MessageError> {
    let (fallback_message_id, mut numbers) = match import {
        Some(line) => (Some(line.fallback_message_id), Some(line.numbers)),
        None => (None, None),
    };
    if let Some(numbers) = numbers.as_deref_mut() {
        numbers.clear();
    }
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(MessageError::new(
            "",
            format!("a message must be at most {MAX_MESSAGE_BYTES} bytes"),
        ));
    }
    if !text.trim_start().starts_with('{') {
        if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
            return Err(MessageError::new("", "malformed JSON"));
        }
        return Err(MessageError::new("", "a message must be a JSON object"));
    }
    // One parse: the message's own fields borrowed, the nested objects kept raw. The
    // scanner reads the usual shape; serde_json reads (or refuses, in its words) the rest.
    let mut message = Incoming::default();
    let scanned = Incoming::scan(
        text,
        numbers.as_deref_mut().map(|n| &mut n.values),
        &mut message,
    )
    .is_some();
    if let Some(numbers) = numbers {
        // Read as `EventRef::numeric_properties` would read them from the stored text: by
        // the scanner when the properties hold no backslash.
        numbers.read = scanned
            && message
                .properties
                .as_ref()
                .is_none_or(|raw| numbers_by_scanner(raw.get()));
        if !numbers.read {
            numbers.values.clear();
        }
    }
    if !scanned {
        message = serde_json::from_str::<Incoming<'a>>(text).map_err(|e| {
            let reason = json_error(&e);
            let reason = if e.is_syntax() || e.is_eof() {
                format!("malformed JSON: {reason}")
            } else {
                reason
            };
            MessageError::new("", reason)
        })?;
    }
    let kind = match (&message.kind, endpoint) {
        (Some(kind), _) => Kind::parse(kind).ok_or_else(|| {
            MessageError::new(
                "type",
                format!("'{kind}' is not one of: track, identify, group, page, screen, alias"),
            )
        })?,
        (None, Some(kind)) => kind,
        (None, None) => return Err(MessageError::new("type", "is required in a batch")),
    };
    if let Some(endpoint) = endpoint.filter(|e| *e != kind) {
        return Err(MessageError::new(
            "type",
            format!(
                "'{}' sent to the {} endpoint",
                kind.as_str(),
                endpoint.as_str()
            ),
        ));
    }
    let user_id = message.user_id.map(|id| id.0).filter(|id| !id.is_empty());
    let anonymous_id = message
        .anonymous_id
        .map(|id| id.0)
        .filter(|id| !id.is_empty());
    if user_id.is_none() && anonymous_id.is_none() {
        return Err(MessageError::new(
            "userId",
            "a message needs userId or anonymousId",
        ));
    }
    let event = match kind {
        Kind::Track => {
            let event = message
                .event
                .filter(|e| !e.trim().is_empty())
                .ok_or_else(|| MessageError::new("event", "a track call needs an event name"))?;
            if event.len() > 256 {
                return Err(MessageError::new("event", "must be at most 256 bytes"));
            }
            Some(event)
        }
        Kind::Page | Kind::Screen => message.name,
        _ => None,
    };
    let context: Option<Cow<'a, str>> = match (message.context, batch_context) {
        (None, Some(shared)) => Some(Cow::Borrowed(shared.get())),
        (Some(own), Some(shared)) => Some(Cow::Owned(merge_objects(shared.get(), own.get()))),
        (own, None) => own.map(|own| Cow::Borrowed(own.get())),
    };
    let context_group = match (&context, message.context_group) {
        // Read with the message's own context, which is the whole context.
        (Some(Cow::Borrowed(_)), Some(group)) if batch_context.is_none() => {
            group.map(Cow::Borrowed)
        }
        (Some(Cow::Borrowed(text)), _) => group_in(text),
        (Some(Cow::Owned(text)), _) => group_in(text).map(|group| Cow::Owned(group.into_owned())),
        (None, _) => None,
    };
    let group_id = match kind {
        Kind::Group => Some(
            message
                .group_id
                .map(|id| id.0)
                .filter(|id| !id.is_empty())
                .ok_or_else(|| MessageError::new("groupId", "a group call needs a groupId"))?,
        ),
        _ => message.group_id.map(|id| id.0).or(context_group),
    };
    let previous_id =
        match kind {
            Kind::Alias => Some(message.previous_id.map(|id| id.0).ok_or_else(|| {
                MessageError::new("previousId", "an alias call needs a previousId")
            })?),
            _ => None,
        };
    for (name, value) in [
        ("properties", message.properties),
        ("traits", message.traits),
        ("context", message.context),
    ] {
        if let Some(value) =
            value.filter(|v| !v.get().trim_start().starts_with('{') && v.get() != "null")
        {
            return Err(MessageError::new(
                name,
                format!(
                    "must be an object, got {}",
                    value.get().chars().take(40).collect::<String>()
                ),
            ));
        }
    }
    let sent_at = message
        .sent_at
        .as_deref()
        .or(batch_sent_at)
        .map(|raw| parse_instant(raw, "sentAt"))
        .transpose()?;
    let original = message
        .original_timestamp
        .as_deref()
        .map(|raw| parse_instant(raw, "originalTimestamp"))
        .transpose()?;
    let timestamp = message
        .timestamp
        .as_deref()
        .map(|raw| parse_instant(raw, "timestamp"))
        .transpose()?;
    // Clock-skew correction as Segment does it: the client's clock is trusted for the
    // interval between the event and the send, the server's for the send itself.
    let timestamp_ms = match (original.or(timestamp), sent_at) {
        (Some(happened), Some(sent)) => received.at_ms - (sent - happened),
        (Some(happened), None) => happened,
        (None, _) => received.at_ms,
    };
    if received
        .oldest_ms
        .is_some_and(|oldest| timestamp_ms < oldest)
    {
        return Err(MessageError::new(
            "timestamp",
            "is older than the late-arrival window; send history with `mikawaya import events`",
        ));
    }
    if received
        .newest_ms
        .is_some_and(|newest| timestamp_ms > newest)
    {
        return Err(MessageError::new("timestamp", "is too far in the future"));
    }
    let message_id = match message
        .message_id
        .map(|id| id.0)
        .filter(|id| !id.is_empty())
    {
        Some(id) => id,
        None => {
            Cow::Owned(fallback_message_id.map_or_else(generated_message_id, |fallback| fallback()))
        }
    };
    let raw = |value: Option<Raw<'a>>| {
        value
            .filter(|v| v.get() != "null")
            .map(|v| Cow::Borrowed(v.get()))
    };
    Ok(EventRef {
        kind,
        message_id,
        source,
        user_id,
        anonymous_id,
        event,
        group_id,
        previous_id,
        timestamp_ms,
        received_ms: received.at_ms,
        properties: raw(message.properties),
        traits: raw(message.traits),
        context,
    })
}

/// A context's `groupId` as the scanner read it with the context
/// ([`crate::scan::Scanner::raw_and_text_of_key`]), where that is the answer: `None` leaves
/// it to serde_json, which also reads what the scanner cannot and leaves an id over the
/// length limit unread.
fn scanned_group(found: Option<Option<&str>>) -> Option<Option<&str>> {
    found.filter(|id| id.is_none_or(|id| id.len() <= MAX_ID_BYTES))
}

/// `groupId` of a context object (text already checked to be a JSON object), read only
/// when the text names one.
fn group_in(context: &str) -> Option<Cow<'_, str>> {
    static KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"groupId\""));
    KEY.find(context.as_bytes())?;
    let scanned = crate::scan::Scanner::new(context)
        .raw_and_text_of_key("groupId")
        .and_then(|(_, found)| scanned_group(found));
    match scanned {
        Some(found) => found.map(Cow::Borrowed),
        None => group_in_by_serde(context),
    }
}

/// [`group_in`] by serde_json alone.
fn group_in_by_serde(context: &str) -> Option<Cow<'_, str>> {
    /// Walks the object's keys until `groupId`, keeping its value in `found`.
    struct Finder<'a, 'f>(&'f mut Option<Cow<'a, str>>);
    impl<'a> serde::de::Visitor<'a> for Finder<'a, '_> {
        type Value = ();
        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("an object")
        }
        fn visit_map<M: serde::de::MapAccess<'a>>(self, mut map: M) -> Result<(), M::Error> {
            while let Some(Key(key)) = map.next_key::<Key<'a>>()? {
                if key == "groupId" {
                    *self.0 = map.next_value::<Option<Id<'a>>>()?.map(|id| id.0);
                    // Stopping here leaves the object unfinished: the caller ignores the
                    // error that makes, the value is already kept.
                    return Ok(());
                }
                map.next_value::<serde::de::IgnoredAny>()?;
            }
            Ok(())
        }
    }
    let mut found = None;
    let mut deserializer = serde_json::Deserializer::from_str(context);
    let _ = serde::Deserializer::deserialize_map(&mut deserializer, Finder(&mut found));
    found
}

/// The batch's shared context under the message's own (the message's keys win), as text.
fn merge_objects(shared: &str, own: &str) -> String {
    let parsed = (
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(shared),
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(own),
    );
    match parsed {
        (Ok(mut merged), Ok(own_map)) => {
            merged.extend(own_map);
            serde_json::to_string(&merged).unwrap_or_else(|_| own.to_owned())
        }
        _ => own.to_owned(),
    }
}

fn generated_message_id() -> String {
    use rand::Rng;
    format!("mikawaya-{:032x}", rand::rng().random::<u128>())
}

/// Parses the body of a single-message endpoint into an owned event.
pub fn parse_single(
    body: &[u8],
    kind: Kind,
    source: u32,
    received: Received,
) -> Result<StoredEvent, MessageError> {
    parse_single_ref(body, kind, source, received).map(|event| event.to_stored())
}

/// Parses a `/v1/batch` body into owned events: every message must be valid, or none is
/// accepted.
pub fn parse_batch(
    body: &[u8],
    source: u32,
    received: Received,
) -> Result<Vec<StoredEvent>, MessageError> {
    parse_batch_ref(body, source, received)
        .map(|events| events.iter().map(EventRef::to_stored).collect())
}

/// Parses the body of a single-message endpoint, borrowing from it.
pub fn parse_single_ref(
    body: &[u8],
    kind: Kind,
    source: u32,
    received: Received,
) -> Result<EventRef<'_>, MessageError> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(MessageError::new(
            "",
            format!("a message must be at most {MAX_MESSAGE_BYTES} bytes"),
        ));
    }
    normalize(
        text_of(body)?,
        Some(kind),
        None,
        None,
        source,
        received,
        None,
    )
}

/// Parses a `/v1/batch` body, borrowing from it: every message must be valid, or none is
/// accepted.
pub fn parse_batch_ref(
    body: &[u8],
    source: u32,
    received: Received,
) -> Result<Vec<EventRef<'_>>, MessageError> {
    let parsed = parse_batch_each(body, source, received)?;
    match parsed.refused.into_iter().next() {
        Some(error) => Err(error),
        None => Ok(parsed.accepted),
    }
}

/// A batch's messages, each valid one parsed and each other refused with its reason.
#[derive(Debug)]
pub struct BatchParts<'a> {
    /// The valid messages, in order.
    pub accepted: Vec<EventRef<'a>>,
    /// Why each other message was refused (its field starts `batch[INDEX]`).
    pub refused: Vec<MessageError>,
}

/// Parses a `/v1/batch` body message by message, as Segment does: one invalid (or too old)
/// message does not refuse the others. An envelope that is not a batch is an error.
pub fn parse_batch_each(
    body: &[u8],
    source: u32,
    received: Received,
) -> Result<BatchParts<'_>, MessageError> {
    if body.len() > MAX_BATCH_BYTES {
        return Err(MessageError::new(
            "batch",
            format!("a batch must be at most {MAX_BATCH_BYTES} bytes"),
        ));
    }
    let envelope: IncomingBatch<'_> = serde_json::from_slice(body)
        .map_err(|e| MessageError::new("", format!("malformed JSON: {}", json_error(&e))))?;
    let _ = envelope.write_key;
    if envelope
        .context
        .is_some_and(|c| !c.get().trim_start().starts_with('{'))
    {
        return Err(MessageError::new("context", "must be an object"));
    }
    let mut parts = BatchParts {
        accepted: Vec::with_capacity(envelope.batch.len()),
        refused: Vec::new(),
    };
    for (index, raw) in envelope.batch.iter().enumerate() {
        match normalize(
            raw.get(),
            None,
            envelope.context,
            envelope.sent_at.as_deref(),
            source,
            received,
            None,
        ) {
            Ok(event) => parts.accepted.push(event),
            Err(error) => parts.refused.push(error.within(&format!("batch[{index}]"))),
        }
    }
    Ok(parts)
}

/// Parses one line of an NDJSON import (a message with its own `type`), without a
/// late-arrival window. A message without `messageId` gets the id `fallback_message_id`
/// makes (called only then), so importing the same file twice stores it once. The
/// numeric properties are read into `numbers` in the same walk when they can be (see
/// [`PropertyNumbers`]).
pub fn parse_import_line<'a>(
    line: &'a [u8],
    source: u32,
    received_ms: i64,
    fallback_message_id: &dyn Fn() -> String,
    numbers: &mut PropertyNumbers<'a>,
) -> Result<EventRef<'a>, MessageError> {
    let text = text_of(line)?;
    let received = Received {
        at_ms: received_ms,
        oldest_ms: None,
        newest_ms: None,
    };
    normalize(
        text,
        None,
        None,
        None,
        source,
        received,
        Some(ImportLine {
            fallback_message_id,
            numbers,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECEIVED: Received = Received {
        at_ms: 1_767_225_600_000,
        oldest_ms: None,
        newest_ms: None,
    };

    fn field_of(result: Result<Vec<StoredEvent>, MessageError>) -> String {
        match result {
            Err(error) => error.field,
            Ok(events) => panic!("accepted {} events", events.len()),
        }
    }

    /// Messages in the shapes SDKs send, and some they rarely do.
    const SHAPES: [&str; 12] = [
        r#"{"type":"track","messageId":"bench-000000001","userId":"user-1","event":"Report Exported","properties":{"rows":1,"duration_ms":31,"plan":"pro","path":"/reports/1"},"context":{"groupId":"ACC-00001","library":{"name":"analytics-python","version":"2.4.0"},"ip":"192.0.2.10","locale":"ja-JP"},"timestamp":"2026-11-20T01:02:03.456Z"}"#,
        r#"{"type":"identify","userId":"u-1","traits":{"email":"a@example.com","name":"山田 太郎","title":"部長","nested":{"a":[1,2,{"b":null}]}},"sentAt":"2026-01-01T00:00:00+00:00"}"#,
        r#" { "type" : "page" , "anonymousId" : "anon-7" , "name" : "Pricing" , "properties" : { "url" : "https://example.com/pricing?q=1" } } "#,
        r#"{"type":"group","userId":"u-2","groupId":"ACC-2","traits":{"name":"Acme","employees":120,"plan":null}}"#,
        r#"{"type":"alias","userId":"u-3","previousId":"anon-3","originalTimestamp":"2026-02-03T04:05:06Z","timestamp":"2026-02-03T04:05:07Z"}"#,
        r#"{"type":"track","userId":42,"messageId":1.5e3,"event":"Number Ids"}"#,
        r#"{"type":"track","userId":"u\"4","event":"Quoted \"Name\"","properties":{"k\u00e9y":"v\\al"}}"#,
        r#"{"type":"track","user\u0049d":"u-5","event":"Escaped Key"}"#,
        r#"{"type":"track","userId":"u-6","event":"Dup","event":"Twice"}"#,
        r#"{"type":"screen","userId":null,"anonymousId":"a","name":null,"properties":null,"context":null,"extra":[true,false,-0.5e-3,{"x":[]}]}"#,
        r#"{"type":"track","userId":"u-7","event":"E","properties":{"a":1,"b":-2.25,"c":"3","d":[4],"e":{"f":5},"g":1e400}}"#,
        r#"{"type":"track","userId":"u-8","event":"Trailing"} x"#,
    ];

    /// Whether the scanner read `text` (both with and without reading the numeric
    /// properties in the same walk); whatever it reads, serde_json reads the same.
    fn scanned_matches_serde(text: &str) -> bool {
        let mut numbers = Vec::new();
        let mut read = false;
        let scan = |numbers: Option<&mut Vec<_>>| {
            let mut message = Incoming::default();
            Incoming::scan(text, numbers, &mut message).map(|()| message)
        };
        for mut scanned in [scan(None), scan(Some(&mut numbers))].into_iter().flatten() {
            read = true;
            // The context's groupId, when the scanner read it, is what serde_json reads.
            if let (Some(group), Some(context)) = (scanned.context_group.take(), &scanned.context) {
                let by_serde = group_in_by_serde(context.get());
                assert_eq!(group, by_serde.as_deref(), "{text}");
            }
            match serde_json::from_str::<Incoming<'_>>(text) {
                Ok(parsed) => assert_eq!(scanned, parsed, "{text}"),
                Err(error) => {
                    panic!("the scanner accepted what serde_json refuses ({error}): {text}")
                }
            }
        }
        read
    }

    #[test]
    fn the_scanner_reads_exactly_what_serde_json_reads_or_leaves_it_to_serde_json() {
        let read: Vec<bool> = SHAPES
            .iter()
            .map(|text| scanned_matches_serde(text))
            .collect();
        // The usual shapes take the fast path; escapes, number ids, duplicates and
        // malformed text are left to serde_json.
        assert_eq!(
            read,
            [
                true, true, true, true, true, false, false, false, false, true, true, false
            ]
        );
        // Every message damaged one byte at a time (removed, doubled, or replaced by or
        // preceded with a byte that matters to JSON): whatever the scanner accepts,
        // serde_json accepts with the same fields.
        let (mut tried, mut accepted) = (0, 0);
        for text in SHAPES.iter().flat_map(|shape| damaged(shape)) {
            tried += 1;
            accepted += usize::from(scanned_matches_serde(&text));
        }
        assert!(
            tried > 30_000 && accepted > 1_000,
            "{tried} tried, {accepted} accepted"
        );
    }

    /// A message damaged one byte at a time in every way that matters to JSON (the byte
    /// removed, doubled, or replaced by or preceded with a special byte), where it is
    /// still UTF-8.
    fn damaged(shape: &str) -> Vec<String> {
        let specials = b",:\"\\{}[] 0-e.nt\x01/u";
        let bytes = shape.as_bytes();
        let mut variants = Vec::new();
        for at in 0..bytes.len() {
            variants.push([&bytes[..at], &bytes[at + 1..]].concat());
            variants.push([&bytes[..=at], &bytes[at..]].concat());
            for special in specials {
                variants.push([&bytes[..at], &[*special], &bytes[at + 1..]].concat());
                variants.push([&bytes[..at], &[*special], &bytes[at..]].concat());
            }
        }
        variants
            .into_iter()
            .filter_map(|variant| String::from_utf8(variant).ok())
            .collect()
    }

    #[test]
    fn numbers_read_with_the_message_are_those_the_rollups_read_from_its_text() {
        let (mut parsed, mut read) = (0, 0);
        let with_properties = [
            r#"{"type":"track","userId":"u","event":"E","properties":{"a":1,"b":"2","c":{"d":3},"e":-0.5e2,"f":1e400,"g":7}}"#,
            r#"{"type":"track","userId":"u","event":"E","properties":{"path":"C:\\x","n":4}}"#,
            r#"{"type":"track","userId":"u","event":"E","properties":{"k\u00e9y":2,"n":4}}"#,
            r#"{"type":"track","userId":"u","event":"E","properties":null}"#,
        ];
        for text in SHAPES
            .iter()
            .chain(&with_properties)
            .flat_map(|shape| std::iter::once(shape.to_string()).chain(damaged(shape)))
        {
            let mut numbers = PropertyNumbers::default();
            let Ok(event) = parse_import_line(
                text.as_bytes(),
                0,
                RECEIVED.at_ms,
                &String::new,
                &mut numbers,
            ) else {
                continue;
            };
            parsed += 1;
            let Some(got) = numbers.get() else { continue };
            read += 1;
            let mut expected = Vec::new();
            event.numeric_properties(&mut |key, value| expected.push((key.to_owned(), value)));
            let got: Vec<(String, f64)> = got.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
            assert_eq!(got, expected, "{text}");
        }
        assert!(
            parsed > 1_000 && read > 1_000,
            "{parsed} parsed, {read} read"
        );
        // Escapes in the properties leave the numbers to be read from the text.
        for (text, expected) in with_properties.iter().zip([Some(3), None, None, Some(0)]) {
            let mut numbers = PropertyNumbers::default();
            assert!(parse_import_line(text.as_bytes(), 0, 0, &String::new, &mut numbers).is_ok());
            assert_eq!(numbers.get().map(<[_]>::len), expected, "{text}");
        }
    }

    #[test]
    fn the_context_group_is_the_same_by_the_scanner_and_by_serde_json() {
        let long = format!(r#"{{"groupId":"{}"}}"#, "g".repeat(1025));
        let contexts = [
            r#"{"groupId":"ACC-1","library":{"name":"x"}}"#,
            r#"{"library":{"groupId":"inner"},"groupId":"outer"}"#,
            r#"{"ip":"192.0.2.1","groupId":null}"#,
            r#"{"groupId":42}"#,
            r#"{"groupId":"a\"b"}"#,
            r#"{"group\u0049d":"escaped key","groupId":"later"}"#,
            r#"{"note":"mentions \"groupId\" in text"}"#,
            r#"{"groupId":"first","groupId":"second"}"#,
            r#"{"groupId":{"nested":true}}"#,
            r#" { "groupId" : "spaced" } "#,
            long.as_str(),
        ];
        let found: Vec<Option<String>> = contexts
            .iter()
            .map(|context| {
                let fast = group_in(context).map(Cow::into_owned);
                let by_serde = group_in_by_serde(context).map(Cow::into_owned);
                assert_eq!(fast, by_serde, "{context}");
                // Read with a whole message: the scanner reads it with the context.
                let line =
                    format!(r#"{{"type":"track","event":"e","userId":"u","context":{context}}}"#);
                let read = parse_import_line(
                    line.as_bytes(),
                    0,
                    0,
                    &String::new,
                    &mut PropertyNumbers::default(),
                )
                .unwrap_or_else(|e| panic!("{line}: {e:?}"));
                assert_eq!(read.group_id.map(Cow::into_owned), by_serde, "{line}");
                fast
            })
            .collect();
        assert_eq!(found[0].as_deref(), Some("ACC-1"));
        assert_eq!(found[1].as_deref(), Some("outer"));
        assert_eq!(found[3].as_deref(), Some("42"));
        assert_eq!(found[5].as_deref(), Some("escaped key"));
        assert_eq!(found[7].as_deref(), Some("first"));
        assert_eq!(found[10], None);
    }

    #[test]
    fn numeric_properties_are_the_same_by_the_scanner_and_by_serde_json() {
        let numbers = |properties: &str| {
            let event = EventRef {
                kind: Kind::Track,
                message_id: Cow::Borrowed("m"),
                source: 1,
                user_id: Some(Cow::Borrowed("u")),
                anonymous_id: None,
                event: Some(Cow::Borrowed("E")),
                group_id: None,
                previous_id: None,
                timestamp_ms: 0,
                received_ms: 0,
                properties: Some(Cow::Borrowed(properties)),
                traits: None,
                context: None,
            };
            let mut found = Vec::new();
            event.numeric_properties(&mut |key, value| found.push((key.to_owned(), value)));
            found
        };
        // A number too large for a float is skipped; the keys after it still count.
        assert_eq!(
            numbers(r#"{"a":1,"g":1e400,"h":2}"#),
            [("a".to_owned(), 1.0), ("h".to_owned(), 2.0)]
        );
        for properties in [
            r#"{"a":1,"b":-2.25,"c":"3","d":[4],"e":{"f":5},"h":0.1,"i":12345678901234567890,"j":-0,"k":true}"#,
            r#"{}"#,
            r#"{"only":"text"}"#,
            r#" { "spaced" : 7 , "x" : null } "#,
            r#"{"k\u00e9y":2,"plain":3}"#,
        ] {
            let fast = numbers(properties);
            let expected: Vec<(String, f64)> =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(properties)
                    .map(|map| {
                        map.into_iter()
                            .filter_map(|(key, value)| value.as_f64().map(|v| (key, v)))
                            .filter(|(_, v)| v.is_finite())
                            .collect()
                    })
                    .unwrap_or_default();
            assert_eq!(fast, expected, "{properties}");
        }
    }

    #[test]
    fn the_direct_timestamp_reading_agrees_with_jiff() {
        let jiff_millis = |text: &str| {
            text.parse::<jiff::Timestamp>()
                .ok()
                .map(|t| t.as_millisecond())
        };
        // Instants spread over 1970..9999 (a fixed pseudo-random walk), each written the
        // ways SDKs write them: every fraction length, `Z` and `+00:00`.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let seconds = (state >> 1) % 253_402_300_799;
            let instant =
                jiff::Timestamp::from_second(seconds as i64).unwrap_or_else(|e| panic!("{e}"));
            let whole = instant.strftime("%Y-%m-%dT%H:%M:%S").to_string();
            let fraction = format!("{:09}", (state >> 7) % 1_000_000_000);
            for digits in 0..=9 {
                for zone in ["Z", "+00:00"] {
                    let text = if digits == 0 {
                        format!("{whole}{zone}")
                    } else {
                        format!("{whole}.{}{zone}", &fraction[..digits])
                    };
                    let direct = utc_instant(text.as_bytes());
                    assert!(direct.is_some(), "{text} not read directly");
                    assert_eq!(direct, jiff_millis(&text), "{text}");
                }
            }
        }
        // Other forms are left to jiff (which reads or rejects them); never a wrong number.
        for text in [
            "2024-02-29T12:00:00Z",
            "2023-02-29T12:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-04-31T00:00:00Z",
            "2023-01-01T24:00:00Z",
            "2023-01-01T23:60:00Z",
            "2016-12-31T23:59:60Z",
            "1969-12-31T23:59:59.999Z",
            "2023-01-01T00:00:00",
            "2023-01-01T00:00:00.Z",
            "2023-01-01T00:00:00.1234567890Z",
            "2023-01-01T09:00:00+09:00",
            "2023-01-01 00:00:00Z",
            "2023-01-01T00:00:00z",
            "2023-01-01T00:00:00,5Z",
            "2023-01-01T00:00:00Z[UTC]",
            "+2023-01-01T00:00:00Z",
            "2023-1-01T00:00:00Z",
        ] {
            if let Some(direct) = utc_instant(text.as_bytes()) {
                assert_eq!(Some(direct), jiff_millis(text), "{text}");
            }
        }
        assert_eq!(
            utc_instant(b"2024-02-29T12:00:00Z"),
            jiff_millis("2024-02-29T12:00:00Z")
        );
        assert_eq!(utc_instant(b"2023-02-29T12:00:00Z"), None);
        assert_eq!(utc_instant(b"1969-12-31T23:59:59.999Z"), None);
    }

    #[test]
    fn a_skewed_client_clock_is_corrected_by_sent_at() {
        // The client clock runs 10 minutes fast: it stamps the event at 12:00 and the send
        // at 12:01; the server receives at its 11:51 (RECEIVED), so the event was at 11:50.
        let body = br#"{"batch":[{"type":"track","userId":"u","event":"E","timestamp":"2026-01-01T00:00:00Z"}],"sentAt":"2026-01-01T00:01:00Z"}"#;
        let events = parse_batch(body, 1, RECEIVED).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(events[0].timestamp_ms, RECEIVED.at_ms - 60_000);
        let plain = parse_single(
            br#"{"userId":"u","event":"E","timestamp":"2026-01-01T00:00:00Z"}"#,
            Kind::Track,
            1,
            RECEIVED,
        );
        assert_eq!(plain.map(|e| e.timestamp_ms).ok(), Some(1_767_225_600_000));
        let none = parse_single(br#"{"userId":"u","event":"E"}"#, Kind::Track, 1, RECEIVED);
        assert_eq!(none.map(|e| e.timestamp_ms).ok(), Some(RECEIVED.at_ms));
    }

    #[test]
    fn every_rule_of_the_spec_names_its_field() {
        let cases: [(&[u8], &str); 8] = [
            (
                br#"{"batch":[{"type":"track","event":"E"}]}"#,
                "batch[0].userId",
            ),
            (
                br#"{"batch":[{"type":"track","userId":"u"}]}"#,
                "batch[0].event",
            ),
            (
                br#"{"batch":[{"type":"launch","userId":"u"}]}"#,
                "batch[0].type",
            ),
            (br#"{"batch":[{"userId":"u"}]}"#, "batch[0].type"),
            (
                br#"{"batch":[{"type":"group","userId":"u"}]}"#,
                "batch[0].groupId",
            ),
            (
                br#"{"batch":[{"type":"alias","userId":"u"}]}"#,
                "batch[0].previousId",
            ),
            (
                br#"{"batch":[{"type":"track","userId":"u","event":"E","timestamp":"noon"}]}"#,
                "batch[0].timestamp",
            ),
            (
                br#"{"batch":[{"type":"track","userId":"u","event":"E","properties":[1]}]}"#,
                "batch[0].properties",
            ),
        ];
        for (body, field) in cases {
            assert_eq!(
                field_of(parse_batch(body, 1, RECEIVED)),
                field,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn the_batch_context_is_shared_and_numbers_are_ids() {
        let body = br#"{"batch":[{"type":"track","userId":42,"event":"E","context":{"ip":"1.2.3.4"}}],"context":{"groupId":"acme","library":{"name":"x"}}}"#;
        let events = parse_batch(body, 1, RECEIVED).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(events[0].user_id.as_deref(), Some("42"));
        let context: serde_json::Value =
            serde_json::from_str(events[0].context.as_ref().map_or("{}", |c| c.get()))
                .unwrap_or_default();
        assert_eq!(context["ip"], "1.2.3.4");
        assert_eq!(context["library"]["name"], "x");
        assert_eq!(
            events[0].group_id.as_deref(),
            Some("acme"),
            "the shared context attributes the message"
        );
    }

    #[test]
    fn the_context_group_is_its_top_level_group_id_wherever_it_stands() {
        let group_of = |context: &str| {
            let line =
                format!(r#"{{"type":"track","userId":"u","event":"E","context":{context}}}"#);
            parse_import_line(
                line.as_bytes(),
                0,
                RECEIVED.at_ms,
                &String::new,
                &mut PropertyNumbers::default(),
            )
            .map(|event| event.group_id.map(Cow::into_owned))
            .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(group_of(r#"{"groupId":"ACME"}"#).as_deref(), Some("ACME"));
        assert_eq!(
            group_of(r#"{"ip":"192.0.2.1","library":{"name":"x","groupId":"NOT"},"groupId":"ACME","locale":"ja"}"#)
                .as_deref(),
            Some("ACME")
        );
        assert_eq!(group_of(r#"{"library":{"groupId":"NESTED"}}"#), None);
        assert_eq!(group_of(r#"{"groupId":1234}"#).as_deref(), Some("1234"));
        assert_eq!(group_of(r#"{"note":"\"groupId\""}"#), None);
        assert_eq!(group_of(r#"{"groupId":null}"#), None);
    }

    #[test]
    fn oversize_messages_and_batches_are_refused() {
        let big = format!(
            r#"{{"userId":"u","event":"E","properties":{{"x":"{}"}}}}"#,
            "a".repeat(MAX_MESSAGE_BYTES)
        );
        assert!(parse_single(big.as_bytes(), Kind::Track, 1, RECEIVED).is_err());
        let message = format!(
            r#"{{"type":"track","userId":"u","event":"E","properties":{{"x":"{}"}}}}"#,
            "a".repeat(20_000)
        );
        let batch = format!(r#"{{"batch":[{}]}}"#, vec![message; 30].join(","));
        assert_eq!(
            field_of(parse_batch(batch.as_bytes(), 1, RECEIVED)),
            "batch"
        );
    }
}
