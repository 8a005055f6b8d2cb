//! Choosing the resource definition for a resource: the most specific applicable definition
//! wins; a tie is an error that names the tied definitions.
//!
//! A definition without a class provides every class of its type, as score-compose's and
//! score-k8s's provisioners do; one for the resource's own class is preferred to it whatever
//! else either says (class 16, then id 8, app 4, environment 2, environment type 1).

use crate::config::{Environment, PlatformConfig, ResourceDefinition};

/// A workload's resource, as matching sees it.
#[derive(Clone, Debug)]
pub struct ResourceRequest<'a> {
    pub kind: &'a str,
    pub class: Option<&'a str>,
    pub id: Option<&'a str>,
    pub app: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    #[error(
        "no resource definition provides type \"{kind}\"{class} for environment {env} ({target}); definitions for this type exist for: {known}"
    )]
    NoMatch {
        kind: String,
        class: String,
        env: String,
        target: String,
        known: String,
    },
    #[error("resource type \"{kind}\" is unknown to this platform; known types: {known}")]
    UnknownType { kind: String, known: String },
    #[error(
        "ambiguous: resource definitions {names} match type \"{kind}\" in environment {env} equally well; make one more specific (criteria on environment, app or id)"
    )]
    Ambiguous {
        kind: String,
        env: String,
        names: String,
    },
}

/// How specific a definition is for this request, if it applies at all.
fn specificity(
    def: &ResourceDefinition,
    req: &ResourceRequest<'_>,
    env: &Environment,
) -> Option<u32> {
    if def.kind != req.kind || def.target != env.target {
        return None;
    }
    let class = req.class.filter(|c| *c != "default");
    let class_score = match (def.class.as_deref(), class) {
        (None, _) => 0,
        (Some(d), Some(r)) if d == r => CLASS_SCORE,
        (Some(_), _) => return None,
    };
    let id_score = match (&def.id, req.id) {
        (None, _) => 0,
        (Some(d), Some(r)) if d == r => 8,
        (Some(_), _) => return None,
    };
    let criteria_score = if def.criteria.is_empty() {
        Some(0)
    } else {
        def.criteria
            .iter()
            .filter(|c| {
                c.environment.as_deref().is_none_or(|e| e == env.name)
                    && c.environment_type
                        .as_deref()
                        .is_none_or(|t| t == env.env_type)
                    && c.app.as_deref().is_none_or(|a| a == req.app)
            })
            .map(|c| {
                u32::from(c.app.is_some()) * 4
                    + u32::from(c.environment.is_some()) * 2
                    + u32::from(c.environment_type.is_some())
            })
            .max()
    };
    criteria_score.map(|c| c + id_score + class_score)
}

/// What a definition for the resource's own class scores: more than id and criteria together
/// (8 + 7), so that it wins over any definition without a class.
const CLASS_SCORE: u32 = 16;

/// The definition that provides `req` in `env`.
pub fn match_definition<'c>(
    config: &'c PlatformConfig,
    req: &ResourceRequest<'_>,
    env: &Environment,
) -> Result<&'c ResourceDefinition, MatchError> {
    let mut scored: Vec<(u32, &ResourceDefinition)> = config
        .definitions
        .iter()
        .filter_map(|d| specificity(d, req, env).map(|s| (s, d)))
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    match scored.as_slice() {
        [] => {
            let same_type: Vec<String> = config
                .definitions
                .iter()
                .filter(|d| d.kind == req.kind)
                .map(|d| {
                    format!(
                        "{} ({}{})",
                        d.name,
                        d.target.as_str(),
                        d.class
                            .as_deref()
                            .map(|c| format!(", class {c}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            if same_type.is_empty() {
                let mut known: Vec<&str> =
                    config.definitions.iter().map(|d| d.kind.as_str()).collect();
                known.sort();
                known.dedup();
                return Err(MatchError::UnknownType {
                    kind: req.kind.to_owned(),
                    known: known.join(", "),
                });
            }
            Err(MatchError::NoMatch {
                kind: req.kind.to_owned(),
                class: req
                    .class
                    .map(|c| format!(" class \"{c}\""))
                    .unwrap_or_default(),
                env: env.name.clone(),
                target: env.target.as_str().to_owned(),
                known: same_type.join(", "),
            })
        }
        [(best, d), rest @ ..] => {
            let tied: Vec<&str> = rest
                .iter()
                .take_while(|(s, _)| s == best)
                .map(|(_, d)| d.name.as_str())
                .collect();
            if tied.is_empty() {
                Ok(d)
            } else {
                let mut names = vec![d.name.as_str()];
                names.extend(tied);
                Err(MatchError::Ambiguous {
                    kind: req.kind.to_owned(),
                    env: env.name.clone(),
                    names: names.join(", "),
                })
            }
        }
    }
}
