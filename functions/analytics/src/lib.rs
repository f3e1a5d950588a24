//! analytics: ingests a batch of assistant usage events for the caller, with
//! PII redacted before storage (seed 004, table 4).

// `#[http_component]` expands to the ABI glue of the export, which is unsafe code.
#![allow(unsafe_code)]

use serde_json::{Value, json};
use shared::ApiError;
use shared::analytics::{self, AnalyticsBatch};
use shared::http::{Call, Endpoint, serve};
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;

const ENDPOINT: Endpoint = Endpoint {
    name: "analytics",
    methods: &[Method::Post],
};

#[http_component]
fn handle(req: IncomingRequest, out: ResponseOutparam) {
    serve(req, out, &ENDPOINT, ingest)
}

fn ingest(call: &Call) -> Result<Value, ApiError> {
    call.user_id()?;
    let batch: AnalyticsBatch = call.valid_json()?;
    let events = batch.redacted();
    let session = call.session()?;
    let accepted = analytics::insert(&session, &events)?;
    session.commit()?;
    Ok(json!({ "accepted": accepted }))
}
