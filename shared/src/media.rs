//! Pure domain logic of the `media-scorer` edge function.
//!
//! A photo editor or art director sends the frames of a fashion shoot (with
//! the technical metadata produced by ingest: size, focus, exposure, noise,
//! composition and brand signals) plus the shot list, and asks for one or
//! more analyses:
//!
//! * **quality** — every frame scored 0–100 on technical, composition and
//!   brand factors (see [`score_asset`] for the formula);
//! * **missing** — the shots of the shot list no usable frame covers yet
//!   (see [`missing_shots`]), with coverage numbers ([`ShotCoverage`]);
//! * **selects** — the top N frames by quality, spread across looks and shot
//!   types (see [`selects`]).
//!
//! Everything here is pure; the caller adds `cached` to the response itself.

use crate::cache::{InsightFamily, InsightRequest, InsightSlot};
use crate::validation::{Validate, ValidationError, check_text};
use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// Maximum number of assets (frames) accepted in one request.
pub const MAX_ASSETS: usize = 5_000;

/// Maximum number of shot-list items accepted in one request.
pub const MAX_SHOTS: usize = 2_000;

/// Number of selects returned when `selectCount` is absent.
pub const DEFAULT_SELECT_COUNT: u32 = 12;

/// Largest accepted `selectCount`.
pub const MAX_SELECT_COUNT: u32 = 100;

/// Largest accepted `width` / `height`, in pixels (well above any camera or stitched scan).
pub const MAX_DIMENSION_PX: u32 = 100_000;

/// Largest accepted `iso` (above every camera's extended range).
pub const MAX_ISO: u32 = 10_000_000;

/// Largest accepted `exposureEv` magnitude, in stops.
pub const MAX_EXPOSURE_EV: f64 = 5.0;

/// Share of the overall score coming from the technical factor.
pub const TECHNICAL_WEIGHT: f64 = 0.45;

/// Share of the overall score coming from the composition factor.
pub const COMPOSITION_WEIGHT: f64 = 0.30;

/// Share of the overall score coming from the brand factor.
pub const BRAND_WEIGHT: f64 = 0.25;

/// Share of the technical factor coming from resolution.
pub const RESOLUTION_WEIGHT: f64 = 0.25;

/// Share of the technical factor coming from sharpness.
pub const SHARPNESS_WEIGHT: f64 = 0.40;

/// Share of the technical factor coming from exposure.
pub const EXPOSURE_WEIGHT: f64 = 0.20;

/// Share of the technical factor coming from (low) noise.
pub const NOISE_WEIGHT: f64 = 0.15;

/// Megapixels that earn a full resolution score (a 24 MP full-frame file).
pub const TARGET_MEGAPIXELS: f64 = 24.0;

/// Exposure offset, in stops either way, at which the exposure score reaches 0.
pub const EXPOSURE_ZERO_EV: f64 = 2.0;

/// Points taken off the technical factor for lossy delivery formats (`webp`, `heic`).
pub const LOSSY_FORMAT_PENALTY: f64 = 5.0;

/// Share of the composition factor coming from rule-of-thirds placement.
pub const RULE_OF_THIRDS_WEIGHT: f64 = 0.40;

/// Share of the composition factor coming from a level horizon.
pub const HORIZON_WEIGHT: f64 = 0.20;

/// Share of the composition factor coming from how well the subject fills the frame.
pub const SUBJECT_FILL_WEIGHT: f64 = 0.40;

/// Distance outside a shot type's ideal subject-fill band at which the fill score reaches 0.
pub const SUBJECT_FILL_FALLOFF: f64 = 0.25;

/// Share of the brand factor coming from the palette match.
pub const PALETTE_WEIGHT: f64 = 0.60;

/// Share of the brand factor coming from the garment being worn (when the shot type calls for a model).
pub const ON_MODEL_WEIGHT: f64 = 0.25;

/// Share of the brand factor coming from a visible logo.
pub const LOGO_WEIGHT: f64 = 0.15;

/// Minimum score of an `excellent` frame.
pub const EXCELLENT_THRESHOLD: f64 = 85.0;

/// Minimum score of a `good` frame.
pub const GOOD_THRESHOLD: f64 = 70.0;

/// Minimum score of a `fair` frame (below it, `poor`).
pub const FAIR_THRESHOLD: f64 = 50.0;

/// Below this many megapixels a frame is flagged `low_resolution`.
pub const LOW_RESOLUTION_BELOW_MP: f64 = 12.0;

/// Below this sharpness a frame is flagged `soft_focus`.
pub const SOFT_FOCUS_BELOW: f64 = 0.5;

/// From this many stops under (or over) a frame is flagged `underexposed` (`overexposed`).
pub const EXPOSURE_WARNING_EV: f64 = 1.0;

/// Above this noise level a frame is flagged `noisy`.
pub const NOISY_ABOVE: f64 = 0.5;

/// Below this palette match a frame is flagged `off_palette`.
pub const OFF_PALETTE_BELOW: f64 = 0.5;

/// Selects: points taken off a frame for each frame of the same look already picked.
pub const LOOK_VARIETY_PENALTY: f64 = 8.0;

/// Selects: points taken off a frame for each frame of the same shot type already picked.
pub const SHOT_TYPE_VARIETY_PENALTY: f64 = 3.0;

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

/// The kind of shot a frame is (or a shot-list item asks for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShotType {
    /// Head to toe, the whole look.
    FullLength,
    /// Head to mid-thigh / knee.
    ThreeQuarter,
    /// Head and shoulders, or a tight crop on the upper body.
    CloseUp,
    /// Macro on a detail: fabric, stitching, hardware, jewellery.
    Detail,
    /// Garment laid flat and shot from above, no model.
    FlatLay,
    /// The look from behind.
    BackView,
    /// Candid frames of the set, crew and process.
    BehindTheScenes,
}

impl ShotType {
    /// All shot types, from widest to most specific.
    pub const ALL: [ShotType; 7] = [
        ShotType::FullLength,
        ShotType::ThreeQuarter,
        ShotType::CloseUp,
        ShotType::Detail,
        ShotType::FlatLay,
        ShotType::BackView,
        ShotType::BehindTheScenes,
    ];

    /// The snake_case wire name (`"full_length"`, `"flat_lay"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ShotType::FullLength => "full_length",
            ShotType::ThreeQuarter => "three_quarter",
            ShotType::CloseUp => "close_up",
            ShotType::Detail => "detail",
            ShotType::FlatLay => "flat_lay",
            ShotType::BackView => "back_view",
            ShotType::BehindTheScenes => "behind_the_scenes",
        }
    }

    /// Human label used in sentences (`"full-length"`, `"behind-the-scenes"`, …).
    pub fn label(self) -> &'static str {
        match self {
            ShotType::FullLength => "full-length",
            ShotType::ThreeQuarter => "three-quarter",
            ShotType::CloseUp => "close-up",
            ShotType::Detail => "detail",
            ShotType::FlatLay => "flat-lay",
            ShotType::BackView => "back-view",
            ShotType::BehindTheScenes => "behind-the-scenes",
        }
    }

    /// True when the shot is meant to show the garment worn (flat lays, details and BTS are not).
    pub fn expects_model(self) -> bool {
        matches!(
            self,
            ShotType::FullLength | ShotType::ThreeQuarter | ShotType::CloseUp | ShotType::BackView
        )
    }

    /// Ideal share of the frame the subject fills, as an inclusive `(low, high)` band.
    ///
    /// Full-length and back views leave room around the body (0.35–0.65),
    /// three-quarter 0.45–0.75, close-ups 0.60–0.90, details 0.70–1.00, flat
    /// lays 0.50–0.80; behind-the-scenes frames accept anything (0–1).
    pub fn ideal_fill(self) -> (f64, f64) {
        match self {
            ShotType::FullLength | ShotType::BackView => (0.35, 0.65),
            ShotType::ThreeQuarter => (0.45, 0.75),
            ShotType::CloseUp => (0.60, 0.90),
            ShotType::Detail => (0.70, 1.0),
            ShotType::FlatLay => (0.50, 0.80),
            ShotType::BehindTheScenes => (0.0, 1.0),
        }
    }

    /// Position in [`ShotType::ALL`].
    fn index(self) -> usize {
        match self {
            ShotType::FullLength => 0,
            ShotType::ThreeQuarter => 1,
            ShotType::CloseUp => 2,
            ShotType::Detail => 3,
            ShotType::FlatLay => 4,
            ShotType::BackView => 5,
            ShotType::BehindTheScenes => 6,
        }
    }
}

/// File format of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    /// JPEG, the usual delivery format.
    Jpeg,
    /// PNG, lossless.
    Png,
    /// TIFF, the lossless retouching master.
    Tiff,
    /// Camera raw (CR3, NEF, ARW, IIQ, DNG…).
    Raw,
    /// WebP, a lossy web delivery format.
    Webp,
    /// HEIC / HEIF, a lossy phone format.
    Heic,
}

impl ImageFormat {
    /// All formats.
    pub const ALL: [ImageFormat; 6] = [
        ImageFormat::Jpeg,
        ImageFormat::Png,
        ImageFormat::Tiff,
        ImageFormat::Raw,
        ImageFormat::Webp,
        ImageFormat::Heic,
    ];

    /// The snake_case wire name (`"jpeg"`, `"raw"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Tiff => "tiff",
            ImageFormat::Raw => "raw",
            ImageFormat::Webp => "webp",
            ImageFormat::Heic => "heic",
        }
    }

    /// Points taken off the technical factor: [`LOSSY_FORMAT_PENALTY`] for webp/heic, else 0.
    pub fn penalty(self) -> f64 {
        match self {
            ImageFormat::Webp | ImageFormat::Heic => LOSSY_FORMAT_PENALTY,
            ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Tiff | ImageFormat::Raw => 0.0,
        }
    }
}

/// Review status of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetStatus {
    /// Not reviewed yet (the default).
    #[default]
    Pending,
    /// Approved by the photographer, art director or client.
    Approved,
    /// Rejected: never covers a shot, never selected.
    Rejected,
}

impl AssetStatus {
    /// All statuses.
    pub const ALL: [AssetStatus; 3] = [
        AssetStatus::Pending,
        AssetStatus::Approved,
        AssetStatus::Rejected,
    ];

    /// The snake_case wire name (`"pending"`, `"approved"`, `"rejected"`).
    pub fn as_str(self) -> &'static str {
        match self {
            AssetStatus::Pending => "pending",
            AssetStatus::Approved => "approved",
            AssetStatus::Rejected => "rejected",
        }
    }

    /// True unless the frame is rejected.
    pub fn is_usable(self) -> bool {
        self != AssetStatus::Rejected
    }
}

/// Composition measurements of a frame (from image analysis), each 0–1 unless stated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Composition {
    /// How close the subject's key points sit to the rule-of-thirds lines (0–1).
    pub rule_of_thirds: f64,
    /// Whether the horizon / verticals are level; defaults to true.
    #[serde(default = "default_true")]
    pub horizon_level: bool,
    /// Share of the frame the subject fills (0–1).
    pub subject_fill: f64,
}

/// Brand signals of a frame (from image analysis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BrandSignals {
    /// How well the frame's colours match the brand / season palette (0–1).
    pub palette_match: f64,
    /// Whether the brand's logo or monogram is visible.
    pub logo_visible: bool,
    /// Whether the garment is worn by a model.
    pub on_model: bool,
}

/// One frame of the shoot's gallery, with its technical metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GalleryAsset {
    /// Unique id of the frame within the request.
    pub id: String,
    /// Look the frame shows; frames without one never cover a shot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub look_id: Option<String>,
    /// Kind of shot.
    pub shot_type: ShotType,
    /// Free category such as "campaign", "e-commerce", "lookbook".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Width in pixels (1 to [`MAX_DIMENSION_PX`]).
    pub width: u32,
    /// Height in pixels (1 to [`MAX_DIMENSION_PX`]).
    pub height: u32,
    /// File format.
    pub format: ImageFormat,
    /// File size in bytes, at least 1 (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size_bytes: Option<u64>,
    /// Focus sharpness on the subject from focus analysis, 0 (blurred) to 1 (critically sharp).
    pub sharpness: f64,
    /// Offset from correct exposure in stops, -5 to 5 (0 = correct).
    pub exposure_ev: f64,
    /// Measured noise, 0 (clean) to 1 (unusable).
    pub noise: f64,
    /// ISO the frame was shot at, 1 to [`MAX_ISO`] (informational; noise is measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iso: Option<u32>,
    /// Composition measurements.
    pub composition: Composition,
    /// Brand signals.
    pub brand: BrandSignals,
    /// Review status; defaults to `pending`.
    #[serde(default)]
    pub status: AssetStatus,
    /// Photographer credit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photographer: Option<String>,
}

impl GalleryAsset {
    /// `width * height / 1 000 000`.
    pub fn megapixels(&self) -> f64 {
        f64::from(self.width) * f64::from(self.height) / 1_000_000.0
    }
}

/// One shot the shoot must (or would like to) deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShotItem {
    /// Unique id of the shot within the list.
    pub id: String,
    /// Look to photograph (matched exactly against [`GalleryAsset::look_id`]).
    pub look_id: String,
    /// Kind of shot wanted.
    pub shot_type: ShotType,
    /// Must-have shot (defaults to true); optional shots are nice to have.
    #[serde(default = "default_true")]
    pub required: bool,
    /// Brief for the shot, e.g. "walking towards camera, coat open".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn default_true() -> bool {
    true
}

/// Which analyses the caller wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaAnalysisType {
    /// Quality scores only.
    Quality,
    /// Missing shots and coverage only.
    Missing,
    /// Selects only.
    Selects,
    /// All three sections.
    All,
}

impl MediaAnalysisType {
    /// All analysis types.
    pub const ALL: [MediaAnalysisType; 4] = [
        MediaAnalysisType::Quality,
        MediaAnalysisType::Missing,
        MediaAnalysisType::Selects,
        MediaAnalysisType::All,
    ];

    /// The snake_case wire name (`"quality"`, `"missing"`, `"selects"`, `"all"`).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaAnalysisType::Quality => "quality",
            MediaAnalysisType::Missing => "missing",
            MediaAnalysisType::Selects => "selects",
            MediaAnalysisType::All => "all",
        }
    }

    /// True when the quality scores must be computed.
    pub fn includes_quality(self) -> bool {
        matches!(self, MediaAnalysisType::Quality | MediaAnalysisType::All)
    }

    /// True when the missing shots and coverage must be computed.
    pub fn includes_missing(self) -> bool {
        matches!(self, MediaAnalysisType::Missing | MediaAnalysisType::All)
    }

    /// True when the selects must be computed.
    pub fn includes_selects(self) -> bool {
        matches!(self, MediaAnalysisType::Selects | MediaAnalysisType::All)
    }
}

/// Request body of the `media-scorer` function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MediaRequest {
    /// The frames (up to [`MAX_ASSETS`]); at least one unless `analysisType` is `missing`.
    pub assets: Vec<GalleryAsset>,
    /// The shot list (up to [`MAX_SHOTS`]); defaults to empty, at least one for `missing`.
    #[serde(default)]
    pub shot_list: Vec<ShotItem>,
    /// Which analyses to run.
    pub analysis_type: MediaAnalysisType,
    /// Number of selects wanted, 1 to [`MAX_SELECT_COUNT`] (default [`DEFAULT_SELECT_COUNT`]; ignored without selects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_count: Option<u32>,
    /// Optional id of the gallery / shoot, used by the caller as cache context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gallery_id: Option<String>,
}

impl InsightRequest for MediaRequest {
    const FAMILY: InsightFamily = InsightFamily::Media;

    fn slot(&self) -> InsightSlot {
        InsightSlot::new(self.analysis_type.as_str(), self.gallery_id.as_deref())
    }
}

impl MediaRequest {
    /// The number of selects wanted: `selectCount` or [`DEFAULT_SELECT_COUNT`].
    pub fn select_count(&self) -> u32 {
        self.select_count.unwrap_or(DEFAULT_SELECT_COUNT)
    }
}

impl Validate for MediaRequest {
    /// Checks the request strictly; the first problem found is reported with its field path.
    ///
    /// `assets` may be empty only for `analysisType` `missing` (nothing shot
    /// yet: every shot is missing), and `missing` needs a non-empty `shotList`.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] for an empty or oversized list, a `selectCount`
    /// out of range, blank or overlong text, a duplicate id, or a numeric
    /// field out of range (NaN included).
    fn validate(&self) -> Result<(), ValidationError> {
        let kind = self.analysis_type;
        let count = self.assets.len();
        if count == 0 && kind != MediaAnalysisType::Missing {
            return Err(ValidationError(format!(
                "assets must contain at least one asset for analysisType \"{}\"",
                kind.as_str()
            )));
        }
        if count > MAX_ASSETS {
            return Err(ValidationError(format!(
                "assets has {count} assets; at most {MAX_ASSETS} are accepted"
            )));
        }
        let shots = self.shot_list.len();
        if shots == 0 && kind == MediaAnalysisType::Missing {
            return Err(ValidationError(
                "shotList must contain at least one shot for analysisType \"missing\"".to_owned(),
            ));
        }
        if shots > MAX_SHOTS {
            return Err(ValidationError(format!(
                "shotList has {shots} shots; at most {MAX_SHOTS} are accepted"
            )));
        }
        if let Some(n) = self.select_count
            && !(1..=MAX_SELECT_COUNT).contains(&n)
        {
            return Err(ValidationError(format!(
                "selectCount: {n} is outside 1..={MAX_SELECT_COUNT}"
            )));
        }
        if let Some(gallery_id) = &self.gallery_id {
            check_text(|| "galleryId".to_owned(), gallery_id)?;
        }

        let mut seen: HashSet<&str> = HashSet::with_capacity(count);
        for (i, asset) in self.assets.iter().enumerate() {
            let field = |name: &str| format!("assets[{i}].{name}");
            check_text(|| field("id"), &asset.id)?;
            if !seen.insert(asset.id.as_str()) {
                return Err(ValidationError(format!(
                    "{}: duplicate id {:?}",
                    field("id"),
                    asset.id
                )));
            }
            for (name, text) in [
                ("lookId", &asset.look_id),
                ("category", &asset.category),
                ("photographer", &asset.photographer),
            ] {
                if let Some(text) = text {
                    check_text(|| field(name), text)?;
                }
            }
            check_int(|| field("width"), asset.width, 1, MAX_DIMENSION_PX)?;
            check_int(|| field("height"), asset.height, 1, MAX_DIMENSION_PX)?;
            if asset.file_size_bytes == Some(0) {
                return Err(ValidationError(format!(
                    "{}: must be at least 1",
                    field("fileSizeBytes")
                )));
            }
            check_unit(|| field("sharpness"), asset.sharpness)?;
            check_real(
                || field("exposureEv"),
                asset.exposure_ev,
                -MAX_EXPOSURE_EV,
                MAX_EXPOSURE_EV,
            )?;
            check_unit(|| field("noise"), asset.noise)?;
            if let Some(iso) = asset.iso {
                check_int(|| field("iso"), iso, 1, MAX_ISO)?;
            }
            check_unit(
                || field("composition.ruleOfThirds"),
                asset.composition.rule_of_thirds,
            )?;
            check_unit(
                || field("composition.subjectFill"),
                asset.composition.subject_fill,
            )?;
            check_unit(|| field("brand.paletteMatch"), asset.brand.palette_match)?;
        }

        let mut seen: HashSet<&str> = HashSet::with_capacity(shots);
        for (i, shot) in self.shot_list.iter().enumerate() {
            let field = |name: &str| format!("shotList[{i}].{name}");
            check_text(|| field("id"), &shot.id)?;
            if !seen.insert(shot.id.as_str()) {
                return Err(ValidationError(format!(
                    "{}: duplicate id {:?}",
                    field("id"),
                    shot.id
                )));
            }
            check_text(|| field("lookId"), &shot.look_id)?;
            if let Some(description) = &shot.description {
                check_text(|| field("description"), description)?;
            }
        }
        Ok(())
    }
}

/// Rejects an integer outside `min..=max`.
fn check_int(
    path: impl FnOnce() -> String,
    value: u32,
    min: u32,
    max: u32,
) -> Result<(), ValidationError> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(ValidationError(format!(
        "{}: {value} is outside {min}..={max}",
        path()
    )))
}

/// Rejects NaN and a number outside `min..=max`.
fn check_real(
    path: impl FnOnce() -> String,
    value: f64,
    min: f64,
    max: f64,
) -> Result<(), ValidationError> {
    if value.is_nan() {
        return Err(ValidationError(format!(
            "{}: must be a number, not NaN",
            path()
        )));
    }
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(ValidationError(format!(
        "{}: {value} is outside {min}..={max}",
        path()
    )))
}

/// Rejects NaN and a number outside `0..=1`.
fn check_unit(path: impl FnOnce() -> String, value: f64) -> Result<(), ValidationError> {
    check_real(path, value, 0.0, 1.0)
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/// Quality bucket of a frame, derived from its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// Score below [`FAIR_THRESHOLD`].
    Poor,
    /// Score from [`FAIR_THRESHOLD`] to below [`GOOD_THRESHOLD`].
    Fair,
    /// Score from [`GOOD_THRESHOLD`] to below [`EXCELLENT_THRESHOLD`].
    Good,
    /// Score of [`EXCELLENT_THRESHOLD`] or more.
    Excellent,
}

impl Grade {
    /// Maps a 0–100 score to its grade.
    pub fn from_score(score: f64) -> Grade {
        if score >= EXCELLENT_THRESHOLD {
            Grade::Excellent
        } else if score >= GOOD_THRESHOLD {
            Grade::Good
        } else if score >= FAIR_THRESHOLD {
            Grade::Fair
        } else {
            Grade::Poor
        }
    }
}

/// A problem a photo editor would flag on a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityIssue {
    /// Fewer than [`LOW_RESOLUTION_BELOW_MP`] megapixels.
    LowResolution,
    /// Sharpness below [`SOFT_FOCUS_BELOW`].
    SoftFocus,
    /// At least [`EXPOSURE_WARNING_EV`] stops under.
    Underexposed,
    /// At least [`EXPOSURE_WARNING_EV`] stops over.
    Overexposed,
    /// Noise above [`NOISY_ABOVE`].
    Noisy,
    /// Horizon / verticals not level.
    TiltedHorizon,
    /// Palette match below [`OFF_PALETTE_BELOW`].
    OffPalette,
    /// Lossy delivery format (webp, heic) instead of a master file.
    LossyFormat,
}

/// The factors behind a quality score, each 0–100 (one decimal) unless stated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QualityFactors {
    /// Technical factor: weighted resolution, sharpness, exposure and noise, minus `formatPenalty`.
    pub technical: f64,
    /// `min(megapixels / TARGET_MEGAPIXELS, 1) * 100`.
    pub resolution: f64,
    /// `sharpness * 100`.
    pub sharpness: f64,
    /// 100 at 0 EV, falling linearly to 0 at ±[`EXPOSURE_ZERO_EV`] stops.
    pub exposure: f64,
    /// `(1 - noise) * 100`.
    pub noise: f64,
    /// Points taken off the technical factor for the file format (0 or [`LOSSY_FORMAT_PENALTY`]).
    pub format_penalty: f64,
    /// Composition factor: weighted rule of thirds, horizon and subject fill.
    pub composition: f64,
    /// `ruleOfThirds * 100`.
    pub rule_of_thirds: f64,
    /// 100 when the horizon is level, else 0.
    pub horizon: f64,
    /// 100 inside the shot type's ideal fill band, falling linearly to 0 at [`SUBJECT_FILL_FALLOFF`] outside it.
    pub subject_fill: f64,
    /// Brand factor: weighted palette match, on-model and logo.
    pub brand: f64,
    /// `paletteMatch * 100`.
    pub palette_match: f64,
    /// 100 when worn by a model or the shot type needs no model, else 0.
    pub on_model: f64,
    /// 100 when the logo is visible, else 0.
    pub logo: f64,
}

/// The quality score of one frame (see [`score_asset`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QualityScore {
    /// Id of the frame.
    pub asset_id: String,
    /// Overall score 0–100, one decimal.
    pub score: f64,
    /// Grade of `score`.
    pub grade: Grade,
    /// The factors behind the score.
    pub factors: QualityFactors,
    /// `width * height / 1 000 000`, one decimal.
    pub megapixels: f64,
    /// Problems to flag, in [`QualityIssue`] order (empty when none).
    pub issues: Vec<QualityIssue>,
}

/// How urgently a missing shot must be dealt with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Optional shot.
    Low,
    /// Required shot with only rejected frames: approve one or reshoot.
    Medium,
    /// Required shot with no frame at all.
    High,
}

/// A shot of the shot list that no usable (non-rejected) frame covers.
///
/// A shot is covered by any non-rejected frame with the same `lookId` and
/// `shotType`. Priority: `high` for a required shot with no frame, `medium`
/// for a required shot with only rejected frames, `low` for an optional shot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingShot {
    /// Id of the shot-list item.
    pub shot_id: String,
    /// Look of the shot.
    pub look_id: String,
    /// Kind of shot.
    pub shot_type: ShotType,
    /// Whether the shot is required.
    pub required: bool,
    /// Brief of the shot, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Human sentence saying what is missing.
    pub reason: String,
    /// How urgent the gap is.
    pub priority: Priority,
    /// Rejected frames that match the look and shot type (0 when none).
    pub candidates: u32,
}

/// Coverage of the shot list by usable frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShotCoverage {
    /// Shots in the shot list.
    pub total: u32,
    /// Shots covered by at least one usable frame.
    pub covered: u32,
    /// `total - covered`.
    pub missing: u32,
    /// Required shots among the missing ones.
    pub required_missing: u32,
    /// `covered / total * 100`, one decimal; 100 for an empty shot list (nothing is missing).
    pub coverage_percent: f64,
}

/// Result of [`analyze`]; sections not requested are `None` and omitted from JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaAnalysis {
    /// Quality score of every frame, sorted by score descending then id, when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_scores: Option<Vec<QualityScore>>,
    /// Missing shots, high priority first then in shot-list order, when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_shots: Option<Vec<MissingShot>>,
    /// Coverage numbers, present with `missingShots`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shot_coverage: Option<ShotCoverage>,
    /// The selected frames in pick order, when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selects: Option<Vec<GalleryAsset>>,
}

// ---------------------------------------------------------------------------
// Analysis
// ---------------------------------------------------------------------------

/// Runs the requested analyses on a validated request.
pub fn analyze(request: &MediaRequest) -> MediaAnalysis {
    let kind = request.analysis_type;
    let assets = &request.assets;
    let scores: Vec<QualityScore> = if kind.includes_quality() || kind.includes_selects() {
        assets.iter().map(score_asset).collect()
    } else {
        Vec::new()
    };
    let selects = kind
        .includes_selects()
        .then(|| pick_selects(assets, &scores, request.select_count()));
    let quality_scores = kind.includes_quality().then(|| {
        let mut sorted = scores;
        sort_scores(&mut sorted);
        sorted
    });
    let (missing, coverage) = if kind.includes_missing() {
        let missing = missing_shots(assets, &request.shot_list);
        let coverage = shot_coverage(&request.shot_list, &missing);
        (Some(missing), Some(coverage))
    } else {
        (None, None)
    };
    MediaAnalysis {
        quality_scores,
        missing_shots: missing,
        shot_coverage: coverage,
        selects,
    }
}

/// Scores every frame, sorted by score descending then id.
pub fn quality_scores(assets: &[GalleryAsset]) -> Vec<QualityScore> {
    let mut scores: Vec<QualityScore> = assets.iter().map(score_asset).collect();
    sort_scores(&mut scores);
    scores
}

fn sort_scores(scores: &mut [QualityScore]) {
    scores.sort_unstable_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.asset_id.cmp(&b.asset_id))
    });
}

/// Scores one frame, 0–100.
///
/// `score = TECHNICAL_WEIGHT * technical + COMPOSITION_WEIGHT * composition + BRAND_WEIGHT * brand`
/// (45 / 30 / 25 %), where
///
/// * `technical = max(0, 0.25 * resolution + 0.40 * sharpness + 0.20 * exposure + 0.15 * noise - format penalty)`
///   with resolution `min(MP / 24, 1) * 100`, sharpness `sharpness * 100`,
///   exposure `max(0, 1 - |EV| / 2) * 100`, noise `(1 - noise) * 100` and a
///   [`LOSSY_FORMAT_PENALTY`] for webp / heic;
/// * `composition = 0.40 * rule of thirds + 0.20 * horizon + 0.40 * subject fill`
///   with subject fill 100 inside [`ShotType::ideal_fill`] and falling linearly
///   to 0 at [`SUBJECT_FILL_FALLOFF`] outside it;
/// * `brand = 0.60 * palette match + 0.25 * on model + 0.15 * logo`, on model
///   counting as met for shot types that need no model.
///
/// Everything is computed unrounded; the score and each factor are then
/// rounded to one decimal.
pub fn score_asset(asset: &GalleryAsset) -> QualityScore {
    let megapixels = asset.megapixels();
    let resolution = (megapixels / TARGET_MEGAPIXELS).min(1.0) * 100.0;
    let sharpness = asset.sharpness * 100.0;
    let exposure = (1.0 - asset.exposure_ev.abs() / EXPOSURE_ZERO_EV).max(0.0) * 100.0;
    let noise = (1.0 - asset.noise) * 100.0;
    let format_penalty = asset.format.penalty();
    let technical = (RESOLUTION_WEIGHT * resolution
        + SHARPNESS_WEIGHT * sharpness
        + EXPOSURE_WEIGHT * exposure
        + NOISE_WEIGHT * noise
        - format_penalty)
        .max(0.0);

    let rule_of_thirds = asset.composition.rule_of_thirds * 100.0;
    let horizon = if asset.composition.horizon_level {
        100.0
    } else {
        0.0
    };
    let subject_fill = fill_score(asset.shot_type, asset.composition.subject_fill);
    let composition = RULE_OF_THIRDS_WEIGHT * rule_of_thirds
        + HORIZON_WEIGHT * horizon
        + SUBJECT_FILL_WEIGHT * subject_fill;

    let palette_match = asset.brand.palette_match * 100.0;
    let on_model = if asset.brand.on_model || !asset.shot_type.expects_model() {
        100.0
    } else {
        0.0
    };
    let logo = if asset.brand.logo_visible { 100.0 } else { 0.0 };
    let brand = PALETTE_WEIGHT * palette_match + ON_MODEL_WEIGHT * on_model + LOGO_WEIGHT * logo;

    let score = score_1dp(
        TECHNICAL_WEIGHT * technical + COMPOSITION_WEIGHT * composition + BRAND_WEIGHT * brand,
    );
    QualityScore {
        asset_id: asset.id.clone(),
        score,
        grade: Grade::from_score(score),
        factors: QualityFactors {
            technical: score_1dp(technical),
            resolution: score_1dp(resolution),
            sharpness: score_1dp(sharpness),
            exposure: score_1dp(exposure),
            noise: score_1dp(noise),
            format_penalty,
            composition: score_1dp(composition),
            rule_of_thirds: score_1dp(rule_of_thirds),
            horizon,
            subject_fill: score_1dp(subject_fill),
            brand: score_1dp(brand),
            palette_match: score_1dp(palette_match),
            on_model,
            logo,
        },
        megapixels: round_1dp(megapixels),
        issues: issues(asset, megapixels),
    }
}

/// 100 inside the ideal band of the shot type, falling linearly to 0 at
/// [`SUBJECT_FILL_FALLOFF`] outside it.
fn fill_score(shot_type: ShotType, fill: f64) -> f64 {
    let (low, high) = shot_type.ideal_fill();
    let distance = if fill < low {
        low - fill
    } else if fill > high {
        fill - high
    } else {
        0.0
    };
    (1.0 - distance / SUBJECT_FILL_FALLOFF).max(0.0) * 100.0
}

fn issues(asset: &GalleryAsset, megapixels: f64) -> Vec<QualityIssue> {
    let checks = [
        (
            megapixels < LOW_RESOLUTION_BELOW_MP,
            QualityIssue::LowResolution,
        ),
        (asset.sharpness < SOFT_FOCUS_BELOW, QualityIssue::SoftFocus),
        (
            asset.exposure_ev <= -EXPOSURE_WARNING_EV,
            QualityIssue::Underexposed,
        ),
        (
            asset.exposure_ev >= EXPOSURE_WARNING_EV,
            QualityIssue::Overexposed,
        ),
        (asset.noise > NOISY_ABOVE, QualityIssue::Noisy),
        (
            !asset.composition.horizon_level,
            QualityIssue::TiltedHorizon,
        ),
        (
            asset.brand.palette_match < OFF_PALETTE_BELOW,
            QualityIssue::OffPalette,
        ),
        (asset.format.penalty() > 0.0, QualityIssue::LossyFormat),
    ];
    checks
        .into_iter()
        .filter_map(|(flagged, issue)| flagged.then_some(issue))
        .collect()
}

/// Lists the shots of `shots` that no usable frame covers, high priority
/// first then in shot-list order (see [`MissingShot`]).
pub fn missing_shots(assets: &[GalleryAsset], shots: &[ShotItem]) -> Vec<MissingShot> {
    // (look, shot type) -> (usable frames, rejected frames)
    let mut frames: HashMap<(&str, ShotType), (u32, u32)> = HashMap::new();
    for asset in assets {
        let Some(look) = asset.look_id.as_deref() else {
            continue;
        };
        let entry = frames.entry((look, asset.shot_type)).or_default();
        if asset.status.is_usable() {
            entry.0 = entry.0.saturating_add(1);
        } else {
            entry.1 = entry.1.saturating_add(1);
        }
    }
    let mut missing: Vec<MissingShot> = shots
        .iter()
        .filter_map(|shot| {
            let (usable, rejected) = frames
                .get(&(shot.look_id.as_str(), shot.shot_type))
                .copied()
                .unwrap_or((0, 0));
            (usable == 0).then(|| missing_shot(shot, rejected))
        })
        .collect();
    // Stable: shot-list order within a priority.
    missing.sort_by_key(|m| Reverse(m.priority));
    missing
}

fn missing_shot(shot: &ShotItem, rejected: u32) -> MissingShot {
    let priority = match (shot.required, rejected) {
        (false, _) => Priority::Low,
        (true, 0) => Priority::High,
        (true, _) => Priority::Medium,
    };
    let need = if shot.required {
        "Required"
    } else {
        "Optional"
    };
    let what = format!(
        "{need} {} shot of look {:?}",
        shot.shot_type.label(),
        shot.look_id
    );
    let reason = match rejected {
        0 => format!("{what} has not been captured."),
        1 => format!("{what} has only rejected frames (1); approve it or reshoot."),
        n => format!("{what} has only rejected frames ({n}); approve one or reshoot."),
    };
    MissingShot {
        shot_id: shot.id.clone(),
        look_id: shot.look_id.clone(),
        shot_type: shot.shot_type,
        required: shot.required,
        description: shot.description.clone(),
        reason,
        priority,
        candidates: rejected,
    }
}

/// Coverage numbers of a shot list given its [`missing_shots`].
pub fn shot_coverage(shots: &[ShotItem], missing: &[MissingShot]) -> ShotCoverage {
    let total = u32::try_from(shots.len()).unwrap_or(u32::MAX);
    let missing_count = u32::try_from(missing.len()).unwrap_or(u32::MAX);
    let covered = total.saturating_sub(missing_count);
    let required_missing =
        u32::try_from(missing.iter().filter(|m| m.required).count()).unwrap_or(u32::MAX);
    let coverage_percent = if total == 0 {
        100.0
    } else {
        round_1dp(f64::from(covered) * 100.0 / f64::from(total))
    };
    ShotCoverage {
        total,
        covered,
        missing: missing_count,
        required_missing,
        coverage_percent,
    }
}

/// Picks up to `count` frames by quality and variety, returned in pick order.
///
/// Greedy: rejected frames are never picked; each round takes the frame with
/// the highest `score - LOOK_VARIETY_PENALTY * (frames of its look already
/// picked) - SHOT_TYPE_VARIETY_PENALTY * (frames of its shot type already
/// picked)`, ties broken by id. Frames without a look get no look penalty.
/// Scores are the one-decimal [`score_asset`] scores, and the arithmetic is
/// exact (in tenths of a point).
pub fn selects(assets: &[GalleryAsset], count: u32) -> Vec<GalleryAsset> {
    let scores: Vec<QualityScore> = assets.iter().map(score_asset).collect();
    pick_selects(assets, &scores, count)
}

/// [`selects`] with the scores of `assets` (same order) already computed.
fn pick_selects(assets: &[GalleryAsset], scores: &[QualityScore], count: u32) -> Vec<GalleryAsset> {
    let look_penalty = tenths(LOOK_VARIETY_PENALTY);
    let type_penalty = tenths(SHOT_TYPE_VARIETY_PENALTY);
    // Usable frames with their score in tenths, best first then by id, so a
    // round can stop as soon as no remaining raw score can beat the best.
    let mut pool: Vec<(i64, &GalleryAsset)> = assets
        .iter()
        .zip(scores)
        .filter(|(asset, _)| asset.status.is_usable())
        .map(|(asset, score)| (tenths(score.score), asset))
        .collect();
    pool.sort_unstable_by(|(sa, a), (sb, b)| sb.cmp(sa).then_with(|| a.id.cmp(&b.id)));

    let wanted = usize::try_from(count).unwrap_or(usize::MAX).min(pool.len());
    let mut picked: Vec<GalleryAsset> = Vec::with_capacity(wanted);
    let mut per_look: HashMap<&str, i64> = HashMap::new();
    let mut per_type = [0i64; ShotType::ALL.len()];
    while picked.len() < wanted {
        // (position in pool, adjusted score, id) of the best frame so far.
        let mut best: Option<(usize, i64, &str)> = None;
        for (at, &(raw, asset)) in pool.iter().enumerate() {
            // Penalties only lower a score: a lower raw score cannot win.
            if best.is_some_and(|(_, value, _)| raw < value) {
                break;
            }
            let value = adjusted(raw, asset, &per_look, &per_type, look_penalty, type_penalty);
            let better = best.is_none_or(|(_, best_value, best_id)| {
                value > best_value || (value == best_value && asset.id.as_str() < best_id)
            });
            if better {
                best = Some((at, value, asset.id.as_str()));
            }
        }
        let Some((at, _, _)) = best else {
            break;
        };
        let (_, asset) = pool.remove(at);
        if let Some(look) = asset.look_id.as_deref() {
            *per_look.entry(look).or_default() += 1;
        }
        if let Some(n) = per_type.get_mut(asset.shot_type.index()) {
            *n += 1;
        }
        picked.push(asset.clone());
    }
    picked
}

/// Score in tenths minus the variety penalties earned so far.
fn adjusted(
    raw: i64,
    asset: &GalleryAsset,
    per_look: &HashMap<&str, i64>,
    per_type: &[i64],
    look_penalty: i64,
    type_penalty: i64,
) -> i64 {
    let same_look = asset
        .look_id
        .as_deref()
        .and_then(|look| per_look.get(look))
        .copied()
        .unwrap_or(0);
    let same_type = per_type.get(asset.shot_type.index()).copied().unwrap_or(0);
    raw - look_penalty * same_look - type_penalty * same_type
}

/// A one-decimal score as an exact count of tenths.
fn tenths(value: f64) -> i64 {
    // Scores are within 0..=100, so the cast is exact.
    (value * 10.0).round() as i64
}

/// Rounds to one decimal.
fn round_1dp(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Clamps to 0–100 and rounds to one decimal.
fn score_1dp(value: f64) -> f64 {
    round_1dp(value.clamp(0.0, 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A technically, compositionally and brand-perfect frame (scores 100):
    /// 24 MP jpeg, critically sharp, correctly exposed, clean, on the thirds,
    /// level, subject fill in the middle of its shot type's band, on palette,
    /// logo visible, on model.
    fn asset(id: &str, look: Option<&str>, shot_type: ShotType) -> GalleryAsset {
        let (low, high) = shot_type.ideal_fill();
        GalleryAsset {
            id: id.to_owned(),
            look_id: look.map(str::to_owned),
            shot_type,
            category: None,
            width: 6000,
            height: 4000,
            format: ImageFormat::Jpeg,
            file_size_bytes: None,
            sharpness: 1.0,
            exposure_ev: 0.0,
            noise: 0.0,
            iso: None,
            composition: Composition {
                rule_of_thirds: 1.0,
                horizon_level: true,
                subject_fill: (low + high) / 2.0,
            },
            brand: BrandSignals {
                palette_match: 1.0,
                logo_visible: true,
                on_model: true,
            },
            status: AssetStatus::Pending,
            photographer: None,
        }
    }

    /// A perfect full-length frame of `look` whose sharpness is `sharpness`:
    /// each 0.1 of sharpness lost costs 0.45 * 0.40 * 10 = 1.8 points.
    fn frame(id: &str, look: &str, sharpness: f64) -> GalleryAsset {
        let mut a = asset(id, Some(look), ShotType::FullLength);
        a.sharpness = sharpness;
        a
    }

    fn with_status(mut a: GalleryAsset, status: AssetStatus) -> GalleryAsset {
        a.status = status;
        a
    }

    fn shot(id: &str, look: &str, shot_type: ShotType, required: bool) -> ShotItem {
        ShotItem {
            id: id.to_owned(),
            look_id: look.to_owned(),
            shot_type,
            required,
            description: None,
        }
    }

    fn request(assets: Vec<GalleryAsset>, analysis_type: MediaAnalysisType) -> MediaRequest {
        MediaRequest {
            assets,
            shot_list: Vec::new(),
            analysis_type,
            select_count: None,
            gallery_id: None,
        }
    }

    fn ids(assets: &[GalleryAsset]) -> Vec<&str> {
        assets.iter().map(|a| a.id.as_str()).collect()
    }

    // --- quality -----------------------------------------------------------

    #[test]
    fn hand_computed_asset_scores_exactly() {
        // 4000x3000 = 12 MP -> resolution 50; sharpness 80; -0.5 EV -> 75;
        // noise 0.2 -> 80. technical = 12.5 + 32 + 15 + 12 = 71.5 (jpeg: no penalty).
        // composition = 0.4*60 + 0.2*100 + 0.4*100 (fill 0.5 in 0.35..0.65) = 84.
        // brand = 0.6*70 + 0.25*100 + 0.15*0 = 67.
        // score = 0.45*71.5 + 0.3*84 + 0.25*67 = 32.175 + 25.2 + 16.75 = 74.125 -> 74.1.
        let mut a = asset("a-1", Some("look-1"), ShotType::FullLength);
        a.width = 4000;
        a.height = 3000;
        a.sharpness = 0.8;
        a.exposure_ev = -0.5;
        a.noise = 0.2;
        a.composition.rule_of_thirds = 0.6;
        a.composition.subject_fill = 0.5;
        a.brand.palette_match = 0.7;
        a.brand.logo_visible = false;
        let q = score_asset(&a);
        assert_eq!(q.asset_id, "a-1");
        assert_eq!(
            q.factors,
            QualityFactors {
                technical: 71.5,
                resolution: 50.0,
                sharpness: 80.0,
                exposure: 75.0,
                noise: 80.0,
                format_penalty: 0.0,
                composition: 84.0,
                rule_of_thirds: 60.0,
                horizon: 100.0,
                subject_fill: 100.0,
                brand: 67.0,
                palette_match: 70.0,
                on_model: 100.0,
                logo: 0.0,
            }
        );
        assert_eq!(q.score, 74.1);
        assert_eq!(q.grade, Grade::Good);
        assert_eq!(q.megapixels, 12.0);
        assert_eq!(q.issues, vec![]);
    }

    #[test]
    fn flawed_asset_scores_exactly_and_lists_its_issues() {
        // 4000x2500 = 10 MP -> 41.667; sharpness 40; +1.5 EV -> 25; noise 0.6 -> 40;
        // heic -5. technical = 10.4167 + 16 + 5 + 6 - 5 = 32.4167.
        // close-up fill 0.95 is 0.05 over 0.90 -> 80; tilted; thirds 50:
        // composition = 20 + 0 + 32 = 52.
        // off model on a close-up -> 0; palette 30; logo 100: brand = 18 + 0 + 15 = 33.
        // score = 14.5875 + 15.6 + 8.25 = 38.4375 -> 38.4.
        let mut a = asset("a-2", Some("look-1"), ShotType::CloseUp);
        a.width = 4000;
        a.height = 2500;
        a.format = ImageFormat::Heic;
        a.sharpness = 0.4;
        a.exposure_ev = 1.5;
        a.noise = 0.6;
        a.composition = Composition {
            rule_of_thirds: 0.5,
            horizon_level: false,
            subject_fill: 0.95,
        };
        a.brand = BrandSignals {
            palette_match: 0.3,
            logo_visible: true,
            on_model: false,
        };
        let q = score_asset(&a);
        assert_eq!(
            q.factors,
            QualityFactors {
                technical: 32.4,
                resolution: 41.7,
                sharpness: 40.0,
                exposure: 25.0,
                noise: 40.0,
                format_penalty: 5.0,
                composition: 52.0,
                rule_of_thirds: 50.0,
                horizon: 0.0,
                subject_fill: 80.0,
                brand: 33.0,
                palette_match: 30.0,
                on_model: 0.0,
                logo: 100.0,
            }
        );
        assert_eq!(q.score, 38.4);
        assert_eq!(q.grade, Grade::Poor);
        assert_eq!(q.megapixels, 10.0);
        use QualityIssue::*;
        assert_eq!(
            q.issues,
            vec![
                LowResolution,
                SoftFocus,
                Overexposed,
                Noisy,
                TiltedHorizon,
                OffPalette,
                LossyFormat
            ]
        );
    }

    #[test]
    fn perfect_asset_scores_100() {
        for shot_type in ShotType::ALL {
            for format in [
                ImageFormat::Jpeg,
                ImageFormat::Raw,
                ImageFormat::Tiff,
                ImageFormat::Png,
            ] {
                let mut a = asset("p", Some("look-1"), shot_type);
                a.format = format;
                let q = score_asset(&a);
                assert_eq!(q.score, 100.0, "{shot_type:?} {format:?}");
                assert_eq!(q.grade, Grade::Excellent);
                assert_eq!(q.factors.technical, 100.0);
                assert_eq!(q.factors.composition, 100.0);
                assert_eq!(q.factors.brand, 100.0);
                assert!(q.issues.is_empty());
            }
        }
        // Resolution is capped at the 24 MP target.
        let mut big = asset("big", None, ShotType::FullLength);
        big.width = 11_648;
        big.height = 8_736;
        let q = score_asset(&big);
        assert_eq!(q.factors.resolution, 100.0);
        assert_eq!(q.score, 100.0);
        assert_eq!(q.megapixels, 101.8);
    }

    #[test]
    fn exposure_two_stops_off_scores_zero_on_exposure() {
        let exposure = |ev: f64| {
            let mut a = asset("e", None, ShotType::FullLength);
            a.exposure_ev = ev;
            score_asset(&a).factors.exposure
        };
        assert_eq!(exposure(0.0), 100.0);
        assert_eq!(exposure(0.5), 75.0);
        assert_eq!(exposure(-1.0), 50.0);
        assert_eq!(exposure(1.0), 50.0);
        assert_eq!(exposure(2.0), 0.0);
        assert_eq!(exposure(-2.0), 0.0);
        assert_eq!(exposure(-5.0), 0.0);
        assert_eq!(exposure(3.5), 0.0);
        // 2 EV off costs the whole exposure weight: 0.45 * 0.20 * 100 = 9 points.
        let mut a = asset("e", None, ShotType::FullLength);
        a.exposure_ev = -2.0;
        let q = score_asset(&a);
        assert_eq!(q.score, 91.0);
        assert_eq!(q.issues, vec![QualityIssue::Underexposed]);
    }

    #[test]
    fn subject_fill_band_depends_on_shot_type() {
        let fill = |shot_type: ShotType, value: f64| {
            let mut a = asset("f", None, shot_type);
            a.composition.subject_fill = value;
            score_asset(&a).factors.subject_fill
        };
        assert_eq!(fill(ShotType::FullLength, 0.35), 100.0);
        assert_eq!(fill(ShotType::FullLength, 0.65), 100.0);
        assert_eq!(fill(ShotType::FullLength, 0.3), 80.0);
        assert_eq!(fill(ShotType::FullLength, 0.9), 0.0);
        assert_eq!(fill(ShotType::FullLength, 1.0), 0.0);
        assert_eq!(fill(ShotType::Detail, 1.0), 100.0);
        assert_eq!(fill(ShotType::Detail, 0.5), 20.0);
        assert_eq!(fill(ShotType::CloseUp, 0.4), 20.0);
        assert_eq!(fill(ShotType::BehindTheScenes, 0.0), 100.0);
        assert_eq!(fill(ShotType::BehindTheScenes, 1.0), 100.0);
    }

    #[test]
    fn on_model_only_counts_for_shot_types_that_need_a_model() {
        let on_model = |shot_type: ShotType| {
            let mut a = asset("m", None, shot_type);
            a.brand.on_model = false;
            score_asset(&a).factors.on_model
        };
        assert_eq!(on_model(ShotType::FullLength), 0.0);
        assert_eq!(on_model(ShotType::ThreeQuarter), 0.0);
        assert_eq!(on_model(ShotType::CloseUp), 0.0);
        assert_eq!(on_model(ShotType::BackView), 0.0);
        assert_eq!(on_model(ShotType::FlatLay), 100.0);
        assert_eq!(on_model(ShotType::Detail), 100.0);
        assert_eq!(on_model(ShotType::BehindTheScenes), 100.0);
    }

    #[test]
    fn lossy_formats_lose_five_technical_points() {
        for (format, technical, score) in [
            (ImageFormat::Webp, 95.0, 97.8),
            (ImageFormat::Heic, 95.0, 97.8),
            (ImageFormat::Raw, 100.0, 100.0),
        ] {
            let mut a = asset("w", None, ShotType::Detail);
            a.format = format;
            let q = score_asset(&a);
            assert_eq!(q.factors.technical, technical, "{format:?}");
            assert_eq!(q.score, score, "{format:?}");
        }
        // The technical factor never goes below 0.
        let mut a = asset("w", None, ShotType::Detail);
        a.format = ImageFormat::Webp;
        a.width = 1;
        a.height = 1;
        a.sharpness = 0.0;
        a.exposure_ev = 5.0;
        a.noise = 1.0;
        assert_eq!(score_asset(&a).factors.technical, 0.0);
    }

    #[test]
    fn grades_follow_thresholds() {
        assert_eq!(Grade::from_score(100.0), Grade::Excellent);
        assert_eq!(Grade::from_score(85.0), Grade::Excellent);
        assert_eq!(Grade::from_score(84.9), Grade::Good);
        assert_eq!(Grade::from_score(70.0), Grade::Good);
        assert_eq!(Grade::from_score(69.9), Grade::Fair);
        assert_eq!(Grade::from_score(50.0), Grade::Fair);
        assert_eq!(Grade::from_score(49.9), Grade::Poor);
        assert_eq!(Grade::from_score(0.0), Grade::Poor);
    }

    #[test]
    fn quality_scores_are_sorted_by_score_then_id() {
        let scores = quality_scores(&[
            frame("c", "l", 0.9),
            frame("b", "l", 1.0),
            frame("a", "l", 0.9),
            frame("d", "l", 0.5),
        ]);
        let got: Vec<(&str, f64)> = scores
            .iter()
            .map(|q| (q.asset_id.as_str(), q.score))
            .collect();
        assert_eq!(
            got,
            vec![("b", 100.0), ("a", 98.2), ("c", 98.2), ("d", 91.0)]
        );
    }

    // --- missing shots -----------------------------------------------------

    /// Frames and shot list of the missing-shot tests:
    ///
    /// | shot | look | type          | required | frames                    | outcome            |
    /// |------|------|---------------|----------|---------------------------|--------------------|
    /// | sh-1 | L1   | full_length   | yes      | a-1 pending               | covered            |
    /// | sh-2 | L1   | close_up      | yes      | a-2 rejected              | medium, 1 candidate|
    /// | sh-3 | L2   | detail        | no       | a-3 approved              | covered            |
    /// | sh-4 | L2   | back_view     | yes      | a-4, a-5 rejected         | medium, 2          |
    /// | sh-5 | L3   | full_length   | yes      | a-6 has no look           | high               |
    /// | sh-6 | L3   | flat_lay      | no       | a-7 rejected              | low, 1             |
    /// | sh-7 | L1   | full_length   | no       | a-1                       | covered            |
    fn coverage_fixture() -> (Vec<GalleryAsset>, Vec<ShotItem>) {
        use AssetStatus::*;
        use ShotType::*;
        let assets = vec![
            asset("a-1", Some("L1"), FullLength),
            with_status(asset("a-2", Some("L1"), CloseUp), Rejected),
            with_status(asset("a-3", Some("L2"), Detail), Approved),
            with_status(asset("a-4", Some("L2"), BackView), Rejected),
            with_status(asset("a-5", Some("L2"), BackView), Rejected),
            asset("a-6", None, FullLength),
            with_status(asset("a-7", Some("L3"), FlatLay), Rejected),
        ];
        let mut sh5 = shot("sh-5", "L3", FullLength, true);
        sh5.description = Some("Walking towards camera, coat open".to_owned());
        let shots = vec![
            shot("sh-1", "L1", FullLength, true),
            shot("sh-2", "L1", CloseUp, true),
            shot("sh-3", "L2", Detail, false),
            shot("sh-4", "L2", BackView, true),
            sh5,
            shot("sh-6", "L3", FlatLay, false),
            shot("sh-7", "L1", FullLength, false),
        ];
        (assets, shots)
    }

    #[test]
    fn missing_shots_are_exact() {
        let (assets, shots) = coverage_fixture();
        let missing = missing_shots(&assets, &shots);
        let summary: Vec<(&str, Priority, u32, bool)> = missing
            .iter()
            .map(|m| (m.shot_id.as_str(), m.priority, m.candidates, m.required))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("sh-5", Priority::High, 0, true),
                ("sh-2", Priority::Medium, 1, true),
                ("sh-4", Priority::Medium, 2, true),
                ("sh-6", Priority::Low, 1, false),
            ]
        );
        let reasons: Vec<&str> = missing.iter().map(|m| m.reason.as_str()).collect();
        assert_eq!(
            reasons,
            vec![
                "Required full-length shot of look \"L3\" has not been captured.",
                "Required close-up shot of look \"L1\" has only rejected frames (1); approve it or reshoot.",
                "Required back-view shot of look \"L2\" has only rejected frames (2); approve one or reshoot.",
                "Optional flat-lay shot of look \"L3\" has only rejected frames (1); approve it or reshoot.",
            ]
        );
        assert_eq!(missing[0].look_id, "L3");
        assert_eq!(missing[0].shot_type, ShotType::FullLength);
        assert_eq!(
            missing[0].description.as_deref(),
            Some("Walking towards camera, coat open")
        );
        assert_eq!(missing[1].description, None);

        assert_eq!(
            shot_coverage(&shots, &missing),
            ShotCoverage {
                total: 7,
                covered: 3,
                missing: 4,
                required_missing: 3,
                coverage_percent: 42.9,
            }
        );
    }

    #[test]
    fn optional_shot_without_frames_is_low_priority() {
        let shots = [shot("s", "L9", ShotType::Detail, false)];
        let missing = missing_shots(&[], &shots);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].priority, Priority::Low);
        assert_eq!(missing[0].candidates, 0);
        assert_eq!(
            missing[0].reason,
            "Optional detail shot of look \"L9\" has not been captured."
        );
    }

    #[test]
    fn look_ids_match_exactly_and_shot_types_must_agree() {
        let assets = [
            asset("a", Some("look-1"), ShotType::FullLength),
            asset("b", Some("Look-2"), ShotType::CloseUp),
        ];
        let shots = [
            shot("s1", "look-1", ShotType::ThreeQuarter, true),
            shot("s2", "look-2", ShotType::CloseUp, true),
            shot("s3", "look-1", ShotType::FullLength, true),
        ];
        let missing = missing_shots(&assets, &shots);
        let got: Vec<&str> = missing.iter().map(|m| m.shot_id.as_str()).collect();
        assert_eq!(got, ["s1", "s2"]);
    }

    #[test]
    fn coverage_of_a_complete_or_empty_shot_list() {
        let assets = [asset("a", Some("L1"), ShotType::FullLength)];
        let shots = [shot("s", "L1", ShotType::FullLength, true)];
        let missing = missing_shots(&assets, &shots);
        assert!(missing.is_empty());
        let c = shot_coverage(&shots, &missing);
        assert_eq!((c.total, c.covered, c.missing), (1, 1, 0));
        assert_eq!(c.coverage_percent, 100.0);
        let empty = shot_coverage(&[], &[]);
        assert_eq!((empty.total, empty.covered, empty.missing), (0, 0, 0));
        assert_eq!(empty.coverage_percent, 100.0);
    }

    // --- selects -----------------------------------------------------------

    #[test]
    fn selects_prefer_variety_over_a_close_second_frame_of_the_same_look() {
        // a1 100, a2 98.2 (look A), b1 96.4 (look B); all full-length.
        // Round 2: a2 = 98.2 - 8 - 3 = 87.2 < b1 = 96.4 - 3 = 93.4.
        let assets = [
            frame("a1", "A", 1.0),
            frame("a2", "A", 0.9),
            frame("b1", "B", 0.8),
        ];
        assert_eq!(ids(&selects(&assets, 2)), ["a1", "b1"]);
        assert_eq!(ids(&selects(&assets, 3)), ["a1", "b1", "a2"]);
    }

    #[test]
    fn selects_still_take_a_much_better_frame_of_the_same_look() {
        // b1 is 0.3 sharp: 100 - 12.6 = 87.4. Round 2: a2 87.2 > b1 84.4.
        let assets = [
            frame("a1", "A", 1.0),
            frame("a2", "A", 0.9),
            frame("b1", "B", 0.3),
        ];
        assert_eq!(ids(&selects(&assets, 2)), ["a1", "a2"]);
    }

    #[test]
    fn selects_spread_shot_types_when_scores_are_close() {
        // Round 2: b1 (full-length) 98.2 - 3 = 95.2 < c1 (close-up) 96.4.
        let mut c1 = asset("c1", Some("C"), ShotType::CloseUp);
        c1.sharpness = 0.8;
        let assets = [frame("a1", "A", 1.0), frame("b1", "B", 0.9), c1];
        assert_eq!(ids(&selects(&assets, 3)), ["a1", "c1", "b1"]);
    }

    #[test]
    fn selects_break_ties_by_id_and_spare_frames_without_a_look() {
        let assets = [frame("y", "Y", 1.0), frame("x", "X", 1.0)];
        assert_eq!(ids(&selects(&assets, 2)), ["x", "y"]);

        // Equal adjusted scores: "b" (95.2 after its shot-type penalty) ties
        // with "c" (close-up 95.2, no penalty) and wins on id.
        let mut c = asset("c", Some("C"), ShotType::CloseUp);
        c.brand.palette_match = 0.8; // 100 - 0.25 * 0.6 * 20 = 97
        c.sharpness = 0.9; // 97 - 1.8 = 95.2
        let assets = [frame("a", "A", 1.0), frame("b", "B", 0.9), c];
        assert_eq!(score_asset(&assets[2]).score, 95.2);
        assert_eq!(ids(&selects(&assets, 2)), ["a", "b"]);

        // Frames without a look pay only the shot-type penalty.
        let mut n1 = asset("n1", None, ShotType::FullLength);
        n1.sharpness = 1.0;
        let mut n2 = asset("n2", None, ShotType::FullLength);
        n2.sharpness = 0.9; // 98.2 - 3 = 95.2
        let other = frame("o", "O", 0.7); // 94.6 - 3 = 91.6
        assert_eq!(ids(&selects(&[n1, n2, other], 2)), ["n1", "n2"]);
    }

    #[test]
    fn rejected_frames_are_never_selected() {
        let assets = [
            with_status(frame("best", "A", 1.0), AssetStatus::Rejected),
            with_status(frame("ok", "B", 0.5), AssetStatus::Approved),
            frame("fine", "C", 0.6),
            with_status(frame("other", "D", 0.9), AssetStatus::Rejected),
        ];
        let picked = selects(&assets, 10);
        assert_eq!(ids(&picked), ["fine", "ok"]);
        assert!(picked.iter().all(|a| a.status != AssetStatus::Rejected));
        assert!(selects(&assets[..1], 5).is_empty());
    }

    #[test]
    fn selects_return_full_assets_unchanged() {
        let mut a = frame("a", "A", 1.0);
        a.photographer = Some("Inez".to_owned());
        a.iso = Some(200);
        a.file_size_bytes = Some(48_000_000);
        let picked = selects(std::slice::from_ref(&a), 12);
        assert_eq!(picked, vec![a]);
    }

    // --- analyze -----------------------------------------------------------

    #[test]
    fn analysis_type_selects_sections() {
        let (assets, shots) = coverage_fixture();
        let run = |kind| {
            let mut req = request(assets.clone(), kind);
            req.shot_list = shots.clone();
            assert_eq!(req.validate(), Ok(()));
            analyze(&req)
        };
        let q = run(MediaAnalysisType::Quality);
        assert!(q.quality_scores.is_some());
        assert!(q.missing_shots.is_none() && q.shot_coverage.is_none() && q.selects.is_none());
        let m = run(MediaAnalysisType::Missing);
        assert!(m.quality_scores.is_none() && m.selects.is_none());
        assert!(m.missing_shots.is_some() && m.shot_coverage.is_some());
        let s = run(MediaAnalysisType::Selects);
        assert!(s.quality_scores.is_none() && s.missing_shots.is_none());
        assert!(s.shot_coverage.is_none() && s.selects.is_some());
        let all = run(MediaAnalysisType::All);
        assert_eq!(all.quality_scores.as_ref().map(Vec::len), Some(7));
        assert_eq!(all.missing_shots.as_ref().map(Vec::len), Some(4));
        assert_eq!(all.shot_coverage.as_ref().map(|c| c.covered), Some(3));
        // 7 frames, 4 rejected: the 3 usable ones.
        assert_eq!(all.selects.as_ref().map(Vec::len), Some(3));
        assert_eq!(all.quality_scores, Some(quality_scores(&assets)));
        assert_eq!(all.selects, Some(selects(&assets, 12)));
    }

    #[test]
    fn select_count_defaults_to_twelve() {
        let assets: Vec<GalleryAsset> = (0..20)
            .map(|i| frame(&format!("f{i:02}"), &format!("L{}", i % 5), 1.0))
            .collect();
        let mut req = request(assets, MediaAnalysisType::Selects);
        assert_eq!(req.select_count(), 12);
        assert_eq!(analyze(&req).selects.map(|s| s.len()), Some(12));
        req.select_count = Some(3);
        let picked = analyze(&req).selects.unwrap_or_default();
        // Equal scores: three different looks, lowest ids first.
        assert_eq!(ids(&picked), ["f00", "f01", "f02"]);
    }

    #[test]
    fn missing_analysis_works_before_anything_is_shot() {
        let mut req = request(Vec::new(), MediaAnalysisType::Missing);
        req.shot_list = vec![shot("s", "L1", ShotType::FullLength, true)];
        assert_eq!(req.validate(), Ok(()));
        let out = analyze(&req);
        assert_eq!(out.missing_shots.map(|m| m.len()), Some(1));
        assert_eq!(out.shot_coverage.map(|c| c.coverage_percent), Some(0.0));
    }

    #[test]
    fn large_gallery_analyzes_consistently() {
        let types = ShotType::ALL;
        let assets: Vec<GalleryAsset> = (0..MAX_ASSETS)
            .map(|i| {
                let mut a = asset(
                    &format!("a-{i:05}"),
                    Some(&format!("look-{}", i % 40)),
                    types[i % types.len()],
                );
                a.sharpness = (i % 101) as f64 / 100.0;
                a.exposure_ev = ((i % 11) as f64 - 5.0) / 2.0;
                a.noise = (i % 17) as f64 / 16.0;
                if i % 9 == 0 {
                    a.status = AssetStatus::Rejected;
                }
                a
            })
            .collect();
        let shots: Vec<ShotItem> = (0..MAX_SHOTS)
            .map(|i| {
                shot(
                    &format!("s-{i:04}"),
                    &format!("look-{}", i % 50),
                    types[i % types.len()],
                    i % 3 != 0,
                )
            })
            .collect();
        let mut req = request(assets, MediaAnalysisType::All);
        req.shot_list = shots;
        req.select_count = Some(MAX_SELECT_COUNT);
        assert_eq!(req.validate(), Ok(()));
        let started = std::time::Instant::now();
        let out = analyze(&req);
        let elapsed = started.elapsed();
        let scores = out.quality_scores.unwrap_or_default();
        assert_eq!(scores.len(), MAX_ASSETS);
        assert!(scores.windows(2).all(|w| w[0].score >= w[1].score));
        let picked = out.selects.unwrap_or_default();
        assert_eq!(picked.len(), 100);
        let distinct: HashSet<&str> = picked.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(distinct.len(), 100);
        assert!(picked.iter().all(|a| a.status.is_usable()));
        let coverage = out.shot_coverage.expect("coverage requested");
        let missing = out.missing_shots.unwrap_or_default();
        assert_eq!(coverage.total, 2000);
        assert_eq!(coverage.missing as usize, missing.len());
        assert_eq!(coverage.covered + coverage.missing, 2000);
        // Looks 40..49 are never shot.
        assert!(coverage.missing >= 400);
        // Generous bound so debug builds on slow CI pass; release is far below.
        assert!(elapsed.as_millis() < 2_000, "took {elapsed:?}");
    }

    // --- validation --------------------------------------------------------

    fn valid() -> MediaRequest {
        let (assets, shots) = coverage_fixture();
        let mut req = request(assets, MediaAnalysisType::All);
        req.shot_list = shots;
        req
    }

    fn message(req: &MediaRequest) -> String {
        req.validate()
            .expect_err("request should be rejected")
            .to_string()
    }

    fn asset_message(i: usize, change: impl FnOnce(&mut GalleryAsset)) -> String {
        let mut req = valid();
        if let Some(a) = req.assets.get_mut(i) {
            change(a);
        }
        message(&req)
    }

    #[test]
    fn fixture_is_valid() {
        assert_eq!(valid().validate(), Ok(()));
    }

    #[test]
    fn rejects_empty_assets_unless_only_missing_shots_are_wanted() {
        for kind in [
            MediaAnalysisType::Quality,
            MediaAnalysisType::Selects,
            MediaAnalysisType::All,
        ] {
            let mut req = valid();
            req.assets.clear();
            req.analysis_type = kind;
            assert_eq!(
                message(&req),
                format!(
                    "assets must contain at least one asset for analysisType \"{}\"",
                    kind.as_str()
                )
            );
        }
        let mut req = valid();
        req.assets.clear();
        req.analysis_type = MediaAnalysisType::Missing;
        assert_eq!(req.validate(), Ok(()));
        req.shot_list.clear();
        assert_eq!(
            message(&req),
            "shotList must contain at least one shot for analysisType \"missing\""
        );
        // Other analyses accept an empty shot list.
        let mut req = valid();
        req.shot_list.clear();
        assert_eq!(req.validate(), Ok(()));
    }

    #[test]
    fn rejects_oversized_lists() {
        let mut req = valid();
        req.assets = (0..=MAX_ASSETS)
            .map(|i| asset(&i.to_string(), None, ShotType::Detail))
            .collect();
        assert_eq!(
            message(&req),
            "assets has 5001 assets; at most 5000 are accepted"
        );
        let mut req = valid();
        req.shot_list = (0..=MAX_SHOTS)
            .map(|i| shot(&i.to_string(), "L", ShotType::Detail, true))
            .collect();
        assert_eq!(
            message(&req),
            "shotList has 2001 shots; at most 2000 are accepted"
        );
    }

    #[test]
    fn rejects_select_count_out_of_range() {
        let mut req = valid();
        req.select_count = Some(0);
        assert_eq!(message(&req), "selectCount: 0 is outside 1..=100");
        req.select_count = Some(101);
        assert_eq!(message(&req), "selectCount: 101 is outside 1..=100");
        for ok in [1, 100] {
            req.select_count = Some(ok);
            assert_eq!(req.validate(), Ok(()));
        }
    }

    #[test]
    fn rejects_numbers_out_of_range_with_field_path() {
        assert_eq!(
            asset_message(3, |a| a.sharpness = 1.4),
            "assets[3].sharpness: 1.4 is outside 0..=1"
        );
        assert_eq!(
            asset_message(0, |a| a.noise = f64::NAN),
            "assets[0].noise: must be a number, not NaN"
        );
        assert_eq!(
            asset_message(2, |a| a.sharpness = f64::INFINITY),
            "assets[2].sharpness: inf is outside 0..=1"
        );
        assert_eq!(
            asset_message(1, |a| a.exposure_ev = -5.5),
            "assets[1].exposureEv: -5.5 is outside -5..=5"
        );
        assert_eq!(
            asset_message(2, |a| a.width = 0),
            "assets[2].width: 0 is outside 1..=100000"
        );
        assert_eq!(
            asset_message(2, |a| a.height = 100_001),
            "assets[2].height: 100001 is outside 1..=100000"
        );
        assert_eq!(
            asset_message(0, |a| a.iso = Some(0)),
            "assets[0].iso: 0 is outside 1..=10000000"
        );
        assert_eq!(
            asset_message(4, |a| a.file_size_bytes = Some(0)),
            "assets[4].fileSizeBytes: must be at least 1"
        );
        assert_eq!(
            asset_message(1, |a| a.composition.subject_fill = -0.1),
            "assets[1].composition.subjectFill: -0.1 is outside 0..=1"
        );
        assert_eq!(
            asset_message(1, |a| a.composition.rule_of_thirds = f64::NAN),
            "assets[1].composition.ruleOfThirds: must be a number, not NaN"
        );
        assert_eq!(
            asset_message(0, |a| a.brand.palette_match = 2.0),
            "assets[0].brand.paletteMatch: 2 is outside 0..=1"
        );
        // Bounds are inclusive.
        let mut req = valid();
        if let Some(a) = req.assets.first_mut() {
            a.exposure_ev = -5.0;
            a.sharpness = 0.0;
            a.noise = 1.0;
            a.width = 1;
            a.height = MAX_DIMENSION_PX;
            a.iso = Some(MAX_ISO);
            a.file_size_bytes = Some(1);
        }
        assert_eq!(req.validate(), Ok(()));
    }

    #[test]
    fn rejects_duplicate_ids() {
        assert_eq!(
            asset_message(5, |a| a.id = "a-2".to_owned()),
            "assets[5].id: duplicate id \"a-2\""
        );
        let mut req = valid();
        if let Some(s) = req.shot_list.get_mut(1) {
            s.id = "sh-1".to_owned();
        }
        assert_eq!(message(&req), "shotList[1].id: duplicate id \"sh-1\"");
        // An asset and a shot may share an id.
        let mut req = valid();
        if let Some(s) = req.shot_list.first_mut() {
            s.id = "a-1".to_owned();
        }
        assert_eq!(req.validate(), Ok(()));
    }

    #[test]
    fn rejects_blank_and_overlong_text() {
        assert_eq!(
            asset_message(0, |a| a.id = " ".to_owned()),
            "assets[0].id: must not be empty"
        );
        assert_eq!(
            asset_message(2, |a| a.look_id = Some(String::new())),
            "assets[2].lookId: must not be empty"
        );
        assert_eq!(
            asset_message(1, |a| a.category = Some("é".repeat(201))),
            "assets[1].category: is 201 characters long; at most 200 are accepted"
        );
        assert_eq!(
            asset_message(6, |a| a.photographer = Some("\t".to_owned())),
            "assets[6].photographer: must not be empty"
        );
        let mut req = valid();
        if let Some(s) = req.shot_list.get_mut(3) {
            s.look_id = "  ".to_owned();
        }
        assert_eq!(message(&req), "shotList[3].lookId: must not be empty");
        let mut req = valid();
        if let Some(s) = req.shot_list.get_mut(2) {
            s.description = Some("x".repeat(300));
        }
        assert_eq!(
            message(&req),
            "shotList[2].description: is 300 characters long; at most 200 are accepted"
        );
        let mut req = valid();
        req.gallery_id = Some(String::new());
        assert_eq!(message(&req), "galleryId: must not be empty");
    }

    // --- serde -------------------------------------------------------------

    #[test]
    fn wire_names_match_serde() {
        fn check<T>(values: &[T], name: impl Fn(&T) -> &'static str)
        where
            T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
        {
            for value in values {
                let json = serde_json::to_string(value).expect("serializable");
                assert_eq!(json, format!("\"{}\"", name(value)));
                let back: T = serde_json::from_str(&json).expect("round trip");
                assert_eq!(&back, value);
            }
        }
        check(&ShotType::ALL, |t| t.as_str());
        check(&ImageFormat::ALL, |f| f.as_str());
        check(&AssetStatus::ALL, |s| s.as_str());
        check(&MediaAnalysisType::ALL, |k| k.as_str());
    }

    const ASSET_JSON: &str = r#"{"id":"a","shotType":"detail","width":100,"height":100,"format":"jpeg",
        "sharpness":1,"exposureEv":0,"noise":0,
        "composition":{"ruleOfThirds":1,"subjectFill":0.8},
        "brand":{"paletteMatch":1,"logoVisible":false,"onModel":false}"#;

    #[test]
    fn defaults_apply_to_omitted_fields() {
        let json = format!(r#"{{"assets":[{ASSET_JSON}}}],"analysisType":"quality"}}"#);
        let req: MediaRequest = serde_json::from_str(&json).expect("valid JSON");
        assert!(req.shot_list.is_empty());
        assert_eq!(req.select_count, None);
        let a = &req.assets[0];
        assert_eq!(a.status, AssetStatus::Pending);
        assert!(a.composition.horizon_level);
        assert_eq!(a.look_id, None);
        assert_eq!(req.validate(), Ok(()));
        let s: ShotItem = serde_json::from_str(r#"{"id":"s","lookId":"L","shotType":"back_view"}"#)
            .expect("valid shot");
        assert!(s.required);
    }

    #[test]
    fn serde_rejects_unknown_fields_and_enum_values() {
        let parse = |asset: &str, extra: &str| {
            let json = format!(r#"{{"assets":[{asset}}}],"analysisType":"all"{extra}}}"#);
            serde_json::from_str::<MediaRequest>(&json).map_err(|e| e.to_string())
        };
        assert!(parse(ASSET_JSON, "").is_ok());
        let err = parse(&format!(r#"{ASSET_JSON},"sharpnes":1"#), "").expect_err("typo");
        assert!(err.contains("unknown field `sharpnes`"), "{err}");
        let err = parse(ASSET_JSON, r#","extra":1"#).expect_err("top-level extra");
        assert!(err.contains("unknown field `extra`"), "{err}");
        let err = parse(
            ASSET_JSON,
            r#","shotList":[{"id":"s","lookId":"L","shotType":"wide"}]"#,
        )
        .expect_err("unknown shot type");
        assert!(err.contains("unknown variant `wide`"), "{err}");
        let err = parse(
            ASSET_JSON,
            r#","shotList":[{"id":"s","lookId":"L","shotType":"detail","must":true}]"#,
        )
        .expect_err("unknown shot field");
        assert!(err.contains("unknown field `must`"), "{err}");
        let err = parse(&ASSET_JSON.replace("\"jpeg\"", "\"gif\""), "").expect_err("gif");
        assert!(err.contains("unknown variant `gif`"), "{err}");
        let err = parse(&format!(r#"{ASSET_JSON},"status":"maybe""#), "").expect_err("status");
        assert!(err.contains("unknown variant `maybe`"), "{err}");
        let err = parse(&ASSET_JSON.replace("\"subjectFill\"", "\"fill\""), "")
            .expect_err("composition field");
        assert!(err.contains("unknown field `fill`"), "{err}");
        let err = parse(&ASSET_JSON.replace("\"logoVisible\":false,", ""), "")
            .expect_err("missing brand field");
        assert!(err.contains("missing field `logoVisible`"), "{err}");
        let err = parse(&ASSET_JSON.replace("\"width\":100", "\"width\":-1"), "")
            .expect_err("negative width");
        assert!(err.contains("invalid value"), "{err}");

        let bad_type = r#"{"assets":[],"analysisType":"everything"}"#;
        assert!(serde_json::from_str::<MediaRequest>(bad_type).is_err());
        let missing_type = r#"{"assets":[]}"#;
        assert!(serde_json::from_str::<MediaRequest>(missing_type).is_err());
    }

    #[test]
    fn realistic_json_request_round_trips_to_camel_case_analysis() {
        let hero = json!({
            "id": "IMG_0412", "lookId": "look-1", "shotType": "full_length", "category": "campaign",
            "width": 8256, "height": 5504, "format": "raw", "fileSizeBytes": 61_234_567u64,
            "sharpness": 0.95, "exposureEv": 0.3, "noise": 0.05, "iso": 100,
            "composition": {"ruleOfThirds": 0.9, "horizonLevel": true, "subjectFill": 0.55},
            "brand": {"paletteMatch": 0.92, "logoVisible": true, "onModel": true},
            "status": "approved", "photographer": "Inez Roberts"
        });
        let json = json!({
            "galleryId": "shoot-ss25-campaign",
            "analysisType": "all",
            "selectCount": 2,
            "assets": [
                hero,
                {"id": "IMG_0413", "lookId": "look-1", "shotType": "close_up",
                 "width": 6000, "height": 4000, "format": "jpeg",
                 "sharpness": 0.3, "exposureEv": -1.2, "noise": 0.4,
                 "composition": {"ruleOfThirds": 0.5, "subjectFill": 0.7},
                 "brand": {"paletteMatch": 0.8, "logoVisible": false, "onModel": true},
                 "status": "rejected"}
            ],
            "shotList": [
                {"id": "shot-1", "lookId": "look-1", "shotType": "full_length"},
                {"id": "shot-2", "lookId": "look-1", "shotType": "close_up", "description": "Collar detail"},
                {"id": "shot-3", "lookId": "look-2", "shotType": "flat_lay", "required": false}
            ]
        });
        let req: MediaRequest = serde_json::from_value(json).expect("valid request JSON");
        assert_eq!(req.validate(), Ok(()));
        assert_eq!(req.gallery_id.as_deref(), Some("shoot-ss25-campaign"));

        let out = serde_json::to_value(analyze(&req)).expect("serializable");
        let keys: Vec<&String> = out.as_object().expect("object").keys().collect();
        assert_eq!(
            keys,
            ["missingShots", "qualityScores", "selects", "shotCoverage"]
        );

        let first = &out["qualityScores"][0];
        assert_eq!(first["assetId"], "IMG_0412");
        assert_eq!(first["grade"], "excellent");
        assert!(first["score"].is_f64());
        assert_eq!(first["megapixels"], 45.4);
        assert_eq!(first["issues"], json!([]));
        let factor_keys: Vec<&String> = first["factors"]
            .as_object()
            .expect("factors object")
            .keys()
            .collect();
        assert_eq!(
            factor_keys,
            [
                "brand",
                "composition",
                "exposure",
                "formatPenalty",
                "horizon",
                "logo",
                "noise",
                "onModel",
                "paletteMatch",
                "resolution",
                "ruleOfThirds",
                "sharpness",
                "subjectFill",
                "technical"
            ]
        );
        let second = &out["qualityScores"][1];
        assert_eq!(second["assetId"], "IMG_0413");
        assert_eq!(second["issues"], json!(["soft_focus", "underexposed"]));

        let missing = &out["missingShots"];
        assert_eq!(missing.as_array().map(Vec::len), Some(2));
        assert_eq!(missing[0]["shotId"], "shot-2");
        assert_eq!(missing[0]["lookId"], "look-1");
        assert_eq!(missing[0]["shotType"], "close_up");
        assert_eq!(missing[0]["required"], true);
        assert_eq!(missing[0]["description"], "Collar detail");
        assert_eq!(missing[0]["priority"], "medium");
        assert_eq!(missing[0]["candidates"], 1);
        assert_eq!(
            missing[0]["reason"],
            "Required close-up shot of look \"look-1\" has only rejected frames (1); approve it or reshoot."
        );
        assert_eq!(missing[1]["shotId"], "shot-3");
        assert_eq!(missing[1]["priority"], "low");
        assert!(missing[1].get("description").is_none());

        assert_eq!(
            out["shotCoverage"],
            json!({"total": 3, "covered": 1, "missing": 2, "requiredMissing": 1, "coveragePercent": 33.3})
        );

        // Selects come back exactly as sent; the rejected frame is left out.
        assert_eq!(out["selects"], json!([hero]));

        let back: MediaAnalysis = serde_json::from_value(out).expect("round trip");
        assert_eq!(back, analyze(&req));
    }

    #[test]
    fn unrequested_sections_are_omitted_from_json() {
        let req = request(vec![frame("a", "A", 1.0)], MediaAnalysisType::Quality);
        let out = serde_json::to_value(analyze(&req)).expect("serializable");
        let keys: Vec<&String> = out.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["qualityScores"]);
    }
}
