//! Where an event's record sits in the event log. The rollups keep positions so raw events
//! can be read back; only the log (in the ingest crate) makes them.

/// Where a record is: segment number in the high 24 bits, byte offset in the low 40.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Position(u64);

impl Position {
    /// A position for tests of code that takes positions (segment 1, the given offset).
    pub fn for_tests(offset: u64) -> Self {
        Self::new(1, offset)
    }

    /// The position of the record at `offset` bytes into segment `segment`.
    pub fn new(segment: u32, offset: u64) -> Self {
        Self((u64::from(segment) << 40) | offset)
    }

    /// The segment number.
    pub fn segment(self) -> u32 {
        (self.0 >> 40) as u32
    }

    /// The position as one number (segment and offset), growing along the log.
    pub(crate) fn to_bits(self) -> u64 {
        self.0
    }

    /// A position from [`Position::to_bits`].
    pub(crate) fn from_bits(bits: u64) -> Self {
        Self(bits)
    }

    /// The byte offset within the segment.
    pub fn offset(self) -> u64 {
        self.0 & ((1 << 40) - 1)
    }
}
