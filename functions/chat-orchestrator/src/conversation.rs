//! The conversation log: assistant_conversations rows, under the caller's RLS.

use shared::chat::{ChatRequest, HistoryMessage, Routing};
use shared::db::{Session, SessionError};
use spin_sdk::pg4::ParameterValue as P;

/// History messages loaded when the client sends none.
const HISTORY: i64 = 10;

/// The session's last exchanges, oldest first, as history messages.
pub(crate) fn recent(
    session: &Session,
    session_id: &str,
) -> Result<Vec<HistoryMessage>, SessionError> {
    let rows = session.query(
        "SELECT message, skill_used FROM public.assistant_conversations
          WHERE user_id = auth.uid() AND session_id = $1::text::uuid
          ORDER BY created_at DESC LIMIT $2",
        &[P::Str(session_id.to_string()), P::Int64(HISTORY)],
    )?;
    let mut history: Vec<HistoryMessage> = rows
        .rows()
        .filter_map(|row| {
            Some(HistoryMessage {
                role: "user".into(),
                content: row.get::<String>("message")?,
                skill: row.get::<Option<String>>("skill_used").flatten(),
                timestamp: None,
            })
        })
        .collect();
    history.reverse();
    Ok(history)
}

/// Records one exchange with its intent, skill and response time, and the
/// use of the chat assistant, in one statement.
pub(crate) fn log(
    session: &Session,
    request: &ChatRequest,
    routing: &Routing,
    answer: &str,
    response_time_ms: u64,
) -> Result<(), SessionError> {
    session.execute(
        shared::chat::LOG_EXCHANGE_SQL,
        &[
            P::Str(request.session_id.clone()),
            P::Str(request.message.clone()),
            P::Str(answer.to_string()),
            P::Str(request.current_kit.clone()),
            P::Str(request.current_route.clone()),
            P::Str(routing.detection.intent.as_str().to_string()),
            P::Str(routing.skill.as_str().to_string()),
            P::Int32(i32::try_from(response_time_ms).unwrap_or(i32::MAX)),
        ],
    )?;
    Ok(())
}
