//! Strict validation shared by every contract: errors name the field path.

/// A request that failed validation; the message names the offending field path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

/// A request contract that checks itself once parsed, so every function
/// parses and validates a body the same way (`Call::valid_json`).
pub trait Validate {
    /// Checks the whole value strictly.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] naming the field path of the first problem found.
    fn validate(&self) -> Result<(), ValidationError>;
}

/// Maximum length, in characters, of any text field (ids, names, categories…).
pub const MAX_TEXT_CHARS: usize = 200;

/// Rejects blank and overlong text; `path` is only built on error.
///
/// # Errors
///
/// A [`ValidationError`] naming `path` when `value` is blank or longer than [`MAX_TEXT_CHARS`].
pub fn check_text(path: impl FnOnce() -> String, value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError(format!("{}: must not be empty", path())));
    }
    // A string has at most as many chars as bytes: count only long ones.
    let chars = if value.len() > MAX_TEXT_CHARS {
        value.chars().count()
    } else {
        0
    };
    if chars > MAX_TEXT_CHARS {
        let path = path();
        return Err(ValidationError(format!(
            "{path}: is {chars} characters long; at most {MAX_TEXT_CHARS} are accepted"
        )));
    }
    Ok(())
}
