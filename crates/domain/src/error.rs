//! The domain's one error type: a value that failed validation, naming its field.

/// A value that failed validation. `field` names the input field in the caller's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Invalid {
    /// The input field (wire name) that holds the bad value.
    pub field: String,
    /// Why it was rejected, lowercase, no final period.
    pub reason: String,
}

impl Invalid {
    /// Builds a validation failure for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Renames the field, e.g. when a nested value is validated under its parent's name.
    #[must_use]
    pub fn in_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

/// Errors of the domain crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Input failed validation.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The actor's role does not allow the action.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
}
