//! The insight cache in `assistant_insights`: one row per user, insight type
//! and context, valid while fresh and while the input hash matches.

use sha2::{Digest, Sha256};

/// The families of insights and how long each stays fresh (seed 004).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsightFamily {
    /// logistics-analyzer: 1 hour.
    Logistics,
    /// events-optimizer: 30 minutes.
    Events,
    /// media-scorer: 10 minutes.
    Media,
    /// recommendations: 5 minutes.
    Recommendations,
}

impl InsightFamily {
    /// Seconds a cached insight of this family stays fresh.
    pub fn ttl_secs(self) -> i32 {
        match self {
            Self::Logistics => 3600,
            Self::Events => 1800,
            Self::Media => 600,
            Self::Recommendations => 300,
        }
    }

    /// The assistant kit this family belongs to.
    pub fn kit(self) -> &'static str {
        match self {
            Self::Logistics => "logistics",
            Self::Events => "events",
            Self::Media => "media",
            Self::Recommendations => "insights",
        }
    }

    /// The `insight_type` prefix stored in the table.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Logistics => "logistics",
            Self::Events => "event",
            Self::Media => "media",
            Self::Recommendations => "recommendations",
        }
    }
}

/// The key of one cached insight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsightKey {
    /// Family, which fixes the TTL.
    pub family: InsightFamily,
    /// `insight_type`, e.g. `logistics_readiness`.
    pub insight_type: String,
    /// `context_id`: the entity analysed (a tracker or event id), or `default`.
    pub context_id: String,
    /// SHA-256 of the request body, so a changed input misses.
    pub input_hash: String,
}

impl InsightKey {
    /// Builds a key for the request body `input`.
    pub fn new(
        family: InsightFamily,
        analysis: &str,
        context_id: Option<&str>,
        input: &[u8],
    ) -> Self {
        Self {
            family,
            insight_type: format!("{}_{analysis}", family.prefix()),
            context_id: context_id.unwrap_or("default").to_string(),
            input_hash: input_hash(input),
        }
    }
}

/// Hex SHA-256 of a request body as sent. Hashing the bytes, not a canonical
/// re-serialisation, costs one pass instead of a parse into a tree and a
/// print of it (most of a large request's time); a client sends the same
/// input as the same bytes, and a body that differs only in spacing or key
/// order at worst misses the cache once.
pub fn input_hash(input: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(input);
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

/// The statement that reads a fresh insight of the session's user (counting
/// the hit) and records the use of its feature in the same round trip:
/// `$1` insight type (the feature), `$2` kit, `$3` context id, `$4` input hash.
/// A data-modifying CTE runs to completion whether or not a row comes back.
pub fn lookup_recording_usage_sql() -> String {
    format!(
        "WITH usage AS ({}) \
         SELECT data::text, calculated_at FROM public.insight_cache_get($1, $3, $4)",
        crate::analytics::RECORD_USAGE_SQL
    )
}

/// The statement that stores an insight (JSON text) with a TTL and returns
/// its `calculated_at`: `$1` insight type, `$2` context id, `$3` input hash,
/// `$4` data, `$5` TTL in seconds.
pub const STORE_SQL: &str =
    "SELECT public.insight_cache_put($1, $2, $3, $4::text::jsonb, $5) AS calculated_at";

/// An insight's JSON object text with `cached` and `calculatedAt` put first,
/// without parsing it; text that is not an object is kept whole under `data`.
pub fn with_meta(data: &str, cached: bool, calculated_at: &str) -> String {
    let at = serde_json::Value::from(calculated_at);
    match data.trim_start().strip_prefix('{') {
        Some(fields) => {
            let separator = if fields.trim_start().starts_with('}') {
                ""
            } else {
                ","
            };
            format!("{{\"cached\":{cached},\"calculatedAt\":{at}{separator}{fields}")
        }
        None => format!("{{\"cached\":{cached},\"calculatedAt\":{at},\"data\":{data}}}"),
    }
}

#[cfg(feature = "guest")]
pub use guest::{CachedInsight, answer_cached, lookup_recording_usage, store};

#[cfg(feature = "guest")]
mod guest {
    use super::{InsightKey, STORE_SQL, lookup_recording_usage_sql, with_meta};
    use crate::db::{Durability, Session, SessionError};
    use crate::error::ApiError;
    use crate::http::{Answer, Call};
    use serde::Serialize;
    use spin_sdk::pg4::ParameterValue as P;

    /// Answers from the caller's fresh cached insight for `key`, or runs
    /// `compute` (which may read more in the same session) and caches its
    /// answer; either way in the request's one transaction, with `cached` and
    /// `calculatedAt` added to the answer. The insight stays JSON text from
    /// the database to the response: it is serialised once and never re-parsed.
    pub fn answer_cached<T: Serialize>(
        call: &Call,
        key: &InsightKey,
        compute: impl FnOnce(&Session) -> Result<T, ApiError>,
    ) -> Result<Answer, ApiError> {
        // Cached insights and usage events are derived data and telemetry.
        let session = call.session_with(Durability::Relaxed)?;
        if let Some(hit) = lookup_recording_usage(&session, key)? {
            session.commit()?;
            return Ok(Answer::Text(with_meta(&hit.data, true, &hit.calculated_at)));
        }
        let data = serde_json::to_string(&compute(&session)?).map_err(ApiError::internal)?;
        let calculated_at = store(&session, key, &data)?;
        session.commit()?;
        Ok(Answer::Text(with_meta(&data, false, &calculated_at)))
    }

    /// A fresh insight read from the cache.
    #[derive(Debug, Clone)]
    pub struct CachedInsight {
        /// The stored answer, as JSON text.
        pub data: String,
        /// When it was calculated, RFC 3339 UTC.
        pub calculated_at: String,
    }

    /// Reads a fresh insight for the session's user, counting the hit, and
    /// records the use of the insight's feature in the same statement (one
    /// round trip instead of two).
    pub fn lookup_recording_usage(
        session: &Session,
        key: &InsightKey,
    ) -> Result<Option<CachedInsight>, SessionError> {
        let rows = session.query(
            &lookup_recording_usage_sql(),
            &[
                P::Str(key.insight_type.clone()),
                P::Str(key.family.kit().to_string()),
                P::Str(key.context_id.clone()),
                P::Str(key.input_hash.clone()),
            ],
        )?;
        let Some(row) = rows.rows().next() else {
            return Ok(None);
        };
        let data: String = row
            .get("data")
            .ok_or_else(|| SessionError::decode("data"))?;
        let calculated_at: String = row
            .get("calculated_at")
            .ok_or_else(|| SessionError::decode("calculated_at"))?;
        Ok(Some(CachedInsight {
            data,
            calculated_at,
        }))
    }

    /// Stores an insight (JSON text) with its family's TTL; returns its `calculated_at`.
    pub fn store(session: &Session, key: &InsightKey, data: &str) -> Result<String, SessionError> {
        let rows = session.query(
            STORE_SQL,
            &[
                P::Str(key.insight_type.clone()),
                P::Str(key.context_id.clone()),
                P::Str(key.input_hash.clone()),
                P::Str(data.to_string()),
                P::Int32(key.family.ttl_secs()),
            ],
        )?;
        rows.rows()
            .next()
            .and_then(|row| row.get::<String>("calculated_at"))
            .ok_or_else(|| SessionError::decode("calculated_at"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_the_hex_sha256_of_the_body() {
        // The SHA-256 test vector of "abc" (FIPS 180-2).
        assert_eq!(
            input_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(input_hash(br#"{"a":[1,2]}"#), input_hash(br#"{"a":[2,1]}"#));
    }

    #[test]
    fn meta_goes_first_and_the_text_stays_valid_json() {
        let at = "2026-11-22T10:00:00.000Z";
        let full: serde_json::Value =
            serde_json::from_str(&with_meta(r#" {"a": 1, "b": [2]}"#, true, at)).expect("json");
        assert_eq!(
            full,
            serde_json::json!({"cached": true, "calculatedAt": at, "a": 1, "b": [2]})
        );
        let empty: serde_json::Value =
            serde_json::from_str(&with_meta("{ }", false, at)).expect("json");
        assert_eq!(
            empty,
            serde_json::json!({"cached": false, "calculatedAt": at})
        );
        let other: serde_json::Value =
            serde_json::from_str(&with_meta("[1]", false, at)).expect("json");
        assert_eq!(other["data"], serde_json::json!([1]));
    }

    #[test]
    fn ttls_follow_the_seed() {
        assert_eq!(InsightFamily::Logistics.ttl_secs(), 3600);
        assert_eq!(InsightFamily::Events.ttl_secs(), 1800);
        assert_eq!(InsightFamily::Media.ttl_secs(), 600);
        assert_eq!(InsightFamily::Recommendations.ttl_secs(), 300);
        let key = InsightKey::new(InsightFamily::Logistics, "all", None, b"{}");
        assert_eq!(key.insight_type, "logistics_all");
        assert_eq!(key.context_id, "default");
    }
}
