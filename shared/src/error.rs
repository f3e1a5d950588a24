//! The one error type of every function and its HTTP envelope
//! `{"error": {"code", "message"}}`.

use serde_json::json;

/// An error a function answers with. Internal causes are logged in full and
/// reach the client as a generic message.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The caller sent something invalid (400).
    #[error("{0}")]
    BadRequest(String),
    /// Invalid input with suggestions of what to send instead (400).
    #[error("{message}")]
    BadRequestWithSuggestions {
        /// What is wrong.
        message: String,
        /// What the caller could send instead.
        suggestions: Vec<String>,
    },
    /// No valid credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials, but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing here (404).
    #[error("{0}")]
    NotFound(String),
    /// The method is not served; carries the allowed ones (405).
    #[error("method {method} is not allowed; use {allowed}")]
    MethodNotAllowed {
        /// The method the caller used.
        method: String,
        /// The methods that are served, comma-separated.
        allowed: String,
    },
    /// The body is too large (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Too many requests; retry after this many seconds (429).
    #[error("rate limit exceeded; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a request will be accepted again.
        retry_after_secs: u64,
    },
    /// Our fault (500); the text is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::validation::ValidationError> for ApiError {
    fn from(e: crate::validation::ValidationError) -> Self {
        ApiError::BadRequest(e.0)
    }
}

impl ApiError {
    /// An internal error from any displayable cause (logged, never sent).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) | Self::BadRequestWithSuggestions { .. } => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::PayloadTooLarge(_) => 413,
            Self::RateLimited { .. } => 429,
            Self::Internal(_) => 500,
        }
    }

    /// The machine-readable code in the envelope.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) | Self::BadRequestWithSuggestions { .. } => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::Internal(_) => "internal",
        }
    }

    /// The message the client sees.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "an internal error occurred; it has been logged".to_string(),
            other => other.to_string(),
        }
    }

    /// The JSON body.
    pub fn envelope(&self) -> serde_json::Value {
        let mut body = envelope(self.code(), &self.public_message());
        if let Self::BadRequestWithSuggestions { suggestions, .. } = self {
            body["error"]["suggestions"] = json!(suggestions);
        }
        body
    }
}

/// The error envelope for a code and message (also used by the runtime for its own errors).
pub fn envelope(code: &str, message: &str) -> serde_json::Value {
    json!({ "error": { "code": code, "message": message } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_are_not_leaked() {
        let e = ApiError::Internal("password=hunter2".into());
        assert_eq!(e.status(), 500);
        assert!(!e.envelope().to_string().contains("hunter2"));
    }

    #[test]
    fn envelope_has_code_and_message() {
        let e = ApiError::BadRequest("sampleList is missing".into());
        assert_eq!(
            e.envelope(),
            json!({"error": {"code": "bad_request", "message": "sampleList is missing"}})
        );
        let e = ApiError::MethodNotAllowed {
            method: "GET".into(),
            allowed: "POST, OPTIONS".into(),
        };
        assert_eq!(e.status(), 405);
        assert_eq!(
            e.public_message(),
            "method GET is not allowed; use POST, OPTIONS"
        );
    }
}
