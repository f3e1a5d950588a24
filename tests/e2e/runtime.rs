//! The runtime itself: routing, CORS, limits, migrations, start-up errors, compile cache.

use crate::env::{self, Server, TestDatabase, TestEnv};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

const FUNCTION: &str = "logistics-analyzer";

#[tokio::test]
async fn preflight_is_answered_without_a_token_with_cors_headers() -> Result<()> {
    let env = TestEnv::start("runtime_cors").await?;
    let response = env
        .http
        .request(reqwest::Method::OPTIONS, env.server.function(FUNCTION))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(
        headers["access-control-allow-headers"],
        "authorization, x-client-info, apikey, content-type"
    );
    assert_eq!(
        headers["access-control-allow-methods"],
        "GET, POST, PUT, PATCH, DELETE, OPTIONS"
    );
    Ok(())
}

#[tokio::test]
async fn other_methods_get_405_with_allow_cors_and_length() -> Result<()> {
    let env = TestEnv::start("runtime_405").await?;
    let user = env.user().await?;
    let response = env
        .http
        .get(env.server.function(FUNCTION))
        .bearer_auth(&user.token)
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "POST, OPTIONS");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert_eq!(response.headers()["content-type"], "application/json");
    // A function's answer is written whole, so it goes out with its length,
    // not chunked.
    let length: usize = response.headers()["content-length"].to_str()?.parse()?;
    assert!(response.headers().get("transfer-encoding").is_none());
    let text = response.text().await?;
    assert_eq!(text.len(), length);
    let body: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(body["error"]["code"], "method_not_allowed");
    Ok(())
}

#[tokio::test]
async fn unknown_route_gets_404_envelope() -> Result<()> {
    let env = TestEnv::start("runtime_404").await?;
    let response = env
        .http
        .post(env.server.function("no-such-function"))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["error"]["code"], "not_found");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no-such-function")
    );
    Ok(())
}

#[tokio::test]
async fn oversized_body_gets_413() -> Result<()> {
    let env = TestEnv::start_with("runtime_413", &["--max-body-bytes", "1024"]).await?;
    let user = env.user().await?;
    let response = env
        .http
        .post(env.server.function(FUNCTION))
        .bearer_auth(&user.token)
        .body(vec![b' '; 4096])
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 413);
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["error"]["code"], "payload_too_large");
    Ok(())
}

#[tokio::test]
async fn restart_loads_components_from_the_compile_cache() -> Result<()> {
    let db = TestDatabase::create("runtime_cache").await?;
    let first = Server::start(&db.url, &[])?;
    drop(first);
    let second = Server::start(&db.url, &[])?;
    assert!(
        second
            .log()
            .contains("logistics-analyzer: loaded from compile cache"),
        "{}",
        second.log()
    );
    Ok(())
}

#[tokio::test]
async fn two_starts_on_a_fresh_database_migrate_it_once() -> Result<()> {
    let db = TestDatabase::create("runtime_migrations_together").await?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let (first, second) = tokio::join!(
        spinbase::database::migrate(&db.url, &dir),
        spinbase::database::migrate(&db.url, &dir)
    );
    let (first, second) = (first?, second?);
    let all = spinbase::database::migrate::discover(&dir)?.len();
    assert_eq!(
        first.len() + second.len(),
        all,
        "each applied once, by one of them"
    );
    let client = db.client().await?;
    let recorded: i64 = client
        .query_one(
            "SELECT count(*) FROM supabase_migrations.schema_migrations",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(recorded, i64::try_from(all)?);
    Ok(())
}

#[tokio::test]
async fn migrations_apply_once_and_a_failing_one_rolls_back_whole() -> Result<()> {
    let db = TestDatabase::create("runtime_migrations").await?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let applied = spinbase::database::migrate(&db.url, &dir).await?;
    assert!(applied.len() >= 2);
    assert!(spinbase::database::migrate(&db.url, &dir).await?.is_empty());

    let broken = std::env::temp_dir().join(format!("spinbase-broken-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&broken)?;
    std::fs::write(
        broken.join("20990101000000_half.sql"),
        "CREATE TABLE half_written (id int);\nINSERT INTO no_such_table VALUES (1);\n",
    )?;
    let error = spinbase::database::migrate(&db.url, &broken)
        .await
        .expect_err("the migration fails");
    let message = format!("{error:#}");
    assert!(message.contains("20990101000000_half.sql"), "{message}");
    assert!(message.contains("no_such_table"), "{message}");
    assert!(message.contains("line 2"), "{message}");
    let client = db.client().await?;
    let exists: bool = client
        .query_one("SELECT to_regclass('public.half_written') IS NOT NULL", &[])
        .await?
        .get(0);
    assert!(!exists, "nothing of the failed migration remains");
    std::fs::remove_dir_all(&broken)?;
    Ok(())
}

#[test]
fn unreachable_database_ends_start_up_with_one_clear_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_spinbase"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "up",
            "--no-build",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/nowhere",
        ])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        line.contains("cannot reach PostgreSQL at postgres://postgres@127.0.0.1:1/nowhere"),
        "{stderr}"
    );
}

#[test]
fn invalid_manifest_ends_start_up_naming_the_problem() {
    let dir = std::env::temp_dir().join(format!("spinbase-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let manifest = dir.join("spin.toml");
    std::fs::write(
        &manifest,
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\nroute = \"/a\"\ncomponent = \"missing\"\n",
    )
    .expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_spinbase"))
        .arg("--manifest")
        .arg(&manifest)
        .args(["up", "--no-build"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("component `missing`, which is not defined"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[tokio::test]
async fn port_in_use_ends_start_up_naming_the_port() -> Result<()> {
    let db = TestDatabase::create("runtime_port").await?;
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = taken.local_addr()?.port();
    let output = Command::new(env!("CARGO_BIN_EXE_spinbase"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["up", "--no-build", "--database-url", &db.url, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    Ok(())
}

#[tokio::test]
async fn every_request_gets_an_instance_no_request_has_used() -> Result<()> {
    let db = TestDatabase::create("runtime_fresh_instances").await?;
    let server = Server::start_manifest(env::TEST_COMPONENTS, &db.url, &[], &[])?;
    let http = reqwest::Client::new();
    // One after another (each may find the instance made ahead after the
    // last), then many at once (most instantiate on arrival).
    for _ in 0..20 {
        let served = http.get(&server.base).send().await?.text().await?;
        assert_eq!(served, "1", "an instance served a second request");
    }
    let mut at_once = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let request = http.get(&server.base).send();
        at_once.spawn(async move { request.await?.text().await });
    }
    while let Some(served) = at_once.join_next().await {
        assert_eq!(served??, "1", "an instance served a second request");
    }
    Ok(())
}

#[tokio::test]
async fn a_request_allocating_a_mebibyte_does_not_grow_its_memory() -> Result<()> {
    // Components are built with 4 MiB of initial memory (.cargo/config.toml),
    // so a typical request's heap never grows memory, and the slot's reuse
    // never has to take grown memory back (an mprotect and a TLB flush on
    // every core running the runtime).
    let db = TestDatabase::create("runtime_initial_memory").await?;
    let server = Server::start_manifest(env::TEST_COMPONENTS, &db.url, &[], &[])?;
    let answer = reqwest::get(format!("{}/memory", server.base))
        .await?
        .text()
        .await?;
    let pages: Vec<u64> = answer
        .split(' ')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    assert_eq!(pages.len(), 2, "unexpected answer {answer:?}");
    assert!(pages[0] * 65_536 >= 4 << 20, "initial memory: {answer}");
    assert_eq!(
        pages[1], pages[0],
        "a 1 MiB allocation grew memory: {answer}"
    );
    Ok(())
}

#[tokio::test]
async fn a_guest_stuck_in_a_loop_gets_504_and_the_runtime_keeps_serving() -> Result<()> {
    let db = TestDatabase::create("runtime_deadline").await?;
    let server = Server::start_manifest(
        env::TEST_COMPONENTS,
        &db.url,
        &["--request-timeout-ms", "300"],
        &[],
    )?;
    let http = reqwest::Client::new();
    let stuck = http.get(format!("{}/spin", server.base)).send().await?;
    assert_eq!(stuck.status().as_u16(), 504);
    let body: serde_json::Value = stuck.json().await?;
    assert_eq!(body["error"]["code"], "timeout");
    assert_eq!(
        body["error"]["message"],
        "the function did not answer within 300 ms"
    );
    let next = http.get(&server.base).send().await?;
    assert_eq!(next.status().as_u16(), 200);
    assert_eq!(next.text().await?, "1");
    Ok(())
}

#[tokio::test]
async fn connections_spread_over_http_threads_and_sigterm_stops_them_all() -> Result<()> {
    let db = TestDatabase::create("runtime_threads").await?;
    let mut server =
        Server::start_manifest(env::TEST_COMPONENTS, &db.url, &["--http-threads", "3"], &[])?;
    // Separate clients, so each request opens its own connection and the
    // connections are handed to all three threads in turn.
    let mut at_once = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let base = server.base.clone();
        at_once.spawn(async move {
            let response = reqwest::Client::new().get(&base).send().await?;
            Ok::<_, reqwest::Error>((response.status().as_u16(), response.text().await?))
        });
    }
    while let Some(served) = at_once.join_next().await {
        assert_eq!(served??, (200, "1".to_string()));
    }
    let status = server.terminate(std::time::Duration::from_secs(20))?;
    assert!(status.success(), "exit {status}:\n{}", server.log());
    assert!(server.log().contains("Stopped"), "{}", server.log());
    Ok(())
}

#[tokio::test]
async fn starts_creating_the_same_database_at_once_all_succeed() -> Result<()> {
    // A name no database has yet; the handle drops whatever gets created.
    let db = TestDatabase::create("runtime_create_race").await?;
    let name = db.url.rsplit('/').next().unwrap_or_default().to_string();
    let admin = env::connect(&format!("{}/postgres", env::database_server())).await?;
    admin
        .batch_execute(&format!("DROP DATABASE \"{name}\""))
        .await?;
    // PostgreSQL answers the losers of overlapping creations with a unique
    // violation on pg_database's name index, not with duplicate_database.
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { spinbase::database::ensure_database(&url).await })
        })
        .collect();
    for start in starts {
        start.await??;
    }
    let exists: bool = admin
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&name],
        )
        .await?
        .get(0);
    assert!(exists);
    Ok(())
}

#[tokio::test]
async fn a_local_server_that_refuses_is_reported_not_replaced_by_a_private_cluster() -> Result<()> {
    let role = format!(
        "spinbase_test_nologin_{}",
        uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .get(..8)
            .unwrap_or("x")
    );
    let admin = env::connect(&format!("{}/postgres", env::database_server())).await?;
    admin
        .batch_execute(&format!("CREATE ROLE \"{role}\" NOLOGIN"))
        .await?;
    let server = env::database_server();
    let (scheme, rest) = server.split_once("://").context("a server URL")?;
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let server = format!("{scheme}://{role}@{host}");
    let data_dir = std::env::temp_dir().join(format!("spinbase-refused-{role}"));
    let prepared = spinbase::database::prepare_local(&server, &data_dir).await;
    admin
        .batch_execute(&format!("DROP ROLE \"{role}\""))
        .await?;
    let message = format!("{:#}", prepared.err().expect("the server refuses the role"));
    assert!(message.contains("not permitted to log in"), "{message}");
    assert!(
        !data_dir.join("postgres").exists(),
        "no private cluster was started"
    );
    Ok(())
}
