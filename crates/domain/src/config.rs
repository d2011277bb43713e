//! Configuration saved in versions: what people configure (segment scorecards) and what
//! the product learns (forecast models) is kept as a history of versions, each with who
//! saved it and when, so it can be shown, compared and rolled back.

use crate::UserId;

/// What a versioned configuration is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigKind {
    /// The segment scorecards in force (a JSON array, first match wins).
    SegmentScorecards,
    /// A trained churn forecast model (JSON).
    ForecastModel,
    /// The success plan templates (a JSON array).
    PlanTemplates,
    /// The customer journey: its stages and their rules (JSON).
    Journey,
    /// The keyword lists that class answers and feedback as friction or delight (JSON).
    VoiceKeywords,
    /// Saved import mappings by name (a JSON object).
    ImportMappings,
}

impl ConfigKind {
    /// Whether saving a body equal to the latest keeps the latest version (configuration
    /// people edit), or always makes a new one (a model trained again is a new version,
    /// with its own time, even when it learned the same).
    pub fn keeps_equal_versions(self) -> bool {
        match self {
            ConfigKind::SegmentScorecards
            | ConfigKind::PlanTemplates
            | ConfigKind::Journey
            | ConfigKind::VoiceKeywords
            | ConfigKind::ImportMappings => true,
            ConfigKind::ForecastModel => false,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigKind::SegmentScorecards => "segment_scorecards",
            ConfigKind::ForecastModel => "forecast_model",
            ConfigKind::PlanTemplates => "plan_templates",
            ConfigKind::Journey => "journey",
            ConfigKind::VoiceKeywords => "voice_keywords",
            ConfigKind::ImportMappings => "import_mappings",
        }
    }
}

/// One saved version of a configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigVersion {
    /// What it configures.
    pub kind: ConfigKind,
    /// 1, 2, ...: the highest is in force.
    pub version: i64,
    /// The body as saved (JSON; checked by its engine before saving and after reading).
    pub body: String,
    /// Who saved it (none: the system, or a user since deleted).
    pub saved_by: Option<UserId>,
    /// When.
    pub saved_at: jiff::Timestamp,
}
