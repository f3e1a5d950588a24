//! media-scorer: quality scores, missing shots and selects of a shoot's
//! gallery, cached for 10 minutes per user and input (seed 004, Function 4).

// `#[http_component]` expands to the ABI glue of the export, which is unsafe code.
#![allow(unsafe_code)]

use shared::ApiError;
use shared::cache::answer_cached;
use shared::http::{Answer, Call, Endpoint, serve};
use shared::media::{self, MediaRequest};
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;

const ENDPOINT: Endpoint = Endpoint {
    name: "media-scorer",
    methods: &[Method::Post],
};

#[http_component]
fn handle(req: IncomingRequest, out: ResponseOutparam) {
    serve(req, out, &ENDPOINT, score)
}

fn score(call: &Call) -> Result<Answer, ApiError> {
    answer_cached(
        call,
        || call.valid_json::<MediaRequest>(),
        |request, _| Ok(media::analyze(&request)),
    )
}
