//! `cargo bench --bench http`: drives every HTTP function of the release
//! runtime and of a native baseline (the same domain code and the same
//! database statements behind the runtime's own server design, in a process
//! of its own like the runtime's) with a keep-alive load generator at
//! concurrency 1 and 32, and measures cold start, instantiation
//! and memory. Prints one table; figures go into the README.
//!
//! Environment: `BENCH_SECONDS` (per run, default 5), `BENCH_ONLY` (run only
//! the scenarios whose name contains it), `BENCH_DATABASE_SERVER` (default
//! postgres://postgres@127.0.0.1:5432), `BENCH_SERVE=<folder>` (set up as for
//! a run, then only serve both sides with warm caches and write a wrk script
//! per scenario into the folder, for profiling one side alone),
//! `SPINBASE_DB_POOL_SIZE` (database connections of each side, as the
//! runtime reads it; default the runtime's).

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use shared::auth::{self, Role};
use shared::cache::{InsightFamily, InsightKey, InsightRequest, InsightSlot};
use shared::validation::Validate;
use spinbase::edge_cache::EdgeCache;
use spinbase::host::postgres::{PgClient, PgPools};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

// The same allocator as the runtime, so the baseline differs only in the Wasm.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";
/// Users the load is spread over (one per connection), so the per-user rate
/// limit row and cache rows are not one hot spot.
const USERS: usize = 32;
const NO_LIMIT: &str = "2000000000";
/// Where the hello-world app and the native baseline answer "Hello, world!".
const HELLO_PATH: &str = "/hello";
/// Where a varying body puts the request's sequence number.
const SEQUENCE_MARK: &str = "__N__";

type BodyFn = Arc<dyn Fn(u64) -> Bytes + Send + Sync>;

struct Scenario {
    /// `function:cache state`.
    name: &'static str,
    method: Method,
    path: &'static str,
    body: BodyFn,
    /// The request's `Cache-Control`: `no-cache` makes a repeat reach the
    /// function (a hit in the database) instead of the edge cache.
    cache_control: Option<&'static str>,
}

impl Scenario {
    /// Whether the cell measures cache hits, so every user's answer is cached first.
    fn hits(&self) -> bool {
        self.name.ends_with(" hit")
    }

    /// Whether the hits are the edge cache's, which each side keeps for itself.
    fn edge_hits(&self) -> bool {
        self.name.ends_with(":edge hit")
    }
}

#[derive(Debug, Clone, Default)]
struct Stats {
    requests: u64,
    /// What went wrong, and how often: the status and the start of the
    /// body of an answer that was not a success, or a connection's error.
    failures: BTreeMap<String, u64>,
    rps: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
}

impl Stats {
    /// Requests that failed, of every kind.
    fn errors(&self) -> u64 {
        self.failures.values().sum()
    }
}

/// Set in the native baseline's process (this binary run again): the
/// database it serves.
const NATIVE_DATABASE_URL: &str = "BENCH_NATIVE_DATABASE_URL";

fn main() -> Result<()> {
    if let Ok(url) = std::env::var(NATIVE_DATABASE_URL) {
        return serve_native(url);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(bench())
}

async fn bench() -> Result<()> {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let duration = Duration::from_secs(seconds);
    let server = std::env::var("BENCH_DATABASE_SERVER")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let binary = env!("CARGO_BIN_EXE_spinbase");

    eprintln!("building components");
    let status = Command::new(binary)
        .arg("build")
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("spinbase build failed");
    }
    let hello_manifest = root.join("benches/hello-world/spin.toml");
    let status = Command::new(binary)
        .arg("--manifest")
        .arg(&hello_manifest)
        .arg("build")
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("building the hello-world component failed");
    }

    let db_name = format!("spinbase_bench_{}", std::process::id());
    let admin = spinbase::database::connect(&format!("{server}/postgres")).await?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
        .await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {db_name}"))
        .await?;
    let url = format!("{server}/{db_name}");
    spinbase::database::migrate(&url, &root.join("migrations")).await?;
    let tokens = seed_users(&url).await?;

    // Cold start: process start to the first answered request.
    let cache = root.join(".spinbase/cache");
    let _ = std::fs::remove_dir_all(&cache);
    let app_manifest = root.join("spin.toml");
    let app_probe = "/functions/v1/logistics-analyzer";
    let (cold_child, cold_ms, _) = start_runtime(binary, &app_manifest, app_probe, &url).await?;
    drop(cold_child);
    let (child, warm_ms, runtime_addr) =
        start_runtime(binary, &app_manifest, app_probe, &url).await?;
    let (hello_child, _, hello_addr) = start_runtime(binary, &hello_manifest, "/", &url).await?;
    let pid = child.id();
    let idle_rss = rss_kib(pid, "VmRSS");

    let (native_child, native_addr) = start_native(&url).await?;
    if let Ok(folder) = std::env::var("BENCH_SERVE") {
        let pids = [pid, native_child.id()];
        serve_for_profiling(Path::new(&folder), runtime_addr, native_addr, &tokens, pids).await?;
        drop(child);
        drop(hello_child);
        drop(native_child);
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
            .await?;
        return Ok(());
    }

    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let scenarios: Vec<Scenario> = scenarios()
        .into_iter()
        .filter(|s| s.name.contains(only.as_str()))
        .collect();
    println!();
    println!(
        "| function | cache | c | runtime req/s | p50 ms | p90 ms | p99 ms | errors / requests | native req/s | native p50 ms | runtime/native |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut failures = Vec::new();
    for scenario in &scenarios {
        warm_cache([runtime_addr, native_addr], scenario, &tokens).await?;
        for concurrency in [1usize, 32] {
            let addr = if scenario.path == HELLO_PATH {
                hello_addr
            } else {
                runtime_addr
            };
            let (runtime, native) = load_both(
                [addr, native_addr],
                scenario,
                &tokens,
                concurrency,
                duration,
            )
            .await?;
            let (function, cache_state) = scenario
                .name
                .split_once(':')
                .unwrap_or((scenario.name, "-"));
            println!(
                "| {function} | {cache_state} | {concurrency} | {:.0} | {:.2} | {:.2} | {:.2} | {}/{} | {:.0} | {:.2} | {:.2} |",
                runtime.rps,
                runtime.p50_ms,
                runtime.p90_ms,
                runtime.p99_ms,
                runtime.errors() + native.errors(),
                runtime.requests + native.requests,
                native.rps,
                native.p50_ms,
                if native.rps > 0.0 {
                    runtime.rps / native.rps
                } else {
                    0.0
                }
            );
            for (side, stats) in [("runtime", &runtime), ("native", &native)] {
                for (what, count) in &stats.failures {
                    failures.push(format!(
                        "- {function}, {cache_state}, c={concurrency}, {side}: {count} × {what}"
                    ));
                }
            }
        }
    }
    if !failures.is_empty() {
        println!();
        println!("Errors:");
        for line in failures {
            println!("{line}");
        }
    }
    let peak_rss = rss_kib(pid, "VmHWM");
    drop(child);
    if let Some(table) = wrk_table(hello_addr, native_addr, seconds) {
        println!();
        println!("{table}");
    }
    drop(hello_child);
    drop(native_child);
    let instantiate_us = instantiation_micros(root).await?;
    println!();
    println!("| measure | value |");
    println!("| --- | --- |");
    println!(
        "| cold start, empty compile cache (process start to first answer) | {cold_ms:.0} ms |"
    );
    println!("| cold start, warm compile cache | {warm_ms:.0} ms |");
    println!("| instantiation of a pre-linked component (mean of 2000) | {instantiate_us:.1} µs |");
    println!(
        "| resident memory idle / peak | {:.1} MiB / {:.1} MiB |",
        idle_rss / 1024.0,
        peak_rss / 1024.0
    );
    println!(
        "| machine | {} cores, {} |",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        cpu_model()
    );
    println!("| run | {seconds} s per cell, concurrency 1 and 32 over {USERS} users |");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
        .await?;
    Ok(())
}

async fn seed_users(url: &str) -> Result<Vec<(String, String)>> {
    let client = spinbase::database::connect(url).await?;
    let mut tokens = Vec::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    for i in 0..USERS {
        let id = uuid::Uuid::new_v4();
        client
            .execute(
                "INSERT INTO auth.users (id, email) VALUES ($1, $2)",
                &[&id, &format!("bench{i}@example.com")],
            )
            .await?;
        let token = auth::sign(
            &auth::user_claims(&id.to_string(), Role::Authenticated, now, 86_400),
            SECRET.as_bytes(),
        );
        tokens.push((id.to_string(), token));
    }
    Ok(tokens)
}

/// Starts `spinbase up` for `manifest`; returns once `probe` answers OPTIONS.
async fn start_runtime(
    binary: &str,
    manifest: &Path,
    probe: &str,
    url: &str,
) -> Result<(ServerProcess, f64, SocketAddr)> {
    let port = free_port()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    // Its warnings go to a file (kept after the run) rather than into the
    // bench's table; read back if it exits before answering, so the bench
    // says why instead of waiting out the start-up timeout.
    let log_path = std::env::temp_dir().join(format!("spinbase-bench-{port}.log"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let started = Instant::now();
    let mut child = ServerProcess(
        Command::new(binary)
            .arg("--manifest")
            .arg(manifest)
            .args([
                "up",
                "--no-build",
                "--listen",
                &addr.to_string(),
                "--database-url",
                url,
            ])
            .env("SPIN_VARIABLE_RATE_LIMIT_PER_MINUTE", NO_LIMIT)
            .env("SPINBASE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?,
    );
    let client = reqwest::Client::new();
    let probe = format!("http://{addr}{probe}");
    while started.elapsed() < Duration::from_secs(120) {
        if let Some(status) = child.0.try_wait()? {
            let said = std::fs::read_to_string(&log_path).unwrap_or_default();
            bail!(
                "the runtime exited before it answered ({status}): {}",
                said.trim()
            );
        }
        if let Ok(response) = client
            .request(reqwest::Method::OPTIONS, &probe)
            .send()
            .await
            && response.status().is_success()
        {
            return Ok((child, started.elapsed().as_secs_f64() * 1000.0, addr));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    bail!("the runtime did not start")
}

/// A server process the bench started, stopped when dropped, so that a
/// bench failing midway leaves no server behind.
struct ServerProcess(Child);

impl ServerProcess {
    fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn rss_kib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0.0)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default()
}

/// One keep-alive connection per concurrent client, each as its own user.
/// Drives the runtime and the native baseline (`targets`) with the same
/// requests in turns of one second, `duration` each in all. The machine is
/// shared: a neighbour's burst during one whole cell made one side look
/// slower than it is, where alternating exposes both to the same noise.
/// One sequence numbers the requests of both, so a miss stays a miss.
async fn load_both(
    targets: [SocketAddr; 2],
    scenario: &Scenario,
    tokens: &[(String, String)],
    concurrency: usize,
    duration: Duration,
) -> Result<(Stats, Stats)> {
    let turns = duration.as_secs().max(1);
    let turn = duration / u32::try_from(turns)?;
    let sequence = Arc::new(AtomicU64::new(0));
    let mut samples = [Samples::default(), Samples::default()];
    for _ in 0..turns {
        for (target, samples) in targets.iter().zip(samples.iter_mut()) {
            let load = Load {
                addr: *target,
                scenario,
                tokens,
                concurrency,
                sequence: sequence.clone(),
            };
            samples.add(load.run(turn).await?);
        }
    }
    let [runtime, native] = samples;
    Ok((runtime.stats(), native.stats()))
}

/// Latencies and errors of one target, over its turns.
#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    failures: BTreeMap<String, u64>,
    seconds: f64,
}

impl Samples {
    fn add(&mut self, turn: Samples) {
        self.latencies.extend(turn.latencies);
        for (what, count) in turn.failures {
            *self.failures.entry(what).or_default() += count;
        }
        self.seconds += turn.seconds;
    }

    fn stats(mut self) -> Stats {
        self.latencies.sort();
        let all = &self.latencies;
        let pct = |p: f64| -> f64 {
            if all.is_empty() {
                return 0.0;
            }
            let i = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
            all[i].as_secs_f64() * 1000.0
        };
        Stats {
            requests: all.len() as u64,
            failures: self.failures,
            rps: all.len() as f64 / self.seconds.max(f64::EPSILON),
            p50_ms: pct(0.50),
            p90_ms: pct(0.90),
            p99_ms: pct(0.99),
        }
    }
}

/// One turn of keep-alive clients, one connection (and user) each.
struct Load<'a> {
    addr: SocketAddr,
    scenario: &'a Scenario,
    tokens: &'a [(String, String)],
    concurrency: usize,
    sequence: Arc<AtomicU64>,
}

impl Load<'_> {
    async fn run(&self, duration: Duration) -> Result<Samples> {
        let addr = self.addr;
        let started = Instant::now();
        let deadline = started + duration;
        let mut tasks = Vec::new();
        for client in 0..self.concurrency {
            let (user, token) = self.tokens[client % self.tokens.len()].clone();
            let body = self.scenario.body.clone();
            let method = self.scenario.method.clone();
            let path = self.scenario.path;
            let cache_control = self.scenario.cache_control;
            let sequence = self.sequence.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(8192);
                let mut failures = BTreeMap::<String, u64>::new();
                let stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                let (mut sender, connection) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                // Looked for once: searching every 128 kB body for the mark
                // cost the load generator ~90 µs a request, CPU the two
                // sides under test share.
                let names_user = user_mark_at(&body(0)).is_some();
                let requests = async {
                    while Instant::now() < deadline {
                        let n = sequence.fetch_add(1, Ordering::Relaxed);
                        let payload = body(n);
                        let payload = if names_user {
                            rewrite_user(payload, &user)
                        } else {
                            payload
                        };
                        let mut request = Request::builder()
                            .method(method.clone())
                            .uri(path)
                            .header("host", addr.to_string())
                            .header("authorization", format!("Bearer {token}"))
                            .header("content-type", "application/json");
                        if let Some(value) = cache_control {
                            request = request.header("cache-control", value);
                        }
                        let request = request.body(Full::new(payload))?;
                        let sent = Instant::now();
                        match sender.send_request(request).await {
                            Ok(response) => {
                                let status = response.status();
                                let body = response.into_body().collect().await;
                                latencies.push(sent.elapsed());
                                if !status.is_success() {
                                    let body = body.map(|b| b.to_bytes()).unwrap_or_default();
                                    let start =
                                        String::from_utf8_lossy(&body[..body.len().min(200)])
                                            .replace('\n', " ");
                                    *failures
                                        .entry(format!("HTTP {status}: {start}"))
                                        .or_default() += 1;
                                }
                            }
                            Err(e) => {
                                *failures.entry(format!("connection: {e}")).or_default() += 1;
                                break;
                            }
                        }
                    }
                    // The connection ends once its sender is gone.
                    drop(sender);
                    Ok::<_, anyhow::Error>((latencies, failures))
                };
                // The connection is driven by the task that sends on it: as
                // a task of its own it was often woken on the other worker
                // thread, two threads of the load generator busy per
                // request, which at c=1 took a core from the side under test.
                let (result, _) = tokio::join!(requests, connection);
                result
            }));
        }
        let mut samples = Samples::default();
        for task in tasks {
            let (latencies, failures) = task.await??;
            samples.add(Samples {
                latencies,
                failures,
                seconds: 0.0,
            });
        }
        samples.seconds = started.elapsed().as_secs_f64();
        Ok(samples)
    }
}

/// The hello-world component and its native twin under wrk, as Spin's own
/// figures were measured (2 threads, 32 connections; 1 thread, 1 connection);
/// `None` when wrk is not installed. Each row is run [`WRK_RUNS`] times,
/// runtime and native alternating, and the run with the median throughput is
/// shown with the range of all: one run on these shared machines moves by
/// ±15 % from one minute to the next.
fn wrk_table(hello: SocketAddr, native: SocketAddr, seconds: u64) -> Option<String> {
    let mut table = String::from(
        "| hello-world under wrk | connections | req/s (median run) | p50 | p90 | p99 | req/s of each run |\n| --- | --- | --- | --- | --- | --- | --- |",
    );
    for (threads, connections) in [(1, 1), (2, 32)] {
        let mut runs: [Vec<WrkRun>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..WRK_RUNS {
            for (side, addr) in [hello, native].into_iter().enumerate() {
                runs[side].push(wrk_run(addr, threads, connections, seconds)?);
            }
        }
        for (who, mut runs) in ["runtime", "native"].into_iter().zip(runs) {
            let each: Vec<String> = runs.iter().map(|r| format!("{:.0}", r.rps)).collect();
            runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
            let median = &runs[runs.len() / 2];
            table.push_str(&format!(
                "\n| {who} | {connections} | {:.0} | {} | {} | {} | {} |",
                median.rps,
                median.p50,
                median.p90,
                median.p99,
                each.join(", "),
            ));
        }
    }
    Some(table)
}

/// How many times each wrk row runs.
const WRK_RUNS: usize = 3;

/// What one wrk run printed.
struct WrkRun {
    rps: f64,
    p50: String,
    p90: String,
    p99: String,
}

fn wrk_run(addr: SocketAddr, threads: u32, connections: u32, seconds: u64) -> Option<WrkRun> {
    let output = Command::new("wrk")
        .args([
            format!("-t{threads}"),
            format!("-c{connections}"),
            format!("-d{seconds}s"),
            "--latency".into(),
            format!("http://{addr}{HELLO_PATH}"),
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |label: &str| -> String {
        text.lines()
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
            .unwrap_or_else(|| "?".into())
    };
    Some(WrkRun {
        rps: field("Requests/sec:").parse().unwrap_or(f64::NAN),
        p50: field("50%"),
        p90: field("90%"),
        p99: field("99%"),
    })
}

/// Warms every cached scenario, writes one wrk script per scenario into
/// `folder` (requests rotate over the users; a varying body gets a key
/// unique per wrk run, thread and request) and serves until interrupted, so one
/// side can be profiled alone: `wrk -t2 -c32 -d10s -s <script> <address>`.
async fn serve_for_profiling(
    folder: &Path,
    runtime: SocketAddr,
    native: SocketAddr,
    tokens: &[(String, String)],
    [runtime_pid, native_pid]: [u32; 2],
) -> Result<()> {
    std::fs::create_dir_all(folder)?;
    for scenario in scenarios() {
        warm_cache([runtime, native], &scenario, tokens).await?;
        let slug: String = scenario
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let script = folder.join(format!("{slug}.lua"));
        std::fs::write(&script, wrk_script(&scenario, tokens))?;
        println!("{}", script.display());
    }
    println!(
        "runtime http://{runtime} (pid {runtime_pid}), native http://{native} (pid {native_pid})"
    );
    println!("serving until interrupted");
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// A wrk script sending `scenario` as the users in turn. Bodies sit in Lua
/// long brackets, which JSON text cannot close.
fn wrk_script(scenario: &Scenario, tokens: &[(String, String)]) -> String {
    let mut lua = String::from("local users = {\n");
    // The body of the largest sequence number, with the number marked again.
    let template = String::from_utf8_lossy(&(scenario.body)(u64::MAX))
        .replace(&u64::MAX.to_string(), SEQUENCE_MARK);
    let cache_control = scenario
        .cache_control
        .map(|value| format!(", [\"Cache-Control\"] = \"{value}\""))
        .unwrap_or_default();
    for (user, token) in tokens {
        let body = rewrite_user(Bytes::from(template.clone()), user);
        lua.push_str(&format!(
            "  {{ token = \"{token}\", body = [==[{}]==] }},\n",
            String::from_utf8_lossy(&body)
        ));
    }
    lua.push_str(&format!(
        "}}\nlocal n, threads = 0, 0\n\
         -- Unique per wrk run (the time and a table's address), so a miss stays a miss across runs.\n\
         local run = os.time() .. string.gsub(tostring({{}}), \"%W\", \"\")\n\
         function setup(thread) threads = threads + 1; thread:set(\"id\", run .. \"-\" .. threads) end\n\
         function request()\n  n = n + 1\n  local u = users[n % #users + 1]\n\
         \x20 local body = string.gsub(u.body, \"{SEQUENCE_MARK}\", tostring(id) .. \"-\" .. tostring(n))\n\
         \x20 return wrk.format(\"{}\", \"{}\", {{ Host = \"localhost\", Authorization = \"Bearer \" .. u.token, [\"Content-Type\"] = \"application/json\"{cache_control} }}, body)\nend\n",
        scenario.method, scenario.path
    ));
    lua
}

/// Caches every user's answer to a hit scenario's request before its cell,
/// so the cell measures hits only: in the database (which the runtime and
/// the baseline share) through the runtime; for edge hits, in each side's
/// own edge cache too, which keeps a hit the database answered. Checks that
/// the last request was what the cell will measure.
async fn warm_cache(
    [runtime, native]: [SocketAddr; 2],
    scenario: &Scenario,
    tokens: &[(String, String)],
) -> Result<()> {
    if !scenario.hits() {
        return Ok(());
    }
    let sides: &[SocketAddr] = if scenario.edge_hits() {
        &[runtime, native]
    } else {
        &[runtime]
    };
    let client = reqwest::Client::new();
    let method = reqwest::Method::from_bytes(scenario.method.as_str().as_bytes())?;
    for addr in sides {
        for (user, token) in tokens {
            let mut warm = false;
            for _ in 0..3 {
                let mut request = client
                    .request(method.clone(), format!("http://{addr}{}", scenario.path))
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(rewrite_user((scenario.body)(0), user));
                if let Some(value) = scenario.cache_control {
                    request = request.header("cache-control", value);
                }
                let response = request.send().await?;
                if !response.status().is_success() {
                    bail!("warming {} failed: {}", scenario.name, response.status());
                }
                let from_edge = response.headers().contains_key("age");
                let answer: Value = response.json().await?;
                warm = answer["cached"] == true && from_edge == scenario.edge_hits();
                if warm {
                    break;
                }
            }
            if !warm {
                bail!("{} at {addr} is not answered as a warm hit", scenario.name);
            }
        }
    }
    Ok(())
}

/// Where a body names its caller (recommendations do).
const USER_MARK: &str = "__USER__";

fn user_mark_at(payload: &[u8]) -> Option<usize> {
    let mark = USER_MARK.as_bytes();
    payload.windows(mark.len()).position(|w| w == mark)
}

/// Recommendations must name the caller: put the connection's user in.
fn rewrite_user(payload: Bytes, user: &str) -> Bytes {
    match user_mark_at(&payload) {
        Some(at) => {
            let mut out = Vec::with_capacity(payload.len() + 28);
            out.extend_from_slice(&payload[..at]);
            out.extend_from_slice(user.as_bytes());
            out.extend_from_slice(&payload[at + USER_MARK.len()..]);
            Bytes::from(out)
        }
        None => payload,
    }
}

fn fixed(value: Value) -> BodyFn {
    let bytes = Bytes::from(value.to_string());
    Arc::new(move |_| bytes.clone())
}

/// A body serialised once, with `__N__` replaced by the request's sequence
/// number, so every request misses the cache without the load generator
/// spending more time building bodies than the server spends answering them.
fn varying(template: Value) -> BodyFn {
    let text = template.to_string();
    let (head, tail) = text.split_once(SEQUENCE_MARK).map_or_else(
        || (text.clone(), String::new()),
        |(h, t)| (h.to_string(), t.to_string()),
    );
    Arc::new(move |n| {
        let mut body = String::with_capacity(head.len() + tail.len() + 20);
        body.push_str(&head);
        body.push_str(&n.to_string());
        body.push_str(&tail);
        Bytes::from(body)
    })
}

fn samples(n: usize) -> Value {
    let categories = ["outerwear", "shoes", "bags", "jewelry", "knitwear"];
    let statuses = [
        "requested",
        "in_transit",
        "awaiting",
        "on_set",
        "shot",
        "returned",
    ];
    Value::Array(
        (0..n)
            .map(|i| {
                let (category, status) = (categories[i % 5], statuses[i % 6]);
                json!({"id": format!("s-{i}"), "name": format!("Sample {i}"), "category": category,
                       "status": status, "isHero": i % 9 == 0, "dueDate": format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
                       "lookNumber": 1 + i % 40})
            })
            .collect(),
    )
}

fn event(id: &str) -> Value {
    let tasks: Vec<Value> = (0..30)
        .map(|i| {
            let deps: Vec<String> = if i == 0 { vec![] } else { vec![format!("t-{}", (i - 1) / 2)] };
            let status = ["todo", "in_progress", "done", "todo"][i % 4];
            json!({"id": format!("t-{i}"), "name": format!("Task {i}"), "durationMinutes": 30 + (i * 7) % 90,
                   "dependsOn": deps, "status": status})
        })
        .collect();
    json!({"id": id, "name": "SS27 Runway", "startsAt": "2099-02-01T18:00", "showMinutes": 45, "tasks": tasks,
           "staffing": [{"role": "dresser", "block": "show", "required": 12}, {"role": "hair", "block": "setup", "required": 6}],
           "assignments": [{"person": "A", "role": "dresser", "block": "show"}, {"person": "B", "role": "hair", "block": "setup"}],
           "segments": [{"name": "opening", "minutes": 5}, {"name": "looks", "minutes": 35}]})
}

fn gallery() -> (Value, Value) {
    let shot_types = [
        "full_length",
        "three_quarter",
        "close_up",
        "detail",
        "back_view",
    ];
    let assets: Vec<Value> = (0..60)
        .map(|i| {
            let shot_type = shot_types[i % 5];
            json!({"id": format!("a-{i}"), "lookId": format!("L{}", i % 12), "shotType": shot_type,
                   "width": 4000 + (i % 5) * 500, "height": 6000, "format": "jpeg", "sharpness": 0.5 + (i % 5) as f64 / 10.0,
                   "exposureEv": ((i % 7) as f64 - 3.0) / 4.0, "noise": (i % 4) as f64 / 10.0,
                   "composition": {"ruleOfThirds": 0.6, "subjectFill": 0.6}, "brand": {"paletteMatch": 0.8, "logoVisible": i % 3 == 0, "onModel": true}})
        })
        .collect();
    let shots: Vec<Value> = (0..30)
        .map(|i| {
            let shot_type = shot_types[i % 5];
            json!({"id": format!("sh-{i}"), "lookId": format!("L{}", i % 15), "shotType": shot_type})
        })
        .collect();
    (Value::Array(assets), Value::Array(shots))
}

fn scenarios() -> Vec<Scenario> {
    let (assets, shots) = gallery();
    let (assets2, shots2) = (assets.clone(), shots.clone());
    let fifty = samples(50);
    let thousand = samples(1000);
    let fifty2 = fifty.clone();
    let logistics_hit =
        fixed(json!({"analysisType": "all", "sampleList": fifty, "trackerId": "bench"}));
    let events_hit = fixed(json!({"analysisType": "all", "event": event("bench")}));
    let media_hit = fixed(
        json!({"analysisType": "all", "assets": assets, "shotList": shots, "galleryId": "bench"}),
    );
    let recommendations_hit = fixed(
        json!({"userId": USER_MARK, "recommendationType": "packages", "context": {"budget": 20000, "timeline": "30d", "eventType": "runway"}}),
    );
    vec![
        Scenario {
            name: "hello-world component:-",
            method: Method::GET,
            path: HELLO_PATH,
            body: fixed(Value::Null),
            cache_control: None,
        },
        Scenario {
            name: "no-op (OPTIONS preflight through the component):-",
            method: Method::OPTIONS,
            path: "/functions/v1/logistics-analyzer",
            body: fixed(Value::Null),
            cache_control: None,
        },
        Scenario {
            name: "logistics-analyzer (50 samples):db hit",
            method: Method::POST,
            path: "/functions/v1/logistics-analyzer",
            body: logistics_hit.clone(),
            cache_control: Some("no-cache"),
        },
        Scenario {
            name: "logistics-analyzer (50 samples):edge hit",
            method: Method::POST,
            path: "/functions/v1/logistics-analyzer",
            body: logistics_hit,
            cache_control: None,
        },
        Scenario {
            name: "logistics-analyzer (50 samples):miss",
            method: Method::POST,
            path: "/functions/v1/logistics-analyzer",
            body: varying(
                json!({"analysisType": "all", "sampleList": fifty2, "trackerId": "t-__N__"}),
            ),
            cache_control: None,
        },
        Scenario {
            name: "logistics-analyzer (1000 samples):miss",
            method: Method::POST,
            path: "/functions/v1/logistics-analyzer",
            body: varying(
                json!({"analysisType": "all", "sampleList": thousand, "trackerId": "k-__N__"}),
            ),
            cache_control: None,
        },
        Scenario {
            name: "events-optimizer (30 tasks):db hit",
            method: Method::POST,
            path: "/functions/v1/events-optimizer",
            body: events_hit.clone(),
            cache_control: Some("no-cache"),
        },
        Scenario {
            name: "events-optimizer (30 tasks):edge hit",
            method: Method::POST,
            path: "/functions/v1/events-optimizer",
            body: events_hit,
            cache_control: None,
        },
        Scenario {
            name: "events-optimizer (30 tasks):miss",
            method: Method::POST,
            path: "/functions/v1/events-optimizer",
            body: varying(json!({"analysisType": "all", "event": event("e-__N__")})),
            cache_control: None,
        },
        Scenario {
            name: "media-scorer (60 frames):db hit",
            method: Method::POST,
            path: "/functions/v1/media-scorer",
            body: media_hit.clone(),
            cache_control: Some("no-cache"),
        },
        Scenario {
            name: "media-scorer (60 frames):edge hit",
            method: Method::POST,
            path: "/functions/v1/media-scorer",
            body: media_hit,
            cache_control: None,
        },
        Scenario {
            name: "media-scorer (60 frames):miss",
            method: Method::POST,
            path: "/functions/v1/media-scorer",
            body: varying(
                json!({"analysisType": "all", "assets": assets2, "shotList": shots2, "galleryId": "g-__N__"}),
            ),
            cache_control: None,
        },
        Scenario {
            name: "recommendations (packages):db hit",
            method: Method::POST,
            path: "/functions/v1/recommendations",
            body: recommendations_hit.clone(),
            cache_control: Some("no-cache"),
        },
        Scenario {
            name: "recommendations (packages):edge hit",
            method: Method::POST,
            path: "/functions/v1/recommendations",
            body: recommendations_hit,
            cache_control: None,
        },
        Scenario {
            // Reads the caller's preferences and the feature usage of every
            // user's `feature_used` events, which every hit above records.
            name: "recommendations (packages):miss",
            method: Method::POST,
            path: "/functions/v1/recommendations",
            body: varying(
                json!({"userId": USER_MARK, "recommendationType": "packages", "context": {"currentPage": "/events/ev-__N__", "budget": 20000, "timeline": "30d", "eventType": "runway"}}),
            ),
            cache_control: None,
        },
        Scenario {
            name: "chat-orchestrator (blockers, 50 samples):-",
            method: Method::POST,
            path: "/functions/v1/chat-orchestrator",
            body: fixed(
                json!({"message": "Which samples are late?", "currentKit": "logistics", "currentRoute": "/logistics",
                                      "sessionId": "6f1d1c2e-8a4b-4c59-9e2f-1a2b3c4d5e6f",
                                      "conversationHistory": [{"role": "user", "content": "How ready are we?"}],
                                      "userContext": {"sampleList": samples(50)}}),
            ),
            cache_control: None,
        },
    ]
}

/// Mean time to instantiate a pre-linked component from the pooling allocator.
async fn instantiation_micros(root: &Path) -> Result<f64> {
    use spinbase::engine;
    use spinbase::host::{ComponentEnv, InstanceLimits, InstanceState};
    let limits = engine::EngineLimits {
        max_instances: 256,
        max_memory_bytes: 128 << 20,
    };
    let engine = engine::build(limits)?;
    let linker = spinbase::host::linker(&engine).map_err(anyhow::Error::from)?;
    let wasm = root.join("target/wasm32-wasip2/wasm/logistics_analyzer.wasm");
    let (component, _) = engine::load_component(&engine, &wasm, &root.join(".spinbase/cache"))?;
    let pre = spinbase::up::link(&linker, &component)?;
    let env = Arc::new(ComponentEnv::new(
        "logistics-analyzer".into(),
        Default::default(),
        Default::default(),
    ));
    let pg = PgPools::new(1);
    let rounds = 2000;
    let started = Instant::now();
    for _ in 0..rounds {
        let mut store = wasmtime::Store::new(
            &engine,
            InstanceState::new(
                env.clone(),
                pg.clone(),
                InstanceLimits {
                    max_memory_bytes: 128 << 20,
                },
            ),
        );
        store.epoch_deadline_async_yield_and_update(1);
        pre.instantiate_async(&mut store)
            .await
            .map_err(anyhow::Error::from)?;
    }
    Ok(started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds))
}

// ---------------------------------------------------------------------------
// The native baseline: the same statements and the same domain code, no Wasm.
// ---------------------------------------------------------------------------

/// Starts the native baseline in a process of its own (this binary again),
/// so that both sides stand alike: each a process of its own with the same
/// server design, neither sharing threads or an I/O driver with the load
/// generator. The baseline used to be served from the generator's own
/// runtime, where a request and its answer woke no other process.
async fn start_native(url: &str) -> Result<(ServerProcess, SocketAddr)> {
    let mut child = ServerProcess(
        Command::new(std::env::current_exe()?)
            .env(NATIVE_DATABASE_URL, url)
            .stdout(Stdio::piped())
            .spawn()?,
    );
    let stdout = child
        .0
        .stdout
        .take()
        .context("no stdout of the native baseline")?;
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).map(|_| line)
    })
    .await??;
    let addr = line.trim().parse().with_context(|| {
        format!(
            "the native baseline did not start: it printed `{}`",
            line.trim()
        )
    })?;
    Ok((child, addr))
}

/// The native baseline's process: the runtime's server (one single-threaded
/// runtime per core, each with its share of the runtime's number of
/// database connections) with the native handler where the runtime runs a
/// component. Prints its address, then serves until killed.
fn serve_native(url: String) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The runtime's pool size, read from where the runtime reads it, so both
    // sides hold as many database connections.
    let pool_size = runtime_setting(
        spinbase::cli::DB_POOL_SIZE_ENV,
        spinbase::cli::DEFAULT_DB_POOL_SIZE,
    )?;
    // Its idle spin too, so both sides of a comparison sleep alike.
    let idle_spin = Duration::from_micros(runtime_setting(
        spinbase::cli::IDLE_SPIN_ENV,
        spinbase::cli::DEFAULT_IDLE_SPIN_US,
    )?);
    // The runtime's edge cache, with its default budget, shared by the threads.
    let edge_cache = Arc::new(EdgeCache::new(spinbase::cli::DEFAULT_EDGE_CACHE_MIB << 20));
    let servers = (0..threads)
        .map(|_| {
            Arc::new(NativeThread {
                url: url.clone(),
                pg: PgPools::new(pool_size.div_ceil(threads)),
                edge_cache: edge_cache.clone(),
            })
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("{}", listener.local_addr()?);
        spinbase::server::serve(servers, listener, idle_spin, std::future::pending()).await
    })
}

/// A setting of the runtime's, read from the environment variable its flag
/// reads, else its default. A value the flag would refuse is refused here
/// too, so the baseline never runs with a default the runtime did not take.
fn runtime_setting<T: std::str::FromStr>(variable: &str, default: T) -> Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match std::env::var(variable) {
        Ok(value) => value
            .parse()
            .with_context(|| format!("{variable} must be a whole number, got {value:?}")),
        Err(_) => Ok(default),
    }
}

/// One HTTP thread of the native baseline.
struct NativeThread {
    url: String,
    pg: Arc<PgPools>,
    edge_cache: Arc<EdgeCache>,
}

impl spinbase::server::ThreadServer for NativeThread {
    async fn serve_connections(self: Arc<Self>, mut incoming: spinbase::server::HandedConnections) {
        while let Some(stream) = incoming.recv().await {
            let Ok(stream) = TcpStream::from_std(stream) else {
                continue;
            };
            let thread = self.clone();
            tokio::spawn(async move {
                let _open = spinbase::idle_spin::OpenConnection::begin();
                let service = hyper::service::service_fn(move |req| {
                    let thread = thread.clone();
                    async move { Ok::<_, std::convert::Infallible>(native(req, &thread).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }
}

async fn native(
    req: Request<hyper::body::Incoming>,
    thread: &NativeThread,
) -> Response<Full<Bytes>> {
    let respond = |status: StatusCode, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        for (name, value) in shared::cors::HEADERS {
            response
                .headers_mut()
                .insert(name, hyper::header::HeaderValue::from_static(value));
        }
        response
    };
    if req.method() == Method::OPTIONS {
        return respond(StatusCode::OK, "ok".into());
    }
    if req.uri().path() == HELLO_PATH {
        return Response::new(Full::new(Bytes::from_static(b"Hello, world!")));
    }
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return respond(StatusCode::BAD_REQUEST, e.to_string()),
    };
    // The edge cache as the runtime consults it, keyed by the route.
    let cache = &thread.edge_cache;
    let key = cache.key(
        parts.uri.path(),
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
    );
    if let Some(hit) = key.as_ref().and_then(|key| cache.get(key)) {
        return hit.map(Full::new);
    }
    let header = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    match native_call(parts.uri.path(), header, &body, &thread.url, &thread.pg).await {
        Ok((text, max_age)) => {
            let text = Bytes::from(text);
            let mut response = respond(StatusCode::OK, String::new());
            let headers = response.headers_mut();
            headers.insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
            if let Some(seconds) = max_age {
                let value = format!("private, max-age={seconds}");
                if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
                    headers.insert(hyper::header::CACHE_CONTROL, value);
                }
            }
            headers.insert(hyper::header::CONTENT_LENGTH, text.len().into());
            if let Some(key) = &key
                && let Some(keep) = cache.keeps(key, StatusCode::OK, response.headers())
            {
                cache.put(key, keep, StatusCode::OK, response.headers(), &text);
            }
            *response.body_mut() = Full::new(text);
            response
        }
        Err(e) => respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            shared::error::envelope("internal", &e.to_string()).to_string(),
        ),
    }
}

/// The function's work for one request to `path`: its answer, and for a
/// hit in the database how long it may be reused, as the functions say.
async fn native_call(
    path: &str,
    header: Option<&str>,
    body: &[u8],
    url: &str,
    pg: &PgPools,
) -> Result<(String, Option<u32>)> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let claims = auth::verify(auth::bearer(header)?, SECRET.as_bytes(), now)?;
    let user = claims.user_id()?.to_string();
    let mut client = pg.acquire(url).await.map_err(anyhow::Error::msg)?;

    let limit: i32 = NO_LIMIT.parse()?;
    let today = now.div_euclid(86_400);

    if path.ends_with("chat-orchestrator") {
        let request: shared::chat::ChatRequest = shared::validation::parse_body(body)?;
        run(&mut client, shared::rate_limit::COUNT_SQL, &[&user, &limit]).await?;
        // Chat writes user data: a durable commit.
        begin_session(&mut client, &claims, "on").await?;
        let preferences = shared::preferences::Preferences::default();
        run(
            &mut client,
            "SELECT default_kit FROM public.user_preferences WHERE user_id = auth.uid()",
            &[],
        )
        .await?;
        let routing = shared::chat::route(&request);
        let answer = shared::chat::run_skill(&routing, &request, &preferences, now.div_euclid(60))
            .unwrap_or_else(|e| shared::chat::fallback(&routing, &e.0));
        // Serialised once for the log and the response, as the function does.
        let text = serde_json::to_string(&answer)?;
        let intent = routing.detection.intent.as_str();
        let skill = routing.skill.as_str();
        let response_time_ms = 0i32;
        run(
            &mut client,
            shared::chat::LOG_EXCHANGE_SQL,
            &[
                &request.session_id,
                &request.message,
                &text,
                &request.current_kit,
                &request.current_route,
                &intent,
                &skill,
                &response_time_ms,
            ],
        )
        .await?;
        run(&mut client, "COMMIT", &[]).await?;
        return Ok((text, None));
    }

    let family = if path.ends_with("logistics-analyzer") {
        InsightFamily::Logistics
    } else if path.ends_with("events-optimizer") {
        InsightFamily::Events
    } else if path.ends_with("media-scorer") {
        InsightFamily::Media
    } else {
        InsightFamily::Recommendations
    };
    // The rate limit, the lookup by the body's hash and the usage event in
    // one statement, before the body is parsed, as the functions send it; a
    // miss parses, validates and computes in a session.
    let hash = shared::cache::input_hash(body);
    let hit = run(
        &mut client,
        shared::cache::FIND_SQL,
        &[&user, &limit, &family.prefix(), &family.kit(), &hash],
    )
    .await?;
    let cached = hit.first().and_then(|row| {
        Some((
            row.get::<_, Option<String>>(2)?,
            row.get::<_, Option<String>>(3)?,
        ))
    });
    if let Some((data, at)) = cached {
        let max_age = Some(shared::cache::fresh_for(family, &at, now)).filter(|&s| s > 0);
        return Ok((shared::cache::with_meta(&data, true, &at), max_age));
    }
    // Recommendations read preferences and usage on a miss, as the function does.
    let reads_signals = family == InsightFamily::Recommendations;
    let (slot, compute): (InsightSlot, Box<dyn FnOnce() -> Result<String> + Send>) = match family {
        InsightFamily::Logistics => {
            let request: shared::logistics::LogisticsRequest =
                shared::validation::parse_body(body)?;
            request.validate()?;
            (
                request.slot(),
                Box::new(move || {
                    Ok(serde_json::to_string(&shared::logistics::analyze(
                        &request, today,
                    ))?)
                }),
            )
        }
        InsightFamily::Events => {
            let request: shared::events::EventsRequest = shared::validation::parse_body(body)?;
            request.validate()?;
            (
                request.slot(),
                Box::new(move || {
                    Ok(serde_json::to_string(&shared::events::analyze(
                        &request,
                        now.div_euclid(60),
                    ))?)
                }),
            )
        }
        InsightFamily::Media => {
            let request: shared::media::MediaRequest = shared::validation::parse_body(body)?;
            request.validate()?;
            (
                request.slot(),
                Box::new(move || Ok(serde_json::to_string(&shared::media::analyze(&request))?)),
            )
        }
        InsightFamily::Recommendations => {
            let request: shared::recommendations::RecommendationsRequest =
                shared::validation::parse_body(body)?;
            request.validate()?;
            let signals = shared::recommendations::Signals::default();
            (
                request.slot(),
                Box::new(move || {
                    Ok(serde_json::to_string(&shared::recommendations::recommend(
                        &request, &signals, today,
                    ))?)
                }),
            )
        }
    };
    let key = InsightKey::new(family, &slot, hash);
    // Cached insights are derived data: an asynchronous commit.
    begin_session(&mut client, &claims, "off").await?;
    if reads_signals {
        run(
            &mut client,
            "SELECT default_kit FROM public.user_preferences WHERE user_id = auth.uid()",
            &[],
        )
        .await?;
        run(
            &mut client,
            "SELECT feature, own_count, user_share FROM public.assistant_feature_usage()",
            &[],
        )
        .await?;
    }
    let text = compute()?;
    let ttl = key.family.ttl_secs();
    let at = run(
        &mut client,
        shared::cache::STORE_SQL,
        &[
            &key.insight_type,
            &key.context_id,
            &key.input_hash,
            &text,
            &ttl,
            &key.family.kit(),
        ],
    )
    .await?;
    let at = at
        .first()
        .map(|r| r.get::<_, String>(0))
        .unwrap_or_default();
    run(&mut client, "COMMIT", &[]).await?;
    Ok((shared::cache::with_meta(&text, false, &at), None))
}

/// `BEGIN` with the caller's claims, role and commit mode, in one round trip
/// as the runtime sends it (the deferred `BEGIN` goes out with the claims).
async fn begin_session(
    client: &mut PgClient,
    claims: &auth::Claims,
    synchronous_commit: &str,
) -> Result<()> {
    let role = claims.role.as_str();
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&claims.raw, &role, &synchronous_commit];
    client
        .query_with(auth::TRANSACTION_CLAIMS_SQL, &params, true)
        .await?;
    Ok(())
}

/// Runs a statement as the runtime runs a guest's: prepared once per
/// connection, with any reset the connection owes in the same round trip.
async fn run(
    client: &mut PgClient,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>> {
    Ok(client.query_with(sql, params, false).await?)
}
