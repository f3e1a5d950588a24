//! Assistant preferences (seed 004, table user_preferences): the contract,
//! defaults for a user who has none, and validated partial updates.

use crate::validation::{Validate, ValidationError, check_text};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The assistant's kits, in their default order.
pub const KITS: [&str; 5] = ["logistics", "events", "media", "insights", "general"];
/// Favourite actions kept per user.
pub const MAX_FAVORITE_ACTIONS: usize = 20;
/// Default days of conversation history kept (seed: 90).
pub const DEFAULT_RETENTION_DAYS: i32 = 90;

/// A user's preferences as the API shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preferences {
    /// Kit the assistant opens with.
    pub default_kit: Option<String>,
    /// Whether the assistant suggests actions unprompted.
    pub auto_suggestions_enabled: bool,
    /// Which alerts to show (free-form object).
    pub notification_preferences: Value,
    /// The user's ordering of kits.
    pub kit_order: Vec<String>,
    /// The user's most used quick actions.
    pub favorite_actions: Vec<String>,
    /// Days of conversation history kept.
    pub conversation_history_retention_days: i32,
    /// When they were last changed (absent for defaults).
    pub updated_at: Option<String>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            default_kit: None,
            auto_suggestions_enabled: true,
            notification_preferences: Value::Object(serde_json::Map::new()),
            kit_order: KITS.iter().map(|k| k.to_string()).collect(),
            favorite_actions: Vec::new(),
            conversation_history_retention_days: DEFAULT_RETENTION_DAYS,
            updated_at: None,
        }
    }
}

impl Preferences {
    /// The kit order with any kit the user left out appended, so every kit has a rank.
    pub fn effective_kit_order(&self) -> Vec<String> {
        let mut order: Vec<String> = self.kit_order.clone();
        for kit in KITS {
            if !order.iter().any(|k| k == kit) {
                order.push(kit.to_string());
            }
        }
        order
    }
}

/// A partial update: only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreferencesUpdate {
    /// New default kit (`null` clears it).
    #[serde(default, deserialize_with = "some")]
    pub default_kit: Option<Option<String>>,
    /// New suggestion switch.
    pub auto_suggestions_enabled: Option<bool>,
    /// New alert settings (an object).
    pub notification_preferences: Option<Value>,
    /// New kit order (known kits, no repeats).
    pub kit_order: Option<Vec<String>>,
    /// New favourite actions.
    pub favorite_actions: Option<Vec<String>>,
    /// New retention, 1 to 3650 days.
    pub conversation_history_retention_days: Option<i32>,
}

fn some<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl Validate for PreferencesUpdate {
    /// Checks the update; the message names the field.
    fn validate(&self) -> Result<(), ValidationError> {
        if let Some(Some(kit)) = &self.default_kit {
            check_kit("defaultKit", kit)?;
        }
        if let Some(value) = &self.notification_preferences
            && !value.is_object()
        {
            return Err(ValidationError(
                "notificationPreferences: must be an object".into(),
            ));
        }
        if let Some(order) = &self.kit_order {
            for (i, kit) in order.iter().enumerate() {
                check_kit(&format!("kitOrder[{i}]"), kit)?;
                if order[..i].contains(kit) {
                    return Err(ValidationError(format!(
                        "kitOrder[{i}]: {kit:?} is listed twice"
                    )));
                }
            }
        }
        if let Some(actions) = &self.favorite_actions {
            if actions.len() > MAX_FAVORITE_ACTIONS {
                return Err(ValidationError(format!(
                    "favoriteActions has {} entries; at most {MAX_FAVORITE_ACTIONS} are accepted",
                    actions.len()
                )));
            }
            for (i, action) in actions.iter().enumerate() {
                check_text(|| format!("favoriteActions[{i}]"), action)?;
            }
        }
        if let Some(days) = self.conversation_history_retention_days
            && !(1..=3650).contains(&days)
        {
            return Err(ValidationError(format!(
                "conversationHistoryRetentionDays: {days} is outside 1..=3650"
            )));
        }
        Ok(())
    }
}

impl PreferencesUpdate {
    /// The preferences after this update.
    pub fn apply(&self, current: &Preferences) -> Preferences {
        let mut next = current.clone();
        if let Some(kit) = &self.default_kit {
            next.default_kit = kit.clone();
        }
        if let Some(on) = self.auto_suggestions_enabled {
            next.auto_suggestions_enabled = on;
        }
        if let Some(value) = &self.notification_preferences {
            next.notification_preferences = value.clone();
        }
        if let Some(order) = &self.kit_order {
            next.kit_order = order.clone();
        }
        if let Some(actions) = &self.favorite_actions {
            next.favorite_actions = actions.clone();
        }
        if let Some(days) = self.conversation_history_retention_days {
            next.conversation_history_retention_days = days;
        }
        next
    }
}

fn check_kit(field: &str, kit: &str) -> Result<(), ValidationError> {
    if KITS.contains(&kit) {
        Ok(())
    } else {
        Err(ValidationError(format!(
            "{field}: unknown kit {kit:?}; use one of {}",
            KITS.join(", ")
        )))
    }
}

#[cfg(feature = "guest")]
pub use guest::{load, save};

#[cfg(feature = "guest")]
mod guest {
    use super::Preferences;
    use crate::db::{Session, SessionError};
    use spin_sdk::pg4::ParameterValue as P;

    /// The caller's preferences (RLS: their own row), or the defaults.
    pub fn load(session: &Session) -> Result<Preferences, SessionError> {
        let rows = session.query(
            "SELECT default_kit, auto_suggestions_enabled, notification_preferences::text AS notifications,
                    kit_order, favorite_actions, conversation_history_retention_days,
                    to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS updated_at
               FROM public.user_preferences WHERE user_id = auth.uid()",
            &[],
        )?;
        let Some(row) = rows.rows().next() else {
            return Ok(Preferences::default());
        };
        let strings = |column: &str| -> Result<Vec<String>, SessionError> {
            let values: Vec<Option<String>> = row
                .get(column)
                .ok_or_else(|| SessionError::decode(column))?;
            Ok(values.into_iter().flatten().collect())
        };
        let notifications: String = row
            .get("notifications")
            .ok_or_else(|| SessionError::decode("notifications"))?;
        Ok(Preferences {
            default_kit: row.get::<Option<String>>("default_kit").flatten(),
            auto_suggestions_enabled: row
                .get("auto_suggestions_enabled")
                .ok_or_else(|| SessionError::decode("auto_suggestions_enabled"))?,
            notification_preferences: serde_json::from_str(&notifications)
                .map_err(|_| SessionError::decode("notifications"))?,
            kit_order: strings("kit_order")?,
            favorite_actions: strings("favorite_actions")?,
            conversation_history_retention_days: row
                .get("conversation_history_retention_days")
                .ok_or_else(|| SessionError::decode("conversation_history_retention_days"))?,
            updated_at: row.get::<Option<String>>("updated_at").flatten(),
        })
    }

    /// Writes the caller's preferences (insert or update under RLS).
    pub fn save(session: &Session, preferences: &Preferences) -> Result<(), SessionError> {
        let strings = |v: &[String]| P::ArrayStr(v.iter().cloned().map(Some).collect());
        session.execute(
            "INSERT INTO public.user_preferences AS p
                 (user_id, default_kit, auto_suggestions_enabled, notification_preferences,
                  kit_order, favorite_actions, conversation_history_retention_days, updated_at)
             VALUES (auth.uid(), $1, $2, $3::text::jsonb, $4, $5, $6, now())
             ON CONFLICT (user_id) DO UPDATE SET
                 default_kit = excluded.default_kit,
                 auto_suggestions_enabled = excluded.auto_suggestions_enabled,
                 notification_preferences = excluded.notification_preferences,
                 kit_order = excluded.kit_order,
                 favorite_actions = excluded.favorite_actions,
                 conversation_history_retention_days = excluded.conversation_history_retention_days,
                 updated_at = now()",
            &[
                preferences.default_kit.clone().map_or(P::DbNull, P::Str),
                P::Boolean(preferences.auto_suggestions_enabled),
                P::Str(preferences.notification_preferences.to_string()),
                strings(&preferences.kit_order),
                strings(&preferences.favorite_actions),
                P::Int32(preferences.conversation_history_retention_days),
            ],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_follow_the_seed() {
        let p = Preferences::default();
        assert!(p.auto_suggestions_enabled);
        assert_eq!(p.conversation_history_retention_days, 90);
        assert_eq!(p.kit_order, KITS);
    }

    #[test]
    fn partial_update_changes_only_given_fields_and_null_clears() {
        let current = Preferences {
            default_kit: Some("media".into()),
            ..Preferences::default()
        };
        let update: PreferencesUpdate =
            serde_json::from_value(json!({"favoriteActions": ["open:media-kit"]})).expect("parses");
        let next = update.apply(&current);
        assert_eq!(next.default_kit.as_deref(), Some("media"));
        assert_eq!(next.favorite_actions, ["open:media-kit"]);
        let clear: PreferencesUpdate =
            serde_json::from_value(json!({"defaultKit": null})).expect("parses");
        assert_eq!(clear.apply(&current).default_kit, None);
    }

    #[test]
    fn invalid_updates_name_the_field() {
        let cases = [
            (
                json!({"kitOrder": ["events", "events"]}),
                "kitOrder[1]: \"events\" is listed twice",
            ),
            (
                json!({"defaultKit": "casting"}),
                "defaultKit: unknown kit \"casting\"",
            ),
            (
                json!({"conversationHistoryRetentionDays": 0}),
                "conversationHistoryRetentionDays: 0 is outside",
            ),
            (
                json!({"notificationPreferences": [1]}),
                "notificationPreferences: must be an object",
            ),
        ];
        for (body, expected) in cases {
            let update: PreferencesUpdate = serde_json::from_value(body).expect("parses");
            let message = update.validate().expect_err("invalid").0;
            assert!(message.starts_with(expected), "{message}");
        }
        assert!(serde_json::from_value::<PreferencesUpdate>(json!({"theme": "dark"})).is_err());
    }

    #[test]
    fn effective_order_appends_missing_kits() {
        let p = Preferences {
            kit_order: vec!["media".into()],
            ..Preferences::default()
        };
        assert_eq!(p.effective_kit_order()[0], "media");
        assert_eq!(p.effective_kit_order().len(), KITS.len());
    }
}
