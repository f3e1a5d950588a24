//! spinbase: a wasmtime host that serves Spin components as Supabase-style
//! edge functions (`/functions/v1/<name>`) against PostgreSQL.

pub mod cli;
pub mod component_build;
pub mod database;
pub mod deferred_write;
pub mod edge_cache;
pub mod engine;
pub mod host;
pub mod idle_spin;
pub mod log_sink;
pub mod manifest;
pub mod ready;
pub mod server;
pub mod token;
pub mod up;
