//! chat-orchestrator: routing, skills on real data, conversation log, history,
//! invalid messages, fallback and the time budget.

use crate::env::{TestEnv, TestUser};
use anyhow::Result;
use serde_json::{Value, json};

fn message(text: &str, session: &str, context: Value) -> Value {
    json!({
        "message": text, "currentKit": "logistics", "currentRoute": "/logistics/samples",
        "sessionId": session, "conversationHistory": [], "userContext": context
    })
}

fn samples() -> Value {
    json!({"sampleList": [
        {"id": "s-1", "name": "Camel Wool Coat", "category": "outerwear", "status": "on_set", "isHero": true},
        {"id": "s-2", "name": "Leather Boots", "category": "shoes", "status": "requested", "isHero": true, "dueDate": "2020-01-01"}
    ]})
}

/// Sends `text` to the chat-orchestrator as `user`.
async fn ask(
    env: &TestEnv,
    user: &TestUser,
    text: &str,
    session: &str,
    context: Value,
) -> Result<(u16, Value)> {
    env.post(
        "chat-orchestrator",
        Some(&user.token),
        &message(text, session, context),
    )
    .await
}

async fn conversation_rows(
    env: &TestEnv,
    user: &TestUser,
) -> Result<Vec<(String, String, String, i32)>> {
    let client = env.db.client().await?;
    let rows = client
        .query(
            "SELECT intent_detected, skill_used, message, response_time_ms FROM public.assistant_conversations
              WHERE user_id = $1::text::uuid ORDER BY created_at",
            &[&user.id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
}

#[tokio::test]
async fn a_question_is_routed_answered_and_logged() -> Result<()> {
    let env = TestEnv::start("chat_routing").await?;
    let user = env.user().await?;
    let session = uuid::Uuid::new_v4().to_string();
    let (status, answer) = ask(&env, &user, "Which samples are late?", &session, samples()).await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["intent"], "question");
    assert_eq!(answer["skill"], "logistics_blockers");
    assert_eq!(answer["type"], "action");
    assert_eq!(answer["severity"], "critical");
    let content = answer["content"].as_str().unwrap_or_default();
    assert!(
        content.starts_with("1 blocker(s), 1 critical. Most urgent: Hero sample \"Leather Boots\""),
        "{content}"
    );
    assert_eq!(answer["actions"][0]["target"], "/logistics/samples/s-2");
    assert_eq!(answer["actions"][0]["primary"], true);
    assert!(answer["followUp"].as_array().is_some_and(|f| !f.is_empty()));
    assert!(answer["responseTime"].is_u64());

    let logged = conversation_rows(&env, &user).await?;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].0, "question");
    assert_eq!(logged[0].1, "logistics_blockers");
    assert_eq!(logged[0].2, "Which samples are late?");
    assert!(logged[0].3 >= 0);
    // The exchange and the use of the assistant are written together.
    assert_eq!(
        crate::env::feature_uses(&env.db, &user.id).await?,
        vec![("chat_assistant".to_string(), "logistics".to_string())]
    );

    // A follow-up without a topic continues the conversation loaded from the log.
    let (_, follow) = ask(&env, &user, "and what about the rest?", &session, samples()).await?;
    assert_eq!(follow["skill"], "logistics_readiness", "{follow}");
    assert_eq!(
        follow["content"],
        "Readiness is 50%: 1 of 2 samples are on set or shot (1 hero pieces ready of 2)."
    );

    // Another user sees none of it.
    let other = env.user().await?;
    assert_eq!(
        crate::env::count_as(&env.db, &other.id, "public.assistant_conversations").await?,
        0
    );
    Ok(())
}

#[tokio::test]
async fn an_invalid_message_gets_a_friendly_400_with_suggestions_and_nothing_logged() -> Result<()>
{
    let env = TestEnv::start("chat_invalid").await?;
    let user = env.user().await?;
    let session = uuid::Uuid::new_v4().to_string();
    let (status, answer) = ask(&env, &user, "   ", &session, json!({})).await?;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("I couldn't read that")
    );
    assert_eq!(
        answer["error"]["suggestions"].as_array().map(Vec::len),
        Some(3)
    );
    let (status, answer) = ask(&env, &user, "hello", "not-a-uuid", json!({})).await?;
    assert_eq!(status, 400, "{answer}");
    assert!(conversation_rows(&env, &user).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_failing_skill_gets_a_fallback_answer() -> Result<()> {
    let env = TestEnv::start("chat_fallback").await?;
    let user = env.user().await?;
    let session = uuid::Uuid::new_v4().to_string();
    let duplicate = json!({"sampleList": [
        {"id": "s-1", "name": "Coat", "category": "outerwear", "status": "on_set"},
        {"id": "s-1", "name": "Boots", "category": "shoes", "status": "shot"}
    ]});
    let (status, answer) = ask(&env, &user, "how ready are we?", &session, duplicate).await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["severity"], "warning");
    let content = answer["content"].as_str().unwrap_or_default();
    assert!(
        content.starts_with(
            "I couldn't finish that (the sample list is invalid: sampleList[1].id: duplicate id"
        ),
        "{content}"
    );
    assert_eq!(conversation_rows(&env, &user).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_skill_past_its_time_budget_answers_taking_longer() -> Result<()> {
    let env = TestEnv::start_with_env(
        "chat_budget",
        &[],
        &[("SPIN_VARIABLE_CHAT_SKILL_BUDGET_MS", "0")],
    )
    .await?;
    let user = env.user().await?;
    let session = uuid::Uuid::new_v4().to_string();
    let (status, answer) = ask(&env, &user, "how ready are we?", &session, samples()).await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["content"],
        "Taking longer than expected, please try again"
    );
    assert_eq!(answer["severity"], "warning");
    Ok(())
}
