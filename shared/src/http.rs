//! The request recipe every function shares: CORS, method check, token
//! verification, JSON in and out, and the error envelope.

use crate::auth::{self, Claims};
use crate::cors;
use crate::db::{Durability, Session};
use crate::error::ApiError;
use crate::rate_limit;
use crate::validation::Validate;
use serde::de::DeserializeOwned;
use spin_sdk::http::{Fields, IncomingRequest, Method, OutgoingResponse, ResponseOutparam};
use spin_sdk::pg4::{Connection, ParameterValue, Row};
use spin_sdk::wit::wasi::http0_2_0::types::OutgoingBody;
use std::cell::{Cell, RefCell};
use wasi::io::streams::StreamError;

/// Spin variable holding the database URL.
pub const DATABASE_URL_VARIABLE: &str = "database_url";
/// Spin variable holding the project's JWT secret.
pub const JWT_SECRET_VARIABLE: &str = "jwt_secret";
/// Optional Spin variable: requests per user per minute (seed 004: 60).
pub const RATE_LIMIT_VARIABLE: &str = "rate_limit_per_minute";

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
    method: Method,
    body: Vec<u8>,
    database_url: String,
    /// The connection the rate limiter used, handed on to the session.
    connection: RefCell<Option<Connection>>,
    /// Whether the request has been counted against the caller's limit.
    counted: Cell<bool>,
    now: i64,
}

impl Call {
    /// The body parsed as `T`; a 400 that names the problem otherwise.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        crate::validation::parse_body(&self.body)
    }

    /// The body parsed as `T` and validated; a 400 that names the problem otherwise.
    pub fn valid_json<T: DeserializeOwned + Validate>(&self) -> Result<T, ApiError> {
        let value: T = self.json()?;
        value.validate()?;
        Ok(value)
    }

    /// The request's method.
    pub fn method(&self) -> &Method {
        &self.method
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
        self.admit()?;
        Ok(Session::begin(
            self.take_connection()?,
            &self.claims,
            durability,
        )?)
    }

    /// The connection the rate limiter used, or a new one.
    fn take_connection(&self) -> Result<Connection, ApiError> {
        match self.connection.borrow_mut().take() {
            Some(connection) => Ok(connection),
            None => Ok(Session::connect(&self.database_url)?),
        }
    }

    /// Counts the request against the caller's limit, once; a 429 when over it.
    fn admit(&self) -> Result<(), ApiError> {
        if self.claims.sub.is_none() || self.counted.get() {
            return Ok(());
        }
        self.admit_with(|connection, user, limit| {
            let rows = connection
                .query(
                    rate_limit::COUNT_SQL,
                    &[
                        ParameterValue::Str(user.to_string()),
                        ParameterValue::Int32(limit),
                    ],
                )
                .map_err(crate::db::SessionError::from)?;
            let admission = Admission::read(rows.rows().next())?;
            Ok((admission, ()))
        })
    }

    /// Counts the request against the signed-in caller's limit with `count`:
    /// one statement, given the connection, the user and the limit, that
    /// returns the [`Admission`] and may do more in the same round trip (read
    /// a cached insight). The request must not have been counted yet, which
    /// holds for a handler's first use of the database; a 429 when over the limit.
    pub(crate) fn admit_with<T>(
        &self,
        count: impl FnOnce(&Connection, &str, i32) -> Result<(Admission, T), ApiError>,
    ) -> Result<T, ApiError> {
        let user = self.user_id()?;
        if self.counted.replace(true) {
            return Err(ApiError::Internal(
                "the request was counted against its rate limit twice".into(),
            ));
        }
        let connection = self.take_connection()?;
        let counted = count(&connection, user, rate_limit_per_minute());
        // Handed on to the request's session.
        *self.connection.borrow_mut() = Some(connection);
        let (admission, value) = counted?;
        admission.check()?;
        Ok(value)
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
    /// Serialised JSON that is the caller's answer to this exact request for
    /// `max_age_secs` more seconds, sent with `Cache-Control: private,
    /// max-age=N`: the runtime's edge cache answers the same request with the
    /// same credential from it, without running the function, until then.
    Reusable {
        /// The JSON text.
        text: String,
        /// Seconds it stays the answer.
        max_age_secs: u32,
    },
}

impl From<serde_json::Value> for Answer {
    fn from(value: serde_json::Value) -> Self {
        Self::Value(value)
    }
}

/// Serves one request: `handler` runs only for an allowed method and a valid
/// token, and the answer goes out as JSON with the CORS headers.
///
/// This works on wasi-http's resources directly rather than through
/// spin-sdk's `Request` and `Response`: a function needs the method, one
/// header and the body, and building the whole request (URI parse, every
/// header copied out of the host) and streaming the response through the
/// executor took about thirty calls into the host per request, each a
/// crossing that lifts and lowers its arguments. This takes about twenty.
pub fn serve<A: Into<Answer>>(
    request: IncomingRequest,
    response_out: ResponseOutparam,
    endpoint: &Endpoint,
    handler: impl FnOnce(&Call) -> Result<A, ApiError>,
) {
    let reply = answer(&request, endpoint, handler);
    drop(request);
    reply.send(response_out);
}

fn answer<A: Into<Answer>>(
    request: &IncomingRequest,
    endpoint: &Endpoint,
    handler: impl FnOnce(&Call) -> Result<A, ApiError>,
) -> Reply {
    let method = request.method();
    if method == Method::Options {
        return Reply::preflight();
    }
    let result = authorize(request, method, endpoint).and_then(|call| {
        let answer = handler(&call);
        // A request counts against the limit even when its handler never
        // reached the database (a malformed body, say); over the limit, the
        // caller learns that rather than the handler's answer.
        call.admit()?;
        answer
    });
    match result.map(Into::into) {
        Ok(Answer::Value(value)) => Reply::json(200, value.to_string()),
        Ok(Answer::Text(text)) => Reply::json(200, text),
        Ok(Answer::Reusable { text, max_age_secs }) => {
            let mut reply = Reply::json(200, text);
            reply.extra = Some(("cache-control", format!("private, max-age={max_age_secs}")));
            reply
        }
        Err(e) => Reply::error(endpoint, &e),
    }
}

fn authorize(
    request: &IncomingRequest,
    method: Method,
    endpoint: &Endpoint,
) -> Result<Call, ApiError> {
    if !endpoint.methods.contains(&method) {
        return Err(ApiError::MethodNotAllowed {
            method: method.to_string(),
            allowed: allowed_methods(endpoint),
        });
    }
    let secret = variable(JWT_SECRET_VARIABLE)?;
    let now = now();
    let header = header(request, "authorization");
    let token =
        auth::bearer(header.as_deref()).map_err(|e| ApiError::Unauthorized(e.to_string()))?;
    let claims = auth::verify(token, secret.as_bytes(), now)
        .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
    let database_url = variable(DATABASE_URL_VARIABLE)?;
    Ok(Call {
        claims,
        method,
        body: read_body(request)?,
        database_url,
        connection: RefCell::new(None),
        counted: Cell::new(false),
        now,
    })
}

/// The first value of the header `name` (lower case), if it is text.
fn header(request: &IncomingRequest, name: &str) -> Option<String> {
    let values = request.headers().get(name);
    values
        .into_iter()
        .next()
        .and_then(|value| String::from_utf8(value).ok())
}

/// The whole request body. The runtime caps its size before the function runs.
fn read_body(request: &IncomingRequest) -> Result<Vec<u8>, ApiError> {
    const READ_BYTES: u64 = 256 * 1024;
    let unreadable = || ApiError::BadRequest("the request body could not be read".into());
    let body = request.consume().map_err(|()| unreadable())?;
    let stream = body.stream().map_err(|()| unreadable())?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(READ_BYTES) {
            Ok(chunk) if bytes.is_empty() => bytes = chunk,
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(ApiError::BadRequest(format!(
                    "the request body could not be read: {}",
                    e.to_debug_string()
                )));
            }
        }
    }
    Ok(bytes)
}

/// A response, whole, before it is sent.
struct Reply {
    status: u16,
    json: bool,
    body: Vec<u8>,
    /// A header that only some replies carry (`allow`, `retry-after`,
    /// `cache-control`).
    extra: Option<(&'static str, String)>,
}

impl Reply {
    fn preflight() -> Self {
        Self {
            status: 200,
            json: false,
            body: b"ok".to_vec(),
            extra: None,
        }
    }

    fn json(status: u16, body: String) -> Self {
        Self {
            status,
            json: true,
            body: body.into_bytes(),
            extra: None,
        }
    }

    fn error(endpoint: &Endpoint, e: &ApiError) -> Self {
        if let ApiError::Internal(cause) = e {
            // Whose fault: ours. The client gets a generic message; the log keeps the cause.
            eprintln!("{}: internal error: {cause}", endpoint.name);
        }
        let mut reply = Self::json(e.status(), e.envelope().to_string());
        reply.extra = match e {
            ApiError::MethodNotAllowed { allowed, .. } => Some(("allow", allowed.clone())),
            ApiError::RateLimited { retry_after_secs } => {
                Some(("retry-after", retry_after_secs.to_string()))
            }
            _ => None,
        };
        reply
    }

    /// Sends the headers (with a content length, so the body goes out
    /// unchunked) and the body. A failure here means the client has gone,
    /// so it is logged, not answered.
    fn send(self, response_out: ResponseOutparam) {
        let mut fields: Vec<(String, Vec<u8>)> = cors::HEADERS
            .iter()
            .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
            .collect();
        if self.json {
            fields.push(("content-type".into(), b"application/json".to_vec()));
        }
        if let Some((name, value)) = self.extra {
            fields.push((name.into(), value.into_bytes()));
        }
        fields.push((
            "content-length".into(),
            self.body.len().to_string().into_bytes(),
        ));
        let Ok(headers) = Fields::from_list(&fields) else {
            eprintln!("the response's headers were refused");
            return;
        };
        let response = OutgoingResponse::new(headers);
        if self.status != 200 && response.set_status_code(self.status).is_err() {
            eprintln!("the response's status {} was refused", self.status);
            return;
        }
        let Ok(body) = response.body() else {
            eprintln!("the response has no body to write");
            return;
        };
        response_out.set(response);
        if let Err(e) = write_body(&body, &self.body) {
            eprintln!("the response body could not be written: {e}");
            return;
        }
        if let Err(e) = OutgoingBody::finish(body, None) {
            eprintln!("the response could not be finished: {e:?}");
        }
    }
}

/// Writes `bytes` as the host accepts them, then flushes.
fn write_body(body: &OutgoingBody, bytes: &[u8]) -> Result<(), String> {
    let stream = body.write().map_err(|()| "no stream".to_string())?;
    let failed = |e: StreamError| match e {
        StreamError::Closed => "the stream closed".to_string(),
        StreamError::LastOperationFailed(e) => e.to_debug_string(),
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        let permitted = stream.check_write().map_err(failed)?;
        if permitted == 0 {
            stream.subscribe().block();
            continue;
        }
        let (now, later) = rest.split_at(rest.len().min(permitted as usize));
        stream.write(now).map_err(failed)?;
        rest = later;
    }
    stream.blocking_flush().map_err(failed)
}

/// Whether a request was within its user's limit, as the rate limiter
/// answered (columns `allowed` and `retry_after_seconds`).
pub(crate) struct Admission {
    allowed: bool,
    retry_after_secs: i32,
}

impl Admission {
    /// Reads the limiter's row; its absence is our fault.
    pub(crate) fn read(row: Option<Row<'_>>) -> Result<Self, ApiError> {
        let allowed = row.as_ref().and_then(|r| r.get::<bool>("allowed"));
        let retry_after = row
            .as_ref()
            .and_then(|r| r.get::<i32>("retry_after_seconds"));
        match (allowed, retry_after) {
            (Some(allowed), Some(retry_after_secs)) => Ok(Self {
                allowed,
                retry_after_secs,
            }),
            _ => Err(ApiError::Internal("rate limiter returned no row".into())),
        }
    }

    fn check(self) -> Result<(), ApiError> {
        if self.allowed {
            return Ok(());
        }
        Err(ApiError::RateLimited {
            retry_after_secs: self.retry_after_secs.max(1) as u64,
        })
    }
}

fn rate_limit_per_minute() -> i32 {
    spin_sdk::variables::get(RATE_LIMIT_VARIABLE)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(rate_limit::DEFAULT_PER_MINUTE)
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
