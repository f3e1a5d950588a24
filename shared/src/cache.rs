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
    /// SHA-256 of the canonical input, so a changed input misses.
    pub input_hash: String,
}

impl InsightKey {
    /// Builds a key; `input` is hashed in canonical form (object keys sorted).
    pub fn new(
        family: InsightFamily,
        analysis: &str,
        context_id: Option<&str>,
        input: &serde_json::Value,
    ) -> Self {
        Self {
            family,
            insight_type: format!("{}_{analysis}", family.prefix()),
            context_id: context_id.unwrap_or("default").to_string(),
            input_hash: input_hash(input),
        }
    }
}

/// Hex SHA-256 of a JSON value's canonical text (serde_json sorts object keys).
pub fn input_hash(input: &serde_json::Value) -> String {
    let digest = Sha256::digest(input.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(feature = "guest")]
pub use guest::{CachedInsight, answer_cached, lookup, store};

#[cfg(feature = "guest")]
mod guest {
    use super::InsightKey;
    use crate::db::{Session, SessionError};
    use crate::error::ApiError;
    use crate::http::Call;
    use serde_json::{Value, json};
    use spin_sdk::pg4::ParameterValue as P;

    /// Answers from the caller's fresh cached insight for `key`, or runs
    /// `compute` (which may read more in the same session) and caches its
    /// answer; either way in the request's one transaction, with `cached` and
    /// `calculatedAt` added to the answer.
    pub fn answer_cached(
        call: &Call,
        key: &InsightKey,
        compute: impl FnOnce(&Session) -> Result<Value, ApiError>,
    ) -> Result<Value, ApiError> {
        let session = call.session()?;
        crate::analytics::record_usage(&session, &key.insight_type, key.family.kit())?;
        if let Some(hit) = lookup(&session, key)? {
            session.commit()?;
            return Ok(with_meta(hit.data, true, hit.calculated_at));
        }
        let data = compute(&session)?;
        let calculated_at = store(&session, key, &data)?;
        session.commit()?;
        Ok(with_meta(data, false, calculated_at))
    }

    fn with_meta(mut data: Value, cached: bool, calculated_at: String) -> Value {
        if let Value::Object(map) = &mut data {
            map.insert("cached".into(), json!(cached));
            map.insert("calculatedAt".into(), json!(calculated_at));
        }
        data
    }

    /// A fresh insight read from the cache.
    #[derive(Debug, Clone)]
    pub struct CachedInsight {
        /// The stored answer.
        pub data: serde_json::Value,
        /// When it was calculated, RFC 3339 UTC.
        pub calculated_at: String,
    }

    /// Reads a fresh insight for the session's user, counting the hit.
    pub fn lookup(
        session: &Session,
        key: &InsightKey,
    ) -> Result<Option<CachedInsight>, SessionError> {
        let rows = session.query(
            "SELECT data::text, calculated_at FROM public.insight_cache_get($1, $2, $3)",
            &[
                P::Str(key.insight_type.clone()),
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
        let data = serde_json::from_str(&data).map_err(|_| SessionError::decode("data"))?;
        Ok(Some(CachedInsight {
            data,
            calculated_at,
        }))
    }

    /// Stores an insight with its family's TTL; returns its `calculated_at`.
    pub fn store(
        session: &Session,
        key: &InsightKey,
        data: &serde_json::Value,
    ) -> Result<String, SessionError> {
        let rows = session.query(
            "SELECT public.insight_cache_put($1, $2, $3, $4::text::jsonb, $5) AS calculated_at",
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
    use serde_json::json;

    #[test]
    fn hash_ignores_key_order_but_not_values() {
        let a = input_hash(&json!({"a": 1, "b": [1, 2]}));
        let b = input_hash(&json!({"b": [1, 2], "a": 1}));
        let c = input_hash(&json!({"a": 1, "b": [2, 1]}));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn ttls_follow_the_seed() {
        assert_eq!(InsightFamily::Logistics.ttl_secs(), 3600);
        assert_eq!(InsightFamily::Events.ttl_secs(), 1800);
        assert_eq!(InsightFamily::Media.ttl_secs(), 600);
        assert_eq!(InsightFamily::Recommendations.ttl_secs(), 300);
        let key = InsightKey::new(InsightFamily::Logistics, "all", None, &json!({}));
        assert_eq!(key.insight_type, "logistics_all");
        assert_eq!(key.context_id, "default");
    }
}
