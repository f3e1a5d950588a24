//! media-scorer: quality scores, missing shots and selects of a shoot's
//! gallery, cached for 10 minutes per user and input (seed 004, Function 4).

// `#[http_component]` expands to the ABI glue of the export, which is unsafe code.
#![allow(unsafe_code)]

use serde_json::Value;
use shared::ApiError;
use shared::cache::{InsightFamily, InsightKey, answer_cached};
use shared::http::{Call, Endpoint, serve};
use shared::media::{self, MediaRequest};
use spin_sdk::http::{IntoResponse, Method, Request};
use spin_sdk::http_component;

const ENDPOINT: Endpoint = Endpoint {
    name: "media-scorer",
    methods: &[Method::Post],
};

#[http_component]
fn handle(req: Request) -> impl IntoResponse {
    serve(req, &ENDPOINT, score)
}

fn score(call: &Call) -> Result<Value, ApiError> {
    call.user_id()?;
    let (request, input): (MediaRequest, Value) = call.json_with_value()?;
    request.validate()?;
    let key = InsightKey::new(
        InsightFamily::Media,
        request.analysis_type.as_str(),
        request.gallery_id.as_deref(),
        &input,
    );
    answer_cached(call, &key, |_| {
        serde_json::to_value(media::analyze(&request)).map_err(ApiError::internal)
    })
}
