//! recommendations: packages, next actions and features for the caller,
//! personalised by their preferences and usage, cached 5 minutes per user and
//! input (seed 004, Function 5).

// `#[http_component]` expands to the ABI glue of the export, which is unsafe code.
#![allow(unsafe_code)]

use shared::ApiError;
use shared::cache::answer_cached;
use shared::http::{Answer, Call, Endpoint, serve};
use shared::preferences;
use shared::recommendations::{self, RecommendationsRequest};
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;

const ENDPOINT: Endpoint = Endpoint {
    name: "recommendations",
    methods: &[Method::Post],
};

#[http_component]
fn handle(req: IncomingRequest, out: ResponseOutparam) {
    serve(req, out, &ENDPOINT, recommend)
}

fn recommend(call: &Call) -> Result<Answer, ApiError> {
    let caller = call.user_id()?;
    // A hit is a body this caller sent before and that passed these checks.
    let parse = || {
        let request: RecommendationsRequest = call.valid_json()?;
        if !request.user_id.eq_ignore_ascii_case(caller) {
            return Err(ApiError::Forbidden(
                "userId must be your own user id".into(),
            ));
        }
        Ok(request)
    };
    answer_cached(call, parse, |request, session| {
        let preferences = preferences::load(session)?;
        let usage = recommendations::load_usage(session)?;
        let signals = recommendations::signals_from(&preferences, &usage);
        let answer = recommendations::recommend(&request, &signals, call.now().div_euclid(86_400));
        Ok(answer)
    })
}
