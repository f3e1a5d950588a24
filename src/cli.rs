//! The command line: one `Cli`, parsed once and passed down.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// spinbase: Supabase edge functions as Spin components, served by wasmtime against PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "spinbase", version, about)]
pub struct Cli {
    /// The Spin manifest.
    #[arg(
        long,
        short = 'f',
        global = true,
        env = "SPINBASE_MANIFEST",
        default_value = "spin.toml"
    )]
    pub manifest: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every component's build command from spin.toml and precompile the results.
    Build(EngineArgs),
    /// Build what is stale, prepare and migrate the database, and serve.
    Up(UpArgs),
    /// Apply pending migrations.
    Migrate(DatabaseArgs),
    /// Print a JWT signed with the configured secret (and register the user locally).
    Token(TokenArgs),
}

/// Where the database is.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL; default: the local server at 127.0.0.1:5432 (database `spinbase`),
    /// else a private cluster when PostgreSQL's binaries are installed.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

/// The environment variable of `--db-pool-size`.
pub const DB_POOL_SIZE_ENV: &str = "SPINBASE_DB_POOL_SIZE";

/// Database connections per address when `--db-pool-size` is not given.
pub const DEFAULT_DB_POOL_SIZE: usize = 16;

/// Memory for the edge cache when `--edge-cache-mib` is not given, in MiB.
pub const DEFAULT_EDGE_CACHE_MIB: usize = 64;

/// The environment variable of `--idle-spin-us`.
pub const IDLE_SPIN_ENV: &str = "SPINBASE_IDLE_SPIN_US";

/// How long an idle HTTP thread polls before it sleeps when
/// `--idle-spin-us` is not given, in microseconds.
pub const DEFAULT_IDLE_SPIN_US: u64 = 200;

/// `spinbase up`.
#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Address to listen on (Supabase's local API port by default).
    #[arg(long, env = "SPINBASE_LISTEN", default_value = "127.0.0.1:54321")]
    pub listen: SocketAddr,
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Skip building components (serve the Wasm files as they are).
    #[arg(long)]
    pub no_build: bool,
    /// Deadline for a function's response headers, in milliseconds.
    #[arg(long, env = "SPINBASE_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "SPINBASE_MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Instance pool sizing.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Database connections per address, shared out among the HTTP threads.
    #[arg(long, env = DB_POOL_SIZE_ENV, default_value_t = DEFAULT_DB_POOL_SIZE)]
    pub db_pool_size: usize,
    /// Threads serving HTTP, each with its own connections (default: one per core).
    #[arg(long, env = "SPINBASE_HTTP_THREADS")]
    pub http_threads: Option<usize>,
    /// Memory for the edge cache, which answers a repeated request with the
    /// response its function marked `Cache-Control: private, max-age=N`,
    /// without running the function; 0 turns it off.
    #[arg(long, env = "SPINBASE_EDGE_CACHE_MIB", default_value_t = DEFAULT_EDGE_CACHE_MIB)]
    pub edge_cache_mib: usize,
    /// How long an idle HTTP thread polls for work before it sleeps, in
    /// microseconds; 0 sleeps at once. Saves the wake-up of a halted vCPU
    /// per request at low concurrency, for at most this much CPU per idle
    /// period.
    #[arg(long, env = IDLE_SPIN_ENV, default_value_t = DEFAULT_IDLE_SPIN_US)]
    pub idle_spin_us: u64,
}

impl UpArgs {
    /// The number of HTTP threads: as asked, else one per core.
    pub fn http_threads(&self) -> usize {
        self.http_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }
}

/// Sizing of the instance pool (part of the compiled code's identity).
#[derive(Debug, Clone, Copy, Args)]
pub struct EngineArgs {
    /// Linear memory one instance may use, in MiB.
    #[arg(long, env = "SPINBASE_MAX_MEMORY_MIB", default_value_t = 128)]
    pub max_memory_mib: usize,
    /// Requests running at once; more wait for a free instance.
    #[arg(long, env = "SPINBASE_MAX_INSTANCES", default_value_t = 256)]
    pub max_instances: u32,
}

impl EngineArgs {
    /// The engine limits these flags ask for.
    pub fn limits(&self) -> crate::engine::EngineLimits {
        crate::engine::EngineLimits {
            max_instances: self.max_instances,
            max_memory_bytes: self.max_memory_mib << 20,
        }
    }
}

/// `spinbase token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The user id (uuid); required for role authenticated.
    #[arg(long)]
    pub sub: Option<String>,
    /// The role.
    #[arg(long, default_value = "authenticated", value_parser = ["authenticated", "anon", "service_role"])]
    pub role: String,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl: i64,
    /// The user's email, stored in auth.users when the user is registered.
    #[arg(long)]
    pub email: Option<String>,
    /// Where to register the user (auth.users), so rows referencing it can be written.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Do not touch the database.
    #[arg(long)]
    pub no_register: bool,
}
