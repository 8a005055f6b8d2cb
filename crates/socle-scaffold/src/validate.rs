//! `socle template validate`: every problem of a template directory a template author should fix
//! before anyone runs it, each with file, line and field path — what [`crate::template::load`]
//! refuses, the steps whose action this Socle does not run, and skeleton directories that
//! `fetch:template` / `fetch:plain` name but that are not next to the template.

use serde_json::Value;
use socle_catalog::Limits;
use socle_catalog::yaml::{Seg, parse_documents, path_string};

use crate::builtin::Source;
use crate::template::{self, ActionTable, TemplateError};

/// The actions that copy a skeleton from next to the template.
const FETCH_ACTIONS: &[&str] = &["fetch:template", "fetch:plain"];

/// Every problem of the template in `text` (read from `file`), whose skeletons `source` holds;
/// empty when it loads, every action is supported and every skeleton is there. Sorted by line.
pub fn validate(
    text: &str,
    file: &str,
    actions: &ActionTable,
    limits: &Limits,
    source: &dyn Source,
) -> Vec<TemplateError> {
    let t = match template::load(text, file, actions, limits) {
        Ok(t) => t,
        Err(errors) => return errors,
    };
    let mut problems = t.unsupported.clone();
    // The template loaded: the text parses, so every step can be located.
    let Some(root) = parse_documents(text, limits)
        .ok()
        .and_then(|d| d.into_iter().next())
    else {
        return problems;
    };
    for (i, step) in t.steps.iter().enumerate() {
        if !FETCH_ACTIONS.contains(&step.action.as_str()) {
            continue;
        }
        // A URL computed by an expression is known only when the template runs.
        let Some(url) = step.input.get("url").and_then(Value::as_str) else {
            continue;
        };
        if url.contains("${{") {
            continue;
        }
        let path = [
            Seg::Key("spec".into()),
            Seg::Key("steps".into()),
            Seg::Index(i),
            Seg::Key("input".into()),
            Seg::Key("url".into()),
        ];
        let problem = if url.contains("://") {
            Some((
                "fetch.remote",
                format!(
                    "{url:?}: remote skeletons are not fetched by this Socle; put the skeleton in a directory next to the template"
                ),
            ))
        } else {
            source.files(url).err().map(|e| {
                (
                    "skeleton.missing",
                    format!("skeleton {url:?} of step {:?}: {e}", step.id),
                )
            })
        };
        if let Some((rule, message)) = problem {
            problems.push(TemplateError {
                file: file.to_owned(),
                line: Some(root.locate(&path).0),
                path: path_string(&path),
                rule: rule.to_owned(),
                message,
            });
        }
    }
    problems.sort_by_key(|e| e.line);
    problems
}
