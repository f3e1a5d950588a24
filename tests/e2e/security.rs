//! Tokens, row-level security between users, and connection hygiene.

use crate::env::{TestDatabase, TestEnv, act_as, count_as, token_for};
use anyhow::Result;
use serde_json::json;
use shared::auth::{self, Role};
use spinbase::host::postgres::{PgPools, PooledClient};

const FUNCTION: &str = "logistics-analyzer";

fn body() -> serde_json::Value {
    json!({"analysisType": "readiness", "sampleList": [
        {"id": "a", "name": "Coat", "category": "outerwear", "status": "on_set"}
    ]})
}

#[tokio::test]
async fn missing_forged_expired_and_anon_tokens_get_401_and_write_nothing() -> Result<()> {
    let env = TestEnv::start("security_tokens").await?;
    let user = env.user().await?;
    let forged = auth::sign(
        &auth::user_claims(&user.id, Role::Authenticated, crate::env::now(), 3600),
        b"not-the-project-secret-not-the-project-secret",
    );
    let expired = token_for(&user.id, Role::Authenticated, -10);
    let anon = token_for("", Role::Anon, 3600);
    let cases: [(Option<&str>, &str); 5] = [
        (None, "missing Authorization header"),
        (Some(&forged), "invalid token signature"),
        (Some(&expired), "token expired"),
        (Some("not.a.jwt"), "malformed token"),
        (Some(&anon), "requires a signed-in user"),
    ];
    for (token, expected) in cases {
        let (status, answer) = env.post(FUNCTION, token, &body()).await?;
        assert_eq!(status, 401, "{expected}: {answer}");
        assert_eq!(answer["error"]["code"], "unauthorized");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(expected),
            "`{message}` should mention `{expected}`"
        );
    }
    let client = env.db.client().await?;
    let rows: i64 = client
        .query_one("SELECT count(*) FROM public.assistant_insights", &[])
        .await?
        .get(0);
    assert_eq!(rows, 0);
    Ok(())
}

#[tokio::test]
async fn another_user_cannot_read_or_reuse_an_insight() -> Result<()> {
    let env = TestEnv::start("security_rls").await?;
    let alice = env.user().await?;
    let bob = env.user().await?;
    let (status, _) = env.post(FUNCTION, Some(&alice.token), &body()).await?;
    assert_eq!(status, 200);

    let all = "public.assistant_insights";
    assert_eq!(count_as(&env.db, &alice.id, all).await?, 1);
    assert_eq!(count_as(&env.db, &bob.id, all).await?, 0);

    // Bob's identical request is not answered from Alice's cache.
    let (status, answer) = env.post(FUNCTION, Some(&bob.token), &body()).await?;
    assert_eq!(status, 200);
    assert_eq!(answer["cached"], false);
    assert_eq!(count_as(&env.db, &bob.id, all).await?, 1);

    // Users cannot write the cache table directly.
    let mut client = env.db.client().await?;
    let tx = client.transaction().await?;
    act_as(&tx, &bob.id).await?;
    let denied = tx
        .execute(
            "INSERT INTO public.assistant_insights (user_id, insight_type, context_id, data, expires_at)
             VALUES (auth.uid(), 'x', 'y', '{}', now())",
            &[],
        )
        .await
        .expect_err("direct writes are refused");
    assert_eq!(denied.code().map(|c| c.code()), Some("42501"));
    Ok(())
}

#[tokio::test]
async fn a_pooled_connection_reused_after_a_request_carries_no_role_or_claims() -> Result<()> {
    // One connection: the health check must get the one the function used.
    let env = TestEnv::start_with("security_pool_http", &["--db-pool-size", "1"]).await?;
    let user = env.user().await?;
    let (status, _) = env.post(FUNCTION, Some(&user.token), &body()).await?;
    assert_eq!(status, 200);
    let health: serde_json::Value = env
        .http
        .get(format!("{}/_spinbase/health", env.server.base))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(health["database"]["connectionClean"], true, "{health}");
    Ok(())
}

/// A migrated database of the test's own behind a pool of one connection,
/// so every borrower gets the same backend and sees what the last one left.
struct OneConnectionPool {
    db: TestDatabase,
    pools: std::sync::Arc<PgPools>,
}

impl OneConnectionPool {
    async fn new(name: &str) -> Result<Self> {
        let db = TestDatabase::migrated(name).await?;
        Ok(Self {
            db,
            pools: PgPools::new(1),
        })
    }

    async fn borrow(&self) -> Result<PooledClient> {
        self.pools
            .acquire(&self.db.url)
            .await
            .map_err(anyhow::Error::msg)
    }
}

#[tokio::test]
async fn the_pool_resets_role_settings_and_open_transactions() -> Result<()> {
    let pool = OneConnectionPool::new("security_pool_reset").await?;
    let mut dirty = pool.borrow().await?;
    let pid: i32 = dirty
        .client()
        .await?
        .query_one("SELECT pg_backend_pid()", &[])
        .await?
        .get(0);
    dirty
        .client()
        .await?
        .batch_execute(
            "SELECT set_config('request.jwt.claims', '{\"sub\":\"x\"}', false);
             SET ROLE authenticated;
             BEGIN;
             SET LOCAL statement_timeout = '1s';",
        )
        .await?;
    drop(dirty);

    let mut reused = pool.borrow().await?;
    let row = reused
        .client()
        .await?
        .query_one(
            "SELECT pg_backend_pid(), current_user::text,
                    coalesce(current_setting('request.jwt.claims', true), ''),
                    current_setting('statement_timeout')",
            &[],
        )
        .await?;
    assert_eq!(row.get::<_, i32>(0), pid, "the same connection is reused");
    assert_eq!(row.get::<_, String>(1), "postgres");
    assert_eq!(row.get::<_, String>(2), "");
    assert_eq!(row.get::<_, String>(3), "0");
    assert!(
        outside_a_transaction(reused.client().await?).await?,
        "no transaction is left open"
    );

    // A failed statement leaves an aborted transaction, where only a rollback
    // is accepted: the connection must come back clean (or not at all).
    reused
        .client()
        .await?
        .batch_execute("BEGIN; SET ROLE authenticated; SELECT 1/0")
        .await
        .expect_err("division by zero");
    drop(reused);
    let mut next = pool.borrow().await?;
    // One simple query is one implicit transaction: now() is its start.
    let state = next
        .client()
        .await?
        .simple_query("SELECT current_user || ' ' || (now() = statement_timestamp())::text")
        .await?;
    let state = state.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
        _ => None,
    });
    assert_eq!(
        state.as_deref(),
        Some("postgres true"),
        "no role and no transaction left"
    );
    Ok(())
}

/// Whether `client` is outside a transaction block: outside one, a simple
/// query is its own transaction, so `now()` (the transaction's start) is the
/// statement's start.
async fn outside_a_transaction(client: &tokio_postgres::Client) -> Result<bool> {
    let state = client
        .simple_query("SELECT (now() = statement_timestamp())::text")
        .await?;
    Ok(state.iter().any(
        |m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("true")),
    ))
}

/// Whether, within 5 s, backend `pid`'s last statement and state (as
/// `pg_stat_activity` shows them) come to satisfy `reached`.
async fn backend_reaches(
    observer: &tokio_postgres::Client,
    pid: i32,
    reached: impl Fn(&str, &str) -> bool,
) -> Result<bool> {
    for _ in 0..100 {
        let row = observer
            .query_one(
                "SELECT query, state FROM pg_stat_activity WHERE pid = $1",
                &[&pid],
            )
            .await?;
        if reached(row.get(0), row.get(1)) {
            return Ok(true);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(false)
}

#[tokio::test]
async fn a_clean_connection_owes_its_reset_to_the_next_borrower_or_the_pool() -> Result<()> {
    // The migrations create the `authenticated` role.
    let pool = OneConnectionPool::new("security_pool_owed_reset").await?;
    let settle = "SELECT set_config('request.jwt.claims', '{\"sub\":\"x\"}', false)";
    let state = "SELECT pg_backend_pid(), current_user::text,
                        coalesce(current_setting('request.jwt.claims', true), '')";

    // Statements outside a transaction block: the connection goes back at
    // once, and its reset runs ahead of the next borrower's first statement.
    let mut first = pool.borrow().await?;
    let pid: i32 = first.query_with(state, &[], false).await?[0].get(0);
    first.query_with(settle, &[], false).await?;
    first
        .query_with("SET ROLE authenticated", &[], false)
        .await?;
    drop(first);
    let mut second = pool.borrow().await?;
    let row = &second.query_with(state, &[], false).await?[0];
    assert_eq!(row.get::<_, i32>(0), pid, "the same connection is reused");
    assert_eq!(row.get::<_, String>(1), "postgres");
    assert_eq!(row.get::<_, String>(2), "");

    // Left idle, it is reset without a borrower.
    second.query_with(settle, &[], false).await?;
    drop(second);
    let observer = pool.db.client().await?;
    let reset = backend_reaches(&observer, pid, |query, _| {
        query.ends_with("pg_advisory_unlock_all()")
    })
    .await?;
    assert!(reset, "the idle connection was reset within 5 s");

    // An open transaction is never left for later: it is rolled back on return.
    let mut open = pool.borrow().await?;
    open.query_with("SELECT 1", &[], true).await?;
    drop(open);
    let ended = backend_reaches(&observer, pid, |_, state| state == "idle").await?;
    assert!(ended, "the open transaction was rolled back within 5 s");
    Ok(())
}

#[tokio::test]
async fn a_request_dropped_mid_transaction_has_its_transaction_rolled_back_at_once() -> Result<()> {
    let pool = OneConnectionPool::new("security_pool_dropped_mid_transaction").await?;
    let mut client = pool.borrow().await?;
    let pid: i32 = client
        .query_with("SELECT pg_backend_pid()", &[], false)
        .await?[0]
        .get(0);
    // The request goes away (its client disconnected, its deadline passed)
    // while its first statement, the one that opens its transaction, runs.
    let dropped = tokio::time::timeout(
        std::time::Duration::from_millis(100),
        client.query_with("SELECT pg_sleep(0.5)", &[], true),
    )
    .await;
    assert!(dropped.is_err(), "the statement was still running");
    drop(client);
    // The connection is rolled back as soon as the statement ends, with a
    // plain ROLLBACK (silent in an open transaction), not left in the pool
    // in its transaction for a later reset.
    let observer = pool.db.client().await?;
    let rolled_back = backend_reaches(&observer, pid, |query, state| {
        state == "idle" && query.starts_with("ROLLBACK; RESET")
    })
    .await?;
    assert!(rolled_back, "the transaction was rolled back within 5 s");
    let mut next = pool.borrow().await?;
    assert!(
        outside_a_transaction(next.client().await?).await?,
        "the next borrower starts outside a transaction"
    );
    Ok(())
}

#[tokio::test]
async fn the_61st_request_in_a_minute_gets_429_while_another_user_is_served() -> Result<()> {
    // The function's own limit: with the edge cache on, identical requests
    // after the first hit would be answered without reaching the function
    // (edge_cache.rs tests that).
    let env = TestEnv::start_with("security_rate_limit", &["--edge-cache-mib", "0"]).await?;
    let busy = env.user().await?;
    let other = env.user().await?;
    // Refused requests count too: every tenth body is malformed.
    for i in 1..=60 {
        if i % 10 == 0 {
            let (status, answer) = env.post(FUNCTION, Some(&busy.token), &json!([])).await?;
            assert_eq!(status, 400, "request {i}: {answer}");
            continue;
        }
        let (status, answer) = env.post(FUNCTION, Some(&busy.token), &body()).await?;
        assert_eq!(status, 200, "request {i}: {answer}");
    }
    let response = env
        .http
        .post(env.server.function(FUNCTION))
        .bearer_auth(&busy.token)
        .json(&body())
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str()?.parse()?;
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let answer: serde_json::Value = response.json().await?;
    assert_eq!(answer["error"]["code"], "rate_limited");

    let (status, _) = env.post(FUNCTION, Some(&other.token), &body()).await?;
    assert_eq!(status, 200, "another user is still served");
    Ok(())
}
