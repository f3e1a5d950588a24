//! preferences: a user reads (GET) and updates (PUT/PATCH, partial) their own
//! assistant preferences; defaults for a user who has none (seed 004, table 3).

// `#[http_component]` expands to the ABI glue of the export, which is unsafe code.
#![allow(unsafe_code)]

use serde_json::Value;
use shared::ApiError;
use shared::http::{Call, Endpoint, serve};
use shared::preferences::{self, PreferencesUpdate};
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;

const ENDPOINT: Endpoint = Endpoint {
    name: "preferences",
    methods: &[Method::Get, Method::Put, Method::Patch],
};

#[http_component]
fn handle(req: IncomingRequest, out: ResponseOutparam) {
    serve(req, out, &ENDPOINT, |call| {
        if *call.method() == Method::Get {
            read(call)
        } else {
            update(call)
        }
    })
}

fn read(call: &Call) -> Result<Value, ApiError> {
    call.user_id()?;
    let session = call.session()?;
    let current = preferences::load(&session)?;
    session.commit()?;
    serde_json::to_value(current).map_err(ApiError::internal)
}

fn update(call: &Call) -> Result<Value, ApiError> {
    call.user_id()?;
    let update: PreferencesUpdate = call.valid_json()?;
    let session = call.session()?;
    let next = update.apply(&preferences::load(&session)?);
    preferences::save(&session, &next)?;
    let saved = preferences::load(&session)?;
    session.commit()?;
    serde_json::to_value(saved).map_err(ApiError::internal)
}
