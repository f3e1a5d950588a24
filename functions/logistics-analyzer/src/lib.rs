//! logistics-analyzer: readiness, blockers and batching of a shoot's samples,
//! cached for an hour per user, tracker and input (seed 004, Function 2).

// `#[http_component]` expands to the ABI glue of the export, which is unsafe code.
#![allow(unsafe_code)]

use serde_json::{Value, json};
use shared::ApiError;
use shared::cache::{self, InsightFamily, InsightKey};
use shared::http::{Call, Endpoint, serve};
use shared::logistics::{self, LogisticsRequest};
use spin_sdk::http::{IntoResponse, Method, Request};
use spin_sdk::http_component;

const ENDPOINT: Endpoint = Endpoint {
    name: "logistics-analyzer",
    methods: &[Method::Post],
};

#[http_component]
fn handle(req: Request) -> impl IntoResponse {
    serve(req, &ENDPOINT, analyze)
}

fn analyze(call: &Call) -> Result<Value, ApiError> {
    call.user_id()?;
    let request: LogisticsRequest = call.json()?;
    request
        .validate()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let input = serde_json::to_value(&request).map_err(internal)?;
    let analysis_type = input["analysisType"].as_str().unwrap_or("all");
    let key = InsightKey::new(
        InsightFamily::Logistics,
        analysis_type,
        request.tracker_id.as_deref(),
        &input,
    );

    let session = call.session()?;
    if let Some(hit) = cache::lookup(&session, &key)? {
        session.commit()?;
        return Ok(answer(hit.data, true, hit.calculated_at));
    }
    let today = call.now().div_euclid(86_400);
    let analysis = logistics::analyze(&request, today);
    let data = serde_json::to_value(&analysis).map_err(internal)?;
    let calculated_at = cache::store(&session, &key, &data)?;
    session.commit()?;
    Ok(answer(data, false, calculated_at))
}

/// The seed's output: the sections, plus `cached` and `calculatedAt`.
fn answer(mut data: Value, cached: bool, calculated_at: String) -> Value {
    if let Value::Object(map) = &mut data {
        map.insert("cached".into(), json!(cached));
        map.insert("calculatedAt".into(), json!(calculated_at));
    }
    data
}

fn internal(e: serde_json::Error) -> ApiError {
    ApiError::Internal(e.to_string())
}
