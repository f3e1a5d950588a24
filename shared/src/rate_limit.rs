//! The per-user rate limit (seed 004: 60 requests a minute), counted in
//! PostgreSQL by `rate_limit_hit` so every replica shares one count.

/// Requests per user per minute when the `rate_limit_per_minute` variable is not set.
pub const DEFAULT_PER_MINUTE: i32 = 60;

/// The statement that counts a request against its user's limit: `$1` the
/// user, `$2` the limit per minute. One row: `allowed` and
/// `retry_after_seconds`, the columns every counting statement returns.
pub const COUNT_SQL: &str =
    "SELECT allowed, retry_after_seconds FROM public.rate_limit_hit($1::text::uuid, $2, 60)";
