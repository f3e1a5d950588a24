//! instance-probe: answers `GET /` with the number of requests its instance
//! has served (1 when every request gets a fresh instance), `GET /memory` with
//! its linear memory in pages before and after allocating 1 MiB, and never
//! answers `GET /spin` (a guest stuck in a loop, for the request deadline).

// `#[http_component]` expands to the ABI glue of the export, which is unsafe code.
#![allow(unsafe_code)]

use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;
use std::sync::atomic::{AtomicU32, Ordering};

/// Requests this instance has served: state that would leak from one
/// request to the next if an instance were ever reused.
static SERVED: AtomicU32 = AtomicU32::new(0);

#[http_component]
fn probe(req: Request) -> Response {
    let served = SERVED.fetch_add(1, Ordering::Relaxed) + 1;
    if req.path() == "/spin" {
        // Rust defines an endless loop (no undefined behaviour to optimise
        // it away), and it makes no host call: only the epoch can stop it.
        loop {
            std::hint::spin_loop();
        }
    }
    let body = if req.path() == "/memory" {
        let before = memory_pages();
        let block = std::hint::black_box(vec![1u8; 1 << 20]);
        let after = memory_pages();
        drop(block);
        format!("{before} {after}")
    } else {
        served.to_string()
    };
    Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(body)
        .build()
}

/// The linear memory's size in 64 KiB pages (0 off Wasm, where the workspace
/// only compiles the probe).
fn memory_pages() -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size::<0>()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}
