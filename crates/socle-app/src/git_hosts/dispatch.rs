//! `github:actions:dispatch`: runs a repository's GitHub Actions workflow on a branch or tag
//! (`workflow_dispatch`), with its inputs — Backstage's action, through the REST API.

use serde_json::{Map, Value, json};
use socle_scaffold::engine::{ActionOutcome, BoxFuture};
use socle_scaffold::{Action, ActionContext, ActionError};

use super::{GitHostError, Host, HostApi, api_for, bad, expect, owner_repo, ref_name, required};

/// GitHub accepts at most this many workflow inputs.
const MAX_WORKFLOW_INPUTS: usize = 25;
/// Longest workflow input value sent.
const MAX_INPUT_BYTES: usize = 65_536;

/// `github:actions:dispatch`.
pub struct GithubDispatch {
    pub api: Option<HostApi>,
}

/// `workflowInputs`: an object of at most [`MAX_WORKFLOW_INPUTS`] strings, numbers or booleans
/// (GitHub receives them as strings).
fn workflow_inputs(input: &Value) -> Result<Map<String, Value>, GitHostError> {
    let map = match input.get("workflowInputs") {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(bad(format!(
                "input.workflowInputs must be an object of names and values, not {other}"
            )));
        }
    };
    if map.len() > MAX_WORKFLOW_INPUTS {
        return Err(bad(format!(
            "input.workflowInputs: {} inputs, GitHub takes at most {MAX_WORKFLOW_INPUTS}",
            map.len()
        )));
    }
    map.iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => v.to_string(),
                other => {
                    return Err(bad(format!(
                        "input.workflowInputs.{k} must be a string, number or boolean, not {other}"
                    )));
                }
            };
            if text.len() > MAX_INPUT_BYTES {
                return Err(bad(format!(
                    "input.workflowInputs.{k}: more than {MAX_INPUT_BYTES} bytes"
                )));
            }
            Ok((k.clone(), Value::String(text)))
        })
        .collect()
}

impl Action for GithubDispatch {
    fn id(&self) -> &'static str {
        "github:actions:dispatch"
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(Vec::new())
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
            let (owner, repo) = owner_repo(required(&input, "repoUrl")?)?;
            if owner.contains('/') {
                return Err(bad(format!(
                    "repoUrl: {owner:?} is not a GitHub user or organisation"
                ))
                .into());
            }
            let workflow = required(&input, "workflowId")?;
            if !crate::scaffold::segment_ok(workflow) {
                return Err(bad(format!(
                    "input.workflowId {workflow:?}: a workflow file name (deploy.yml) or id"
                ))
                .into());
            }
            let git_ref = ref_name("branchOrTagName", required(&input, "branchOrTagName")?)?;
            let inputs = workflow_inputs(&input)?;
            let api = api_for(
                self.api.as_ref(),
                &input,
                self.id(),
                "a GitHub API: start Socle with SOCLE_GITHUB_TOKEN (and --github-api-url)",
            )?;
            let path = format!("/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches");
            let mut body = json!({"ref": git_ref});
            if !inputs.is_empty() {
                body["inputs"] = Value::Object(inputs);
            }
            expect(&api, Host::Github, "POST", &path, Some(&body), &[204]).await?;
            cx.info(format!(
                "dispatched workflow {workflow} of {owner}/{repo} on {git_ref}"
            ));
            Ok(ActionOutcome::output(json!({})))
        })
    }
}
