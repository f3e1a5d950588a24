//! The request recipe every function shares: CORS, method check, token
//! verification, JSON in and out, and the error envelope.

use crate::auth::{self, Claims};
use crate::cors;
use crate::db::{Durability, Session};
use crate::error::ApiError;
use serde::de::DeserializeOwned;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::pg4::{Connection, ParameterValue};
use std::cell::RefCell;

/// Spin variable holding the database URL.
pub const DATABASE_URL_VARIABLE: &str = "database_url";
/// Spin variable holding the project's JWT secret.
pub const JWT_SECRET_VARIABLE: &str = "jwt_secret";
/// Optional Spin variable: requests per user per minute (seed 004: 60).
pub const RATE_LIMIT_VARIABLE: &str = "rate_limit_per_minute";
/// Requests per user per minute when the variable is not set.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: i32 = 60;

/// What a function serves.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// The function's name, for logs.
    pub name: &'static str,
    /// The methods it answers (OPTIONS is always answered).
    pub methods: &'static [Method],
}

/// One authenticated call.
pub struct Call {
    /// The caller's verified claims.
    pub claims: Claims,
    body: Vec<u8>,
    database_url: String,
    /// The connection the rate limiter used, handed on to the session.
    connection: RefCell<Option<Connection>>,
    now: i64,
}

impl Call {
    /// The body parsed as `T`; a 400 that names the problem otherwise.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::BadRequest(
                "request body is empty: send a JSON object".into(),
            ));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::BadRequest(format!("invalid request body: {e}")))
    }

    /// The request body as sent (to key a cached insight on the exact input).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The signed-in user's id; 401 for callers that are not a user.
    pub fn user_id(&self) -> Result<&str, ApiError> {
        self.claims
            .user_id()
            .map_err(|e| ApiError::Unauthorized(e.to_string()))
    }

    /// Starts the request's database transaction under the caller's role.
    pub fn session(&self) -> Result<Session, ApiError> {
        self.session_with(Durability::Durable)
    }

    /// [`Call::session`] whose commit need not wait for the disk: for
    /// requests that write only derived data or telemetry.
    pub fn session_with(&self, durability: Durability) -> Result<Session, ApiError> {
        let connection = match self.connection.borrow_mut().take() {
            Some(connection) => connection,
            None => Session::connect(&self.database_url)?,
        };
        Ok(Session::begin(connection, &self.claims, durability)?)
    }

    /// Seconds since the epoch when the request arrived.
    pub fn now(&self) -> i64 {
        self.now
    }
}

/// A handler's answer: a JSON value, or JSON text that is already serialised
/// (a cached insight), sent as it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A value to serialise.
    Value(serde_json::Value),
    /// Serialised JSON.
    Text(String),
}

impl From<serde_json::Value> for Answer {
    fn from(value: serde_json::Value) -> Self {
        Self::Value(value)
    }
}

/// Serves one request: `handler` runs only for an allowed method and a valid token.
pub fn serve<A: Into<Answer>>(
    req: Request,
    endpoint: &Endpoint,
    handler: impl FnOnce(&Call) -> Result<A, ApiError>,
) -> Response {
    if *req.method() == Method::Options {
        return with_cors(Response::builder().status(200).body("ok").build());
    }
    let result = authorize(&req, endpoint).and_then(|call| handler(&call));
    match result.map(Into::into) {
        Ok(Answer::Value(value)) => json_response(200, value.to_string()),
        Ok(Answer::Text(text)) => json_response(200, text),
        Err(e) => error_response(endpoint, &e),
    }
}

fn authorize(req: &Request, endpoint: &Endpoint) -> Result<Call, ApiError> {
    if !endpoint.methods.contains(req.method()) {
        return Err(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            allowed: allowed_methods(endpoint),
        });
    }
    let secret = variable(JWT_SECRET_VARIABLE)?;
    let now = now();
    let header = req.header("authorization").and_then(|h| h.as_str());
    let token = auth::bearer(header).map_err(|e| ApiError::Unauthorized(e.to_string()))?;
    let claims = auth::verify(token, secret.as_bytes(), now)
        .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
    let database_url = variable(DATABASE_URL_VARIABLE)?;
    let connection = Session::connect(&database_url)?;
    if let Some(user) = &claims.sub {
        rate_limit(&connection, user)?;
    }
    Ok(Call {
        claims,
        body: req.body().to_vec(),
        database_url,
        connection: RefCell::new(Some(connection)),
        now,
    })
}

/// Counts the request against the user's limit, in one statement outside the
/// request's transaction, so refused and failed requests count too.
fn rate_limit(connection: &Connection, user: &str) -> Result<(), ApiError> {
    let limit = spin_sdk::variables::get(RATE_LIMIT_VARIABLE)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_RATE_LIMIT_PER_MINUTE);
    let rows = connection
        .query(
            "SELECT allowed, retry_after_seconds FROM public.rate_limit_hit($1::text::uuid, $2, 60)",
            &[ParameterValue::Str(user.to_string()), ParameterValue::Int32(limit)],
        )
        .map_err(crate::db::SessionError::from)?;
    let row = rows.rows().next();
    let allowed = row.as_ref().and_then(|r| r.get::<bool>("allowed"));
    let retry_after = row
        .as_ref()
        .and_then(|r| r.get::<i32>("retry_after_seconds"));
    match (allowed, retry_after) {
        (Some(true), _) => Ok(()),
        (Some(false), Some(secs)) => Err(ApiError::RateLimited {
            retry_after_secs: secs.max(1) as u64,
        }),
        _ => Err(ApiError::Internal("rate limiter returned no row".into())),
    }
}

fn variable(name: &str) -> Result<String, ApiError> {
    spin_sdk::variables::get(name)
        .map_err(|e| ApiError::Internal(format!("variable `{name}` is not available: {e}")))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn allowed_methods(endpoint: &Endpoint) -> String {
    let mut methods: Vec<String> = endpoint.methods.iter().map(ToString::to_string).collect();
    methods.push("OPTIONS".into());
    methods.join(", ")
}

fn json_response(status: u16, body: String) -> Response {
    with_cors(
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(body)
            .build(),
    )
}

fn error_response(endpoint: &Endpoint, e: &ApiError) -> Response {
    if let ApiError::Internal(cause) = e {
        // Whose fault: ours. The client gets a generic message; the log keeps the cause.
        eprintln!("{}: internal error: {cause}", endpoint.name);
    }
    let mut response = json_response(e.status(), e.envelope().to_string());
    match e {
        ApiError::MethodNotAllowed { allowed, .. } => {
            response.set_header("allow", allowed.as_str())
        }
        ApiError::RateLimited { retry_after_secs } => {
            response.set_header("retry-after", retry_after_secs.to_string())
        }
        _ => {}
    }
    response
}

fn with_cors(mut response: Response) -> Response {
    for (name, value) in cors::HEADERS {
        response.set_header(name, value);
    }
    response
}
