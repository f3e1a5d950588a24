//! The edge cache: a repeated request is answered with the function's
//! reusable answer without running the function, for the same credential
//! and body only, never past the token, and never in place of the function
//! when the caller asks for `no-cache`.

use crate::env::{TestEnv, count_as, token_for};
use anyhow::{Context, Result};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use shared::auth::Role;
use std::time::Duration;

const FUNCTION: &str = "logistics-analyzer";

fn body() -> Value {
    json!({"analysisType": "readiness", "trackerId": "edge", "sampleList": [
        {"id": "a", "name": "Coat", "category": "outerwear", "status": "on_set"},
        {"id": "b", "name": "Boots", "category": "shoes", "status": "requested"}
    ]})
}

/// An answer as the client saw it.
struct Seen {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Seen {
    fn json(&self) -> Result<Value> {
        serde_json::from_str(&self.text).with_context(|| format!("not JSON: {}", self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn send(env: &TestEnv, token: &str, cache_control: Option<&str>) -> Result<Seen> {
    let mut request = env
        .http
        .post(env.server.function(FUNCTION))
        .bearer_auth(token)
        .json(&body());
    if let Some(value) = cache_control {
        request = request.header("cache-control", value);
    }
    let response = request.send().await?;
    Ok(Seen {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: response.text().await?,
    })
}

async fn hit_count(env: &TestEnv) -> Result<i32> {
    let client = env.db.client().await?;
    Ok(client
        .query_one(
            "SELECT cache_hit_count FROM public.assistant_insights WHERE context_id = 'edge'",
            &[],
        )
        .await?
        .get(0))
}

#[tokio::test]
async fn a_repeat_is_answered_without_the_function_for_the_same_caller_only() -> Result<()> {
    let env = TestEnv::start("edge_cache_repeat").await?;
    let alice = env.user().await?;

    let miss = send(&env, &alice.token, None).await?;
    assert_eq!(miss.status, 200, "{}", miss.text);
    assert_eq!(miss.json()?["cached"], false);
    assert_eq!(
        miss.header("cache-control"),
        None,
        "a fresh computation is not reusable"
    );

    // The database's hit is reusable for what is left of the row's hour.
    let hit = send(&env, &alice.token, None).await?;
    assert_eq!(hit.json()?["cached"], true);
    let max_age: u64 = hit
        .header("cache-control")
        .and_then(|v| v.strip_prefix("private, max-age="))
        .context("a hit says how long it may be reused")?
        .parse()?;
    assert!((3590..=3600).contains(&max_age), "max-age {max_age}");
    assert_eq!(hit.header("age"), None);
    assert_eq!(hit_count(&env).await?, 1);

    // The repeat: the same bytes, an Age, and the function did not run (no
    // hit counted, no use recorded).
    let edge = send(&env, &alice.token, None).await?;
    assert_eq!(edge.status, 200);
    assert_eq!(edge.text, hit.text);
    assert_eq!(edge.header("cache-control"), hit.header("cache-control"));
    assert_eq!(edge.header("content-type"), Some("application/json"));
    assert_eq!(edge.header("access-control-allow-origin"), Some("*"));
    assert!(edge.header("age").is_some(), "answered from the edge cache");
    assert_ne!(edge.header("x-request-id"), hit.header("x-request-id"));
    assert_eq!(hit_count(&env).await?, 1);
    assert_eq!(crate::env::feature_uses(&env.db, &alice.id).await?.len(), 2);
    // The log line says who answered (the log is written by a thread of its own).
    let mut logged = false;
    for _ in 0..40 {
        logged = env.server.log().contains("cache=edge");
        if logged {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(logged, "{}", env.server.log());

    // no-cache reaches the function, which counts its hit.
    let forced = send(&env, &alice.token, Some("no-cache")).await?;
    assert_eq!(forced.json()?["cached"], true);
    assert_eq!(forced.header("age"), None);
    assert_eq!(hit_count(&env).await?, 2);

    // Another user's identical body is that user's own computation.
    let bob = env.user().await?;
    let other = send(&env, &bob.token, None).await?;
    assert_eq!(other.json()?["cached"], false);
    assert_eq!(other.header("age"), None);
    assert_eq!(
        count_as(&env.db, &bob.id, "public.assistant_insights").await?,
        1
    );

    // A forged token with the same body reaches the function and is refused.
    let forged = format!("{}x", alice.token);
    let refused = send(&env, &forged, None).await?;
    assert_eq!(refused.status, 401, "{}", refused.text);
    Ok(())
}

#[tokio::test]
async fn an_answer_is_not_reused_past_its_token() -> Result<()> {
    let env = TestEnv::start("edge_cache_token").await?;
    let user = env.user().await?;
    let token = token_for(&user.id, Role::Authenticated, 4);
    send(&env, &token, None).await?;
    send(&env, &token, None).await?;
    let edge = send(&env, &token, None).await?;
    assert!(edge.header("age").is_some(), "{}", edge.text);
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    let expired = send(&env, &token, None).await?;
    assert_eq!(expired.status, 401, "{}", expired.text);
    assert_eq!(expired.json()?["error"]["code"], "unauthorized");
    Ok(())
}

#[tokio::test]
async fn a_refusal_is_never_reused_and_a_kept_answer_is_served_past_the_limit() -> Result<()> {
    let env = TestEnv::start_with_env(
        "edge_cache_limit",
        &[],
        &[("SPIN_VARIABLE_RATE_LIMIT_PER_MINUTE", "2")],
    )
    .await?;
    let user = env.user().await?;
    assert_eq!(send(&env, &user.token, None).await?.status, 200);
    assert_eq!(send(&env, &user.token, None).await?.status, 200);
    // The function's limit is spent, but the repeat never reaches it.
    let edge = send(&env, &user.token, None).await?;
    assert_eq!(edge.status, 200);
    assert!(edge.header("age").is_some());
    // Asked to reach the function, the caller is refused, and the refusal
    // does not replace the kept answer.
    let refused = send(&env, &user.token, Some("no-cache")).await?;
    assert_eq!(refused.status, 429, "{}", refused.text);
    let again = send(&env, &user.token, None).await?;
    assert_eq!(again.status, 200);
    assert_eq!(again.text, edge.text);
    Ok(())
}

#[tokio::test]
async fn it_can_be_turned_off() -> Result<()> {
    let env = TestEnv::start_with("edge_cache_off", &["--edge-cache-mib", "0"]).await?;
    let user = env.user().await?;
    for _ in 0..3 {
        let seen = send(&env, &user.token, None).await?;
        assert_eq!(seen.status, 200);
        assert_eq!(seen.header("age"), None);
    }
    assert_eq!(hit_count(&env).await?, 2);
    Ok(())
}
