//! Product analytics events (seed 004, table analytics_events): the batch
//! contract, strict validation, and PII redaction before storage.

use crate::validation::{Validate, ValidationError, check_text};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Events accepted in one batch.
pub const MAX_EVENTS_PER_BATCH: usize = 100;
/// Largest `eventData`, in bytes of JSON.
pub const MAX_EVENT_DATA_BYTES: usize = 8 * 1024;

/// The kinds of assistant usage the product tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// The assistant panel was opened.
    AssistantOpened,
    /// The assistant panel was closed.
    AssistantClosed,
    /// The user switched kits.
    KitSwitched,
    /// A suggested action was clicked.
    ActionClicked,
    /// A deep link in an answer was followed.
    DeepLinkFollowed,
    /// A chat message was sent.
    MessageSent,
    /// Thumbs up or down on an answer.
    FeedbackGiven,
    /// An insight card was viewed.
    InsightViewed,
    /// A function or feature was used (recorded by the functions themselves).
    FeatureUsed,
}

impl EventType {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AssistantOpened => "assistant_opened",
            Self::AssistantClosed => "assistant_closed",
            Self::KitSwitched => "kit_switched",
            Self::ActionClicked => "action_clicked",
            Self::DeepLinkFollowed => "deep_link_followed",
            Self::MessageSent => "message_sent",
            Self::FeedbackGiven => "feedback_given",
            Self::InsightViewed => "insight_viewed",
            Self::FeatureUsed => "feature_used",
        }
    }
}

/// One event as the frontend sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalyticsEvent {
    /// What happened.
    pub event_type: EventType,
    /// Free-form context (redacted before storage).
    #[serde(default = "empty_object")]
    pub event_data: Value,
    /// The page the user was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_route: Option<String>,
    /// The active kit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kit_context: Option<String>,
    /// The assistant session (uuid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// A batch of events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalyticsBatch {
    /// 1 to [`MAX_EVENTS_PER_BATCH`] events.
    pub events: Vec<AnalyticsEvent>,
}

impl Validate for AnalyticsBatch {
    /// Checks the batch; the message names the field path.
    fn validate(&self) -> Result<(), ValidationError> {
        if self.events.is_empty() {
            return Err(ValidationError(
                "events must contain at least one event".into(),
            ));
        }
        if self.events.len() > MAX_EVENTS_PER_BATCH {
            return Err(ValidationError(format!(
                "events has {} entries; at most {MAX_EVENTS_PER_BATCH} are accepted",
                self.events.len()
            )));
        }
        for (i, event) in self.events.iter().enumerate() {
            let field = |name: &str| format!("events[{i}].{name}");
            if !event.event_data.is_object() {
                return Err(ValidationError(format!(
                    "{}: must be an object",
                    field("eventData")
                )));
            }
            let size = event.event_data.to_string().len();
            if size > MAX_EVENT_DATA_BYTES {
                return Err(ValidationError(format!(
                    "{}: is {size} bytes; at most {MAX_EVENT_DATA_BYTES} are accepted",
                    field("eventData")
                )));
            }
            if let Some(route) = &event.page_route {
                check_text(|| field("pageRoute"), route)?;
            }
            if let Some(kit) = &event.kit_context {
                check_text(|| field("kitContext"), kit)?;
            }
            if let Some(session) = &event.session_id
                && !crate::auth::is_uuid(session)
            {
                return Err(ValidationError(format!(
                    "{}: must be a uuid",
                    field("sessionId")
                )));
            }
        }
        Ok(())
    }
}

impl AnalyticsBatch {
    /// The events with PII redacted from every string they carry.
    pub fn redacted(&self) -> Vec<AnalyticsEvent> {
        self.events
            .iter()
            .map(|e| AnalyticsEvent {
                event_type: e.event_type,
                event_data: redact_value(&e.event_data),
                page_route: e.page_route.as_deref().map(redact),
                kit_context: e.kit_context.as_deref().map(redact),
                session_id: e.session_id.clone(),
            })
            .collect()
    }
}

/// Redacts every string inside a JSON value (keys are kept).
pub fn redact_value(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(redact(s)),
        Value::Array(items) => Value::Array(items.iter().map(redact_value).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), redact_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Replaces e-mail addresses, phone numbers and card-like numbers in `text`.
///
/// Card-like: 13 to 19 digits (spaces or dashes allowed between them).
/// Phone: 7 to 15 digits with at least one separator, a leading `+`, or
/// brackets, so plain ids and years stay.
pub fn redact(text: &str) -> String {
    let redacted_emails = redact_emails(text);
    redact_digit_runs(&redacted_emails)
}

fn redact_emails(text: &str) -> String {
    let is_local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let is_domain = |c: char| c.is_ascii_alphanumeric() || ".-".contains(c);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '@' {
            let mut start = i;
            while start > 0 && is_local(chars[start - 1]) {
                start -= 1;
            }
            let mut end = i + 1;
            while end < chars.len() && is_domain(chars[end]) {
                end += 1;
            }
            let domain: String = chars[i + 1..end].iter().collect();
            let domain = domain.trim_end_matches('.');
            let local_len = i - start;
            if local_len > 0 && domain.contains('.') && !domain.starts_with('.') {
                // Drop the local part already copied, then write the marker.
                for _ in 0..local_len {
                    out.pop();
                }
                out.push_str("[redacted-email]");
                i = i + 1 + domain.chars().count();
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn redact_digit_runs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
            || (chars[i] == '(' && chars.get(i + 1).is_some_and(char::is_ascii_digit));
        if !starts_number {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A run of digits and phone/card separators.
        let mut end = i;
        let mut digits = 0;
        let mut separators = 0;
        while end < chars.len() {
            let c = chars[end];
            if c.is_ascii_digit() {
                digits += 1;
            } else if " -.()+".contains(c)
                && chars[end + 1..]
                    .iter()
                    .take(3)
                    .find(|n| !" -.()+".contains(**n))
                    .is_some_and(char::is_ascii_digit)
            {
                separators += 1;
            } else {
                break;
            }
            end += 1;
        }
        let run: String = chars[i..end].iter().collect();
        let card_like = (13..=19).contains(&digits) && !run.contains(['(', '+', '.']);
        let phone_like = (7..=15).contains(&digits)
            && (separators > 0 || run.starts_with('+'))
            && !(digits == 8 && run.matches('-').count() == 2 && run.len() == 10);
        if card_like {
            out.push_str("[redacted-card]");
        } else if phone_like {
            out.push_str("[redacted-phone]");
        } else {
            out.push_str(&run);
        }
        i = end;
    }
    out
}

#[cfg(feature = "guest")]
pub use guest::insert;

#[cfg(feature = "guest")]
mod guest {
    use super::AnalyticsEvent;
    use crate::db::{Session, SessionError};
    use spin_sdk::pg4::ParameterValue as P;

    /// Stores events for the session's user in one statement; returns how many.
    pub fn insert(session: &Session, events: &[AnalyticsEvent]) -> Result<u64, SessionError> {
        let rows =
            serde_json::to_string(events).map_err(|e| SessionError::Database(e.to_string()))?;
        session.execute(
            "INSERT INTO public.analytics_events (user_id, event_type, event_data, page_route, kit_context, session_id)
             SELECT auth.uid(), e.\"eventType\", coalesce(e.\"eventData\", '{}'::jsonb), e.\"pageRoute\",
                    e.\"kitContext\", e.\"sessionId\"::uuid
               FROM jsonb_to_recordset($1::text::jsonb)
                 AS e(\"eventType\" text, \"eventData\" jsonb, \"pageRoute\" text, \"kitContext\" text, \"sessionId\" text)",
            &[P::Str(rows)],
        )
    }
}

/// The insert of a `feature_used` event of the session's user, with the
/// placeholders (or literals) of its feature and its kit: one text for every
/// statement that records a use, each in the same round trip as the work it
/// records (`cache::STORE_SQL`, `chat::LOG_EXCHANGE_SQL`; a cache hit records
/// its event inside `insight_cache_find`, in the same shape).
macro_rules! record_usage_sql {
    ($feature:literal, $kit:literal) => {
        concat!(
            "INSERT INTO public.analytics_events (user_id, event_type, event_data, kit_context) \
             VALUES (auth.uid(), 'feature_used', jsonb_build_object('feature', ",
            $feature,
            "::text), ",
            $kit,
            ")"
        )
    };
}
pub(crate) use record_usage_sql;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_usage_statement_records_feature_used_events() {
        let event = format!("'{}'", EventType::FeatureUsed.as_str());
        let sql = record_usage_sql!("$1", "$2");
        assert!(sql.contains(&event));
        assert!(sql.contains("jsonb_build_object('feature', $1::text), $2)"));
    }

    #[test]
    fn emails_phones_and_cards_are_redacted() {
        assert_eq!(
            redact("mail anna.b+shoots@studio.example.com now"),
            "mail [redacted-email] now"
        );
        assert_eq!(
            redact("call +44 20 7946 0958 today"),
            "call [redacted-phone] today"
        );
        assert_eq!(redact("(212) 555-0187"), "[redacted-phone]");
        assert_eq!(redact("card 4111 1111 1111 1111"), "card [redacted-card]");
        assert_eq!(redact("card 4111-1111-1111-1111."), "card [redacted-card].");
    }

    #[test]
    fn ordinary_numbers_and_dates_are_kept() {
        for kept in [
            "look 12",
            "2026-03-01",
            "order 123456",
            "sample s-1042",
            "v1.2.3",
            "@channel",
        ] {
            assert_eq!(redact(kept), kept);
        }
    }

    #[test]
    fn nested_event_data_is_redacted_but_keys_kept() {
        let data = json!({"note": "ping me at a@b.co", "contacts": [{"phone": "+1 555 010 9999"}], "count": 3});
        assert_eq!(
            redact_value(&data),
            json!({"note": "ping me at [redacted-email]", "contacts": [{"phone": "[redacted-phone]"}], "count": 3})
        );
    }

    #[test]
    fn batch_validation_names_the_field() {
        let batch: AnalyticsBatch = serde_json::from_value(json!({"events": [
            {"eventType": "kit_switched", "sessionId": "nope"}
        ]}))
        .expect("parses");
        assert_eq!(
            batch.validate(),
            Err(ValidationError(
                "events[0].sessionId: must be a uuid".into()
            ))
        );
        let empty = AnalyticsBatch { events: vec![] };
        assert!(empty.validate().is_err());
        assert!(
            serde_json::from_value::<AnalyticsBatch>(json!({"events": [{"eventType": "nope"}]}))
                .is_err()
        );
    }
}
