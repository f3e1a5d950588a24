//! chat-orchestrator: routes a message to a skill by intent and kit, answers
//! from the same domain code as the analyzers, and logs every exchange to
//! assistant_conversations (seed 004, Function 1).

// `#[http_component]` expands to the ABI glue of the export, which is unsafe code.
#![allow(unsafe_code)]

mod conversation;

use shared::ApiError;
use shared::chat::{self, ChatRequest};
use shared::http::{Answer, Call, Endpoint, serve};
use shared::preferences;
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;
use std::time::{Duration, Instant};

const ENDPOINT: Endpoint = Endpoint {
    name: "chat-orchestrator",
    methods: &[Method::Post],
};

/// Spin variable: the time a skill may take before the answer is "taking longer" (seed: 5 s).
const SKILL_BUDGET_VARIABLE: &str = "chat_skill_budget_ms";
const DEFAULT_SKILL_BUDGET: Duration = Duration::from_secs(5);

#[http_component]
fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let started = Instant::now();
    serve(req, out, &ENDPOINT, |call| orchestrate(call, started))
}

fn orchestrate(call: &Call, started: Instant) -> Result<Answer, ApiError> {
    call.user_id()?;
    let mut request: ChatRequest = call.json()?;
    if let Err(invalid) = chat::validate_message(&request.message, &request.current_kit) {
        return Err(ApiError::BadRequestWithSuggestions {
            message: invalid.message,
            suggestions: invalid.suggestions,
        });
    }
    chat::validate_request(&request)?;

    let session = call.session()?;
    if request.conversation_history.is_empty() {
        request.conversation_history = conversation::recent(&session, &request.session_id)?;
    }
    let preferences = preferences::load(&session)?;
    let routing = chat::route(&request);
    let skill_started = Instant::now();
    let mut response =
        match chat::run_skill(&routing, &request, &preferences, call.now().div_euclid(60)) {
            Ok(_) if skill_started.elapsed() > skill_budget() => chat::too_slow(&routing),
            Ok(response) => response,
            Err(e) => {
                // Whose fault: usually the caller's context data; the user gets a way forward.
                eprintln!(
                    "chat-orchestrator: skill {} failed: {e}",
                    routing.skill.as_str()
                );
                chat::fallback(&routing, &e.0)
            }
        };
    response.response_time = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    // Serialised once: the same text is logged and sent.
    let answer = serde_json::to_string(&response).map_err(ApiError::internal)?;
    conversation::log(
        &session,
        &request,
        &routing,
        &answer,
        response.response_time,
    )?;
    session.commit()?;
    Ok(Answer::Text(answer))
}

fn skill_budget() -> Duration {
    spin_sdk::variables::get(SKILL_BUDGET_VARIABLE)
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_SKILL_BUDGET)
}
