//! `spinbase up`: build what is stale, prepare and migrate the database,
//! compile (or load from cache) and pre-link every component, then serve.

use crate::cli::UpArgs;
use crate::component_build::{self, BuildMode};
use crate::database;
use crate::edge_cache::EdgeCache;
use crate::engine::{self, CacheOutcome, EngineLimits};
use crate::host::outbound::OutboundHosts;
use crate::host::postgres::PgPools;
use crate::host::variables::AppVariables;
use crate::host::{self, ComponentEnv, InstanceLimits};
use crate::manifest::Manifest;
use crate::ready::{LoadedComponent, pool_headroom};
use crate::server::{self, App, RequestLimits};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// The app variable the runtime points at the database it prepared.
pub const DATABASE_URL_VARIABLE: &str = "database_url";

/// The project's data folder (compile cache, private PostgreSQL cluster).
pub fn data_dir(manifest: &Manifest) -> PathBuf {
    manifest.root.join(".spinbase")
}

/// The migrations folder beside spin.toml.
pub fn migrations_dir(manifest: &Manifest) -> PathBuf {
    manifest.root.join("migrations")
}

/// Runs the product until Ctrl-C or SIGTERM.
pub async fn run(manifest: Manifest, args: UpArgs) -> Result<()> {
    let started = Instant::now();
    if !args.no_build {
        eprintln!("Building components");
        component_build::build(&manifest, BuildMode::Stale)?;
    }
    let ready_from = Instant::now();
    let db = database::prepare(args.database.database_url.as_deref(), &data_dir(&manifest)).await?;
    let applied = database::migrate(&db.url, &migrations_dir(&manifest)).await?;
    for m in &applied {
        eprintln!("Applied migration {}_{}", m.version, m.name);
    }

    let overrides = BTreeMap::from([(DATABASE_URL_VARIABLE.to_string(), db.url.clone())]);
    let variables = AppVariables::resolve(&manifest, |k| std::env::var(k).ok(), &overrides)?;
    let threads = args.http_threads();
    let mut engine_limits = args.engine.limits();
    // Each HTTP thread makes its own instances ahead.
    let headroom = pool_headroom(manifest.components.len());
    engine_limits.max_instances += headroom.saturating_mul(u32::try_from(threads)?);
    let instance = InstanceLimits {
        max_memory_bytes: engine_limits.max_memory_bytes,
    };
    let engine = engine::build(engine_limits)?;
    let linker = host::linker(&engine).map_err(anyhow::Error::from)?;
    let cache_dir = data_dir(&manifest).join("cache");
    let mut loaded: BTreeMap<String, (Arc<ComponentEnv>, ProxyPre<host::InstanceState>)> =
        BTreeMap::new();
    for (id, decl) in &manifest.components {
        let load_started = Instant::now();
        let (component, outcome) =
            engine::load_component(&engine, &manifest.source_path(decl), &cache_dir)
                .with_context(|| format!("component `{id}`"))?;
        for (name, _) in component.component_type().imports(&engine) {
            tracing::debug!(component = %id, "imports {name}");
        }
        let pre = link(&linker, &component)
            .with_context(|| format!("component `{id}` cannot be linked"))?;
        let allowed = decl
            .allowed_outbound_hosts
            .iter()
            .map(|h| variables.render(h))
            .collect::<Result<Vec<_>>>()?;
        let env = ComponentEnv::new(
            id.clone(),
            variables.component_values(decl)?,
            OutboundHosts::parse(&allowed).with_context(|| format!("component `{id}`"))?,
        );
        let how = match outcome {
            CacheOutcome::Hit => "loaded from compile cache",
            CacheOutcome::Compiled => "compiled",
        };
        eprintln!(
            "Component {id}: {how} in {} ms",
            load_started.elapsed().as_millis()
        );
        loaded.insert(id.clone(), (Arc::new(env), pre));
    }

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}: is the port in use? use --listen",
                args.listen
            )
        })?;
    let limits = RequestLimits {
        timeout: Duration::from_millis(args.request_timeout_ms),
        max_body_bytes: args.max_body_bytes,
        instance,
    };
    let instances = Arc::new(Semaphore::new(args.engine.max_instances as usize));
    let edge_cache = Arc::new(EdgeCache::new(args.edge_cache_mib << 20));
    // The connections are shared out among the threads, at least one each.
    let pool_size = args.db_pool_size.div_ceil(threads);
    let apps = (0..threads)
        .map(|_| {
            let routes = manifest
                .http_routes
                .iter()
                .map(|r| {
                    let (env, pre) = &loaded[&r.component];
                    let component = LoadedComponent::new(env.clone(), pre.clone());
                    (r.clone(), Arc::new(component))
                })
                .collect();
            Arc::new(App::new(
                routes,
                limits,
                PgPools::new(pool_size),
                db.url.clone(),
                instances.clone(),
                edge_cache.clone(),
            ))
        })
        .collect();
    let address = listener.local_addr()?;
    print_banner(&manifest, address, &db.url, started, ready_from);
    server::serve(
        apps,
        listener,
        Duration::from_micros(args.idle_spin_us),
        shutdown_signal(),
    )
    .await?;
    eprintln!("Stopped");
    drop(db);
    Ok(())
}

/// Pre-links a component. Imports this host does not implement (key-value,
/// sqlite, ...) trap when called, so a component that merely links them still
/// instantiates. Stubs are added only when plain linking fails: wasmtime's
/// stubbing does not see semver-compatible definitions (`wasi:http/types@0.2.6`
/// served by a newer 0.2.x) and would shadow them with foreign resource types.
pub fn link(
    linker: &wasmtime::component::Linker<host::InstanceState>,
    component: &wasmtime::component::Component,
) -> Result<ProxyPre<host::InstanceState>> {
    let pre = match linker.instantiate_pre(component) {
        Ok(pre) => pre,
        Err(_) => {
            let mut stubbed = linker.clone();
            stubbed
                .define_unknown_imports_as_traps(component)
                .map_err(anyhow::Error::from)?;
            stubbed
                .instantiate_pre(component)
                .map_err(anyhow::Error::from)?
        }
    };
    ProxyPre::new(pre).map_err(anyhow::Error::from)
}

/// Compiles every component into the compile cache, so the next `up` starts warm.
pub fn precompile(manifest: &Manifest, limits: EngineLimits) -> Result<()> {
    let engine = engine::build(limits)?;
    let cache_dir = data_dir(manifest).join("cache");
    for (id, decl) in &manifest.components {
        let started = Instant::now();
        let (_, outcome) = engine::load_component(&engine, &manifest.source_path(decl), &cache_dir)
            .with_context(|| format!("component `{id}`"))?;
        if outcome == CacheOutcome::Compiled {
            eprintln!("  {id}: compiled in {} ms", started.elapsed().as_millis());
        }
    }
    Ok(())
}

fn print_banner(
    manifest: &Manifest,
    address: std::net::SocketAddr,
    url: &str,
    started: Instant,
    ready_from: Instant,
) {
    eprintln!(
        "Serving {} on http://{} (database {}; ready in {} ms, {} ms after build)",
        manifest.name,
        address,
        database::redact(url),
        started.elapsed().as_millis(),
        ready_from.elapsed().as_millis()
    );
    for route in &manifest.http_routes {
        eprintln!("  http://{address}{}  ->  {}", route.route, route.component);
    }
    eprintln!(
        "Get a token: cargo run --release -- token --sub $(cat /proc/sys/kernel/random/uuid)"
    );
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
