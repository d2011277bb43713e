//! Health as it is stored and shown: one measure of one account's score. The scoring itself
//! is analytics'; this is the shape a stored score's measures have, checked when read.

use crate::wire_enum;
use serde::{Deserialize, Serialize};

wire_enum!(
    /// A health score's colour: red below 40, yellow from 40 to below 70, green from 70.
    Colour, "health" {
        /// Below 40.
        Red = "red" | "赤",
        /// 40 to below 70.
        Yellow = "yellow" | "黄",
        /// 70 and above.
        Green = "green" | "緑",
    }
);

impl Colour {
    /// The colour of a 0-100 score.
    pub fn of(score: f64) -> Colour {
        if score < 40.0 {
            Colour::Red
        } else if score < 70.0 {
            Colour::Yellow
        } else {
            Colour::Green
        }
    }
}

/// A score as people see it: the whole number below it (69.6 is shown as 69, yellow), so
/// that a shown score and its colour always agree with the thresholds. Every page, the API
/// and the CLI show scores through this.
pub fn shown(score: f64) -> i64 {
    score.floor().clamp(0.0, 100.0) as i64
}

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
