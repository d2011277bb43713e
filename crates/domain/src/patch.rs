//! `Patch<T>`: an update field that can tell "leave as is" from "clear" from "set".

/// One field of an update.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Patch<T> {
    /// Leave the stored value as it is.
    #[default]
    Keep,
    /// Clear the stored value (set it to null).
    Clear,
    /// Replace the stored value.
    Set(T),
}

impl<T> Patch<T> {
    /// Maps the set value, keeping `Keep` and `Clear`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(value) => Patch::Set(f(value)),
        }
    }

    /// Like `map` with a fallible conversion.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Patch<U>, E> {
        Ok(match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(value) => Patch::Set(f(value)?),
        })
    }

    /// Builds a patch from the wire convention: absent = keep, null = clear, value = set.
    pub fn from_wire(value: Option<Option<T>>) -> Self {
        match value {
            None => Patch::Keep,
            Some(None) => Patch::Clear,
            Some(Some(value)) => Patch::Set(value),
        }
    }

    /// Whether this patch leaves the value untouched.
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }

    /// Applies the patch to an optional current value.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(value) => Some(value),
        }
    }
}
