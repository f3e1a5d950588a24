//! events-optimizer: critical path, staffing gaps and run of show of an
//! event, cached for 30 minutes per user, event and input (seed 004, Function 3).

// `#[http_component]` expands to the ABI glue of the export, which is unsafe code.
#![allow(unsafe_code)]

use shared::ApiError;
use shared::cache::answer_cached;
use shared::events::{self, EventsRequest};
use shared::http::{Answer, Call, Endpoint, serve};
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;

const ENDPOINT: Endpoint = Endpoint {
    name: "events-optimizer",
    methods: &[Method::Post],
};

#[http_component]
fn handle(req: IncomingRequest, out: ResponseOutparam) {
    serve(req, out, &ENDPOINT, optimize)
}

fn optimize(call: &Call) -> Result<Answer, ApiError> {
    answer_cached(
        call,
        || call.valid_json::<EventsRequest>(),
        |request, _| Ok(events::analyze(&request, call.now().div_euclid(60))),
    )
}
