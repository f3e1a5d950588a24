//! Supabase JWTs: HS256 tokens whose claims carry `sub`, `role`, `aud` and `exp`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The audience of user tokens issued by Supabase Auth.
pub const AUTHENTICATED_AUDIENCE: &str = "authenticated";

/// The statement that puts the current transaction under a caller's claims
/// and role, as PostgREST does (`set_config(.., true)` is `SET LOCAL`, so all
/// three end with the transaction): `$1` the claims JSON, `$2` the role, `$3`
/// `synchronous_commit` (`on`, or `off` for derived data and telemetry).
pub const TRANSACTION_CLAIMS_SQL: &str = "SELECT set_config('request.jwt.claims', $1, true), set_config('role', $2, true), set_config('synchronous_commit', $3, true)";

/// The database role a caller acts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The public anon key: no user.
    Anon,
    /// A signed-in user.
    Authenticated,
    /// The service key: bypasses row-level security.
    ServiceRole,
}

impl Role {
    /// The PostgreSQL role name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Anon => "anon",
            Role::Authenticated => "authenticated",
            Role::ServiceRole => "service_role",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "anon" => Some(Role::Anon),
            "authenticated" => Some(Role::Authenticated),
            "service_role" => Some(Role::ServiceRole),
            _ => None,
        }
    }
}

/// Verified claims of a token.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// The user id (`sub`); present for `authenticated`.
    pub sub: Option<String>,
    /// The role.
    pub role: Role,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// The payload exactly as signed, which the database session hands to
    /// PostgreSQL as `request.jwt.claims` (as PostgREST does).
    pub raw: String,
}

impl Claims {
    /// The user id, or an error for callers that are not a user.
    pub fn user_id(&self) -> Result<&str, AuthError> {
        self.sub.as_deref().ok_or(AuthError::NotAUser)
    }
}

/// Why a token was refused. Every variant is the caller's fault (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing Authorization header: send `Authorization: Bearer <jwt>`")]
    Missing,
    /// Not three base64url parts, or not JSON.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The header names another algorithm.
    #[error("unsupported token algorithm `{0}`: only HS256 is accepted")]
    Algorithm(String),
    /// The signature does not match the project's secret.
    #[error("invalid token signature")]
    Signature,
    /// `exp` is in the past.
    #[error("token expired")]
    Expired,
    /// A claim is missing or has a value we do not accept.
    #[error("invalid token claims: {0}")]
    Claims(String),
    /// A valid token that is not a signed-in user.
    #[error("this function requires a signed-in user; the anon key is not enough")]
    NotAUser,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct Payload {
    sub: Option<String>,
    role: Option<String>,
    exp: Option<i64>,
    aud: Option<serde_json::Value>,
}

/// Extracts the token from an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
    let header = header.ok_or(AuthError::Missing)?.trim();
    let (scheme, token) = header.split_once(' ').ok_or(AuthError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(token.trim())
}

/// Verifies an HS256 token against `secret` at time `now` (seconds since the epoch).
pub fn verify(token: &str, secret: &[u8], now: i64) -> Result<Claims, AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed(
            "expected three dot-separated parts".into(),
        ));
    };
    let header_json = decode(header, "header")?;
    let header: Header = serde_json::from_slice(&header_json)
        .map_err(|e| AuthError::Malformed(format!("header: {e}")))?;
    if header.alg != "HS256" {
        return Err(AuthError::Algorithm(header.alg));
    }
    let signature = decode(signature, "signature")?;
    // The signature covers `header.payload`, everything before the last dot.
    let signing_input = token.rsplit_once('.').map_or(token, |(input, _)| input);
    let mut mac = hmac(secret);
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| AuthError::Signature)?;

    let raw = decode(payload, "payload")?;
    let claims: Payload =
        serde_json::from_slice(&raw).map_err(|e| AuthError::Malformed(format!("payload: {e}")))?;
    let exp = claims
        .exp
        .ok_or_else(|| AuthError::Claims("`exp` is required".into()))?;
    if exp <= now {
        return Err(AuthError::Expired);
    }
    let role_name = claims
        .role
        .ok_or_else(|| AuthError::Claims("`role` is required".into()))?;
    let role = Role::parse(&role_name)
        .ok_or_else(|| AuthError::Claims(format!("unknown role `{role_name}`")))?;
    if role == Role::Authenticated {
        let sub = claims.sub.as_deref().unwrap_or_default();
        if !is_uuid(sub) {
            return Err(AuthError::Claims(
                "`sub` must be the user's uuid for role authenticated".into(),
            ));
        }
        if let Some(aud) = &claims.aud
            && !audience_contains(aud, AUTHENTICATED_AUDIENCE)
        {
            return Err(AuthError::Claims(format!(
                "`aud` must be `{AUTHENTICATED_AUDIENCE}`"
            )));
        }
    }
    let raw =
        String::from_utf8(raw).map_err(|_| AuthError::Malformed("payload is not UTF-8".into()))?;
    Ok(Claims {
        sub: claims.sub.filter(|s| !s.is_empty()),
        role,
        exp,
        raw,
    })
}

/// The `exp` a token claims, read without verifying the token. Only for a
/// cache keyed by the exact token, whose entries a function made after it
/// verified that token: an entry must not outlive the token it was made for.
pub fn unverified_expiry(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let claims: Payload = serde_json::from_slice(&decode(payload, "payload").ok()?).ok()?;
    claims.exp
}

/// Signs `payload` (a JSON object) as an HS256 token.
pub fn sign(payload: &serde_json::Value, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(payload.to_string());
    let signing_input = format!("{header}.{body}");
    let mut mac = hmac(secret);
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// The claims Supabase Auth puts in a user's access token.
pub fn user_claims(sub: &str, role: Role, issued_at: i64, ttl_secs: i64) -> serde_json::Value {
    let mut claims = serde_json::json!({
        "iss": "spinbase",
        "role": role.as_str(),
        "iat": issued_at,
        "exp": issued_at + ttl_secs,
    });
    if !sub.is_empty() {
        claims["sub"] = sub.into();
        claims["aud"] = AUTHENTICATED_AUDIENCE.into();
    }
    claims
}

fn hmac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable!())
}

fn decode(part: &str, what: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| AuthError::Malformed(format!("{what} is not base64url")))
}

fn audience_contains(aud: &serde_json::Value, expected: &str) -> bool {
    match aud {
        serde_json::Value::String(s) => s == expected,
        serde_json::Value::Array(items) => items.iter().any(|i| i.as_str() == Some(expected)),
        _ => false,
    }
}

/// Whether `s` is a canonical hyphenated UUID.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"super-secret-jwt-token-with-at-least-32-characters-long";
    const USER: &str = "6f1d1c2e-8a4b-4c59-9e2f-1a2b3c4d5e6f";

    #[test]
    fn expiry_is_read_without_the_secret() {
        let token = sign(&user_claims(USER, Role::Authenticated, 1_000, 60), SECRET);
        assert_eq!(unverified_expiry(&token), Some(1_060));
        let no_exp = sign(&serde_json::json!({"role": "anon"}), SECRET);
        assert_eq!(unverified_expiry(&no_exp), None);
        assert_eq!(unverified_expiry("not-a-token"), None);
        assert_eq!(unverified_expiry("a.!!!.c"), None);
    }

    #[test]
    fn signed_user_token_verifies() {
        let token = sign(&user_claims(USER, Role::Authenticated, 1000, 3600), SECRET);
        let claims = verify(&token, SECRET, 2000).expect("valid");
        assert_eq!(claims.sub.as_deref(), Some(USER));
        assert_eq!(claims.role, Role::Authenticated);
        assert_eq!(claims.exp, 4600);
        assert!(claims.raw.contains(USER));
    }

    #[test]
    fn forged_signature_is_rejected() {
        let token = sign(
            &user_claims(USER, Role::Authenticated, 1000, 3600),
            b"another-secret",
        );
        assert_eq!(verify(&token, SECRET, 2000), Err(AuthError::Signature));
    }

    #[test]
    fn tampered_payload_is_rejected() {
        let token = sign(&user_claims(USER, Role::Authenticated, 1000, 3600), SECRET);
        let parts: Vec<&str> = token.split('.').collect();
        let other = sign(&user_claims(USER, Role::ServiceRole, 1000, 3600), SECRET);
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            other.split('.').nth(1).unwrap_or(""),
            parts[2]
        );
        assert_eq!(verify(&forged, SECRET, 2000), Err(AuthError::Signature));
    }

    #[test]
    fn expired_token_is_rejected() {
        let token = sign(&user_claims(USER, Role::Authenticated, 1000, 60), SECRET);
        assert_eq!(verify(&token, SECRET, 1060), Err(AuthError::Expired));
    }

    #[test]
    fn alg_none_is_rejected() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let body =
            URL_SAFE_NO_PAD.encode(user_claims(USER, Role::Authenticated, 0, 99).to_string());
        assert_eq!(
            verify(&format!("{header}.{body}."), SECRET, 1),
            Err(AuthError::Algorithm("none".into()))
        );
    }

    #[test]
    fn authenticated_token_needs_uuid_sub_and_audience() {
        let mut claims = user_claims(USER, Role::Authenticated, 0, 99);
        claims["aud"] = "someone-else".into();
        assert!(matches!(
            verify(&sign(&claims, SECRET), SECRET, 1),
            Err(AuthError::Claims(_))
        ));
        let claims = user_claims("not-a-uuid", Role::Authenticated, 0, 99);
        assert!(matches!(
            verify(&sign(&claims, SECRET), SECRET, 1),
            Err(AuthError::Claims(_))
        ));
    }

    #[test]
    fn anon_key_verifies_but_is_not_a_user() {
        let anon = serde_json::json!({"iss": "supabase-demo", "role": "anon", "exp": 1983812996});
        let claims = verify(&sign(&anon, SECRET), SECRET, 1).expect("anon key is valid");
        assert_eq!(claims.role, Role::Anon);
        assert_eq!(claims.user_id(), Err(AuthError::NotAUser));
    }

    #[test]
    fn bearer_header_is_parsed() {
        assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer(Some("Basic abc")), Err(AuthError::Missing));
        assert_eq!(bearer(None), Err(AuthError::Missing));
    }
}
