//! Pure domain logic of the `events-optimizer` edge function.
//!
//! A producer sends one event (a fashion show) with its prep tasks, its
//! staffing plan and its running order, and asks for one or more analyses:
//!
//! * **critical path** — the longest chain of prep work still to do, computed
//!   with the critical path method (see [`CriticalPathReport`]), against the
//!   moment everything must be ready: setup start;
//! * **staffing** — required versus assigned crew per role and block, with
//!   the gaps flagged (see [`StaffingGap`]);
//! * **run of show** — a timeline of setup, show (with its running order) and
//!   teardown blocks (see [`RunOfShowDraft`]).
//!
//! Everything here is pure: the caller supplies "now" as minutes since the
//! Unix epoch, and adds `cached` / `calculatedAt` to the response itself.

use crate::cache::{InsightFamily, InsightRequest, InsightSlot};
use crate::calendar::{iso_datetime_from_minutes, minutes_from_iso_datetime};
use crate::validation::{Validate, ValidationError, check_text};
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// Maximum number of tasks accepted in one event.
pub const MAX_TASKS: usize = 2_000;

/// Maximum number of staffing requirements accepted in one event.
pub const MAX_STAFFING_REQUIREMENTS: usize = 500;

/// Maximum number of staff assignments accepted in one event.
pub const MAX_ASSIGNMENTS: usize = 5_000;

/// Maximum number of show segments accepted in one event.
pub const MAX_SEGMENTS: usize = 500;

/// Maximum duration of one task, in minutes (365 days).
pub const MAX_TASK_MINUTES: u32 = 525_600;

/// Maximum length of the setup, show or teardown block, in minutes (7 days).
pub const MAX_BLOCK_MINUTES: u32 = 10_080;

/// Maximum head count of one staffing requirement.
pub const MAX_REQUIRED_STAFF: u32 = 1_000;

/// Setup (load-in, rigging, hair & makeup) minutes when the event gives none.
pub const DEFAULT_SETUP_MINUTES: u32 = 120;

/// Teardown (load-out, strike) minutes when the event gives none.
pub const DEFAULT_TEARDOWN_MINUTES: u32 = 90;

/// An understaffed role is `critical` when it misses at least this share (%) of its head count.
pub const CRITICAL_GAP_PERCENT: u32 = 25;

/// Name of the segment appended when the running order is shorter than the show.
pub const BUFFER_SEGMENT_NAME: &str = "buffer";

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

/// Where a production task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not started.
    Todo,
    /// Started; its full duration still counts as remaining work.
    InProgress,
    /// Finished; counts as zero remaining minutes.
    Done,
    /// Cannot progress until something outside the plan is resolved.
    Blocked,
}

impl TaskStatus {
    /// All statuses in lifecycle order.
    pub const ALL: [TaskStatus; 4] = [
        TaskStatus::Todo,
        TaskStatus::InProgress,
        TaskStatus::Done,
        TaskStatus::Blocked,
    ];

    /// The snake_case wire name (`"todo"`, `"in_progress"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Todo => "todo",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Done => "done",
            TaskStatus::Blocked => "blocked",
        }
    }

    /// True when the task is finished.
    pub fn is_done(self) -> bool {
        self == TaskStatus::Done
    }
}

/// A phase of the event day, each staffed separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Block {
    /// Load-in, rigging, hair & makeup, dressing: from ready-by to show start.
    Setup,
    /// The show itself: from show start for `showMinutes`.
    Show,
    /// Load-out and strike: from show end for `teardownMinutes`.
    Teardown,
}

impl Block {
    /// All blocks in running order.
    pub const ALL: [Block; 3] = [Block::Setup, Block::Show, Block::Teardown];

    /// The snake_case wire name (`"setup"`, `"show"`, `"teardown"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Block::Setup => "setup",
            Block::Show => "show",
            Block::Teardown => "teardown",
        }
    }
}

/// One production task (casting, fittings, venue booking, programme print…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Task {
    /// Unique id of the task within the event.
    pub id: String,
    /// Human name, e.g. "Final fittings".
    pub name: String,
    /// Work still needed from start to finish, in minutes (0 for a milestone).
    pub duration_minutes: u32,
    /// Ids of the tasks that must finish before this one starts; defaults to none.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Current status.
    pub status: TaskStatus,
    /// Team member responsible for the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// ISO datetime (`YYYY-MM-DDTHH:MM`, UTC) by which the task must be finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
}

/// How many people of one role a block needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StaffingRequirement {
    /// Role such as "dresser", "hair", "makeup", "runner", "security" (trimmed and lower-cased for matching).
    pub role: String,
    /// Block the people are needed for.
    pub block: Block,
    /// Head count needed (1 to [`MAX_REQUIRED_STAFF`]).
    pub required: u32,
}

/// One person booked in one role for one block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StaffAssignment {
    /// Name (or id) of the crew member; at most one role per block.
    pub person: String,
    /// Role they fill (trimmed and lower-cased for matching).
    pub role: String,
    /// Block they work.
    pub block: Block,
}

/// One item of the show's running order (opening, looks 1-20, finale…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShowSegment {
    /// Human name, e.g. "Looks 1-20".
    pub name: String,
    /// Length of the segment in minutes (at least 1).
    pub minutes: u32,
}

fn default_setup_minutes() -> u32 {
    DEFAULT_SETUP_MINUTES
}

fn default_teardown_minutes() -> u32 {
    DEFAULT_TEARDOWN_MINUTES
}

/// A fashion show (or other event) to produce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    /// Id of the event.
    pub id: String,
    /// Human name, e.g. "SS26 Runway".
    pub name: String,
    /// Show start as an ISO datetime (`YYYY-MM-DDTHH:MM`, UTC).
    pub starts_at: String,
    /// Length of the show in minutes (1 to [`MAX_BLOCK_MINUTES`]).
    pub show_minutes: u32,
    /// Setup before the show, in minutes; defaults to [`DEFAULT_SETUP_MINUTES`].
    #[serde(default = "default_setup_minutes")]
    pub setup_minutes: u32,
    /// Teardown after the show, in minutes; defaults to [`DEFAULT_TEARDOWN_MINUTES`].
    #[serde(default = "default_teardown_minutes")]
    pub teardown_minutes: u32,
    /// Venue name or address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
    /// Prep tasks, all due before setup starts (0 to [`MAX_TASKS`]).
    pub tasks: Vec<Task>,
    /// Crew needed per role and block; defaults to none.
    #[serde(default)]
    pub staffing: Vec<StaffingRequirement>,
    /// Crew booked per role and block; defaults to none.
    #[serde(default)]
    pub assignments: Vec<StaffAssignment>,
    /// The show's running order; defaults to none (not yet set).
    #[serde(default)]
    pub segments: Vec<ShowSegment>,
}

/// Which analyses the caller wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventsAnalysisType {
    /// Critical path report only.
    CriticalPath,
    /// Staffing gaps only.
    Staffing,
    /// Run of show draft only.
    RunOfShow,
    /// All three sections.
    All,
}

impl EventsAnalysisType {
    /// All analysis types.
    pub const ALL: [EventsAnalysisType; 4] = [
        EventsAnalysisType::CriticalPath,
        EventsAnalysisType::Staffing,
        EventsAnalysisType::RunOfShow,
        EventsAnalysisType::All,
    ];

    /// The snake_case wire name (`"critical_path"`, `"staffing"`, `"run_of_show"`, `"all"`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventsAnalysisType::CriticalPath => "critical_path",
            EventsAnalysisType::Staffing => "staffing",
            EventsAnalysisType::RunOfShow => "run_of_show",
            EventsAnalysisType::All => "all",
        }
    }

    /// True when the critical path section must be computed.
    pub fn includes_critical_path(self) -> bool {
        matches!(
            self,
            EventsAnalysisType::CriticalPath | EventsAnalysisType::All
        )
    }

    /// True when the staffing section must be computed.
    pub fn includes_staffing(self) -> bool {
        matches!(self, EventsAnalysisType::Staffing | EventsAnalysisType::All)
    }

    /// True when the run of show section must be computed.
    pub fn includes_run_of_show(self) -> bool {
        matches!(
            self,
            EventsAnalysisType::RunOfShow | EventsAnalysisType::All
        )
    }
}

/// Request body of the `events-optimizer` function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventsRequest {
    /// The event to analyze.
    pub event: Event,
    /// Which analyses to run.
    pub analysis_type: EventsAnalysisType,
}

impl InsightRequest for EventsRequest {
    const FAMILY: InsightFamily = InsightFamily::Events;

    fn slot(&self) -> InsightSlot {
        InsightSlot::new(self.analysis_type.as_str(), Some(&self.event.id))
    }
}

impl Validate for EventsRequest {
    /// Checks the request strictly; the first problem found is reported with its field path.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] for any problem listed on [`Event::validate`].
    fn validate(&self) -> Result<(), ValidationError> {
        self.event.validate()
    }
}

impl Event {
    /// Checks the event strictly; the first problem found is reported with its field path.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] for blank or overlong text (see
    /// [`crate::validation::MAX_TEXT_CHARS`]), an invalid datetime, a
    /// `showMinutes` of 0, a block, task or head count above its maximum, too
    /// many tasks / requirements / assignments / segments, a duplicate task
    /// id, an unknown, duplicate or self dependency, a dependency cycle
    /// (`event.tasks: dependency cycle t-1 -> t-2 -> t-1`, the arrow reading
    /// "depends on"), a duplicate requirement for a role and block, a person
    /// assigned twice in one block, a segment of 0 minutes, or segments
    /// longer in total than the show.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text(|| "event.id".to_owned(), &self.id)?;
        check_text(|| "event.name".to_owned(), &self.name)?;
        if let Some(venue) = &self.venue {
            check_text(|| "event.venue".to_owned(), venue)?;
        }
        check_datetime(|| "event.startsAt".to_owned(), &self.starts_at)?;
        if self.show_minutes == 0 {
            return Err(ValidationError(
                "event.showMinutes: must be at least 1".to_owned(),
            ));
        }
        check_max(
            || "event.showMinutes".to_owned(),
            self.show_minutes,
            MAX_BLOCK_MINUTES,
        )?;
        check_max(
            || "event.setupMinutes".to_owned(),
            self.setup_minutes,
            MAX_BLOCK_MINUTES,
        )?;
        check_max(
            || "event.teardownMinutes".to_owned(),
            self.teardown_minutes,
            MAX_BLOCK_MINUTES,
        )?;
        self.validate_tasks()?;
        self.validate_staffing()?;
        self.validate_segments()
    }

    fn validate_tasks(&self) -> Result<(), ValidationError> {
        let count = self.tasks.len();
        if count > MAX_TASKS {
            return Err(ValidationError(format!(
                "event.tasks has {count} tasks; at most {MAX_TASKS} are accepted"
            )));
        }
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(count);
        for (i, task) in self.tasks.iter().enumerate() {
            let field = |name: &str| format!("event.tasks[{i}].{name}");
            check_text(|| field("id"), &task.id)?;
            if index.insert(task.id.as_str(), i).is_some() {
                return Err(ValidationError(format!(
                    "{}: duplicate id {:?}",
                    field("id"),
                    task.id
                )));
            }
            check_text(|| field("name"), &task.name)?;
            check_max(
                || field("durationMinutes"),
                task.duration_minutes,
                MAX_TASK_MINUTES,
            )?;
            if let Some(owner) = &task.owner {
                check_text(|| field("owner"), owner)?;
            }
            if let Some(deadline) = &task.deadline {
                check_datetime(|| field("deadline"), deadline)?;
            }
        }

        // `seen[d] == i + 1` marks dependency `d` as already listed by task `i`.
        let mut seen = vec![0usize; count];
        for (i, task) in self.tasks.iter().enumerate() {
            for (j, dep) in task.depends_on.iter().enumerate() {
                let path = || format!("event.tasks[{i}].dependsOn[{j}]");
                let Some(&d) = index.get(dep.as_str()) else {
                    return Err(ValidationError(format!(
                        "{}: unknown task {:?}",
                        path(),
                        dep
                    )));
                };
                if d == i {
                    return Err(ValidationError(format!(
                        "{}: task {:?} cannot depend on itself",
                        path(),
                        dep
                    )));
                }
                if let Some(mark) = seen.get_mut(d) {
                    if *mark == i + 1 {
                        return Err(ValidationError(format!(
                            "{}: duplicate dependency {:?}",
                            path(),
                            dep
                        )));
                    }
                    *mark = i + 1;
                }
            }
        }

        let graph = Graph::build(&self.tasks);
        if graph.order.len() < count {
            let cycle = graph.find_cycle();
            let mut text = String::from("event.tasks: dependency cycle ");
            for &t in cycle.iter().chain(cycle.first()) {
                if let Some(task) = self.tasks.get(t) {
                    if !text.ends_with(' ') {
                        text.push_str(" -> ");
                    }
                    text.push_str(&task.id);
                }
            }
            return Err(ValidationError(text));
        }
        Ok(())
    }

    fn validate_staffing(&self) -> Result<(), ValidationError> {
        let count = self.staffing.len();
        if count > MAX_STAFFING_REQUIREMENTS {
            return Err(ValidationError(format!(
                "event.staffing has {count} requirements; at most {MAX_STAFFING_REQUIREMENTS} are accepted"
            )));
        }
        let mut roles: HashMap<(Cow<'_, str>, Block), usize> = HashMap::with_capacity(count);
        for (i, req) in self.staffing.iter().enumerate() {
            let field = |name: &str| format!("event.staffing[{i}].{name}");
            check_text(|| field("role"), &req.role)?;
            if req.required == 0 {
                return Err(ValidationError(format!(
                    "{}: must be at least 1",
                    field("required")
                )));
            }
            check_max(|| field("required"), req.required, MAX_REQUIRED_STAFF)?;
            let key = match_key(&req.role);
            if let Some(first) = roles.insert((key.clone(), req.block), i) {
                return Err(ValidationError(format!(
                    "{}: duplicate requirement for role {:?} in block {} (see event.staffing[{first}])",
                    field("role"),
                    key,
                    req.block.as_str()
                )));
            }
        }

        let count = self.assignments.len();
        if count > MAX_ASSIGNMENTS {
            return Err(ValidationError(format!(
                "event.assignments has {count} assignments; at most {MAX_ASSIGNMENTS} are accepted"
            )));
        }
        let mut people: HashMap<(Cow<'_, str>, Block), &str> = HashMap::with_capacity(count);
        for (i, assignment) in self.assignments.iter().enumerate() {
            let field = |name: &str| format!("event.assignments[{i}].{name}");
            check_text(|| field("person"), &assignment.person)?;
            check_text(|| field("role"), &assignment.role)?;
            let person = match_key(&assignment.person);
            if let Some(role) = people.insert((person, assignment.block), &assignment.role) {
                return Err(ValidationError(format!(
                    "{}: {:?} is already assigned to the {} block (as {:?})",
                    field("person"),
                    assignment.person,
                    assignment.block.as_str(),
                    match_key(role)
                )));
            }
        }
        Ok(())
    }

    fn validate_segments(&self) -> Result<(), ValidationError> {
        let count = self.segments.len();
        if count > MAX_SEGMENTS {
            return Err(ValidationError(format!(
                "event.segments has {count} segments; at most {MAX_SEGMENTS} are accepted"
            )));
        }
        let mut total = 0u64;
        for (i, segment) in self.segments.iter().enumerate() {
            let field = |name: &str| format!("event.segments[{i}].{name}");
            check_text(|| field("name"), &segment.name)?;
            if segment.minutes == 0 {
                return Err(ValidationError(format!(
                    "{}: must be at least 1",
                    field("minutes")
                )));
            }
            total += u64::from(segment.minutes);
        }
        if total > u64::from(self.show_minutes) {
            return Err(ValidationError(format!(
                "event.segments: total {total} minutes exceeds showMinutes {}",
                self.show_minutes
            )));
        }
        Ok(())
    }
}

fn check_max(path: impl FnOnce() -> String, value: u32, max: u32) -> Result<(), ValidationError> {
    if value > max {
        return Err(ValidationError(format!(
            "{}: must be at most {max}",
            path()
        )));
    }
    Ok(())
}

fn check_datetime(path: impl FnOnce() -> String, value: &str) -> Result<(), ValidationError> {
    if minutes_from_iso_datetime(value).is_none() {
        return Err(ValidationError(format!(
            "{}: {:?} is not a valid ISO datetime (YYYY-MM-DDTHH:MM)",
            path(),
            value
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/// How urgent a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational only (an overstaffed role).
    Ok,
    /// Needs attention but does not move the show.
    Warning,
    /// Threatens the show: on the critical path, or a large crew gap.
    Critical,
}

/// Why a task is a blocker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockerKind {
    /// The task itself is `blocked`.
    Blocked,
    /// The task is not done and depends directly on a `blocked` task.
    BlockedDependency,
    /// The task's deadline is earlier than its earliest finish.
    MissedDeadline,
}

/// A task that holds up the production.
///
/// Only tasks not `done` are considered; a task can appear once per kind.
/// Severity is [`Severity::Critical`] when the task is critical (zero slack,
/// i.e. on a critical path), else [`Severity::Warning`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    /// Id of the task.
    pub task_id: String,
    /// Name of the task.
    pub task_name: String,
    /// Why it is a blocker.
    pub kind: BlockerKind,
    /// Critical on the critical path, else warning.
    pub severity: Severity,
    /// Current status of the task.
    pub status: TaskStatus,
    /// Team member responsible for the task, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Ids of the blocked tasks it waits on (only for `blocked_dependency`, else empty).
    pub waiting_on: Vec<String>,
    /// Minutes between the deadline and the earliest finish (only for `missed_deadline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_minutes: Option<i64>,
    /// Human sentence naming the task and the problem.
    pub reason: String,
}

/// CPM schedule of one task not yet done; all times are minutes from now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledTask {
    /// Id of the task.
    pub task_id: String,
    /// Name of the task.
    pub task_name: String,
    /// Current status of the task.
    pub status: TaskStatus,
    /// Remaining work (its full duration, also when in progress).
    pub duration_minutes: u32,
    /// Earliest start: latest earliest finish of its dependencies (0 without any).
    pub earliest_start: u32,
    /// `earliest_start + duration_minutes`.
    pub earliest_finish: u32,
    /// `latest_finish - duration_minutes`.
    pub latest_start: u32,
    /// Latest finish that does not delay the project: earliest latest start of its dependents (project end without any).
    pub latest_finish: u32,
    /// `latest_start - earliest_start`.
    pub slack_minutes: u32,
    /// True when the slack is zero.
    pub critical: bool,
}

/// Critical path of the prep work against the moment setup starts.
///
/// Critical path method over the dependency graph: topological order with
/// Kahn's algorithm, a forward pass (`ES = max EF of dependencies`,
/// `EF = ES + duration`) and a backward pass from the project end
/// (`LF = min LS of dependents`, `LS = LF - duration`), O(tasks +
/// dependencies). Durations are the full `durationMinutes` for `todo`,
/// `in_progress` and `blocked` tasks and 0 for `done` ones. All prep must be
/// done when setup starts: `readyBy = startsAt - setupMinutes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CriticalPathReport {
    /// Ids of one critical chain of tasks not yet done, first to last (empty when nothing is left).
    pub path: Vec<String>,
    /// Longest chain of remaining work: the project end of the CPM schedule.
    pub remaining_minutes: u32,
    /// The "now" of the analysis (ISO datetime).
    pub as_of: String,
    /// `now + remaining_minutes` (ISO datetime).
    pub projected_finish: String,
    /// `startsAt - setupMinutes` (ISO datetime): when all prep must be done.
    pub ready_by: String,
    /// `readyBy - projectedFinish` in minutes; negative means late.
    pub buffer_minutes: i64,
    /// True when `buffer_minutes >= 0` and there is no critical blocker.
    pub on_track: bool,
    /// Number of tasks not done.
    pub open_tasks: u32,
    /// Number of tasks done.
    pub done_tasks: u32,
    /// Schedule of the tasks not done, by earliest start then list order.
    pub schedule: Vec<ScheduledTask>,
    /// Blockers: critical first, then by earliest start, list order and kind.
    pub blockers: Vec<Blocker>,
}

/// Difference between required and assigned crew for one role in one block.
///
/// Severity: understaffed (`gap > 0`) is [`Severity::Critical`] when
/// `gap * 100 >= required * CRITICAL_GAP_PERCENT` (a quarter or more of the
/// head count is missing, or the role is not staffed at all), else
/// [`Severity::Warning`]; overstaffed (`gap < 0`, including roles assigned
/// but never required) is [`Severity::Ok`], informational.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StaffingGap {
    /// Normalised (trimmed, lower-case) role.
    pub role: String,
    /// Block of the day.
    pub block: Block,
    /// Head count required (0 when the role is only assigned).
    pub required: u32,
    /// Head count assigned.
    pub assigned: u32,
    /// `required - assigned`: positive understaffed, negative overstaffed; never 0.
    pub gap: i32,
    /// Critical / warning when understaffed, ok when overstaffed.
    pub severity: Severity,
}

/// One timed item of a block (a show segment, or the trailing buffer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunOfShowSegment {
    /// Segment name, or [`BUFFER_SEGMENT_NAME`] for the buffer.
    pub name: String,
    /// Start (ISO datetime).
    pub starts_at: String,
    /// End (ISO datetime).
    pub ends_at: String,
    /// Length in minutes.
    pub minutes: u32,
    /// True for the buffer appended when the running order is shorter than the show.
    pub buffer: bool,
}

/// One block (setup, show, teardown) of the run of show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunOfShowBlock {
    /// Which block.
    pub block: Block,
    /// Start (ISO datetime).
    pub starts_at: String,
    /// End (ISO datetime).
    pub ends_at: String,
    /// Length in minutes.
    pub minutes: u32,
    /// Assigned head count per normalised role, every role required or assigned in the block.
    pub crew: BTreeMap<String, u32>,
    /// Total assigned head count of the block.
    pub crew_total: u32,
    /// Timed running order (show block only; empty when no segments were given).
    pub segments: Vec<RunOfShowSegment>,
}

/// Timeline of the event day: setup, show and teardown, back to back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunOfShowDraft {
    /// Setup start, `startsAt - setupMinutes` (ISO datetime).
    pub starts_at: String,
    /// Teardown end, `startsAt + showMinutes + teardownMinutes` (ISO datetime).
    pub ends_at: String,
    /// `setupMinutes + showMinutes + teardownMinutes`.
    pub total_minutes: u32,
    /// Setup, show and teardown, in that order.
    pub blocks: Vec<RunOfShowBlock>,
}

/// Result of [`analyze`]; sections not requested are `None` and omitted from JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsAnalysis {
    /// Critical path report, when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_path: Option<CriticalPathReport>,
    /// Staffing gaps (gap ≠ 0 only), by gap descending then role and block, when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staffing: Option<Vec<StaffingGap>>,
    /// Run of show draft, when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_of_show: Option<RunOfShowDraft>,
}

// ---------------------------------------------------------------------------
// Analysis
// ---------------------------------------------------------------------------

/// Runs the requested analyses; `now_minutes` is now as minutes since 1970-01-01T00:00Z.
///
/// Expects a validated request; an unparsable `startsAt` is read as the
/// epoch, unparsable deadlines as absent, and tasks in a dependency cycle or
/// depending on an unknown id are left out of the schedule.
pub fn analyze(request: &EventsRequest, now_minutes: i64) -> EventsAnalysis {
    let event = &request.event;
    let kind = request.analysis_type;
    EventsAnalysis {
        critical_path: kind
            .includes_critical_path()
            .then(|| critical_path(event, now_minutes)),
        staffing: kind.includes_staffing().then(|| staffing_gaps(event)),
        run_of_show: kind.includes_run_of_show().then(|| run_of_show(event)),
    }
}

/// Dependency graph of the tasks, by index, with a topological order.
struct Graph {
    /// Dependencies of each task (unknown ids and self references dropped).
    deps: Vec<Vec<usize>>,
    /// Dependents of each task.
    successors: Vec<Vec<usize>>,
    /// Kahn's topological order; shorter than the task list when there is a cycle.
    order: Vec<usize>,
}

impl Graph {
    fn build(tasks: &[Task]) -> Graph {
        let n = tasks.len();
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(n);
        for (i, task) in tasks.iter().enumerate() {
            index.entry(task.id.as_str()).or_insert(i);
        }
        let deps: Vec<Vec<usize>> = tasks
            .iter()
            .enumerate()
            .map(|(i, task)| {
                task.depends_on
                    .iter()
                    .filter_map(|d| index.get(d.as_str()).copied())
                    .filter(|&d| d != i)
                    .collect()
            })
            .collect();
        let mut successors: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, ds) in deps.iter().enumerate() {
            for &d in ds {
                successors[d].push(i);
            }
        }
        // Kahn's algorithm, the order vector doubling as the FIFO queue.
        let mut pending: Vec<usize> = deps.iter().map(Vec::len).collect();
        let mut order: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
        order.reserve(n.saturating_sub(order.len()));
        let mut head = 0;
        while let Some(&t) = order.get(head) {
            head += 1;
            for &s in &successors[t] {
                pending[s] -= 1;
                if pending[s] == 0 {
                    order.push(s);
                }
            }
        }
        Graph {
            deps,
            successors,
            order,
        }
    }

    /// One dependency cycle, in "depends on" order, starting at its first task in list order.
    fn find_cycle(&self) -> Vec<usize> {
        let n = self.deps.len();
        let mut sorted = vec![false; n];
        for &t in &self.order {
            sorted[t] = true;
        }
        // Every task Kahn could not sort waits on another unsorted task, so
        // following unsorted dependencies must come back to a task already seen.
        let Some(mut current) = (0..n).find(|&i| !sorted[i]) else {
            return Vec::new();
        };
        let mut position: Vec<Option<usize>> = vec![None; n];
        let mut walk: Vec<usize> = Vec::new();
        loop {
            if let Some(p) = position[current] {
                let mut cycle = walk.split_off(p);
                let first = cycle
                    .iter()
                    .enumerate()
                    .min_by_key(|&(_, &t)| t)
                    .map_or(0, |(k, _)| k);
                cycle.rotate_left(first);
                return cycle;
            }
            position[current] = Some(walk.len());
            walk.push(current);
            match self.deps[current].iter().copied().find(|&d| !sorted[d]) {
                Some(next) => current = next,
                None => return Vec::new(),
            }
        }
    }
}

/// Sort key of a blocker: critical first, then earliest start, list index and kind.
type BlockerKey = (Reverse<Severity>, u32, usize, BlockerKind);

/// Computes the critical path report of an event; `now_minutes` as in [`analyze`].
pub fn critical_path(event: &Event, now_minutes: i64) -> CriticalPathReport {
    let tasks = &event.tasks;
    let n = tasks.len();
    let graph = Graph::build(tasks);
    let duration: Vec<u32> = tasks
        .iter()
        .map(|t| {
            if t.status.is_done() {
                0
            } else {
                t.duration_minutes
            }
        })
        .collect();

    // Forward pass.
    let mut es = vec![0u32; n];
    let mut ef = vec![0u32; n];
    for &t in &graph.order {
        es[t] = graph.deps[t].iter().map(|&d| ef[d]).max().unwrap_or(0);
        ef[t] = es[t].saturating_add(duration[t]);
    }
    let project = graph.order.iter().map(|&t| ef[t]).max().unwrap_or(0);

    // Backward pass.
    let mut lf = vec![project; n];
    let mut ls = vec![project; n];
    for &t in graph.order.iter().rev() {
        lf[t] = graph.successors[t]
            .iter()
            .map(|&s| ls[s])
            .min()
            .unwrap_or(project);
        ls[t] = lf[t].saturating_sub(duration[t]);
    }

    let mut scheduled = vec![false; n];
    let mut position = vec![0usize; n];
    for (p, &t) in graph.order.iter().enumerate() {
        scheduled[t] = true;
        position[t] = p;
    }
    let open = |t: usize| scheduled[t] && !tasks[t].status.is_done();
    let critical: Vec<bool> = (0..n).map(|t| open(t) && ls[t] == es[t]).collect();

    // One critical chain: from the last task (in topological order) finishing
    // at the project end, back through tight dependencies (EF = ES), preferring
    // the latest in topological order; done tasks are walked through, not listed.
    let mut chain = Vec::new();
    let mut current = graph
        .order
        .iter()
        .rev()
        .copied()
        .find(|&t| ef[t] == project);
    while let Some(t) = current {
        chain.push(t);
        current = graph.deps[t]
            .iter()
            .copied()
            .filter(|&d| ef[d] == es[t])
            .max_by_key(|&d| position[d]);
    }
    chain.reverse();
    let path: Vec<String> = chain
        .into_iter()
        .filter(|&t| !tasks[t].status.is_done())
        .map(|t| tasks[t].id.clone())
        .collect();

    let mut open_ids: Vec<usize> = (0..n).filter(|&t| open(t)).collect();
    open_ids.sort_unstable_by_key(|&t| (es[t], t));
    let schedule: Vec<ScheduledTask> = open_ids
        .iter()
        .map(|&t| ScheduledTask {
            task_id: tasks[t].id.clone(),
            task_name: tasks[t].name.clone(),
            status: tasks[t].status,
            duration_minutes: duration[t],
            earliest_start: es[t],
            earliest_finish: ef[t],
            latest_start: ls[t],
            latest_finish: lf[t],
            slack_minutes: ls[t].saturating_sub(es[t]),
            critical: critical[t],
        })
        .collect();

    // Blockers, each with its sort key.
    let mut found: Vec<(BlockerKey, Blocker)> = Vec::new();
    for &t in &open_ids {
        let task = &tasks[t];
        let severity = if critical[t] {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let mut push = |kind, waiting_on, late_minutes, reason| {
            found.push((
                (Reverse(severity), es[t], t, kind),
                Blocker {
                    task_id: task.id.clone(),
                    task_name: task.name.clone(),
                    kind,
                    severity,
                    status: task.status,
                    owner: task.owner.clone(),
                    waiting_on,
                    late_minutes,
                    reason,
                },
            ));
        };
        if task.status == TaskStatus::Blocked {
            let held = graph.successors[t]
                .iter()
                .filter(|&&s| !tasks[s].status.is_done())
                .count();
            let tail = match held {
                0 => ".".to_owned(),
                1 => " and holds up 1 task.".to_owned(),
                k => format!(" and holds up {k} tasks."),
            };
            let reason = format!("Task {:?} is blocked{tail}", task.name);
            push(BlockerKind::Blocked, Vec::new(), None, reason);
        }
        let blocked_deps: Vec<usize> = graph.deps[t]
            .iter()
            .copied()
            .filter(|&d| tasks[d].status == TaskStatus::Blocked)
            .collect();
        if !blocked_deps.is_empty() {
            let names: Vec<String> = blocked_deps
                .iter()
                .map(|&d| format!("{:?}", tasks[d].name))
                .collect();
            let noun = if names.len() == 1 { "task" } else { "tasks" };
            let reason = format!(
                "Task {:?} cannot start: it depends on blocked {noun} {}.",
                task.name,
                names.join(", ")
            );
            let waiting_on = blocked_deps.iter().map(|&d| tasks[d].id.clone()).collect();
            push(BlockerKind::BlockedDependency, waiting_on, None, reason);
        }
        let deadline = task.deadline.as_deref().and_then(minutes_from_iso_datetime);
        if let Some(deadline) = deadline {
            let finish = now_minutes.saturating_add(i64::from(ef[t]));
            if deadline < finish {
                let late = finish.saturating_sub(deadline);
                let unit = if late == 1 { "minute" } else { "minutes" };
                let reason = format!(
                    "Task {:?} is due {} but cannot finish before {} ({late} {unit} late).",
                    task.name,
                    iso_datetime_from_minutes(deadline),
                    iso_datetime_from_minutes(finish)
                );
                push(BlockerKind::MissedDeadline, Vec::new(), Some(late), reason);
            }
        }
    }
    found.sort_unstable_by_key(|(key, _)| *key);
    let blockers: Vec<Blocker> = found.into_iter().map(|(_, b)| b).collect();

    let starts = minutes_from_iso_datetime(&event.starts_at).unwrap_or(0);
    let ready_by = starts.saturating_sub(i64::from(event.setup_minutes));
    let projected = now_minutes.saturating_add(i64::from(project));
    let buffer_minutes = ready_by.saturating_sub(projected);
    let on_track = buffer_minutes >= 0 && blockers.iter().all(|b| b.severity != Severity::Critical);
    let open_tasks = u32::try_from(open_ids.len()).unwrap_or(u32::MAX);
    let done_tasks =
        u32::try_from(tasks.iter().filter(|t| t.status.is_done()).count()).unwrap_or(u32::MAX);
    CriticalPathReport {
        path,
        remaining_minutes: project,
        as_of: iso_datetime_from_minutes(now_minutes),
        projected_finish: iso_datetime_from_minutes(projected),
        ready_by: iso_datetime_from_minutes(ready_by),
        buffer_minutes,
        on_track,
        open_tasks,
        done_tasks,
        schedule,
        blockers,
    }
}

/// Required and assigned head counts per (normalised role, block).
fn crew_counts(event: &Event) -> BTreeMap<(Cow<'_, str>, Block), (u32, u32)> {
    let mut counts: BTreeMap<(Cow<'_, str>, Block), (u32, u32)> = BTreeMap::new();
    for req in &event.staffing {
        let entry = counts.entry((match_key(&req.role), req.block)).or_default();
        entry.0 = entry.0.saturating_add(req.required);
    }
    for assignment in &event.assignments {
        let entry = counts
            .entry((match_key(&assignment.role), assignment.block))
            .or_default();
        entry.1 = entry.1.saturating_add(1);
    }
    counts
}

/// Lists the staffing gaps of an event: one entry per (role, block) whose
/// gap is not 0, sorted by gap descending, then role, then block.
pub fn staffing_gaps(event: &Event) -> Vec<StaffingGap> {
    let mut gaps: Vec<StaffingGap> = crew_counts(event)
        .into_iter()
        .filter(|(_, (required, assigned))| required != assigned)
        .map(|((role, block), (required, assigned))| {
            let gap = i64::from(required) - i64::from(assigned);
            let severity = if gap < 0 {
                Severity::Ok
            } else if gap.saturating_mul(100)
                >= i64::from(required) * i64::from(CRITICAL_GAP_PERCENT)
            {
                Severity::Critical
            } else {
                Severity::Warning
            };
            StaffingGap {
                role: role.into_owned(),
                block,
                required,
                assigned,
                gap: i32::try_from(gap).unwrap_or(if gap < 0 { i32::MIN } else { i32::MAX }),
                severity,
            }
        })
        .collect();
    // The map already iterates by (role, block): a stable sort on gap keeps that order.
    gaps.sort_by_key(|g| Reverse(g.gap));
    gaps
}

/// Drafts the run of show of an event: setup, show (with its timed segments) and teardown.
pub fn run_of_show(event: &Event) -> RunOfShowDraft {
    let show_start = minutes_from_iso_datetime(&event.starts_at).unwrap_or(0);
    let setup_start = show_start.saturating_sub(i64::from(event.setup_minutes));
    let show_end = show_start.saturating_add(i64::from(event.show_minutes));
    let teardown_end = show_end.saturating_add(i64::from(event.teardown_minutes));

    let mut crews: BTreeMap<Block, BTreeMap<String, u32>> = BTreeMap::new();
    for ((role, block), (_, assigned)) in crew_counts(event) {
        crews
            .entry(block)
            .or_default()
            .insert(role.into_owned(), assigned);
    }

    let mut segments = Vec::with_capacity(event.segments.len() + 1);
    let mut cursor = show_start;
    for segment in &event.segments {
        let end = cursor.saturating_add(i64::from(segment.minutes));
        segments.push(RunOfShowSegment {
            name: segment.name.clone(),
            starts_at: iso_datetime_from_minutes(cursor),
            ends_at: iso_datetime_from_minutes(end),
            minutes: segment.minutes,
            buffer: false,
        });
        cursor = end;
    }
    if !segments.is_empty() && cursor < show_end {
        segments.push(RunOfShowSegment {
            name: BUFFER_SEGMENT_NAME.to_owned(),
            starts_at: iso_datetime_from_minutes(cursor),
            ends_at: iso_datetime_from_minutes(show_end),
            minutes: u32::try_from(show_end.saturating_sub(cursor)).unwrap_or(u32::MAX),
            buffer: true,
        });
    }

    let mut block = |block: Block, start: i64, end: i64, minutes: u32, segments| {
        let crew = crews.remove(&block).unwrap_or_default();
        let crew_total = crew.values().fold(0u32, |sum, &n| sum.saturating_add(n));
        RunOfShowBlock {
            block,
            starts_at: iso_datetime_from_minutes(start),
            ends_at: iso_datetime_from_minutes(end),
            minutes,
            crew,
            crew_total,
            segments,
        }
    };
    let blocks = vec![
        block(
            Block::Setup,
            setup_start,
            show_start,
            event.setup_minutes,
            Vec::new(),
        ),
        block(
            Block::Show,
            show_start,
            show_end,
            event.show_minutes,
            segments,
        ),
        block(
            Block::Teardown,
            show_end,
            teardown_end,
            event.teardown_minutes,
            Vec::new(),
        ),
    ];
    RunOfShowDraft {
        starts_at: iso_datetime_from_minutes(setup_start),
        ends_at: iso_datetime_from_minutes(teardown_end),
        total_minutes: event
            .setup_minutes
            .saturating_add(event.show_minutes)
            .saturating_add(event.teardown_minutes),
        blocks,
    }
}

/// Matching key of a role or person: trimmed and lower-cased (borrowed when already so).
fn match_key(text: &str) -> Cow<'_, str> {
    let trimmed = text.trim();
    if trimmed.chars().any(char::is_uppercase) {
        Cow::Owned(trimmed.to_lowercase())
    } else {
        Cow::Borrowed(trimmed)
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        minutes_from_iso_datetime(text).expect("valid test datetime")
    }

    /// 2026-03-01T08:00Z, the "now" of the fixtures.
    fn now() -> i64 {
        at("2026-03-01T08:00")
    }

    fn task(id: &str, name: &str, minutes: u32, deps: &[&str]) -> Task {
        Task {
            id: id.to_owned(),
            name: name.to_owned(),
            duration_minutes: minutes,
            depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
            status: TaskStatus::Todo,
            owner: None,
            deadline: None,
        }
    }

    fn need(role: &str, block: Block, required: u32) -> StaffingRequirement {
        StaffingRequirement {
            role: role.to_owned(),
            block,
            required,
        }
    }

    fn assign(person: &str, role: &str, block: Block) -> StaffAssignment {
        StaffAssignment {
            person: person.to_owned(),
            role: role.to_owned(),
            block,
        }
    }

    fn segment(name: &str, minutes: u32) -> ShowSegment {
        ShowSegment {
            name: name.to_owned(),
            minutes,
        }
    }

    /// The hand-worked prep graph (a diamond plus an independent branch):
    ///
    /// ```text
    ///            ┌─> t-2 Cast models (120) ─────┐
    /// t-1 (60) ──┤                              ├─> t-4 Fittings (90) ─┐
    ///            └─> t-3 Book hair & makeup (30)┘                      ├─> t-6 Walkthrough (30)
    /// t-5 Print programmes (45) ───────────────────────────────────────┘
    /// ```
    ///
    /// ES/EF: t-1 0/60, t-2 60/180, t-3 60/90, t-4 180/270, t-5 0/45, t-6 270/300.
    /// LS/LF from end 300: t-6 270/300, t-5 225/270, t-4 180/270, t-3 150/180,
    /// t-2 60/180, t-1 0/60. Slack: t-3 90, t-5 225, others 0.
    fn tasks() -> Vec<Task> {
        let mut t2 = task("t-2", "Cast models", 120, &["t-1"]);
        t2.status = TaskStatus::InProgress;
        vec![
            task("t-1", "Confirm venue", 60, &[]),
            t2,
            task("t-3", "Book hair & makeup", 30, &["t-1"]),
            task("t-4", "Fittings", 90, &["t-2", "t-3"]),
            task("t-5", "Print programmes", 45, &[]),
            task("t-6", "Final walkthrough", 30, &["t-4", "t-5"]),
        ]
    }

    /// Show 2026-03-01T18:00Z, 45 minutes, default setup (120) and teardown (90).
    fn event() -> Event {
        Event {
            id: "ev-1".to_owned(),
            name: "SS26 Runway".to_owned(),
            starts_at: "2026-03-01T18:00".to_owned(),
            show_minutes: 45,
            setup_minutes: DEFAULT_SETUP_MINUTES,
            teardown_minutes: DEFAULT_TEARDOWN_MINUTES,
            venue: Some("Palais de Tokyo".to_owned()),
            tasks: tasks(),
            staffing: Vec::new(),
            assignments: Vec::new(),
            segments: Vec::new(),
        }
    }

    fn request(event: Event, analysis_type: EventsAnalysisType) -> EventsRequest {
        EventsRequest {
            event,
            analysis_type,
        }
    }

    fn schedule_of<'a>(report: &'a CriticalPathReport, id: &str) -> &'a ScheduledTask {
        report
            .schedule
            .iter()
            .find(|s| s.task_id == id)
            .expect("task is scheduled")
    }

    // --- critical path -------------------------------------------------

    #[test]
    fn critical_path_of_diamond_is_hand_checked() {
        let report = critical_path(&event(), now());
        assert_eq!(report.path, ["t-1", "t-2", "t-4", "t-6"]);
        assert_eq!(report.remaining_minutes, 300);
        assert_eq!(report.as_of, "2026-03-01T08:00:00Z");
        assert_eq!(report.projected_finish, "2026-03-01T13:00:00Z");
        assert_eq!(report.ready_by, "2026-03-01T16:00:00Z");
        // ready by 16:00 - projected 13:00
        assert_eq!(report.buffer_minutes, 180);
        assert!(report.on_track);
        assert_eq!((report.open_tasks, report.done_tasks), (6, 0));
        assert!(report.blockers.is_empty());

        let t3 = schedule_of(&report, "t-3");
        assert_eq!(
            (
                t3.earliest_start,
                t3.earliest_finish,
                t3.latest_start,
                t3.latest_finish
            ),
            (60, 90, 150, 180)
        );
        assert_eq!(t3.slack_minutes, 90);
        assert!(!t3.critical);
        let t5 = schedule_of(&report, "t-5");
        assert_eq!((t5.latest_start, t5.latest_finish), (225, 270));
        assert_eq!(t5.slack_minutes, 225);
        let t2 = schedule_of(&report, "t-2");
        assert_eq!(t2.status, TaskStatus::InProgress);
        assert_eq!(t2.duration_minutes, 120, "in progress counts in full");
        assert_eq!((t2.earliest_start, t2.earliest_finish), (60, 180));

        let critical: Vec<&str> = report
            .schedule
            .iter()
            .filter(|s| s.critical)
            .map(|s| s.task_id.as_str())
            .collect();
        assert_eq!(critical, ["t-1", "t-2", "t-4", "t-6"]);
        // By earliest start, then list order.
        let order: Vec<&str> = report.schedule.iter().map(|s| s.task_id.as_str()).collect();
        assert_eq!(order, ["t-1", "t-5", "t-2", "t-3", "t-4", "t-6"]);
    }

    #[test]
    fn done_tasks_shorten_the_path() {
        let mut ev = event();
        ev.tasks[1].status = TaskStatus::Done; // Cast models
        let report = critical_path(&ev, now());
        // t-1 0/60, t-2 done 60/60, t-3 60/90, t-4 90/180, t-6 180/210.
        assert_eq!(report.remaining_minutes, 210);
        assert_eq!(report.path, ["t-1", "t-3", "t-4", "t-6"]);
        assert_eq!(report.projected_finish, "2026-03-01T11:30:00Z");
        assert_eq!(report.buffer_minutes, 270);
        assert_eq!((report.open_tasks, report.done_tasks), (5, 1));
        assert!(report.schedule.iter().all(|s| s.task_id != "t-2"));
        assert_eq!(schedule_of(&report, "t-3").slack_minutes, 0);

        // Everything but the walkthrough done: only it remains.
        for t in &mut ev.tasks[..5] {
            t.status = TaskStatus::Done;
        }
        let report = critical_path(&ev, now());
        assert_eq!(report.remaining_minutes, 30);
        assert_eq!(report.path, ["t-6"]);

        for t in &mut ev.tasks {
            t.status = TaskStatus::Done;
        }
        let report = critical_path(&ev, now());
        assert_eq!(report.remaining_minutes, 0);
        assert!(report.path.is_empty() && report.schedule.is_empty());
        assert_eq!(report.buffer_minutes, 480);
        assert!(report.on_track);
    }

    #[test]
    fn late_prep_has_negative_buffer() {
        let report = critical_path(&event(), at("2026-03-01T12:00"));
        // 12:00 + 300 = 17:00, one hour after ready-by 16:00.
        assert_eq!(report.projected_finish, "2026-03-01T17:00:00Z");
        assert_eq!(report.buffer_minutes, -60);
        assert!(!report.on_track);
    }

    #[test]
    fn blockers_are_found_and_ranked() {
        let mut ev = event();
        ev.tasks[2].status = TaskStatus::Blocked; // Book hair & makeup, slack 90
        ev.tasks[2].owner = Some("Maya".to_owned());
        ev.tasks[4].deadline = Some("2026-03-01T08:30".to_owned()); // t-5 finishes 08:45
        let report = critical_path(&ev, now());
        let summary: Vec<(&str, BlockerKind, Severity)> = report
            .blockers
            .iter()
            .map(|b| (b.task_id.as_str(), b.kind, b.severity))
            .collect();
        assert_eq!(
            summary,
            vec![
                // Fittings is critical and waits on the blocked t-3.
                ("t-4", BlockerKind::BlockedDependency, Severity::Critical),
                // Warnings by earliest start: t-5 (0) before t-3 (60).
                ("t-5", BlockerKind::MissedDeadline, Severity::Warning),
                ("t-3", BlockerKind::Blocked, Severity::Warning),
            ]
        );
        let [fittings, programmes, hmu] = &report.blockers[..] else {
            panic!("three blockers expected");
        };
        assert_eq!(
            fittings.reason,
            "Task \"Fittings\" cannot start: it depends on blocked task \"Book hair & makeup\"."
        );
        assert_eq!(fittings.waiting_on, ["t-3"]);
        assert_eq!(fittings.late_minutes, None);
        assert_eq!(
            programmes.reason,
            "Task \"Print programmes\" is due 2026-03-01T08:30:00Z but cannot finish before 2026-03-01T08:45:00Z (15 minutes late)."
        );
        assert_eq!(programmes.late_minutes, Some(15));
        assert_eq!(
            hmu.reason,
            "Task \"Book hair & makeup\" is blocked and holds up 1 task."
        );
        assert_eq!(hmu.owner.as_deref(), Some("Maya"));
        assert!(hmu.waiting_on.is_empty());
        // Buffer is fine, but a critical blocker means not on track.
        assert_eq!(report.buffer_minutes, 180);
        assert!(!report.on_track);
    }

    #[test]
    fn blocked_critical_task_is_critical_and_done_tasks_are_never_blockers() {
        let mut ev = event();
        ev.tasks[1].status = TaskStatus::Blocked; // Cast models, on the path
        ev.tasks[0].status = TaskStatus::Done;
        ev.tasks[0].deadline = Some("2020-01-01T00:00".to_owned());
        let report = critical_path(&ev, now());
        let kinds: Vec<(&str, BlockerKind, Severity)> = report
            .blockers
            .iter()
            .map(|b| (b.task_id.as_str(), b.kind, b.severity))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("t-2", BlockerKind::Blocked, Severity::Critical),
                ("t-4", BlockerKind::BlockedDependency, Severity::Critical),
            ]
        );
        assert_eq!(
            report.blockers[0].reason,
            "Task \"Cast models\" is blocked and holds up 1 task."
        );
    }

    #[test]
    fn milestones_and_empty_plans_are_handled() {
        let mut ev = event();
        ev.tasks = vec![
            task("m-1", "Sign-off", 0, &[]),
            task("t-1", "Steam garments", 40, &["m-1"]),
            task("m-2", "Ready", 0, &["t-1"]),
        ];
        let report = critical_path(&ev, now());
        assert_eq!(report.path, ["m-1", "t-1", "m-2"]);
        assert_eq!(report.remaining_minutes, 40);

        ev.tasks.clear();
        let report = critical_path(&ev, now());
        assert_eq!(report.remaining_minutes, 0);
        assert!(report.path.is_empty() && report.blockers.is_empty());
        assert!(report.on_track);
    }

    // --- staffing ------------------------------------------------------

    fn crewed_event() -> Event {
        let mut ev = event();
        ev.staffing = vec![
            need("dresser", Block::Show, 6),
            need("hair", Block::Setup, 2),
            need("makeup", Block::Setup, 2),
            need("security", Block::Show, 2),
            need("runner", Block::Teardown, 5),
        ];
        ev.assignments = vec![
            assign("Ana", "Dresser", Block::Show),
            assign("Bo", "dresser", Block::Show),
            assign("Cy", " dresser ", Block::Show),
            assign("Di", "dresser", Block::Show),
            assign("Eve", "hair", Block::Setup),
            assign("Fay", "hair", Block::Setup),
            assign("Gus", "makeup", Block::Setup),
            assign("Hal", "security", Block::Show),
            assign("Ivy", "security", Block::Show),
            assign("Jo", "security", Block::Show),
            assign("Kim", "runner", Block::Teardown),
            assign("Lu", "runner", Block::Teardown),
            assign("Mo", "runner", Block::Teardown),
            assign("Ned", "runner", Block::Teardown),
            assign("Ana", "stylist", Block::Setup),
        ];
        ev
    }

    #[test]
    fn staffing_gaps_are_exact() {
        let gaps = staffing_gaps(&crewed_event());
        let summary: Vec<(&str, Block, u32, u32, i32, Severity)> = gaps
            .iter()
            .map(|g| {
                (
                    g.role.as_str(),
                    g.block,
                    g.required,
                    g.assigned,
                    g.gap,
                    g.severity,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                // 2 of 6 missing: 33% >= 25%.
                ("dresser", Block::Show, 6, 4, 2, Severity::Critical),
                // 1 of 2 missing: 50%.
                ("makeup", Block::Setup, 2, 1, 1, Severity::Critical),
                // 1 of 5 missing: 20% < 25%.
                ("runner", Block::Teardown, 5, 4, 1, Severity::Warning),
                ("security", Block::Show, 2, 3, -1, Severity::Ok),
                // Assigned but never required.
                ("stylist", Block::Setup, 0, 1, -1, Severity::Ok),
            ]
        );
        // hair / setup is exactly staffed and omitted.
        assert!(gaps.iter().all(|g| g.role != "hair"));
    }

    #[test]
    fn critical_gap_threshold_is_a_quarter() {
        let mut ev = event();
        ev.staffing = vec![need("dresser", Block::Show, 4)];
        ev.assignments = (0..3)
            .map(|i| assign(&format!("p{i}"), "dresser", Block::Show))
            .collect();
        assert_eq!(staffing_gaps(&ev)[0].severity, Severity::Critical);
        ev.staffing = vec![need("dresser", Block::Show, 5)];
        ev.assignments = (0..4)
            .map(|i| assign(&format!("p{i}"), "dresser", Block::Show))
            .collect();
        assert_eq!(staffing_gaps(&ev)[0].severity, Severity::Warning);
        ev.assignments.clear();
        assert_eq!(staffing_gaps(&ev)[0].severity, Severity::Critical);
        assert_eq!(staffing_gaps(&ev)[0].gap, 5);
    }

    // --- run of show ---------------------------------------------------

    #[test]
    fn run_of_show_times_are_exact() {
        let mut ev = crewed_event();
        ev.segments = vec![
            segment("Opening", 5),
            segment("Looks 1-20", 25),
            segment("Finale", 5),
        ];
        let draft = run_of_show(&ev);
        assert_eq!(draft.starts_at, "2026-03-01T16:00:00Z");
        assert_eq!(draft.ends_at, "2026-03-01T20:15:00Z");
        assert_eq!(draft.total_minutes, 120 + 45 + 90);

        let times: Vec<(Block, &str, &str, u32, u32)> = draft
            .blocks
            .iter()
            .map(|b| {
                (
                    b.block,
                    b.starts_at.as_str(),
                    b.ends_at.as_str(),
                    b.minutes,
                    b.crew_total,
                )
            })
            .collect();
        assert_eq!(
            times,
            vec![
                (
                    Block::Setup,
                    "2026-03-01T16:00:00Z",
                    "2026-03-01T18:00:00Z",
                    120,
                    4
                ),
                (
                    Block::Show,
                    "2026-03-01T18:00:00Z",
                    "2026-03-01T18:45:00Z",
                    45,
                    7
                ),
                (
                    Block::Teardown,
                    "2026-03-01T18:45:00Z",
                    "2026-03-01T20:15:00Z",
                    90,
                    4
                ),
            ]
        );

        let show = &draft.blocks[1];
        let segments: Vec<(&str, &str, &str, u32, bool)> = show
            .segments
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.starts_at.as_str(),
                    s.ends_at.as_str(),
                    s.minutes,
                    s.buffer,
                )
            })
            .collect();
        assert_eq!(
            segments,
            vec![
                (
                    "Opening",
                    "2026-03-01T18:00:00Z",
                    "2026-03-01T18:05:00Z",
                    5,
                    false
                ),
                (
                    "Looks 1-20",
                    "2026-03-01T18:05:00Z",
                    "2026-03-01T18:30:00Z",
                    25,
                    false
                ),
                (
                    "Finale",
                    "2026-03-01T18:30:00Z",
                    "2026-03-01T18:35:00Z",
                    5,
                    false
                ),
                (
                    "buffer",
                    "2026-03-01T18:35:00Z",
                    "2026-03-01T18:45:00Z",
                    10,
                    true
                ),
            ]
        );
        assert!(draft.blocks[0].segments.is_empty() && draft.blocks[2].segments.is_empty());

        let crew = |i: usize| -> Vec<(&str, u32)> {
            draft.blocks[i]
                .crew
                .iter()
                .map(|(r, &n)| (r.as_str(), n))
                .collect()
        };
        assert_eq!(crew(0), [("hair", 2), ("makeup", 1), ("stylist", 1)]);
        assert_eq!(crew(1), [("dresser", 4), ("security", 3)]);
        assert_eq!(crew(2), [("runner", 4)]);
    }

    #[test]
    fn run_of_show_without_buffer_or_segments() {
        let mut ev = event();
        ev.segments = vec![segment("Looks", 40), segment("Finale", 5)];
        let draft = run_of_show(&ev);
        let names: Vec<&str> = draft.blocks[1]
            .segments
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["Looks", "Finale"], "exact fit: no buffer");

        ev.segments.clear();
        ev.setup_minutes = 0;
        let draft = run_of_show(&ev);
        assert!(draft.blocks[1].segments.is_empty(), "no running order yet");
        assert_eq!(draft.blocks[0].starts_at, draft.blocks[0].ends_at);
        assert_eq!(draft.starts_at, "2026-03-01T18:00:00Z");
        assert!(draft.blocks.iter().all(|b| b.crew.is_empty()));
    }

    // --- analyze / analysis type ---------------------------------------

    #[test]
    fn analysis_type_selects_sections() {
        let only = |t| analyze(&request(crewed_event(), t), now());
        let c = only(EventsAnalysisType::CriticalPath);
        assert!(c.critical_path.is_some() && c.staffing.is_none() && c.run_of_show.is_none());
        let s = only(EventsAnalysisType::Staffing);
        assert!(s.critical_path.is_none() && s.staffing.is_some() && s.run_of_show.is_none());
        let r = only(EventsAnalysisType::RunOfShow);
        assert!(r.critical_path.is_none() && r.staffing.is_none() && r.run_of_show.is_some());
        let all = only(EventsAnalysisType::All);
        assert!(all.critical_path.is_some() && all.staffing.is_some() && all.run_of_show.is_some());
    }

    #[test]
    fn max_size_plan_analyzes_consistently() {
        let mut ev = event();
        ev.tasks = (0..MAX_TASKS)
            .map(|i| {
                let deps: Vec<String> = [1usize, 7, 31]
                    .iter()
                    .filter(|&&back| back <= i)
                    .map(|back| format!("t-{}", i - back))
                    .collect();
                let mut t = task(&format!("t-{i}"), "Task", (i % 17) as u32 * 5, &[]);
                t.depends_on = deps;
                t.status = TaskStatus::ALL[i % 4];
                t
            })
            .collect();
        let req = request(ev, EventsAnalysisType::All);
        assert_eq!(req.validate(), Ok(()));
        let started = std::time::Instant::now();
        let out = analyze(&req, now());
        let elapsed = started.elapsed();
        let report = out.critical_path.expect("critical path requested");
        let by_id: HashMap<&str, &ScheduledTask> = report
            .schedule
            .iter()
            .map(|s| (s.task_id.as_str(), s))
            .collect();
        for t in &req.event.tasks {
            let Some(s) = by_id.get(t.id.as_str()) else {
                assert!(t.status.is_done());
                continue;
            };
            assert_eq!(s.earliest_finish, s.earliest_start + s.duration_minutes);
            assert_eq!(s.latest_finish, s.latest_start + s.duration_minutes);
            assert_eq!(s.slack_minutes, s.latest_start - s.earliest_start);
            assert!(s.latest_finish <= report.remaining_minutes);
            for d in &t.depends_on {
                if let Some(dep) = by_id.get(d.as_str()) {
                    assert!(dep.earliest_finish <= s.earliest_start);
                    assert!(dep.latest_finish <= s.latest_start);
                }
            }
        }
        let on_path: Vec<&&ScheduledTask> = report
            .path
            .iter()
            .map(|id| by_id.get(id.as_str()).expect("path task is scheduled"))
            .collect();
        assert!(on_path.iter().all(|s| s.critical));
        let path_minutes: u32 = on_path.iter().map(|s| s.duration_minutes).sum();
        assert_eq!(path_minutes, report.remaining_minutes);
        // Generous bound so debug builds on slow CI pass; release is far below.
        assert!(elapsed.as_millis() < 2_000, "took {elapsed:?}");
    }

    // --- validation ----------------------------------------------------

    fn validation_message(event: Event) -> String {
        request(event, EventsAnalysisType::All)
            .validate()
            .expect_err("request should be rejected")
            .to_string()
    }

    #[test]
    fn fixtures_are_valid() {
        assert_eq!(event().validate(), Ok(()));
        assert_eq!(crewed_event().validate(), Ok(()));
    }

    #[test]
    fn rejects_dependency_cycle_naming_it_in_order() {
        let mut ev = event();
        ev.tasks = vec![
            task("t-4", "Downstream", 10, &["t-3"]),
            task("t-1", "One", 10, &["t-2"]),
            task("t-2", "Two", 10, &["t-3"]),
            task("t-3", "Three", 10, &["t-1"]),
            task("t-0", "Free", 10, &[]),
        ];
        assert_eq!(
            validation_message(ev),
            "event.tasks: dependency cycle t-1 -> t-2 -> t-3 -> t-1"
        );

        let mut ev = event();
        ev.tasks = vec![task("a", "A", 10, &["b"]), task("b", "B", 10, &["a"])];
        assert_eq!(
            validation_message(ev),
            "event.tasks: dependency cycle a -> b -> a"
        );
    }

    #[test]
    fn rejects_unknown_self_and_duplicate_dependencies() {
        let mut ev = event();
        ev.tasks[2].depends_on = vec!["t-1".to_owned(), "t-9".to_owned()];
        assert_eq!(
            validation_message(ev),
            "event.tasks[2].dependsOn[1]: unknown task \"t-9\""
        );
        let mut ev = event();
        ev.tasks[3].depends_on.push("t-4".to_owned());
        assert_eq!(
            validation_message(ev),
            "event.tasks[3].dependsOn[2]: task \"t-4\" cannot depend on itself"
        );
        let mut ev = event();
        ev.tasks[3].depends_on.push("t-2".to_owned());
        assert_eq!(
            validation_message(ev),
            "event.tasks[3].dependsOn[2]: duplicate dependency \"t-2\""
        );
    }

    #[test]
    fn rejects_bad_task_fields() {
        let mut ev = event();
        ev.tasks[4].id = "t-1".to_owned();
        assert_eq!(
            validation_message(ev),
            "event.tasks[4].id: duplicate id \"t-1\""
        );
        let mut ev = event();
        ev.tasks[0].name = " ".to_owned();
        assert_eq!(
            validation_message(ev),
            "event.tasks[0].name: must not be empty"
        );
        let mut ev = event();
        ev.tasks[1].deadline = Some("2026-02-30T10:00".to_owned());
        assert_eq!(
            validation_message(ev),
            "event.tasks[1].deadline: \"2026-02-30T10:00\" is not a valid ISO datetime (YYYY-MM-DDTHH:MM)"
        );
        let mut ev = event();
        ev.tasks[5].duration_minutes = MAX_TASK_MINUTES + 1;
        assert_eq!(
            validation_message(ev),
            "event.tasks[5].durationMinutes: must be at most 525600"
        );
        let mut ev = event();
        ev.tasks[5].owner = Some("x".repeat(201));
        assert_eq!(
            validation_message(ev),
            "event.tasks[5].owner: is 201 characters long; at most 200 are accepted"
        );
    }

    #[test]
    fn rejects_too_many_tasks() {
        let mut ev = event();
        ev.tasks = (0..=MAX_TASKS)
            .map(|i| task(&i.to_string(), "Task", 1, &[]))
            .collect();
        assert_eq!(
            validation_message(ev),
            "event.tasks has 2001 tasks; at most 2000 are accepted"
        );
    }

    #[test]
    fn rejects_bad_event_fields() {
        let mut ev = event();
        ev.show_minutes = 0;
        assert_eq!(
            validation_message(ev),
            "event.showMinutes: must be at least 1"
        );
        let mut ev = event();
        ev.starts_at = "2026-03-01".to_owned();
        assert_eq!(
            validation_message(ev),
            "event.startsAt: \"2026-03-01\" is not a valid ISO datetime (YYYY-MM-DDTHH:MM)"
        );
        let mut ev = event();
        ev.setup_minutes = MAX_BLOCK_MINUTES + 1;
        assert_eq!(
            validation_message(ev),
            "event.setupMinutes: must be at most 10080"
        );
        let mut ev = event();
        ev.venue = Some(String::new());
        assert_eq!(validation_message(ev), "event.venue: must not be empty");
        let mut ev = event();
        ev.id = String::new();
        assert_eq!(validation_message(ev), "event.id: must not be empty");
    }

    #[test]
    fn rejects_segments_longer_than_the_show() {
        let mut ev = event();
        ev.segments = vec![segment("Looks", 40), segment("Finale", 6)];
        assert_eq!(
            validation_message(ev),
            "event.segments: total 46 minutes exceeds showMinutes 45"
        );
        let mut ev = event();
        ev.segments = vec![segment("Looks", 40), segment("Finale", 0)];
        assert_eq!(
            validation_message(ev),
            "event.segments[1].minutes: must be at least 1"
        );
        let mut ev = event();
        ev.segments = vec![segment("Looks", 45)];
        assert_eq!(ev.validate(), Ok(()));
    }

    #[test]
    fn rejects_bad_staffing() {
        let mut ev = crewed_event();
        ev.staffing.push(need(" Dresser", Block::Show, 1));
        assert_eq!(
            validation_message(ev),
            "event.staffing[5].role: duplicate requirement for role \"dresser\" in block show (see event.staffing[0])"
        );
        let mut ev = crewed_event();
        ev.staffing[1].required = 0;
        assert_eq!(
            validation_message(ev),
            "event.staffing[1].required: must be at least 1"
        );
        let mut ev = crewed_event();
        ev.assignments.push(assign("ana", "hair", Block::Show));
        assert_eq!(
            validation_message(ev),
            "event.assignments[15].person: \"ana\" is already assigned to the show block (as \"dresser\")"
        );
        let mut ev = crewed_event();
        ev.assignments[2].role = "  ".to_owned();
        assert_eq!(
            validation_message(ev),
            "event.assignments[2].role: must not be empty"
        );
    }

    // --- serde ---------------------------------------------------------

    #[test]
    fn wire_names_match_serde() {
        for status in TaskStatus::ALL {
            let json = serde_json::to_string(&status).expect("serializable");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        for block in Block::ALL {
            let json = serde_json::to_string(&block).expect("serializable");
            assert_eq!(json, format!("\"{}\"", block.as_str()));
        }
        for kind in EventsAnalysisType::ALL {
            let json = serde_json::to_string(&kind).expect("serializable");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            let back: EventsAnalysisType = serde_json::from_str(&json).expect("round trip");
            assert_eq!(back, kind);
        }
    }

    #[test]
    fn serde_rejects_unknown_fields_and_values() {
        let base = r#"{"analysisType":"all","event":{"id":"e","name":"Show","startsAt":"2026-03-01T18:00","showMinutes":30,"tasks":[TASK]}}"#;
        let with = |task: &str, kind: &str| base.replace("TASK", task).replace("\"all\"", kind);
        let ok = with(
            r#"{"id":"a","name":"A","durationMinutes":5,"status":"todo"}"#,
            "\"all\"",
        );
        let req: EventsRequest = serde_json::from_str(&ok).expect("valid JSON");
        assert_eq!(req.event.setup_minutes, 120);
        assert_eq!(req.event.teardown_minutes, 90);
        assert!(req.event.tasks[0].depends_on.is_empty());

        let typo = with(
            r#"{"id":"a","name":"A","durationMinutes":5,"status":"todo","dependsOnn":[]}"#,
            "\"all\"",
        );
        let err = serde_json::from_str::<EventsRequest>(&typo)
            .expect_err("typo must fail")
            .to_string();
        assert!(err.contains("unknown field `dependsOnn`"), "{err}");

        let status = with(
            r#"{"id":"a","name":"A","durationMinutes":5,"status":"paused"}"#,
            "\"all\"",
        );
        let err = serde_json::from_str::<EventsRequest>(&status)
            .expect_err("unknown status must fail")
            .to_string();
        assert!(err.contains("unknown variant `paused`"), "{err}");

        let kind = with("", "\"timeline\"");
        assert!(serde_json::from_str::<EventsRequest>(&kind).is_err());
        let top = ok.replacen('{', r#"{"extra":1,"#, 1);
        assert!(serde_json::from_str::<EventsRequest>(&top).is_err());
        let block = r#"{"person":"A","role":"hair","block":"rehearsal"}"#;
        assert!(serde_json::from_str::<StaffAssignment>(block).is_err());
        let missing = with("", "\"all\"").replace(r#","tasks":[]"#, "");
        assert!(serde_json::from_str::<EventsRequest>(&missing).is_err());
    }

    #[test]
    fn realistic_json_request_gives_camel_case_analysis() {
        let json = r#"{
            "analysisType": "all",
            "event": {
                "id": "ev-ss26", "name": "SS26 Runway", "venue": "Palais de Tokyo",
                "startsAt": "2026-03-01T18:00:00Z", "showMinutes": 20, "setupMinutes": 60,
                "tasks": [
                    {"id": "t-1", "name": "Confirm venue", "durationMinutes": 60, "status": "done"},
                    {"id": "t-2", "name": "Fittings", "durationMinutes": 120, "status": "blocked",
                     "dependsOn": ["t-1"], "owner": "Maya", "deadline": "2026-03-01T09:00"}
                ],
                "staffing": [{"role": "dresser", "block": "show", "required": 2}],
                "assignments": [{"person": "Ana", "role": "dresser", "block": "show"}],
                "segments": [{"name": "Looks 1-12", "minutes": 15}]
            }
        }"#;
        let req: EventsRequest = serde_json::from_str(json).expect("valid request JSON");
        assert_eq!(req.validate(), Ok(()));
        let out = serde_json::to_value(analyze(&req, now())).expect("serializable");
        let keys: Vec<&String> = out.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["criticalPath", "runOfShow", "staffing"]);

        let cp = &out["criticalPath"];
        let keys: Vec<&String> = cp.as_object().expect("object").keys().collect();
        assert_eq!(
            keys,
            [
                "asOf",
                "blockers",
                "bufferMinutes",
                "doneTasks",
                "onTrack",
                "openTasks",
                "path",
                "projectedFinish",
                "readyBy",
                "remainingMinutes",
                "schedule"
            ]
        );
        assert_eq!(cp["path"], serde_json::json!(["t-2"]));
        assert_eq!(cp["remainingMinutes"], 120);
        assert_eq!(cp["readyBy"], "2026-03-01T17:00:00Z");
        assert_eq!(cp["bufferMinutes"], 420);
        assert_eq!(cp["onTrack"], false);
        let entry = &cp["schedule"][0];
        for key in [
            "taskId",
            "taskName",
            "status",
            "durationMinutes",
            "earliestStart",
            "earliestFinish",
            "latestStart",
            "latestFinish",
            "slackMinutes",
            "critical",
        ] {
            assert!(entry.get(key).is_some(), "{key}");
        }
        let blockers = &cp["blockers"];
        assert_eq!(blockers[0]["taskId"], "t-2");
        assert_eq!(blockers[0]["kind"], "blocked");
        assert_eq!(blockers[0]["severity"], "critical");
        assert_eq!(blockers[0]["status"], "blocked");
        assert_eq!(blockers[0]["owner"], "Maya");
        assert_eq!(blockers[0]["waitingOn"], serde_json::json!([]));
        assert!(blockers[0].get("lateMinutes").is_none());
        assert_eq!(blockers[1]["kind"], "missed_deadline");
        assert_eq!(blockers[1]["lateMinutes"], 60);

        let gap = &out["staffing"][0];
        assert_eq!(gap["role"], "dresser");
        assert_eq!(gap["block"], "show");
        assert_eq!(gap["required"], 2);
        assert_eq!(gap["assigned"], 1);
        assert_eq!(gap["gap"], 1);
        assert_eq!(gap["severity"], "critical");

        let ros = &out["runOfShow"];
        assert_eq!(ros["startsAt"], "2026-03-01T17:00:00Z");
        assert_eq!(ros["endsAt"], "2026-03-01T19:50:00Z");
        assert_eq!(ros["totalMinutes"], 170);
        let show = &ros["blocks"][1];
        assert_eq!(show["block"], "show");
        assert_eq!(show["crew"]["dresser"], 1);
        assert_eq!(show["crewTotal"], 1);
        assert_eq!(show["segments"][1]["name"], "buffer");
        assert_eq!(show["segments"][1]["startsAt"], "2026-03-01T18:15:00Z");
        assert_eq!(show["segments"][1]["endsAt"], "2026-03-01T18:20:00Z");
        assert_eq!(show["segments"][1]["buffer"], true);

        let back: EventsAnalysis = serde_json::from_value(out).expect("round trip");
        assert_eq!(back, analyze(&req, now()));
    }

    #[test]
    fn unrequested_sections_are_omitted_from_json() {
        let req = request(event(), EventsAnalysisType::Staffing);
        let out = serde_json::to_value(analyze(&req, now())).expect("serializable");
        assert_eq!(out, serde_json::json!({"staffing": []}));
    }
}
