//! logistics-analyzer: readiness, blockers and batching of a shoot's samples,
//! cached for an hour per user, tracker and input (seed 004, Function 2).

// `#[http_component]` expands to the ABI glue of the export, which is unsafe code.
#![allow(unsafe_code)]

use shared::ApiError;
use shared::cache::answer_cached;
use shared::http::{Answer, Call, Endpoint, serve};
use shared::logistics::{self, LogisticsRequest};
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;

const ENDPOINT: Endpoint = Endpoint {
    name: "logistics-analyzer",
    methods: &[Method::Post],
};

#[http_component]
fn handle(req: IncomingRequest, out: ResponseOutparam) {
    serve(req, out, &ENDPOINT, analyze)
}

fn analyze(call: &Call) -> Result<Answer, ApiError> {
    answer_cached(
        call,
        || call.valid_json::<LogisticsRequest>(),
        |request, _| Ok(logistics::analyze(&request, call.now().div_euclid(86_400))),
    )
}
