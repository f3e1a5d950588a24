//! The wasmtime engine: pooling allocator, epoch ticks, and the on-disk
//! compile cache keyed by the Wasm's hash.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wasmtime::component::Component;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; a running guest yields to the scheduler at
/// each tick, so request deadlines fire even inside a busy loop.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of a slot's linear memory reset in place, not unmapped, when its
/// instance ends: enough for a function's stack, data and a typical heap.
/// Components start with as much memory (`.cargo/config.toml`), so a slot's
/// reuse rarely has to take grown memory back with `mprotect`.
const MEMORY_KEEP_RESIDENT: usize = 4 << 20;

/// Bytes of a slot's tables reset in place when its instance ends.
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// Sizing of the engine's instance pool.
#[derive(Debug, Clone, Copy)]
pub struct EngineLimits {
    /// Instances alive at once (concurrent requests).
    pub max_instances: u32,
    /// Linear memory one instance may grow to, in bytes.
    pub max_memory_bytes: usize,
}

/// Builds the engine and starts the thread that advances its epoch.
pub fn build(limits: EngineLimits) -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(limits.max_instances);
    // A Rust component has one core instance, memory and table of its own;
    // the margin covers components built by other toolchains (adapters, shims).
    pool.total_core_instances(limits.max_instances * 8);
    pool.total_memories(limits.max_instances * 2);
    pool.total_tables(limits.max_instances * 4);
    pool.max_memory_size(limits.max_memory_bytes);
    // Reset a finished instance's memory and tables by rewriting the pages it
    // dirtied (found with PAGEMAP_SCAN where the kernel has it) instead of
    // `madvise`: unmapping pages makes the kernel interrupt every core running
    // this process to flush its TLB, which cost more than the request itself.
    pool.linear_memory_keep_resident(MEMORY_KEEP_RESIDENT);
    pool.table_keep_resident(TABLE_KEEP_RESIDENT);
    pool.pagemap_scan(Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config)
        .map_err(anyhow::Error::from)
        .context("cannot create the wasmtime engine")?;
    let ticker = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = ticker.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .context("cannot start the epoch thread")?;
    Ok(engine)
}

/// Whether a component came from the compile cache or was compiled now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded a compiled artifact from disk.
    Hit,
    /// Compiled, and stored for the next start.
    Compiled,
}

/// Loads a component, from `cache_dir` when an artifact for these exact bytes
/// and this engine exists, else compiling it and storing the artifact.
pub fn load_component(
    engine: &Engine,
    wasm: &Path,
    cache_dir: &Path,
) -> Result<(Component, CacheOutcome)> {
    let bytes = std::fs::read(wasm).with_context(|| {
        format!(
            "cannot read component {}: run `spinbase build` first",
            wasm.display()
        )
    })?;
    let artifact = artifact_path(engine, &bytes, cache_dir);
    if artifact.exists() {
        match deserialize(engine, &artifact) {
            Ok(component) => return Ok((component, CacheOutcome::Hit)),
            Err(e) => tracing::warn!(
                "ignoring unusable compile cache {}: {e}",
                artifact.display()
            ),
        }
    }
    let component = Component::new(engine, &bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot compile component {}", wasm.display()))?;
    if let Err(e) = store_artifact(&component, &artifact) {
        tracing::warn!("cannot write compile cache {}: {e}", artifact.display());
    }
    Ok((component, CacheOutcome::Compiled))
}

fn artifact_path(engine: &Engine, bytes: &[u8], cache_dir: &Path) -> PathBuf {
    let mut compat = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    let digest = Sha256::digest(bytes);
    cache_dir.join(format!(
        "{}-{:016x}.cwasm",
        hex::encode(digest),
        compat.finish()
    ))
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, artifact: &Path) -> Result<Component> {
    // SAFETY: wasmtime requires that a deserialized artifact was produced by
    // `Component::serialize` of a compatible engine. The file lives in our own
    // cache folder, is named by the hash of its source and of this engine's
    // compatibility settings, and is written atomically by `store_artifact`;
    // wasmtime additionally checks its header against the engine.
    let component = unsafe { Component::deserialize_file(engine, artifact) }?;
    Ok(component)
}

fn store_artifact(component: &Component, artifact: &Path) -> Result<()> {
    let dir = artifact.parent().context("cache path has no folder")?;
    std::fs::create_dir_all(dir)?;
    let tmp = artifact.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, component.serialize().map_err(anyhow::Error::from)?)?;
    std::fs::rename(&tmp, artifact)?;
    Ok(())
}
