//! hello-world: answers every request with a fixed text, so the benchmark
//! measures what the runtime costs a request and nothing else (the same
//! component Spin's own figures are measured with).

// `#[http_component]` expands to the ABI glue of the export, which is unsafe code.
#![allow(unsafe_code)]

use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn hello(_req: Request) -> Response {
    Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body("Hello, world!")
        .build()
}
