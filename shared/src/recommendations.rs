//! Pure domain logic of the `recommendations` edge function.
//!
//! A signed-in user (producer, stylist, photographer, brand manager…) asks
//! the assistant what to do or use next. Three kinds of recommendation:
//!
//! * **packages** — production packages (from the caller-supplied catalogue,
//!   or [`builtin_catalogue`]) scored on event fit, budget, timeline and
//!   popularity (see [`recommend_packages`]);
//! * **next actions** — the tasks to start, continue or unblock, from their
//!   completion status and the critical path (see [`recommend_next_actions`]);
//! * **features** — assistant features worth trying, from the user's role,
//!   their own usage and their peers' usage (see [`recommend_features`]).
//!
//! Every list holds at most [`MAX_RECOMMENDATIONS`] items, best first, each
//! with a 0–100 score (one decimal) and a rationale naming the signals used.
//! An empty list (never an error) means there is nothing to recommend.
//!
//! Everything here is pure: the caller loads the user's preferences and
//! analytics into [`Signals`] and supplies "today" as days since the Unix
//! epoch.

use crate::cache::{InsightFamily, InsightRequest, InsightSlot};
use crate::calendar::{days_from_iso_date, iso_date_from_days};
use crate::validation::{Validate, ValidationError, check_text};
use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Maximum number of recommendations returned.
pub const MAX_RECOMMENDATIONS: usize = 5;

/// Maximum number of tasks accepted in `context.tasks`.
pub const MAX_TASKS: usize = 500;

/// Maximum number of packages accepted in `context.packages`.
pub const MAX_PACKAGES: usize = 200;

/// Maximum number of entries in a package's `eventTypes` or `includes`.
pub const MAX_PACKAGE_LIST_ITEMS: usize = 50;

/// Longest duration accepted as a `timeline` (about ten years).
pub const MAX_TIMELINE_DAYS: u32 = 3650;

/// Factor (0–1) used for a signal the user did not give (no budget, no timeline…).
pub const NEUTRAL_FACTOR: f64 = 0.5;

/// Package points for event fit (factor 1 = made for the event type).
pub const PACKAGE_FIT_POINTS: f64 = 35.0;

/// Package points for budget (factor 1 = within budget).
pub const PACKAGE_BUDGET_POINTS: f64 = 25.0;

/// Package points for timeline (factor 1 = lead time fits).
pub const PACKAGE_TIMELINE_POINTS: f64 = 25.0;

/// Package points for popularity (factor = share of similar teams that booked it).
pub const PACKAGE_POPULARITY_POINTS: f64 = 15.0;

/// Event fit factor of a package that lists no event types (it serves any event).
pub const GENERIC_PACKAGE_FIT: f64 = 0.6;

/// Over budget, the budget factor falls linearly from 1 to 0 at this share over (0.5 = 50% over).
pub const BUDGET_TOLERANCE: f64 = 0.5;

/// Points of any recommended task action.
pub const ACTION_BASE_POINTS: f64 = 10.0;

/// Points of a task on the critical path (critical itself, or critical work waits on it).
///
/// Larger than every other task signal together, so critical work always comes first.
pub const CRITICAL_PATH_POINTS: f64 = 45.0;

/// Points per task (transitively) waiting on the task, up to [`MAX_COUNTED_UNBLOCKS`].
pub const UNBLOCK_POINTS_PER_TASK: f64 = 5.0;

/// Waiting tasks counted towards the score (more are still listed).
pub const MAX_COUNTED_UNBLOCKS: u32 = 6;

/// Points of a task due today or overdue; falls linearly to 0 at [`URGENCY_WINDOW_DAYS`].
///
/// Smaller than one unblocked task, so the due date only orders tasks that
/// unblock as much work.
pub const URGENCY_MAX_POINTS: f64 = 4.0;

/// Days before its due date from which a task starts earning urgency points.
pub const URGENCY_WINDOW_DAYS: i64 = 14;

/// Points of a task already in progress (finish what is started).
pub const IN_PROGRESS_POINTS: f64 = 2.0;

/// Points of an action matching one of the user's favourite actions.
pub const FAVOURITE_ACTION_POINTS: f64 = 3.0;

/// Feature points for role fit (neutral when the role is unknown).
pub const FEATURE_ROLE_POINTS: f64 = 35.0;

/// Feature points for novelty: full when the user never used it.
pub const FEATURE_NOVELTY_POINTS: f64 = 30.0;

/// Feature points for peer usage: share of users with the same role using it.
pub const FEATURE_PEER_POINTS: f64 = 25.0;

/// Feature points for kit preference: full for the user's first kit.
pub const FEATURE_KIT_POINTS: f64 = 10.0;

/// Uses after which a feature earns no novelty points (linear from 0 uses).
pub const FAMILIAR_AFTER_USES: u64 = 10;

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

/// What kind of recommendation the caller wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationType {
    /// Production packages to book.
    Packages,
    /// Tasks to start, continue or unblock.
    NextActions,
    /// Assistant features to try.
    Features,
}

impl RecommendationType {
    /// Every recommendation type.
    pub const ALL: [RecommendationType; 3] = [
        RecommendationType::Packages,
        RecommendationType::NextActions,
        RecommendationType::Features,
    ];

    /// The snake_case wire name (`"packages"`, `"next_actions"`, `"features"`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecommendationType::Packages => "packages",
            RecommendationType::NextActions => "next_actions",
            RecommendationType::Features => "features",
        }
    }
}

/// The user's job on the production team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// Runs the production: budget, schedule, crew, venue.
    Producer,
    /// Pulls samples and styles the looks.
    Stylist,
    /// Shoots the images.
    Photographer,
    /// Represents the brand: approvals, campaign goals.
    BrandManager,
    /// Books and manages models.
    ModelAgent,
    /// Workspace administrator.
    Admin,
}

impl UserRole {
    /// Every role.
    pub const ALL: [UserRole; 6] = [
        UserRole::Producer,
        UserRole::Stylist,
        UserRole::Photographer,
        UserRole::BrandManager,
        UserRole::ModelAgent,
        UserRole::Admin,
    ];

    /// The snake_case wire name (`"brand_manager"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Producer => "producer",
            UserRole::Stylist => "stylist",
            UserRole::Photographer => "photographer",
            UserRole::BrandManager => "brand_manager",
            UserRole::ModelAgent => "model_agent",
            UserRole::Admin => "admin",
        }
    }

    /// The plural human name used in rationales (`"brand managers"`, …).
    pub fn plural(self) -> &'static str {
        match self {
            UserRole::Producer => "producers",
            UserRole::Stylist => "stylists",
            UserRole::Photographer => "photographers",
            UserRole::BrandManager => "brand managers",
            UserRole::ModelAgent => "model agents",
            UserRole::Admin => "admins",
        }
    }
}

/// Completion status of a task (the events module's, so both analyses agree).
pub use crate::events::TaskStatus;

/// One task of the user's event or shoot plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContextTask {
    /// Unique id of the task within the list.
    pub id: String,
    /// Human name, e.g. "Sign venue contract".
    pub name: String,
    /// Completion status.
    pub status: TaskStatus,
    /// Ids of the tasks that must be done before this one can start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Marked critical by the team (the show or shoot cannot happen without it).
    #[serde(default)]
    pub critical: bool,
    /// Date (`YYYY-MM-DD`) by which the task must be done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
}

/// A bookable production package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Package {
    /// Unique id of the package.
    pub id: String,
    /// Human name, e.g. "Lookbook Essentials".
    pub name: String,
    /// Event types it is made for (`"runway"`, `"lookbook"`…); empty = any event type.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Price, in the workspace currency.
    pub price: f64,
    /// Days needed between booking and delivery.
    pub lead_time_days: u32,
    /// What the package includes (crew, studio, deliverables…).
    #[serde(default)]
    pub includes: Vec<String>,
    /// Share (0–1) of similar teams that booked it.
    pub popularity: f64,
}

/// What the assistant knows about the user's situation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecommendationContext {
    /// Page the user is on (e.g. `"/events/ev-1"`); used by the caller as cache context, not scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_page: Option<String>,
    /// The user's role; unknown roles are rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_role: Option<UserRole>,
    /// Budget for the production, at least 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
    /// A `YYYY-MM-DD` deadline or a duration such as `"14d"` / `"3w"` (see [`Timeline`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<String>,
    /// Event type such as `"runway"`, `"lookbook"`, `"campaign"`, `"ecommerce"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// The plan's tasks (at most [`MAX_TASKS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<ContextTask>,
    /// Package catalogue (at most [`MAX_PACKAGES`]); [`builtin_catalogue`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<Vec<Package>>,
}

/// Request body of the `recommendations` function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecommendationsRequest {
    /// The user asking (the caller checks it against the token).
    pub user_id: String,
    /// Which kind of recommendation.
    pub recommendation_type: RecommendationType,
    /// The user's situation; an empty context when absent.
    #[serde(default)]
    pub context: RecommendationContext,
}

/// What the caller loaded about the user (`user_preferences`, `analytics_events`).
///
/// [`Signals::default`] when the user has none. Keys are matched loosely:
/// case, spaces, dashes and underscores do not matter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Signals {
    /// Action ids or task names the user marked as favourites.
    pub favorite_actions: Vec<String>,
    /// Kits in the user's preferred order (`"logistics"`, `"media-kit"`…).
    pub kit_order: Vec<String>,
    /// Feature id → number of this user's analytics events using it.
    pub feature_usage: BTreeMap<String, u64>,
    /// Feature id → share (0–1) of users with the same role using it.
    pub role_usage: BTreeMap<String, f64>,
}

/// A parsed `timeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeline {
    /// A deadline, as days since 1970-01-01.
    Deadline(i64),
    /// A duration from today, in days.
    Within(u32),
}

impl Timeline {
    /// Parses a strict `YYYY-MM-DD` deadline, or a duration: a number of at
    /// most 5 digits followed by `d`/`day`/`days` or `w`/`wk`/`week`/`weeks`
    /// (case-insensitive, optional space), at most [`MAX_TIMELINE_DAYS`] days.
    pub fn parse(text: &str) -> Option<Timeline> {
        let text = text.trim();
        if let Some(days) = days_from_iso_date(text) {
            return Some(Timeline::Deadline(days));
        }
        let digits = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        if digits == 0 || digits > 5 {
            return None;
        }
        let count: u32 = text.get(..digits)?.parse().ok()?;
        let unit = text.get(digits..)?.trim_start().to_ascii_lowercase();
        let per_unit = match unit.as_str() {
            "d" | "day" | "days" => 1,
            "w" | "wk" | "week" | "weeks" => 7,
            _ => return None,
        };
        let days = count.checked_mul(per_unit)?;
        (days <= MAX_TIMELINE_DAYS).then_some(Timeline::Within(days))
    }

    /// Days left from `today_days` (negative when a deadline has passed).
    pub fn days_available(self, today_days: i64) -> i64 {
        match self {
            Timeline::Deadline(days) => days.saturating_sub(today_days),
            Timeline::Within(days) => i64::from(days),
        }
    }
}

impl InsightRequest for RecommendationsRequest {
    const FAMILY: InsightFamily = InsightFamily::Recommendations;

    fn slot(&self) -> InsightSlot {
        InsightSlot::new(self.recommendation_type.as_str(), None)
    }
}

impl Validate for RecommendationsRequest {
    /// Checks the request strictly; the first problem found is reported with its field path.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] for a blank `userId` or any problem of [`RecommendationContext::validate`].
    fn validate(&self) -> Result<(), ValidationError> {
        check_text(|| "userId".to_owned(), &self.user_id)?;
        self.context.validate()
    }
}

impl RecommendationContext {
    /// Checks the context strictly; field paths start with `context.`.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] for blank or overlong text, a negative or
    /// non-finite budget, an unparsable timeline or due date, too many tasks or
    /// packages, a duplicate id, an unknown or cyclic dependency, or a package
    /// price / popularity out of range.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(page) = &self.current_page {
            check_text(|| "context.currentPage".to_owned(), page)?;
        }
        if let Some(budget) = self.budget
            && !(budget.is_finite() && budget >= 0.0)
        {
            return Err(ValidationError(
                "context.budget: must be a finite number of at least 0".to_owned(),
            ));
        }
        if let Some(timeline) = &self.timeline {
            check_text(|| "context.timeline".to_owned(), timeline)?;
            if Timeline::parse(timeline).is_none() {
                return Err(ValidationError(format!(
                    "context.timeline: {timeline:?} is neither a YYYY-MM-DD date nor a duration \
                     of at most {MAX_TIMELINE_DAYS} days such as \"14d\" or \"3w\""
                )));
            }
        }
        if let Some(event_type) = &self.event_type {
            check_text(|| "context.eventType".to_owned(), event_type)?;
        }
        validate_tasks(&self.tasks)?;
        if let Some(packages) = &self.packages {
            validate_packages(packages)?;
        }
        Ok(())
    }
}

fn validate_tasks(tasks: &[ContextTask]) -> Result<(), ValidationError> {
    let count = tasks.len();
    if count > MAX_TASKS {
        return Err(ValidationError(format!(
            "context.tasks has {count} tasks; at most {MAX_TASKS} are accepted"
        )));
    }
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(count);
    for (i, task) in tasks.iter().enumerate() {
        let field = |name: &str| format!("context.tasks[{i}].{name}");
        check_text(|| field("id"), &task.id)?;
        if seen.insert(task.id.as_str(), i).is_some() {
            return Err(ValidationError(format!(
                "{}: duplicate id {:?}",
                field("id"),
                task.id
            )));
        }
        check_text(|| field("name"), &task.name)?;
        if let Some(due) = &task.due_date
            && days_from_iso_date(due).is_none()
        {
            return Err(ValidationError(format!(
                "{}: {:?} is not a valid YYYY-MM-DD date",
                field("dueDate"),
                due
            )));
        }
        let deps = task.depends_on.len();
        if deps > MAX_TASKS {
            return Err(ValidationError(format!(
                "{} has {deps} ids; at most {MAX_TASKS} are accepted",
                field("dependsOn")
            )));
        }
    }
    // Dependencies may name later tasks: check them once every id is known.
    for (i, task) in tasks.iter().enumerate() {
        for (k, dep) in task.depends_on.iter().enumerate() {
            let field = || format!("context.tasks[{i}].dependsOn[{k}]");
            check_text(field, dep)?;
            if !seen.contains_key(dep.as_str()) {
                return Err(ValidationError(format!(
                    "{}: unknown task id {dep:?}",
                    field()
                )));
            }
        }
    }
    if let Some(i) = TaskGraph::build(tasks).cycle_member() {
        let id = tasks.get(i).map_or("", |t| t.id.as_str());
        return Err(ValidationError(format!(
            "context.tasks[{i}].dependsOn: dependency cycle through {id:?}"
        )));
    }
    Ok(())
}

fn validate_packages(packages: &[Package]) -> Result<(), ValidationError> {
    let count = packages.len();
    if count > MAX_PACKAGES {
        return Err(ValidationError(format!(
            "context.packages has {count} packages; at most {MAX_PACKAGES} are accepted"
        )));
    }
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(count);
    for (i, package) in packages.iter().enumerate() {
        let field = |name: &str| format!("context.packages[{i}].{name}");
        check_text(|| field("id"), &package.id)?;
        if seen.insert(package.id.as_str(), i).is_some() {
            return Err(ValidationError(format!(
                "{}: duplicate id {:?}",
                field("id"),
                package.id
            )));
        }
        check_text(|| field("name"), &package.name)?;
        if !(package.price.is_finite() && package.price >= 0.0) {
            return Err(ValidationError(format!(
                "{}: must be a finite number of at least 0",
                field("price")
            )));
        }
        if !(0.0..=1.0).contains(&package.popularity) {
            return Err(ValidationError(format!(
                "{}: must be between 0 and 1",
                field("popularity")
            )));
        }
        for (name, list) in [
            ("eventTypes", &package.event_types),
            ("includes", &package.includes),
        ] {
            let items = list.len();
            if items > MAX_PACKAGE_LIST_ITEMS {
                return Err(ValidationError(format!(
                    "{} has {items} items; at most {MAX_PACKAGE_LIST_ITEMS} are accepted",
                    field(name)
                )));
            }
            for (k, item) in list.iter().enumerate() {
                check_text(|| format!("{}[{k}]", field(name)), item)?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/// One recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    /// The recommended object: a [`Package`], a [`NextAction`] or a [`Feature`], as JSON.
    pub item: Value,
    /// 0–100, rounded to one decimal; higher is better.
    pub score: f64,
    /// Human sentence naming the signals behind the score.
    pub rationale: String,
    /// A deep link (`"/events/tasks/t-3"`) or action id (`"open:media-kit/scoring"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

/// Response body of the `recommendations` function.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommendationsAnswer {
    /// At most [`MAX_RECOMMENDATIONS`], best first; empty when nothing applies.
    pub recommendations: Vec<Recommendation>,
}

/// What to do with a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextActionKind {
    /// A `todo` task whose dependencies are all done.
    Start,
    /// An `in_progress` task whose dependencies are all done.
    Continue,
    /// A `blocked` task on the critical path: remove what blocks it.
    Unblock,
}

/// The item of a next-action recommendation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NextAction {
    /// Start, continue or unblock.
    pub kind: NextActionKind,
    /// Id of the task.
    pub task_id: String,
    /// Name of the task.
    pub name: String,
    /// Status of the task.
    pub status: TaskStatus,
    /// Marked critical by the team.
    pub critical: bool,
    /// Critical itself, or a critical task waits on it.
    pub on_critical_path: bool,
    /// Ids of the unfinished tasks waiting on it, directly or transitively, in list order.
    pub unblocks: Vec<String>,
    /// How many of `unblocks` are critical.
    pub critical_tasks_waiting: u32,
    /// Due date of the task, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// Days from today to the due date (negative when overdue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_until_due: Option<i64>,
}

/// An assistant feature (see [`feature_catalogue`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Feature {
    /// Stable id, also the key of [`Signals::feature_usage`] and [`Signals::role_usage`].
    pub id: &'static str,
    /// Human name.
    pub name: &'static str,
    /// The kit it belongs to (`"logistics"`, `"events"`, `"media"`, `"assistant"`).
    pub kit: &'static str,
    /// One sentence on what it does.
    pub description: &'static str,
    /// Roles it serves.
    pub roles: &'static [UserRole],
    /// Action id opening it.
    pub action: &'static str,
}

// ---------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------

/// Computes the recommendations; `today_days` is today as days since 1970-01-01.
///
/// Expects a validated request; unparsable dates are treated as absent.
pub fn recommend(
    request: &RecommendationsRequest,
    signals: &Signals,
    today_days: i64,
) -> RecommendationsAnswer {
    let context = &request.context;
    let recommendations = match request.recommendation_type {
        RecommendationType::Packages => recommend_packages(context, today_days),
        RecommendationType::NextActions => recommend_next_actions(context, signals, today_days),
        RecommendationType::Features => recommend_features(context, signals),
    };
    RecommendationsAnswer { recommendations }
}

// ---------------------------------------------------------------------------
// Packages
// ---------------------------------------------------------------------------

/// The built-in catalogue of production packages, used when the caller supplies none.
pub fn builtin_catalogue() -> Vec<Package> {
    let package = |id: &str,
                   name: &str,
                   event_types: &[&str],
                   price: f64,
                   lead_time_days: u32,
                   includes: &[&str],
                   popularity: f64| Package {
        id: id.to_owned(),
        name: name.to_owned(),
        event_types: event_types.iter().map(|s| (*s).to_owned()).collect(),
        price,
        lead_time_days,
        includes: includes.iter().map(|s| (*s).to_owned()).collect(),
        popularity,
    };
    vec![
        package(
            "pkg-lookbook-essentials",
            "Lookbook Essentials",
            &["lookbook", "ecommerce"],
            4500.0,
            7,
            &[
                "photographer and assistant",
                "studio day",
                "stylist",
                "hair and makeup",
                "20 retouched images",
            ],
            0.58,
        ),
        package(
            "pkg-runway-full-service",
            "Runway Show Full Service",
            &["runway"],
            45000.0,
            42,
            &[
                "venue scouting and booking",
                "model casting",
                "run of show",
                "backstage crew",
                "hair and makeup team",
                "front-of-house and seating",
            ],
            0.34,
        ),
        package(
            "pkg-ecommerce-studio-day",
            "E-commerce Studio Day",
            &["ecommerce"],
            2800.0,
            3,
            &[
                "studio with white cyclorama",
                "photographer",
                "60 packshots",
                "next-day retouching",
            ],
            0.71,
        ),
        package(
            "pkg-campaign-premium",
            "Campaign Premium",
            &["campaign"],
            28000.0,
            30,
            &[
                "creative direction",
                "location scouting",
                "talent casting",
                "photo and video crew",
                "12 months usage rights",
            ],
            0.27,
        ),
        package(
            "pkg-backstage-content-kit",
            "Backstage Content Kit",
            &["runway", "presentation", "campaign"],
            6500.0,
            10,
            &[
                "two content creators",
                "same-day social edits",
                "backstage access plan",
            ],
            0.46,
        ),
        package(
            "pkg-sample-logistics-concierge",
            "Sample Logistics Concierge",
            &[],
            3200.0,
            5,
            &[
                "sample requests to brands and PR",
                "courier booking",
                "tracking and check-in",
                "returns",
            ],
            0.52,
        ),
        package(
            "pkg-showroom-presentation",
            "Showroom Presentation",
            &["presentation"],
            12000.0,
            21,
            &[
                "showroom rental",
                "styling of the rails",
                "lighting",
                "guest list and RSVPs",
            ],
            0.31,
        ),
        package(
            "pkg-model-casting-sprint",
            "Model Casting Sprint",
            &["runway", "campaign", "lookbook"],
            3800.0,
            7,
            &["casting call", "agency shortlists", "fittings schedule"],
            0.39,
        ),
    ]
}

/// The four factors (0–1) of a package score.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PackageFactors {
    fit: f64,
    budget: f64,
    timeline: f64,
    popularity: f64,
}

impl PackageFactors {
    fn score(self) -> f64 {
        round1(
            PACKAGE_FIT_POINTS * self.fit
                + PACKAGE_BUDGET_POINTS * self.budget
                + PACKAGE_TIMELINE_POINTS * self.timeline
                + PACKAGE_POPULARITY_POINTS * self.popularity,
        )
    }
}

/// Ranks packages (the context's catalogue, else [`builtin_catalogue`]).
///
/// `score = 35·fit + 25·budget + 25·timeline + 15·popularity`, one decimal, where
///
/// * fit = 1 when the package lists the event type (compared ignoring case and
///   punctuation), [`GENERIC_PACKAGE_FIT`] when it lists none (any event), 0
///   otherwise, [`NEUTRAL_FACTOR`] without an event type;
/// * budget = 1 when `price <= budget`, else `1 - (price - budget) / (0.5 · budget)`
///   floored at 0 (0 at 50% over), neutral without a budget;
/// * timeline = 1 when the lead time fits the days available, else 0, neutral without a timeline;
/// * popularity = the package's popularity.
///
/// The top [`MAX_RECOMMENDATIONS`] with a score above 0, by score descending then id.
pub fn recommend_packages(context: &RecommendationContext, today_days: i64) -> Vec<Recommendation> {
    let builtin;
    let catalogue: &[Package] = match &context.packages {
        Some(packages) => packages,
        None => {
            builtin = builtin_catalogue();
            &builtin
        }
    };
    let event = context
        .event_type
        .as_deref()
        .map(|e| (e.trim(), compact_key(e)));
    let timeline = context
        .timeline
        .as_deref()
        .and_then(Timeline::parse)
        .map(|t| (t, t.days_available(today_days)));

    let mut scored: Vec<(f64, &Package, PackageFactors)> = catalogue
        .iter()
        .map(|package| {
            let factors = PackageFactors {
                fit: match &event {
                    None => NEUTRAL_FACTOR,
                    Some(_) if package.event_types.is_empty() => GENERIC_PACKAGE_FIT,
                    Some((_, key)) => {
                        let fits = package.event_types.iter().any(|t| compact_key(t) == *key);
                        if fits { 1.0 } else { 0.0 }
                    }
                },
                budget: context
                    .budget
                    .map_or(NEUTRAL_FACTOR, |b| budget_factor(package.price, b)),
                timeline: match timeline {
                    None => NEUTRAL_FACTOR,
                    Some((_, days)) if i64::from(package.lead_time_days) <= days => 1.0,
                    Some(_) => 0.0,
                },
                popularity: unit(package.popularity),
            };
            (factors.score(), package, factors)
        })
        .filter(|(score, _, _)| *score > 0.0)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
    scored.truncate(MAX_RECOMMENDATIONS);

    scored
        .into_iter()
        .map(|(score, package, _)| {
            let clauses = [
                fit_clause(package, event.as_ref().map(|(text, _)| *text)),
                budget_clause(package.price, context.budget),
                timeline_clause(package.lead_time_days, timeline),
                popularity_clause(package.popularity, context.user_role),
            ];
            Recommendation {
                item: serde_json::to_value(package).unwrap_or(Value::Null),
                score,
                rationale: sentence(&clauses),
                action: Some(format!("/packages/{}", package.id)),
            }
        })
        .collect()
}

/// Budget factor: 1 within budget, falling linearly to 0 at [`BUDGET_TOLERANCE`] over.
fn budget_factor(price: f64, budget: f64) -> f64 {
    if price <= budget {
        1.0
    } else if budget <= 0.0 {
        0.0
    } else {
        unit(1.0 - (price - budget) / (BUDGET_TOLERANCE * budget))
    }
}

fn fit_clause(package: &Package, event: Option<&str>) -> String {
    let made_for = package.event_types.join(", ");
    match event {
        None if package.event_types.is_empty() => {
            "no event type given (works for any event type)".to_owned()
        }
        None => format!("no event type given (made for {made_for})"),
        Some(event) if package.event_types.is_empty() => {
            format!("works for any event type, including {event}")
        }
        Some(event) => {
            let key = compact_key(event);
            if package.event_types.iter().any(|t| compact_key(t) == key) {
                format!("matches your {event} event")
            } else {
                format!("not made for {event} (made for {made_for})")
            }
        }
    }
}

fn budget_clause(price: f64, budget: Option<f64>) -> String {
    let cost = amount(price);
    match budget {
        None => format!("no budget given (package costs {cost})"),
        Some(budget) if price <= budget => {
            format!(
                "fits your budget of {} (package costs {cost})",
                amount(budget)
            )
        }
        Some(budget) if budget <= 0.0 => format!("costs {cost} but your budget is 0"),
        Some(budget) => {
            let over = ((price - budget) / budget * 100.0).round();
            format!(
                "costs {cost}, {over}% over your budget of {}",
                amount(budget)
            )
        }
    }
}

fn timeline_clause(lead_time_days: u32, timeline: Option<(Timeline, i64)>) -> String {
    let lead = days_text(i64::from(lead_time_days));
    let Some((timeline, available)) = timeline else {
        return format!("needs {lead} of lead time (no timeline given)");
    };
    let fits = i64::from(lead_time_days) <= available;
    match timeline {
        Timeline::Within(days) if fits => {
            format!("ready in {lead} within your {days}-day timeline")
        }
        Timeline::Within(days) => format!("needs {lead} but your timeline leaves {days}"),
        Timeline::Deadline(deadline) => {
            let date = iso_date_from_days(deadline);
            if fits {
                format!(
                    "ready in {lead}, before your {date} deadline in {}",
                    days_text(available)
                )
            } else if available >= 0 {
                format!(
                    "needs {lead} but your {date} deadline is in {}",
                    days_text(available)
                )
            } else {
                format!("needs {lead} but your {date} deadline has passed")
            }
        }
    }
}

fn popularity_clause(popularity: f64, role: Option<UserRole>) -> String {
    let who = role.map_or("similar teams", UserRole::plural);
    format!("chosen by {}% of {who}", percent(popularity))
}

// ---------------------------------------------------------------------------
// Next actions
// ---------------------------------------------------------------------------

/// The dependency graph of a task list (ids resolved, duplicates dropped).
struct TaskGraph {
    /// Index of each id (first occurrence).
    index: HashMap<String, usize>,
    /// Known dependencies of each task, sorted, without duplicates.
    deps: Vec<Vec<usize>>,
    /// Tasks depending on each task.
    dependents: Vec<Vec<usize>>,
    /// Topological order, dependencies first; tasks on or behind a cycle are missing.
    order: Vec<usize>,
}

impl TaskGraph {
    fn build(tasks: &[ContextTask]) -> TaskGraph {
        let n = tasks.len();
        let mut index: HashMap<String, usize> = HashMap::with_capacity(n);
        for (i, task) in tasks.iter().enumerate() {
            index.entry(task.id.clone()).or_insert(i);
        }
        let mut deps: Vec<Vec<usize>> = Vec::with_capacity(n);
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, task) in tasks.iter().enumerate() {
            let mut mine: Vec<usize> = task
                .depends_on
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect();
            mine.sort_unstable();
            mine.dedup();
            for &d in &mine {
                if let Some(list) = dependents.get_mut(d) {
                    list.push(i);
                }
            }
            deps.push(mine);
        }
        // Kahn's algorithm, in list order for determinism.
        let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
        let mut queue: VecDeque<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = queue.pop_front() {
            order.push(i);
            for &j in &dependents[i] {
                waiting[j] -= 1;
                if waiting[j] == 0 {
                    queue.push_back(j);
                }
            }
        }
        TaskGraph {
            index,
            deps,
            dependents,
            order,
        }
    }

    /// The smallest index of a task on a dependency cycle, if there is one.
    fn cycle_member(&self) -> Option<usize> {
        let n = self.deps.len();
        if self.order.len() == n {
            return None;
        }
        let mut ordered = vec![false; n];
        for &i in &self.order {
            ordered[i] = true;
        }
        // Every task left out has a dependency left out: walking back along
        // those n times is bound to end on a cycle.
        let next = |i: usize| self.deps[i].iter().copied().find(|&d| !ordered[d]);
        let mut on_cycle = (0..n).find(|&i| !ordered[i])?;
        for _ in 0..n {
            on_cycle = next(on_cycle)?;
        }
        let mut smallest = on_cycle;
        let mut current = next(on_cycle)?;
        while current != on_cycle {
            smallest = smallest.min(current);
            current = next(current)?;
        }
        Some(smallest)
    }
}

/// A scored task action before its texts are built.
struct ActionCandidate<'a> {
    task: &'a ContextTask,
    kind: NextActionKind,
    on_critical_path: bool,
    unblocks: Vec<usize>,
    critical_waiting: u32,
    dependencies: usize,
    days_until_due: Option<i64>,
    favourite: Option<&'a str>,
    score: f64,
}

/// Ranks what to do next among the context's tasks.
///
/// Candidates: `todo` / `in_progress` tasks whose dependencies are all done
/// (start / continue), and `blocked` tasks on the critical path (unblock).
/// A task is on the critical path when it is marked critical or a critical
/// unfinished task waits on it; "waits on" is transitive and stops at done tasks.
///
/// `score = 10 + 45·critical_path + 5·min(waiting, 6) + urgency + 2·in_progress + 3·favourite`
/// (flags are 0 or 1; `waiting` counts the unfinished tasks waiting on it), where
/// `urgency = 4 · clamp((14 - days until due) / 14, 0, 1)` (0 without a due date).
/// Ties: earlier due date (none last), then id. The top [`MAX_RECOMMENDATIONS`].
pub fn recommend_next_actions(
    context: &RecommendationContext,
    signals: &Signals,
    today_days: i64,
) -> Vec<Recommendation> {
    let tasks = &context.tasks;
    let n = tasks.len();
    if n == 0 {
        return Vec::new();
    }
    let graph = TaskGraph::build(tasks);
    let is_done = |i: usize| tasks.get(i).is_some_and(|t| t.status == TaskStatus::Done);

    // reach[i] = bit set of the unfinished tasks waiting on i, built in
    // reverse topological order (dependents before their dependencies).
    let words = n.div_ceil(64);
    let mut reach = vec![0u64; n * words];
    for &i in graph.order.iter().rev() {
        for &j in &graph.dependents[i] {
            if is_done(j) {
                continue;
            }
            reach[i * words + j / 64] |= 1 << (j % 64);
            for k in 0..words {
                let inherited = reach[j * words + k];
                reach[i * words + k] |= inherited;
            }
        }
    }
    let mut critical_mask = vec![0u64; words];
    for (i, task) in tasks.iter().enumerate() {
        if task.critical && task.status != TaskStatus::Done {
            critical_mask[i / 64] |= 1 << (i % 64);
        }
    }
    let favourites = favourite_keys(&signals.favorite_actions);

    let mut candidates: Vec<ActionCandidate<'_>> = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        let kind = match task.status {
            TaskStatus::Done => continue,
            TaskStatus::Blocked => NextActionKind::Unblock,
            TaskStatus::Todo | TaskStatus::InProgress => {
                let ready = task
                    .depends_on
                    .iter()
                    .all(|d| graph.index.get(d.as_str()).is_some_and(|&j| is_done(j)));
                if !ready {
                    continue;
                }
                if task.status == TaskStatus::Todo {
                    NextActionKind::Start
                } else {
                    NextActionKind::Continue
                }
            }
        };
        let row = &reach[i * words..(i + 1) * words];
        let critical_waiting: u32 = row
            .iter()
            .zip(&critical_mask)
            .map(|(r, m)| (r & m).count_ones())
            .sum();
        let on_critical_path = task.critical || critical_waiting > 0;
        if kind == NextActionKind::Unblock && !on_critical_path {
            continue;
        }
        let unblocks = bits(row);
        let days_until_due = task
            .due_date
            .as_deref()
            .and_then(days_from_iso_date)
            .map(|due| due.saturating_sub(today_days));
        let link = action_link(kind, &task.id);
        let favourite = [task.id.as_str(), task.name.as_str(), link.as_str()]
            .iter()
            .find_map(|text| favourites.get(&key(text)).copied());

        let counted = u32::try_from(unblocks.len())
            .unwrap_or(u32::MAX)
            .min(MAX_COUNTED_UNBLOCKS);
        let urgency = days_until_due.map_or(0.0, |d| {
            let left = URGENCY_WINDOW_DAYS.saturating_sub(d) as f64;
            URGENCY_MAX_POINTS * unit(left / URGENCY_WINDOW_DAYS as f64)
        });
        let mut score = ACTION_BASE_POINTS + UNBLOCK_POINTS_PER_TASK * f64::from(counted) + urgency;
        if on_critical_path {
            score += CRITICAL_PATH_POINTS;
        }
        if kind == NextActionKind::Continue {
            score += IN_PROGRESS_POINTS;
        }
        if favourite.is_some() {
            score += FAVOURITE_ACTION_POINTS;
        }
        candidates.push(ActionCandidate {
            task,
            kind,
            on_critical_path,
            unblocks,
            critical_waiting,
            dependencies: graph.deps[i].len(),
            days_until_due,
            favourite,
            score: round1(score.min(100.0)),
        });
    }
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| {
                let due = |c: &ActionCandidate<'_>| c.days_until_due.unwrap_or(i64::MAX);
                due(a).cmp(&due(b))
            })
            .then_with(|| a.task.id.cmp(&b.task.id))
    });
    candidates.truncate(MAX_RECOMMENDATIONS);
    candidates
        .into_iter()
        .map(|c| c.into_recommendation(tasks))
        .collect()
}

impl ActionCandidate<'_> {
    fn into_recommendation(self, tasks: &[ContextTask]) -> Recommendation {
        let task = self.task;
        let waiting_names: Vec<&str> = self
            .unblocks
            .iter()
            .filter_map(|&j| tasks.get(j).map(|t| t.name.as_str()))
            .collect();
        let (verb, state) = match self.kind {
            NextActionKind::Start => (
                "Start",
                match self.dependencies {
                    0 => "ready now (no dependencies)".to_owned(),
                    1 => "ready now (its 1 dependency is done)".to_owned(),
                    d => format!("ready now (all {d} dependencies are done)"),
                },
            ),
            NextActionKind::Continue => ("Continue", "already in progress".to_owned()),
            NextActionKind::Unblock => ("Unblock", "blocked".to_owned()),
        };
        let critical = match (task.critical, self.critical_waiting) {
            (false, 0) => "not on the critical path".to_owned(),
            (true, 0) => "on the critical path (marked critical)".to_owned(),
            (true, n) => format!(
                "on the critical path (marked critical, and {} on it)",
                waiting_text(n)
            ),
            (false, n) => format!("on the critical path ({} on it)", waiting_text(n)),
        };
        let mut clauses = vec![
            state,
            critical,
            unblocks_clause(&waiting_names),
            due_clause(self.days_until_due),
        ];
        if let Some(favourite) = self.favourite {
            clauses.push(format!("matches your favourite action \"{favourite}\""));
        }
        let rationale = format!("{verb} \"{}\": {}.", task.name, clauses.join(", "));
        let action = action_link(self.kind, &task.id);
        let item = NextAction {
            kind: self.kind,
            task_id: task.id.clone(),
            name: task.name.clone(),
            status: task.status,
            critical: task.critical,
            on_critical_path: self.on_critical_path,
            unblocks: self
                .unblocks
                .iter()
                .filter_map(|&j| tasks.get(j).map(|t| t.id.clone()))
                .collect(),
            critical_tasks_waiting: self.critical_waiting,
            due_date: task.due_date.clone(),
            days_until_due: self.days_until_due,
        };
        Recommendation {
            item: serde_json::to_value(item).unwrap_or(Value::Null),
            score: self.score,
            rationale,
            action: Some(action),
        }
    }
}

/// `"/events/tasks/<id>"` to start or continue a task, `"unblock:<id>"` to unblock it.
fn action_link(kind: NextActionKind, id: &str) -> String {
    match kind {
        NextActionKind::Start | NextActionKind::Continue => format!("/events/tasks/{id}"),
        NextActionKind::Unblock => format!("unblock:{id}"),
    }
}

/// Favourite actions by [`key`], first spelling kept.
fn favourite_keys(favourites: &[String]) -> HashMap<String, &str> {
    let mut keys = HashMap::with_capacity(favourites.len());
    for favourite in favourites {
        let k = key(favourite);
        if !k.is_empty() {
            keys.entry(k).or_insert(favourite.as_str());
        }
    }
    keys
}

/// Indices of the set bits, ascending.
fn bits(row: &[u64]) -> Vec<usize> {
    let mut out = Vec::new();
    for (w, &word) in row.iter().enumerate() {
        let mut rest = word;
        while rest != 0 {
            out.push(w * 64 + rest.trailing_zeros() as usize);
            rest &= rest - 1;
        }
    }
    out
}

fn waiting_text(n: u32) -> String {
    if n == 1 {
        "1 critical task waits".to_owned()
    } else {
        format!("{n} critical tasks wait")
    }
}

/// `unblocks 3 tasks ("A", "B", "C")`, at most three names then "and N more".
fn unblocks_clause(names: &[&str]) -> String {
    const SHOWN: usize = 3;
    let count = names.len();
    if count == 0 {
        return "unblocks no other task".to_owned();
    }
    let quoted: Vec<String> = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("\"{n}\""))
        .collect();
    let more = if count > SHOWN {
        format!(" and {} more", count - SHOWN)
    } else {
        String::new()
    };
    let noun = if count == 1 { "task" } else { "tasks" };
    format!("unblocks {count} {noun} ({}{more})", quoted.join(", "))
}

fn due_clause(days_until_due: Option<i64>) -> String {
    match days_until_due {
        None => "no due date".to_owned(),
        Some(0) => "due today".to_owned(),
        Some(d) if d > 0 => format!("due in {}", days_text(d)),
        Some(d) => format!("overdue by {}", days_text(d.saturating_neg())),
    }
}

// ---------------------------------------------------------------------------
// Features
// ---------------------------------------------------------------------------

const PRODUCTION: &[UserRole] = &[UserRole::Producer, UserRole::Stylist, UserRole::Admin];

/// The assistant's features, by kit.
pub const FEATURES: [Feature; 11] = [
    Feature {
        id: "logistics_readiness",
        name: "Logistics readiness",
        kit: "logistics",
        description: "See how much of the sample list is on set or already shot, heroes apart.",
        roles: &[
            UserRole::Producer,
            UserRole::Stylist,
            UserRole::BrandManager,
            UserRole::Admin,
        ],
        action: "open:logistics-kit/readiness",
    },
    Feature {
        id: "blocker_alerts",
        name: "Blocker alerts",
        kit: "logistics",
        description: "Get warned about late samples before they stop the shoot.",
        roles: PRODUCTION,
        action: "open:logistics-kit/blockers",
    },
    Feature {
        id: "batching_planner",
        name: "Batching planner",
        kit: "logistics",
        description: "Shoot samples grouped by category to save changeovers.",
        roles: &[
            UserRole::Producer,
            UserRole::Stylist,
            UserRole::Photographer,
        ],
        action: "open:logistics-kit/batching",
    },
    Feature {
        id: "critical_path",
        name: "Critical path",
        kit: "events",
        description: "See which tasks the show date depends on and what to do first.",
        roles: &[UserRole::Producer, UserRole::BrandManager, UserRole::Admin],
        action: "open:events-kit/critical-path",
    },
    Feature {
        id: "staffing_planner",
        name: "Staffing planner",
        kit: "events",
        description: "Plan crew, dressers and models per slot and spot gaps early.",
        roles: &[UserRole::Producer, UserRole::ModelAgent, UserRole::Admin],
        action: "open:events-kit/staffing",
    },
    Feature {
        id: "run_of_show",
        name: "Run of show",
        kit: "events",
        description: "Build the minute-by-minute running order of the show.",
        roles: &[
            UserRole::Producer,
            UserRole::BrandManager,
            UserRole::ModelAgent,
        ],
        action: "open:events-kit/run-of-show",
    },
    Feature {
        id: "casting_board",
        name: "Casting board",
        kit: "events",
        description: "Shortlist models per look and track options and confirmations.",
        roles: &[
            UserRole::Producer,
            UserRole::BrandManager,
            UserRole::ModelAgent,
        ],
        action: "open:events-kit/casting",
    },
    Feature {
        id: "media_scoring",
        name: "Media scoring",
        kit: "media",
        description: "Score images on sharpness, exposure and brand fit.",
        roles: &[
            UserRole::Photographer,
            UserRole::BrandManager,
            UserRole::Admin,
        ],
        action: "open:media-kit/scoring",
    },
    Feature {
        id: "shot_list_coverage",
        name: "Shot list coverage",
        kit: "media",
        description: "Check every look and angle of the shot list is covered.",
        roles: &[
            UserRole::Producer,
            UserRole::Stylist,
            UserRole::Photographer,
        ],
        action: "open:media-kit/coverage",
    },
    Feature {
        id: "selects",
        name: "Selects",
        kit: "media",
        description: "Pick and share the best frames per look for approval.",
        roles: &[
            UserRole::Stylist,
            UserRole::Photographer,
            UserRole::BrandManager,
        ],
        action: "open:media-kit/selects",
    },
    Feature {
        id: "chat_assistant",
        name: "Chat assistant",
        kit: "assistant",
        description: "Ask the assistant anything about your productions.",
        roles: &UserRole::ALL,
        action: "open:assistant",
    },
];

/// The fixed catalogue of assistant features ([`FEATURES`]).
pub fn feature_catalogue() -> &'static [Feature] {
    &FEATURES
}

/// Ranks assistant features for the user.
///
/// Features that do not serve a known role are left out. Then
/// `score = 35·role + 30·novelty + 25·peers + 10·kit`, one decimal, where
///
/// * role = 1 (served), [`NEUTRAL_FACTOR`] without a role;
/// * novelty = `1 - min(own uses, 10) / 10` (suggest what the user does not use yet);
/// * peers = the feature's [`Signals::role_usage`] share (0 when missing), neutral when there is no peer data at all;
/// * kit = `1 - position / kits listed` for the feature's kit in
///   [`Signals::kit_order`] (0 when not listed), neutral when the order is empty.
///
/// The top [`MAX_RECOMMENDATIONS`], by score descending then id.
pub fn recommend_features(
    context: &RecommendationContext,
    signals: &Signals,
) -> Vec<Recommendation> {
    let role = context.user_role;
    let mut usage: HashMap<String, u64> = HashMap::with_capacity(signals.feature_usage.len());
    for (feature, &count) in &signals.feature_usage {
        let total = usage.entry(key(feature)).or_insert(0);
        *total = total.saturating_add(count);
    }
    let mut peers: HashMap<String, f64> = HashMap::with_capacity(signals.role_usage.len());
    for (feature, &share) in &signals.role_usage {
        let best = peers.entry(key(feature)).or_insert(0.0);
        *best = best.max(unit(share));
    }
    let mut kits: Vec<String> = Vec::with_capacity(signals.kit_order.len());
    for kit in &signals.kit_order {
        let k = kit_key(kit);
        if !k.is_empty() && !kits.contains(&k) {
            kits.push(k);
        }
    }

    struct Scored {
        feature: &'static Feature,
        score: f64,
        uses: u64,
        peer_share: Option<f64>,
        kit_position: Option<usize>,
    }
    let mut scored: Vec<Scored> = FEATURES
        .iter()
        .filter(|f| role.is_none_or(|r| f.roles.contains(&r)))
        .map(|feature| {
            let uses = usage.get(feature.id).copied().unwrap_or(0);
            let novelty = 1.0 - uses.min(FAMILIAR_AFTER_USES) as f64 / FAMILIAR_AFTER_USES as f64;
            let peer_share =
                (!peers.is_empty()).then(|| peers.get(feature.id).copied().unwrap_or(0.0));
            let kit_position = kits.iter().position(|k| k == feature.kit);
            let kit = if kits.is_empty() {
                NEUTRAL_FACTOR
            } else {
                kit_position.map_or(0.0, |p| 1.0 - p as f64 / kits.len() as f64)
            };
            let role_fit = if role.is_some() { 1.0 } else { NEUTRAL_FACTOR };
            let score = round1(
                FEATURE_ROLE_POINTS * role_fit
                    + FEATURE_NOVELTY_POINTS * novelty
                    + FEATURE_PEER_POINTS * peer_share.unwrap_or(NEUTRAL_FACTOR)
                    + FEATURE_KIT_POINTS * kit,
            );
            Scored {
                feature,
                score,
                uses,
                peer_share,
                kit_position,
            }
        })
        .collect();
    scored.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.feature.id.cmp(b.feature.id))
    });
    scored.truncate(MAX_RECOMMENDATIONS);

    scored
        .into_iter()
        .map(|s| {
            let feature = s.feature;
            let role_clause = match role {
                Some(r) => format!("built for {}", r.plural()),
                None => "no role given, so role fit is neutral".to_owned(),
            };
            let usage_clause = match s.uses {
                0 => "you have not used it yet".to_owned(),
                n if n >= FAMILIAR_AFTER_USES => format!("you already use it often ({n} times)"),
                1 => "you have used it only once".to_owned(),
                n => format!("you have used it only {n} times"),
            };
            let peers_clause = match s.peer_share {
                None => "no usage data from peers yet".to_owned(),
                Some(share) => format!(
                    "used by {}% of {}",
                    percent(share),
                    role.map_or("your peers", UserRole::plural)
                ),
            };
            let kit_clause = match s.kit_position {
                _ if kits.is_empty() => format!("part of the {} kit", feature.kit),
                Some(p) => format!("part of the {} kit, your #{} kit", feature.kit, p + 1),
                None => format!("part of the {} kit, not in your kit order", feature.kit),
            };
            Recommendation {
                item: serde_json::to_value(feature).unwrap_or(Value::Null),
                score: s.score,
                rationale: sentence(&[role_clause, usage_clause, peers_clause, kit_clause]),
                action: Some(feature.action.to_owned()),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Text and number helpers
// ---------------------------------------------------------------------------

/// Rounds to one decimal.
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Clamps to 0–1, NaN to 0.
fn unit(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

/// A 0–1 share as a whole percentage.
fn percent(share: f64) -> i64 {
    (unit(share) * 100.0).round() as i64
}

/// An amount without decimals when whole, else with up to two.
fn amount(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        let text = format!("{x:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// `"1 day"`, `"5 days"`.
fn days_text(days: i64) -> String {
    if days == 1 {
        "1 day".to_owned()
    } else {
        format!("{days} days")
    }
}

/// Clauses joined by commas, first letter upper-cased, with a final period.
fn sentence(clauses: &[String]) -> String {
    let mut out = clauses.join(", ");
    if let Some(first) = out.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    out.push('.');
    out
}

/// Loose key: lower-case alphanumeric words joined by `_` (`"Book venue"` → `"book_venue"`).
fn key(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// Event-type key: lower-case alphanumerics only (`"E-commerce"` → `"ecommerce"`).
fn compact_key(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Kit key: [`key`] without a trailing `_kit` (`"Media Kit"` → `"media"`).
fn kit_key(text: &str) -> String {
    let k = key(text);
    match k.strip_suffix("_kit") {
        Some(stripped) => stripped.to_owned(),
        None => k,
    }
}

/// The catalogue features an insight type (as recorded in `feature_used`
/// events by the analyzers) stands for.
pub fn features_for_insight(insight_type: &str) -> &'static [&'static str] {
    match insight_type {
        "logistics_readiness" => &["logistics_readiness"],
        "logistics_blockers" => &["blocker_alerts"],
        "logistics_batching" => &["batching_planner"],
        "logistics_all" => &["logistics_readiness", "blocker_alerts", "batching_planner"],
        "event_critical_path" => &["critical_path"],
        "event_staffing" => &["staffing_planner"],
        "event_run_of_show" => &["run_of_show"],
        "event_all" => &["critical_path", "staffing_planner", "run_of_show"],
        "media_quality" => &["media_scoring"],
        "media_missing" => &["shot_list_coverage"],
        "media_selects" => &["selects"],
        "media_all" => &["media_scoring", "shot_list_coverage", "selects"],
        "chat_assistant" => &["chat_assistant"],
        _ => &[],
    }
}

/// Builds the signals from a user's preferences and usage rows
/// `(recorded feature, own uses, share of users who used it)`.
pub fn signals_from(
    preferences: &crate::preferences::Preferences,
    usage: &[(String, u64, f64)],
) -> Signals {
    let mut signals = Signals {
        favorite_actions: preferences.favorite_actions.clone(),
        kit_order: preferences.kit_order.clone(),
        ..Signals::default()
    };
    for (recorded, own, share) in usage {
        for feature in features_for_insight(recorded) {
            *signals
                .feature_usage
                .entry((*feature).to_string())
                .or_default() += own;
            let peer = signals
                .role_usage
                .entry((*feature).to_string())
                .or_default();
            *peer = peer.max(*share);
        }
    }
    signals
}

#[cfg(feature = "guest")]
pub use guest::load_usage;

#[cfg(feature = "guest")]
mod guest {
    use crate::db::{Session, SessionError};

    /// The caller's feature usage: `(recorded feature, own uses, share of users)`.
    pub fn load_usage(session: &Session) -> Result<Vec<(String, u64, f64)>, SessionError> {
        let rows = session.query(
            "SELECT feature, own_count, user_share FROM public.assistant_feature_usage()",
            &[],
        )?;
        Ok(rows
            .rows()
            .filter_map(|row| {
                Some((
                    row.get::<String>("feature")?,
                    u64::try_from(row.get::<i64>("own_count")?).unwrap_or(0),
                    row.get::<f64>("user_share")?,
                ))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 2025-03-10, the "today" of the fixtures.
    const TODAY: i64 = 20_157;

    fn request(kind: RecommendationType, context: RecommendationContext) -> RecommendationsRequest {
        RecommendationsRequest {
            user_id: "user-1".to_owned(),
            recommendation_type: kind,
            context,
        }
    }

    fn package(id: &str, event_types: &[&str], price: f64, lead: u32, popularity: f64) -> Package {
        Package {
            id: id.to_owned(),
            name: format!("Package {id}"),
            event_types: event_types.iter().map(|s| (*s).to_owned()).collect(),
            price,
            lead_time_days: lead,
            includes: vec!["photographer".to_owned()],
            popularity,
        }
    }

    fn task(id: &str, name: &str, status: TaskStatus, deps: &[&str]) -> ContextTask {
        ContextTask {
            id: id.to_owned(),
            name: name.to_owned(),
            status,
            depends_on: deps.iter().map(|s| (*s).to_owned()).collect(),
            critical: false,
            due_date: None,
        }
    }

    fn critical(mut t: ContextTask) -> ContextTask {
        t.critical = true;
        t
    }

    fn due(mut t: ContextTask, date: &str) -> ContextTask {
        t.due_date = Some(date.to_owned());
        t
    }

    /// Budget 10000, 14-day timeline, lookbook, producer. Hand-computed scores
    /// (fit 35 + budget 25 + timeline 25 + popularity 15):
    ///
    /// | id    | made for    | price | lead | pop  | fit  | budget      | time | pop  | score |
    /// |-------|-------------|-------|------|------|------|-------------|------|------|-------|
    /// | pkg-a | lookbook    | 8000  | 10   | 0.6  | 35   | 25          | 25   | 9    | 94.0  |
    /// | pkg-b | lookbook    | 12000 | 21   | 0.8  | 35   | 20% over 15 | 0    | 12   | 62.0  |
    /// | pkg-c | runway      | 5000  | 7    | 0.9  | 0    | 25          | 25   | 13.5 | 63.5  |
    /// | pkg-d | any         | 16000 | 30   | 0.5  | 21   | 60% over 0  | 0    | 7.5  | 28.5  |
    /// | pkg-e | Look-Book   | 11000 | 14   | 0.34 | 35   | 10% over 20 | 25   | 5.1  | 85.1  |
    /// | pkg-f | runway      | 20000 | 60   | 0    | 0    | 0           | 0    | 0    | 0 (dropped) |
    fn package_context() -> RecommendationContext {
        RecommendationContext {
            user_role: Some(UserRole::Producer),
            budget: Some(10_000.0),
            timeline: Some("14d".to_owned()),
            event_type: Some("lookbook".to_owned()),
            packages: Some(vec![
                package("pkg-a", &["lookbook"], 8000.0, 10, 0.6),
                package("pkg-b", &["lookbook"], 12_000.0, 21, 0.8),
                package("pkg-c", &["runway"], 5000.0, 7, 0.9),
                package("pkg-d", &[], 16_000.0, 30, 0.5),
                package("pkg-e", &["Look-Book"], 11_000.0, 14, 0.34),
                package("pkg-f", &["runway"], 20_000.0, 60, 0.0),
            ]),
            ..RecommendationContext::default()
        }
    }

    fn ids_and_scores(recs: &[Recommendation], id_field: &str) -> Vec<(String, f64)> {
        recs.iter()
            .map(|r| {
                let id = r.item[id_field].as_str().unwrap_or_default().to_owned();
                (id, r.score)
            })
            .collect()
    }

    fn owned(pairs: &[(&str, f64)]) -> Vec<(String, f64)> {
        pairs.iter().map(|(id, s)| ((*id).to_owned(), *s)).collect()
    }

    // --- packages ----------------------------------------------------------

    #[test]
    fn package_scores_are_hand_computed_and_ranked() {
        let recs = recommend_packages(&package_context(), TODAY);
        assert_eq!(
            ids_and_scores(&recs, "id"),
            owned(&[
                ("pkg-a", 94.0),
                ("pkg-e", 85.1),
                ("pkg-c", 63.5),
                ("pkg-b", 62.0),
                ("pkg-d", 28.5),
            ])
        );
        assert_eq!(recs[0].action.as_deref(), Some("/packages/pkg-a"));
        assert_eq!(recs[0].item["leadTimeDays"], 10);
    }

    #[test]
    fn package_rationale_names_budget_timeline_fit_and_popularity() {
        let recs = recommend_packages(&package_context(), TODAY);
        let by_id = |id: &str| {
            recs.iter()
                .find(|r| r.item["id"] == id)
                .map(|r| r.rationale.clone())
                .unwrap_or_default()
        };
        assert_eq!(
            by_id("pkg-a"),
            "Matches your lookbook event, fits your budget of 10000 (package costs 8000), \
             ready in 10 days within your 14-day timeline, chosen by 60% of producers."
        );
        assert_eq!(
            by_id("pkg-b"),
            "Matches your lookbook event, costs 12000, 20% over your budget of 10000, \
             needs 21 days but your timeline leaves 14, chosen by 80% of producers."
        );
        assert_eq!(
            by_id("pkg-c"),
            "Not made for lookbook (made for runway), fits your budget of 10000 (package costs 5000), \
             ready in 7 days within your 14-day timeline, chosen by 90% of producers."
        );
        assert_eq!(
            by_id("pkg-d"),
            "Works for any event type, including lookbook, costs 16000, 60% over your budget of 10000, \
             needs 30 days but your timeline leaves 14, chosen by 50% of producers."
        );
    }

    #[test]
    fn unknown_budget_timeline_and_event_are_neutral() {
        let context = RecommendationContext {
            packages: Some(vec![package("pkg-a", &["lookbook"], 8000.5, 10, 0.6)]),
            ..RecommendationContext::default()
        };
        let recs = recommend_packages(&context, TODAY);
        // 35·0.5 + 25·0.5 + 25·0.5 + 15·0.6
        assert_eq!(recs[0].score, 51.5);
        assert_eq!(
            recs[0].rationale,
            "No event type given (made for lookbook), no budget given (package costs 8000.5), \
             needs 10 days of lead time (no timeline given), chosen by 60% of similar teams."
        );
    }

    #[test]
    fn budget_falls_off_linearly_to_zero_at_half_over() {
        assert_eq!(budget_factor(10_000.0, 10_000.0), 1.0);
        assert_eq!(budget_factor(9_500.0, 12_000.0), 1.0);
        assert_eq!(budget_factor(12_500.0, 10_000.0), 0.5);
        assert_eq!(budget_factor(15_000.0, 10_000.0), 0.0);
        assert_eq!(budget_factor(40_000.0, 10_000.0), 0.0);
        assert_eq!(budget_factor(0.0, 0.0), 1.0);
        assert_eq!(budget_factor(1.0, 0.0), 0.0);
    }

    #[test]
    fn deadline_timeline_counts_days_from_today() {
        let mut context = package_context();
        context.timeline = Some("2025-03-24".to_owned());
        let recs = recommend_packages(&context, TODAY);
        assert_eq!(recs[0].score, 94.0);
        assert!(
            recs[0]
                .rationale
                .contains("ready in 10 days, before your 2025-03-24 deadline in 14 days"),
            "{}",
            recs[0].rationale
        );

        context.timeline = Some("2025-03-01".to_owned());
        let recs = recommend_packages(&context, TODAY);
        let a = recs
            .iter()
            .find(|r| r.item["id"] == "pkg-a")
            .expect("pkg-a");
        assert_eq!(a.score, 69.0, "no timeline points once the deadline passed");
        assert!(
            a.rationale
                .contains("needs 10 days but your 2025-03-01 deadline has passed"),
            "{}",
            a.rationale
        );
    }

    #[test]
    fn builtin_catalogue_is_valid_and_top_five_are_sorted() {
        let catalogue = builtin_catalogue();
        assert!((6..=8).contains(&catalogue.len()));
        let context = RecommendationContext {
            packages: Some(catalogue),
            ..RecommendationContext::default()
        };
        assert_eq!(context.validate(), Ok(()));

        let context = RecommendationContext {
            user_role: Some(UserRole::Producer),
            budget: Some(50_000.0),
            timeline: Some("6w".to_owned()),
            event_type: Some("Runway".to_owned()),
            ..RecommendationContext::default()
        };
        let recs = recommend_packages(&context, TODAY);
        assert_eq!(recs.len(), MAX_RECOMMENDATIONS);
        assert!(recs.windows(2).all(|w| w[0].score >= w[1].score));
        // Runway packages within budget and lead time: 35 + 25 + 25 + 15·pop.
        assert_eq!(recs[0].item["id"], "pkg-backstage-content-kit");
        assert_eq!(recs[0].score, 91.9);
        assert_eq!(recs[1].item["id"], "pkg-model-casting-sprint");
        assert_eq!(recs[2].item["id"], "pkg-runway-full-service");
    }

    #[test]
    fn empty_catalogue_recommends_nothing() {
        let context = RecommendationContext {
            packages: Some(vec![]),
            ..RecommendationContext::default()
        };
        assert!(recommend_packages(&context, TODAY).is_empty());
    }

    #[test]
    fn timelines_parse_as_deadlines_or_durations() {
        assert_eq!(Timeline::parse("14d"), Some(Timeline::Within(14)));
        assert_eq!(Timeline::parse("3w"), Some(Timeline::Within(21)));
        assert_eq!(Timeline::parse(" 2 Weeks "), Some(Timeline::Within(14)));
        assert_eq!(Timeline::parse("1 day"), Some(Timeline::Within(1)));
        assert_eq!(Timeline::parse("0d"), Some(Timeline::Within(0)));
        assert_eq!(Timeline::parse("3650d"), Some(Timeline::Within(3650)));
        assert_eq!(
            Timeline::parse("2025-03-24"),
            Some(Timeline::Deadline(TODAY + 14))
        );
        for bad in [
            "",
            "d",
            "14",
            "3651d",
            "600w",
            "14x",
            "-3d",
            "1.5w",
            "2025-02-30",
            "99999999d",
        ] {
            assert_eq!(Timeline::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Timeline::Deadline(TODAY - 2).days_available(TODAY), -2);
        assert_eq!(Timeline::Within(5).days_available(TODAY), 5);
    }

    // --- next actions ------------------------------------------------------

    /// Today 2025-03-10.
    ///
    /// | id   | name              | status      | deps       | critical | due        |
    /// |------|-------------------|-------------|------------|----------|------------|
    /// | t-1  | Confirm venue     | done        |            |          |            |
    /// | t-2  | Book photographer | todo        |            |          | 2025-03-20 |
    /// | t-3  | Sign venue contract | todo      | t-1        | yes      | 2025-03-12 |
    /// | t-4  | Casting call      | todo        | t-3        | yes      |            |
    /// | t-5  | Fittings          | todo        | t-4        |          |            |
    /// | t-6  | Shot list         | todo        | t-2        |          |            |
    /// | t-7  | City permit       | blocked     |            |          |            |
    /// | t-8  | Build runway      | todo        | t-7, t-3   | yes      | 2025-03-15 |
    /// | t-9  | Send invitations  | in_progress |            |          | 2025-03-11 |
    /// | t-10 | Order flowers     | blocked     |            |          |            |
    fn tasks() -> Vec<ContextTask> {
        use TaskStatus::*;
        vec![
            task("t-1", "Confirm venue", Done, &[]),
            due(task("t-2", "Book photographer", Todo, &[]), "2025-03-20"),
            due(
                critical(task("t-3", "Sign venue contract", Todo, &["t-1"])),
                "2025-03-12",
            ),
            critical(task("t-4", "Casting call", Todo, &["t-3"])),
            task("t-5", "Fittings", Todo, &["t-4"]),
            task("t-6", "Shot list", Todo, &["t-2"]),
            task("t-7", "City permit", Blocked, &[]),
            due(
                critical(task("t-8", "Build runway", Todo, &["t-7", "t-3"])),
                "2025-03-15",
            ),
            due(
                task("t-9", "Send invitations", InProgress, &[]),
                "2025-03-11",
            ),
            task("t-10", "Order flowers", Blocked, &[]),
        ]
    }

    fn task_context(tasks: Vec<ContextTask>) -> RecommendationContext {
        RecommendationContext {
            tasks,
            ..RecommendationContext::default()
        }
    }

    #[test]
    fn next_actions_pick_the_ready_critical_task_first_and_name_what_it_unblocks() {
        let recs = recommend_next_actions(&task_context(tasks()), &Signals::default(), TODAY);
        // t-3: 10 + 45 + 3·5 + 4·12/14 = 73.43; t-7: 10 + 45 + 5 = 60;
        // t-2: 10 + 5 + 4·4/14 = 16.14; t-9: 10 + 4·13/14 + 2 = 15.71.
        assert_eq!(
            ids_and_scores(&recs, "taskId"),
            owned(&[("t-3", 73.4), ("t-7", 60.0), ("t-2", 16.1), ("t-9", 15.7)])
        );
        let first = &recs[0];
        assert_eq!(
            first.rationale,
            "Start \"Sign venue contract\": ready now (its 1 dependency is done), on the critical path \
             (marked critical, and 2 critical tasks wait on it), unblocks 3 tasks (\"Casting call\", \
             \"Fittings\", \"Build runway\"), due in 2 days."
        );
        assert_eq!(first.action.as_deref(), Some("/events/tasks/t-3"));
        assert_eq!(first.item["kind"], "start");
        assert_eq!(first.item["unblocks"], json!(["t-4", "t-5", "t-8"]));
        assert_eq!(first.item["criticalTasksWaiting"], 2);
        assert_eq!(first.item["onCriticalPath"], true);
        assert_eq!(first.item["daysUntilDue"], 2);
        assert_eq!(
            recs[3].rationale,
            "Continue \"Send invitations\": already in progress, not on the critical path, \
             unblocks no other task, due in 1 day."
        );
        assert_eq!(recs[3].item["kind"], "continue");
    }

    #[test]
    fn blocked_critical_work_yields_an_unblock_action() {
        let recs = recommend_next_actions(&task_context(tasks()), &Signals::default(), TODAY);
        let unblock = &recs[1];
        assert_eq!(unblock.item["kind"], "unblock");
        assert_eq!(unblock.item["status"], "blocked");
        assert_eq!(unblock.action.as_deref(), Some("unblock:t-7"));
        assert_eq!(
            unblock.rationale,
            "Unblock \"City permit\": blocked, on the critical path (1 critical task waits on it), \
             unblocks 1 task (\"Build runway\"), no due date."
        );
        // A blocked task nothing critical waits on (t-10) is not recommended,
        // nor are tasks still waiting on others (t-4, t-5, t-6, t-8) or done.
        let ids: Vec<&str> = recs
            .iter()
            .filter_map(|r| r.item["taskId"].as_str())
            .collect();
        for absent in ["t-1", "t-4", "t-5", "t-6", "t-8", "t-10"] {
            assert!(!ids.contains(&absent), "{absent} in {ids:?}");
        }
    }

    #[test]
    fn critical_blocked_task_itself_and_overdue_dates_are_explained() {
        use TaskStatus::*;
        let tasks = vec![
            due(
                critical(task("p", "Venue permit", Blocked, &[])),
                "2025-03-07",
            ),
            task("q", "Load-in", Todo, &["p"]),
        ];
        let recs = recommend_next_actions(&task_context(tasks), &Signals::default(), TODAY);
        assert_eq!(recs.len(), 1);
        // 10 + 45 + 5 + 4 (overdue)
        assert_eq!(recs[0].score, 64.0);
        assert_eq!(
            recs[0].rationale,
            "Unblock \"Venue permit\": blocked, on the critical path (marked critical), \
             unblocks 1 task (\"Load-in\"), overdue by 3 days."
        );
    }

    #[test]
    fn favourite_action_boost_changes_order_between_equal_actions() {
        use TaskStatus::*;
        let tasks = vec![
            task("h-1", "Book hair and makeup", Todo, &[]),
            task("h-2", "Book catering", Todo, &[]),
        ];
        let context = task_context(tasks);
        let plain = recommend_next_actions(&context, &Signals::default(), TODAY);
        assert_eq!(
            ids_and_scores(&plain, "taskId"),
            owned(&[("h-1", 10.0), ("h-2", 10.0)])
        );
        for favourite in ["book_catering", "Book Catering", "h-2", "/events/tasks/h-2"] {
            let signals = Signals {
                favorite_actions: vec![favourite.to_owned()],
                ..Signals::default()
            };
            let boosted = recommend_next_actions(&context, &signals, TODAY);
            assert_eq!(
                ids_and_scores(&boosted, "taskId"),
                owned(&[("h-2", 13.0), ("h-1", 10.0)]),
                "{favourite}"
            );
            assert!(
                boosted[0]
                    .rationale
                    .ends_with(&format!("matches your favourite action \"{favourite}\".")),
                "{}",
                boosted[0].rationale
            );
        }
    }

    #[test]
    fn equal_scores_prefer_earlier_due_dates_then_ids() {
        use TaskStatus::*;
        let tasks = vec![
            task("c", "No date", Todo, &[]),
            due(task("b", "Later", Todo, &[]), "2025-06-01"),
            due(task("a", "Sooner", Todo, &[]), "2025-05-01"),
            task("d", "No date either", Todo, &[]),
        ];
        let recs = recommend_next_actions(&task_context(tasks), &Signals::default(), TODAY);
        let ids: Vec<&str> = recs
            .iter()
            .filter_map(|r| r.item["taskId"].as_str())
            .collect();
        assert_eq!(ids, ["a", "b", "c", "d"]);
    }

    #[test]
    fn next_actions_list_at_most_five_and_long_unblock_lists_are_shortened() {
        use TaskStatus::*;
        let mut tasks = vec![critical(task("root", "Root", Todo, &[]))];
        for i in 0..8 {
            tasks.push(task(
                &format!("w-{i}"),
                &format!("Waiting {i}"),
                Todo,
                &["root"],
            ));
        }
        for i in 0..6 {
            tasks.push(task(&format!("free-{i}"), "Free", Todo, &[]));
        }
        let recs = recommend_next_actions(&task_context(tasks), &Signals::default(), TODAY);
        assert_eq!(recs.len(), MAX_RECOMMENDATIONS);
        // 10 + 45 + 5·min(8, 6)
        assert_eq!(recs[0].score, 85.0);
        assert!(
            recs[0].rationale.contains(
                "unblocks 8 tasks (\"Waiting 0\", \"Waiting 1\", \"Waiting 2\" and 5 more)"
            ),
            "{}",
            recs[0].rationale
        );
    }

    #[test]
    fn nothing_to_do_recommends_nothing() {
        use TaskStatus::*;
        let none = recommend_next_actions(&task_context(vec![]), &Signals::default(), TODAY);
        assert!(none.is_empty());
        let finished = task_context(vec![
            task("a", "A", Done, &[]),
            task("b", "B", Blocked, &[]),
        ]);
        assert!(recommend_next_actions(&finished, &Signals::default(), TODAY).is_empty());
    }

    #[test]
    fn full_task_list_is_ranked_quickly() {
        use TaskStatus::*;
        // A chain of 500 critical tasks, the first done: only t-1 is ready and
        // 498 tasks wait on it.
        let tasks: Vec<ContextTask> = (0..MAX_TASKS)
            .map(|i| {
                let id = format!("t-{i}");
                let prev = i.checked_sub(1).map(|p| format!("t-{p}"));
                let status = if i == 0 { Done } else { Todo };
                let mut t = critical(task(&id, &id, status, &[]));
                t.depends_on = prev.into_iter().collect();
                t
            })
            .collect();
        let req = request(RecommendationType::NextActions, task_context(tasks));
        assert_eq!(req.validate(), Ok(()));
        let started = std::time::Instant::now();
        let answer = recommend(&req, &Signals::default(), TODAY);
        assert!(started.elapsed().as_millis() < 2_000);
        assert_eq!(answer.recommendations.len(), 1);
        assert_eq!(answer.recommendations[0].item["criticalTasksWaiting"], 498);
        assert_eq!(answer.recommendations[0].score, 85.0);
    }

    // --- features ----------------------------------------------------------

    fn feature_signals() -> Signals {
        Signals {
            favorite_actions: vec![],
            kit_order: vec!["Media Kit".to_owned(), "logistics".to_owned()],
            feature_usage: BTreeMap::from([
                ("media_scoring".to_owned(), 25),
                ("selects".to_owned(), 3),
            ]),
            role_usage: BTreeMap::from([
                ("shot_list_coverage".to_owned(), 0.8),
                ("media-scoring".to_owned(), 0.9),
                ("selects".to_owned(), 0.1),
                ("batching_planner".to_owned(), 0.5),
            ]),
        }
    }

    #[test]
    fn features_prefer_unused_by_me_and_used_by_peers() {
        let context = RecommendationContext {
            user_role: Some(UserRole::Photographer),
            ..RecommendationContext::default()
        };
        let recs = recommend_features(&context, &feature_signals());
        // role 35 + novelty 30·(1 - uses/10) + peers 25·share + kit 10·(1 - pos/2)
        assert_eq!(
            ids_and_scores(&recs, "id"),
            owned(&[
                ("shot_list_coverage", 95.0), // 35 + 30 + 20 + 10
                ("batching_planner", 82.5),   // 35 + 30 + 12.5 + 5
                ("selects", 68.5),            // 35 + 21 + 2.5 + 10
                ("media_scoring", 67.5),      // 35 + 0 + 22.5 + 10
                ("chat_assistant", 65.0),     // 35 + 30 + 0 + 0
            ])
        );
        assert_eq!(recs[0].action.as_deref(), Some("open:media-kit/coverage"));
        assert_eq!(recs[0].item["kit"], "media");
        assert_eq!(
            recs[0].rationale,
            "Built for photographers, you have not used it yet, used by 80% of photographers, \
             part of the media kit, your #1 kit."
        );
        assert_eq!(
            recs[2].rationale,
            "Built for photographers, you have used it only 3 times, used by 10% of photographers, \
             part of the media kit, your #1 kit."
        );
        assert_eq!(
            recs[3].rationale,
            "Built for photographers, you already use it often (25 times), used by 90% of photographers, \
             part of the media kit, your #1 kit."
        );
        assert_eq!(
            recs[4].rationale,
            "Built for photographers, you have not used it yet, used by 0% of photographers, \
             part of the assistant kit, not in your kit order."
        );
    }

    #[test]
    fn features_are_limited_to_the_users_role() {
        let context = RecommendationContext {
            user_role: Some(UserRole::ModelAgent),
            ..RecommendationContext::default()
        };
        let recs = recommend_features(&context, &Signals::default());
        // 35 + 30 + 25·0.5 + 10·0.5 each, then by id.
        assert_eq!(
            ids_and_scores(&recs, "id"),
            owned(&[
                ("casting_board", 82.5),
                ("chat_assistant", 82.5),
                ("run_of_show", 82.5),
                ("staffing_planner", 82.5),
            ])
        );
        assert_eq!(
            recs[0].rationale,
            "Built for model agents, you have not used it yet, no usage data from peers yet, \
             part of the events kit."
        );
    }

    #[test]
    fn features_without_role_are_neutral_and_capped_at_five() {
        let recs = recommend_features(&RecommendationContext::default(), &Signals::default());
        assert_eq!(recs.len(), MAX_RECOMMENDATIONS);
        assert!(recs.iter().all(|r| r.score == 65.0));
        assert!(
            recs[0]
                .rationale
                .starts_with("No role given, so role fit is neutral")
        );
    }

    #[test]
    fn every_role_has_features_and_catalogue_ids_are_unique() {
        for role in UserRole::ALL {
            assert!(
                FEATURES.iter().filter(|f| f.roles.contains(&role)).count() >= 3,
                "{role:?}"
            );
        }
        let mut ids: Vec<&str> = feature_catalogue().iter().map(|f| f.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), FEATURES.len());
        assert!(FEATURES.iter().all(|f| key(f.id) == f.id));
    }

    // --- entry point -------------------------------------------------------

    #[test]
    fn recommend_dispatches_on_the_type() {
        let mut context = package_context();
        context.tasks = tasks();
        context.user_role = Some(UserRole::Photographer);
        let signals = feature_signals();
        let answer = |kind| recommend(&request(kind, context.clone()), &signals, TODAY);
        assert_eq!(
            answer(RecommendationType::Packages).recommendations[0].item["id"],
            "pkg-a"
        );
        assert_eq!(
            answer(RecommendationType::NextActions).recommendations[0].item["taskId"],
            "t-3"
        );
        assert_eq!(
            answer(RecommendationType::Features).recommendations[0].item["id"],
            "shot_list_coverage"
        );
    }

    // --- validation --------------------------------------------------------

    fn valid_request() -> RecommendationsRequest {
        let mut context = package_context();
        context.tasks = tasks();
        context.current_page = Some("/events/ev-1".to_owned());
        request(RecommendationType::NextActions, context)
    }

    fn message(req: &RecommendationsRequest) -> String {
        req.validate().expect_err("request should be rejected").0
    }

    #[test]
    fn fixture_request_is_valid() {
        assert_eq!(valid_request().validate(), Ok(()));
    }

    #[test]
    fn rejects_blank_user_and_bad_budget_or_timeline() {
        let mut req = valid_request();
        req.user_id = " ".to_owned();
        assert_eq!(message(&req), "userId: must not be empty");

        for budget in [-1.0, f64::NAN, f64::INFINITY] {
            let mut req = valid_request();
            req.context.budget = Some(budget);
            assert_eq!(
                message(&req),
                "context.budget: must be a finite number of at least 0"
            );
        }

        let mut req = valid_request();
        req.context.timeline = Some("soon".to_owned());
        assert_eq!(
            message(&req),
            "context.timeline: \"soon\" is neither a YYYY-MM-DD date nor a duration of at most \
             3650 days such as \"14d\" or \"3w\""
        );

        let mut req = valid_request();
        req.context.event_type = Some(String::new());
        assert_eq!(message(&req), "context.eventType: must not be empty");
    }

    #[test]
    fn rejects_bad_tasks_with_field_paths() {
        let mut req = valid_request();
        req.context.tasks[2].id = "t-1".to_owned();
        assert_eq!(message(&req), "context.tasks[2].id: duplicate id \"t-1\"");

        let mut req = valid_request();
        req.context.tasks[4].depends_on = vec!["t-4".to_owned(), "t-99".to_owned()];
        assert_eq!(
            message(&req),
            "context.tasks[4].dependsOn[1]: unknown task id \"t-99\""
        );

        let mut req = valid_request();
        req.context.tasks[1].due_date = Some("2025-02-30".to_owned());
        assert_eq!(
            message(&req),
            "context.tasks[1].dueDate: \"2025-02-30\" is not a valid YYYY-MM-DD date"
        );

        let mut req = valid_request();
        req.context.tasks = (0..=MAX_TASKS)
            .map(|i| task(&i.to_string(), "T", TaskStatus::Todo, &[]))
            .collect();
        assert_eq!(
            message(&req),
            "context.tasks has 501 tasks; at most 500 are accepted"
        );
    }

    #[test]
    fn rejects_dependency_cycles() {
        // t-1 -> t-5 -> t-4 -> t-3 -> t-1; t-8 depends on t-3 but is not on the cycle.
        let mut req = valid_request();
        req.context.tasks[0].depends_on = vec!["t-5".to_owned()];
        assert_eq!(
            message(&req),
            "context.tasks[0].dependsOn: dependency cycle through \"t-1\""
        );

        // t-2 depends on itself; t-6 sits behind it.
        let mut req = valid_request();
        req.context.tasks[1].depends_on = vec!["t-2".to_owned()];
        assert_eq!(
            message(&req),
            "context.tasks[1].dependsOn: dependency cycle through \"t-2\""
        );
    }

    #[test]
    fn rejects_bad_packages() {
        let with = |edit: fn(&mut Package)| {
            let mut req = valid_request();
            if let Some(packages) = req.context.packages.as_mut() {
                edit(&mut packages[1]);
            }
            message(&req)
        };
        assert_eq!(
            with(|p| p.popularity = 1.5),
            "context.packages[1].popularity: must be between 0 and 1"
        );
        assert_eq!(
            with(|p| p.price = -5.0),
            "context.packages[1].price: must be a finite number of at least 0"
        );
        assert_eq!(
            with(|p| p.id = "pkg-a".to_owned()),
            "context.packages[1].id: duplicate id \"pkg-a\""
        );
        assert_eq!(
            with(|p| p.includes.push(" ".to_owned())),
            "context.packages[1].includes[1]: must not be empty"
        );
        assert_eq!(
            with(|p| p.event_types = vec!["x".to_owned(); 51]),
            "context.packages[1].eventTypes has 51 items; at most 50 are accepted"
        );

        let mut req = valid_request();
        req.context.packages = Some(
            (0..=MAX_PACKAGES)
                .map(|i| package(&i.to_string(), &[], 1.0, 1, 0.5))
                .collect(),
        );
        assert_eq!(
            message(&req),
            "context.packages has 201 packages; at most 200 are accepted"
        );
    }

    // --- serde -------------------------------------------------------------

    #[test]
    fn wire_names_match_as_str() {
        for kind in RecommendationType::ALL {
            let json = serde_json::to_string(&kind).expect("serializable");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        for role in UserRole::ALL {
            let json = serde_json::to_string(&role).expect("serializable");
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        for status in TaskStatus::ALL {
            let json = serde_json::to_string(&status).expect("serializable");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
    }

    #[test]
    fn realistic_json_request_parses_and_answers_with_spec_field_names() {
        let json = r#"{
            "userId": "3f6c2a9e-user",
            "recommendationType": "next_actions",
            "context": {
                "currentPage": "/events/ev-42",
                "userRole": "brand_manager",
                "budget": 12000,
                "timeline": "3w",
                "eventType": "runway",
                "tasks": [
                    {"id": "t-1", "name": "Confirm venue", "status": "done"},
                    {"id": "t-2", "name": "Sign venue contract", "status": "todo",
                     "dependsOn": ["t-1"], "critical": true, "dueDate": "2025-03-12"},
                    {"id": "t-3", "name": "Casting call", "status": "todo", "dependsOn": ["t-2"]}
                ]
            }
        }"#;
        let req: RecommendationsRequest = serde_json::from_str(json).expect("valid JSON");
        assert_eq!(req.context.user_role, Some(UserRole::BrandManager));
        assert_eq!(req.validate(), Ok(()));

        let out = serde_json::to_value(recommend(&req, &Signals::default(), TODAY))
            .expect("serializable");
        let keys: Vec<&String> = out.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["recommendations"]);
        let first = &out["recommendations"][0];
        let mut fields: Vec<&String> = first.as_object().expect("object").keys().collect();
        fields.sort();
        assert_eq!(fields, ["action", "item", "rationale", "score"]);
        // 10 + 45 + 5 + 4·12/14
        assert_eq!(first["score"], 63.4);
        assert_eq!(first["action"], "/events/tasks/t-2");
        assert_eq!(first["item"]["taskId"], "t-2");
        assert!(
            first["rationale"]
                .as_str()
                .is_some_and(|r| r.contains("due in 2 days"))
        );

        let back: RecommendationsAnswer = serde_json::from_value(out).expect("round trip");
        assert_eq!(back, recommend(&req, &Signals::default(), TODAY));

        let no_action = Recommendation {
            item: json!({}),
            score: 1.0,
            rationale: "x".to_owned(),
            action: None,
        };
        let value = serde_json::to_value(no_action).expect("serializable");
        assert!(value.get("action").is_none());
    }

    #[test]
    fn unknown_roles_types_and_fields_are_rejected_by_serde() {
        let parse = |json: &str| {
            serde_json::from_str::<RecommendationsRequest>(json)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let err =
            parse(r#"{"userId":"u","recommendationType":"features","context":{"userRole":"ceo"}}"#)
                .expect_err("unknown role");
        assert!(err.contains("unknown variant `ceo`"), "{err}");
        let err = parse(r#"{"userId":"u","recommendationType":"everything","context":{}}"#)
            .expect_err("unknown type");
        assert!(err.contains("unknown variant `everything`"), "{err}");
        let err = parse(r#"{"userId":"u","recommendationType":"features","context":{"budjet":1}}"#)
            .expect_err("typo");
        assert!(err.contains("unknown field `budjet`"), "{err}");
        assert!(parse(r#"{"userId":"u","recommendationType":"features","extra":1}"#).is_err());
        assert_eq!(
            parse(r#"{"userId":"u","recommendationType":"features"}"#),
            Ok(())
        );
    }

    #[test]
    fn signals_deserialize_with_defaults() {
        let signals: Signals =
            serde_json::from_str(r#"{"kitOrder":["media"],"featureUsage":{"selects":4}}"#)
                .expect("valid signals");
        assert_eq!(signals.kit_order, ["media"]);
        assert_eq!(signals.feature_usage.get("selects"), Some(&4));
        assert!(signals.favorite_actions.is_empty() && signals.role_usage.is_empty());
    }

    #[test]
    fn keys_ignore_case_and_punctuation() {
        assert_eq!(key("  Book Venue!"), "book_venue");
        assert_eq!(key("/events/tasks/t-3"), "events_tasks_t_3");
        assert_eq!(compact_key("E-Commerce"), "ecommerce");
        assert_eq!(kit_key("Media-Kit"), "media");
        assert_eq!(amount(9500.0), "9500");
        assert_eq!(amount(12.25), "12.25");
    }
}
