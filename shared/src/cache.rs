//! The insight cache in `assistant_insights`: one row per user, insight type
//! and context, valid while fresh and while the input hash matches.

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
    /// Hash of the request body ([`input_hash`]), so a changed input misses.
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

/// The 128-bit XXH3 of a request body as sent, in hex. Hashing the bytes,
/// not a canonical re-serialisation, costs one pass instead of a parse into a
/// tree and a print of it; a client sends the same input as the same bytes,
/// and a body that differs only in spacing or key order at worst misses the
/// cache once. The hash needs no cryptographic strength: it only tells one
/// input of a user's from another of the same user's (the row is the user's
/// own), and XXH3 runs an order of magnitude faster than SHA-256 in Wasm,
/// where SHA-256 was a fifth of a cache hit's guest time.
pub fn input_hash(input: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(input))
}

/// The statement that counts a request against its user's rate limit and,
/// if allowed, records the use of the insight's feature and reads a fresh
/// insight (counting the hit), in one round trip: `$1` user, `$2` limit per
/// minute, `$3` insight type (the feature), `$4` kit, `$5` context id, `$6`
/// input hash. One row: `allowed`, `retry_after_seconds`, and `data` (JSON
/// text) with `calculated_at` on a hit, nulls otherwise.
pub const LOOKUP_SQL: &str = "SELECT allowed, retry_after_seconds, data, calculated_at \
     FROM public.insight_cache_lookup($1::text::uuid, $2, 60, $3, $4, $5, $6)";

/// The statement that stores an insight (JSON text) with a TTL and returns
/// its `calculated_at`: `$1` insight type, `$2` context id, `$3` input hash,
/// `$4` data, `$5` TTL in seconds.
pub const STORE_SQL: &str =
    "SELECT public.insight_cache_put($1, $2, $3, $4::text::json, $5) AS calculated_at";

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
pub use guest::answer_cached;

#[cfg(feature = "guest")]
mod guest {
    use super::{InsightKey, LOOKUP_SQL, STORE_SQL, with_meta};
    use crate::db::{Durability, Session, SessionError};
    use crate::error::ApiError;
    use crate::http::{Admission, Answer, Call};
    use serde::Serialize;
    use spin_sdk::pg4::{Connection, ParameterValue as P};

    /// Answers from the caller's fresh cached insight for `key`, or runs
    /// `compute` (which may read more in the request's transaction) and
    /// caches its answer, with `cached` and `calculatedAt` added to the
    /// answer. A hit is one statement that also counts the request against
    /// the caller's rate limit and records the feature's use, so it must be
    /// the handler's first use of the database. The insight stays JSON text
    /// from the database to the response: serialised once, never re-parsed.
    pub fn answer_cached<T: Serialize>(
        call: &Call,
        key: &InsightKey,
        compute: impl FnOnce(&Session) -> Result<T, ApiError>,
    ) -> Result<Answer, ApiError> {
        let found =
            call.admit_with(|connection, user, limit| lookup(connection, user, limit, key))?;
        if let Some(hit) = found {
            return Ok(Answer::Text(with_meta(&hit.data, true, &hit.calculated_at)));
        }
        // Cached insights are derived data.
        let session = call.session_with(Durability::Relaxed)?;
        let data = serde_json::to_string(&compute(&session)?).map_err(ApiError::internal)?;
        let calculated_at = store(&session, key, &data)?;
        session.commit()?;
        Ok(Answer::Text(with_meta(&data, false, &calculated_at)))
    }

    /// A fresh insight read from the cache.
    struct CachedInsight {
        /// The stored answer, as JSON text.
        data: String,
        /// When it was calculated, RFC 3339 UTC.
        calculated_at: String,
    }

    /// Runs [`LOOKUP_SQL`](super::LOOKUP_SQL) for `user`: whether the request
    /// is within `limit`, and the fresh insight for `key` if there is one.
    fn lookup(
        connection: &Connection,
        user: &str,
        limit: i32,
        key: &InsightKey,
    ) -> Result<(Admission, Option<CachedInsight>), ApiError> {
        let rows = connection
            .query(
                LOOKUP_SQL,
                &[
                    P::Str(user.to_string()),
                    P::Int32(limit),
                    P::Str(key.insight_type.clone()),
                    P::Str(key.family.kit().to_string()),
                    P::Str(key.context_id.clone()),
                    P::Str(key.input_hash.clone()),
                ],
            )
            .map_err(SessionError::from)?;
        let row = rows.rows().next();
        let insight = row.as_ref().and_then(|row| {
            Some(CachedInsight {
                data: row.get::<String>("data")?,
                calculated_at: row.get::<String>("calculated_at")?,
            })
        });
        Ok((Admission::read(row)?, insight))
    }

    /// Stores an insight (JSON text) with its family's TTL; returns its `calculated_at`.
    fn store(session: &Session, key: &InsightKey, data: &str) -> Result<String, SessionError> {
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
    fn hash_is_the_hex_xxh3_128_of_the_body() {
        // XXH3-128 of the empty input (the reference implementation's vector).
        assert_eq!(input_hash(b""), "99aa06d3014798d86001c324468d497f");
        assert_eq!(input_hash(b"abc").len(), 32);
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
