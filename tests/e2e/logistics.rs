//! logistics-analyzer: the seed's contract, computed values, caching, bad input.

use crate::env::{TestEnv, now};
use anyhow::Result;
use serde_json::{Value, json};

const FUNCTION: &str = "logistics-analyzer";

/// Eight samples of one shoot with hand-computed answers (see the asserts).
fn sample_list() -> Value {
    json!([
        {"id": "s-1", "name": "Camel Wool Coat", "category": "outerwear", "status": "on_set", "isHero": true, "lookNumber": 1},
        {"id": "s-2", "name": "Leather Boots", "category": "shoes", "status": "requested", "isHero": true, "dueDate": "2020-01-01", "brand": "Acme"},
        {"id": "s-3", "name": "Silk Scarf", "category": "accessories", "status": "shot"},
        {"id": "s-4", "name": "Trench Coat", "category": "outerwear", "status": "in_transit", "dueDate": "2020-01-01"},
        {"id": "s-5", "name": "Sneakers", "category": "shoes", "status": "awaiting"},
        {"id": "s-6", "name": "Belt", "category": "accessories", "status": "returned"},
        {"id": "s-7", "name": "Blazer", "category": "outerwear", "status": "awaiting", "dueDate": "2020-01-01"},
        {"id": "s-8", "name": "Loafers", "category": "shoes", "status": "requested", "dueDate": "2999-01-01"}
    ])
}

fn request(analysis: &str) -> Value {
    json!({"analysisType": analysis, "sampleList": sample_list(), "trackerId": "tracker-1"})
}

async fn insight_rows(env: &TestEnv) -> Result<i64> {
    let client = env.db.client().await?;
    Ok(client
        .query_one("SELECT count(*) FROM public.assistant_insights", &[])
        .await?
        .get(0))
}

#[tokio::test]
async fn analysis_of_a_known_sample_list_has_the_expected_numbers() -> Result<()> {
    let env = TestEnv::start("logistics_numbers").await?;
    let user = env.user().await?;
    let (status, body) = env
        .post(FUNCTION, Some(&user.token), &request("all"))
        .await?;
    assert_eq!(status, 200, "{body}");

    // Readiness: on_set 1 + shot 2 (shot and returned) of 8.
    let readiness = &body["readiness"];
    assert_eq!(readiness["total"], 8);
    assert_eq!(readiness["onSet"], 1);
    assert_eq!(readiness["shot"], 2);
    assert_eq!(readiness["ready"], 3);
    assert_eq!(readiness["readinessPercent"], 37.5);
    assert_eq!(readiness["heroTotal"], 2);
    assert_eq!(readiness["heroReady"], 1);
    assert_eq!(readiness["heroReadinessPercent"], 50.0);

    // Blockers: overdue since 2020 (overdue points capped at 50).
    // s-2 requested 45 + 50 + hero 25 = 120 -> 100; s-4 in transit 30 + 50;
    // s-7 awaiting 15 + 50; s-5 has no due date, s-8 is due in 2999.
    let blockers = body["blockers"].as_array().expect("blockers");
    let summary: Vec<(String, u64, String)> = blockers
        .iter()
        .map(|b| {
            (
                b["sampleId"].as_str().unwrap_or_default().to_string(),
                b["score"].as_u64().unwrap_or_default(),
                b["severity"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("s-2".to_string(), 100, "critical".to_string()),
            ("s-4".to_string(), 80, "critical".to_string()),
            ("s-7".to_string(), 65, "high".to_string()),
        ]
    );
    let days_since_2020 = now().div_euclid(86_400) - 18_262;
    assert_eq!(blockers[0]["daysOverdue"], days_since_2020);
    assert_eq!(blockers[0]["isHero"], true);

    // Batching of the six unshot samples: sequential order changes category
    // six times (6 x 15) + shooting (2 heroes x 12 + 4 x 8 = 56) = 146 min;
    // batched: 2 changeovers + 56 = 86 min; saved 60 min (41.1 %).
    let batching = &body["batching"];
    assert_eq!(batching["sequentialMinutes"], 146);
    assert_eq!(batching["batchedMinutes"], 86);
    assert_eq!(batching["timeSavedMinutes"], 60);
    assert_eq!(batching["timeSavedPercent"], 41.1);
    let batches = batching["batches"].as_array().expect("batches");
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0]["category"], "outerwear");
    assert_eq!(batches[0]["sampleIds"], json!(["s-1", "s-4", "s-7"]));
    assert_eq!(batches[0]["estimatedMinutes"], 43);
    assert_eq!(batches[0]["priority"], 1);
    assert_eq!(batches[1]["category"], "shoes");
    assert_eq!(batches[1]["sampleIds"], json!(["s-2", "s-5", "s-8"]));

    assert_eq!(body["cached"], false);
    assert!(
        body["calculatedAt"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );
    Ok(())
}

#[tokio::test]
async fn only_the_requested_section_is_returned() -> Result<()> {
    let env = TestEnv::start("logistics_sections").await?;
    let user = env.user().await?;
    let (status, body) = env
        .post(FUNCTION, Some(&user.token), &request("readiness"))
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["readiness"]["ready"], 3);
    assert!(body.get("blockers").is_none());
    assert!(body.get("batching").is_none());
    Ok(())
}

#[tokio::test]
async fn second_identical_call_is_served_from_the_cache_row() -> Result<()> {
    let env = TestEnv::start("logistics_cache").await?;
    let user = env.user().await?;
    let (_, first) = env
        .post(FUNCTION, Some(&user.token), &request("all"))
        .await?;
    let (status, second) = env
        .post(FUNCTION, Some(&user.token), &request("all"))
        .await?;
    assert_eq!(status, 200, "{second}");
    assert_eq!(first["cached"], false);
    assert_eq!(second["cached"], true);
    assert_eq!(second["calculatedAt"], first["calculatedAt"]);
    assert_eq!(second["readiness"], first["readiness"]);
    assert_eq!(second["blockers"], first["blockers"]);

    let client = env.db.client().await?;
    let row = client
        .query_one(
            "SELECT user_id::text, insight_type, context_id, cache_hit_count,
                    expires_at - calculated_at = interval '1 hour'
               FROM public.assistant_insights",
            &[],
        )
        .await?;
    assert_eq!(row.get::<_, String>(0), user.id);
    assert_eq!(row.get::<_, String>(1), "logistics_all");
    assert_eq!(row.get::<_, String>(2), "tracker-1");
    assert_eq!(row.get::<_, i32>(3), 1);
    assert!(row.get::<_, bool>(4), "the cache lasts one hour");

    // The miss and the hit each record one use of the feature.
    let used = ("logistics_all".to_string(), "logistics".to_string());
    assert_eq!(
        crate::env::feature_uses(&env.db, &user.id).await?,
        vec![used.clone(), used]
    );

    // A hit is found by the body's hash within the function's own family:
    // the same bytes sent to another cached function are that function's input.
    let (status, other) = env
        .post("media-scorer", Some(&user.token), &request("all"))
        .await?;
    assert_eq!(status, 400, "{other}");
    Ok(())
}

#[tokio::test]
async fn changed_input_recomputes_and_replaces_the_cache_row() -> Result<()> {
    let env = TestEnv::start("logistics_invalidate").await?;
    let user = env.user().await?;
    env.post(FUNCTION, Some(&user.token), &request("all"))
        .await?;
    let mut changed = request("all");
    changed["sampleList"][1]["status"] = json!("on_set");
    let (status, body) = env.post(FUNCTION, Some(&user.token), &changed).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cached"], false);
    assert_eq!(body["readiness"]["ready"], 4);
    assert_eq!(insight_rows(&env).await?, 1);
    Ok(())
}

#[tokio::test]
async fn bad_bodies_get_400_with_a_clear_message_and_write_nothing() -> Result<()> {
    let env = TestEnv::start("logistics_bad_input").await?;
    let user = env.user().await?;
    let mut bad_date = request("all");
    bad_date["sampleList"][3]["dueDate"] = json!("2025-13-01");
    let cases = [
        (json!({"analysisType": "all"}), "sampleList"),
        (
            json!({"analysisType": "everything", "sampleList": sample_list()}),
            "unknown variant `everything`",
        ),
        (
            json!({"analysisType": "all", "sampleList": []}),
            "at least one sample",
        ),
        (bad_date, "sampleList[3].dueDate"),
        (json!([1, 2, 3]), "invalid request body"),
    ];
    for (body, expected) in cases {
        let (status, answer) = env.post(FUNCTION, Some(&user.token), &body).await?;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert_eq!(answer["error"]["code"], "bad_request");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(expected),
            "`{message}` should mention `{expected}`"
        );
    }
    let response = env
        .http
        .post(env.server.function(FUNCTION))
        .bearer_auth(&user.token)
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(insight_rows(&env).await?, 0);
    Ok(())
}

#[tokio::test]
async fn a_thousand_samples_are_analysed() -> Result<()> {
    let env = TestEnv::start("logistics_large").await?;
    let user = env.user().await?;
    let samples: Vec<Value> = (0..1000)
        .map(|i| {
            let category = ["outerwear", "shoes", "bags", "jewelry"][i % 4];
            let status = ["requested", "in_transit", "awaiting", "on_set", "shot"][i % 5];
            json!({
                "id": format!("s-{i}"),
                "name": format!("Sample {i}"),
                "category": category,
                "status": status,
                "isHero": i % 10 == 0,
                "dueDate": "2020-06-01"
            })
        })
        .collect();
    let body = json!({"analysisType": "all", "sampleList": samples});
    let (status, answer) = env.post(FUNCTION, Some(&user.token), &body).await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["readiness"]["total"], 1000);
    assert_eq!(answer["readiness"]["ready"], 400);
    assert_eq!(answer["blockers"].as_array().map(Vec::len), Some(600));
    Ok(())
}
