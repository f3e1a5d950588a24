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

/// Which insight of its family a request asks for, read from its parsed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsightSlot {
    /// The analysis asked for: the `insight_type` after the family's prefix.
    pub analysis: String,
    /// The entity analysed (a tracker or event id), if the request names one.
    pub context_id: Option<String>,
}

impl InsightSlot {
    /// The slot of `analysis` of `context_id`.
    pub fn new(analysis: &str, context_id: Option<&str>) -> Self {
        Self {
            analysis: analysis.to_string(),
            context_id: context_id.map(str::to_string),
        }
    }
}

/// A request whose answer is cached as an insight: its family, and which
/// insight of the family its parsed body asks for. The body alone decides
/// both, which is what lets a hit be found by the body's hash.
pub trait InsightRequest {
    /// The family of the insight.
    const FAMILY: InsightFamily;
    /// The insight this request asks for.
    fn slot(&self) -> InsightSlot;
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
    /// The key of `slot` in `family` for a body whose hash is `input_hash`.
    pub fn new(family: InsightFamily, slot: &InsightSlot, input_hash: String) -> Self {
        Self {
            family,
            insight_type: format!("{}_{}", family.prefix(), slot.analysis),
            context_id: slot.context_id.as_deref().unwrap_or("default").to_string(),
            input_hash,
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
    // By hand rather than `format!("{:032x}")`: the formatting machinery was
    // a visible part of a cache hit's guest time.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(32);
    for byte in xxhash_rust::xxh3::xxh3_128(input).to_be_bytes() {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// The statement that counts a request against its user's rate limit and,
/// if allowed, reads the user's fresh insight of a family by the request
/// body's hash alone, before the body is parsed (counting the hit and
/// recording the feature's use), in one round trip: `$1` user, `$2` limit
/// per minute, `$3` the family's prefix, `$4` its kit, `$5` the input hash.
/// One row: `allowed`, `retry_after_seconds`, and `data` (JSON text) with
/// `calculated_at` on a hit, nulls otherwise.
pub const FIND_SQL: &str = "SELECT allowed, retry_after_seconds, data, calculated_at \
     FROM public.insight_cache_find($1::text::uuid, $2, 60, $3, $4, $5)";

/// The statement that stores an insight (JSON text) with a TTL and records
/// the use of its feature (a miss's use is recorded here, with what it
/// computed, so a failed computation records none), returning the insight's
/// `calculated_at`: `$1` insight type (the feature), `$2` context id, `$3`
/// input hash, `$4` data, `$5` TTL in seconds, `$6` kit.
pub const STORE_SQL: &str = concat!(
    "WITH used AS (",
    crate::analytics::record_usage_sql!("$1", "$6"),
    ") SELECT public.insight_cache_put($1, $2, $3, $4::text::json, $5) AS calculated_at"
);

/// An insight's JSON object text with `cached` and `calculatedAt` put first,
/// without parsing it; text that is not an object is kept whole under `data`.
pub fn with_meta(data: &str, cached: bool, calculated_at: &str) -> String {
    // A JSON string of a `&str` cannot fail to serialise.
    let at = serde_json::to_string(calculated_at).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(data.len() + at.len() + 48);
    out.push_str(if cached {
        "{\"cached\":true,\"calculatedAt\":"
    } else {
        "{\"cached\":false,\"calculatedAt\":"
    });
    out.push_str(&at);
    match data.trim_start().strip_prefix('{') {
        Some(fields) => {
            if !fields.trim_start().starts_with('}') {
                out.push(',');
            }
            out.push_str(fields);
        }
        None => {
            out.push_str(",\"data\":");
            out.push_str(data);
            out.push('}');
        }
    }
    out
}

/// Whole seconds an insight of `family` calculated at `calculated_at`
/// (RFC 3339 UTC, as the cache returns it) stays fresh after `now` (seconds
/// since the epoch): its row expires `ttl` after it was calculated. 0 when
/// it is stale or the time cannot be read.
pub fn fresh_for(family: InsightFamily, calculated_at: &str, now: i64) -> u32 {
    crate::calendar::seconds_from_iso_datetime(calculated_at)
        .map(|at| at + i64::from(family.ttl_secs()) - now)
        .and_then(|left| u32::try_from(left.clamp(0, i64::from(family.ttl_secs()))).ok())
        .unwrap_or(0)
}

#[cfg(feature = "guest")]
pub use guest::answer_cached;

#[cfg(feature = "guest")]
mod guest {
    use super::{
        FIND_SQL, InsightFamily, InsightKey, InsightRequest, STORE_SQL, fresh_for, input_hash,
        with_meta,
    };
    use crate::db::{Durability, Session, SessionError};
    use crate::error::ApiError;
    use crate::http::{Admission, Answer, Call};
    use serde::Serialize;
    use spin_sdk::pg4::{Connection, ParameterValue as P};

    /// Answers from the caller's fresh cached insight of `R`'s family for
    /// this exact body, or else runs `parse` (the body parsed and validated)
    /// and `compute` (which may read more in the request's transaction), and
    /// caches the answer; `cached` and `calculatedAt` are added to the
    /// answer; a 401 for callers that are not a user. A hit is one statement, found
    /// by the body's hash before the body is parsed (a body that hits was
    /// validated when it was stored, for the same user), that also counts
    /// the request against the caller's rate limit and records the feature's
    /// use, so this must be the handler's first use of the database. The
    /// insight stays JSON text from the database to the response. A hit's
    /// answer is [`Answer::Reusable`] for what is left of the row's TTL: the
    /// runtime's edge cache answers the same request with it until then.
    pub fn answer_cached<R: InsightRequest, T: Serialize>(
        call: &Call,
        parse: impl FnOnce() -> Result<R, ApiError>,
        compute: impl FnOnce(R, &Session) -> Result<T, ApiError>,
    ) -> Result<Answer, ApiError> {
        let hash = input_hash(call.body());
        let found = call.admit_with(|connection, user, limit| {
            find(connection, user, limit, R::FAMILY, &hash)
        })?;
        if let Some(hit) = found {
            let text = with_meta(&hit.data, true, &hit.calculated_at);
            return Ok(match fresh_for(R::FAMILY, &hit.calculated_at, call.now()) {
                0 => Answer::Text(text),
                max_age_secs => Answer::Reusable { text, max_age_secs },
            });
        }
        let request = parse()?;
        let key = InsightKey::new(R::FAMILY, &request.slot(), hash);
        // Cached insights and usage events are derived data.
        let session = call.session_with(Durability::Relaxed)?;
        let data =
            serde_json::to_string(&compute(request, &session)?).map_err(ApiError::internal)?;
        let calculated_at = store(&session, &key, &data)?;
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

    /// Runs [`FIND_SQL`](super::FIND_SQL) for `user`: whether the request is
    /// within `limit`, and the fresh insight of `family` for the body whose
    /// hash is `hash`, if there is one.
    fn find(
        connection: &Connection,
        user: &str,
        limit: i32,
        family: InsightFamily,
        hash: &str,
    ) -> Result<(Admission, Option<CachedInsight>), ApiError> {
        let rows = connection
            .query(
                FIND_SQL,
                &[
                    P::Str(user.to_string()),
                    P::Int32(limit),
                    P::Str(family.prefix().to_string()),
                    P::Str(family.kit().to_string()),
                    P::Str(hash.to_string()),
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

    /// Stores an insight (JSON text) with its family's TTL and records the
    /// feature's use; returns its `calculated_at`.
    fn store(session: &Session, key: &InsightKey, data: &str) -> Result<String, SessionError> {
        let rows = session.query(
            STORE_SQL,
            &[
                P::Str(key.insight_type.clone()),
                P::Str(key.context_id.clone()),
                P::Str(key.input_hash.clone()),
                P::Str(data.to_string()),
                P::Int32(key.family.ttl_secs()),
                P::Str(key.family.kit().to_string()),
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
    fn freshness_counts_down_from_the_calculation() {
        let at = "2026-11-22T10:00:00.750Z";
        let calculated = crate::calendar::seconds_from_iso_datetime(at).expect("valid");
        let media = InsightFamily::Media;
        assert_eq!(fresh_for(media, at, calculated), 600);
        assert_eq!(fresh_for(media, at, calculated + 599), 1);
        assert_eq!(fresh_for(media, at, calculated + 600), 0);
        assert_eq!(fresh_for(media, at, calculated + 7200), 0);
        // A clock behind the database's never stretches the TTL.
        assert_eq!(fresh_for(media, at, calculated - 30), 600);
        assert_eq!(fresh_for(media, "yesterday", calculated), 0);
    }

    #[test]
    fn ttls_follow_the_seed() {
        assert_eq!(InsightFamily::Logistics.ttl_secs(), 3600);
        assert_eq!(InsightFamily::Events.ttl_secs(), 1800);
        assert_eq!(InsightFamily::Media.ttl_secs(), 600);
        assert_eq!(InsightFamily::Recommendations.ttl_secs(), 300);
        let key = InsightKey::new(
            InsightFamily::Logistics,
            &InsightSlot::new("all", None),
            input_hash(b"{}"),
        );
        assert_eq!(key.insight_type, "logistics_all");
        assert_eq!(key.context_id, "default");
        let slot = InsightSlot::new("critical_path", Some("evt-1"));
        let key = InsightKey::new(InsightFamily::Events, &slot, input_hash(b"{}"));
        assert_eq!(key.insight_type, "event_critical_path");
        assert_eq!(key.context_id, "evt-1");
    }
}
