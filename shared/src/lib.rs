//! The domain crate of spinbase's edge functions: contracts, pure algorithms,
//! auth, the error envelope, CORS, and (with the `guest` feature) the Spin
//! glue every function shares: request handling, the database session with
//! row-level security, and the insight cache.
#![deny(missing_docs)]

pub mod analytics;
pub mod auth;
pub mod cache;
pub mod calendar;
pub mod chat;
pub mod cors;
pub mod error;
pub mod events;
pub mod logistics;
pub mod media;
pub mod preferences;
pub mod rate_limit;
pub mod recommendations;
pub mod validation;

#[cfg(feature = "guest")]
pub mod db;
#[cfg(feature = "guest")]
pub mod http;

pub use auth::{Claims, Role};
pub use error::ApiError;
pub use validation::ValidationError;
