//! End-to-end tests: the spinbase binary serves the real components over real
//! HTTP against a real PostgreSQL; every test gets its own database.

mod analyzers;
mod assistant;
mod chat;
mod edge_cache;
mod env;
mod logistics;
mod runtime;
mod security;
