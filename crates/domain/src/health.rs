//! Health as it is stored and shown: one measure of one account's score. The scoring itself
//! is analytics'; this is the shape a stored score's measures have, checked when read.

use serde::{Deserialize, Serialize};

/// One measure of one account's health score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureScore {
    /// The metric's name.
    pub metric: String,
    /// Its value (none: missing).
    pub value: Option<f64>,
    /// Its 0-100 score (none: missing).
    pub score: Option<f64>,
    /// Its weight.
    pub weight: f64,
}
