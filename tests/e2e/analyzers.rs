//! events-optimizer, media-scorer and recommendations: computed values,
//! caching, bad input and privacy between users.

use crate::env::{TestDatabase, TestEnv, TestUser, act_as, count_as};
use anyhow::Result;
use serde_json::{Value, json};

fn event() -> Value {
    json!({
        "id": "ss26-runway", "name": "SS26 Runway", "startsAt": "2099-01-01T18:00",
        "showMinutes": 60, "setupMinutes": 120, "venue": "Hall 3",
        "tasks": [
            {"id": "t-1", "name": "Book venue", "durationMinutes": 60, "status": "todo"},
            {"id": "t-2", "name": "Rig lights", "durationMinutes": 30, "dependsOn": ["t-1"], "status": "todo"},
            {"id": "t-3", "name": "Casting", "durationMinutes": 45, "status": "todo"},
            {"id": "t-4", "name": "Fittings", "durationMinutes": 90, "dependsOn": ["t-3"], "status": "todo"},
            {"id": "t-5", "name": "Rehearsal", "durationMinutes": 30, "dependsOn": ["t-2", "t-4"], "status": "todo"}
        ],
        "staffing": [
            {"role": "dresser", "block": "show", "required": 4},
            {"role": "hair", "block": "setup", "required": 2}
        ],
        "assignments": [
            {"person": "Ana", "role": "dresser", "block": "show"},
            {"person": "Ben", "role": "dresser", "block": "show"},
            {"person": "Cy", "role": "hair", "block": "setup"},
            {"person": "Di", "role": "hair", "block": "setup"}
        ],
        "segments": [{"name": "opening", "minutes": 10}, {"name": "looks", "minutes": 40}]
    })
}

/// Alice's insight is hers: Bob's identical call is computed afresh and his
/// session sees only his own row.
async fn assert_private(
    env: &TestEnv,
    function: &str,
    body: &Value,
    alice: &TestUser,
) -> Result<()> {
    let bob = env.user().await?;
    let (status, answer) = env.post(function, Some(&bob.token), body).await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["cached"], false,
        "no answer from another user's cache"
    );
    assert_eq!(
        count_as(&env.db, &bob.id, "public.assistant_insights").await?,
        1
    );
    assert_eq!(
        count_as(&env.db, &alice.id, "public.assistant_insights").await?,
        1
    );
    Ok(())
}

async fn rows(env: &TestEnv, table: &str) -> Result<i64> {
    let client = env.db.client().await?;
    Ok(client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await?
        .get(0))
}

#[tokio::test]
async fn events_optimizer_computes_critical_path_staffing_and_run_of_show() -> Result<()> {
    let env = TestEnv::start("events_all").await?;
    let alice = env.user().await?;
    let body = json!({"analysisType": "all", "event": event()});
    let (status, answer) = env
        .post("events-optimizer", Some(&alice.token), &body)
        .await?;
    assert_eq!(status, 200, "{answer}");

    // Forward pass: t-3 0-45, t-4 45-135, t-5 135-165; t-1 0-60, t-2 60-90.
    let path = &answer["criticalPath"];
    assert_eq!(path["path"], json!(["t-3", "t-4", "t-5"]));
    assert_eq!(path["remainingMinutes"], 165);
    assert_eq!(path["onTrack"], true);
    assert_eq!(path["readyBy"], "2099-01-01T16:00:00Z");
    let slack = |id: &str| {
        path["schedule"]
            .as_array()
            .and_then(|s| s.iter().find(|t| t["taskId"] == id))
            .map(|t| t["slackMinutes"].clone())
    };
    assert_eq!(slack("t-1"), Some(json!(45)));
    assert_eq!(slack("t-4"), Some(json!(0)));

    // 4 dressers needed in the show, 2 assigned; hair is fully staffed.
    let staffing = answer["staffing"].as_array().expect("staffing");
    assert_eq!(staffing.len(), 1);
    assert_eq!(staffing[0]["role"], "dresser");
    assert_eq!(staffing[0]["gap"], 2);
    assert_eq!(staffing[0]["severity"], "critical");

    // Setup 16:00-18:00, show 18:00-19:00 (opening, looks, 10 min buffer), teardown 90 min.
    let blocks = answer["runOfShow"]["blocks"].as_array().expect("blocks");
    let times: Vec<(Value, Value)> = blocks
        .iter()
        .map(|b| (b["startsAt"].clone(), b["endsAt"].clone()))
        .collect();
    assert_eq!(
        times,
        [
            (json!("2099-01-01T16:00:00Z"), json!("2099-01-01T18:00:00Z")),
            (json!("2099-01-01T18:00:00Z"), json!("2099-01-01T19:00:00Z")),
            (json!("2099-01-01T19:00:00Z"), json!("2099-01-01T20:30:00Z")),
        ]
    );
    let segments: Vec<&str> = blocks[1]["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(segments, ["opening", "looks", "buffer"]);
    assert_eq!(answer["cached"], false);

    let (_, again) = env
        .post("events-optimizer", Some(&alice.token), &body)
        .await?;
    assert_eq!(again["cached"], true);
    let mut changed = body.clone();
    changed["event"]["tasks"][3]["status"] = json!("done");
    let (_, recomputed) = env
        .post("events-optimizer", Some(&alice.token), &changed)
        .await?;
    assert_eq!(recomputed["cached"], false);
    assert_eq!(
        recomputed["criticalPath"]["remainingMinutes"], 120,
        "t-1, t-2, t-5 remain"
    );
    assert_private(&env, "events-optimizer", &body, &alice).await
}

#[tokio::test]
async fn events_optimizer_rejects_a_dependency_cycle_naming_it() -> Result<()> {
    let env = TestEnv::start("events_cycle").await?;
    let user = env.user().await?;
    let mut cyclic = event();
    cyclic["tasks"][0]["dependsOn"] = json!(["t-2"]);
    let body = json!({"analysisType": "critical_path", "event": cyclic});
    let (status, answer) = env
        .post("events-optimizer", Some(&user.token), &body)
        .await?;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "event.tasks: dependency cycle t-1 -> t-2 -> t-1"
    );
    assert_eq!(rows(&env, "public.assistant_insights").await?, 0);
    Ok(())
}

fn assets() -> Value {
    json!([
        {"id": "a-1", "lookId": "L1", "shotType": "full_length", "width": 6000, "height": 4000, "format": "jpeg",
         "sharpness": 0.9, "exposureEv": 0.0, "noise": 0.1,
         "composition": {"ruleOfThirds": 0.8, "horizonLevel": true, "subjectFill": 0.5},
         "brand": {"paletteMatch": 0.7, "logoVisible": false, "onModel": true}},
        {"id": "a-2", "lookId": "L1", "shotType": "detail", "width": 3000, "height": 2000, "format": "jpeg",
         "sharpness": 0.4, "exposureEv": 1.0, "noise": 0.6,
         "composition": {"ruleOfThirds": 0.3, "subjectFill": 0.8},
         "brand": {"paletteMatch": 0.3, "logoVisible": false, "onModel": false}},
        {"id": "a-3", "lookId": "L2", "shotType": "close_up", "width": 6000, "height": 4000, "format": "raw",
         "sharpness": 0.8, "exposureEv": -0.5, "noise": 0.2, "status": "rejected",
         "composition": {"ruleOfThirds": 0.6, "subjectFill": 0.7},
         "brand": {"paletteMatch": 0.8, "logoVisible": true, "onModel": true}}
    ])
}

#[tokio::test]
async fn media_scorer_scores_finds_missing_shots_and_selects() -> Result<()> {
    let env = TestEnv::start("media_all").await?;
    let alice = env.user().await?;
    let body = json!({
        "analysisType": "all", "galleryId": "ss26-lookbook", "selectCount": 2, "assets": assets(),
        "shotList": [
            {"id": "s-1", "lookId": "L1", "shotType": "full_length"},
            {"id": "s-2", "lookId": "L2", "shotType": "close_up"},
            {"id": "s-3", "lookId": "L3", "shotType": "back_view", "required": false}
        ]
    });
    let (status, answer) = env.post("media-scorer", Some(&alice.token), &body).await?;
    assert_eq!(status, 200, "{answer}");
    // a-1: technical .25*100 + .40*90 + .20*100 + .15*90 = 94.5; composition
    // .4*80 + .2*100 + .4*100 = 92; brand .6*70 + .25*100 = 67;
    // score .45*94.5 + .30*92 + .25*67 = 86.875 -> 86.9.
    let a1 = answer["qualityScores"]
        .as_array()
        .and_then(|s| s.iter().find(|q| q["assetId"] == "a-1"))
        .expect("a-1 scored");
    assert_eq!(a1["score"], 86.9);
    assert_eq!(a1["factors"]["technical"], 94.5);
    assert_eq!(a1["factors"]["composition"], 92.0);
    assert_eq!(a1["factors"]["brand"], 67.0);
    assert_eq!(a1["grade"], "excellent");
    assert_eq!(answer["qualityScores"][0]["assetId"], "a-1", "best first");

    // s-2's only frame is rejected; s-3 (optional) has none.
    let missing: Vec<(Value, Value)> = answer["missingShots"]
        .as_array()
        .expect("missing")
        .iter()
        .map(|m| (m["shotId"].clone(), m["priority"].clone()))
        .collect();
    assert_eq!(
        missing,
        [
            (json!("s-2"), json!("medium")),
            (json!("s-3"), json!("low"))
        ]
    );
    assert_eq!(answer["shotCoverage"]["coveragePercent"], 33.3);

    let selects: Vec<&str> = answer["selects"]
        .as_array()
        .expect("selects")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(
        selects,
        ["a-1", "a-2"],
        "the rejected frame is never selected"
    );
    assert_eq!(
        answer["selects"][0]["brand"]["paletteMatch"], 0.7,
        "selects are full assets"
    );

    let (_, again) = env.post("media-scorer", Some(&alice.token), &body).await?;
    assert_eq!(again["cached"], true);
    let mut changed = body.clone();
    changed["assets"][2]["status"] = json!("approved");
    let (_, recomputed) = env
        .post("media-scorer", Some(&alice.token), &changed)
        .await?;
    assert_eq!(recomputed["cached"], false);
    assert_eq!(
        recomputed["missingShots"].as_array().map(Vec::len),
        Some(1),
        "s-2 is covered now"
    );
    assert_private(&env, "media-scorer", &body, &alice).await
}

#[tokio::test]
async fn media_scorer_rejects_out_of_range_values() -> Result<()> {
    let env = TestEnv::start("media_bad").await?;
    let user = env.user().await?;
    let mut bad = assets();
    bad[1]["sharpness"] = json!(1.4);
    let body = json!({"analysisType": "quality", "assets": bad});
    let (status, answer) = env.post("media-scorer", Some(&user.token), &body).await?;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "assets[1].sharpness: 1.4 is outside 0..=1"
    );
    assert_eq!(rows(&env, "public.assistant_insights").await?, 0);
    Ok(())
}

#[tokio::test]
async fn recommendations_rank_packages_and_next_actions_with_rationales() -> Result<()> {
    let env = TestEnv::start("recommendations").await?;
    let alice = env.user().await?;
    let packages = json!({
        "userId": alice.id, "recommendationType": "packages",
        "context": {"userRole": "producer", "budget": 10000, "timeline": "30d", "eventType": "lookbook",
            "packages": [
                {"id": "p-fit", "name": "Lookbook Day", "eventTypes": ["lookbook"], "price": 8000, "leadTimeDays": 10, "popularity": 0.6},
                {"id": "p-over", "name": "Lookbook Deluxe", "eventTypes": ["lookbook"], "price": 14000, "leadTimeDays": 10, "popularity": 0.9},
                {"id": "p-other", "name": "Runway", "eventTypes": ["runway"], "price": 5000, "leadTimeDays": 60, "popularity": 0.5}
            ]}
    });
    let (status, answer) = env
        .post("recommendations", Some(&alice.token), &packages)
        .await?;
    assert_eq!(status, 200, "{answer}");
    let list = answer["recommendations"]
        .as_array()
        .expect("recommendations");
    // p-fit: 35 + 25 + 25 + 15*.6 = 94; p-over: 35 + 25*(1-4000/5000) + 25 + 13.5 = 78.5.
    assert_eq!(list[0]["item"]["id"], "p-fit");
    assert_eq!(list[0]["score"], 94.0);
    assert_eq!(list[1]["item"]["id"], "p-over");
    assert_eq!(list[1]["score"], 78.5);
    let rationale = list[0]["rationale"].as_str().unwrap_or_default();
    assert!(
        rationale.contains("budget of 10000") && rationale.contains("8000"),
        "{rationale}"
    );
    // p-other misses the event type and the timeline: 25 + 7.5 = 32.5.
    assert_eq!(list.len(), 3);
    assert_eq!(list[2]["score"], 32.5);

    let actions = json!({
        "userId": alice.id, "recommendationType": "next_actions",
        "context": {"tasks": [
            {"id": "t-1", "name": "Sign venue contract", "status": "todo", "critical": true},
            {"id": "t-2", "name": "Casting call", "status": "todo", "dependsOn": ["t-1"], "critical": true},
            {"id": "t-3", "name": "Order catering", "status": "todo"}
        ]}
    });
    let (status, answer) = env
        .post("recommendations", Some(&alice.token), &actions)
        .await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["recommendations"][0]["item"]["taskId"], "t-1");
    let why = answer["recommendations"][0]["rationale"]
        .as_str()
        .unwrap_or_default();
    assert!(
        why.contains("critical path") && why.contains("Casting call"),
        "{why}"
    );

    let mut someone_else = packages.clone();
    someone_else["userId"] = json!(uuid::Uuid::new_v4().to_string());
    let (status, _) = env
        .post("recommendations", Some(&alice.token), &someone_else)
        .await?;
    assert_eq!(status, 403);
    let (_, again) = env
        .post("recommendations", Some(&alice.token), &packages)
        .await?;
    assert_eq!(
        again["cached"], true,
        "answers are cached 5 minutes per user and input"
    );
    assert_eq!(
        count_as(&env.db, &alice.id, "public.assistant_insights").await?,
        2
    );

    let bob = env.user().await?;
    let mut bobs = packages.clone();
    bobs["userId"] = json!(bob.id);
    let (_, answer) = env.post("recommendations", Some(&bob.token), &bobs).await?;
    assert_eq!(answer["cached"], false);
    assert_eq!(
        count_as(&env.db, &bob.id, "public.assistant_insights").await?,
        1,
        "Bob sees only his own"
    );
    Ok(())
}

#[tokio::test]
async fn recommendations_reject_bad_input_and_write_nothing() -> Result<()> {
    let env = TestEnv::start("recommendations_bad").await?;
    let user = env.user().await?;
    let cases = [
        (
            json!({"userId": user.id, "recommendationType": "gifts"}),
            "unknown variant `gifts`",
        ),
        (
            json!({"userId": user.id, "recommendationType": "packages", "context": {"budget": -5}}),
            "context.budget",
        ),
        (
            json!({"userId": user.id, "recommendationType": "packages", "context": {"timeline": "soon"}}),
            "context.timeline",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = env
            .post("recommendations", Some(&user.token), &body)
            .await?;
        assert_eq!(status, 400, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(expected),
            "`{message}` should mention `{expected}`"
        );
    }
    assert_eq!(rows(&env, "public.assistant_insights").await?, 0);
    assert_eq!(rows(&env, "public.analytics_events").await?, 0);
    Ok(())
}

/// Recommendations' feature usage (`assistant_feature_usage()`, read by a
/// miss): the caller's own uses of each feature and each feature's share of
/// the users who used any; other event types and events naming no feature
/// count for nothing.
#[tokio::test]
async fn feature_usage_counts_own_uses_and_each_features_share_of_users() -> Result<()> {
    let db = TestDatabase::migrated("feature_usage").await?;
    let mut client = db.client().await?;
    let [alice, bob, carol] = [
        "00000000-0000-4000-8000-00000000000a",
        "00000000-0000-4000-8000-00000000000b",
        "00000000-0000-4000-8000-00000000000c",
    ];
    let events: &[(&str, &str, Value)] = &[
        (alice, "feature_used", json!({"feature": "f1"})),
        (alice, "feature_used", json!({"feature": "f1"})),
        (alice, "feature_used", json!({"feature": "f1"})),
        (alice, "feature_used", json!({"feature": "f2"})),
        (bob, "feature_used", json!({"feature": "f1"})),
        (bob, "feature_used", json!({"feature": "f1"})),
        (bob, "feature_used", json!({"feature": "f3"})),
        (bob, "feature_used", json!({"feature": null})),
        (carol, "feature_used", json!({"feature": "f3"})),
        (carol, "feature_used", json!({})),
        (carol, "page_view", json!({"feature": "f2"})),
    ];
    for user in [alice, bob, carol] {
        client
            .execute(
                "INSERT INTO auth.users (id) VALUES ($1::text::uuid)",
                &[&user],
            )
            .await?;
    }
    for (user, event_type, data) in events {
        client
            .execute(
                "INSERT INTO public.analytics_events (user_id, event_type, event_data, kit_context)
                 VALUES ($1::text::uuid, $2, $3::text::jsonb, 'insights')",
                &[user, event_type, &data.to_string()],
            )
            .await?;
    }
    let tx = client.transaction().await?;
    act_as(&tx, alice).await?;
    let usage: Vec<(String, i64, f64)> = tx
        .query(
            "SELECT feature, own_count, user_share FROM public.assistant_feature_usage()
              ORDER BY feature",
            &[],
        )
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    tx.rollback().await?;
    // Three users used a feature: Alice and Bob f1, Alice f2, Bob and Carol f3.
    assert_eq!(
        usage,
        vec![
            ("f1".to_string(), 3, 2.0 / 3.0),
            ("f2".to_string(), 1, 1.0 / 3.0),
            ("f3".to_string(), 0, 2.0 / 3.0),
        ]
    );
    Ok(())
}
