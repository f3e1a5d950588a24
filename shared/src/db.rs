//! The database session of one request: one transaction in which PostgreSQL
//! sees the caller's claims (`request.jwt.claims`) and role, so row-level
//! security decides what the caller may read and write, as on Supabase.

use crate::auth::Claims;
use crate::error::ApiError;
use spin_sdk::pg4::{Connection, ParameterValue, PgError, QueryError, RowSet};

/// A database failure, classified by whose fault it is.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Row-level security or a grant refused the statement (the caller's fault).
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// A constraint refused the data (the caller's fault).
    #[error("conflicts with existing data: {0}")]
    Conflict(String),
    /// Anything else (our fault).
    #[error("database error: {0}")]
    Database(String),
}

impl SessionError {
    /// A column that could not be decoded: the schema and the code disagree.
    pub fn decode(column: &str) -> Self {
        Self::Database(format!("cannot decode column `{column}`"))
    }
}

impl From<PgError> for SessionError {
    fn from(e: PgError) -> Self {
        if let PgError::QueryFailed(QueryError::DbError(db)) = &e {
            // SQLSTATE classes: 42501 insufficient privilege (incl. RLS on
            // write), 23xxx integrity constraint violations.
            if db.code == "42501" {
                return Self::Forbidden(db.message.clone());
            }
            if db.code.starts_with("23") {
                return Self::Conflict(db.message.clone());
            }
            return Self::Database(db.as_text.clone());
        }
        Self::Database(format!("{e:?}"))
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Forbidden(m) => ApiError::Forbidden(m),
            SessionError::Conflict(m) => ApiError::BadRequest(m),
            SessionError::Database(m) => ApiError::Internal(m),
        }
    }
}

/// How a session's commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The commit returns once the transaction is on disk (user data).
    Durable,
    /// The commit returns before the flush, which follows within milliseconds
    /// (`synchronous_commit = off`): for derived data and telemetry only
    /// (cached insights, usage events). A crash in that window may lose the
    /// last such transactions whole, never half of one.
    Relaxed,
}

impl Durability {
    fn synchronous_commit(self) -> &'static str {
        match self {
            Self::Durable => "on",
            Self::Relaxed => "off",
        }
    }
}

/// One transaction under the caller's claims and role. Dropped without
/// [`Session::commit`], it rolls back: nothing is half-written.
pub struct Session {
    connection: Connection,
    open: bool,
}

impl Session {
    /// Opens a connection to `url`.
    pub fn connect(url: &str) -> Result<Connection, SessionError> {
        Ok(Connection::open(url)?)
    }

    /// Starts the transaction on `connection` as `claims`' role.
    pub fn begin(
        connection: Connection,
        claims: &Claims,
        durability: Durability,
    ) -> Result<Self, SessionError> {
        connection.execute("BEGIN", &[])?;
        let session = Self {
            connection,
            open: true,
        };
        session.query(
            crate::auth::TRANSACTION_CLAIMS_SQL,
            &[
                ParameterValue::Str(claims.raw.clone()),
                ParameterValue::Str(claims.role.as_str().to_string()),
                ParameterValue::Str(durability.synchronous_commit().to_string()),
            ],
        )?;
        Ok(session)
    }

    /// Runs a query in the transaction.
    pub fn query(&self, sql: &str, params: &[ParameterValue]) -> Result<RowSet, SessionError> {
        Ok(self.connection.query(sql, params)?)
    }

    /// Runs a statement in the transaction; returns the rows affected.
    pub fn execute(&self, sql: &str, params: &[ParameterValue]) -> Result<u64, SessionError> {
        Ok(self.connection.execute(sql, params)?)
    }

    /// Commits the transaction.
    pub fn commit(mut self) -> Result<(), SessionError> {
        self.open = false;
        self.connection.execute("COMMIT", &[])?;
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.open {
            // Best effort: the host also rolls back when the connection returns to its pool.
            let _ = self.connection.execute("ROLLBACK", &[]);
        }
    }
}
