//! The chat orchestrator's brain (seed 004, Function 1): deterministic,
//! explainable intent detection, skill selection by kit and intent, and skills
//! that answer from the same domain code as the analyzers.

use crate::events::{self, Event, EventsAnalysisType, EventsRequest};
use crate::logistics::{self, AnalysisType, LogisticsRequest, Sample};
use crate::media::{self, GalleryAsset, MediaAnalysisType, MediaRequest, ShotItem};
use crate::preferences::{KITS, Preferences};
use crate::validation::{Validate, ValidationError};
use serde::{Deserialize, Serialize};

/// The statement that logs one exchange in `assistant_conversations` and
/// records the use of the chat assistant (a `feature_used` event of the
/// request's kit), in one round trip of the caller's transaction: `$1`
/// session id, `$2` message, `$3` response (JSON text), `$4` kit, `$5` page
/// route, `$6` intent, `$7` skill, `$8` response time in milliseconds.
pub const LOG_EXCHANGE_SQL: &str = concat!(
    "WITH used AS (",
    crate::analytics::record_usage_sql!("'chat_assistant'", "$4"),
    ") INSERT INTO public.assistant_conversations \
     (user_id, session_id, message, response, kit_context, page_route, \
      intent_detected, skill_used, response_time_ms) \
     VALUES (auth.uid(), $1::text::uuid, $2, $3::text::jsonb, $4, $5, $6, $7, $8)"
);

/// Longest message accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// History entries honoured (the seed sends the last 10).
pub const MAX_HISTORY: usize = 20;

/// What the user wants, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Go somewhere in the app.
    Navigation,
    /// Know something.
    Question,
    /// Have something done or planned.
    Action,
    /// Learn what the assistant can do.
    Help,
}

impl Intent {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Navigation => "navigation",
            Intent::Question => "question",
            Intent::Action => "action",
            Intent::Help => "help",
        }
    }
}

/// The domain a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Samples: readiness, blockers, batching.
    Logistics,
    /// Event production: tasks, staffing, run of show.
    Events,
    /// The gallery: quality, missing shots, selects.
    Media,
    /// Preferences and settings.
    Settings,
}

impl Topic {
    fn from_kit(kit: &str) -> Option<Topic> {
        match kit {
            "logistics" => Some(Topic::Logistics),
            "events" => Some(Topic::Events),
            "media" => Some(Topic::Media),
            _ => None,
        }
    }
}

/// The skills the orchestrator routes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Skill {
    /// What the assistant can do, in the user's kit order.
    Help,
    /// A deep link into the app.
    Navigate,
    /// Share of samples on set or shot.
    LogisticsReadiness,
    /// Delayed and at-risk samples.
    LogisticsBlockers,
    /// Shooting order grouped by category.
    LogisticsBatching,
    /// Critical path and whether the event is on track.
    EventsCriticalPath,
    /// Crew gaps per role and block.
    EventsStaffing,
    /// Setup, show and teardown timeline.
    EventsRunOfShow,
    /// Frame quality scores.
    MediaQuality,
    /// Shot-list gaps.
    MediaMissing,
    /// Top frames with variety.
    MediaSelects,
    /// A general answer with suggestions when no domain fits.
    General,
}

impl Skill {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Skill::Help => "help",
            Skill::Navigate => "navigate",
            Skill::LogisticsReadiness => "logistics_readiness",
            Skill::LogisticsBlockers => "logistics_blockers",
            Skill::LogisticsBatching => "logistics_batching",
            Skill::EventsCriticalPath => "events_critical_path",
            Skill::EventsStaffing => "events_staffing",
            Skill::EventsRunOfShow => "events_run_of_show",
            Skill::MediaQuality => "media_quality",
            Skill::MediaMissing => "media_missing",
            Skill::MediaSelects => "media_selects",
            Skill::General => "general",
        }
    }
}

/// One earlier message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoryMessage {
    /// `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
    /// The skill that answered (assistant messages), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// When it was sent, if the client keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// The data on the user's screen the skills may analyse.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserContext {
    /// The sample tracker's samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_list: Option<Vec<Sample>>,
    /// The event being produced (tasks, staffing, segments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
    /// The gallery's frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gallery_assets: Option<Vec<GalleryAsset>>,
    /// The shot list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shot_list: Option<Vec<ShotItem>>,
}

/// The chat-orchestrator request (seed 004).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChatRequest {
    /// What the user typed.
    pub message: String,
    /// The active kit.
    pub current_kit: String,
    /// The page the user is on.
    pub current_route: String,
    /// The assistant session (uuid).
    pub session_id: String,
    /// The last messages, oldest first.
    #[serde(default)]
    pub conversation_history: Vec<HistoryMessage>,
    /// Data the skills may use.
    #[serde(default)]
    pub user_context: UserContext,
}

/// A button in an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatAction {
    /// Button text.
    pub label: String,
    /// Deep link or action id.
    pub target: String,
    /// The main action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

/// Kind of answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// Information.
    Text,
    /// Suggests something to do.
    Action,
    /// Takes the user somewhere.
    Navigation,
}

/// How urgent an answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseSeverity {
    /// Neutral.
    Info,
    /// Needs attention.
    Warning,
    /// Threatens the shoot or show.
    Critical,
    /// All good.
    Success,
}

/// The answer (seed 004 output, plus how it was routed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatResponse {
    /// The text shown.
    pub content: String,
    /// Kind of answer.
    #[serde(rename = "type")]
    pub kind: ResponseType,
    /// Urgency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<ResponseSeverity>,
    /// Buttons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ChatAction>,
    /// Suggested next questions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow_up: Vec<String>,
    /// Milliseconds the orchestrator took (set by the function).
    pub response_time: u64,
    /// The detected intent.
    pub intent: Intent,
    /// The skill that answered.
    pub skill: Skill,
}

/// An intent with the evidence for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntentDetection {
    /// The winner.
    pub intent: Intent,
    /// Its share of the total rule weight (0 to 1).
    pub confidence: f64,
    /// The rules that fired, as `intent:rule`.
    pub matched: Vec<String>,
}

/// A message the orchestrator will not route, with suggestions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMessage {
    /// What is wrong.
    pub message: String,
    /// What the user could ask instead.
    pub suggestions: Vec<String>,
}

// Rules: (intent, rule name, weight, phrase). Phrases match whole words at a
// word boundary; a leading phrase (first word) weighs more for commands.
const RULES: &[(Intent, &str, u32, &str)] = &[
    (Intent::Help, "help", 5, "help"),
    (Intent::Help, "what-can-you-do", 6, "what can you do"),
    (Intent::Help, "how-do-i", 4, "how do i"),
    (Intent::Help, "how-does", 3, "how does"),
    (Intent::Help, "commands", 4, "commands"),
    (Intent::Help, "explain", 3, "explain"),
    (Intent::Help, "getting-started", 4, "get started"),
    (Intent::Help, "tutorial", 4, "tutorial"),
    (Intent::Navigation, "go-to", 6, "go to"),
    (Intent::Navigation, "take-me", 6, "take me"),
    (Intent::Navigation, "navigate", 6, "navigate"),
    (Intent::Navigation, "open", 4, "open"),
    (Intent::Navigation, "switch-to", 5, "switch to"),
    (Intent::Navigation, "where-is", 4, "where is"),
    (Intent::Navigation, "jump-to", 5, "jump to"),
    (Intent::Navigation, "page", 2, "page"),
    (Intent::Action, "create", 4, "create"),
    (Intent::Action, "add", 3, "add"),
    (Intent::Action, "schedule", 3, "schedule"),
    (Intent::Action, "assign", 4, "assign"),
    (Intent::Action, "plan", 4, "plan"),
    (Intent::Action, "batch", 4, "batch"),
    (Intent::Action, "group", 3, "group"),
    (Intent::Action, "generate", 4, "generate"),
    (Intent::Action, "draft", 4, "draft"),
    (Intent::Action, "pick", 4, "pick"),
    (Intent::Action, "choose", 4, "choose"),
    (Intent::Action, "select", 3, "select"),
    (Intent::Action, "score", 3, "score"),
    (Intent::Action, "rate", 3, "rate"),
    (Intent::Action, "find", 3, "find"),
    (Intent::Action, "flag", 3, "flag"),
    (Intent::Action, "build", 3, "build"),
    (Intent::Action, "optimize", 4, "optimize"),
    (Intent::Action, "please", 1, "please"),
    (Intent::Question, "what", 3, "what"),
    (Intent::Question, "which", 3, "which"),
    (Intent::Question, "how-many", 4, "how many"),
    (Intent::Question, "how-much", 4, "how much"),
    (Intent::Question, "when", 3, "when"),
    (Intent::Question, "why", 3, "why"),
    (Intent::Question, "who", 3, "who"),
    (Intent::Question, "is", 2, "is"),
    (Intent::Question, "are", 2, "are"),
    (Intent::Question, "do-we", 2, "do we"),
    (Intent::Question, "status", 3, "status"),
    (Intent::Question, "any", 1, "any"),
];

// Topic keywords (stems match words that start with them).
const TOPIC_WORDS: &[(Topic, &[&str])] = &[
    (
        Topic::Logistics,
        &[
            "sample",
            "courier",
            "shipment",
            "shipping",
            "readiness",
            "ready",
            "blocker",
            "delayed",
            "late",
            "overdue",
            "batch",
            "pull",
            "return",
            "garment",
            "tracker",
            "logistic",
            "hero",
            "wardrobe",
        ],
    ),
    (
        Topic::Events,
        &[
            "event",
            "show",
            "runway",
            "task",
            "critical",
            "path",
            "staff",
            "crew",
            "dresser",
            "run of show",
            "running order",
            "timeline",
            "setup",
            "teardown",
            "rehearsal",
            "deadline",
            "on track",
            "venue",
        ],
    ),
    (
        Topic::Media,
        &[
            "photo", "image", "asset", "shot", "gallery", "select", "quality", "frame", "picture",
            "retouch", "missing", "coverage", "media", "best",
        ],
    ),
    (
        Topic::Settings,
        &[
            "preference",
            "setting",
            "favorite",
            "favourite",
            "notification",
        ],
    ),
];

/// Checks a message; an invalid one gets a friendly explanation and suggestions.
pub fn validate_message(message: &str, current_kit: &str) -> Result<(), InvalidMessage> {
    let trimmed = message.trim();
    let problem = if trimmed.is_empty() {
        Some("your message is empty".to_string())
    } else if trimmed.chars().count() > MAX_MESSAGE_CHARS {
        Some(format!(
            "your message is {} characters long; please keep it under {MAX_MESSAGE_CHARS}",
            trimmed.chars().count()
        ))
    } else if !trimmed.chars().any(char::is_alphanumeric) {
        Some("your message has no words in it".to_string())
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(InvalidMessage {
            message: format!("I couldn't read that: {problem}. Try one of the suggestions."),
            suggestions: suggestions(Topic::from_kit(current_kit)),
        }),
    }
}

/// Checks the rest of the request (the message is checked by [`validate_message`]).
pub fn validate_request(request: &ChatRequest) -> Result<(), ValidationError> {
    if !crate::auth::is_uuid(&request.session_id) {
        return Err(ValidationError("sessionId: must be a uuid".into()));
    }
    crate::validation::check_text(|| "currentKit".into(), &request.current_kit)?;
    crate::validation::check_text(|| "currentRoute".into(), &request.current_route)?;
    if request.conversation_history.len() > MAX_HISTORY {
        return Err(ValidationError(format!(
            "conversationHistory has {} messages; at most {MAX_HISTORY} are accepted",
            request.conversation_history.len()
        )));
    }
    for (i, entry) in request.conversation_history.iter().enumerate() {
        if entry.role != "user" && entry.role != "assistant" {
            return Err(ValidationError(format!(
                "conversationHistory[{i}].role: must be \"user\" or \"assistant\""
            )));
        }
        if entry.content.chars().count() > MAX_MESSAGE_CHARS * 4 {
            return Err(ValidationError(format!(
                "conversationHistory[{i}].content: is too long"
            )));
        }
    }
    Ok(())
}

fn words(message: &str) -> Vec<String> {
    message
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn contains_phrase(words: &[String], phrase: &str) -> Option<usize> {
    let parts: Vec<&str> = phrase.split(' ').collect();
    words
        .windows(parts.len())
        .position(|w| w.iter().zip(&parts).all(|(a, b)| a == b))
}

/// Scores every rule against the message; the heaviest intent wins.
/// A question mark adds to `question`; a rule matching the first word (an
/// imperative) counts double. Ties go to help, navigation, action, question.
pub fn detect_intent(message: &str) -> IntentDetection {
    let words = words(message);
    let mut scores = [0u32; 4];
    let mut matched = Vec::new();
    let index = |intent: Intent| match intent {
        Intent::Help => 0,
        Intent::Navigation => 1,
        Intent::Action => 2,
        Intent::Question => 3,
    };
    for (intent, name, weight, phrase) in RULES {
        if let Some(position) = contains_phrase(&words, phrase) {
            let weight = if position == 0 { weight * 2 } else { *weight };
            scores[index(*intent)] += weight;
            matched.push(format!("{}:{name}", intent.as_str()));
        }
    }
    if message.trim_end().ends_with('?') {
        scores[3] += 4;
        matched.push("question:question-mark".into());
    }
    let order = [
        Intent::Help,
        Intent::Navigation,
        Intent::Action,
        Intent::Question,
    ];
    let total: u32 = scores.iter().sum();
    let (winner, best) =
        order
            .iter()
            .map(|i| (*i, scores[index(*i)]))
            .fold(
                (Intent::Question, 0),
                |acc, (i, s)| if s > acc.1 { (i, s) } else { acc },
            );
    if total == 0 {
        return IntentDetection {
            intent: Intent::Question,
            confidence: 0.0,
            matched: vec!["question:default".into()],
        };
    }
    IntentDetection {
        intent: winner,
        confidence: (f64::from(best) / f64::from(total) * 100.0).round() / 100.0,
        matched,
    }
}

/// The topic a message names, if any (the most keyword hits wins).
pub fn detect_topic(message: &str) -> Option<Topic> {
    let words = words(message);
    let mut best: Option<(Topic, usize)> = None;
    for (topic, keywords) in TOPIC_WORDS {
        let hits = keywords
            .iter()
            .filter(|k| {
                if k.contains(' ') {
                    contains_phrase(&words, k).is_some()
                } else {
                    words.iter().any(|w| w.starts_with(*k))
                }
            })
            .count();
        if hits > 0 && best.is_none_or(|(_, b)| hits > b) {
            best = Some((*topic, hits));
        }
    }
    best.map(|(topic, _)| topic)
}

/// The topic of the conversation: the message's own, else the latest history
/// message that names one, else the current kit's.
pub fn resolve_topic(request: &ChatRequest) -> Option<Topic> {
    detect_topic(&request.message)
        .or_else(|| {
            request
                .conversation_history
                .iter()
                .rev()
                .find_map(|m| detect_topic(&m.content))
        })
        .or_else(|| Topic::from_kit(&request.current_kit))
}

fn mentions(message: &str, stems: &[&str]) -> bool {
    let words = words(message);
    stems.iter().any(|s| {
        if s.contains(' ') {
            contains_phrase(&words, s).is_some()
        } else {
            words.iter().any(|w| w.starts_with(s))
        }
    })
}

/// Picks the skill for an intent in a topic; the message refines which one.
pub fn select_skill(intent: Intent, topic: Option<Topic>, message: &str) -> Skill {
    match (intent, topic) {
        (Intent::Help, _) => Skill::Help,
        (Intent::Navigation, _) => Skill::Navigate,
        (_, Some(Topic::Logistics)) => {
            if mentions(message, &["batch", "group", "order", "sequence", "plan"]) {
                Skill::LogisticsBatching
            } else if mentions(
                message,
                &[
                    "block", "late", "delay", "overdue", "stuck", "risk", "missing",
                ],
            ) {
                Skill::LogisticsBlockers
            } else {
                Skill::LogisticsReadiness
            }
        }
        (_, Some(Topic::Events)) => {
            if mentions(
                message,
                &["staff", "crew", "dresser", "people", "hire", "understaffed"],
            ) {
                Skill::EventsStaffing
            } else if mentions(
                message,
                &[
                    "run of show",
                    "running order",
                    "timeline",
                    "schedule",
                    "draft",
                ],
            ) {
                Skill::EventsRunOfShow
            } else {
                Skill::EventsCriticalPath
            }
        }
        (_, Some(Topic::Media)) => {
            if mentions(
                message,
                &["missing", "gap", "coverage", "shot list", "left to shoot"],
            ) {
                Skill::MediaMissing
            } else if mentions(
                message,
                &["select", "best", "pick", "top", "choose", "favourite"],
            ) {
                Skill::MediaSelects
            } else {
                Skill::MediaQuality
            }
        }
        (_, Some(Topic::Settings)) => Skill::Navigate,
        (_, None) => Skill::General,
    }
}

/// A skill could not answer (its input is missing or invalid).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SkillError(pub String);

/// Everything decided about one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    /// The intent and its evidence.
    pub detection: IntentDetection,
    /// The resolved topic.
    pub topic: Option<Topic>,
    /// The chosen skill.
    pub skill: Skill,
}

/// Detects intent and topic and selects the skill.
pub fn route(request: &ChatRequest) -> Routing {
    let detection = detect_intent(&request.message);
    let topic = resolve_topic(request);
    let skill = select_skill(detection.intent, topic, &request.message);
    Routing {
        detection,
        topic,
        skill,
    }
}

fn action(label: &str, target: &str, primary: bool) -> ChatAction {
    ChatAction {
        label: label.to_string(),
        target: target.to_string(),
        primary: primary.then_some(true),
    }
}

fn answer(
    content: String,
    kind: ResponseType,
    severity: ResponseSeverity,
    routing: &Routing,
) -> ChatResponse {
    ChatResponse {
        content,
        kind,
        severity: Some(severity),
        actions: Vec::new(),
        follow_up: Vec::new(),
        response_time: 0,
        intent: routing.detection.intent,
        skill: routing.skill,
    }
}

/// Suggested questions for a topic.
pub fn suggestions(topic: Option<Topic>) -> Vec<String> {
    let list: &[&str] = match topic {
        Some(Topic::Logistics) => &[
            "How ready are we for the shoot?",
            "Which samples are blocking us?",
            "Plan the shooting order by category",
        ],
        Some(Topic::Events) => &[
            "Are we on track for the show?",
            "Where are we short on crew?",
            "Draft the run of show",
        ],
        Some(Topic::Media) => &[
            "Which frames are the best?",
            "What shots are still missing?",
            "Score the gallery",
        ],
        _ => &[
            "How ready are we for the shoot?",
            "Are we on track for the show?",
            "Which frames are the best?",
        ],
    };
    list.iter().map(|s| s.to_string()).collect()
}

/// Runs the routed skill. `now_minutes` is the current time in minutes since the epoch.
pub fn run_skill(
    routing: &Routing,
    request: &ChatRequest,
    preferences: &Preferences,
    now_minutes: i64,
) -> Result<ChatResponse, SkillError> {
    let mut response = match routing.skill {
        Skill::Help => help(routing, preferences),
        Skill::Navigate => navigate(routing, request),
        Skill::General => {
            let mut r = answer(
                "I can analyse your samples, your event and your gallery. Ask about one of them."
                    .into(),
                ResponseType::Text,
                ResponseSeverity::Info,
                routing,
            );
            r.follow_up = suggestions(None);
            r
        }
        Skill::LogisticsReadiness | Skill::LogisticsBlockers | Skill::LogisticsBatching => {
            logistics_skill(routing, request, now_minutes.div_euclid(1440))?
        }
        Skill::EventsCriticalPath | Skill::EventsStaffing | Skill::EventsRunOfShow => {
            events_skill(routing, request, now_minutes)?
        }
        Skill::MediaQuality | Skill::MediaMissing | Skill::MediaSelects => {
            media_skill(routing, request)?
        }
    };
    if response.follow_up.is_empty() {
        response.follow_up = suggestions(routing.topic)
            .into_iter()
            .filter(|s| s != &request.message)
            .take(2)
            .collect();
    }
    order_by_favorites(&mut response.actions, &preferences.favorite_actions);
    Ok(response)
}

/// Favourite actions first (stable otherwise); the first action stays primary.
fn order_by_favorites(actions: &mut [ChatAction], favorites: &[String]) {
    if favorites.is_empty() || actions.is_empty() {
        return;
    }
    actions.sort_by_key(|a| {
        favorites
            .iter()
            .position(|f| *f == a.target)
            .unwrap_or(usize::MAX)
    });
    for (i, a) in actions.iter_mut().enumerate() {
        a.primary = (i == 0).then_some(true);
    }
}

fn help(routing: &Routing, preferences: &Preferences) -> ChatResponse {
    let kits: Vec<String> = preferences
        .effective_kit_order()
        .into_iter()
        .filter(|k| KITS.contains(&k.as_str()))
        .collect();
    let describe = |kit: &str| match kit {
        "logistics" => Some("logistics: sample readiness, blockers and shooting order"),
        "events" => Some("events: critical path, crew gaps and the run of show"),
        "media" => Some("media: frame quality, missing shots and selects"),
        _ => None,
    };
    let lines: Vec<&str> = kits.iter().filter_map(|k| describe(k)).collect();
    let mut r = answer(
        format!("Here is what I can do — {}.", lines.join("; ")),
        ResponseType::Text,
        ResponseSeverity::Info,
        routing,
    );
    r.actions = kits
        .iter()
        .filter(|k| describe(k).is_some())
        .enumerate()
        .map(|(i, k)| action(&format!("Open {k}"), &format!("/{k}"), i == 0))
        .collect();
    r
}

fn navigate(routing: &Routing, request: &ChatRequest) -> ChatResponse {
    let (label, target) = match routing.topic {
        Some(Topic::Logistics) => ("Sample tracker", "/logistics/samples".to_string()),
        Some(Topic::Events) => match &request.user_context.event {
            Some(event) => ("Event tasks", format!("/events/{}/tasks", event.id)),
            None => ("Events", "/events".to_string()),
        },
        Some(Topic::Media) => ("Gallery", "/media/gallery".to_string()),
        Some(Topic::Settings) => ("Assistant settings", "/settings/assistant".to_string()),
        None => ("Home", "/".to_string()),
    };
    let mut r = answer(
        format!("Opening {label}."),
        ResponseType::Navigation,
        ResponseSeverity::Info,
        routing,
    );
    r.actions = vec![action(&format!("Go to {label}"), &target, true)];
    r
}

fn missing_input(what: &str, kit: &str, routing: &Routing) -> Result<ChatResponse, SkillError> {
    let mut r = answer(
        format!("I need your {what} for that. Open the {kit} kit so I can see it, then ask again."),
        ResponseType::Action,
        ResponseSeverity::Info,
        routing,
    );
    r.actions = vec![action(&format!("Open {kit}"), &format!("/{kit}"), true)];
    Ok(r)
}

fn logistics_skill(
    routing: &Routing,
    request: &ChatRequest,
    today: i64,
) -> Result<ChatResponse, SkillError> {
    let Some(samples) = &request.user_context.sample_list else {
        return missing_input("sample list", "logistics", routing);
    };
    let analysis_type = match routing.skill {
        Skill::LogisticsBlockers => AnalysisType::Blockers,
        Skill::LogisticsBatching => AnalysisType::Batching,
        _ => AnalysisType::Readiness,
    };
    let input = LogisticsRequest {
        sample_list: samples.clone(),
        analysis_type,
        tracker_id: None,
    };
    input
        .validate()
        .map_err(|e| SkillError(format!("the sample list is invalid: {e}")))?;
    let analysis = logistics::analyze(&input, today);
    if let Some(report) = analysis.readiness {
        let severity = if report.readiness_percent >= 80.0 {
            ResponseSeverity::Success
        } else if report.readiness_percent >= 50.0 {
            ResponseSeverity::Info
        } else {
            ResponseSeverity::Warning
        };
        let mut r = answer(
            format!(
                "Readiness is {}%: {} of {} samples are on set or shot ({} hero pieces ready of {}).",
                report.readiness_percent,
                report.ready,
                report.total,
                report.hero_ready,
                report.hero_total
            ),
            ResponseType::Text,
            severity,
            routing,
        );
        r.actions = vec![
            action("View blockers", "/logistics/blockers", true),
            action("Plan batches", "/logistics/batching", false),
        ];
        return Ok(r);
    }
    if let Some(blockers) = analysis.blockers {
        let critical = blockers
            .iter()
            .filter(|b| b.severity == logistics::Severity::Critical)
            .count();
        let content = match blockers.first() {
            None => "No sample is blocking the shoot.".to_string(),
            Some(top) => format!(
                "{} blocker(s), {critical} critical. Most urgent: {}",
                blockers.len(),
                top.reason
            ),
        };
        let severity = if critical > 0 {
            ResponseSeverity::Critical
        } else if blockers.is_empty() {
            ResponseSeverity::Success
        } else {
            ResponseSeverity::Warning
        };
        let mut r = answer(content, ResponseType::Action, severity, routing);
        r.actions = blockers
            .iter()
            .take(3)
            .enumerate()
            .map(|(i, b)| {
                action(
                    &format!("Chase {}", b.sample_name),
                    &format!("/logistics/samples/{}", b.sample_id),
                    i == 0,
                )
            })
            .collect();
        return Ok(r);
    }
    let plan = analysis
        .batching
        .ok_or_else(|| SkillError("no batching plan".into()))?;
    let order: Vec<String> = plan.batches.iter().map(|b| b.category.clone()).collect();
    let mut r = answer(
        format!(
            "Shoot by category in this order: {}. That takes {} min instead of {} ({} min saved).",
            order.join(", "),
            plan.batched_minutes,
            plan.sequential_minutes,
            plan.time_saved_minutes
        ),
        ResponseType::Action,
        ResponseSeverity::Info,
        routing,
    );
    r.actions = vec![action(
        "Apply this shooting order",
        "/logistics/batching",
        true,
    )];
    Ok(r)
}

fn events_skill(
    routing: &Routing,
    request: &ChatRequest,
    now_minutes: i64,
) -> Result<ChatResponse, SkillError> {
    let Some(event) = &request.user_context.event else {
        return missing_input("event", "events", routing);
    };
    let analysis_type = match routing.skill {
        Skill::EventsStaffing => EventsAnalysisType::Staffing,
        Skill::EventsRunOfShow => EventsAnalysisType::RunOfShow,
        _ => EventsAnalysisType::CriticalPath,
    };
    let input = EventsRequest {
        event: event.clone(),
        analysis_type,
    };
    input
        .validate()
        .map_err(|e| SkillError(format!("the event is invalid: {e}")))?;
    let analysis = events::analyze(&input, now_minutes);
    let tasks = format!("/events/{}/tasks", event.id);
    if let Some(report) = analysis.critical_path {
        let (content, severity) = if report.on_track {
            (
                format!(
                    "On track: {} min of work left on the critical path ({}), {} min of buffer before setup.",
                    report.remaining_minutes,
                    report.path.join(" → "),
                    report.buffer_minutes
                ),
                ResponseSeverity::Success,
            )
        } else {
            (
                format!(
                    "Behind by {} min: the critical path ({}) needs {} more minutes than there is before setup at {}.",
                    -report.buffer_minutes,
                    report.path.join(" → "),
                    -report.buffer_minutes,
                    report.ready_by
                ),
                ResponseSeverity::Critical,
            )
        };
        let mut r = answer(content, ResponseType::Text, severity, routing);
        r.actions = vec![action("Open tasks", &tasks, true)];
        r.actions.extend(report.blockers.iter().take(2).map(|b| {
            action(
                &format!("Unblock {}", b.task_name),
                &format!("{tasks}/{}", b.task_id),
                false,
            )
        }));
        return Ok(r);
    }
    if let Some(gaps) = analysis.staffing {
        let short: Vec<String> = gaps
            .iter()
            .filter(|g| g.gap > 0)
            .map(|g| {
                format!(
                    "{} {} short in {}",
                    g.gap,
                    g.role,
                    serde_json::to_value(g.block)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                )
            })
            .collect();
        let (content, severity) = if short.is_empty() {
            (
                "Every role is staffed.".to_string(),
                ResponseSeverity::Success,
            )
        } else {
            (
                format!("Crew gaps: {}.", short.join(", ")),
                ResponseSeverity::Warning,
            )
        };
        let mut r = answer(content, ResponseType::Action, severity, routing);
        r.actions = vec![action(
            "Assign crew",
            &format!("/events/{}/staffing", event.id),
            true,
        )];
        return Ok(r);
    }
    let draft = analysis
        .run_of_show
        .ok_or_else(|| SkillError("no run of show".into()))?;
    let mut r = answer(
        format!(
            "Run of show drafted: {} blocks from {} to {} ({} min).",
            draft.blocks.len(),
            draft.starts_at,
            draft.ends_at,
            draft.total_minutes
        ),
        ResponseType::Action,
        ResponseSeverity::Info,
        routing,
    );
    r.actions = vec![action(
        "Review run of show",
        &format!("/events/{}/run-of-show", event.id),
        true,
    )];
    Ok(r)
}

fn media_skill(routing: &Routing, request: &ChatRequest) -> Result<ChatResponse, SkillError> {
    let assets = request
        .user_context
        .gallery_assets
        .clone()
        .unwrap_or_default();
    let shots = request.user_context.shot_list.clone().unwrap_or_default();
    let analysis_type = match routing.skill {
        Skill::MediaMissing => MediaAnalysisType::Missing,
        Skill::MediaSelects => MediaAnalysisType::Selects,
        _ => MediaAnalysisType::Quality,
    };
    if analysis_type == MediaAnalysisType::Missing && shots.is_empty() {
        return missing_input("shot list", "media", routing);
    }
    if analysis_type != MediaAnalysisType::Missing && assets.is_empty() {
        return missing_input("gallery", "media", routing);
    }
    let input = MediaRequest {
        assets,
        shot_list: shots,
        analysis_type,
        select_count: Some(6),
        gallery_id: None,
    };
    input
        .validate()
        .map_err(|e| SkillError(format!("the gallery is invalid: {e}")))?;
    let analysis = media::analyze(&input);
    if let Some(missing) = analysis.missing_shots {
        let coverage = analysis
            .shot_coverage
            .map(|c| c.coverage_percent)
            .unwrap_or(100.0);
        let content = match missing.first() {
            None => format!("Every shot on the list is covered ({coverage}%)."),
            Some(first) => format!(
                "{} shot(s) missing, coverage {coverage}%. First: {}",
                missing.len(),
                first.reason
            ),
        };
        let severity = if missing.is_empty() {
            ResponseSeverity::Success
        } else {
            ResponseSeverity::Warning
        };
        let mut r = answer(content, ResponseType::Action, severity, routing);
        r.actions = vec![action("Open shot list", "/media/shot-list", true)];
        return Ok(r);
    }
    if let Some(selects) = analysis.selects {
        let ids: Vec<&str> = selects.iter().map(|a| a.id.as_str()).collect();
        let mut r = answer(
            format!("My {} selects, best first: {}.", ids.len(), ids.join(", ")),
            ResponseType::Action,
            ResponseSeverity::Info,
            routing,
        );
        r.actions = vec![action("Review selects", "/media/selects", true)];
        return Ok(r);
    }
    let scores = analysis
        .quality_scores
        .ok_or_else(|| SkillError("no quality scores".into()))?;
    let average = scores.iter().map(|s| s.score).sum::<f64>() / scores.len().max(1) as f64;
    let best = scores
        .first()
        .map(|s| format!("{} ({})", s.asset_id, s.score))
        .unwrap_or_default();
    let mut r = answer(
        format!(
            "{} frames scored, average {:.1}; best {best}.",
            scores.len(),
            average
        ),
        ResponseType::Text,
        if average >= 70.0 {
            ResponseSeverity::Success
        } else {
            ResponseSeverity::Info
        },
        routing,
    );
    r.actions = vec![action("Open gallery", "/media/gallery", true)];
    Ok(r)
}

/// The answer when a skill fails: apologetic, with a way forward.
pub fn fallback(routing: &Routing, reason: &str) -> ChatResponse {
    let mut r = answer(
        format!("I couldn't finish that ({reason}). Here is what you can try instead."),
        ResponseType::Text,
        ResponseSeverity::Warning,
        routing,
    );
    r.follow_up = suggestions(routing.topic);
    r
}

/// The answer when a skill ran past its time budget.
pub fn too_slow(routing: &Routing) -> ChatResponse {
    let mut r = answer(
        "Taking longer than expected, please try again".into(),
        ResponseType::Text,
        ResponseSeverity::Warning,
        routing,
    );
    r.follow_up = suggestions(routing.topic);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(message: &str, kit: &str) -> ChatRequest {
        ChatRequest {
            message: message.into(),
            current_kit: kit.into(),
            current_route: "/".into(),
            session_id: "6f1d1c2e-8a4b-4c59-9e2f-1a2b3c4d5e6f".into(),
            conversation_history: vec![],
            user_context: UserContext::default(),
        }
    }

    /// 36 messages, each with the intent and skill a person would expect.
    const EXAMPLES: &[(&str, &str, Intent, Skill)] = &[
        ("help", "logistics", Intent::Help, Skill::Help),
        ("What can you do?", "events", Intent::Help, Skill::Help),
        (
            "how do I plan a shoot with you",
            "media",
            Intent::Help,
            Skill::Help,
        ),
        ("Explain the commands", "general", Intent::Help, Skill::Help),
        (
            "go to the sample tracker",
            "events",
            Intent::Navigation,
            Skill::Navigate,
        ),
        (
            "take me to the gallery",
            "logistics",
            Intent::Navigation,
            Skill::Navigate,
        ),
        (
            "open the event tasks",
            "media",
            Intent::Navigation,
            Skill::Navigate,
        ),
        (
            "switch to media",
            "logistics",
            Intent::Navigation,
            Skill::Navigate,
        ),
        (
            "where is the run of show page",
            "events",
            Intent::Navigation,
            Skill::Navigate,
        ),
        (
            "navigate to my notification settings",
            "general",
            Intent::Navigation,
            Skill::Navigate,
        ),
        (
            "How ready are we for the shoot?",
            "logistics",
            Intent::Question,
            Skill::LogisticsReadiness,
        ),
        (
            "what is the readiness of our samples",
            "events",
            Intent::Question,
            Skill::LogisticsReadiness,
        ),
        (
            "Which samples are late?",
            "logistics",
            Intent::Question,
            Skill::LogisticsBlockers,
        ),
        (
            "are any hero pieces blocked",
            "logistics",
            Intent::Question,
            Skill::LogisticsBlockers,
        ),
        (
            "why is the courier delayed?",
            "media",
            Intent::Question,
            Skill::LogisticsBlockers,
        ),
        (
            "batch the samples by category",
            "logistics",
            Intent::Action,
            Skill::LogisticsBatching,
        ),
        (
            "plan the shooting order for the garments",
            "logistics",
            Intent::Action,
            Skill::LogisticsBatching,
        ),
        (
            "group the wardrobe so we shoot faster",
            "events",
            Intent::Action,
            Skill::LogisticsBatching,
        ),
        (
            "Are we on track for the show?",
            "events",
            Intent::Question,
            Skill::EventsCriticalPath,
        ),
        (
            "what is the critical path",
            "logistics",
            Intent::Question,
            Skill::EventsCriticalPath,
        ),
        (
            "which tasks are blocking the runway show",
            "events",
            Intent::Question,
            Skill::EventsCriticalPath,
        ),
        (
            "Where are we short on crew?",
            "events",
            Intent::Question,
            Skill::EventsStaffing,
        ),
        (
            "how many dressers do we need backstage",
            "events",
            Intent::Question,
            Skill::EventsStaffing,
        ),
        (
            "assign staff for the teardown",
            "events",
            Intent::Action,
            Skill::EventsStaffing,
        ),
        (
            "draft the run of show",
            "events",
            Intent::Action,
            Skill::EventsRunOfShow,
        ),
        (
            "generate a timeline for the event",
            "media",
            Intent::Action,
            Skill::EventsRunOfShow,
        ),
        (
            "what is the schedule for setup and teardown?",
            "events",
            Intent::Question,
            Skill::EventsRunOfShow,
        ),
        (
            "score the gallery",
            "media",
            Intent::Action,
            Skill::MediaQuality,
        ),
        (
            "how good is the quality of these photos",
            "media",
            Intent::Question,
            Skill::MediaQuality,
        ),
        (
            "rate the images from today",
            "logistics",
            Intent::Action,
            Skill::MediaQuality,
        ),
        (
            "what shots are still missing?",
            "media",
            Intent::Question,
            Skill::MediaMissing,
        ),
        (
            "find gaps in the shot list coverage",
            "media",
            Intent::Action,
            Skill::MediaMissing,
        ),
        (
            "pick the best frames",
            "media",
            Intent::Action,
            Skill::MediaSelects,
        ),
        (
            "which photos should be our selects?",
            "events",
            Intent::Question,
            Skill::MediaSelects,
        ),
        (
            "choose the top pictures for the client",
            "media",
            Intent::Action,
            Skill::MediaSelects,
        ),
        (
            "what's the weather like",
            "general",
            Intent::Question,
            Skill::General,
        ),
    ];

    #[test]
    fn example_messages_route_to_the_expected_intent_and_skill() {
        let mut failures = Vec::new();
        for (message, kit, intent, skill) in EXAMPLES {
            let routing = route(&request(message, kit));
            if routing.detection.intent != *intent || routing.skill != *skill {
                failures.push(format!(
                    "{message:?} in {kit}: got {:?}/{:?} ({:?}), want {intent:?}/{skill:?}",
                    routing.detection.intent, routing.skill, routing.detection.matched
                ));
            }
        }
        assert!(EXAMPLES.len() >= 30);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn detection_explains_itself() {
        let d = detect_intent("Which samples are late?");
        assert_eq!(d.intent, Intent::Question);
        assert!(d.matched.contains(&"question:which".to_string()));
        assert!(d.matched.contains(&"question:question-mark".to_string()));
        assert!(d.confidence > 0.5);
    }

    #[test]
    fn follow_up_without_a_topic_uses_the_conversation() {
        let mut r = request("and which ones are late?", "general");
        r.conversation_history = vec![HistoryMessage {
            role: "user".into(),
            content: "How ready are our samples?".into(),
            skill: None,
            timestamp: None,
        }];
        assert_eq!(route(&r).skill, Skill::LogisticsBlockers);
    }

    #[test]
    fn empty_or_wordless_messages_get_suggestions() {
        for bad in ["", "   ", "?!?"] {
            let invalid = validate_message(bad, "events").expect_err("invalid");
            assert!(
                invalid.message.starts_with("I couldn't read that"),
                "{}",
                invalid.message
            );
            assert_eq!(invalid.suggestions.len(), 3);
        }
        assert!(validate_message(&"a".repeat(MAX_MESSAGE_CHARS + 1), "events").is_err());
    }

    #[test]
    fn readiness_skill_answers_from_the_logistics_code() {
        let mut r = request("how ready are we?", "logistics");
        r.user_context.sample_list = Some(
            serde_json::from_value(serde_json::json!([
                {"id": "a", "name": "Coat", "category": "outerwear", "status": "on_set"},
                {"id": "b", "name": "Boots", "category": "shoes", "status": "requested"}
            ]))
            .expect("samples"),
        );
        let routing = route(&r);
        let answer = run_skill(&routing, &r, &Preferences::default(), 0).expect("answers");
        assert_eq!(
            answer.content,
            "Readiness is 50%: 1 of 2 samples are on set or shot (0 hero pieces ready of 0)."
        );
        assert_eq!(answer.severity, Some(ResponseSeverity::Info));
        assert_eq!(answer.actions[0].target, "/logistics/blockers");
    }

    #[test]
    fn favourite_actions_come_first() {
        let mut r = request("how ready are we?", "logistics");
        r.user_context.sample_list = Some(
            serde_json::from_value(serde_json::json!([
                {"id": "a", "name": "Coat", "category": "outerwear", "status": "on_set"}
            ]))
            .expect("samples"),
        );
        let preferences = Preferences {
            favorite_actions: vec!["/logistics/batching".into()],
            ..Preferences::default()
        };
        let answer = run_skill(&route(&r), &r, &preferences, 0).expect("answers");
        assert_eq!(answer.actions[0].target, "/logistics/batching");
        assert_eq!(answer.actions[0].primary, Some(true));
        assert_eq!(answer.actions[1].primary, None);
    }

    #[test]
    fn help_lists_kits_in_the_users_order() {
        let preferences = Preferences {
            kit_order: vec!["media".into(), "logistics".into()],
            ..Preferences::default()
        };
        let r = request("help", "logistics");
        let answer = run_skill(&route(&r), &r, &preferences, 0).expect("answers");
        let targets: Vec<&str> = answer.actions.iter().map(|a| a.target.as_str()).collect();
        assert_eq!(targets, ["/media", "/logistics", "/events"]);
    }

    #[test]
    fn skill_without_its_data_asks_for_it() {
        let r = request("are we on track for the show?", "events");
        let answer = run_skill(&route(&r), &r, &Preferences::default(), 0).expect("answers");
        assert!(
            answer.content.starts_with("I need your event"),
            "{}",
            answer.content
        );
    }
}
