//! `spin:postgres/postgres@4.0.0` on pools of tokio-postgres connections.
//!
//! A guest's `connection` resource holds one pooled connection for its whole
//! life, so a transaction spans several `query`/`execute` calls. When the
//! resource is dropped (at the latest, with the request's store) the
//! connection is reset before another request's first statement runs: at
//! once if it may hold a transaction, a lock or a listener, else in the same
//! round trip as the next borrower's first statement, or after a short idle
//! time.

use super::InstanceState;
use super::bindings::spin::postgres::postgres::{
    self as pg, Column, DbDataType, DbValue, Error as PgError, ParameterValue, QueryError, RowSet,
};
use bytes::{BufMut, BytesMut};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{NoTls, Statement};
use wasmtime::component::Resource;

/// What a returned connection clears once its transaction has ended, so the
/// next request inherits nothing: no role, no settings (claims), no
/// listeners or locks.
macro_rules! reset_session {
    () => {
        "RESET SESSION AUTHORIZATION; RESET ALL; UNLISTEN *; SELECT pg_advisory_unlock_all()"
    };
}

/// The reset of a returned connection that is not known to be inside a
/// transaction block. `BEGIN; ROLLBACK` is silent when there is none, where a
/// bare `ROLLBACK` warns "no transaction in progress" into the server's log
/// on nearly every return: that log write made the reset cost more than a
/// cache hit's own statement. It still ends a transaction left open, with a
/// warning (see [`ROLLBACK_THEN_RESET_SQL`] for the known case).
const RESET_SQL: &str = concat!("BEGIN; ROLLBACK; ", reset_session!());

/// A reset owed by the previous borrower, then the `BEGIN` this borrower
/// deferred, sent together ahead of its first statement.
const RESET_THEN_BEGIN_SQL: &str = concat!("BEGIN; ROLLBACK; ", reset_session!(), "; BEGIN");

/// The reset of a connection returned inside a transaction block, or after
/// a statement failed (its transaction may be aborted, where `BEGIN` itself
/// fails): `ROLLBACK` first, which is silent when a transaction is open.
/// `BEGIN` in an open transaction warns "there is already a transaction in
/// progress" into the server's log, once per request cancelled mid-way
/// (a client gone, a timeout).
const ROLLBACK_THEN_RESET_SQL: &str = concat!("ROLLBACK; ", reset_session!());

/// How long a connection returned with its reset owed may wait in the pool
/// before the pool resets it without waiting for a borrower. Under load the
/// next borrower takes it (and sends the reset with its first statement) far
/// sooner; this bounds how long an idle connection keeps a finished
/// request's settings, which no one can observe in the meantime.
const RESET_OWED_AT_MOST: Duration = Duration::from_millis(20);

/// Prepared statements kept per connection; the cache is cleared past this.
const STATEMENT_CACHE_LIMIT: usize = 512;

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// Pools of connections, one per database address, shared by all components.
pub struct PgPools {
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    max_size: usize,
    connect_timeout: Duration,
}

struct Pool {
    config: tokio_postgres::Config,
    idle: Mutex<Vec<PgClient>>,
    permits: Arc<Semaphore>,
    /// A task will reset the idle connections whose reset is still owed.
    sweep_scheduled: AtomicBool,
}

/// A connection and its prepared statements.
pub struct PgClient {
    client: tokio_postgres::Client,
    statements: HashMap<String, Statement>,
    /// The previous borrower owes [`RESET_SQL`]: it goes out in the same
    /// round trip as this borrower's first statement, ahead of it, so
    /// returning a clean connection costs no round trip of its own.
    reset_owed: bool,
    /// What this borrower did that may outlast its statements.
    held: Held,
}

/// What a borrower may have left on its connection beyond session settings:
/// such a connection is reset as soon as it is returned, never later.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Held {
    /// A transaction block is open, with whatever locks it took.
    transaction: bool,
    /// A session-level lock or listener, or raw use of the client that the
    /// pool cannot follow.
    session: bool,
    /// A statement failed: a transaction may be aborted, where only a
    /// rollback is accepted.
    failed: bool,
}

impl Held {
    fn anything(self) -> bool {
        self.transaction || self.session || self.failed
    }

    /// The reset of a connection returned holding this: `ROLLBACK` first
    /// where a transaction is known to be open or may be aborted; where only
    /// the session is held, the transaction's state is unknown (raw use of
    /// the client), and `BEGIN; ROLLBACK` ends one if there is one.
    fn reset_sql(self) -> &'static str {
        if self.transaction || self.failed {
            ROLLBACK_THEN_RESET_SQL
        } else {
            RESET_SQL
        }
    }

    /// Follows what `sql` does to the transaction and session if it succeeds
    /// (a failure is recorded in `failed`, which makes the reset roll back).
    fn track(&mut self, sql: &str) {
        match session_effect(sql) {
            SessionEffect::OpensTransaction => self.transaction = true,
            SessionEffect::EndsTransaction => self.transaction = false,
            SessionEffect::HoldsSession => self.session = true,
            SessionEffect::None => {}
        }
    }
}

/// What a statement does beyond its own execution, as far as the returned
/// connection's reset is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionEffect {
    OpensTransaction,
    EndsTransaction,
    /// May take a session-level advisory lock or start listening.
    HoldsSession,
    None,
}

/// Classifies a statement by its text. Errs on the side of holding: a
/// statement that merely mentions advisory locks or listening makes the
/// connection's reset immediate, which only costs the deferral.
fn session_effect(sql: &str) -> SessionEffect {
    let sql = sql.trim_start().to_ascii_lowercase();
    let first = sql
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default();
    match first {
        "begin" | "start" => SessionEffect::OpensTransaction,
        "commit" | "end" | "abort" | "rollback" => {
            if sql.contains("chain") && !sql.contains("no chain") {
                SessionEffect::OpensTransaction
            } else if first == "rollback" && sql.contains(" to ") {
                SessionEffect::None
            } else {
                SessionEffect::EndsTransaction
            }
        }
        "prepare" if sql.contains("transaction") => SessionEffect::EndsTransaction,
        _ if sql.contains("advisory") || sql.contains("listen") => SessionEffect::HoldsSession,
        _ => SessionEffect::None,
    }
}

/// A connection lent to one guest `connection` resource.
pub struct PooledClient {
    client: Option<PgClient>,
    pool: Arc<Pool>,
    permit: Option<OwnedSemaphorePermit>,
}

/// The host-side state of a guest's `connection` resource.
pub struct PgConnection {
    client: PooledClient,
    /// A `BEGIN` the guest ran that is not sent yet: it goes out with the
    /// next statement, in the same round trip.
    begin_deferred: bool,
}

impl PgConnection {
    async fn query(&mut self, sql: &str, params: Vec<ParameterValue>) -> Result<RowSet, PgError> {
        if self.defer_begin(sql, &params) {
            return Ok(RowSet {
                columns: Vec::new(),
                rows: Vec::new(),
            });
        }
        let begin = std::mem::take(&mut self.begin_deferred);
        self.client.query(sql, params, begin).await
    }

    async fn execute(&mut self, sql: &str, params: Vec<ParameterValue>) -> Result<u64, PgError> {
        if self.defer_begin(sql, &params) {
            return Ok(0);
        }
        let begin = std::mem::take(&mut self.begin_deferred);
        self.client.execute(sql, params, begin).await
    }

    /// Holds back a plain `BEGIN` to send with the next statement; whether
    /// `sql` was one. From here on the connection counts as in a transaction.
    fn defer_begin(&mut self, sql: &str, params: &[ParameterValue]) -> bool {
        if !is_plain_begin(sql, params) {
            return false;
        }
        self.begin_deferred = true;
        self.client.held.transaction = true;
        true
    }
}

/// A `BEGIN` (or `START TRANSACTION`) without options or parameters: it cannot
/// fail on a healthy connection, so answering it before it reaches the server
/// changes nothing the guest can observe but saves a round trip per transaction.
fn is_plain_begin(sql: &str, params: &[ParameterValue]) -> bool {
    let sql = sql.trim().trim_end_matches(';').trim_end();
    params.is_empty()
        && (sql.eq_ignore_ascii_case("begin")
            || sql.eq_ignore_ascii_case("begin transaction")
            || sql.eq_ignore_ascii_case("begin work")
            || sql.eq_ignore_ascii_case("start transaction"))
}

impl PgPools {
    /// Pools holding at most `max_size` connections per address.
    pub fn new(max_size: usize) -> Arc<Self> {
        Arc::new(Self {
            pools: Mutex::new(HashMap::new()),
            max_size: max_size.max(1),
            connect_timeout: Duration::from_secs(10),
        })
    }

    /// Takes an idle connection to `address` or opens one, waiting while the pool is full.
    pub async fn acquire(&self, address: &str) -> Result<PooledClient, String> {
        let pool = self.pool(address)?;
        let permit =
            tokio::time::timeout(self.connect_timeout, pool.permits.clone().acquire_owned())
                .await
                .map_err(|_| "timed out waiting for a free database connection".to_string())?
                .map_err(|_| "the connection pool is closed".to_string())?;
        let idle = pool
            .idle
            .lock()
            .map_err(|_| "pool lock poisoned".to_string())?
            .pop();
        let client = match idle {
            Some(mut client) if !client.client.is_closed() => {
                client.held = Held::default();
                client
            }
            _ => {
                let mut config = pool.config.clone();
                config.connect_timeout(self.connect_timeout);
                let (client, connection) = config
                    .connect(NoTls)
                    .await
                    .map_err(|e| format!("cannot connect to the database: {e}"))?;
                tokio::spawn(async move {
                    // The connection task ends when the client is dropped or the server goes away.
                    let _ = connection.await;
                });
                PgClient {
                    client,
                    statements: HashMap::new(),
                    reset_owed: false,
                    held: Held::default(),
                }
            }
        };
        Ok(PooledClient {
            client: Some(client),
            pool,
            permit: Some(permit),
        })
    }

    fn pool(&self, address: &str) -> Result<Arc<Pool>, String> {
        let mut pools = self
            .pools
            .lock()
            .map_err(|_| "pool lock poisoned".to_string())?;
        if let Some(pool) = pools.get(address) {
            return Ok(pool.clone());
        }
        let config = tokio_postgres::Config::from_str(address)
            .map_err(|e| format!("invalid database address: {e}"))?;
        let pool = Arc::new(Pool {
            config,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(self.max_size)),
            sweep_scheduled: AtomicBool::new(false),
        });
        pools.insert(address.to_string(), pool.clone());
        Ok(pool)
    }
}

impl Pool {
    /// Puts a connection back for the next borrower.
    fn give_back(&self, client: PgClient) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(client);
        }
    }

    /// Resets `client` and gives it back; a connection whose reset fails is
    /// closed. The permit is held until then, so no borrower sees it dirty.
    async fn reset(&self, client: PgClient, sql: &str, permit: OwnedSemaphorePermit) {
        if client.client.batch_execute(sql).await.is_ok() {
            self.give_back(client);
        }
        drop(permit);
    }

    /// Makes sure idle connections do not keep their reset owed for longer
    /// than [`RESET_OWED_AT_MOST`].
    fn schedule_sweep(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        if self.sweep_scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        let pool = self.clone();
        runtime.spawn(async move {
            tokio::time::sleep(RESET_OWED_AT_MOST).await;
            pool.sweep_scheduled.store(false, Ordering::Release);
            pool.sweep();
        });
    }

    /// Resets the idle connections whose reset is still owed, each under a
    /// permit of its own (one that cannot get a permit now is left for its
    /// next borrower, who sends the reset first anyway).
    fn sweep(self: Arc<Self>) {
        let owed: Vec<(PgClient, OwnedSemaphorePermit)> = {
            let Ok(mut idle) = self.idle.lock() else {
                return;
            };
            let mut owed = Vec::new();
            let mut kept = Vec::with_capacity(idle.len());
            for client in idle.drain(..) {
                if client.reset_owed
                    && let Ok(permit) = self.permits.clone().try_acquire_owned()
                {
                    owed.push((client, permit));
                } else {
                    kept.push(client);
                }
            }
            *idle = kept;
            owed
        };
        for (mut client, permit) in owed {
            client.reset_owed = false;
            let pool = self.clone();
            tokio::spawn(async move { pool.reset(client, RESET_SQL, permit).await });
        }
    }
}

impl std::ops::Deref for PooledClient {
    type Target = PgClient;
    fn deref(&self) -> &PgClient {
        self.client.as_ref().expect("client is present until drop")
    }
}

impl std::ops::DerefMut for PooledClient {
    fn deref_mut(&mut self) -> &mut PgClient {
        self.client.as_mut().expect("client is present until drop")
    }
}

impl Drop for PooledClient {
    fn drop(&mut self) {
        let (Some(mut client), Some(permit)) = (self.client.take(), self.permit.take()) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        // A connection that ran only complete statements outside a transaction
        // block holds no lock or transaction: it goes back at once and owes
        // its reset to the next borrower's first round trip (or the sweep).
        // Anything else is reset now, off the request's path; the permit is
        // held until it is back, so a waiting request never sees it dirty.
        if !client.held.anything() {
            client.reset_owed = true;
            self.pool.give_back(client);
            drop(permit);
            self.pool.schedule_sweep(&runtime);
            return;
        }
        let sql = client.held.reset_sql();
        let pool = self.pool.clone();
        runtime.spawn(async move { pool.reset(client, sql, permit).await });
    }
}

impl PgClient {
    /// The underlying client, for host-side queries, with any reset owed
    /// by the previous borrower done first. Statements sent through it are
    /// not followed, so the connection is reset as soon as it is returned.
    pub async fn client(&mut self) -> Result<&tokio_postgres::Client, tokio_postgres::Error> {
        self.held.session = true;
        if std::mem::take(&mut self.reset_owed)
            && let Err(e) = self.client.batch_execute(RESET_SQL).await
        {
            self.held.failed = true;
            return Err(e);
        }
        Ok(&self.client)
    }

    /// Prepares `sql` once per connection and reuses the statement after.
    /// A reset still owed goes out ahead of the preparation, in the same
    /// round trip: names in `sql` resolve against the reset search path.
    pub async fn prepare(&mut self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let prepared = if std::mem::take(&mut self.reset_owed) {
            let (reset, statement) = tokio::join!(
                self.client.batch_execute(RESET_SQL),
                self.client.prepare(sql)
            );
            reset.and(statement)
        } else {
            self.client.prepare(sql).await
        };
        // A failed preparation aborts an open transaction like a failed statement.
        let statement = prepared.inspect_err(|_| self.held.failed = true)?;
        if self.statements.len() >= STATEMENT_CACHE_LIMIT {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    /// What must run before this borrower's next statement, in its round
    /// trip: the reset still owed, then the `BEGIN` deferred (if `begin`).
    fn preamble(&mut self, begin: bool) -> Option<&'static str> {
        match (std::mem::take(&mut self.reset_owed), begin) {
            (true, true) => Some(RESET_THEN_BEGIN_SQL),
            (true, false) => Some(RESET_SQL),
            (false, true) => Some("BEGIN"),
            (false, false) => None,
        }
    }

    /// Runs `statement` (the statement `sql`, after a `BEGIN` if `begin`),
    /// first sending its [`preamble`](Self::preamble) in the same round trip,
    /// and records what it leaves on the connection. Both are queued on the
    /// connection in order when first polled, so PostgreSQL runs them in
    /// order; if the preamble fails, so does the call.
    ///
    /// What the statement leaves is recorded before it is sent: a request
    /// dropped while it is in flight (its client gone, its deadline passed)
    /// returns the connection with the state the server will be in once the
    /// statement has run, so a transaction it opened is rolled back at once
    /// rather than left in the pool, and one it committed is not rolled back
    /// again (either of which the server would log as a warning).
    async fn send<T>(
        &mut self,
        sql: &str,
        begin: bool,
        statement: impl AsyncFnOnce(&tokio_postgres::Client) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, tokio_postgres::Error> {
        let preamble = self.preamble(begin);
        if begin {
            self.held.transaction = true;
        }
        self.held.track(sql);
        let result = match preamble {
            None => statement(&self.client).await,
            Some(preamble) => {
                let (before, result) =
                    tokio::join!(self.client.batch_execute(preamble), statement(&self.client));
                before.and(result)
            }
        };
        if result.is_err() {
            self.held.failed = true;
        }
        result
    }

    /// Runs `sql` (after a `BEGIN`, if `begin`) with tokio-postgres
    /// parameters, prepared once per connection, as the guest's statements run.
    pub async fn query_with(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        begin: bool,
    ) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
        let statement = self.prepare(sql).await?;
        self.send(sql, begin, async |client| {
            client.query(&statement, params).await
        })
        .await
    }

    async fn run(
        &mut self,
        sql: &str,
        params: Vec<ParameterValue>,
    ) -> Result<(Statement, Vec<SqlParam>), PgError> {
        let statement = self.prepare(sql).await.map_err(query_error)?;
        if statement.params().len() != params.len() {
            return Err(PgError::BadParameter(format!(
                "the statement has {} parameter(s) but {} value(s) were given",
                statement.params().len(),
                params.len()
            )));
        }
        Ok((statement, params.into_iter().map(SqlParam).collect()))
    }

    /// Runs a query (after a `BEGIN`, if `begin`) and converts every row to Spin's value types.
    pub async fn query(
        &mut self,
        sql: &str,
        params: Vec<ParameterValue>,
        begin: bool,
    ) -> Result<RowSet, PgError> {
        let (statement, params) = self.run(sql, params).await?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        let rows = self
            .send(sql, begin, async |client| {
                client.query(&statement, &refs).await
            })
            .await
            .map_err(query_error)?;
        let columns: Vec<Column> = statement
            .columns()
            .iter()
            .map(|c| Column {
                name: c.name().to_string(),
                data_type: data_type(c.type_()),
            })
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut values = Vec::with_capacity(columns.len());
            for (i, column) in statement.columns().iter().enumerate() {
                values.push(
                    db_value(row, i, column.type_()).map_err(PgError::ValueConversionFailed)?,
                );
            }
            out.push(values);
        }
        Ok(RowSet { columns, rows: out })
    }

    /// Runs a statement (after a `BEGIN`, if `begin`) and returns the number of rows it affected.
    pub async fn execute(
        &mut self,
        sql: &str,
        params: Vec<ParameterValue>,
        begin: bool,
    ) -> Result<u64, PgError> {
        let (statement, params) = self.run(sql, params).await?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        self.send(sql, begin, async |client| {
            client.execute(&statement, &refs).await
        })
        .await
        .map_err(query_error)
    }
}

fn query_error(e: tokio_postgres::Error) -> PgError {
    if let Some(db) = e.as_db_error() {
        let mut extras = Vec::new();
        if let Some(hint) = db.hint() {
            extras.push(("hint".to_string(), hint.to_string()));
        }
        if let Some(constraint) = db.constraint() {
            extras.push(("constraint".to_string(), constraint.to_string()));
        }
        if let Some(table) = db.table() {
            extras.push(("table".to_string(), table.to_string()));
        }
        if let Some(column) = db.column() {
            extras.push(("column".to_string(), column.to_string()));
        }
        return PgError::QueryFailed(QueryError::DbError(pg::DbError {
            as_text: e.to_string(),
            severity: db.severity().to_string(),
            code: db.code().code().to_string(),
            message: db.message().to_string(),
            detail: db.detail().map(str::to_string),
            extras,
        }));
    }
    if e.is_closed() {
        return PgError::ConnectionFailed(e.to_string());
    }
    // A conversion failure of a parameter is the guest's fault.
    let text = match std::error::Error::source(&e) {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    };
    PgError::QueryFailed(QueryError::Text(text))
}

/// A guest value bound to a statement parameter. Conversions follow the
/// parameter's type as PostgreSQL inferred it, so a guest may pass a string
/// for a uuid or jsonb parameter, or an i32 for a bigint.
#[derive(Debug)]
struct SqlParam(ParameterValue);

impl ToSql for SqlParam {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        use ParameterValue as P;
        match &self.0 {
            P::DbNull => Ok(IsNull::Yes),
            P::Boolean(v) => v.to_sql_checked(ty, out),
            P::Int8(v) => integer(i64::from(*v), ty, out),
            P::Int16(v) => integer(i64::from(*v), ty, out),
            P::Int32(v) => integer(i64::from(*v), ty, out),
            P::Int64(v) => integer(*v, ty, out),
            P::Floating32(v) => float(f64::from(*v), ty, out),
            P::Floating64(v) => float(*v, ty, out),
            P::Str(s) | P::Uuid(s) | P::Decimal(s) => text(s, ty, out),
            P::Binary(b) => b.as_slice().to_sql_checked(ty, out),
            P::Date((y, m, d)) => date(*y, *m, *d)?.to_sql_checked(ty, out),
            P::Time((h, m, s, ns)) => time(*h, *m, *s, *ns)?.to_sql_checked(ty, out),
            P::Datetime((y, mo, d, h, mi, s, ns)) => {
                let at = NaiveDateTime::new(date(*y, *mo, *d)?, time(*h, *mi, *s, *ns)?);
                datetime(at, ty, out)
            }
            P::Timestamp(secs) => {
                let at = DateTime::from_timestamp(*secs, 0)
                    .ok_or_else(|| format!("timestamp {secs} is out of range"))?;
                datetime(at.naive_utc(), ty, out)
            }
            P::Jsonb(bytes) => {
                let value: serde_json::Value = serde_json::from_slice(bytes)?;
                value.to_sql_checked(ty, out)
            }
            P::ArrayInt32(v) => v.to_sql_checked(ty, out),
            P::ArrayInt64(v) => v.to_sql_checked(ty, out),
            P::ArrayStr(v) => v.to_sql_checked(ty, out),
            P::ArrayDecimal(v) => {
                let parsed = v
                    .iter()
                    .map(|d| d.as_deref().map(Decimal::from_str).transpose())
                    .collect::<Result<Vec<_>, _>>()?;
                parsed.to_sql_checked(ty, out)
            }
            P::Interval(i) => {
                if *ty != Type::INTERVAL {
                    return Err(format!("cannot send an interval as {ty}").into());
                }
                out.put_i64(i.micros);
                out.put_i32(i.days);
                out.put_i32(i.months);
                Ok(IsNull::No)
            }
            P::RangeInt32(_) | P::RangeInt64(_) | P::RangeDecimal(_) => {
                Err("range parameters are not supported by this host".into())
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn integer(v: i64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
        Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
        Type::INT8 => v.to_sql(ty, out),
        Type::CHAR => i8::try_from(v)?.to_sql(ty, out),
        Type::OID => u32::try_from(v)?.to_sql(ty, out),
        Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => float(v as f64, ty, out),
        Type::TEXT | Type::VARCHAR => v.to_string().to_sql(ty, out),
        _ => Err(format!("cannot send an integer as {ty}").into()),
    }
}

fn float(v: f64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::FLOAT4 => (v as f32).to_sql(ty, out),
        Type::FLOAT8 => v.to_sql(ty, out),
        Type::NUMERIC => Decimal::try_from(v)?.to_sql(ty, out),
        _ => Err(format!("cannot send a float as {ty}").into()),
    }
}

fn text(s: &str, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::UUID => uuid::Uuid::parse_str(s)?.to_sql(ty, out),
        Type::JSON | Type::JSONB => serde_json::from_str::<serde_json::Value>(s)?.to_sql(ty, out),
        Type::NUMERIC => Decimal::from_str(s)?.to_sql(ty, out),
        _ => s.to_sql_checked(ty, out),
    }
}

fn datetime(at: NaiveDateTime, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    if *ty == Type::TIMESTAMPTZ {
        at.and_utc().to_sql(ty, out)
    } else {
        at.to_sql_checked(ty, out)
    }
}

fn date(y: i32, m: u8, d: u8) -> Result<NaiveDate, BoxError> {
    NaiveDate::from_ymd_opt(y, m.into(), d.into())
        .ok_or_else(|| format!("{y}-{m}-{d} is not a valid date").into())
}

fn time(h: u8, m: u8, s: u8, ns: u32) -> Result<NaiveTime, BoxError> {
    NaiveTime::from_hms_nano_opt(h.into(), m.into(), s.into(), ns)
        .ok_or_else(|| format!("{h}:{m}:{s}.{ns} is not a valid time").into())
}

/// The raw bytes of a value of a type this host does not convert.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn data_type(ty: &Type) -> DbDataType {
    match *ty {
        Type::BOOL => DbDataType::Boolean,
        Type::CHAR => DbDataType::Int8,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 | Type::OID => DbDataType::Int64,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => DbDataType::Str,
        Type::BYTEA => DbDataType::Binary,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        Type::UUID => DbDataType::Uuid,
        Type::JSON | Type::JSONB => DbDataType::Jsonb,
        Type::NUMERIC => DbDataType::Decimal,
        Type::INT4_ARRAY => DbDataType::ArrayInt32,
        Type::INT8_ARRAY => DbDataType::ArrayInt64,
        Type::NUMERIC_ARRAY => DbDataType::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY => DbDataType::ArrayStr,
        Type::INTERVAL => DbDataType::Interval,
        _ => DbDataType::Other(ty.name().to_string()),
    }
}

fn db_value(row: &tokio_postgres::Row, i: usize, ty: &Type) -> Result<DbValue, String> {
    fn get<'a, T: FromSql<'a>>(
        row: &'a tokio_postgres::Row,
        i: usize,
        f: impl FnOnce(T) -> DbValue,
    ) -> Result<DbValue, String> {
        row.try_get::<_, Option<T>>(i)
            .map(|v| v.map_or(DbValue::DbNull, f))
            .map_err(|e| format!("column {i}: {e}"))
    }
    match *ty {
        Type::BOOL => get(row, i, DbValue::Boolean),
        Type::CHAR => get(row, i, DbValue::Int8),
        Type::INT2 => get(row, i, DbValue::Int16),
        Type::INT4 => get(row, i, DbValue::Int32),
        Type::INT8 => get(row, i, DbValue::Int64),
        Type::OID => get(row, i, |v: u32| DbValue::Int64(v.into())),
        Type::FLOAT4 => get(row, i, DbValue::Floating32),
        Type::FLOAT8 => get(row, i, DbValue::Floating64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => get(row, i, DbValue::Str),
        Type::BYTEA => get(row, i, DbValue::Binary),
        Type::DATE => get(row, i, |d: NaiveDate| {
            DbValue::Date((d.year(), d.month() as u8, d.day() as u8))
        }),
        Type::TIME => get(row, i, |t: NaiveTime| {
            DbValue::Time((
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
                t.nanosecond(),
            ))
        }),
        Type::TIMESTAMP => get(row, i, datetime_value),
        Type::TIMESTAMPTZ => get(row, i, |t: DateTime<Utc>| datetime_value(t.naive_utc())),
        Type::UUID => get(row, i, |u: uuid::Uuid| DbValue::Uuid(u.to_string())),
        // jsonb's binary form is a version byte and the JSON text: pass the
        // text through instead of parsing and re-serialising it.
        Type::JSONB => get(row, i, |raw: Raw| {
            DbValue::Jsonb(raw.0.get(1..).map(<[u8]>::to_vec).unwrap_or_default())
        }),
        Type::JSON => get(row, i, |raw: Raw| DbValue::Jsonb(raw.0)),
        Type::NUMERIC => get(row, i, |d: Decimal| DbValue::Decimal(d.to_string())),
        Type::INT4_ARRAY => get(row, i, DbValue::ArrayInt32),
        Type::INT8_ARRAY => get(row, i, DbValue::ArrayInt64),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY => get(row, i, DbValue::ArrayStr),
        Type::NUMERIC_ARRAY => get(row, i, |v: Vec<Option<Decimal>>| {
            DbValue::ArrayDecimal(v.into_iter().map(|d| d.map(|d| d.to_string())).collect())
        }),
        Type::INTERVAL => get(row, i, |raw: Raw| {
            match <[u8; 16]>::try_from(raw.0.as_slice()) {
                Ok(b) => DbValue::Interval(pg::Interval {
                    micros: i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
                    days: i32::from_be_bytes([b[8], b[9], b[10], b[11]]),
                    months: i32::from_be_bytes([b[12], b[13], b[14], b[15]]),
                }),
                Err(_) => DbValue::Unsupported(raw.0),
            }
        }),
        _ => get(row, i, |raw: Raw| DbValue::Unsupported(raw.0)),
    }
}

fn datetime_value(t: NaiveDateTime) -> DbValue {
    DbValue::Datetime((
        t.year(),
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
        t.nanosecond(),
    ))
}

impl pg::Host for InstanceState {}

impl pg::HostConnection for InstanceState {
    async fn open(
        &mut self,
        address: String,
    ) -> wasmtime::Result<Result<Resource<PgConnection>, PgError>> {
        if let Err(e) = self.component.check_postgres_address(&address) {
            return Ok(Err(PgError::ConnectionFailed(e)));
        }
        let client = match self.pg.acquire(&address).await {
            Ok(client) => client,
            Err(e) => return Ok(Err(PgError::ConnectionFailed(e))),
        };
        Ok(Ok(self.table.push(PgConnection {
            client,
            begin_deferred: false,
        })?))
    }

    async fn query(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<RowSet, PgError>> {
        let connection = self.table.get_mut(&connection)?;
        Ok(connection.query(&statement, params).await)
    }

    async fn execute(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, PgError>> {
        let connection = self.table.get_mut(&connection)?;
        Ok(connection.execute(&statement, params).await)
    }

    async fn drop(&mut self, connection: Resource<PgConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_begin_is_deferred() {
        for sql in [
            "BEGIN",
            "begin;",
            " Begin Transaction ",
            "START TRANSACTION",
            "begin work",
        ] {
            assert!(is_plain_begin(sql, &[]), "{sql}");
        }
        for sql in [
            "BEGIN ISOLATION LEVEL SERIALIZABLE",
            "BEGIN; SELECT 1",
            "COMMIT",
            "SELECT 'begin'",
        ] {
            assert!(!is_plain_begin(sql, &[]), "{sql}");
        }
        assert!(!is_plain_begin("BEGIN", &[ParameterValue::Int32(1)]));
    }

    #[test]
    fn statements_are_classified_by_what_outlasts_them() {
        use SessionEffect::*;
        for (sql, effect) in [
            ("BEGIN ISOLATION LEVEL SERIALIZABLE", OpensTransaction),
            ("  start transaction read only", OpensTransaction),
            ("COMMIT", EndsTransaction),
            ("end;", EndsTransaction),
            ("ROLLBACK", EndsTransaction),
            ("abort", EndsTransaction),
            ("COMMIT AND CHAIN", OpensTransaction),
            ("rollback and no chain", EndsTransaction),
            ("ROLLBACK TO SAVEPOINT a", None),
            ("PREPARE TRANSACTION 'x'", EndsTransaction),
            ("SELECT pg_advisory_lock(1)", HoldsSession),
            ("LISTEN jobs", HoldsSession),
            ("SELECT set_config('request.jwt.claims', $1, false)", None),
            ("SELECT * FROM public.insight_cache_find($1, $2)", None),
        ] {
            assert_eq!(session_effect(sql), effect, "{sql}");
        }
        let mut held = Held::default();
        held.track("BEGIN");
        held.track("UPDATE t SET a = 1");
        assert!(held.anything());
        held.track("COMMIT");
        assert!(!held.anything());
        held.track("SELECT pg_try_advisory_lock(7)");
        assert!(held.anything(), "a session lock is held until the reset");
    }

    #[test]
    fn an_open_transaction_is_rolled_back_without_a_begin() {
        let mut held = Held::default();
        held.track("BEGIN");
        assert_eq!(held.reset_sql(), ROLLBACK_THEN_RESET_SQL);
        let failed = Held {
            failed: true,
            ..Held::default()
        };
        assert_eq!(failed.reset_sql(), ROLLBACK_THEN_RESET_SQL);
        // Raw use of the client: the transaction's state is not followed.
        let raw = Held {
            session: true,
            ..Held::default()
        };
        assert_eq!(raw.reset_sql(), RESET_SQL);
        assert!(ROLLBACK_THEN_RESET_SQL.starts_with("ROLLBACK;"));
        assert!(RESET_SQL.starts_with("BEGIN; ROLLBACK;"));
    }
}
