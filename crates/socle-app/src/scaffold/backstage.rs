//! Backstage's built-in actions that need the application: `catalog:fetch` (entities from
//! Socle's catalog, read with the runner's rights), `notification:send` (Socle's
//! notifications) and `debug:wait` (a bounded wait that a cancelled run stops). Inputs and
//! outputs carry Backstage's names.

use std::time::Duration;

use serde_json::{Value, json};
use socle_catalog::EntityRef;
use socle_scaffold::engine::{ActionOutcome, BoxFuture};
use socle_scaffold::{Action, ActionContext, ActionError};
use socle_store::NotificationSeverity;

use super::*;
use crate::notifications::{Audience, NotificationInput};

/// Most refs one `catalog:fetch` reads.
pub const MAX_FETCH_REFS: usize = 100;
/// The longest `debug:wait` (Backstage's default maximum).
pub const MAX_WAIT: Duration = Duration::from_secs(30);
/// How often a wait checks whether the run was cancelled.
const WAIT_TICK: Duration = Duration::from_millis(50);

fn input_error(message: impl Into<String>) -> ActionError {
    ActionError::Input(message.into())
}

/// An optional string input (absent or null: None).
fn opt_str<'v>(input: &'v Value, field: &str) -> Result<Option<&'v str>, ActionError> {
    match input.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(input_error(format!(
            "input.{field} must be a string, not {other}"
        ))),
    }
}

fn opt_bool(input: &Value, field: &str) -> Result<bool, ActionError> {
    match input.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(input_error(format!(
            "input.{field} must be true or false, not {other}"
        ))),
    }
}

/// An optional list of strings, at most `max`.
fn opt_strings(input: &Value, field: &str, max: usize) -> Result<Option<Vec<String>>, ActionError> {
    let list = match input.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(input_error(format!(
                "input.{field} must be a list of strings, not {other}"
            )));
        }
    };
    if list.len() > max {
        return Err(input_error(format!(
            "input.{field}: {} items, at most {max}",
            list.len()
        )));
    }
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| input_error(format!("input.{field}[{i}] must be a string, not {v}")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `catalog:fetch`: `{entityRef | entityRefs, optional, defaultKind, defaultNamespace}` →
/// `{entity}` / `{entities}`, each entity as the catalog API serves it (with `relations`).
pub(super) struct CatalogFetch {
    pub(super) state: Arc<App>,
    pub(super) actor: Actor,
}

impl CatalogFetch {
    fn fetch(&self, input: &Value) -> Result<Value, ActionError> {
        let one = opt_str(input, "entityRef")?;
        let many = opt_strings(input, "entityRefs", MAX_FETCH_REFS)?;
        let optional = opt_bool(input, "optional")?;
        let kind = opt_str(input, "defaultKind")?;
        let namespace = opt_str(input, "defaultNamespace")?.unwrap_or("default");
        if one.is_none() && many.is_none() {
            if optional {
                return Ok(json!({}));
            }
            return Err(input_error(
                "input.entityRef or input.entityRefs is required (or optional: true)",
            ));
        }
        // The runner's read rights, as for any catalog read.
        let snap = self
            .state
            .read_model(&self.actor)
            .map_err(|e| ActionError::Failed(e.message))?;
        let get = |text: &str| -> Result<Value, ActionError> {
            let r = EntityRef::parse(text, kind, namespace)
                .map_err(|e| input_error(format!("{text:?} is not an entity ref: {e}")))?;
            let key = r.to_string().to_lowercase();
            match snap.get(&key) {
                Some(v) => serde_json::from_str(&snap.entity_json(v))
                    .map_err(|e| ActionError::Failed(format!("{key}: {e}"))),
                None if optional => Ok(Value::Null),
                None => Err(ActionError::Failed(format!(
                    "entity {key} not found in the catalog"
                ))),
            }
        };
        let mut out = json!({});
        if let Some(r) = one {
            out["entity"] = get(r)?;
        }
        if let Some(refs) = many {
            out["entities"] = refs.iter().map(|r| get(r)).collect::<Result<_, _>>()?;
        }
        Ok(out)
    }
}

impl Action for CatalogFetch {
    fn id(&self) -> &'static str {
        "catalog:fetch"
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(vec!["entity", "entities"])
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        Box::pin(async move {
            let output = self.fetch(&input)?;
            let n = usize::from(output.get("entity").is_some_and(|e| !e.is_null()))
                + output
                    .get("entities")
                    .and_then(Value::as_array)
                    .map_or(0, |a| a.iter().filter(|e| !e.is_null()).count());
            cx.info(format!("fetched {n} entities from the catalog"));
            Ok(ActionOutcome::output(output))
        })
    }
}

/// `notification:send`: `{recipients: broadcast|entity, entityRefs, title, info, link,
/// severity, scope, optional}` → a Socle notification (`GET /api/v1/notifications`).
pub(super) struct NotificationSend {
    pub(super) state: Arc<App>,
    pub(super) actor: Actor,
}

impl NotificationSend {
    fn parse(input: &Value) -> Result<NotificationInput, ActionError> {
        let audience = match opt_str(input, "recipients")? {
            Some("broadcast") => Audience::Everyone,
            Some("entity") => Audience::Entities(
                opt_strings(input, "entityRefs", crate::notifications::MAX_ENTITY_REFS)?
                    .ok_or_else(|| {
                        input_error("input.entityRefs is required with recipients: entity")
                    })?,
            ),
            other => {
                return Err(input_error(format!(
                    "input.recipients {other:?}: expected \"broadcast\" or \"entity\""
                )));
            }
        };
        let severity = match opt_str(input, "severity")? {
            None => NotificationSeverity::Normal,
            Some(s) => NotificationSeverity::parse(s).ok_or_else(|| {
                input_error(format!(
                    "input.severity {s:?}: expected low, normal, high or critical"
                ))
            })?,
        };
        let text = |f: &str| -> Result<Option<String>, ActionError> {
            Ok(opt_str(input, f)?
                .filter(|s| !s.is_empty())
                .map(str::to_owned))
        };
        Ok(NotificationInput {
            audience,
            title: text("title")?.ok_or_else(|| input_error("input.title is required"))?,
            description: text("info")?,
            link: text("link")?,
            severity,
            scope: text("scope")?,
        })
    }

    async fn send(&self, cx: &ActionContext<'_>, input: &Value) -> Result<String, ActionError> {
        let n = Self::parse(input)?;
        let via = format!("golden path {}", cx.template.name);
        let sent = self
            .state
            .send_notification(&self.actor, n, &via)
            .await
            .map_err(|e| ActionError::Failed(e.message))?;
        Ok(sent.id)
    }
}

impl Action for NotificationSend {
    fn id(&self) -> &'static str {
        "notification:send"
    }
    fn side_effect(&self) -> bool {
        true
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        Box::pin(async move {
            let optional = opt_bool(&input, "optional")?;
            match self.send(cx, &input).await {
                Ok(id) => {
                    cx.info(format!("sent notification {id}"));
                    Ok(ActionOutcome {
                        output: json!({}),
                        undo: Some(json!({"id": id})),
                    })
                }
                // `optional`: a notification that cannot be sent does not fail the run.
                Err(e) if optional => {
                    cx.warn(format!("notification not sent: {e}"));
                    Ok(ActionOutcome::output(json!({})))
                }
                Err(e) => Err(e),
            }
        })
    }
    fn undo<'a>(&'a self, data: Value) -> BoxFuture<'a, Result<(), ActionError>> {
        Box::pin(async move {
            let id = data["id"].as_str().unwrap_or_default();
            self.state
                .retract_notification(id)
                .await
                .map_err(|e| ActionError::Failed(e.message))
        })
    }
}

/// `debug:wait`: `{minutes, seconds, milliseconds}` summed, at most [`MAX_WAIT`]; stops when the
/// run is cancelled (and fails, so the run ends there). A dry run does not wait.
pub(super) struct DebugWait;

impl DebugWait {
    fn duration(input: &Value) -> Result<Duration, ActionError> {
        let mut ms = 0.0;
        for (field, unit) in [
            ("minutes", 60_000.0),
            ("seconds", 1_000.0),
            ("milliseconds", 1.0),
        ] {
            match input.get(field) {
                None | Some(Value::Null) => {}
                Some(v) => match v.as_f64() {
                    Some(n) if n.is_finite() && n >= 0.0 => ms += n * unit,
                    _ => {
                        return Err(input_error(format!(
                            "input.{field} must be a number of at least 0, not {v}"
                        )));
                    }
                },
            }
        }
        let max = MAX_WAIT.as_millis() as f64;
        if ms > max {
            return Err(input_error(format!(
                "waiting {:.1} s is longer than the maximum of {} s",
                ms / 1000.0,
                MAX_WAIT.as_secs()
            )));
        }
        Ok(Duration::from_millis(ms.round() as u64))
    }
}

impl Action for DebugWait {
    fn id(&self) -> &'static str {
        "debug:wait"
    }
    fn runs_in_dry_run(&self) -> bool {
        false
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        Box::pin(async move {
            let wanted = Self::duration(&input)?;
            let start = std::time::Instant::now();
            while start.elapsed() < wanted {
                if cx.cancel.is_cancelled() {
                    return Err(ActionError::Failed(format!(
                        "cancelled after {} ms of {} ms",
                        start.elapsed().as_millis(),
                        wanted.as_millis()
                    )));
                }
                tokio::time::sleep(WAIT_TICK.min(wanted.saturating_sub(start.elapsed()))).await;
            }
            cx.info(format!("waited {} ms", wanted.as_millis()));
            Ok(ActionOutcome::output(json!({})))
        })
    }
}
