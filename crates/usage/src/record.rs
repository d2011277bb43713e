//! The payload of an event's log record: a compact binary layout written by copying the
//! event's parts, read back by borrowing them (no JSON is built or parsed on either side).
//!
//! ```text
//! tag (1) = 0xB1 · kind (1) · presence bits (1) · source u32 · timestamp_ms i64 ·
//! received_ms i64 · message_id · then each present optional part, in the order of
//! PARTS, as u32 length + UTF-8 bytes (little-endian throughout)
//! ```
//!
//! Logs written before this layout hold one JSON object per record (`{` first); they are
//! still read: [`decode`] parses them into an owned event.

use crate::message::{EventRef, Kind, StoredEvent};
use std::borrow::Cow;

/// The first byte of a binary record (a JSON record starts with `{`).
const TAG: u8 = 0xB1;
/// Bytes before the message id.
const FIXED: usize = 1 + 1 + 1 + 4 + 8 + 8;

fn kind_code(kind: Kind) -> u8 {
    match kind {
        Kind::Track => 0,
        Kind::Identify => 1,
        Kind::Group => 2,
        Kind::Page => 3,
        Kind::Screen => 4,
        Kind::Alias => 5,
    }
}

fn kind_of(code: u8) -> Option<Kind> {
    Some(match code {
        0 => Kind::Track,
        1 => Kind::Identify,
        2 => Kind::Group,
        3 => Kind::Page,
        4 => Kind::Screen,
        5 => Kind::Alias,
        _ => return None,
    })
}

/// The index of `context` among the optional parts.
const CONTEXT: usize = 7;
/// The index of `properties` among the optional parts.
const PROPERTIES: usize = 5;
/// The index of `traits` among the optional parts.
const TRAITS: usize = 6;

/// The optional parts in record order.
fn parts<'e, 'a>(event: &'e EventRef<'a>) -> [&'e Option<Cow<'a, str>>; 8] {
    [
        &event.user_id,
        &event.anonymous_id,
        &event.event,
        &event.group_id,
        &event.previous_id,
        &event.properties,
        &event.traits,
        &event.context,
    ]
}

/// The bytes `encode` will append for an event.
pub fn encoded_len(event: &EventRef<'_>) -> usize {
    FIXED
        + 4
        + event.message_id.len()
        + parts(event)
            .iter()
            .map(|part| part.as_ref().map_or(0, |text| 4 + text.len()))
            .sum::<usize>()
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// Appends an event's record payload to `out`.
pub fn encode(event: &EventRef<'_>, out: &mut Vec<u8>) {
    let parts = parts(event);
    let presence = parts.iter().enumerate().fold(0u8, |bits, (index, part)| {
        bits | (u8::from(part.is_some()) << index)
    });
    out.reserve(encoded_len(event));
    out.extend_from_slice(&[TAG, kind_code(event.kind), presence]);
    out.extend_from_slice(&event.source.to_le_bytes());
    out.extend_from_slice(&event.timestamp_ms.to_le_bytes());
    out.extend_from_slice(&event.received_ms.to_le_bytes());
    put_text(out, &event.message_id);
    for text in parts.into_iter().flatten() {
        put_text(out, text);
    }
}

/// Whether a payload is a JSON record of an older log.
pub fn is_json(payload: &[u8]) -> bool {
    payload.first() == Some(&b'{')
}

/// Reads a payload front to back.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8], String> {
        if self.0.len() < count {
            return Err("the record ends early".into());
        }
        let (head, rest) = self.0.split_at(count);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut bytes = [0u8; N];
        bytes.copy_from_slice(self.take(N)?);
        Ok(bytes)
    }

    fn text(&mut self) -> Result<&'a str, String> {
        let length = u32::from_le_bytes(self.array()?) as usize;
        simdutf8::basic::from_utf8(self.take(length)?)
            .map_err(|_| "a text part is not UTF-8".into())
    }

    /// Passes a text part without checking it.
    fn skip_text(&mut self) -> Result<(), String> {
        let length = u32::from_le_bytes(self.array()?) as usize;
        self.take(length).map(|_| ())
    }
}

/// Parts of a binary record left out when it is read (each check of UTF-8 costs).
#[derive(Clone, Copy)]
struct Skip {
    message_id: bool,
    /// Bit `i` set: part `i` of [`parts`] left `None`.
    parts: u8,
}

/// Reads a record payload: a binary record borrowed, a JSON one (older logs) parsed.
pub fn decode(payload: &[u8]) -> Result<EventRef<'_>, String> {
    let skip = Skip {
        message_id: false,
        parts: 0,
    };
    decode_parts(payload, skip)
}

/// [`decode`] without the `context` (left `None`): what the rollups read, saving the
/// check of the largest part.
pub fn decode_for_rollups(payload: &[u8]) -> Result<EventRef<'_>, String> {
    let skip = Skip {
        message_id: false,
        parts: 1 << CONTEXT,
    };
    decode_parts(payload, skip)
}

/// [`decode_for_rollups`] of a binary record the log writer just wrote, for the rollup
/// applier: without the message id (left empty, the rollups do not read it) and, unless
/// `with_properties`, without the properties (left `None`; the applier was given their
/// numbers).
pub fn decode_for_applier(payload: &[u8], with_properties: bool) -> Result<EventRef<'_>, String> {
    let skip = Skip {
        message_id: true,
        parts: 1 << CONTEXT | u8::from(!with_properties) << PROPERTIES,
    };
    decode_parts(payload, skip)
}

fn decode_parts(payload: &[u8], skip: Skip) -> Result<EventRef<'_>, String> {
    match payload.first() {
        Some(&TAG) => decode_binary(payload, skip),
        Some(b'{') => serde_json::from_slice::<StoredEvent>(payload)
            .map(StoredEvent::into_ref)
            .map_err(|error| error.to_string()),
        _ => Err("unknown record layout".into()),
    }
}

fn decode_binary(payload: &[u8], skip: Skip) -> Result<EventRef<'_>, String> {
    let mut cursor = Cursor(payload);
    let [_, kind, presence] = cursor.array::<3>()?;
    let kind = kind_of(kind).ok_or_else(|| format!("unknown message kind {kind}"))?;
    let source = u32::from_le_bytes(cursor.array()?);
    let timestamp_ms = i64::from_le_bytes(cursor.array()?);
    let received_ms = i64::from_le_bytes(cursor.array()?);
    let message_id = if skip.message_id {
        cursor.skip_text()?;
        Cow::Borrowed("")
    } else {
        Cow::Borrowed(cursor.text()?)
    };
    // An identify call without traits may carry them in its context (RudderStack): its
    // context is read whatever the caller skips.
    let skipped = if kind == Kind::Identify && presence & (1 << TRAITS) == 0 {
        skip.parts & !(1 << CONTEXT)
    } else {
        skip.parts
    };
    let mut parts: [Option<Cow<'_, str>>; 8] = Default::default();
    for (index, part) in parts.iter_mut().enumerate() {
        if presence & (1 << index) == 0 {
            continue;
        }
        if skipped & (1 << index) != 0 {
            cursor.skip_text()?;
        } else {
            *part = Some(Cow::Borrowed(cursor.text()?));
        }
    }
    if !cursor.0.is_empty() {
        return Err("bytes after the last part".into());
    }
    let [
        user_id,
        anonymous_id,
        event,
        group_id,
        previous_id,
        properties,
        traits,
        context,
    ] = parts;
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
        received_ms,
        properties,
        traits,
        context,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Received, parse_batch};

    fn events() -> Vec<StoredEvent> {
        let body = r#"{"batch":[
            {"type":"track","messageId":"m1","userId":"u1","event":"Report Exported","properties":{"pages":3,"format":"pdf"},"context":{"groupId":"ACME","locale":"ja-JP"},"timestamp":"2026-01-01T00:00:00Z"},
            {"type":"identify","anonymousId":"a-9","traits":{"email":"hanako@example.jp","name":"山田花子"}},
            {"type":"group","userId":"u1","groupId":"ACME","traits":{"name":"Acme"}},
            {"type":"page","userId":"u1","name":"Home"},
            {"type":"screen","userId":"u1"},
            {"type":"alias","userId":"u2","previousId":"a-9"}
        ]}"#;
        let received = Received {
            at_ms: 1_767_225_600_000,
            oldest_ms: None,
            newest_ms: None,
        };
        parse_batch(body.as_bytes(), 7, received).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_kind_and_part_comes_back_as_written() {
        for event in events() {
            let mut bytes = Vec::new();
            encode(&event.as_ref(), &mut bytes);
            assert_eq!(bytes.len(), encoded_len(&event.as_ref()));
            assert_eq!(decode(&bytes), Ok(event.as_ref()), "{event:?}");
            let without = EventRef {
                context: None,
                ..event.as_ref()
            };
            assert_eq!(decode_for_rollups(&bytes), Ok(without.clone()));
            let applier = EventRef {
                message_id: Cow::Borrowed(""),
                ..without.clone()
            };
            assert_eq!(decode_for_applier(&bytes, true), Ok(applier.clone()));
            let without_properties = EventRef {
                properties: None,
                ..applier
            };
            assert_eq!(decode_for_applier(&bytes, false), Ok(without_properties));
        }
    }

    #[test]
    fn json_records_of_older_logs_are_still_read() {
        for event in events() {
            let json = serde_json::to_vec(&event).unwrap_or_default();
            assert_eq!(decode(&json), Ok(event.as_ref()));
        }
    }

    #[test]
    fn a_damaged_record_is_an_error_not_a_panic() {
        let event = &events()[0];
        let mut bytes = Vec::new();
        encode(&event.as_ref(), &mut bytes);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
        let mut unknown_kind = bytes.clone();
        unknown_kind[1] = 9;
        assert!(decode(&unknown_kind).is_err());
        assert!(decode(b"[1]").is_err());
    }
}
