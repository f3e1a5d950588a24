//! The HTTP trigger: routes requests to components by spin.toml's routes and
//! runs each request in a fresh instance, within the runtime's limits.

use crate::deferred_write::DeferredWrite;
use crate::edge_cache::{EdgeCache, Keep, RequestKey};
use crate::host::postgres::PgPools;
use crate::host::{InstanceLimits, InstanceState};
use crate::manifest::HttpRoute;
use crate::ready::{Instance, InstanceConfig, LoadedComponent};
use anyhow::{Result, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Store;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// The path of the runtime's own health check.
pub const HEALTH_PATH: &str = "/_spinbase/health";

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Time until the response headers must arrive (504 after).
    pub timeout: Duration,
    /// Largest accepted request body (413 above).
    pub max_body_bytes: usize,
    /// Per-instance limits.
    pub instance: InstanceLimits,
}

/// Everything needed to serve requests.
pub struct App {
    routes: Vec<(HttpRoute, Arc<LoadedComponent>)>,
    limits: RequestLimits,
    /// What every instance is built from; its database pools also serve the health check.
    instance: InstanceConfig,
    database_url: String,
    instances: Arc<Semaphore>,
    request_ids: RequestIds,
    /// Shared by all HTTP threads.
    edge_cache: Arc<EdgeCache>,
}

/// Request ids unique across restarts without a random draw per request:
/// a random prefix per process and a counter, as 32 hex digits like a UUID.
struct RequestIds {
    prefix: u64,
    next: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        Self {
            prefix: uuid::Uuid::new_v4().as_u64_pair().0,
            next: AtomicU64::new(0),
        }
    }

    fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}{n:016x}", self.prefix)
    }
}

impl App {
    /// An app serving `routes` with the database pools `pg`; a request runs
    /// once it has a permit of `instances` (shared by all HTTP threads), the
    /// rest queue, unless `edge_cache` answers it.
    pub fn new(
        routes: Vec<(HttpRoute, Arc<LoadedComponent>)>,
        limits: RequestLimits,
        pg: Arc<PgPools>,
        database_url: String,
        instances: Arc<Semaphore>,
        edge_cache: Arc<EdgeCache>,
    ) -> Self {
        Self {
            routes,
            instance: InstanceConfig {
                pg,
                limits: limits.instance,
            },
            limits,
            database_url,
            instances,
            request_ids: RequestIds::new(),
            edge_cache,
        }
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<HyperOutgoingBody> {
        let started = Instant::now();
        let request_id = self.request_ids.next();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let (answered, mut response) = self.dispatch(req).await;
        if let Ok(value) = request_id.parse() {
            response.headers_mut().insert("x-request-id", value);
        }
        tracing::info!(
            target: "spinbase::request",
            request_id = %request_id,
            function = %answered.function,
            method = %method,
            path = %path,
            status = response.status().as_u16(),
            cache = %if answered.from_edge_cache { "edge" } else { "-" },
            duration_ms = format!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
        );
        response
    }

    async fn dispatch(&self, req: Request<Incoming>) -> (Answered, Response<HyperOutgoingBody>) {
        let path = req.uri().path();
        let runtime = |response| {
            let answered = Answered {
                function: "-".into(),
                from_edge_cache: false,
            };
            (answered, response)
        };
        if path == HEALTH_PATH {
            return runtime(self.health().await);
        }
        let Some((route, component)) = self.routes.iter().find(|(r, _)| r.matches(path)) else {
            let message = format!("no function is served at {path}");
            return runtime(error(StatusCode::NOT_FOUND, "not_found", &message));
        };
        let mut answered = Answered {
            function: route.component.clone(),
            from_edge_cache: false,
        };
        let response = match self.run(route, component.clone(), req).await {
            Ok(Run::Function(response)) => response,
            Ok(Run::EdgeCache(response)) => {
                answered.from_edge_cache = true;
                response
            }
            Err(response) => response,
        };
        (answered, response)
    }

    async fn run(
        &self,
        route: &HttpRoute,
        component: Arc<LoadedComponent>,
        req: Request<Incoming>,
    ) -> Result<Run, Response<HyperOutgoingBody>> {
        let max = self.limits.max_body_bytes;
        let too_large = || {
            let message = format!("request body exceeds the limit of {max} bytes");
            error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", &message)
        };
        let declared = req
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > max as u64) {
            return Err(too_large());
        }
        let (parts, body) = req.into_parts();
        // Read the body before taking an instance, so slow clients hold no instance.
        let body = match Limited::new(body, max).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
            Err(e) => {
                let message = format!("cannot read the request body: {e}");
                return Err(error(StatusCode::BAD_REQUEST, "bad_request", &message));
            }
        };
        let key = self.edge_cache.key(
            &route.route,
            &parts.method,
            &parts.uri,
            &parts.headers,
            &body,
        );
        if let Some(hit) = key.as_ref().and_then(|key| self.edge_cache.get(key)) {
            return Ok(Run::EdgeCache(hit.map(full)));
        }
        let req = Request::from_parts(parts, Full::new(body));
        let id = component.env.id.clone();
        let permit = self.instances.clone().acquire_owned().await.map_err(|_| {
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the server is shutting down",
            )
        })?;
        let deadline = Instant::now() + self.limits.timeout;
        match finish_by(deadline, self.call(component, req, permit)).await {
            Ok(Ok(response)) => {
                let keep = key.as_ref().and_then(|key| {
                    let keep = self
                        .edge_cache
                        .keeps(key, response.status(), response.headers())?;
                    Some((key, keep))
                });
                match keep {
                    Some((key, keep)) => self
                        .keep(key, keep, response, deadline)
                        .await
                        .map(Run::Function),
                    None => Ok(Run::Function(response)),
                }
            }
            Ok(Err(e)) => {
                tracing::error!(component = %id, "function failed: {e:?}");
                Err(function_failed())
            }
            Err(_) => Err(self.too_slow("answer")),
        }
    }

    /// The 504 of a function that did not `finish` its answer in time.
    fn too_slow(&self, finish: &str) -> Response<HyperOutgoingBody> {
        let message = format!(
            "the function did not {finish} within {} ms",
            self.limits.timeout.as_millis()
        );
        error(StatusCode::GATEWAY_TIMEOUT, "timeout", &message)
    }

    async fn call(
        &self,
        component: Arc<LoadedComponent>,
        req: Request<Full<Bytes>>,
        permit: OwnedSemaphorePermit,
    ) -> Result<Response<HyperOutgoingBody>> {
        let Instance { mut store, proxy } = component.take(&self.instance).await?;
        let (sender, mut receiver) = tokio::sync::oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let mut handler = Box::pin(async move {
            let done = proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
                .map_err(|e| e.context("the handler failed"));
            // The store comes back to be dropped after the response is out.
            (done, store)
        });
        // The handler runs on this connection's task: handing it to another
        // task (and often another worker thread) and back cost more than a
        // small function's whole run. Only a handler still streaming its body
        // once the headers are out moves to a task of its own.
        let first = std::future::poll_fn(|cx| {
            if let Poll::Ready(done) = handler.as_mut().poll(cx) {
                return Poll::Ready(First::Finished(done));
            }
            Pin::new(&mut receiver).poll(cx).map(First::Headers)
        })
        .await;
        let headers = match first {
            First::Headers(Ok(Ok(headers))) => {
                let id = component.env.id.clone();
                let config = self.instance.clone();
                tokio::spawn(async move {
                    let (done, store) = handler.await;
                    if let Err(e) = done {
                        tracing::warn!(component = %id, "streaming the response failed: {e:?}");
                    }
                    retire(component, config, store, permit).await;
                });
                return Ok(headers);
            }
            First::Headers(Ok(Err(code))) => Err(code),
            // The guest dropped its response-outparam: its error says why.
            First::Headers(Err(_)) => {
                let (done, store) = handler.await;
                self.retire_later(component, store, permit);
                return Err(finished_without_response(done));
            }
            First::Finished((done, store)) => {
                self.retire_later(component, store, permit);
                match (done, receiver.try_recv()) {
                    (Ok(()), Ok(headers)) => headers,
                    (done, _) => return Err(finished_without_response(done)),
                }
            }
        };
        headers.map_err(|code| anyhow!("the function answered with error {code:?}"))
    }

    /// Reads a function's whole response and keeps it in the edge cache; the
    /// body must end by `deadline`, as the headers had to.
    async fn keep(
        &self,
        key: &RequestKey,
        keep: Keep,
        response: Response<HyperOutgoingBody>,
        deadline: Instant,
    ) -> Result<Response<HyperOutgoingBody>, Response<HyperOutgoingBody>> {
        let (parts, body) = response.into_parts();
        let body = match finish_by(deadline, body.collect()).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(code)) => {
                tracing::error!("reading a function's response failed: {code:?}");
                return Err(function_failed());
            }
            Err(_) => return Err(self.too_slow("finish its answer")),
        };
        self.edge_cache
            .put(key, keep, parts.status, &parts.headers, &body);
        Ok(Response::from_parts(parts, full(body)))
    }

    /// Retires a finished request's instance in a task of its own. A task
    /// spawned from a worker runs after the task that spawned it has yielded;
    /// the connection's task yields once before its response's first write
    /// (`DeferredWrite`) and `retire` once more, so the response is written
    /// first and neither the slot's reset nor the next instantiation delays it.
    fn retire_later(
        &self,
        component: Arc<LoadedComponent>,
        store: Store<InstanceState>,
        permit: OwnedSemaphorePermit,
    ) {
        tokio::spawn(retire(component, self.instance.clone(), store, permit));
    }

    async fn health(&self) -> Response<HyperOutgoingBody> {
        let started = Instant::now();
        let check = async {
            let mut client = self.instance.pg.acquire(&self.database_url).await?;
            // The simple protocol runs the check as one statement, so outside a
            // transaction block its transaction starts with it (now() equals
            // statement_timestamp()); a leftover open transaction would not.
            let messages = client
                .client()
                .await
                .map_err(|e| e.to_string())?
                .simple_query(
                    "SELECT (current_user = session_user AND coalesce(current_setting('request.jwt.claims', true), '') = '' AND now() = statement_timestamp())::text",
                )
                .await
                .map_err(|e| e.to_string())?;
            let clean = messages.iter().any(|m| {
                matches!(m, tokio_postgres::SimpleQueryMessage::Row(row) if row.get(0) == Some("true"))
            });
            Ok::<_, String>(clean)
        };
        let latency_ms = |started: Instant| started.elapsed().as_secs_f64() * 1000.0;
        let (status, body) = match check.await {
            Ok(clean) => (
                if clean {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                },
                serde_json::json!({
                    "status": if clean { "ok" } else { "degraded" },
                    "database": {
                        "reachable": true,
                        "connectionClean": clean,
                        "latencyMs": latency_ms(started),
                    }
                }),
            ),
            Err(e) => {
                tracing::warn!("health check failed: {e}");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    serde_json::json!({
                        "status": "unavailable",
                        "database": { "reachable": false, "latencyMs": latency_ms(started) }
                    }),
                )
            }
        };
        json(status, &body)
    }
}

impl ThreadServer for App {
    async fn serve_connections(self: Arc<Self>, mut incoming: HandedConnections) {
        for (_, component) in &self.routes {
            component.replenish(&self.instance).await;
        }
        tokio::spawn(standing_timer(self.limits.timeout));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        while let Some(stream) = incoming.recv().await {
            let stream = match tokio::net::TcpStream::from_std(stream) {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::warn!("cannot take over a connection: {e}");
                    continue;
                }
            };
            let app = self.clone();
            let service = hyper::service::service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(app.handle(req).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(DeferredWrite::new(stream)), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _open = crate::idle_spin::OpenConnection::begin();
                if let Err(e) = connection.await {
                    tracing::debug!("connection ended: {e}");
                }
            });
        }
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(self.limits.timeout) => {
                tracing::warn!("in-flight requests did not finish in time; stopping anyway");
            }
        }
    }
}

/// The connections the accepting thread hands to one HTTP thread.
pub type HandedConnections = tokio::sync::mpsc::UnboundedReceiver<std::net::TcpStream>;

/// What one HTTP thread of [`serve`] runs.
pub trait ThreadServer: Send + Sync + 'static {
    /// Serves the connections `incoming` hands over until it closes, then
    /// lets in-flight requests finish. Runs on its thread's own
    /// single-threaded runtime, so the future need not be `Send`.
    fn serve_connections(self: Arc<Self>, incoming: HandedConnections) -> impl Future<Output = ()>;
}

/// Serves `listener` with one thread per server until `shutdown` resolves,
/// then lets in-flight requests finish.
///
/// Each server runs on a single-threaded runtime of its own, with its own
/// database connections and instances made ahead, and serves the connections
/// handed to it in turn. No task moves between cores, so a request causes no
/// cross-core wake-ups or cache traffic: against one runtime with a worker
/// per core, cache hits at c=32 cost the runtime and PostgreSQL each about a
/// tenth less CPU and ran 8–16 % faster (chat 10 %). A connection's requests
/// run one after another on its thread, as HTTP/1.1 sends them, so pinning a
/// connection costs it no parallelism; only an uneven mix of busy
/// connections is no longer rebalanced.
///
/// Each thread spins up to `idle_spin` before it sleeps (see
/// [`crate::idle_spin`]).
pub async fn serve<S: ThreadServer>(
    servers: Vec<Arc<S>>,
    listener: TcpListener,
    idle_spin: Duration,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let mut threads = Vec::new();
    let mut senders = Vec::new();
    for (i, server) in servers.into_iter().enumerate() {
        let (sender, incoming) = tokio::sync::mpsc::unbounded_channel();
        let runtime = crate::idle_spin::current_thread_runtime(idle_spin)?;
        let thread = std::thread::Builder::new()
            .name(format!("http-{i}"))
            .spawn(move || runtime.block_on(server.serve_connections(incoming)))?;
        threads.push(thread);
        senders.push(sender);
    }
    let mut shutdown = std::pin::pin!(shutdown);
    let mut next = 0usize;
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // One connection that cannot be handed over is dropped, not the server.
        let mut stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!("cannot hand over a connection: {e}");
                continue;
            }
        };
        // Round robin; a thread that has stopped is skipped.
        loop {
            if senders.is_empty() {
                return Err(anyhow!("every HTTP thread has stopped"));
            }
            next %= senders.len();
            match senders[next].send(stream) {
                Ok(()) => {
                    next += 1;
                    break;
                }
                Err(returned) => {
                    senders.remove(next);
                    stream = returned.0;
                }
            }
        }
    }
    // Closing the channels ends each thread's loop; it then drains its requests.
    drop(senders);
    tokio::task::spawn_blocking(move || {
        for thread in threads {
            let _ = thread.join();
        }
    })
    .await?;
    Ok(())
}

/// Drops a request's store (the pooling allocator resets its slot), frees
/// its place among the running requests, and makes the component's next instance.
async fn retire(
    component: Arc<LoadedComponent>,
    config: InstanceConfig,
    store: Store<InstanceState>,
    permit: OwnedSemaphorePermit,
) {
    // Go behind the responses queued in this round (`DeferredWrite`): the
    // task was spawned before its own response's write, which yields once.
    tokio::task::yield_now().await;
    drop(store);
    drop(permit);
    component.replenish(&config).await;
}

/// Keeps a timer registered on this thread that is due before any request's
/// deadline can be, for as long as the thread serves. Tokio wakes a thread's
/// timer driver (an `eventfd` write, a system call) whenever a timer is armed
/// earlier than every timer the driver already has; with this one always
/// earlier, arming a request's deadline in [`finish_by`] is only an insert
/// into the timer wheel. Under load most requests arm it (see `finish_by`),
/// so this saves one system call per request at the price of one wake-up per
/// `period` on an idle thread.
async fn standing_timer(request_timeout: Duration) {
    let period = (request_timeout / 2).clamp(Duration::from_millis(1), Duration::from_secs(1));
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
    }
}

/// A deadline passed before its future finished.
#[derive(Debug)]
struct DeadlinePassed;

/// `future`'s output, or [`DeadlinePassed`] once `deadline` is reached, as
/// `tokio::time::timeout_at` but with the timer armed only if the future is
/// still pending after its first poll. A request served by an instance made
/// ahead usually answers in that poll (at c=1, 83 % of hello-world requests
/// did), and arming a timer takes the timer wheel's lock twice (insert and
/// remove). Instantiating on arrival yields once at its first epoch check
/// (see `LoadedComponent::instantiate`), so under load most requests still
/// arm it; [`standing_timer`] keeps that from costing a system call.
async fn finish_by<F: Future>(deadline: Instant, future: F) -> Result<F::Output, DeadlinePassed> {
    let mut future = std::pin::pin!(future);
    let mut timer: Option<Pin<Box<tokio::time::Sleep>>> = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let timer =
            timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
        timer.as_mut().poll(cx).map(|()| Err(DeadlinePassed))
    })
    .await
}

fn finished_without_response(done: wasmtime::Result<()>) -> anyhow::Error {
    match done {
        Ok(()) => anyhow!("the function returned without setting a response"),
        Err(e) => anyhow::Error::from(e).context("the function trapped"),
    }
}

/// Who answered a request, for its log line.
struct Answered {
    /// The component routed to, or `-` for the runtime's own answers.
    function: String,
    /// Whether the edge cache answered in the function's place.
    from_edge_cache: bool,
}

/// A routed request's answer and where it came from.
enum Run {
    /// The function ran.
    Function(Response<HyperOutgoingBody>),
    /// The edge cache answered with the function's earlier response.
    EdgeCache(Response<HyperOutgoingBody>),
}

/// What a request's handler did first: answer with headers, or end.
enum First<H, F> {
    Headers(Result<H, tokio::sync::oneshot::error::RecvError>),
    Finished(F),
}

/// A whole body as the responses' body type.
fn full(body: Bytes) -> HyperOutgoingBody {
    Full::new(body)
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response<HyperOutgoingBody> {
    let mut response = Response::new(full(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    for (name, value) in shared::cors::HEADERS {
        headers.insert(name, hyper::header::HeaderValue::from_static(value));
    }
    response
}

/// The 500 of a function that failed; the log has the cause.
fn function_failed() -> Response<HyperOutgoingBody> {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the function failed; the error has been logged",
    )
}

/// The runtime's own errors use the functions' envelope and CORS headers.
fn error(status: StatusCode, code: &str, message: &str) -> Response<HyperOutgoingBody> {
    json(status, &shared::error::envelope(code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_future_ready_at_once_finishes_even_past_its_deadline() {
        let passed = Instant::now() - Duration::from_secs(1);
        assert_eq!(finish_by(passed, async { 7 }).await.ok(), Some(7));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_pending_future_is_cut_off_at_its_deadline() {
        let deadline = Instant::now() + Duration::from_millis(20);
        let never = std::future::pending::<()>();
        assert!(finish_by(deadline, never).await.is_err());
        assert!(Instant::now() >= deadline);
    }

    /// `write` system calls made by this thread so far (the eventfd that
    /// wakes a tokio driver is written with `write`).
    fn writes_by_this_thread() -> u64 {
        let io = std::fs::read_to_string("/proc/thread-self/io").unwrap_or_default();
        io.lines()
            .find_map(|line| line.strip_prefix("syscw:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Runs 50 deadlines over futures that are pending at their first poll,
    /// so each arms its timer, and counts this thread's `write` calls.
    async fn writes_to_arm_50_deadlines() -> u64 {
        let before = writes_by_this_thread();
        for _ in 0..50 {
            let mut polled = false;
            let pending_once = std::future::poll_fn(|cx| {
                if polled {
                    return Poll::Ready(());
                }
                polled = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            });
            let deadline = Instant::now() + Duration::from_secs(30);
            assert!(finish_by(deadline, pending_once).await.is_ok());
            // Let the driver look for events, as between requests: it then
            // holds no request's timer, as when a server's requests are done.
            tokio::task::yield_now().await;
        }
        writes_by_this_thread() - before
    }

    #[test]
    fn with_a_standing_timer_arming_a_deadline_makes_no_system_call() -> anyhow::Result<()> {
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        };
        // Without it, every armed deadline wakes the driver: the test can see it.
        let without = runtime()?.block_on(writes_to_arm_50_deadlines());
        let with = runtime()?.block_on(async {
            tokio::spawn(standing_timer(Duration::from_secs(30)));
            // Let the driver park once with the standing timer registered.
            tokio::time::sleep(Duration::from_millis(2)).await;
            writes_to_arm_50_deadlines().await
        });
        assert!(without >= 50, "{without} writes without the standing timer");
        assert!(with < 5, "{with} writes with the standing timer");
        Ok(())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_future_that_waits_but_ends_in_time_finishes() {
        let deadline = Instant::now() + Duration::from_secs(30);
        let later = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            "done"
        };
        assert_eq!(finish_by(deadline, later).await.ok(), Some("done"));
    }
}
