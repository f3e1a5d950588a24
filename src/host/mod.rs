//! Host capabilities: the per-instance state and the Spin interfaces it implements.

pub mod outbound;
pub mod postgres;
pub mod variables;

use outbound::OutboundHosts;
use postgres::PgPools;
use std::sync::Arc;
use variables::ComponentVariables;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "spinbase:host/spinbase",
        imports: { default: async | trappable },
        with: {
            "spin:postgres/postgres.connection": super::postgres::PgConnection,
        },
    });
}

use bindings::fermyon::spin::variables as spin_variables;
use bindings::wasi::config::store as config_store;

/// What one component may do, resolved once at start-up and shared by its instances.
#[derive(Debug, Clone)]
pub struct ComponentEnv {
    /// The component id from spin.toml.
    pub id: String,
    /// Its rendered variables.
    pub variables: ComponentVariables,
    /// Its `allowed_outbound_hosts`.
    pub outbound: OutboundHosts,
    /// Database addresses already found allowed: derived from `outbound`,
    /// filled as requests open connections.
    postgres_allowed: AllowedAddresses,
}

/// Addresses a component was allowed to reach, so a request's `open` skips
/// parsing the address again (a component uses one or two; a guest sending
/// many different ones only fills the few places and is checked in full).
#[derive(Debug, Clone, Default)]
struct AllowedAddresses(Arc<std::sync::RwLock<Vec<String>>>);

impl AllowedAddresses {
    const CAPACITY: usize = 8;

    fn contains(&self, address: &str) -> bool {
        self.0
            .read()
            .is_ok_and(|known| known.iter().any(|a| a == address))
    }

    fn insert(&self, address: &str) {
        if let Ok(mut known) = self.0.write()
            && known.len() < Self::CAPACITY
            && !known.iter().any(|a| a == address)
        {
            known.push(address.to_string());
        }
    }
}

impl ComponentEnv {
    /// What component `id` may do: its rendered variables and its
    /// `allowed_outbound_hosts`.
    pub fn new(id: String, variables: ComponentVariables, outbound: OutboundHosts) -> Self {
        Self {
            id,
            variables,
            outbound,
            postgres_allowed: AllowedAddresses::default(),
        }
    }

    /// Refuses a database address outside `allowed_outbound_hosts` (the guest's fault).
    pub fn check_postgres_address(&self, address: &str) -> Result<(), String> {
        if self.postgres_allowed.contains(address) {
            return Ok(());
        }
        self.check_postgres_address_in_full(address)?;
        self.postgres_allowed.insert(address);
        Ok(())
    }

    fn check_postgres_address_in_full(&self, address: &str) -> Result<(), String> {
        let config: tokio_postgres::Config = address
            .parse()
            .map_err(|e| format!("invalid database address: {e}"))?;
        let ports = config.get_ports();
        for (i, host) in config.get_hosts().iter().enumerate() {
            let host = match host {
                tokio_postgres::config::Host::Tcp(h) => h.as_str(),
                // A socket is the local server.
                tokio_postgres::config::Host::Unix(_) => "localhost",
            };
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            if !self.outbound.allows("postgres", host, port, 5432) {
                return Err(format!(
                    "component `{}` may not connect to postgres://{host}:{port}: add it to allowed_outbound_hosts in spin.toml",
                    self.id
                ));
            }
        }
        Ok(())
    }
}

/// Limits the runtime enforces on every instance.
#[derive(Debug, Clone, Copy)]
pub struct InstanceLimits {
    /// Linear memory one instance may grow to, in bytes.
    pub max_memory_bytes: usize,
}

/// The data of one store: one request (or one cron tick) of one component.
pub struct InstanceState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    outbound_http: OutboundHttp,
    component: Arc<ComponentEnv>,
    pg: Arc<PgPools>,
    limits: StoreLimits,
}

impl InstanceState {
    /// Fresh state for one instance of `component`.
    pub fn new(component: Arc<ComponentEnv>, pg: Arc<PgPools>, limits: InstanceLimits) -> Self {
        Self {
            wasi: WasiCtxBuilder::new()
                .inherit_stdout()
                .inherit_stderr()
                .build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            outbound_http: OutboundHttp {
                component: component.clone(),
            },
            component,
            pg,
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.max_memory_bytes)
                .build(),
        }
    }

    /// The store limiter (memory growth beyond the limit fails in the guest).
    pub fn limiter(&mut self) -> &mut StoreLimits {
        &mut self.limits
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound_http,
        }
    }
}

/// Outgoing HTTP limited to the component's `allowed_outbound_hosts`.
struct OutboundHttp {
    component: Arc<ComponentEnv>,
}

impl wasmtime_wasi_http::WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<wasmtime_wasi_http::WasiBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        _ = fut;
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https").to_string();
        let default_port = if scheme == "http" { 80 } else { 443 };
        let host = uri.host().unwrap_or_default().to_string();
        let port = uri.port_u16().unwrap_or(default_port);
        if !self
            .component
            .outbound
            .allows(&scheme, &host, port, default_port)
        {
            tracing::warn!(
                component = %self.component.id,
                "outbound request to {scheme}://{host}:{port} denied: not in allowed_outbound_hosts"
            );
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

impl spin_variables::Host for InstanceState {
    async fn get(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<String, spin_variables::Error>> {
        if crate::manifest::validate_variable_name(&name).is_err() {
            return Ok(Err(spin_variables::Error::InvalidName(name)));
        }
        Ok(match self.component.variables.get(&name) {
            Some(v) => Ok(v.to_string()),
            None => Err(spin_variables::Error::Undefined(format!(
                "no variable `{name}` in component `{}`",
                self.component.id
            ))),
        })
    }
}

impl config_store::Host for InstanceState {
    async fn get(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<Option<String>, config_store::Error>> {
        Ok(Ok(self.component.variables.get(&key).map(str::to_string)))
    }

    async fn get_all(
        &mut self,
    ) -> wasmtime::Result<Result<Vec<(String, String)>, config_store::Error>> {
        Ok(Ok(self.component.variables.all()))
    }
}

/// A linker with WASI, wasi:http and the Spin interfaces this host implements.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<InstanceState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    bindings::Spinbase::add_to_linker::<_, HasSelf<InstanceState>>(&mut linker, |s| s)?;
    Ok(linker)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> ComponentEnv {
        ComponentEnv::new(
            "c".into(),
            ComponentVariables::default(),
            OutboundHosts::parse(&["postgres://127.0.0.1:5432".to_string()]).expect("valid entry"),
        )
    }

    #[test]
    fn an_allowed_address_is_remembered_and_a_refused_one_stays_refused() {
        let env = env();
        let allowed = "postgres://postgres@127.0.0.1:5432/app";
        let refused = "postgres://postgres@10.0.0.1:5432/app";
        for _ in 0..2 {
            assert_eq!(env.check_postgres_address(allowed), Ok(()));
            let err = env
                .check_postgres_address(refused)
                .expect_err("not allowed");
            assert!(err.contains("10.0.0.1:5432"), "{err}");
        }
        assert!(env.postgres_allowed.contains(allowed));
        assert!(!env.postgres_allowed.contains(refused));
    }

    #[test]
    fn the_remembered_addresses_are_bounded() {
        let env = env();
        for db in 0..20 {
            let address = format!("postgres://postgres@127.0.0.1:5432/db{db}");
            assert_eq!(env.check_postgres_address(&address), Ok(()));
        }
        let known = env.postgres_allowed.0.read().expect("lock").len();
        assert_eq!(known, AllowedAddresses::CAPACITY);
    }
}
