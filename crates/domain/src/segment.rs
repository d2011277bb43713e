//! Segments: named, saved account filters, evaluated when used so they are never stale.

use crate::SegmentId;
use crate::account::AccountFilter;
use crate::value::{Name, Text};

/// A stored segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Its id.
    pub id: SegmentId,
    /// Unique name.
    pub name: Name,
    /// What it is for.
    pub description: Option<Text>,
    /// Its filter.
    pub filter: AccountFilter,
    /// When it was created.
    pub created_at: jiff::Timestamp,
    /// When it last changed.
    pub updated_at: jiff::Timestamp,
}

/// A segment to create or replace.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSegment {
    /// Unique name.
    pub name: Name,
    /// What it is for.
    pub description: Option<Text>,
    /// Its filter.
    pub filter: AccountFilter,
}
