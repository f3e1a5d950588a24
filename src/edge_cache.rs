//! The edge cache: a repeated request is answered with the response its
//! function marked as reusable (`Cache-Control: private, max-age=N`), without
//! running the function, as a CDN in front of Supabase's edge functions would
//! (seed 004: "Edge Function Cache ... use cache headers").
//!
//! An entry belongs to one credential: it is found only by the same route,
//! method, path, `Authorization` header and body, so it is that caller's
//! private cache kept at the edge, and it never outlives the `exp` of the
//! token it was made for. Only a 200 with an explicit `max-age`, a
//! `Content-Length` and no `Vary` or `Set-Cookie` is kept. A request with
//! `Cache-Control: no-cache` (or `max-age=0`, or `Pragma: no-cache`) goes to
//! the function, and with `no-store` its answer is not kept either.
//!
//! A request answered here does not reach the function, so it does not count
//! against the function's rate limit or record what the function records per
//! call. Entries live in this process: replicas each keep their own, which is
//! safe because an entry is only ever the answer its function gave.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Bytes an entry costs beyond its body and headers (the map's and the
/// queue's share, the entry's fields).
const ENTRY_OVERHEAD: usize = 160;

/// Responses kept for reuse, up to a budget of bytes.
pub struct EdgeCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

/// Leave to keep one response, and for how long: what
/// [`EdgeCache::keeps`] found in its headers, for [`EdgeCache::put`].
#[derive(Debug, Clone, Copy)]
pub struct Keep {
    lifetime: Duration,
}

/// How one request may use the cache: its key, and whether it may be
/// answered from the cache and whether its answer may be kept.
#[derive(Debug, Clone)]
pub struct RequestKey {
    hash: u128,
    credential: Option<HeaderValue>,
    lookup: bool,
    store: bool,
}

#[derive(Default)]
struct Entries {
    map: HashMap<u128, Entry>,
    /// Keys in the order they were stored, with the serial of the entry
    /// stored then: the oldest go first when the budget is exceeded.
    order: VecDeque<(u128, u64)>,
    bytes: usize,
    next_serial: u64,
}

struct Entry {
    serial: u64,
    credential: Option<HeaderValue>,
    stored: Instant,
    expires: Instant,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    size: usize,
}

impl EdgeCache {
    /// A cache holding at most `capacity` bytes of responses; 0 keeps none.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// The key of a request for `route` (spin.toml's route of the function
    /// that would answer it), or `None` when the cache is off or the request
    /// may neither be answered from it nor have its answer kept.
    pub fn key(
        &self,
        route: &str,
        method: &Method,
        uri: &http::Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<RequestKey> {
        if self.capacity == 0 {
            return None;
        }
        let directives = Directives::of(headers.get_all(header::CACHE_CONTROL));
        let pragma_no_cache = headers
            .get_all(header::PRAGMA)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.contains("no-cache")));
        let lookup = !(directives.no_cache
            || directives.no_store
            || directives.max_age == Some(0)
            || pragma_no_cache);
        let store = !directives.no_store;
        if !lookup && !store {
            return None;
        }
        let credential = headers.get(header::AUTHORIZATION).cloned();
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for part in [
            route.as_bytes(),
            method.as_str().as_bytes(),
            uri.path_and_query().map_or("", |p| p.as_str()).as_bytes(),
            credential.as_ref().map_or(&b""[..], HeaderValue::as_bytes),
            body,
        ] {
            // Each part's length first, so no two splits of one byte string collide.
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        Some(RequestKey {
            hash: hasher.digest128(),
            credential,
            lookup,
            store,
        })
    }

    /// The kept answer to `key`'s request, with its `Age`, if it is fresh.
    pub fn get(&self, key: &RequestKey) -> Option<Response<Bytes>> {
        self.get_at(key, Instant::now())
    }

    /// Whether a response with `status` and `headers` to `key`'s request may
    /// be kept, and for how long (its `max-age`, within the request's
    /// token), so its body is worth collecting for [`EdgeCache::put`].
    pub fn keeps(&self, key: &RequestKey, status: StatusCode, headers: &HeaderMap) -> Option<Keep> {
        self.lifetime(key, status, headers, unix_now())
            .map(|lifetime| Keep { lifetime })
    }

    /// Keeps the response that [`EdgeCache::keeps`] allowed, with its whole
    /// `body`, as the answer to `key`'s request (unless the body is not the
    /// length its headers declare, or too large).
    pub fn put(
        &self,
        key: &RequestKey,
        keep: Keep,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
    ) {
        self.store(key, keep.lifetime, status, headers, body, Instant::now());
    }

    /// Bytes of responses held now.
    #[cfg(test)]
    fn held_bytes(&self) -> usize {
        self.lock().bytes
    }

    fn get_at(&self, key: &RequestKey, now: Instant) -> Option<Response<Bytes>> {
        if !key.lookup {
            return None;
        }
        let mut entries = self.lock();
        let entry = entries.map.get(&key.hash)?;
        if entry.credential != key.credential {
            return None;
        }
        if entry.expires <= now {
            entries.remove(key.hash);
            return None;
        }
        let mut response = Response::new(entry.body.clone());
        *response.status_mut() = entry.status;
        *response.headers_mut() = entry.headers.clone();
        let age = now.saturating_duration_since(entry.stored).as_secs();
        response
            .headers_mut()
            .insert(header::AGE, HeaderValue::from(age));
        Some(response)
    }

    /// [`EdgeCache::keeps`] and [`EdgeCache::put`] at the given times.
    #[cfg(test)]
    fn put_at(
        &self,
        key: &RequestKey,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        now: Instant,
        unix_now: i64,
    ) {
        if let Some(lifetime) = self.lifetime(key, status, headers, unix_now) {
            self.store(key, lifetime, status, headers, body, now);
        }
    }

    fn store(
        &self,
        key: &RequestKey,
        lifetime: Duration,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        now: Instant,
    ) {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared != Some(body.len()) {
            return;
        }
        let size = entry_size(key, headers, body);
        if size > self.max_entry() {
            return;
        }
        let mut kept = headers.clone();
        // Hop-by-hop and per-request headers are not part of the answer.
        for name in [header::CONNECTION, header::DATE, header::AGE] {
            kept.remove(name);
        }
        kept.remove("x-request-id");
        let mut entries = self.lock();
        entries.remove(key.hash);
        let serial = entries.next_serial;
        entries.next_serial += 1;
        entries.map.insert(
            key.hash,
            Entry {
                serial,
                credential: key.credential.clone(),
                stored: now,
                expires: now + lifetime,
                status,
                headers: kept,
                body: body.clone(),
                size,
            },
        );
        entries.order.push_back((key.hash, serial));
        entries.bytes += size;
        while entries.bytes > self.capacity {
            let Some((hash, serial)) = entries.order.pop_front() else {
                break;
            };
            if entries.map.get(&hash).is_some_and(|e| e.serial == serial) {
                entries.remove(hash);
            }
        }
    }

    /// How long a response may be kept: its `max-age`, cut to what is left
    /// of the request's token; `None` when it may not be kept.
    fn lifetime(
        &self,
        key: &RequestKey,
        status: StatusCode,
        headers: &HeaderMap,
        unix_now: i64,
    ) -> Option<Duration> {
        if !key.store
            || status != StatusCode::OK
            || headers.contains_key(header::VARY)
            || headers.contains_key(header::SET_COOKIE)
            || !headers.contains_key(header::CONTENT_LENGTH)
        {
            return None;
        }
        let directives = Directives::of(headers.get_all(header::CACHE_CONTROL));
        if directives.no_store || directives.no_cache {
            return None;
        }
        let mut seconds = directives.max_age.filter(|&s| s > 0)?;
        if let Some(credential) = &key.credential {
            // A credential that is not a token with an expiry cannot bound
            // the entry's life, so its answers are not kept.
            let token = shared::auth::bearer(credential.to_str().ok()).ok()?;
            let left = shared::auth::unverified_expiry(token)? - unix_now;
            seconds = seconds.min(u64::try_from(left).ok().filter(|&s| s > 0)?);
        }
        Some(Duration::from_secs(seconds))
    }

    /// The largest single entry: an eighth of the budget, so one large
    /// answer cannot push out everything else.
    fn max_entry(&self) -> usize {
        self.capacity / 8
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // An entry is written whole under the lock, so a panic elsewhere
        // while holding it leaves nothing half-written.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Entries {
    fn remove(&mut self, hash: u128) {
        if let Some(entry) = self.map.remove(&hash) {
            self.bytes -= entry.size;
        }
        // Its place in `order` goes when it reaches the front (the serial
        // no longer matches); when the queue holds many such places, it is
        // compacted so it stays proportional to the entries.
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order
                .retain(|(hash, serial)| map.get(hash).is_some_and(|e| e.serial == *serial));
        }
    }
}

fn entry_size(key: &RequestKey, headers: &HeaderMap, body: &Bytes) -> usize {
    let headers: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    ENTRY_OVERHEAD + body.len() + headers + key.credential.as_ref().map_or(0, HeaderValue::len)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The `Cache-Control` directives the cache acts on.
#[derive(Debug, Default, PartialEq, Eq)]
struct Directives {
    no_cache: bool,
    no_store: bool,
    max_age: Option<u64>,
}

impl Directives {
    fn of(values: header::GetAll<'_, HeaderValue>) -> Self {
        let mut directives = Self::default();
        for value in values {
            let Ok(value) = value.to_str() else {
                // A value that cannot be read may say anything: keep nothing.
                directives.no_store = true;
                continue;
            };
            for directive in value.split(',') {
                let (name, argument) = directive
                    .split_once('=')
                    .map_or((directive, None), |(n, a)| (n, Some(a)));
                let name = name.trim();
                if name.eq_ignore_ascii_case("no-cache") {
                    directives.no_cache = true;
                } else if name.eq_ignore_ascii_case("no-store") {
                    directives.no_store = true;
                } else if name.eq_ignore_ascii_case("max-age") {
                    // An unreadable max-age makes the response stale (RFC 9111 4.2.1).
                    let seconds = argument
                        .and_then(|a| a.trim().trim_matches('"').parse::<u64>().ok())
                        .unwrap_or(0);
                    directives.max_age =
                        Some(directives.max_age.map_or(seconds, |m| m.min(seconds)));
                }
            }
        }
        directives
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::auth::{Role, sign, user_claims};

    const SECRET: &[u8] = b"super-secret-jwt-token-with-at-least-32-characters-long";
    const ROUTE: &str = "/functions/v1/recommendations";
    const NOW: i64 = 1_800_000_000;

    fn bearer(sub: &str, exp_in: i64) -> String {
        let token = sign(
            &user_claims(sub, Role::Authenticated, NOW - 10, exp_in + 10),
            SECRET,
        );
        format!("Bearer {token}")
    }

    fn request(
        cache: &EdgeCache,
        auth: &str,
        body: &str,
        extra: &[(&str, &str)],
    ) -> Option<RequestKey> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(auth).expect("header"),
        );
        for (name, value) in extra {
            headers.append(
                header::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        let uri: http::Uri = ROUTE.parse().expect("uri");
        cache.key(ROUTE, &Method::POST, &uri, &headers, body.as_bytes())
    }

    fn answer(cache_control: &str, body: &str) -> (HeaderMap, Bytes) {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_str(cache_control).expect("value"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        (headers, Bytes::from(body.to_string()))
    }

    const ALICE: &str = "6f1d1c2e-8a4b-4c59-9e2f-1a2b3c4d5e6f";
    const BOB: &str = "0c6a1b2e-3d4f-4a5b-8c6d-7e8f9a0b1c2d";

    #[test]
    fn a_kept_answer_is_found_by_the_same_request_only() {
        let cache = EdgeCache::new(1 << 20);
        let alice = bearer(ALICE, 3600);
        let key = request(&cache, &alice, "{\"a\":1}", &[]).expect("key");
        let (headers, body) = answer("private, max-age=300", "{\"cached\":true}");
        let stored = Instant::now();
        cache.put_at(&key, StatusCode::OK, &headers, &body, stored, NOW);

        let later = stored + Duration::from_secs(7);
        let hit = cache.get_at(&key, later).expect("a hit");
        assert_eq!(hit.status(), StatusCode::OK);
        assert_eq!(hit.body(), &body);
        assert_eq!(hit.headers()[header::AGE], "7");
        assert_eq!(hit.headers()[header::CACHE_CONTROL], "private, max-age=300");

        let other_body = request(&cache, &alice, "{\"a\":2}", &[]).expect("key");
        assert!(cache.get_at(&other_body, later).is_none());
        let bob = request(&cache, &bearer(BOB, 3600), "{\"a\":1}", &[]).expect("key");
        assert!(cache.get_at(&bob, later).is_none());
    }

    #[test]
    fn an_answer_lives_for_its_max_age_and_never_past_its_token() {
        let cache = EdgeCache::new(1 << 20);
        let (headers, body) = answer("private, max-age=300", "{}");
        let stored = Instant::now();
        let long = request(&cache, &bearer(ALICE, 3600), "{}", &[]).expect("key");
        cache.put_at(&long, StatusCode::OK, &headers, &body, stored, NOW);
        assert!(
            cache
                .get_at(&long, stored + Duration::from_secs(299))
                .is_some()
        );
        assert!(
            cache
                .get_at(&long, stored + Duration::from_secs(300))
                .is_none()
        );
        assert_eq!(
            cache.held_bytes(),
            0,
            "an expired entry is dropped when found"
        );

        let short = request(&cache, &bearer(ALICE, 20), "{}", &[]).expect("key");
        cache.put_at(&short, StatusCode::OK, &headers, &body, stored, NOW);
        assert!(
            cache
                .get_at(&short, stored + Duration::from_secs(19))
                .is_some()
        );
        assert!(
            cache
                .get_at(&short, stored + Duration::from_secs(20))
                .is_none()
        );

        let expired = request(&cache, &bearer(ALICE, -5), "{}", &[]).expect("key");
        cache.put_at(&expired, StatusCode::OK, &headers, &body, stored, NOW);
        assert!(cache.get_at(&expired, stored).is_none());

        let opaque = request(&cache, "Bearer not-a-jwt", "{}", &[]).expect("key");
        cache.put_at(&opaque, StatusCode::OK, &headers, &body, stored, NOW);
        assert!(cache.get_at(&opaque, stored).is_none());
    }

    #[test]
    fn only_an_explicitly_reusable_whole_200_is_kept() {
        let cache = EdgeCache::new(1 << 20);
        let key = request(&cache, &bearer(ALICE, 3600), "{}", &[]).expect("key");
        let now = Instant::now();
        let kept = |status: StatusCode, headers: &HeaderMap, body: &Bytes| {
            cache.put_at(&key, status, headers, body, now, NOW);
            cache.get_at(&key, now).is_some()
        };
        let (headers, body) = answer("private, max-age=60", "{}");
        assert!(!kept(StatusCode::TOO_MANY_REQUESTS, &headers, &body));
        assert!(!kept(StatusCode::BAD_REQUEST, &headers, &body));
        for cache_control in [
            "no-store, max-age=60",
            "max-age=60, no-cache",
            "max-age=0",
            "max-age=soon",
            "private",
        ] {
            let (headers, body) = answer(cache_control, "{}");
            assert!(!kept(StatusCode::OK, &headers, &body), "{cache_control}");
        }
        let mut varies = headers.clone();
        varies.insert(header::VARY, HeaderValue::from_static("accept-language"));
        assert!(!kept(StatusCode::OK, &varies, &body));
        let mut unsized_ = headers.clone();
        unsized_.remove(header::CONTENT_LENGTH);
        assert!(!kept(StatusCode::OK, &unsized_, &body));
        let truncated = Bytes::from_static(b"{");
        assert!(!kept(StatusCode::OK, &headers, &truncated));
        assert!(kept(StatusCode::OK, &headers, &body));
    }

    #[test]
    fn the_request_can_bypass_the_cache() {
        let cache = EdgeCache::new(1 << 20);
        let alice = bearer(ALICE, 3600);
        let (headers, body) = answer("private, max-age=60", "{}");
        let now = Instant::now();
        let plain = request(&cache, &alice, "{}", &[]).expect("key");
        cache.put_at(&plain, StatusCode::OK, &headers, &body, now, NOW);
        for bypass in [
            ("cache-control", "no-cache"),
            ("cache-control", "max-age=0"),
            ("pragma", "no-cache"),
        ] {
            let key = request(&cache, &alice, "{}", &[bypass]).expect("the answer may be kept");
            assert!(cache.get_at(&key, now).is_none(), "{bypass:?}");
        }
        assert!(request(&cache, &alice, "{}", &[("cache-control", "no-store")]).is_none());
        assert!(cache.get_at(&plain, now).is_some());
        assert!(
            EdgeCache::new(0)
                .key(
                    ROUTE,
                    &Method::POST,
                    &"/".parse().expect("uri"),
                    &HeaderMap::new(),
                    b""
                )
                .is_none()
        );
    }

    #[test]
    fn the_oldest_entries_go_when_the_budget_is_spent() {
        let body = "x".repeat(1000);
        let (headers, body) = answer("max-age=60", &body);
        // Room for about thirty entries of ~1.2 kB.
        let big = EdgeCache::new(8 * 5000);
        let now = Instant::now();
        let alice = bearer(ALICE, 3600);
        let keys: Vec<RequestKey> = (0..40)
            .map(|i| request(&big, &alice, &i.to_string(), &[]).expect("key"))
            .collect();
        for key in &keys {
            big.put_at(key, StatusCode::OK, &headers, &body, now, NOW);
            assert!(big.held_bytes() <= 8 * 5000);
        }
        assert!(big.get_at(&keys[0], now).is_none(), "the oldest went");
        assert!(big.get_at(&keys[39], now).is_some(), "the newest stayed");
        let held = keys.iter().filter(|k| big.get_at(k, now).is_some()).count();
        assert!((20..40).contains(&held), "{held} entries held");
        // One answer larger than an eighth of the budget is not kept at all.
        let huge = "y".repeat(8 * 5000 / 8 + 1);
        let (huge_headers, huge_body) = answer("max-age=60", &huge);
        let key = request(&big, &alice, "huge", &[]).expect("key");
        big.put_at(&key, StatusCode::OK, &huge_headers, &huge_body, now, NOW);
        assert!(big.get_at(&key, now).is_none());
    }

    #[test]
    fn directives_are_read_as_rfc_9111_says() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=\"120\""),
        );
        headers.append(
            header::CACHE_CONTROL,
            HeaderValue::from_static("Max-Age=60"),
        );
        assert_eq!(
            Directives::of(headers.get_all(header::CACHE_CONTROL)),
            Directives {
                no_cache: false,
                no_store: false,
                max_age: Some(60)
            }
        );
        let mut headers = HeaderMap::new();
        headers.append(header::CACHE_CONTROL, HeaderValue::from_static("NO-STORE"));
        assert!(Directives::of(headers.get_all(header::CACHE_CONTROL)).no_store);
    }
}
