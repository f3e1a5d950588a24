//! Instances made ahead of their request.
//!
//! Every request still gets an instance no request has touched: isolation is
//! the same as instantiating on arrival. What moves is *when* the work
//! happens. After a request has answered, its store is dropped (the pooling
//! allocator resets the slot's memory) and a replacement instance is made,
//! both in a task that runs once the connection's task has written the
//! response, so neither sits between a request's arrival and its answer. At
//! concurrency 1 that was a third of the runtime's share of a hello-world
//! request's latency; under saturation the work is the same, only reordered.

use crate::host::postgres::PgPools;
use crate::host::{ComponentEnv, InstanceLimits, InstanceState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use wasmtime::Store;
use wasmtime_wasi_http::p2::bindings::{Proxy, ProxyPre};

/// Instances each component keeps ready. One covers a steady stream of
/// requests at low concurrency; under load, requests beyond it instantiate
/// on arrival as before, so more would only hold pool slots and memory.
pub const READY_PER_COMPONENT: usize = 1;

/// Pool slots that instances made ahead may hold beyond the running requests,
/// for `components` components: the ready ones and one being made for each.
pub fn pool_headroom(components: usize) -> u32 {
    u32::try_from(components * (READY_PER_COMPONENT + 1)).unwrap_or(u32::MAX)
}

/// A component compiled and pre-linked, with the instances made ahead for it.
pub struct LoadedComponent {
    /// What the component may do.
    pub env: Arc<ComponentEnv>,
    pre: ProxyPre<InstanceState>,
    ready: Mutex<Vec<Instance>>,
    /// Set while one task makes instances ahead, so at most one instance
    /// per component is being made outside a request (see [`pool_headroom`]).
    making: AtomicBool,
}

/// A fresh instance and the store that owns it.
pub struct Instance {
    /// The store: the instance's memory and its host state.
    pub store: Store<InstanceState>,
    /// The instantiated component.
    pub proxy: Proxy,
}

/// What an instance's host state is built from.
#[derive(Clone)]
pub struct InstanceConfig {
    /// The database pools the instance's connections come from.
    pub pg: Arc<PgPools>,
    /// The limits every instance runs under.
    pub limits: InstanceLimits,
}

impl LoadedComponent {
    /// A component whose instances come from `pre`; none is made yet.
    pub fn new(env: Arc<ComponentEnv>, pre: ProxyPre<InstanceState>) -> Self {
        Self {
            env,
            pre,
            ready: Mutex::new(Vec::new()),
            making: AtomicBool::new(false),
        }
    }

    /// An instance no request has used: one made ahead if there is one,
    /// else one made now. An instance that waited in the pool past an epoch
    /// tick yields once at its first guest call (see `instantiate`).
    pub async fn take(&self, config: &InstanceConfig) -> wasmtime::Result<Instance> {
        let ready = self.ready.lock().ok().and_then(|mut ready| ready.pop());
        match ready {
            Some(instance) => Ok(instance),
            None => self.instantiate(config).await,
        }
    }

    /// Makes instances until [`READY_PER_COMPONENT`] are ready. A failure is
    /// left for the next request to meet (and report) when it instantiates.
    pub async fn replenish(&self, config: &InstanceConfig) {
        if self.making.swap(true, Ordering::Acquire) {
            return;
        }
        let _making = Making(&self.making);
        while self
            .ready
            .lock()
            .is_ok_and(|r| r.len() < READY_PER_COMPONENT)
        {
            match self.instantiate(config).await {
                Ok(instance) => match self.ready.lock() {
                    Ok(mut ready) if ready.len() < READY_PER_COMPONENT => ready.push(instance),
                    _ => return,
                },
                Err(e) => {
                    tracing::debug!(component = %self.env.id, "cannot make an instance ahead: {e:?}");
                    return;
                }
            }
        }
    }

    async fn instantiate(&self, config: &InstanceConfig) -> wasmtime::Result<Instance> {
        let state = InstanceState::new(self.env.clone(), config.pg.clone(), config.limits);
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| state.limiter());
        // Yield to the scheduler every epoch tick: a busy guest cannot starve
        // other requests, and the request timeout can fire. The start
        // functions run under it too. The deadline is left where a new store
        // has it, at epoch 0, which has passed, so instantiating yields once
        // at the first start function: the request goes behind the other
        // ready connections' tasks. `set_epoch_deadline(1)` here removed that
        // yield, and hello-world under wrk at c=32 served 5-10 % fewer
        // requests in alternating runs; an explicit `yield_now` did not win
        // it back (README, Benchmarks).
        store.epoch_deadline_async_yield_and_update(1);
        let proxy = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| e.context("cannot instantiate the component"))?;
        Ok(Instance { store, proxy })
    }
}

/// Clears a component's `making` flag when its task ends, or is dropped.
struct Making<'a>(&'a AtomicBool);

impl Drop for Making<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
