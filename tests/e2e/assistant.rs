//! The assistant's other routes: preferences and analytics.

use crate::env::TestEnv;
use anyhow::Result;
use reqwest::Method;
use serde_json::json;

/// Calls the preferences function as the holder of `token`.
async fn preferences(
    env: &TestEnv,
    method: Method,
    token: &str,
    body: Option<serde_json::Value>,
) -> Result<(u16, serde_json::Value)> {
    let mut request = env
        .http
        .request(method, env.server.function("preferences"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    Ok((response.status().as_u16(), response.json().await?))
}

#[tokio::test]
async fn preferences_default_then_update_and_stay_private() -> Result<()> {
    let env = TestEnv::start("assistant_preferences").await?;
    let alice = env.user().await?;
    let bob = env.user().await?;
    let (status, defaults) = preferences(&env, Method::GET, &alice.token, None).await?;
    assert_eq!(status, 200, "{defaults}");
    assert_eq!(defaults["autoSuggestionsEnabled"], true);
    assert_eq!(defaults["conversationHistoryRetentionDays"], 90);
    assert_eq!(
        defaults["kitOrder"],
        json!(["logistics", "events", "media", "insights", "general"])
    );
    assert_eq!(defaults["updatedAt"], serde_json::Value::Null);

    let update = json!({"defaultKit": "media", "kitOrder": ["media", "events"], "favoriteActions": ["open:selects"]});
    let (status, saved) = preferences(&env, Method::PATCH, &alice.token, Some(update)).await?;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["defaultKit"], "media");
    assert_eq!(saved["kitOrder"], json!(["media", "events"]));
    assert_eq!(saved["favoriteActions"], json!(["open:selects"]));
    assert_eq!(saved["autoSuggestionsEnabled"], true);
    assert!(saved["updatedAt"].is_string());

    let (_, again) = preferences(&env, Method::GET, &alice.token, None).await?;
    assert_eq!(again, saved);
    let (_, bobs) = preferences(&env, Method::GET, &bob.token, None).await?;
    assert_eq!(
        bobs["defaultKit"],
        serde_json::Value::Null,
        "Bob does not see Alice's row"
    );

    let bad = json!({"kitOrder": ["media", "media"]});
    let (status, answer) = preferences(&env, Method::PUT, &alice.token, Some(bad)).await?;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("kitOrder[1]")
    );
    let (_, unchanged) = preferences(&env, Method::GET, &alice.token, None).await?;
    assert_eq!(unchanged["kitOrder"], json!(["media", "events"]));
    Ok(())
}

#[tokio::test]
async fn analytics_batches_are_stored_for_the_caller_with_pii_redacted() -> Result<()> {
    let env = TestEnv::start("assistant_analytics").await?;
    let user = env.user().await?;
    let session = uuid::Uuid::new_v4().to_string();
    let batch = json!({"events": [
        {"eventType": "assistant_opened", "pageRoute": "/events/42", "kitContext": "events", "sessionId": session},
        {"eventType": "action_clicked", "eventData": {"action": "open:selects", "note": "mail jo@studio.example.com or +1 (555) 010-9999, card 4111 1111 1111 1111"}}
    ]});
    let (status, answer) = env.post("analytics", Some(&user.token), &batch).await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 2);

    let client = env.db.client().await?;
    let rows = client
        .query(
            "SELECT user_id::text, event_type, event_data::text, page_route, session_id::text
               FROM public.analytics_events ORDER BY event_type",
            &[],
        )
        .await?;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.get::<_, String>(0) == user.id));
    assert_eq!(rows[0].get::<_, String>(1), "action_clicked");
    let data: String = rows[0].get(2);
    assert!(!data.contains("jo@studio"), "{data}");
    assert!(!data.contains("4111"), "{data}");
    assert!(!data.contains("555"), "{data}");
    assert!(
        data.contains("[redacted-email]")
            && data.contains("[redacted-card]")
            && data.contains("[redacted-phone]"),
        "{data}"
    );
    assert_eq!(
        rows[1].get::<_, Option<String>>(3).as_deref(),
        Some("/events/42")
    );
    assert_eq!(rows[1].get::<_, Option<String>>(4), Some(session));

    let bad = json!({"events": [{"eventType": "assistant_opened"}, {"eventType": "teleported"}]});
    let (status, answer) = env.post("analytics", Some(&user.token), &bad).await?;
    assert_eq!(status, 400, "{answer}");
    let count: i64 = client
        .query_one("SELECT count(*) FROM public.analytics_events", &[])
        .await?
        .get(0);
    assert_eq!(count, 2, "a bad batch writes nothing");
    Ok(())
}
