//! Pure domain logic of the `logistics-analyzer` edge function.
//!
//! A producer or stylist sends the sample list of a shoot (the pieces pulled
//! from brands) and asks for one or more analyses:
//!
//! * **readiness** — how much of the list is on set or already shot:
//!   `(on_set + shot) / total * 100`, with `returned` counted as shot;
//! * **blockers** — samples that are late (or about to be) and stop the shoot,
//!   scored 0–100 with heroes weighing more (see [`Blocker`]);
//! * **batching** — a shooting order grouped by category, heroes first, with
//!   the time saved on changeovers (see [`BatchingPlan`]).
//!
//! Everything here is pure: the caller supplies "today" as days since the
//! Unix epoch, and adds `cached` / `calculatedAt` to the response itself.

use crate::cache::{InsightFamily, InsightRequest, InsightSlot};
use crate::calendar::days_from_iso_date;
use crate::validation::{Validate, ValidationError, check_text};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Maximum number of samples accepted in one request.
pub const MAX_SAMPLES: usize = 10_000;

/// Minutes lost each time the set changes category (restyle, relight, props).
pub const CHANGEOVER_MINUTES: u32 = 15;

/// Minutes to shoot one non-hero sample.
pub const SAMPLE_SHOOT_MINUTES: u32 = 8;

/// Minutes to shoot one hero sample (more angles, detail shots).
pub const HERO_SHOOT_MINUTES: u32 = 12;

/// A `requested` sample due within this many days is flagged as at risk.
pub const AT_RISK_WINDOW_DAYS: i64 = 2;

/// Blocker score base for a sample that is still only `requested`.
pub const REQUESTED_BASE_SCORE: i64 = 45;

/// Blocker score base for a sample that is `in_transit`.
pub const IN_TRANSIT_BASE_SCORE: i64 = 30;

/// Blocker score base for a sample that is `awaiting` (at the studio, not on set).
pub const AWAITING_BASE_SCORE: i64 = 15;

/// Blocker score points added per day overdue.
pub const OVERDUE_POINTS_PER_DAY: i64 = 10;

/// Cap on the blocker score points coming from lateness.
pub const MAX_OVERDUE_POINTS: i64 = 50;

/// Blocker score points removed per day left before the due date (at-risk samples).
pub const AT_RISK_POINTS_PER_DAY_LEFT: i64 = 15;

/// Blocker score points added when the sample is a hero piece.
pub const HERO_BONUS_POINTS: i64 = 25;

/// Minimum score of a `critical` blocker.
pub const CRITICAL_THRESHOLD: u32 = 75;

/// Minimum score of a `high` blocker.
pub const HIGH_THRESHOLD: u32 = 50;

/// Minimum score of a `medium` blocker (below it, `low`).
pub const MEDIUM_THRESHOLD: u32 = 25;

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

/// Where a sample is in its journey from the brand to the set and back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleStatus {
    /// Asked for from the brand / PR agency, not shipped yet.
    Requested,
    /// Shipped by the brand, on its way to the studio.
    InTransit,
    /// Arrived at the studio, not yet on set.
    Awaiting,
    /// On set, ready to be shot.
    OnSet,
    /// Photographed.
    Shot,
    /// Sent back to the brand (it was shot before, so it counts as done).
    Returned,
}

impl SampleStatus {
    /// All statuses in lifecycle order.
    pub const ALL: [SampleStatus; 6] = [
        SampleStatus::Requested,
        SampleStatus::InTransit,
        SampleStatus::Awaiting,
        SampleStatus::OnSet,
        SampleStatus::Shot,
        SampleStatus::Returned,
    ];

    /// The snake_case wire name (`"on_set"`, `"in_transit"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SampleStatus::Requested => "requested",
            SampleStatus::InTransit => "in_transit",
            SampleStatus::Awaiting => "awaiting",
            SampleStatus::OnSet => "on_set",
            SampleStatus::Shot => "shot",
            SampleStatus::Returned => "returned",
        }
    }

    /// True when the sample has been photographed (`shot` or `returned`).
    pub fn is_shot(self) -> bool {
        matches!(self, SampleStatus::Shot | SampleStatus::Returned)
    }

    /// True when the sample counts towards readiness (`on_set`, `shot`, `returned`).
    pub fn is_ready(self) -> bool {
        self == SampleStatus::OnSet || self.is_shot()
    }

    /// True when the sample still has to be shot (everything but `shot`/`returned`).
    pub fn needs_shooting(self) -> bool {
        !self.is_shot()
    }
}

/// One sample (garment, shoe, accessory) pulled for the shoot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sample {
    /// Unique id of the sample within the list.
    pub id: String,
    /// Human name, e.g. "Camel Wool Coat".
    pub name: String,
    /// Category such as "outerwear", "shoes", "accessories" (trimmed and lower-cased for grouping).
    pub category: String,
    /// Current logistics status.
    pub status: SampleStatus,
    /// Hero piece of the shoot (campaign image, cover look); defaults to false.
    #[serde(default)]
    pub is_hero: bool,
    /// Brand or PR agency that lent the sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// Date (`YYYY-MM-DD`) by which the sample must be on set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// Team member responsible for the sample (stylist, assistant, producer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Look the sample belongs to (1-based), used to order shots within a batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub look_number: Option<u32>,
}

/// Which analyses the caller wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisType {
    /// Readiness report only.
    Readiness,
    /// Blocker list only.
    Blockers,
    /// Batching plan only.
    Batching,
    /// All three sections.
    All,
}

impl AnalysisType {
    /// The JSON name (`readiness`, `blockers`, `batching`, `all`).
    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisType::Readiness => "readiness",
            AnalysisType::Blockers => "blockers",
            AnalysisType::Batching => "batching",
            AnalysisType::All => "all",
        }
    }

    /// True when the readiness section must be computed.
    pub fn includes_readiness(self) -> bool {
        matches!(self, AnalysisType::Readiness | AnalysisType::All)
    }

    /// True when the blockers section must be computed.
    pub fn includes_blockers(self) -> bool {
        matches!(self, AnalysisType::Blockers | AnalysisType::All)
    }

    /// True when the batching section must be computed.
    pub fn includes_batching(self) -> bool {
        matches!(self, AnalysisType::Batching | AnalysisType::All)
    }
}

/// Request body of the `logistics-analyzer` function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogisticsRequest {
    /// The samples of the shoot (1 to [`MAX_SAMPLES`]).
    pub sample_list: Vec<Sample>,
    /// Which analyses to run.
    pub analysis_type: AnalysisType,
    /// Optional id of the sample tracker, used by the caller as cache context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracker_id: Option<String>,
}

impl InsightRequest for LogisticsRequest {
    const FAMILY: InsightFamily = InsightFamily::Logistics;

    fn slot(&self) -> InsightSlot {
        InsightSlot::new(self.analysis_type.as_str(), self.tracker_id.as_deref())
    }
}

impl Validate for LogisticsRequest {
    /// Checks the request strictly; the first problem found is reported with its field path.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] for an empty or oversized list, blank or overlong
    /// text, a duplicate id, an invalid `dueDate` or a `lookNumber` of 0.
    fn validate(&self) -> Result<(), ValidationError> {
        let count = self.sample_list.len();
        if count == 0 {
            return Err(ValidationError(
                "sampleList must contain at least one sample".to_owned(),
            ));
        }
        if count > MAX_SAMPLES {
            return Err(ValidationError(format!(
                "sampleList has {count} samples; at most {MAX_SAMPLES} are accepted"
            )));
        }
        if let Some(tracker_id) = &self.tracker_id {
            check_text(|| "trackerId".to_owned(), tracker_id)?;
        }

        let mut seen: HashSet<&str> = HashSet::with_capacity(count);
        for (i, sample) in self.sample_list.iter().enumerate() {
            let field = |name: &str| format!("sampleList[{i}].{name}");
            check_text(|| field("id"), &sample.id)?;
            if !seen.insert(sample.id.as_str()) {
                return Err(ValidationError(format!(
                    "{}: duplicate id {:?}",
                    field("id"),
                    sample.id
                )));
            }
            check_text(|| field("name"), &sample.name)?;
            check_text(|| field("category"), &sample.category)?;
            if let Some(brand) = &sample.brand {
                check_text(|| field("brand"), brand)?;
            }
            if let Some(owner) = &sample.owner {
                check_text(|| field("owner"), owner)?;
            }
            if let Some(due) = &sample.due_date
                && days_from_iso_date(due).is_none()
            {
                return Err(ValidationError(format!(
                    "{}: {:?} is not a valid YYYY-MM-DD date",
                    field("dueDate"),
                    due
                )));
            }
            if sample.look_number == Some(0) {
                return Err(ValidationError(format!(
                    "{}: must be at least 1",
                    field("lookNumber")
                )));
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/// How ready the shoot is: share of samples on set or already shot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadinessReport {
    /// Number of samples in the list.
    pub total: u32,
    /// Samples currently on set.
    pub on_set: u32,
    /// Samples already photographed (`shot` plus `returned`).
    pub shot: u32,
    /// `on_set + shot`.
    pub ready: u32,
    /// `ready / total * 100`, rounded to one decimal (0 for an empty list).
    pub readiness_percent: f64,
    /// Count per status, every status present (zero included), in lifecycle order.
    pub by_status: BTreeMap<SampleStatus, u32>,
    /// Number of hero samples.
    pub hero_total: u32,
    /// Hero samples on set or shot.
    pub hero_ready: u32,
    /// `hero_ready / hero_total * 100`, one decimal; `null` when there are no heroes.
    pub hero_readiness_percent: Option<f64>,
}

/// Severity bucket of a blocker, derived from its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Score below [`MEDIUM_THRESHOLD`].
    Low,
    /// Score from [`MEDIUM_THRESHOLD`] to below [`HIGH_THRESHOLD`].
    Medium,
    /// Score from [`HIGH_THRESHOLD`] to below [`CRITICAL_THRESHOLD`].
    High,
    /// Score of [`CRITICAL_THRESHOLD`] or more.
    Critical,
}

impl Severity {
    /// Maps a 0–100 score to its severity bucket.
    pub fn from_score(score: u32) -> Severity {
        if score >= CRITICAL_THRESHOLD {
            Severity::Critical
        } else if score >= HIGH_THRESHOLD {
            Severity::High
        } else if score >= MEDIUM_THRESHOLD {
            Severity::Medium
        } else {
            Severity::Low
        }
    }
}

/// Why a sample is a blocker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockerKind {
    /// Due today or earlier and not on set.
    Delayed,
    /// Still only requested and due within [`AT_RISK_WINDOW_DAYS`] days.
    AtRisk,
}

/// A sample that holds up the shoot.
///
/// A sample is a blocker when it is not on set / shot / returned, has a due
/// date, and either that date is today or past ([`BlockerKind::Delayed`]) or
/// it is still `requested` and due within [`AT_RISK_WINDOW_DAYS`] days
/// ([`BlockerKind::AtRisk`]). Samples without a due date are never blockers.
///
/// Score (clamped to 0–100):
/// `status base + timing + hero bonus`, where the status base is
/// [`REQUESTED_BASE_SCORE`] / [`IN_TRANSIT_BASE_SCORE`] / [`AWAITING_BASE_SCORE`]
/// (the further from set, the higher), timing is
/// `min(days_overdue * OVERDUE_POINTS_PER_DAY, MAX_OVERDUE_POINTS)` when delayed
/// and `-days_left * AT_RISK_POINTS_PER_DAY_LEFT` when at risk, and heroes add
/// [`HERO_BONUS_POINTS`]. Severity: critical ≥ 75, high ≥ 50, medium ≥ 25, else low.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    /// Id of the blocking sample.
    pub sample_id: String,
    /// Name of the blocking sample.
    pub sample_name: String,
    /// Normalised (trimmed, lower-case) category.
    pub category: String,
    /// Current status of the sample.
    pub status: SampleStatus,
    /// Whether the sample is a hero piece.
    pub is_hero: bool,
    /// Delayed or at risk.
    pub kind: BlockerKind,
    /// Severity bucket of `score`.
    pub severity: Severity,
    /// Urgency score, 0–100.
    pub score: u32,
    /// Days past the due date: 0 when due today, negative when due in the future (at risk).
    pub days_overdue: i64,
    /// Due date of the sample (`YYYY-MM-DD`).
    pub due_date: String,
    /// Brand that lent the sample, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// Team member responsible for the sample, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Human sentence naming the sample, its status and how late it is.
    pub reason: String,
    /// What the team should do about it.
    pub suggested_action: String,
}

/// Samples of one category, shot back to back after a single changeover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Batch {
    /// Normalised (trimmed, lower-case) category.
    pub category: String,
    /// Shooting order: heroes first, then by look number (none last), then id.
    pub sample_ids: Vec<String>,
    /// Number of hero samples in the batch.
    pub hero_count: u32,
    /// Number of samples in the batch.
    pub sample_count: u32,
    /// One changeover plus the shooting time of every sample.
    pub estimated_minutes: u32,
    /// Shooting order of the batch, 1 = first (more heroes, then more samples, then name).
    pub priority: u32,
}

/// Shooting plan grouping the samples still to shoot by category.
///
/// Only samples that still need shooting (not `shot` / `returned`) are
/// planned. Time model: [`CHANGEOVER_MINUTES`] per category switch plus
/// [`SAMPLE_SHOOT_MINUTES`] per sample ([`HERO_SHOOT_MINUTES`] for heroes).
/// Sequential = list order, paying a changeover at the start and whenever
/// the category differs from the previous sample; batched = one changeover
/// per category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchingPlan {
    /// Batches in shooting order (priority 1 first).
    pub batches: Vec<Batch>,
    /// Minutes to shoot in list order.
    pub sequential_minutes: u32,
    /// Minutes to shoot batch by batch.
    pub batched_minutes: u32,
    /// `sequential_minutes - batched_minutes`.
    pub time_saved_minutes: u32,
    /// `time_saved_minutes / sequential_minutes * 100`, one decimal (0 when nothing to shoot).
    pub time_saved_percent: f64,
}

/// Result of [`analyze`]; sections not requested are `None` and omitted from JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogisticsAnalysis {
    /// Readiness report, when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<ReadinessReport>,
    /// Blockers sorted by score descending then id, when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blockers: Option<Vec<Blocker>>,
    /// Batching plan, when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batching: Option<BatchingPlan>,
}

// ---------------------------------------------------------------------------
// Analysis
// ---------------------------------------------------------------------------

/// Runs the requested analyses; `today_days` is today as days since 1970-01-01.
///
/// Expects a validated request; unparsable due dates are treated as absent.
pub fn analyze(request: &LogisticsRequest, today_days: i64) -> LogisticsAnalysis {
    let samples = &request.sample_list;
    let kind = request.analysis_type;
    LogisticsAnalysis {
        readiness: kind.includes_readiness().then(|| readiness(samples)),
        blockers: kind
            .includes_blockers()
            .then(|| blockers(samples, today_days)),
        batching: kind.includes_batching().then(|| batching(samples)),
    }
}

/// Computes the readiness report of a sample list.
pub fn readiness(samples: &[Sample]) -> ReadinessReport {
    let mut by_status: BTreeMap<SampleStatus, u32> =
        SampleStatus::ALL.iter().map(|&s| (s, 0)).collect();
    let (mut total, mut hero_total, mut hero_ready) = (0u32, 0u32, 0u32);
    for sample in samples {
        total = total.saturating_add(1);
        if let Some(count) = by_status.get_mut(&sample.status) {
            *count = count.saturating_add(1);
        }
        if sample.is_hero {
            hero_total = hero_total.saturating_add(1);
            if sample.status.is_ready() {
                hero_ready = hero_ready.saturating_add(1);
            }
        }
    }
    let count = |s: SampleStatus| by_status.get(&s).copied().unwrap_or(0);
    let on_set = count(SampleStatus::OnSet);
    let shot = count(SampleStatus::Shot).saturating_add(count(SampleStatus::Returned));
    let ready = on_set.saturating_add(shot);
    ReadinessReport {
        total,
        on_set,
        shot,
        ready,
        readiness_percent: percent(ready, total),
        by_status,
        hero_total,
        hero_ready,
        hero_readiness_percent: (hero_total > 0).then(|| percent(hero_ready, hero_total)),
    }
}

/// Lists the blockers of a sample list, sorted by score descending then id.
pub fn blockers(samples: &[Sample], today_days: i64) -> Vec<Blocker> {
    // Score and sort small candidates first; build the texts only once, in order.
    let mut found: Vec<Candidate<'_>> = samples
        .iter()
        .filter_map(|sample| assess(sample, today_days))
        .collect();
    found.sort_unstable_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.sample.id.cmp(&b.sample.id))
    });
    found.into_iter().map(Candidate::into_blocker).collect()
}

/// A scored blocker before its texts are built.
struct Candidate<'a> {
    sample: &'a Sample,
    due_date: &'a str,
    days_overdue: i64,
    kind: BlockerKind,
    score: u32,
}

/// Scores one sample, if it is a blocker.
fn assess(sample: &Sample, today_days: i64) -> Option<Candidate<'_>> {
    let base = match sample.status {
        SampleStatus::Requested => REQUESTED_BASE_SCORE,
        SampleStatus::InTransit => IN_TRANSIT_BASE_SCORE,
        SampleStatus::Awaiting => AWAITING_BASE_SCORE,
        SampleStatus::OnSet | SampleStatus::Shot | SampleStatus::Returned => return None,
    };
    let due_date = sample.due_date.as_deref()?;
    let due = days_from_iso_date(due_date)?;
    let days_overdue = today_days.saturating_sub(due);
    let (kind, timing) = if days_overdue >= 0 {
        let points = days_overdue
            .saturating_mul(OVERDUE_POINTS_PER_DAY)
            .min(MAX_OVERDUE_POINTS);
        (BlockerKind::Delayed, points)
    } else if sample.status == SampleStatus::Requested && days_overdue >= -AT_RISK_WINDOW_DAYS {
        (
            BlockerKind::AtRisk,
            days_overdue.saturating_mul(AT_RISK_POINTS_PER_DAY_LEFT),
        )
    } else {
        return None;
    };
    let hero = if sample.is_hero { HERO_BONUS_POINTS } else { 0 };
    let raw = base
        .saturating_add(timing)
        .saturating_add(hero)
        .clamp(0, 100);
    Some(Candidate {
        sample,
        due_date,
        days_overdue,
        kind,
        score: u32::try_from(raw).unwrap_or(0),
    })
}

impl Candidate<'_> {
    fn into_blocker(self) -> Blocker {
        let Candidate {
            sample,
            due_date,
            days_overdue,
            kind,
            score,
        } = self;
        let category = category_key(&sample.category).into_owned();
        Blocker {
            reason: blocker_reason(sample, &category, days_overdue, due_date),
            suggested_action: suggested_action(sample, kind, due_date),
            sample_id: sample.id.clone(),
            sample_name: sample.name.clone(),
            category,
            status: sample.status,
            is_hero: sample.is_hero,
            kind,
            severity: Severity::from_score(score),
            score,
            days_overdue,
            due_date: due_date.to_owned(),
            brand: sample.brand.clone(),
            owner: sample.owner.clone(),
        }
    }
}

/// "Hero sample "X" (shoes) is still in transit and 2 days overdue (due date 2025-03-08)."
fn blocker_reason(sample: &Sample, category: &str, days_overdue: i64, due: &str) -> String {
    let who = if sample.is_hero {
        "Hero sample"
    } else {
        "Sample"
    };
    let state = match sample.status {
        SampleStatus::Requested => "still only requested (not shipped)",
        SampleStatus::InTransit => "still in transit",
        SampleStatus::Awaiting => "at the studio but not on set",
        SampleStatus::OnSet | SampleStatus::Shot | SampleStatus::Returned => "on set",
    };
    let mut out = String::with_capacity(112 + sample.name.len() + category.len());
    for piece in [
        who,
        " \"",
        &sample.name,
        "\" (",
        category,
        ") is ",
        state,
        " and ",
    ] {
        out.push_str(piece);
    }
    match days_overdue {
        0 => out.push_str("due today"),
        1 => out.push_str("1 day overdue"),
        -1 => out.push_str("due in 1 day"),
        // Writing into a String cannot fail.
        d if d > 0 => {
            let _ = write!(out, "{d} days overdue");
        }
        d => {
            let _ = write!(out, "due in {} days", d.unsigned_abs());
        }
    }
    for piece in [" (due date ", due, ")."] {
        out.push_str(piece);
    }
    out
}

/// A next step for the team, addressed to the sample's owner when known.
fn suggested_action(sample: &Sample, kind: BlockerKind, due: &str) -> String {
    let brand = sample.brand.as_deref().unwrap_or("the brand");
    // Every phrase starts with a lower-case ASCII verb, capitalised below when
    // there is no owner to address.
    let phrase: [&str; 5] = match (sample.status, kind, sample.is_hero) {
        (SampleStatus::Requested, BlockerKind::AtRisk, _) => [
            "confirm dispatch with ",
            brand,
            " today so it arrives by ",
            due,
            ".",
        ],
        (SampleStatus::Requested, _, true) => [
            "escalate with ",
            brand,
            " for a same-day courier and line up a backup for this hero look.",
            "",
            "",
        ],
        (SampleStatus::Requested, _, false) => [
            "chase ",
            brand,
            " for same-day dispatch or swap in an alternative sample.",
            "",
            "",
        ],
        (SampleStatus::InTransit, _, true) => [
            "get the tracking from ",
            brand,
            ", book a same-day courier if needed and hold the hero shot until it lands.",
            "",
            "",
        ],
        (SampleStatus::InTransit, _, false) => [
            "check the tracking with ",
            brand,
            " and move its shot later in the day if it will arrive late.",
            "",
            "",
        ],
        _ => ["unpack, steam and bring it to set now.", "", "", "", ""],
    };
    let owner = sample.owner.as_deref();
    let mut out = String::with_capacity(112 + brand.len() + owner.map_or(0, str::len));
    if let Some(owner) = owner {
        for piece in ["Ask ", owner, " to "] {
            out.push_str(piece);
        }
    }
    for piece in phrase {
        out.push_str(piece);
    }
    if owner.is_none()
        && let Some(first) = out.get_mut(0..1)
    {
        first.make_ascii_uppercase();
    }
    out
}

/// A category key and its samples still to shoot, each with its [`shot_order_key`].
type CategoryGroup<'a> = (Cow<'a, str>, Vec<(u64, &'a Sample)>);

/// Builds the batching plan of a sample list.
pub fn batching(samples: &[Sample]) -> BatchingPlan {
    // One pass in list order: sequential time, and each sample still to shoot
    // filed under its category (looked up only when the category changes).
    let mut index: BTreeMap<Cow<'_, str>, usize> = BTreeMap::new();
    let mut groups: Vec<CategoryGroup<'_>> = Vec::new();
    let mut previous: Option<usize> = None;
    let mut sequential_minutes = 0u32;
    for sample in samples.iter().filter(|s| s.status.needs_shooting()) {
        let key = category_key(&sample.category);
        let same_as_previous = previous.filter(|&g| groups.get(g).is_some_and(|(k, _)| *k == key));
        let group = match same_as_previous {
            Some(g) => g,
            None => {
                sequential_minutes = sequential_minutes.saturating_add(CHANGEOVER_MINUTES);
                match index.get(key.as_ref()) {
                    Some(&g) => g,
                    None => {
                        let g = groups.len();
                        index.insert(key.clone(), g);
                        groups.push((key, Vec::new()));
                        g
                    }
                }
            }
        };
        sequential_minutes = sequential_minutes.saturating_add(shoot_minutes(sample));
        if let Some((_, members)) = groups.get_mut(group) {
            members.push((shot_order_key(sample), sample));
        }
        previous = Some(group);
    }

    let mut batches: Vec<Batch> = groups
        .into_iter()
        .map(|(category, mut members)| {
            members.sort_unstable_by(|(ka, a), (kb, b)| ka.cmp(kb).then_with(|| a.id.cmp(&b.id)));
            let mut hero_count = 0u32;
            let mut estimated_minutes = CHANGEOVER_MINUTES;
            let mut sample_ids = Vec::with_capacity(members.len());
            for (_, sample) in &members {
                hero_count = hero_count.saturating_add(u32::from(sample.is_hero));
                estimated_minutes = estimated_minutes.saturating_add(shoot_minutes(sample));
                sample_ids.push(sample.id.clone());
            }
            Batch {
                category: category.into_owned(),
                sample_ids,
                hero_count,
                sample_count: u32::try_from(members.len()).unwrap_or(u32::MAX),
                estimated_minutes,
                priority: 0,
            }
        })
        .collect();
    batches.sort_unstable_by(|a, b| {
        b.hero_count
            .cmp(&a.hero_count)
            .then_with(|| b.sample_count.cmp(&a.sample_count))
            .then_with(|| a.category.cmp(&b.category))
    });
    for (batch, priority) in batches.iter_mut().zip(1u32..) {
        batch.priority = priority;
    }

    let batched_minutes = batches
        .iter()
        .fold(0u32, |m, b| m.saturating_add(b.estimated_minutes));
    let time_saved_minutes = sequential_minutes.saturating_sub(batched_minutes);
    BatchingPlan {
        batches,
        sequential_minutes,
        batched_minutes,
        time_saved_minutes,
        time_saved_percent: percent(time_saved_minutes, sequential_minutes),
    }
}

/// Order within a batch, packed for fast comparison: heroes first, then look
/// number ascending with samples without a look last (ties broken by id).
fn shot_order_key(sample: &Sample) -> u64 {
    let not_hero = u64::from(!sample.is_hero) << 33;
    match sample.look_number {
        Some(look) => not_hero | u64::from(look),
        None => not_hero | (1 << 32),
    }
}

fn shoot_minutes(sample: &Sample) -> u32 {
    if sample.is_hero {
        HERO_SHOOT_MINUTES
    } else {
        SAMPLE_SHOOT_MINUTES
    }
}

/// Grouping key of a category: trimmed and lower-cased (borrowed when already so).
fn category_key(category: &str) -> Cow<'_, str> {
    let trimmed = category.trim();
    if trimmed.chars().any(char::is_uppercase) {
        Cow::Owned(trimmed.to_lowercase())
    } else {
        Cow::Borrowed(trimmed)
    }
}

/// `part / whole * 100` rounded to one decimal; 0 when `whole` is 0.
fn percent(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (f64::from(part) * 1000.0 / f64::from(whole)).round() / 10.0
}

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::iso_date_from_days;

    /// 2025-03-10, the "today" of the fixtures.
    const TODAY: i64 = 20_157;

    fn sample(id: &str, category: &str, status: SampleStatus) -> Sample {
        Sample {
            id: id.to_owned(),
            name: format!("Sample {id}"),
            category: category.to_owned(),
            status,
            is_hero: false,
            brand: None,
            due_date: None,
            owner: None,
            look_number: None,
        }
    }

    fn hero(mut s: Sample) -> Sample {
        s.is_hero = true;
        s
    }

    fn due(mut s: Sample, date: &str) -> Sample {
        s.due_date = Some(date.to_owned());
        s
    }

    fn look(mut s: Sample, n: u32) -> Sample {
        s.look_number = Some(n);
        s
    }

    fn request(samples: Vec<Sample>, analysis_type: AnalysisType) -> LogisticsRequest {
        LogisticsRequest {
            sample_list: samples,
            analysis_type,
            tracker_id: None,
        }
    }

    /// The hand-worked fixture (today = 2025-03-10), in list order:
    ///
    /// | id  | category      | status     | hero | due        | look |
    /// |-----|---------------|------------|------|------------|------|
    /// | s-1 | outerwear     | on_set     | yes  | 2025-03-08 | 1    |
    /// | s-2 | shoes         | in_transit | yes  | 2025-03-08 | 2    |
    /// | s-3 | accessories   | requested  | no   | 2025-03-11 | 3    |
    /// | s-4 | " Outerwear " | awaiting   | no   | 2025-03-10 | 4    |
    /// | s-5 | accessories   | shot       | no   | —          | 3    |
    /// | s-6 | shoes         | returned   | yes  | —          | —    |
    /// | s-7 | outerwear     | requested  | yes  | 2025-03-20 | 5    |
    /// | s-8 | shoes         | awaiting   | no   | —          | —    |
    fn fixture() -> Vec<Sample> {
        use SampleStatus::*;
        let mut s1 = look(
            due(hero(sample("s-1", "outerwear", OnSet)), "2025-03-08"),
            1,
        );
        s1.name = "Camel Wool Coat".to_owned();
        let mut s2 = look(
            due(hero(sample("s-2", "shoes", InTransit)), "2025-03-08"),
            2,
        );
        s2.name = "Leather Ankle Boot".to_owned();
        s2.brand = Some("Maison Lune".to_owned());
        let mut s3 = look(
            due(sample("s-3", "accessories", Requested), "2025-03-11"),
            3,
        );
        s3.name = "Silk Scarf".to_owned();
        s3.owner = Some("Maya".to_owned());
        let s4 = look(due(sample("s-4", " Outerwear ", Awaiting), "2025-03-10"), 4);
        let s5 = look(sample("s-5", "accessories", Shot), 3);
        let s6 = hero(sample("s-6", "shoes", Returned));
        let s7 = look(
            due(hero(sample("s-7", "outerwear", Requested)), "2025-03-20"),
            5,
        );
        let s8 = sample("s-8", "shoes", Awaiting);
        vec![s1, s2, s3, s4, s5, s6, s7, s8]
    }

    // --- readiness -------------------------------------------------------

    #[test]
    fn readiness_counts_on_set_and_shot() {
        let report = readiness(&fixture());
        assert_eq!(report.total, 8);
        assert_eq!(report.on_set, 1);
        assert_eq!(report.shot, 2, "shot + returned");
        assert_eq!(report.ready, 3);
        assert_eq!(report.readiness_percent, 37.5);
        assert_eq!(report.hero_total, 4);
        assert_eq!(report.hero_ready, 2);
        assert_eq!(report.hero_readiness_percent, Some(50.0));
        let by_status: Vec<(SampleStatus, u32)> =
            report.by_status.iter().map(|(&s, &n)| (s, n)).collect();
        use SampleStatus::*;
        assert_eq!(
            by_status,
            vec![
                (Requested, 2),
                (InTransit, 1),
                (Awaiting, 2),
                (OnSet, 1),
                (Shot, 1),
                (Returned, 1)
            ]
        );
    }

    #[test]
    fn returned_samples_count_as_shot() {
        let report = readiness(&[sample("a", "shoes", SampleStatus::Returned)]);
        assert_eq!(report.shot, 1);
        assert_eq!(report.readiness_percent, 100.0);
    }

    #[test]
    fn readiness_rounds_to_one_decimal_and_has_no_hero_percent_without_heroes() {
        use SampleStatus::*;
        let report = readiness(&[
            sample("a", "shoes", OnSet),
            sample("b", "shoes", Requested),
            sample("c", "shoes", Awaiting),
        ]);
        assert_eq!(report.readiness_percent, 33.3);
        assert_eq!(report.hero_readiness_percent, None);
    }

    #[test]
    fn readiness_of_empty_list_is_zero_not_nan() {
        let report = readiness(&[]);
        assert_eq!(report.total, 0);
        assert_eq!(report.readiness_percent, 0.0);
        assert_eq!(report.by_status.len(), 6);
    }

    // --- blockers --------------------------------------------------------

    #[test]
    fn blockers_of_fixture_are_scored_and_sorted() {
        let found = blockers(&fixture(), TODAY);
        let summary: Vec<(&str, u32, Severity, BlockerKind, i64)> = found
            .iter()
            .map(|b| {
                (
                    b.sample_id.as_str(),
                    b.score,
                    b.severity,
                    b.kind,
                    b.days_overdue,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                // in_transit 30 + 2 days * 10 + hero 25
                ("s-2", 75, Severity::Critical, BlockerKind::Delayed, 2),
                // requested 45 - 1 day left * 15
                ("s-3", 30, Severity::Medium, BlockerKind::AtRisk, -1),
                // awaiting 15 + due today 0
                ("s-4", 15, Severity::Low, BlockerKind::Delayed, 0),
            ]
        );
        assert_eq!(found[2].category, "outerwear");
    }

    #[test]
    fn overdue_hero_is_critical() {
        let s = due(
            hero(sample("h", "shoes", SampleStatus::InTransit)),
            "2025-03-08",
        );
        let found = blockers(&[s], TODAY);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].score, 75);
        assert_eq!(found[0].severity, Severity::Critical);
    }

    #[test]
    fn blocker_reason_and_action_are_human_sentences() {
        let found = blockers(&fixture(), TODAY);
        assert_eq!(
            found[0].reason,
            "Hero sample \"Leather Ankle Boot\" (shoes) is still in transit and 2 days overdue (due date 2025-03-08)."
        );
        assert_eq!(
            found[0].suggested_action,
            "Get the tracking from Maison Lune, book a same-day courier if needed and hold the hero shot until it lands."
        );
        assert_eq!(
            found[1].reason,
            "Sample \"Silk Scarf\" (accessories) is still only requested (not shipped) and due in 1 day (due date 2025-03-11)."
        );
        assert_eq!(
            found[1].suggested_action,
            "Ask Maya to confirm dispatch with the brand today so it arrives by 2025-03-11."
        );
        assert_eq!(
            found[2].reason,
            "Sample \"Sample s-4\" (outerwear) is at the studio but not on set and due today (due date 2025-03-10)."
        );
    }

    #[test]
    fn blocker_score_is_clamped_to_100() {
        // requested 45 + overdue capped at 50 + hero 25 = 120 -> 100
        let s = due(
            hero(sample("x", "bags", SampleStatus::Requested)),
            "2025-02-01",
        );
        let found = blockers(&[s], TODAY);
        assert_eq!(found[0].score, 100);
        assert_eq!(found[0].days_overdue, 37);
        assert_eq!(found[0].severity, Severity::Critical);
    }

    #[test]
    fn at_risk_window_is_two_days_and_only_for_requested() {
        use SampleStatus::*;
        let samples = vec![
            due(sample("in-2", "bags", Requested), "2025-03-12"),
            due(sample("in-3", "bags", Requested), "2025-03-13"),
            due(sample("transit-1", "bags", InTransit), "2025-03-11"),
        ];
        let found = blockers(&samples, TODAY);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].sample_id, "in-2");
        assert_eq!(found[0].score, 15); // 45 - 2 * 15
        assert_eq!(found[0].severity, Severity::Low);
        assert_eq!(found[0].days_overdue, -2);
    }

    #[test]
    fn samples_on_set_shot_or_without_due_date_are_never_blockers() {
        use SampleStatus::*;
        let samples = vec![
            due(hero(sample("a", "bags", OnSet)), "2025-01-01"),
            due(hero(sample("b", "bags", Shot)), "2025-01-01"),
            due(hero(sample("c", "bags", Returned)), "2025-01-01"),
            hero(sample("d", "bags", Requested)),
        ];
        assert!(blockers(&samples, TODAY).is_empty());
    }

    #[test]
    fn equal_scores_are_ordered_by_id() {
        use SampleStatus::*;
        let samples = vec![
            due(sample("b", "bags", Awaiting), "2025-03-10"),
            due(sample("a", "bags", Awaiting), "2025-03-10"),
        ];
        let ids: Vec<String> = blockers(&samples, TODAY)
            .into_iter()
            .map(|b| b.sample_id)
            .collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn severity_thresholds() {
        assert_eq!(Severity::from_score(0), Severity::Low);
        assert_eq!(Severity::from_score(24), Severity::Low);
        assert_eq!(Severity::from_score(25), Severity::Medium);
        assert_eq!(Severity::from_score(49), Severity::Medium);
        assert_eq!(Severity::from_score(50), Severity::High);
        assert_eq!(Severity::from_score(74), Severity::High);
        assert_eq!(Severity::from_score(75), Severity::Critical);
        assert_eq!(Severity::from_score(100), Severity::Critical);
    }

    // --- batching --------------------------------------------------------

    /// (category, sample ids, heroes, samples, minutes, priority)
    type BatchSummary<'a> = (&'a str, Vec<&'a str>, u32, u32, u32, u32);

    #[test]
    fn batching_groups_by_category_and_saves_changeovers() {
        let plan = batching(&fixture());
        // To shoot, in list order: s-1 O(h), s-2 S(h), s-3 A, s-4 O, s-7 O(h), s-8 S.
        // Sequential: 5 changeovers (O,S,A,O,S) * 15 = 75, shooting 3*12 + 3*8 = 60.
        assert_eq!(plan.sequential_minutes, 135);
        // Batched: 3 changeovers * 15 = 45 + 60.
        assert_eq!(plan.batched_minutes, 105);
        assert_eq!(plan.time_saved_minutes, 30);
        assert_eq!(plan.time_saved_percent, 22.2);

        let batches: Vec<BatchSummary<'_>> = plan
            .batches
            .iter()
            .map(|b| {
                (
                    b.category.as_str(),
                    b.sample_ids.iter().map(String::as_str).collect(),
                    b.hero_count,
                    b.sample_count,
                    b.estimated_minutes,
                    b.priority,
                )
            })
            .collect();
        assert_eq!(
            batches,
            vec![
                ("outerwear", vec!["s-1", "s-7", "s-4"], 2, 3, 47, 1),
                ("shoes", vec!["s-2", "s-8"], 1, 2, 35, 2),
                ("accessories", vec!["s-3"], 0, 1, 23, 3),
            ]
        );
    }

    #[test]
    fn batch_priority_breaks_ties_by_sample_count_then_name() {
        use SampleStatus::*;
        let samples = vec![
            sample("1", "shoes", Awaiting),
            sample("2", "bags", Awaiting),
            sample("3", "bags", Awaiting),
            sample("4", "jewelry", Awaiting),
            sample("5", "belts", Awaiting),
        ];
        let order: Vec<String> = batching(&samples)
            .batches
            .into_iter()
            .map(|b| b.category)
            .collect();
        assert_eq!(order, ["bags", "belts", "jewelry", "shoes"]);
    }

    #[test]
    fn batch_order_puts_heroes_then_looks_then_ids() {
        use SampleStatus::*;
        let samples = vec![
            sample("z", "bags", Awaiting),
            look(sample("y", "bags", Awaiting), 2),
            look(sample("x", "bags", Awaiting), 1),
            look(hero(sample("w", "bags", Awaiting)), 9),
            sample("a", "bags", Awaiting),
        ];
        let plan = batching(&samples);
        assert_eq!(plan.batches[0].sample_ids, ["w", "x", "y", "a", "z"]);
    }

    #[test]
    fn batching_with_nothing_left_to_shoot_is_empty() {
        use SampleStatus::*;
        let plan = batching(&[sample("a", "bags", Shot), sample("b", "shoes", Returned)]);
        assert!(plan.batches.is_empty());
        assert_eq!(plan.sequential_minutes, 0);
        assert_eq!(plan.batched_minutes, 0);
        assert_eq!(plan.time_saved_minutes, 0);
        assert_eq!(plan.time_saved_percent, 0.0);
    }

    #[test]
    fn already_grouped_list_saves_nothing() {
        use SampleStatus::*;
        let plan = batching(&[
            sample("a", "bags", Awaiting),
            sample("b", "Bags", Awaiting),
            sample("c", "shoes", Awaiting),
        ]);
        assert_eq!(plan.sequential_minutes, 2 * 15 + 3 * 8);
        assert_eq!(plan.time_saved_minutes, 0);
        assert_eq!(plan.time_saved_percent, 0.0);
    }

    // --- analyze / analysis type ------------------------------------------

    #[test]
    fn analysis_type_selects_sections() {
        let samples = fixture();
        let only = |t| analyze(&request(samples.clone(), t), TODAY);
        let r = only(AnalysisType::Readiness);
        assert!(r.readiness.is_some() && r.blockers.is_none() && r.batching.is_none());
        let b = only(AnalysisType::Blockers);
        assert!(b.readiness.is_none() && b.blockers.is_some() && b.batching.is_none());
        let p = only(AnalysisType::Batching);
        assert!(p.readiness.is_none() && p.blockers.is_none() && p.batching.is_some());
        let all = only(AnalysisType::All);
        assert!(all.readiness.is_some() && all.blockers.is_some() && all.batching.is_some());
    }

    #[test]
    fn large_list_analyzes_consistently() {
        let categories = ["outerwear", "shoes", "bags", "knitwear", "jewelry"];
        let samples: Vec<Sample> = (0..MAX_SAMPLES)
            .map(|i| {
                let status = SampleStatus::ALL[i % 6];
                let mut s = sample(&format!("s-{i:05}"), categories[i % 5], status);
                s.is_hero = i % 7 == 0;
                s.due_date = Some(iso_date_from_days(TODAY - 5 + (i % 10) as i64));
                s
            })
            .collect();
        let req = request(samples, AnalysisType::All);
        assert_eq!(req.validate(), Ok(()));
        let started = std::time::Instant::now();
        let out = analyze(&req, TODAY);
        let elapsed = started.elapsed();
        let plan = out.batching.expect("batching requested");
        let planned: u32 = plan.batches.iter().map(|b| b.sample_count).sum();
        let to_shoot = (0..MAX_SAMPLES).filter(|i| i % 6 < 4).count();
        assert_eq!(planned as usize, to_shoot);
        assert_eq!(plan.batches.len(), 5);
        let blockers = out.blockers.expect("blockers requested");
        assert!(blockers.windows(2).all(|w| w[0].score >= w[1].score));
        // Generous bound so debug builds on slow CI pass; release is far below.
        assert!(elapsed.as_millis() < 2_000, "took {elapsed:?}");
    }

    // --- validation ------------------------------------------------------

    fn validation_message(samples: Vec<Sample>) -> String {
        request(samples, AnalysisType::All)
            .validate()
            .expect_err("request should be rejected")
            .to_string()
    }

    #[test]
    fn fixture_is_valid() {
        assert_eq!(request(fixture(), AnalysisType::All).validate(), Ok(()));
    }

    #[test]
    fn rejects_empty_sample_list() {
        assert_eq!(
            validation_message(vec![]),
            "sampleList must contain at least one sample"
        );
    }

    #[test]
    fn rejects_too_many_samples() {
        let samples: Vec<Sample> = (0..=MAX_SAMPLES)
            .map(|i| sample(&i.to_string(), "bags", SampleStatus::Awaiting))
            .collect();
        assert_eq!(
            validation_message(samples),
            "sampleList has 10001 samples; at most 10000 are accepted"
        );
    }

    #[test]
    fn rejects_invalid_date_with_field_path() {
        let mut samples = fixture();
        samples[3].due_date = Some("2025-13-01".to_owned());
        assert_eq!(
            validation_message(samples),
            "sampleList[3].dueDate: \"2025-13-01\" is not a valid YYYY-MM-DD date"
        );
        let mut samples = fixture();
        samples[0].due_date = Some("2025-02-30".to_owned());
        assert_eq!(
            validation_message(samples),
            "sampleList[0].dueDate: \"2025-02-30\" is not a valid YYYY-MM-DD date"
        );
    }

    #[test]
    fn rejects_duplicate_ids() {
        let mut samples = fixture();
        samples[5].id = "s-1".to_owned();
        assert_eq!(
            validation_message(samples),
            "sampleList[5].id: duplicate id \"s-1\""
        );
    }

    #[test]
    fn rejects_blank_and_overlong_text() {
        let mut samples = fixture();
        samples[2].name = "   ".to_owned();
        assert_eq!(
            validation_message(samples),
            "sampleList[2].name: must not be empty"
        );

        let mut samples = fixture();
        samples[0].id = String::new();
        assert_eq!(
            validation_message(samples),
            "sampleList[0].id: must not be empty"
        );

        let mut samples = fixture();
        samples[1].category = "é".repeat(201);
        assert_eq!(
            validation_message(samples),
            "sampleList[1].category: is 201 characters long; at most 200 are accepted"
        );

        let mut samples = fixture();
        samples[1].category = "é".repeat(200);
        assert_eq!(request(samples, AnalysisType::All).validate(), Ok(()));

        let mut samples = fixture();
        samples[4].brand = Some(String::new());
        assert_eq!(
            validation_message(samples),
            "sampleList[4].brand: must not be empty"
        );

        let mut samples = fixture();
        samples[4].owner = Some("x".repeat(300));
        assert_eq!(
            validation_message(samples),
            "sampleList[4].owner: is 300 characters long; at most 200 are accepted"
        );

        let mut req = request(fixture(), AnalysisType::All);
        req.tracker_id = Some(" ".to_owned());
        assert_eq!(
            req.validate().map_err(|e| e.0),
            Err("trackerId: must not be empty".to_owned())
        );
    }

    #[test]
    fn rejects_look_number_zero() {
        let mut samples = fixture();
        samples[6].look_number = Some(0);
        assert_eq!(
            validation_message(samples),
            "sampleList[6].lookNumber: must be at least 1"
        );
    }

    // --- serde -------------------------------------------------------------

    #[test]
    fn status_wire_names_match_serde() {
        for status in SampleStatus::ALL {
            let json = serde_json::to_string(&status).expect("serializable");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            let back: SampleStatus = serde_json::from_str(&json).expect("round trip");
            assert_eq!(back, status);
        }
    }

    #[test]
    fn unknown_status_is_rejected_by_serde() {
        let json = r#"{"sampleList":[{"id":"a","name":"Coat","category":"outerwear","status":"lost"}],"analysisType":"all"}"#;
        let err = serde_json::from_str::<LogisticsRequest>(json)
            .expect_err("unknown status must fail")
            .to_string();
        assert!(err.contains("unknown variant `lost`"), "{err}");
    }

    #[test]
    fn unknown_fields_and_analysis_types_are_rejected_by_serde() {
        let typo = r#"{"sampleList":[{"id":"a","name":"Coat","category":"outerwear","status":"shot","isHeroo":true}],"analysisType":"all"}"#;
        let err = serde_json::from_str::<LogisticsRequest>(typo)
            .expect_err("typo must fail")
            .to_string();
        assert!(err.contains("unknown field `isHeroo`"), "{err}");

        let top = r#"{"sampleList":[],"analysisType":"all","extra":1}"#;
        assert!(serde_json::from_str::<LogisticsRequest>(top).is_err());

        let bad_type = r#"{"sampleList":[],"analysisType":"everything"}"#;
        assert!(serde_json::from_str::<LogisticsRequest>(bad_type).is_err());

        let missing_type = r#"{"sampleList":[]}"#;
        assert!(serde_json::from_str::<LogisticsRequest>(missing_type).is_err());
    }

    #[test]
    fn realistic_json_request_round_trips_to_camel_case_analysis() {
        let json = r#"{
            "trackerId": "tracker-ss25-campaign",
            "analysisType": "all",
            "sampleList": [
                {"id": "s-1", "name": "Camel Wool Coat", "category": "Outerwear", "status": "on_set",
                 "isHero": true, "brand": "Maison Lune", "dueDate": "2025-03-08", "owner": "Maya", "lookNumber": 1},
                {"id": "s-2", "name": "Leather Ankle Boot", "category": "shoes", "status": "in_transit",
                 "isHero": true, "brand": "Maison Lune", "dueDate": "2025-03-08", "lookNumber": 2},
                {"id": "s-3", "name": "Silk Scarf", "category": "accessories", "status": "requested",
                 "dueDate": "2025-03-11", "lookNumber": 3},
                {"id": "s-4", "name": "Gold Hoops", "category": "accessories", "status": "shot",
                 "brand": null, "lookNumber": 3}
            ]
        }"#;
        let req: LogisticsRequest = serde_json::from_str(json).expect("valid request JSON");
        assert_eq!(req.tracker_id.as_deref(), Some("tracker-ss25-campaign"));
        assert!(req.sample_list[0].is_hero && !req.sample_list[2].is_hero);
        assert_eq!(req.validate(), Ok(()));

        let out = serde_json::to_value(analyze(&req, TODAY)).expect("serializable");
        let readiness = &out["readiness"];
        assert_eq!(readiness["total"], 4);
        assert_eq!(readiness["onSet"], 1);
        assert_eq!(readiness["ready"], 2);
        assert_eq!(readiness["readinessPercent"], 50.0);
        assert_eq!(readiness["byStatus"]["on_set"], 1);
        assert_eq!(readiness["byStatus"]["in_transit"], 1);
        assert_eq!(readiness["byStatus"]["returned"], 0);
        assert_eq!(readiness["heroTotal"], 2);
        assert_eq!(readiness["heroReady"], 1);
        assert_eq!(readiness["heroReadinessPercent"], 50.0);

        let blocker = &out["blockers"][0];
        assert_eq!(blocker["sampleId"], "s-2");
        assert_eq!(blocker["sampleName"], "Leather Ankle Boot");
        assert_eq!(blocker["status"], "in_transit");
        assert_eq!(blocker["isHero"], true);
        assert_eq!(blocker["kind"], "delayed");
        assert_eq!(blocker["severity"], "critical");
        assert_eq!(blocker["score"], 75);
        assert_eq!(blocker["daysOverdue"], 2);
        assert_eq!(blocker["dueDate"], "2025-03-08");
        assert_eq!(blocker["brand"], "Maison Lune");
        assert!(blocker.get("owner").is_none());
        assert!(blocker["reason"].is_string());
        assert!(blocker["suggestedAction"].is_string());
        assert_eq!(out["blockers"][1]["kind"], "at_risk");

        let plan = &out["batching"];
        // s-1 O(h) 15+12, s-2 S(h) 15+12, s-3 A 15+8 -> 77 sequential = batched.
        assert_eq!(plan["sequentialMinutes"], 77);
        assert_eq!(plan["batchedMinutes"], 77);
        assert_eq!(plan["timeSavedMinutes"], 0);
        assert_eq!(plan["timeSavedPercent"], 0.0);
        let first = &plan["batches"][0];
        assert_eq!(first["category"], "outerwear");
        assert_eq!(first["sampleIds"], serde_json::json!(["s-1"]));
        assert_eq!(first["heroCount"], 1);
        assert_eq!(first["sampleCount"], 1);
        assert_eq!(first["estimatedMinutes"], 27);
        assert_eq!(first["priority"], 1);

        // Round trip of the output types.
        let back: LogisticsAnalysis = serde_json::from_value(out).expect("round trip");
        assert_eq!(back, analyze(&req, TODAY));
    }

    #[test]
    fn unrequested_sections_are_omitted_from_json() {
        let req = request(fixture(), AnalysisType::Readiness);
        let out = serde_json::to_value(analyze(&req, TODAY)).expect("serializable");
        let keys: Vec<&String> = out.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["readiness"]);
        let empty_heroes = request(
            vec![sample("a", "bags", SampleStatus::Shot)],
            AnalysisType::Readiness,
        );
        let out = serde_json::to_value(analyze(&empty_heroes, TODAY)).expect("serializable");
        assert!(out["readiness"]["heroReadinessPercent"].is_null());
    }

    // --- dates -------------------------------------------------------------

    #[test]
    fn known_dates_convert_to_days() {
        let cases = [
            ("1970-01-01", 0),
            ("1969-12-31", -1),
            ("2000-03-01", 11_017),
            ("2024-02-29", 19_782),
            ("2025-03-10", 20_157),
            ("1900-03-01", -25_508),
            ("0001-01-01", -719_162),
            ("9999-12-31", 2_932_896),
        ];
        for (text, days) in cases {
            assert_eq!(days_from_iso_date(text), Some(days), "{text}");
            assert_eq!(iso_date_from_days(days), text);
        }
    }

    #[test]
    fn leap_years_follow_gregorian_rules() {
        assert!(days_from_iso_date("2024-02-29").is_some());
        assert!(days_from_iso_date("2000-02-29").is_some());
        assert!(days_from_iso_date("2023-02-29").is_none());
        assert!(days_from_iso_date("1900-02-29").is_none());
        assert!(days_from_iso_date("2100-02-29").is_none());
        assert_eq!(
            days_from_iso_date("2024-03-01"),
            days_from_iso_date("2024-02-29").map(|d| d + 1)
        );
    }

    #[test]
    fn date_conversion_round_trips() {
        let start = days_from_iso_date("1600-01-01").expect("valid");
        let end = days_from_iso_date("2400-12-31").expect("valid");
        let mut previous: Option<String> = None;
        for days in start..=end {
            let text = iso_date_from_days(days);
            assert_eq!(days_from_iso_date(&text), Some(days), "{text}");
            if let Some(prev) = &previous {
                assert!(prev < &text, "{prev} !< {text}");
            }
            previous = Some(text);
        }
    }

    #[test]
    fn malformed_dates_are_rejected() {
        for bad in [
            "",
            "2025-3-01",
            "2025-03-1",
            "25-03-01",
            "2025/03/01",
            "2025-03-01T00:00",
            "2025-00-10",
            "2025-04-31",
            "2025-01-32",
            "2025-01-00",
            "+025-01-01",
            "2025-0a-01",
            " 2025-03-01",
            "２０２５-03-01",
        ] {
            assert_eq!(days_from_iso_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn extreme_day_counts_do_not_panic() {
        assert!(!iso_date_from_days(i64::MAX).is_empty());
        assert!(!iso_date_from_days(i64::MIN).is_empty());
        let s = due(sample("a", "bags", SampleStatus::Requested), "2025-01-01");
        let far = blockers(std::slice::from_ref(&s), i64::MAX);
        assert_eq!(far[0].score, 95);
        let past = blockers(std::slice::from_ref(&s), i64::MIN);
        assert!(past.is_empty());
    }
}
