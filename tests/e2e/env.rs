//! The shared environment builder: components built once, a fresh database
//! and a running `spinbase up` per test.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use shared::auth::{self, Role};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_postgres::NoTls;

/// The server all tests talk to; tests may point elsewhere with TEST_DATABASE_SERVER.
pub(crate) fn database_server() -> String {
    std::env::var("TEST_DATABASE_SERVER")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// The JWT secret of spin.toml's default (the Supabase CLI's local secret).
pub(crate) const JWT_SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

fn project_root() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_spinbase")
}

/// The product's manifest.
pub(crate) const PRODUCT: &str = "spin.toml";

/// The manifest of the components only the tests use.
pub(crate) const TEST_COMPONENTS: &str = "tests/components/spin.toml";

/// Builds and precompiles `manifest`'s components once per test run.
fn build_components(manifest: &str) -> Result<()> {
    static BUILT: Mutex<BTreeMap<String, Result<(), String>>> = Mutex::new(BTreeMap::new());
    // Held while building: a second test waits for the first build, not a second one.
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let result = built
        .entry(manifest.to_string())
        .or_insert_with(|| {
            let output = Command::new(binary())
                .args(["--manifest", manifest, "build"])
                .current_dir(project_root())
                .output()
                .map_err(|e| e.to_string())?;
            if output.status.success() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&output.stderr).into_owned())
            }
        })
        .clone();
    result.map_err(|e| anyhow::anyhow!("spinbase build of {manifest} failed:\n{e}"))
}

/// A fresh, empty database, dropped when the value is.
pub(crate) struct TestDatabase {
    /// Its URL.
    pub(crate) url: String,
    name: String,
}

impl TestDatabase {
    /// Creates a database named after the test.
    pub(crate) async fn create(test: &str) -> Result<Self> {
        let name = format!(
            "spinbase_test_{}_{}",
            test,
            uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .get(..8)
                .unwrap_or("x")
        );
        let admin = connect(&format!("{}/postgres", database_server())).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        Ok(Self {
            url: format!("{}/{name}", database_server()),
            name,
        })
    }

    /// Creates a database named after the test, with the project's migrations applied.
    pub(crate) async fn migrated(test: &str) -> Result<Self> {
        let db = Self::create(test).await?;
        spinbase::database::migrate(
            &db.url,
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"),
        )
        .await?;
        Ok(db)
    }

    /// A client connected as the superuser.
    pub(crate) async fn client(&self) -> Result<tokio_postgres::Client> {
        connect(&self.url).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let server = database_server();
        // Drop runs inside the test's runtime; use a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok(admin) = connect(&format!("{server}/postgres")).await {
                        let _ = admin
                            .batch_execute(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            }
        })
        .join();
    }
}

/// Connects with tokio-postgres, spawning the connection task.
pub(crate) async fn connect(url: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// A running `spinbase up`, killed when dropped; its log is printed if the test failed.
pub(crate) struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `spinbase up --no-build` against `database_url` with extra flags.
    pub(crate) fn start(database_url: &str, extra: &[&str]) -> Result<Self> {
        Self::start_with_env(database_url, extra, &[])
    }

    /// Same, with extra environment variables (e.g. `SPIN_VARIABLE_*`).
    pub(crate) fn start_with_env(
        database_url: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self> {
        Self::start_manifest(PRODUCT, database_url, extra, env)
    }

    /// Starts `spinbase up --no-build` for `manifest` (relative to the project root).
    pub(crate) fn start_manifest(
        manifest: &str,
        database_url: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self> {
        build_components(manifest)?;
        let mut child = Command::new(binary())
            .current_dir(project_root())
            .args([
                "--manifest",
                manifest,
                "up",
                "--no-build",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                database_url,
            ])
            .args(extra)
            .env("SPINBASE_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().context("no stderr")?;
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("Serving ") {
                    let address = rest
                        .split("http://")
                        .nth(1)
                        .and_then(|s| s.split_whitespace().next())
                        .map(str::to_string);
                    let _ = tx.send(address);
                }
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let mut server = Self {
            child,
            base: String::new(),
            log,
        };
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Some(address)) => server.base = format!("http://{address}"),
            _ => bail!("spinbase up did not start:\n{}", server.log()),
        }
        Ok(server)
    }

    /// Everything the server printed so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Sends SIGTERM and waits up to `within` for the process to exit.
    pub(crate) fn terminate(&mut self, within: Duration) -> Result<std::process::ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("spinbase did not stop within {within:?}:\n{}", self.log())
    }

    /// The URL of a function.
    pub(crate) fn function(&self, name: &str) -> String {
        format!("{}/functions/v1/{name}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- spinbase log ---\n{}", self.log());
        }
    }
}

/// A database with migrations applied and a server on it.
pub(crate) struct TestEnv {
    /// The server.
    pub(crate) server: Server,
    /// The database (declared after the server, so it is dropped after it).
    pub(crate) db: TestDatabase,
    /// An HTTP client.
    pub(crate) http: reqwest::Client,
}

impl TestEnv {
    /// A fresh database and a server on it.
    pub(crate) async fn start(test: &str) -> Result<Self> {
        Self::start_with(test, &[]).await
    }

    /// Same, with extra `up` flags.
    pub(crate) async fn start_with(test: &str, extra: &[&str]) -> Result<Self> {
        Self::start_with_env(test, extra, &[]).await
    }

    /// Same, with extra `up` flags and environment variables.
    pub(crate) async fn start_with_env(
        test: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self> {
        let db = TestDatabase::create(test).await?;
        let server = Server::start_with_env(&db.url, extra, env)?;
        Ok(Self {
            server,
            db,
            http: reqwest::Client::new(),
        })
    }

    /// Registers a user in auth.users and returns its id and a valid token.
    pub(crate) async fn user(&self) -> Result<TestUser> {
        let id = uuid::Uuid::new_v4();
        let client = self.db.client().await?;
        client
            .execute(
                "INSERT INTO auth.users (id, email) VALUES ($1, $2)",
                &[&id, &format!("{id}@example.com")],
            )
            .await?;
        let id = id.to_string();
        Ok(TestUser {
            token: token_for(&id, Role::Authenticated, 3600),
            id,
        })
    }

    /// POSTs JSON to a function with a bearer token; returns status and JSON body.
    pub(crate) async fn post(
        &self,
        function: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Result<(u16, Value)> {
        let mut request = self.http.post(self.server.function(function)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let json = serde_json::from_str(&text).with_context(|| format!("not JSON: {text}"))?;
        Ok((status, json))
    }
}

/// Makes the transaction act as `user`, the way a function's session does.
pub(crate) async fn act_as(tx: &tokio_postgres::Transaction<'_>, user: &str) -> Result<()> {
    let claims = serde_json::json!({"sub": user, "role": "authenticated"}).to_string();
    tx.execute(
        "SELECT set_config('request.jwt.claims', $1, true), set_config('role', 'authenticated', true)",
        &[&claims],
    )
    .await?;
    Ok(())
}

/// Counts rows of `table` visible to `user` under RLS, as a function's session sees them.
pub(crate) async fn count_as(db: &TestDatabase, user: &str, table: &str) -> Result<i64> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    act_as(&tx, user).await?;
    let count = tx
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await?
        .get(0);
    tx.rollback().await?;
    Ok(count)
}

/// The `feature_used` events recorded for `user`: (feature, kit) each.
pub(crate) async fn feature_uses(db: &TestDatabase, user: &str) -> Result<Vec<(String, String)>> {
    let client = db.client().await?;
    let rows = client
        .query(
            "SELECT event_data->>'feature', kit_context FROM public.analytics_events
              WHERE user_id = $1::text::uuid AND event_type = 'feature_used'",
            &[&user],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// A registered user.
pub(crate) struct TestUser {
    /// The uuid.
    pub(crate) id: String,
    /// A valid access token.
    pub(crate) token: String,
}

/// A token for `sub` with `role`, valid for `ttl` seconds from now (negative: expired).
pub(crate) fn token_for(sub: &str, role: Role, ttl: i64) -> String {
    auth::sign(
        &auth::user_claims(sub, role, now(), ttl),
        JWT_SECRET.as_bytes(),
    )
}

/// Seconds since the epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
