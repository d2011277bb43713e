//! A direct reader for the JSON of one message, for the hot path of imports and the API:
//! it walks the text once, checks that every value is well-formed JSON and hands back the
//! top-level keys with their values' text, borrowed.
//!
//! A text without backslashes and control characters (nearly every message) is first
//! indexed ([`Quotes`]): there every quote opens or closes a string, so the walk passes a
//! string by finding the next quote bit instead of reading its bytes.
//!
//! It answers only what it is sure of and gives up (`None`) on anything unusual: an escape
//! in a key or in a text value, an id given as a number, a lone surrogate, deep nesting.
//! The caller then parses with serde_json, which decides and words the error. So for every
//! text the scanner accepts, serde_json accepts it too and reads the same values (tested
//! against serde_json in `message.rs` on generated and mangled messages); it is only ever
//! a faster way to the same answer. Why it exists: serde_json's struct parse was the
//! largest part of an import's time (docs/benchmarks.md, "Usage ingestion").

/// The deepest nesting the scanner follows (serde_json allows 128; deeper is left to it).
const MAX_DEPTH: u32 = 100;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The index of the first `"`, `\` or control character at or after `at`: eight bytes at
/// a time (the same bit trick serde_json uses), then byte by byte at the end.
fn next_special(bytes: &[u8], mut at: usize) -> Option<usize> {
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let chars = u64::from_le_bytes(word);
        let quote = chars ^ (ONES * u64::from(b'"'));
        let backslash = chars ^ (ONES * u64::from(b'\\'));
        let found = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (chars.wrapping_sub(ONES * 0x20) & !chars))
            & HIGH_BITS;
        if found != 0 {
            // The lowest flagged byte is always a true match.
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|c| matches!(c, b'"' | b'\\') || *c < 0x20)
        .map(|offset| at + offset)
}

/// The longest text a [`Quotes`] index covers (a longer one is walked without it).
const INDEXED_BYTES: usize = 2048;

/// Where the quotes of a text are (a bit per byte), found 16 bytes at a time before the
/// text is walked, for a text without a backslash or a control character: there every
/// quote opens or closes a string, so a string ends at the next quote and the scanner
/// passes it with a bit search instead of reading it byte by byte.
pub(crate) struct Quotes {
    bits: [u64; INDEXED_BYTES / 64],
}

impl Quotes {
    /// The index of `text`'s quotes; `None` when it holds a backslash, a control
    /// character (whitespace other than the space included) or is longer than
    /// [`INDEXED_BYTES`].
    pub(crate) fn of(text: &str) -> Option<Self> {
        use wide::u8x16;
        let bytes = text.as_bytes();
        if bytes.len() > INDEXED_BYTES {
            return None;
        }
        let mut quotes = Self {
            bits: [0; INDEXED_BYTES / 64],
        };
        let (chunks, rest) = bytes.as_chunks::<64>();
        // The last bytes padded with spaces, which are none of the bytes looked for.
        let mut last = [b' '; 64];
        last[..rest.len()].copy_from_slice(rest);
        let (quote, backslash, control) =
            (u8x16::splat(b'"'), u8x16::splat(b'\\'), u8x16::splat(0x1f));
        let mut refused = u8x16::splat(0);
        for (bits, chunk) in quotes.bits.iter_mut().zip(chunks.iter().chain([&last])) {
            let (sixteens, _) = chunk.as_chunks::<16>();
            for (index, sixteen) in sixteens.iter().enumerate() {
                let chars = u8x16::new(*sixteen);
                // `max(c, 0x1f) == 0x1f` is `c <= 0x1f`: a control character.
                refused |= chars.simd_eq(backslash) | chars.max(control).simd_eq(control);
                *bits |= u64::from(chars.simd_eq(quote).to_bitmask()) << (index * 16);
            }
        }
        (!refused.any()).then_some(quotes)
    }

    /// The first quote at or after `at`.
    #[inline(always)]
    fn next(&self, at: usize) -> Option<usize> {
        let mut word = at / 64;
        let mut bits = self.bits.get(word)? >> (at % 64);
        let mut base = at;
        while bits == 0 {
            word += 1;
            bits = *self.bits.get(word)?;
            base = word * 64;
        }
        Some(base + bits.trailing_zeros() as usize)
    }
}

/// A position in one JSON text.
pub(crate) struct Scanner<'a, 'q> {
    text: &'a str,
    at: usize,
    /// Whether the object being walked with [`Scanner::key`] has given no key yet.
    first_key: bool,
    /// The text's quotes, when indexed.
    quotes: Option<&'q Quotes>,
}

impl<'a> Scanner<'a, 'static> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            at: 0,
            first_key: false,
            quotes: None,
        }
    }
}

impl<'a, 'q> Scanner<'a, 'q> {
    /// A scanner that passes strings by the text's index of quotes (`Quotes::of(text)`).
    pub(crate) fn indexed(text: &'a str, quotes: &'q Quotes) -> Self {
        Self {
            text,
            at: 0,
            first_key: false,
            quotes: Some(quotes),
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte after whitespace (left in place).
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.bytes();
        while let Some(c) = bytes.get(self.at) {
            // No byte above the space is whitespace: one comparison in the usual case.
            if *c > b' ' || !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(*c);
            }
            self.at += 1;
        }
        None
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// A string at the current position: its contents (without quotes) and whether it
    /// holds escapes.
    #[inline(always)]
    fn string(&mut self) -> Option<(&'a str, bool)> {
        let (start, escaped) = self.pass_string()?;
        // The closing quote is the byte before the new position.
        Some((self.text.get(start..self.at - 1)?, escaped))
    }

    /// Passes the string at the current position without taking its text (most strings
    /// are only checked: a value's nested keys and texts): where its contents start and
    /// whether it holds escapes. Escapes are checked as serde_json checks them when it
    /// skips a string. Inlined: it is called for nearly every string of every message, and
    /// the call itself cost as much as a short string's search.
    #[inline(always)]
    fn pass_string(&mut self) -> Option<(usize, bool)> {
        self.expect(b'"')?;
        let start = self.at;
        if let Some(quotes) = self.quotes {
            self.at = quotes.next(start)? + 1;
            return Some((start, false));
        }
        let bytes = self.bytes();
        let mut at = start;
        let mut escaped = false;
        loop {
            at = next_special(bytes, at)?;
            match bytes[at] {
                b'"' => {
                    self.at = at + 1;
                    return Some((start, escaped));
                }
                b'\\' => {
                    escaped = true;
                    match bytes.get(at + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at += 2,
                        b'u' => {
                            let digits = bytes.get(at + 2..at + 6)?;
                            if !digits.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            at += 6;
                        }
                        _ => return None,
                    }
                }
                // A control character: not allowed in a JSON string.
                _ => return None,
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.bytes().get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        self.at - start
    }

    /// A number in JSON's grammar: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        if self.bytes().get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        match self.bytes().get(self.at)? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.bytes().get(self.at) == Some(&b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.bytes().get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.bytes().get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes().get(self.at..end)? == word).then(|| self.at = end)
    }

    /// The rest of an object or an array after its opening byte: `member`s separated by
    /// commas up to `close` (no comma leading or trailing).
    fn members(
        &mut self,
        close: u8,
        depth: u32,
        mut member: impl FnMut(&mut Self, u32) -> Option<()>,
    ) -> Option<()> {
        self.at += 1;
        if self.peek()? == close {
            self.at += 1;
            return Some(());
        }
        loop {
            member(self, depth)?;
            match self.peek()? {
                b',' => self.at += 1,
                next if next == close => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Any value, checked; `depth` is how many more levels of nesting are allowed.
    fn skip(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.pass_string().map(|_| ()),
            b'{' => self.members(b'}', depth.checked_sub(1)?, |scanner, depth| {
                scanner.pass_string()?;
                scanner.expect(b':')?;
                scanner.skip(depth)
            }),
            b'[' => self.members(b']', depth.checked_sub(1)?, Self::skip),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    /// Enters an object: after it, call [`Scanner::key`] until it answers `Some(None)`.
    pub(crate) fn begin_object(&mut self) -> Option<()> {
        self.expect(b'{')?;
        self.first_key = true;
        Some(())
    }

    /// The next key of the object being read (`Some(None)` at its end). Gives up on a key
    /// with escapes.
    #[inline(always)]
    pub(crate) fn key(&mut self) -> Option<Option<&'a str>> {
        // `}` right after `{` or after a value ends the object; a comma must separate
        // keys, and none may lead or trail: `{,"a":1}`, `{"a":1"b":2}`, `{"a":1,}` are
        // all malformed.
        match (self.peek()?, std::mem::replace(&mut self.first_key, false)) {
            (b'}', _) => {
                self.at += 1;
                return Some(None);
            }
            (b',', false) => self.at += 1,
            (b'"', true) => {}
            _ => return None,
        }
        let (key, escaped) = self.string()?;
        self.expect(b':')?;
        (!escaped).then_some(Some(key))
    }

    /// A text value without escapes, or `null` (`Some(None)`); gives up on anything else.
    pub(crate) fn text(&mut self) -> Option<Option<&'a str>> {
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None),
            b'"' => match self.string()? {
                (text, false) => Some(Some(text)),
                (_, true) => None,
            },
            _ => None,
        }
    }

    /// Any value, checked, as its text.
    pub(crate) fn raw(&mut self) -> Option<&'a str> {
        self.peek()?;
        let start = self.at;
        self.skip(MAX_DEPTH)?;
        self.text.get(start..self.at)
    }

    /// Calls `visit` with each top-level key of an object whose value is a finite number, in
    /// order, skipping other values. For text already checked as JSON (a stored event's
    /// properties); `None` where the scanner gives up (an escaped key), possibly after some
    /// keys were visited. Numbers are read with the standard library (correctly rounded).
    pub(crate) fn numbers(&mut self, visit: &mut dyn FnMut(&'a str, f64)) -> Option<()> {
        self.numbers_within(MAX_DEPTH, visit)
    }

    /// [`Scanner::numbers`], with `depth` more levels of nesting allowed in the values.
    fn numbers_within(&mut self, depth: u32, visit: &mut dyn FnMut(&'a str, f64)) -> Option<()> {
        self.begin_object()?;
        while let Some(key) = self.key()? {
            let next = self.peek()?;
            let start = self.at;
            match next {
                b'-' | b'0'..=b'9' => {
                    self.number()?;
                    if let Ok(value) = self.text.get(start..self.at)?.parse::<f64>()
                        && value.is_finite()
                    {
                        visit(key, value);
                    }
                }
                _ => self.skip(depth)?,
            }
        }
        Some(())
    }

    /// Any value, checked, as its text (as [`Scanner::raw`] reads it); when it is an
    /// object, also calls `visit` as [`Scanner::numbers`] does, in the same walk. Gives up
    /// on an object with an escaped key.
    pub(crate) fn raw_numbers(&mut self, visit: &mut dyn FnMut(&'a str, f64)) -> Option<&'a str> {
        if self.peek()? != b'{' {
            return self.raw();
        }
        let start = self.at;
        // The depth `raw` allows inside an object.
        self.numbers_within(MAX_DEPTH - 1, visit)?;
        self.text.get(start..self.at)
    }

    /// Any value, checked, as its text (as [`Scanner::raw`] reads it), and in the same
    /// walk, when it is an object, the value of its first top-level `wanted` key if that
    /// is text without escapes (`Some(None)` when absent or `null`); `None` for that value
    /// where the scanner cannot tell: an escaped key before it, a value of another kind,
    /// or not an object.
    pub(crate) fn raw_and_text_of_key(
        &mut self,
        wanted: &str,
    ) -> Option<(&'a str, Option<Option<&'a str>>)> {
        if self.peek()? != b'{' {
            return Some((self.raw()?, None));
        }
        let start = self.at;
        let mut found = Some(None);
        let mut looking = true;
        // The depth `raw` allows inside an object; the members walked as `skip` walks them.
        self.members(b'}', MAX_DEPTH - 1, |scanner, depth| {
            let (key, escaped) = scanner.pass_string()?;
            let key = &scanner.bytes()[key..scanner.at - 1];
            scanner.expect(b':')?;
            if looking && (escaped || key == wanted.as_bytes()) {
                looking = false;
                // An escaped key might be the one wanted: left undecided.
                found = None;
                if !escaped {
                    let value = scanner.at;
                    found = scanner.text();
                    if found.is_some() {
                        return Some(());
                    }
                    // Read again as any value.
                    scanner.at = value;
                }
            }
            scanner.skip(depth)
        })?;
        Some((self.text.get(start..self.at)?, found))
    }

    /// Whether only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text's value read whole, by the scanner without an index and, where the text
    /// can have one, by the scanner with its index: both must agree.
    fn raw_of(text: &str) -> Option<&str> {
        fn read<'a>(mut scanner: Scanner<'a, '_>) -> Option<&'a str> {
            let raw = scanner.raw()?;
            scanner.at_end().then_some(raw)
        }
        let plain = read(Scanner::new(text));
        if let Some(quotes) = Quotes::of(text) {
            assert_eq!(read(Scanner::indexed(text, &quotes)), plain, "{text}");
        }
        plain
    }

    #[test]
    fn the_quote_index_finds_every_quote_a_byte_search_finds() {
        for length in 0..=200usize {
            for spacing in [1, 3, 15, 16, 17, 63, 64, 65] {
                // Quotes every `spacing` bytes from a varying first one, `é` in between.
                let mut text = String::new();
                while text.len() < length {
                    let at = text.len();
                    text.push(if at % spacing == length % spacing.max(2) {
                        '"'
                    } else {
                        'a'
                    });
                    if at % 37 == 5 {
                        text.push('é');
                    }
                }
                let quotes = Quotes::of(&text).unwrap_or_else(|| panic!("not indexed: {text:?}"));
                let bytes = text.as_bytes();
                for at in 0..=bytes.len() {
                    let searched = bytes[at..].iter().position(|c| *c == b'"').map(|o| at + o);
                    assert_eq!(quotes.next(at), searched, "{text:?} from {at}");
                }
            }
        }
    }

    #[test]
    fn texts_with_a_backslash_or_a_control_character_or_too_long_get_no_quote_index() {
        for length in [1usize, 15, 16, 17, 64, 65, 130] {
            for at in [0, length / 2, length - 1] {
                for refused in [b'\\', b'\n', b'\t', 0, 0x1f] {
                    let mut bytes = vec![b'"'; length];
                    bytes[at] = refused;
                    let text = String::from_utf8(bytes).unwrap_or_else(|e| panic!("{e}"));
                    assert!(Quotes::of(&text).is_none(), "{text:?}");
                }
            }
        }
        assert!(Quotes::of(&" ".repeat(INDEXED_BYTES)).is_some());
        assert!(Quotes::of(&" ".repeat(INDEXED_BYTES + 1)).is_none());
        // Bytes of other characters, DEL included, are no reason to refuse.
        assert!(Quotes::of("\u{7f}日本語\u{1F600}").is_some());
    }

    #[test]
    fn well_formed_values_are_read_whole_and_malformed_ones_refused() {
        for good in [
            r#"{}"#,
            r#" {"a" : [1, -2.5e+3, 0, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9"]} "#,
            r#"{"nested":{"deeper":[{"k":[]}]},"s":"日本語"}"#,
            "{\t\"a\"\r:\n[ 1 ,\t2 ]\r\n}",
            r#""just text""#,
            "-0.0E-0",
        ] {
            assert_eq!(raw_of(good), Some(good.trim()), "{good}");
            assert!(serde_json::from_str::<serde::de::IgnoredAny>(good).is_ok());
        }
        for bad in [
            r#"{"a":1,}"#,
            r#"{,"a":1}"#,
            r#"{"a" 1}"#,
            r#"[1,]"#,
            r#"[1 2]"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":1e}"#,
            r#"{"a":-}"#,
            r#"{"a":tru}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\u12G4"}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":"open}"#,
            "{\"a\":\u{b}1}",
            "{\"a\":\u{c}1}",
            r#"{"a":NaN}"#,
            r#"{"a":1} x"#,
            "",
        ] {
            assert_eq!(raw_of(bad), None, "{bad}");
            assert!(
                serde_json::from_str::<serde::de::IgnoredAny>(bad).is_err(),
                "serde_json accepts {bad}"
            );
        }
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_left_to_serde_json() {
        let deep = format!("{}{}", "[".repeat(101), "]".repeat(101));
        assert_eq!(raw_of(&deep), None);
        let fine = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(raw_of(&fine), Some(fine.as_str()));
    }

    #[test]
    fn the_special_byte_search_finds_the_first_one_in_every_position() {
        for length in 0..40 {
            for (at, special) in [(0usize, b'"'), (7, b'\\'), (8, 0x1f), (39, b'"')] {
                let mut bytes = vec![b'a'; length];
                // Bytes above 0x80 (UTF-8) must not be taken for specials.
                if length > 3 {
                    bytes[3] = 0xe3;
                }
                if at < length {
                    bytes[at] = special;
                    assert_eq!(next_special(&bytes, 0), Some(at), "{length} {at}");
                } else {
                    assert_eq!(next_special(&bytes, 0), None, "{length}");
                }
            }
        }
    }
}
